from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "privacy.share.button": {"en": "Share to channel", "fr": "Partager dans un canal"},
    "privacy.share.title": {"en": "Share a card", "fr": "Partager une fiche"},
    "privacy.share.submit": {"en": "Share", "fr": "Partager"},
    "privacy.share.intro": {
        "en": "*{name}* will be shared as a reduced card: name, loyalty tier and preferences only "
              "(no contact details, birth date, address or browsing).",
        "fr": "*{name}* sera partagé(e) sous forme de fiche réduite : nom, fidélité et préférences seulement "
              "(ni coordonnées, ni date de naissance, ni adresse, ni navigation).",
    },
    "privacy.share.channel": {"en": "Channel", "fr": "Canal"},
    "privacy.share.allowed": {"en": "Allowed channels: {channels}", "fr": "Canaux autorisés : {channels}"},
    "privacy.share.not_allowed": {
        "en": "Cards can only be shared in channels an administrator allowed. Pick one of the allowed channels.",
        "fr": "Les fiches ne se partagent que dans les canaux autorisés par un administrateur. Choisissez-en un.",
    },
    "privacy.share.disabled": {
        "en": "Sharing cards to channels is turned off. Ask an administrator if your team needs it.",
        "fr": "Le partage de fiches dans les canaux est désactivé. Demandez à un administrateur si besoin.",
    },
    "privacy.share.unavailable": {
        "en": "This customer can't be shared (unknown or erased).",
        "fr": "Ce client ne peut pas être partagé (inconnu ou effacé).",
    },
    "privacy.share.shared_by": {"en": "Shared by {name} from Frontline", "fr": "Partagé par {name} depuis Frontline"},
    "privacy.share.fallback": {"en": "Customer card: {name}", "fr": "Fiche client : {name}"},
    "privacy.share.done": {"en": "Shared *{name}*'s reduced card in <#{channel}>.",
                           "fr": "Fiche réduite de *{name}* partagée dans <#{channel}>."},
    "privacy.share.failed": {
        "en": "Slack refused to post in <#{channel}> ({error}). Invite the Frontline app to that channel, then try again.",
        "fr": "Slack a refusé de publier dans <#{channel}> ({error}). Invitez l'app Frontline dans ce canal puis réessayez.",
    },
}
