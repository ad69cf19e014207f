from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "access.not_registered": {
        "en": "Sorry, Frontline doesn't know you yet, so it can't show customer information. "
              "Please ask {contact} to give you access.",
        "fr": "Désolé, Frontline ne vous connaît pas encore et ne peut donc pas afficher d'informations clients. "
              "Demandez l'accès à {contact}.",
    },
    "access.role_required": {
        "en": "Sorry, this is for {role} only. Ask {contact} if you need it.",
        "fr": "Désolé, c'est réservé aux {role}. Demandez à {contact} si vous en avez besoin.",
    },
    "access.role.associate": {"en": "registered staff", "fr": "collaborateurs inscrits"},
    "access.role.manager": {"en": "managers", "fr": "responsables"},
    "access.role.admin": {"en": "administrators", "fr": "administrateurs"},
    "access.title": {"en": "Frontline", "fr": "Frontline"},
}
