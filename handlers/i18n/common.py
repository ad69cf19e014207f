from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "common.error_generic": {
        "en": "Something went wrong on our side (ref {ref}). Nothing was changed; please try again.",
        "fr": "Un problème est survenu de notre côté (réf. {ref}). Rien n'a été modifié ; réessayez.",
    },
    "common.db_unavailable": {
        "en": "The customer database is not reachable right now. Nothing was lost: try again in a moment.",
        "fr": "La base clients est injoignable pour le moment. Rien n'est perdu : réessayez dans un instant.",
    },
    "common.cancel": {"en": "Cancel", "fr": "Annuler"},
    "common.save": {"en": "Save", "fr": "Enregistrer"},
    "common.close": {"en": "Close", "fr": "Fermer"},
    "common.unknown_action": {
        "en": "That button is no longer valid. Run the command again.",
        "fr": "Ce bouton n'est plus valide. Relancez la commande.",
    },
}
