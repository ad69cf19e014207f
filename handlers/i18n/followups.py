from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "followups.title": {"en": "Your follow-ups ({count})", "fr": "Vos suivis ({count})"},
    "followups.none": {"en": "No open follow-ups. Nice work!", "fr": "Aucun suivi en cours. Bravo !"},
    "followups.due": {"en": "due {date}", "fr": "pour le {date}"},
    "followups.overdue": {"en": "overdue since {date}", "fr": "en retard depuis le {date}"},
    "followups.due_today": {"en": "due today", "fr": "pour aujourd'hui"},
    "followups.no_customer": {"en": "(no customer)", "fr": "(sans client)"},
    "followups.erased_customer": {"en": "(erased customer)", "fr": "(client effacé)"},
    "followups.done": {"en": "Done", "fr": "Fait"},
    "followups.snooze": {"en": "Snooze", "fr": "Reporter"},
    "followups.snooze.1": {"en": "Snooze 1 day", "fr": "Reporter d'1 jour"},
    "followups.snooze.3": {"en": "Snooze 3 days", "fr": "Reporter de 3 jours"},
    "followups.snooze.7": {"en": "Snooze 1 week", "fr": "Reporter d'1 semaine"},
    "followups.more": {"en": "…and {count} more.", "fr": "…et {count} de plus."},
    "followups.marked_done": {"en": "Marked done: {name}.", "fr": "Terminé : {name}."},
    "followups.snoozed": {"en": "Moved to {date}: {name}.", "fr": "Reporté au {date} : {name}."},
    "followups.fallback": {
        "en": {"one": "You have {count} open follow-up.", "other": "You have {count} open follow-ups."},
        "fr": {"one": "Vous avez {count} suivi en cours.", "other": "Vous avez {count} suivis en cours."},
    },
    "followups.error.not_found": {
        "en": "This follow-up no longer exists, or isn't one you can change.",
        "fr": "Ce suivi n'existe plus, ou vous ne pouvez pas le modifier.",
    },
    "followups.error.not_open": {"en": "This follow-up is already closed.", "fr": "Ce suivi est déjà clos."},
    "followups.error.bad_snooze": {"en": "Snooze for 1, 3 or 7 days.", "fr": "Reportez de 1, 3 ou 7 jours."},
}
