from handlers.i18n.catalog import Section

MESSAGES: Section = {
    # The queue (/review, App Home)
    "review.title": {"en": "Possible duplicates", "fr": "Doublons possibles"},
    "review.waiting": {
        "en": {"one": "{count} possible duplicate waiting", "other": "{count} possible duplicates waiting"},
        "fr": {"one": "{count} doublon possible en attente", "other": "{count} doublons possibles en attente"},
    },
    "review.empty": {"en": "No possible duplicate is waiting.", "fr": "Aucun doublon possible en attente."},
    "review.end": {
        "en": "Nothing more after this one. `/review` starts again from the most likely.",
        "fr": "Plus rien après celui-ci. `/review` reprend depuis le plus probable.",
    },
    "review.question": {"en": "*Are these the same person?*", "fr": "*Est-ce la même personne ?*"},
    "review.score": {"en": "Match score {score} · fields {bits} bits",
                     "fr": "Score de correspondance {score} · champs {bits} bits"},
    "review.record": {"en": "*{side}* · {source} `{source_id}`", "fr": "*{side}* · {source} `{source_id}`"},
    "review.customer": {"en": "customer #{id}", "fr": "client n° {id}"},
    "review.unlinked": {"en": "no customer yet", "fr": "pas encore de client"},
    "review.same": {"en": "Same person", "fr": "Même personne"},
    "review.apart": {"en": "Not the same", "fr": "Pas la même personne"},
    "review.skip": {"en": "Skip", "fr": "Passer"},
    "review.undo": {"en": "Undo", "fr": "Annuler"},
    "review.done_same": {"en": "✓ {a} and {b}: merged into one customer.",
                         "fr": "✓ {a} et {b} : fusionnés en un seul client."},
    "review.done_apart": {"en": "✓ {a} and {b}: kept apart, nobody will be asked again.",
                          "fr": "✓ {a} et {b} : gardés séparés, la question ne sera plus posée."},
    "review.skipped": {"en": "Skipped: it stays in the queue.", "fr": "Passé : il reste dans la file."},
    "review.undone": {"en": "↩ Undone: the question is back in the queue.",
                      "fr": "↩ Annulé : la question est de retour dans la file."},
    "review.no_name": {"en": "(no name)", "fr": "(sans nom)"},
    "review.fallback": {"en": "Possible duplicates to review", "fr": "Doublons possibles à examiner"},
    # Fields compared side by side, and what the linker made of each
    "review.field.first_name": {"en": "First name", "fr": "Prénom"},
    "review.field.last_name": {"en": "Last name", "fr": "Nom"},
    "review.field.birth_date": {"en": "Birth date", "fr": "Date de naissance"},
    "review.field.email": {"en": "E-mail", "fr": "E-mail"},
    "review.field.phone": {"en": "Phone", "fr": "Téléphone"},
    "review.field.loyalty_id": {"en": "Loyalty card", "fr": "Carte de fidélité"},
    "review.field.street": {"en": "Street", "fr": "Rue"},
    "review.field.postcode": {"en": "Postcode", "fr": "Code postal"},
    "review.field.city": {"en": "City", "fr": "Ville"},
    "review.weight": {"en": "{bits} bits", "fr": "{bits} bits"},
    "review.not_compared": {"en": "not compared", "fr": "non comparé"},
    "review.level.exact": {"en": "same", "fr": "identique"},
    "review.level.nickname": {"en": "nickname", "fr": "diminutif"},
    "review.level.prefix": {"en": "shortened", "fr": "abrégé"},
    "review.level.initial": {"en": "initial only", "fr": "initiale seulement"},
    "review.level.typo": {"en": "one or two letters differ", "fr": "une ou deux lettres diffèrent"},
    "review.level.similar": {"en": "similar", "fr": "proche"},
    "review.level.swapped": {"en": "first and last name swapped", "fr": "prénom et nom inversés"},
    "review.level.transposed": {"en": "two parts swapped (day and month, or digits)",
                                "fr": "deux éléments inversés (jour et mois, ou chiffres)"},
    "review.level.one_digit": {"en": "one digit differs", "fr": "un chiffre diffère"},
    "review.level.close": {"en": "written differently", "fr": "écrit autrement"},
    "review.level.differs": {"en": "different", "fr": "différent"},
    "review.level.missing": {"en": "missing on one side", "fr": "absent d'un côté"},
    "review.level.household": {"en": "shared by a household", "fr": "partagé par un foyer"},
    "review.level.not_compared": {"en": "one is the household's, not compared",
                                  "fr": "l'un est celui du foyer, non comparé"},
    "review.level.blocked": {"en": "placeholder or shared by many, ignored",
                             "fr": "valeur bidon ou partagée par beaucoup, ignorée"},
    "review.capped": {"en": "a housemate could share it", "fr": "un proche pourrait le partager"},
    "review.prior": {"en": "prior {bits} bits", "fr": "a priori {bits} bits"},
    "review.household_cap": {"en": "household guard {bits} bits", "fr": "garde-fou foyer {bits} bits"},
    # On the customer's card
    "review.banner": {
        "en": "🔎 Possibly the same person as *{who}* — ask the customer.",
        "fr": "🔎 Peut-être la même personne que *{who}* — demandez au client.",
    },
    "review.born": {"en": "born {year}", "fr": "né(e) en {year}"},
    # Refusals (store.errors.Refused keys): nothing was changed
    "review.not_steward": {
        "en": "Sorry, the possible-duplicates queue is for data stewards. Ask {contact} if you need it.",
        "fr": "Désolé, la file des doublons possibles est réservée aux responsables des données. "
              "Demandez à {contact} si vous en avez besoin.",
    },
    "review.gone": {
        "en": "This possible duplicate no longer exists (the records changed, or a customer was erased). "
              "Nothing was changed.",
        "fr": "Ce doublon possible n'existe plus (les fiches ont changé, ou un client a été effacé). "
              "Rien n'a été modifié.",
    },
    "review.already_decided": {"en": "This one was already answered. Nothing was changed.",
                               "fr": "Quelqu'un a déjà répondu. Rien n'a été modifié."},
    "review.already_decided_by": {"en": "{who} already answered this one. Nothing was changed.",
                                  "fr": "{who} a déjà répondu. Rien n'a été modifié."},
    "review.already_undone": {"en": "That answer was already undone. Nothing was changed.",
                              "fr": "Cette réponse a déjà été annulée. Rien n'a été modifié."},
    "review.undo_not_yours": {
        "en": "Only the person who answered, or a data steward, can undo this. Nothing was changed.",
        "fr": "Seule la personne qui a répondu, ou un responsable des données, peut l'annuler. "
              "Rien n'a été modifié.",
    },
    "review.cannot_merge": {
        "en": "These two can't be merged any more (one of them was merged elsewhere or erased). "
              "Nothing was changed.",
        "fr": "Ces deux fiches ne peuvent plus être fusionnées (l'une a été fusionnée ailleurs ou effacée). "
              "Rien n'a été modifié.",
    },
    "review.merge_undone": {
        "en": "That merge was already undone from the command line. Nothing was changed.",
        "fr": "Cette fusion a déjà été annulée en ligne de commande. Rien n'a été modifié.",
    },
    "review.cannot_undo": {
        "en": "This can't be undone from here: a later merge involves the same customers. "
              "Nothing was changed; a data steward can undo the later merge first.",
        "fr": "Impossible d'annuler d'ici : une fusion plus récente concerne les mêmes clients. "
              "Rien n'a été modifié ; un responsable des données peut d'abord annuler la fusion plus récente.",
    },
}
