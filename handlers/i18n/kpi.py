from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "kpi.error.unknown_word": {
        "en": "I don't understand “{value}”. Try `/kpi team month by employee` or `/kpi help`.",
        "fr": "Je ne comprends pas « {value} ». Essayez `/kpi équipe mois par employé` ou `/kpi aide`.",
    },
    "kpi.error.bad_month": {
        "en": "“{value}” is not a month: use YYYY-MM, e.g. 2026-03.",
        "fr": "« {value} » n'est pas un mois : écrivez AAAA-MM, par ex. 2026-03.",
    },
    "kpi.error.bad_date": {
        "en": "“{value}” is not a date: use YYYY-MM-DD.",
        "fr": "« {value} » n'est pas une date : écrivez AAAA-MM-JJ.",
    },
    "kpi.error.bad_range": {
        "en": "“{value}” is not a date range: write FROM..TO, e.g. 2026-03-01..2026-03-15.",
        "fr": "« {value} » n'est pas une période : écrivez DÉBUT..FIN, par ex. 2026-03-01..2026-03-15.",
    },
    "kpi.error.range_backwards": {
        "en": "The range ends ({end}) before it starts ({start}).",
        "fr": "La période finit ({end}) avant de commencer ({start}).",
    },
    "kpi.error.too_long": {
        "en": "A period can be at most {days} days long.",
        "fr": "Une période dure au plus {days} jours.",
    },
    "kpi.error.out_of_range": {
        "en": "Periods go from {first} to {last}: give a date, month or range between them (dates as YYYY-MM-DD, months as YYYY-MM, ranges as FROM..TO, or `last N days`).",
        "fr": "Les périodes vont du {first} au {last} : donnez une date, un mois ou une période entre les deux (dates AAAA-MM-JJ, mois AAAA-MM, périodes DÉBUT..FIN, ou `N derniers jours`).",
    },
    "kpi.error.two_periods": {"en": "Give one period only.", "fr": "Indiquez une seule période."},
    "kpi.error.two_scopes": {
        "en": "Give one scope only (me, team, @someone, store NAME).",
        "fr": "Indiquez un seul périmètre (moi, équipe, @quelqu'un, magasin NOM).",
    },
    "kpi.error.two_groups": {"en": "Group by one thing only.", "fr": "Regroupez selon un seul critère."},
    "kpi.error.bad_group": {
        "en": "I can group by {choices}; “{value}” is not one of them.",
        "fr": "Je peux regrouper par employé, canal, type ou jour ; « {value} » n'en fait pas partie.",
    },
    "kpi.error.store_name_missing": {
        "en": "Which store? Write `store` followed by its name, e.g. `/kpi store Rivoli`.",
        "fr": "Quel magasin ? Écrivez `magasin` suivi de son nom, par ex. `/kpi magasin Rivoli`.",
    },
    "kpi.error.bad_last": {
        "en": "“{value}”: write `last N days` with N in digits from 1 to 366, e.g. `last 30 days`.",
        "fr": "« {value} » : écrivez `N derniers jours` avec N en chiffres de 1 à 366, par ex. `30 derniers jours`.",
    },
    "kpi.refused.all": {
        "en": "Company-wide figures are for admins. You can see `/kpi team` or `/kpi me`.",
        "fr": "Les chiffres de toute l'entreprise sont réservés aux admins. Vous pouvez voir `/kpi équipe` ou `/kpi moi`.",
    },
    "kpi.refused.team_associate": {
        "en": "Team figures are for managers. Your own are in `/kpi me`.",
        "fr": "Les chiffres d'équipe sont réservés aux managers. Les vôtres sont dans `/kpi moi`.",
    },
    "kpi.refused.no_team": {
        "en": "You are not in a team in Frontline, so there are no team figures to show. Ask an admin to set your team.",
        "fr": "Vous n'êtes dans aucune équipe dans Frontline : pas de chiffres d'équipe. Demandez à un admin de définir votre équipe.",
    },
    "kpi.refused.other_associate": {
        "en": "You can only see your own figures; a colleague's are for their manager.",
        "fr": "Vous ne voyez que vos propres chiffres ; ceux d'un collègue sont pour son manager.",
    },
    "kpi.refused.person": {
        "en": "I can't show you that person's figures: managers see the people of their own team only.",
        "fr": "Je ne peux pas vous montrer les chiffres de cette personne : un manager ne voit que les personnes de son équipe.",
    },
    "kpi.refused.store_associate": {
        "en": "Store figures are for managers. Your own are in `/kpi me`.",
        "fr": "Les chiffres d'un magasin sont réservés aux managers. Les vôtres sont dans `/kpi moi`.",
    },
    "kpi.refused.not_your_store": {
        "en": "{name} is not your store: managers see their own store only.",
        "fr": "{name} n'est pas votre magasin : un manager ne voit que le sien.",
    },
    "kpi.refused.unknown_person": {
        "en": "I don't know {name} in Frontline.",
        "fr": "Je ne connais pas {name} dans Frontline.",
    },
    "kpi.refused.ambiguous_person": {
        "en": "Several people match “{name}”: mention them with @ so Slack picks the right one.",
        "fr": "Plusieurs personnes correspondent à « {name} » : mentionnez-la avec @ pour que Slack choisisse.",
    },
    "kpi.refused.unknown_store": {"en": "No store called “{name}”.", "fr": "Aucun magasin nommé « {name} »."},
    "kpi.refused.ambiguous_store": {
        "en": "Several stores match “{name}”: give its full name or code.",
        "fr": "Plusieurs magasins correspondent à « {name} » : donnez son nom complet ou son code.",
    },
    "kpi.refused.unknown_scope": {"en": "Unknown scope.", "fr": "Périmètre inconnu."},
    "kpi.label.interactions": {"en": "Interactions", "fr": "Échanges"},
    "kpi.label.customers": {"en": "Customers served", "fr": "Clients servis"},
    "kpi.label.fcr": {"en": "First-contact resolution", "fr": "Résolution au 1er contact"},
    "kpi.label.followups_created": {"en": "Follow-ups created", "fr": "Suivis créés"},
    "kpi.label.followups_completed": {"en": "Follow-ups done", "fr": "Suivis terminés"},
    "kpi.label.followups_overdue": {"en": "Follow-ups overdue", "fr": "Suivis en retard"},
    "kpi.label.median_completion": {"en": "Median time to complete", "fr": "Délai médian de traitement"},
    "kpi.label.repeat": {"en": "Repeat contacts (7 d)", "fr": "Recontacts (7 j)"},
    "kpi.label.purchases": {"en": "Purchases within 7 d", "fr": "Achats sous 7 j"},
    "kpi.header": {"en": "KPIs · {scope} · {period}", "fr": "Indicateurs · {scope} · {period}"},
    "kpi.scope.me": {"en": "you", "fr": "vous"},
    "kpi.scope.all": {"en": "whole company", "fr": "toute l'entreprise"},
    "kpi.compared": {"en": "Compared with {start} – {end}.", "fr": "Comparé au {start} – {end}."},
    "kpi.group_header": {"en": "*By {group}*", "fr": "*Par {group}*"},
    "kpi.group.employee": {"en": "employee", "fr": "employé"},
    "kpi.group.channel": {"en": "channel", "fr": "canal"},
    "kpi.group.type": {"en": "type", "fr": "type"},
    "kpi.group.day": {"en": "day", "fr": "jour"},
    "kpi.group.others": {"en": "Other employees", "fr": "Autres employés"},
    "kpi.group.others_note": {
        "en": "People outside your team are counted together in “Other employees”.",
        "fr": "Les personnes hors de votre équipe sont comptées ensemble dans « Autres employés ».",
    },
    "kpi.group_columns": {"en": "interactions · customers · FCR", "fr": "échanges · clients · résolution 1er contact"},
    "kpi.chart_sent": {"en": "Trend chart sent to you in a direct message (not posted here, to keep team figures private).", "fr": "Graphique de tendance envoyé en message privé (pas publié ici, pour garder les chiffres de l'équipe confidentiels)."},
    "kpi.chart_title": {"en": "Interactions per day · {scope}", "fr": "Échanges par jour · {scope}"},
    "kpi.chart_legend_current": {"en": "this period", "fr": "cette période"},
    "kpi.chart_legend_resolved": {"en": "resolved", "fr": "résolus"},
    "kpi.definitions": {"en": "First contact: no contact with that customer in the 7 days before. Purchases: orders within 7 days after an interaction.", "fr": "1er contact : aucun échange avec ce client dans les 7 jours précédents. Achats : commandes dans les 7 jours suivant un échange."},
    "kpi.help": {"en": "`/kpi [me | team | @someone | store NAME] [today | week | month | last 30 days | YYYY-MM | FROM..TO] [by employee | channel | type | day]`", "fr": "`/kpi [moi | équipe | @quelqu'un | magasin NOM] [aujourd'hui | semaine | mois | 30 derniers jours | AAAA-MM | DÉBUT..FIN] [par employé | canal | type | jour]`"},
    "kpi.period.today": {"en": "today", "fr": "aujourd'hui"},
    "kpi.period.week": {"en": "week to date", "fr": "semaine en cours"},
    "kpi.period.month": {"en": "month to date", "fr": "mois en cours"},
}
