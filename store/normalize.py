"""Pure normalisation helpers shared by search, import, identity resolution and the Slack handlers.

Everything here is deterministic and side-effect free so that the same customer typed on a phone in
a shop ("HELENE DARCY", "06 12 34 56 78") and exported by the web shop ("Hélène D'Arcy",
"+33612345678") normalise to identical values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import phonenumbers
from unidecode import unidecode

__all__ = [
    "NICKNAME_WORDS",
    "fold",
    "name_tokens",
    "nickname_roots",
    "normalise_email",
    "normalise_phone",
    "normalise_postcode",
    "phonetic_key",
    "sound_screen",
]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str | None) -> str:
    """Transliterate to ASCII, lowercase, turn punctuation into spaces and collapse whitespace."""
    if not text:
        return ""
    return _NON_ALNUM.sub(" ", unidecode(text).lower()).strip()


# --- e-mail -----------------------------------------------------------------------------------

_LOCAL_ALLOWED = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_email(raw: str | None) -> str | None:
    """Strip and lowercase an address; None when empty, ValueError("malformed email") when invalid.

    Deliberately stricter than RFC 5322 (no quoted local parts, no IP literals, ASCII only): those forms
    never come out of a web shop or a till, and accepting them would mostly let typos through.
    """
    if raw is None:
        return None
    email = raw.strip().lower()
    if not email:
        return None
    if len(email) > 254 or email.count("@") != 1:
        raise ValueError("malformed email")
    local, domain = email.split("@")
    if not local or len(local) > 64 or not _LOCAL_ALLOWED.match(local):
        raise ValueError("malformed email")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("malformed email")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError("malformed email")
    if not labels[-1].isalpha() or len(labels[-1]) < 2:
        raise ValueError("malformed email")
    return email


# --- phone ------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def normalise_phone(raw: str | None, default_region: str = "FR") -> str | None:
    """Return the E.164 form ("+33612345678"); None when empty; ValueError when unparseable/impossible.

    National formats ("06 12 34 56 78") are read in `default_region`; "00" international prefixes and
    "+" forms work for any country.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("unparseable phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("impossible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Some impossible-looking inputs ("+43 00000") format to a string that reads back as another
    # number; a stored phone must mean one number, so such input is refused rather than guessed.
    if phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.E164) != e164:
        raise ValueError("ambiguous phone number")
    return e164


# --- postcode and names -----------------------------------------------------------------------


def normalise_postcode(raw: str | None) -> str:
    """Uppercase without any whitespace ("sw1a 1aa" -> "SW1A1AA"); "" when missing."""
    if not raw:
        return ""
    return "".join(raw.split()).upper()


def name_tokens(first: str | None, last: str | None) -> list[str]:
    """Folded tokens of first then last name ("Jean-Pierre", "D'Arcy" -> jean, pierre, d, arcy)."""
    return (fold(first) + " " + fold(last)).split()


# --- phonetic key -----------------------------------------------------------------------------

# Ordered rewrites that make French and English spellings of a sound collide. Order matters:
# multi-letter groups first, then single letters.
_PHONETIC_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"sch", "s"),
        (r"ch|sh", "s"),
        (r"ph", "f"),
        (r"bv", "v"),
        (r"th", "t"),
        (r"gh", "g"),
        (r"ck|qu|q", "k"),
        (r"gn", "n"),
        (r"eau|au", "o"),
        (r"ou|oo", "u"),
        (r"ai|ei|ay|ey", "e"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"g(?=[eiy])", "j"),
        (r"x", "ks"),
        (r"z", "s"),
        (r"w", "v"),
        (r"y", "i"),
        (r"h", ""),
        (r"(?<=.)[aeiou]", ""),
        (r"(.)\1+", r"\1"),
    )
)
_SILENT_ENDINGS = re.compile(r"(?:[stdxz]|e[stdxz]?)+$")


@lru_cache(maxsize=65536)
def phonetic_key(word: str | None, length: int = 6) -> str:
    """A coarse sound key for one name token, tolerant of accents, doubled letters and silent endings.

    "Lefèvre"/"Lefebvre"/"Lefevre" -> "lfvr", "Philippe"/"Filip" -> "flp", "Thomas"/"Tomas" -> "tm".
    Used only to build blocking keys: collisions cost comparisons, not wrong merges.
    """
    word = fold(word).replace(" ", "")
    if not word:
        return ""
    if len(word) > 3:
        word = _SILENT_ENDINGS.sub("", word) or word
    for pattern, replacement in _PHONETIC_RULES:
        word = pattern.sub(replacement, word)
    return word[:length]


# Which letters of a word each character of its sound key can come from, following the rules above
# through their chains ("eau" -> "o", then "ou" -> "u"): a vowel survives only first and may come from
# any vowel; a character not listed comes only from itself. "h" and silent endings alone make no sound.
_SOUND_SOURCES = {"s": "scxz", "k": "kcqx", "f": "fp", "v": "vw", "j": "jg",
                  **dict.fromkeys("aeiou", "aeiouy")}
_SOUNDLESS = "hstdxze "


def sound_screen(sounds: Iterable[str]) -> re.Pattern[str]:
    """A pattern that matches (`match`) every folded word whose phonetic_key may be one of these sounds,
    and few others: for callers that would otherwise key thousands of words to find a few, one call
    of the regular expression engine per word instead of the rules above."""
    options = []
    for sound in sorted(set(sounds)):
        if sound:  # the word holds, for each character of the sound, one of the letters it comes from
            options.append("".join(f"(?=.*[{re.escape(_SOUND_SOURCES.get(character, character))}])"
                                   for character in dict.fromkeys(sound)))
        else:
            options.append(f"[{_SOUNDLESS}]*$")
    return re.compile("|".join(options) or "(?!)")


# --- nicknames --------------------------------------------------------------------------------

_NICKNAMES: dict[str, tuple[str, ...]] = {
    # English
    "bob": ("robert",), "rob": ("robert",), "robbie": ("robert",), "bobby": ("robert",),
    "bill": ("william",), "billy": ("william",), "will": ("william",), "liam": ("william",),
    "jim": ("james",), "jimmy": ("james",), "jamie": ("james",),
    "mike": ("michael", "michel"), "mick": ("michael",),
    "kate": ("katherine", "catherine"), "katie": ("katherine", "catherine"),
    "kathy": ("katherine", "catherine"), "cathy": ("catherine",), "cath": ("catherine",),
    "liz": ("elizabeth", "elisabeth"), "lizzie": ("elizabeth",), "beth": ("elizabeth", "elisabeth"),
    "betty": ("elizabeth",), "babeth": ("elisabeth",),
    "tom": ("thomas",), "tommy": ("thomas",), "dan": ("daniel",), "danny": ("daniel",),
    "dave": ("david",), "steve": ("stephen", "steven"), "nick": ("nicholas", "nicolas"),
    "sam": ("samuel", "samantha"), "ben": ("benjamin",), "tony": ("anthony", "antoine"),
    "chris": ("christopher", "christophe", "christine", "christian"),
    "alex": ("alexander", "alexandre", "alexandra", "alexis"),
    "jenny": ("jennifer",), "jen": ("jennifer",), "meg": ("margaret",), "maggie": ("margaret",),
    "peggy": ("margaret",), "charlie": ("charles", "charlotte"), "ed": ("edward",),
    "eddie": ("edward",), "ted": ("edward",), "harry": ("henry",), "jack": ("john",),
    "johnny": ("john",), "pete": ("peter",), "andy": ("andrew",), "drew": ("andrew",),
    "matt": ("matthew", "mathieu", "matthieu"), "sue": ("susan", "suzanne"), "susie": ("susan",),
    "becky": ("rebecca",), "vicky": ("victoria",), "josh": ("joshua",), "abby": ("abigail",),
    # French
    "manu": ("emmanuel", "emmanuelle"), "fred": ("frederic", "frederique"),
    "seb": ("sebastien",), "nico": ("nicolas",), "steph": ("stephane", "stephanie"),
    "isa": ("isabelle",), "zab": ("isabelle",), "val": ("valerie", "valentin"),
    "flo": ("florence", "florian"), "max": ("maxime", "maximilien"),
    "greg": ("gregory", "gregoire"), "pat": ("patrick", "patricia"), "dom": ("dominique",),
    "jp": ("jean pierre",), "jb": ("jean baptiste",), "jc": ("jean claude",),
    "mimi": ("michelle", "emilie"), "cricri": ("christine",), "nath": ("nathalie",),
    "sandy": ("sandrine",), "caro": ("caroline",), "aurel": ("aurelien", "aurelie"),
    "gigi": ("ghislaine",), "jojo": ("joseph", "josephine", "jordan"), "titi": ("thierry",),
    "lolo": ("laurent", "laurence"), "fifi": ("philippe",), "phil": ("philippe", "philip"),
    "ju": ("julien", "julie"), "juju": ("julien", "julie"), "margot": ("marguerite",),
    "nono": ("arnaud",), "toto": ("thomas",), "benji": ("benjamin",), "clem": ("clement", "clementine"),
    "vince": ("vincent",), "tonio": ("antoine",), "xav": ("xavier",), "mat": ("mathieu", "matthieu"),
}


# every name the table holds, nickname or formal: two names can be a nickname and its formal name (or two
# nicknames of one name) only if both are here, a test cheaper than building their roots
NICKNAME_WORDS = frozenset(_NICKNAMES) | frozenset(name for names in _NICKNAMES.values() for name in names)


def nickname_roots(folded_first: str) -> frozenset[str]:
    """The formal names a folded first name may stand for, itself included."""
    return frozenset((folded_first, *_NICKNAMES.get(folded_first, ())))
