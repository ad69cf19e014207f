from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "home.open": {"en": "Open card", "fr": "Ouvrir la fiche"},
    "home.title": {"en": "Frontline", "fr": "Frontline"},
    "home.greeting": {"en": "Hello {name} 👋", "fr": "Bonjour {name} 👋"},
    "home.search": {"en": "Find a customer", "fr": "Trouver un client"},
    "home.log": {"en": "Log interaction", "fr": "Noter un échange"},
    "home.recent": {"en": "Customers you looked at recently", "fr": "Clients consultés récemment"},
    "home.recent_none": {"en": "Customers you look up will show here.", "fr": "Les clients que vous consultez apparaîtront ici."},
    "home.updated": {"en": "Updated {time}", "fr": "Mis à jour le {time}"},
}
