from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "lookup.usage": {
        "en": "*Find a customer:* `/customer` followed by an e-mail, a phone number, a loyalty card, an order "
              "number or a name (typos are fine; add the town to narrow it down: `Dupont Lyon`).",
        "fr": "*Trouver un client :* `/customer` suivi d'un e-mail, d'un téléphone, d'une carte de fidélité, "
              "d'un numéro de commande ou d'un nom (les fautes passent ; ajoutez la ville pour affiner : `Dupont Lyon`).",
    },
    "lookup.searching": {"en": "Looking for “{query}”…", "fr": "Recherche de « {query} »…"},
    "lookup.candidates": {
        "en": {"one": "{count} customer matches “{query}”. Is it the right one?",
               "other": "{count} customers match “{query}”. Which one?"},
        "fr": {"one": "{count} client correspond à « {query} ». Est-ce le bon ?",
               "other": "{count} clients correspondent à « {query} ». Lequel ?"},
    },
    "lookup.no_match": {"en": "No customer matches “{query}”.", "fr": "Aucun client ne correspond à « {query} »."},
    "lookup.suggestions": {"en": "Closest names:", "fr": "Noms les plus proches :"},
    "lookup.no_suggestion": {
        "en": "Check the spelling, or try an e-mail or phone number.",
        "fr": "Vérifiez l'orthographe, ou essayez un e-mail ou un téléphone.",
    },
    "lookup.open": {"en": "Open", "fr": "Ouvrir"},
    "lookup.born": {"en": "born {year}", "fr": "né(e) en {year}"},
    "lookup.last_seen": {"en": "last seen {date}", "fr": "vu(e) le {date}"},
    "lookup.matched_on.email": {"en": "same e-mail", "fr": "même e-mail"},
    "lookup.matched_on.phone": {"en": "same phone", "fr": "même téléphone"},
    "lookup.matched_on.loyalty": {"en": "loyalty card", "fr": "carte de fidélité"},
    "lookup.matched_on.order": {"en": "order number", "fr": "numéro de commande"},
    "lookup.matched_on.customer_id": {"en": "customer id", "fr": "identifiant client"},
    "lookup.modal_title": {"en": "Find a customer", "fr": "Trouver un client"},
    "lookup.modal_label": {"en": "Name, e-mail, phone, card or order", "fr": "Nom, e-mail, téléphone, carte ou commande"},
    "lookup.modal_hint": {"en": "Typos are fine. Add the town: Dupont Lyon", "fr": "Les fautes passent. Ajoutez la ville : Dupont Lyon"},
    "lookup.modal_submit": {"en": "Search", "fr": "Chercher"},
    "lookup.too_short": {"en": "Type at least 2 characters.", "fr": "Tapez au moins 2 caractères."},
}
