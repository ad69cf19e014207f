from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "digest.header": {"en": "Your day · {date}", "fr": "Votre journée · {date}"},
    "digest.fallback": {
        "en": "Your digest: {overdue} overdue, {due} due today, {callbacks}.",
        "fr": "Votre résumé : {overdue} en retard, {due} pour aujourd'hui, {callbacks}.",
    },
    # Counted nouns, for the sentences above and below that hold several counts.
    "digest.count.callbacks": {
        "en": {"one": "{count} call-back", "other": "{count} call-backs"},
        "fr": {"one": "{count} rappel", "other": "{count} rappels"},
    },
    "digest.count.interactions": {
        "en": {"one": "{count} interaction", "other": "{count} interactions"},
        "fr": {"one": "{count} échange", "other": "{count} échanges"},
    },
    "digest.count.customers": {
        "en": {"one": "{count} customer", "other": "{count} customers"},
        "fr": {"one": "{count} client", "other": "{count} clients"},
    },
    "digest.count.followups_done": {
        "en": {"one": "{count} follow-up done", "other": "{count} follow-ups done"},
        "fr": {"one": "{count} suivi terminé", "other": "{count} suivis terminés"},
    },
    "digest.count.followups_overdue": {
        "en": {"one": "{count} overdue follow-up", "other": "{count} overdue follow-ups"},
        "fr": {"one": "{count} suivi en retard", "other": "{count} suivis en retard"},
    },
    "digest.overdue": {"en": "*Overdue ({count})*", "fr": "*En retard ({count})*"},
    "digest.due_today": {"en": "*Due today ({count})*", "fr": "*À faire aujourd'hui ({count})*"},
    "digest.more": {"en": "…and {count} more", "fr": "…et {count} de plus"},
    "digest.due_on": {"en": "due {date}", "fr": "prévu le {date}"},
    "digest.no_customer": {"en": "(no customer)", "fr": "(sans client)"},
    "digest.erased_customer": {"en": "(erased customer)", "fr": "(client effacé)"},
    "digest.callbacks": {"en": "*You promised to call back*", "fr": "*Vous avez promis de rappeler*"},
    "digest.callback_line": {"en": "since {date} ({channel})", "fr": "depuis le {date} ({channel})"},
    "digest.vip": {
        "en": "*VIP customers with an open issue in your store*",
        "fr": "*Clients VIP avec un dossier ouvert dans votre magasin*",
    },
    "digest.vip_line": {"en": "{tier}, with {assignee}, due {date}", "fr": "{tier}, suivi par {assignee}, prévu le {date}"},
    "digest.yesterday": {
        "en": "Yesterday: {interactions} with {customers}, {done}.",
        "fr": "Hier : {interactions} avec {customers}, {done}.",
    },
    "digest.footer": {
        "en": "Change the time, pause or resume: `/digest`",
        "fr": "Changer l'heure, suspendre ou reprendre : `/digest`",
    },
    "digest.team_header": {"en": "Team {team} · {date}", "fr": "Équipe {team} · {date}"},
    "digest.team_fallback": {
        "en": "Team {team}: {interactions} yesterday, {overdue}.",
        "fr": "Équipe {team} : {interactions} hier, {overdue}.",
    },
    "digest.team_yesterday": {"en": "*Yesterday* (vs the day before)", "fr": "*Hier* (par rapport à avant-hier)"},
    "digest.team_week": {
        "en": "*Week to date* {start}–{end} (vs the same days last week)",
        "fr": "*Semaine en cours* {start}–{end} (par rapport aux mêmes jours la semaine dernière)",
    },
    "digest.team_overdue": {"en": "*Overdue follow-ups per person*", "fr": "*Suivis en retard par personne*"},
    "digest.team_overdue_line": {"en": "{count} (oldest due {date})", "fr": "{count} (le plus ancien prévu le {date})"},
    "digest.team_waiting": {"en": "*Customers waiting longest*", "fr": "*Clients qui attendent depuis le plus longtemps*"},
    "digest.team_waiting_line": {"en": "waiting since {date}, with {assignee}", "fr": "attend depuis le {date}, suivi par {assignee}"},
    "digest.team_none_overdue": {"en": "No overdue follow-ups. 👏", "fr": "Aucun suivi en retard. 👏"},
    # /digest
    "digest.settings": {
        "en": "*Your digest:* {state}, at {time} ({timezone}) on {days}.",
        "fr": "*Votre résumé :* {state}, à {time} ({timezone}) les {days}.",
    },
    "digest.state_active": {"en": "on", "fr": "actif"},
    "digest.state_paused": {"en": "paused", "fr": "suspendu"},
    "digest.sent_today": {"en": "Today's was sent at {time}.", "fr": "Celui d'aujourd'hui est parti à {time}."},
    "digest.help": {
        "en": "`/digest pause` · `/digest resume` · `/digest time 08:00` · `/digest days mon-fri` · `/digest now`",
        "fr": "`/digest pause` · `/digest reprendre` · `/digest heure 08:00` · `/digest jours lun-ven` · `/digest maintenant`",
    },
    "digest.preview": {"en": "*Preview of today's digest:*", "fr": "*Aperçu du résumé du jour :*"},
    "digest.preview_empty": {
        "en": "Nothing to tell you today, so no digest would be sent.",
        "fr": "Rien à vous signaler aujourd'hui : aucun résumé ne serait envoyé.",
    },
    "digest.paused": {
        "en": "Digest paused. `/digest resume` to get it again.",
        "fr": "Résumé suspendu. `/digest reprendre` pour le recevoir de nouveau.",
    },
    "digest.resumed": {"en": "Digest resumed: next one at {time}.", "fr": "Résumé réactivé : prochain envoi à {time}."},
    "digest.retimed": {"en": "Your digest will now come at {time} ({timezone}).", "fr": "Votre résumé arrivera désormais à {time} ({timezone})."},
    "digest.days_set": {"en": "Your digest will come on {days}.", "fr": "Votre résumé arrivera les {days}."},
    "digest.sent_now": {"en": "Sent: check your messages from Frontline.", "fr": "Envoyé : regardez vos messages de Frontline."},
    "digest.nothing_now": {"en": "Nothing to tell you right now, so nothing was sent.", "fr": "Rien à vous signaler pour l'instant : rien n'a été envoyé."},
    "digest.send_failed": {"en": "Slack did not accept the message; try again in a minute.", "fr": "Slack n'a pas accepté le message ; réessayez dans une minute."},
    "digest.bad_time": {"en": "“{value}” is not a time: write HH:MM, e.g. `/digest time 08:00`.", "fr": "« {value} » n'est pas une heure : écrivez HH:MM, par ex. `/digest heure 08:00`."},
    "digest.bad_days": {
        "en": "“{value}” is not a list of days: e.g. `mon-fri`, `mon,wed,fri` or `tue-sat`.",
        "fr": "« {value} » n'est pas une liste de jours : par ex. `lun-ven`, `lun,mer,ven` ou `mar-sam`.",
    },
    "digest.unknown": {"en": "I don't know “{value}”.", "fr": "Je ne connais pas « {value} »."},
    "digest.every_day": {"en": "every day", "fr": "tous les jours"},
    "digest.no_day": {"en": "no day", "fr": "aucun jour"},
}
