"""Catalog section: the card's live website activity and the DMs about a customer's return or order."""
from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "live.seen": {"en": "{when} · source: {source}", "fr": "{when} · source : {source}"},
    "live.when.just_now": {"en": "just now", "fr": "à l'instant"},
    "live.when.minutes": {"en": "{count} min ago", "fr": "il y a {count} min"},
    "live.when.hours": {"en": "{count} h ago", "fr": "il y a {count} h"},
    "live.when.morning": {"en": "this morning", "fr": "ce matin"},
    "live.when.afternoon": {"en": "this afternoon", "fr": "cet après-midi"},
    "live.when.evening": {"en": "this evening", "fr": "ce soir"},
    "live.when.yesterday": {"en": "yesterday", "fr": "hier"},
    "live.when.date": {"en": "on {date}", "fr": "le {date}"},
    "live.basket": {"en": "Basket", "fr": "Panier"},
    "live.basket_abandoned": {"en": "abandoned, last changed {when}", "fr": "abandonné, modifié {when}"},
    "live.basket_open": {"en": "changed {when}", "fr": "modifié {when}"},
    "live.basket_checkout": {"en": "checkout started", "fr": "paiement commencé"},
    "live.ordered": {"en": "Ordered online {when}", "fr": "Commande en ligne {when}"},
    "live.changes": {"en": "Wishlist changes", "fr": "Favoris modifiés"},
    "live.searched": {"en": "Searched", "fr": "A cherché"},
    # The DM to an employee with an open follow-up for the customer (bot/live_notices.py).
    "live.notice.returned": {
        "en": "*{name}* is back on the website ({when}). You have an open follow-up with them.",
        "fr": "*{name}* est de retour sur le site ({when}). Vous avez un suivi ouvert pour ce client.",
    },
    "live.notice.ordered": {
        "en": "*{name}* ordered online ({when}, order {number}). You have an open follow-up with them.",
        "fr": "*{name}* a commandé en ligne ({when}, commande {number}). Vous avez un suivi ouvert pour ce client.",
    },
    "live.notice.open": {"en": "Open the card", "fr": "Ouvrir la fiche"},
}
