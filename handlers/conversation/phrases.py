"""What an employee means by a message to Frontline, in French or English: a pure, deterministic parser.

No external service, no state: `parse(text)` gives an intent and its slots, and the same text always
gives the same answer (tests/handlers/test_phrases.py holds the table of phrasings). The thread's memory
(which customer is being discussed, which candidates were offered) is the caller's: the parser only says
"the orders of the customer under discussion" (`ORDERS`, no query) or "the orders of Dupont" (`ORDERS`,
query "Dupont").

How: the text is folded (lower case, no accents, Slack markup removed), cut into words, and each word is
compared with small vocabularies, tolerating typos through rapidfuzz's ratio on words of 4 letters or
more (short words must match exactly: "log" and "leg" are not the same). The order of the rules matters
and is the order of `parse`: a choice among offered candidates, a log, the employee's own things
(follow-ups, team, digest), help and courtesy, a topic about a customer, and otherwise a lookup, which is
what a message to Frontline always was.
"""
from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from store.vocabulary import InteractionChannel, InteractionType


class Intent(enum.StrEnum):
    LOOKUP = "lookup"  # find a customer: query
    CARD = "card"  # the card of the customer under discussion (or of query)
    ORDERS = "orders"
    CONTACTS = "contacts"  # last interactions
    SIZES = "sizes"  # what the customer declared: sizes, brands, tastes
    BASKET = "basket"  # web activity: wishlist, viewed (consent permitting)
    LOG = "log"  # log an interaction: channel, type, note
    CHOOSE = "choose"  # "the second one": index (1-based)
    FOLLOWUPS = "followups"  # my follow-ups
    TEAM_WEEK = "team_week"  # my team's figures this week
    MY_WEEK = "my_week"  # my own figures this week
    DIGEST = "digest"
    HELP = "help"
    THANKS = "thanks"


# Intents about one customer: answered for the customer under discussion when no query names another.
CUSTOMER_TOPICS = frozenset({Intent.CARD, Intent.ORDERS, Intent.CONTACTS, Intent.SIZES, Intent.BASKET})


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    query: str | None = None  # whom to look for (LOOKUP, or a topic naming its customer)
    index: int | None = None  # CHOOSE: 1-based, -1 for "the last one"
    channel: InteractionChannel | None = None  # LOG
    type: InteractionType | None = None  # LOG
    note: str | None = None  # LOG


MAX_TEXT = 2000
_TYPO_SCORE = 80  # rapidfuzz ratio for a word to count as a (mistyped) keyword
_TYPO_MIN_LENGTH = 4  # shorter words must match exactly

_SLACK_LINK = re.compile(r"<(?:mailto:|tel:)?([^>|]*)(?:\|([^>]*))?>")
_MENTION = re.compile(r"<[@#!][^>]*>")
_WORD = re.compile(r"[a-z0-9@.+_'\-]+")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_DIGITS = re.compile(r"\d")


def fold(text: str) -> str:
    """Lower case without accents or ligatures: what the vocabularies are written in."""
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def clean(text: str | None) -> str:
    """The message without mentions and Slack's link markup, whitespace collapsed, bounded."""
    text = _MENTION.sub(" ", (text or "")[:MAX_TEXT])
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(text.replace("\u00a0", " ").replace("’", "'").split())


def _words(folded: str) -> list[str]:
    return [w.strip(".'-_") for w in _WORD.findall(folded) if w.strip(".'-_")]


def _is(word: str, vocabulary: frozenset[str]) -> bool:
    """`word` is in the vocabulary, or a typo of one of its words of 4 letters or more."""
    if word in vocabulary:
        return True
    if len(word) < _TYPO_MIN_LENGTH:
        return False
    return any(len(known) >= _TYPO_MIN_LENGTH and abs(len(known) - len(word)) <= 2
               and fuzz.ratio(word, known) >= _TYPO_SCORE for known in vocabulary)


# --- vocabularies (folded: lower case, no accents) --------------------------------------------------


def _set(words: str) -> frozenset[str]:
    return frozenset(fold(word) for word in words.split())


# Words that carry no meaning for the intent: articles, pronouns, question words, politeness.
_FILLER = _set("""
a an the her his their its she he her's any anything some something is are was were there do does did
what whats which who how about show me see give list get tell all last latest recent recently
in on of for with and or please pls thanks thx can could you i we our my mine it this that these those
ok okay so then now also just
la le les l d de du des sa son ses leur leurs un une y a-t-il t il elle est sont ce cet cette ces quoi
quel quelle quels quelles qu que qui comment montre montre-moi moi donne donne-moi affiche voir stp svp
s'il plait merci et ou dans en sur pour avec tout tous toutes derniers dernieres dernier derniere recents
recentes recemment alors maintenant aussi juste bien a-t-elle t-il t-elle a-elle elle-a il-a chose
quelque rien qu'est-ce est-ce qu'il qu'elle qu'a-t-elle qu'a-t-il qu'y qu'on
""")

_TOPICS: dict[Intent, frozenset[str]] = {
    Intent.ORDERS: _set("""
        order orders ordered purchase purchases purchased bought buy buys commande commandes commandé
        commande achats achat achete achetes acheté achetee
    """),
    Intent.CONTACTS: _set("""
        contacts contact interactions interaction history calls visits exchanges
        historique echanges echange appels visites interactions
    """),
    Intent.SIZES: _set("""
        sizes size preferences preference tastes taste brands brand fit likes
        tailles taille pointure pointures preferences gouts gout marques marque mesures
    """),
    Intent.BASKET: _set("""
        basket baskets cart carts wishlist wishlists viewed browsing browsed web online website
        panier paniers envies souhaits consultes consulte navigation internet site
    """),
    Intent.CARD: _set("""
        card profile fiche profil details summary resume
    """),
}

# Words of a follow-up list, the team's week, the digest.
_FOLLOWUP_WORDS = _set("followups followup follow-ups follow-up follow ups todo to-do relances relance suivis "
                            "suivi rappels rappel taches tache")
_TEAM_WORDS = _set("team equipe equipes team's")
_WEEK_WORDS = _set("week semaine weekly hebdo kpi kpis figures stats chiffres numbers")
_DIGEST_WORDS = _set("digest recap recapitulatif briefing brief")
_HELP_WORDS = _set("help aide aider usage commands options")
_GREETINGS = _set("hi hello hey bonjour salut coucou yo bonsoir hola")
_THANKS = _set("thanks thank thx merci cheers ty super parfait great perfect ok okay top")
_MY = _set("my mine me mes mon ma moi")

# "log a call: ...", "note un appel : ...", "enregistre une visite ..."
_LOG_VERBS = _set("log logs note noter notes enregistre enregistrer enregistrez record ajoute ajouter add "
                       "save trace tracer consigne consigner")
_LOG_WORDS: dict[str, tuple[InteractionChannel | None, InteractionType | None]] = {
    "call": (InteractionChannel.PHONE, InteractionType.CALL),
    "phone": (InteractionChannel.PHONE, InteractionType.CALL),
    "appel": (InteractionChannel.PHONE, InteractionType.CALL),
    "coup": (InteractionChannel.PHONE, InteractionType.CALL),  # "un coup de fil"
    "telephone": (InteractionChannel.PHONE, InteractionType.CALL),
    "visit": (InteractionChannel.STORE, InteractionType.VISIT),
    "visite": (InteractionChannel.STORE, InteractionType.VISIT),
    "passage": (InteractionChannel.STORE, InteractionType.VISIT),
    "email": (InteractionChannel.EMAIL, None),
    "e-mail": (InteractionChannel.EMAIL, None),
    "mail": (InteractionChannel.EMAIL, None),
    "courriel": (InteractionChannel.EMAIL, None),
    "chat": (InteractionChannel.CHAT, None),
    "video": (InteractionChannel.VIDEO, None),
    "visio": (InteractionChannel.VIDEO, None),
    "complaint": (None, InteractionType.COMPLAINT),
    "reclamation": (None, InteractionType.COMPLAINT),
    "plainte": (None, InteractionType.COMPLAINT),
    "advice": (None, InteractionType.ADVICE),
    "conseil": (None, InteractionType.ADVICE),
    "return": (None, InteractionType.RETURN),
    "retour": (None, InteractionType.RETURN),
    "interaction": (None, None),
    "contact": (None, None),
    "echange": (None, None),
}
_LOG_FILLER = _set("a an the un une le la l this ce cette")

# Ordinals: "the second one", "le 2", "la deuxième", "number 3", "#2" is a customer id, not a choice.
_ORDINALS = {
    "first": 1, "1st": 1, "premier": 1, "premiere": 1, "1er": 1, "1ere": 1, "one": 1, "un": 1, "une": 1,
    "second": 2, "2nd": 2, "deuxieme": 2, "seconde": 2, "2e": 2, "2eme": 2, "two": 2, "deux": 2,
    "third": 3, "3rd": 3, "troisieme": 3, "3e": 3, "3eme": 3, "three": 3, "trois": 3,
    "fourth": 4, "4th": 4, "quatrieme": 4, "4e": 4, "4eme": 4, "four": 4, "quatre": 4,
    "fifth": 5, "5th": 5, "cinquieme": 5, "5e": 5, "5eme": 5, "five": 5, "cinq": 5,
    "last": -1, "dernier": -1, "derniere": -1,
}
_ORDINAL_WORDS = frozenset(w for w in _ORDINALS if not w[0].isdigit() and len(w) >= 5)
_CHOICE_FILLER = _set("the a one le la l celui celle-la celle ci celui-ci celle-ci number numero no n nr option "
                           "choice choix it's its c'est cest est that's thats please stp svp merci thanks it "
                           "i mean je veux dire plutot rather")

# Phrases before what is looked for, removed from the start: "who is", "qui est", "cherche"...
_LOOKUP_LEADS = sorted((fold(p) for p in (
    "who is", "who's", "whos", "who is the customer", "find", "find me", "search", "search for", "look up",
    "lookup", "look for", "show", "show me", "open", "get", "customer", "client", "cliente", "the customer",
    "a customer", "profile of", "card of", "qui est", "c'est qui", "cest qui", "cherche", "chercher",
    "je cherche", "trouve", "trouver", "recherche", "rechercher", "montre", "montre-moi", "montre moi",
    "affiche", "ouvre", "fiche", "la fiche de", "fiche de", "le client", "la cliente", "un client",
    "une cliente", "please", "pls", "stp", "svp", "hey", "hi", "hello", "bonjour", "salut", "can you",
    "could you", "tu peux", "peux-tu", "pourrais-tu", "and", "et", "what about", "et pour", "and for",
)), key=len, reverse=True)
_OF = re.compile(r"\s(?:of|for|from|de|du|des|d'|pour|chez)\s?", re.IGNORECASE)
_TRAILING = re.compile(r"(?:[\s?!.,;:]+|\s+(?:please|pls|stp|svp|merci|thanks|thx))+$", re.IGNORECASE)


def parse(text: str | None) -> Parsed:
    cleaned = clean(text)
    folded = fold(cleaned)
    words = _words(folded)
    if not words:
        return Parsed(Intent.HELP)
    return (_choice(words) or _log(cleaned, folded, words) or _own(words) or _courtesy(words)
            or _topic(cleaned, folded, words) or _lookup(cleaned))


def _choice(words: list[str]) -> Parsed | None:
    meaningful = [w for w in words if w not in _CHOICE_FILLER]
    if len(meaningful) != 1 or len(words) > 5:
        return None
    word = meaningful[0]
    if word.isascii() and word.isdigit() and len(word) <= 2 and int(word) >= 1:
        return Parsed(Intent.CHOOSE, index=int(word))
    if word in _ORDINALS:
        # "one" / "un" alone is a choice only with something around it ("the one"... no: "le un" is odd);
        # a bare "un" or "one" is more likely the start of something cut short.
        if word in ("one", "un", "une") and len(words) == 1:
            return None
        return Parsed(Intent.CHOOSE, index=_ORDINALS[word])
    if _is(word, _ORDINAL_WORDS):
        best = max(_ORDINAL_WORDS, key=lambda known: fuzz.ratio(word, known))
        return Parsed(Intent.CHOOSE, index=_ORDINALS[best])
    return None


def _log(cleaned: str, folded: str, words: list[str]) -> Parsed | None:
    if not _is(words[0], _LOG_VERBS) or len(words) < 2:
        return None
    position = 1
    while position < len(words) and words[position] in _LOG_FILLER:
        position += 1
    channel: InteractionChannel | None = None
    type_: InteractionType | None = None
    if position < len(words):
        kind = words[position]
        match = _LOG_WORDS.get(kind) or next(
            (value for known, value in _LOG_WORDS.items() if len(kind) >= 4 and _is(kind, frozenset({known}))), None)
        if match is not None:
            channel, type_ = match
            position += 1
            if kind == "coup" and words[position:position + 2] == ["de", "fil"]:
                position += 2
        elif position == 1 and ":" not in cleaned:
            return None  # "note" alone as the first word of something else ("note de Dupont"? a name)
    return Parsed(Intent.LOG, channel=channel, type=type_, note=_note_after(cleaned, folded, words, position))


def _note_after(cleaned: str, folded: str, words: list[str], position: int) -> str | None:
    """What follows the log words in the original text (accents and case kept): the note."""
    if ":" in cleaned:
        note = cleaned.split(":", 1)[1]
    else:
        # Walk the folded text past the first `position` words; folding keeps one character per character
        # for Latin letters, so the offset finds the same place in the original.
        offset = 0
        for word in words[:position]:
            found = folded.find(word, offset)
            offset = found + len(word) if found >= 0 else offset
        note = cleaned[offset:] if len(folded) == len(cleaned) else " ".join(cleaned.split()[position:])
    note = note.strip(" ,;:-—")
    return note or None


def _own(words: list[str]) -> Parsed | None:
    """The employee's own things: follow-ups, the team's or own week, the digest."""
    content = [w for w in words if w not in _FILLER or w in _MY]
    if not content or len(content) > 6:
        return None
    joined = " ".join(words)
    # A word that is exactly a topic word is that topic, not a typo of a follow-up word ("appels", "rappels").
    exact_topic = any(w in vocabulary for w in content for vocabulary in _TOPICS.values())
    if (any(w in _FOLLOWUP_WORDS or (not exact_topic and _is(w, _FOLLOWUP_WORDS)) for w in content) or "follow up" in joined or "a faire" in joined
            or "to do" in joined) and not any(_is(w, _TOPICS[Intent.ORDERS]) for w in content):
        return Parsed(Intent.FOLLOWUPS)
    if any(_is(w, _DIGEST_WORDS) for w in content):
        return Parsed(Intent.DIGEST)
    if any(_is(w, _TEAM_WORDS) for w in content):
        return Parsed(Intent.TEAM_WEEK)
    if any(w in _WEEK_WORDS or (len(w) > 4 and _is(w, _WEEK_WORDS)) for w in content) and any(w in _MY for w in words):
        return Parsed(Intent.MY_WEEK)
    return None


def _courtesy(words: list[str]) -> Parsed | None:
    if len(words) > 4:
        return None
    if all(w in _HELP_WORDS or w in _FILLER or w in _GREETINGS for w in words) and any(
            w in _HELP_WORDS or w in _GREETINGS for w in words):
        return Parsed(Intent.HELP)
    if words[0] in ("what", "que", "quoi") and any(w in ("do", "faire", "fais") for w in words):
        return Parsed(Intent.HELP)
    if all(w in _THANKS or w in _FILLER for w in words) and any(w in _THANKS for w in words):
        return Parsed(Intent.THANKS)
    return None


def _topic_of(word: str) -> Intent | None:
    for intent, vocabulary in _TOPICS.items():
        if word in vocabulary:
            return intent
    for intent, vocabulary in _TOPICS.items():
        if _is(word, vocabulary):
            return intent
    return None


def _topic(cleaned: str, folded: str, words: list[str]) -> Parsed | None:
    """"orders?", "what sizes?", "anything in her basket?", or "orders of Dupont" (the query slot)."""
    if _EMAIL.search(folded) and not _OF.search(cleaned):
        return None
    content = [w for w in words if w not in _FILLER]
    topics = [t for t in (_topic_of(w) for w in content) if t is not None]
    if not topics:
        return None
    intent = topics[0]
    # Everything said is about the topic: the customer under discussion.
    if all(_topic_of(w) is not None for w in content):
        return Parsed(intent)
    # "orders of Dupont", "commandes de jean.dupont@example.com": the rest names the customer.
    split = _OF.search(cleaned)
    if split is not None and _topic_of(next(iter(_words(fold(cleaned[:split.start()]))[-1:]), "")) is not None:
        query = _TRAILING.sub("", cleaned[split.end():]).strip()
        if query:
            return Parsed(intent, query=query)
    if len(content) - len(topics) <= 1 and len(content) <= 3 and not any(c.isdigit() for c in "".join(content)):
        return Parsed(intent)  # one stray word ("sizes again?") still means the topic
    return None


def _lookup(cleaned: str) -> Parsed:
    text = cleaned
    changed = True
    while changed and text:
        changed = False
        lowered = fold(text)
        for lead in _LOOKUP_LEADS:
            if lowered.startswith(lead) and (len(lowered) == len(lead) or not lowered[len(lead)].isalnum()):
                text = text[len(lead):].lstrip(" :,?!-") if len(lowered) == len(text) else " ".join(
                    text.split()[len(lead.split()):])
                changed = True
                break
    query = _TRAILING.sub("", text).strip()
    return Parsed(Intent.LOOKUP, query=query) if query else Parsed(Intent.HELP)
