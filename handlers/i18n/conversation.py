from handlers.i18n.catalog import Section

MESSAGES: Section = {
    "conversation.help": {
        "en": "Ask me about a customer: *who is jean.dupont@example.com*, *Dupont Lyon*. Then, in the same "
              "thread: *orders?*, *last contacts*, *what sizes?*, *anything in her basket?*, *log a call: wants "
              "the coat in 40, call back Friday*. Also *my follow-ups*, *my team this week*, *digest*.",
        "fr": "Demandez-moi un client : *qui est jean.dupont@example.com*, *Dupont Lyon*. Puis, dans le même fil : "
              "*commandes ?*, *derniers contacts*, *quelles tailles ?*, *quelque chose dans son panier ?*, "
              "*note un appel : veut le manteau en 40, rappeler vendredi*. Aussi *mes relances*, "
              "*mon équipe cette semaine*, *digest*.",
    },
    "conversation.thanks": {"en": "You're welcome.", "fr": "Avec plaisir."},
    "conversation.no_customer": {
        "en": "Which customer? Tell me a name, an e-mail, a phone number or a card first.",
        "fr": "Quel client ? Donnez-moi d'abord un nom, un e-mail, un téléphone ou une carte.",
    },
    "conversation.pick_hint": {
        "en": "Answer with the number (“2”, “the second one”) or open one.",
        "fr": "Répondez par le numéro (« 2 », « la deuxième ») ou ouvrez-en une.",
    },
    "conversation.nothing_to_pick": {
        "en": "There is no list to choose from in this thread. Who are you looking for?",
        "fr": "Il n'y a pas de liste où choisir dans ce fil. Qui cherchez-vous ?",
    },
    "conversation.bad_pick": {
        "en": {"one": "There was only {count} customer in the list.",
               "other": "There were {count} customers in the list: pick 1 to {count}."},
        "fr": {"one": "La liste ne comptait que {count} client.",
               "other": "La liste comptait {count} clients : choisissez de 1 à {count}."},
    },
    "conversation.orders_title": {"en": "*Orders of {name}*", "fr": "*Commandes de {name}*"},
    "conversation.contacts_title": {"en": "*Last contacts with {name}*", "fr": "*Derniers contacts avec {name}*"},
    "conversation.sizes_title": {"en": "*What {name} told us*", "fr": "*Ce que {name} nous a dit*"},
    "conversation.basket_title": {"en": "*{name} on the web shop*", "fr": "*{name} sur le site*"},
    "conversation.none_orders": {"en": "No order yet.", "fr": "Aucune commande pour l'instant."},
    "conversation.none_contacts": {"en": "No contact yet.", "fr": "Aucun contact pour l'instant."},
    "conversation.none_sizes": {"en": "Nothing declared yet.", "fr": "Rien de déclaré pour l'instant."},
    "conversation.none_basket": {"en": "Nothing in the basket or the wishlist.",
                                 "fr": "Rien dans le panier ni dans les envies."},
    "conversation.log_draft": {
        "en": "Log a {what} with *{name}*?\n>{note}", "fr": "Enregistrer {what} avec *{name}* ?\n>{note}",
    },
    "conversation.log_draft_no_note": {"en": "Log a {what} with *{name}*?", "fr": "Enregistrer {what} avec *{name}* ?"},
    "conversation.log_what.call": {"en": "call", "fr": "un appel"},
    "conversation.log_what.visit": {"en": "visit", "fr": "une visite"},
    "conversation.log_what.other": {"en": "contact", "fr": "un contact"},
    "conversation.log_open": {"en": "Open the form", "fr": "Ouvrir le formulaire"},
    "conversation.log_gone": {
        "en": "This draft is no longer in the thread's memory. Say it again: “log a call: …”.",
        "fr": "Ce brouillon n'est plus en mémoire dans ce fil. Redites-le : « note un appel : … ».",
    },
    "conversation.status": {"en": "is looking it up…", "fr": "cherche…"},
    "conversation.prompts_title": {"en": "Try for example:", "fr": "Essayez par exemple :"},
    "conversation.prompt.help": {"en": "What can you do?", "fr": "Que sais-tu faire ?"},
    "conversation.prompt.followups": {"en": "My follow-ups", "fr": "Mes relances"},
    "conversation.prompt.team": {"en": "My team this week", "fr": "Mon équipe cette semaine"},
    "conversation.prompt.digest": {"en": "My digest", "fr": "Mon digest"},
}
