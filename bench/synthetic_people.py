"""Synthetic customers spread over three sources (web, pos, crm) with known ground truth.

Each person lives in a household (shared address, sometimes a landline, a family e-mail or a last
name), may have moved, changed phone or married, and shows up in one to three sources, sometimes twice
in one. Every record is then corrupted the way real till/web/CRM data is: dropped accents, upper-case
last names, typos, swapped first/last names, nicknames, initials, missing fields, phone formats
(+33 6.., 06.., 0033.., 06.12..), street abbreviations, transposed birth day/month.

Names and streets are drawn from fixed "national" Zipf-like pools (the listed names first, most
common first, then a generated long tail), so a bigger base keeps the same share of Martins and meets
ever more rare names; postcodes are a fixed set of 6,000 with Zipf-like town sizes. The same seed
always gives the same people and records.

Usage: `for source, person_id, record in generate(people=1000, seed=1): ...`
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from collections.abc import Callable, Iterator
from itertools import accumulate
from dataclasses import dataclass, field
from functools import partial

from store.identity import IdentityRecord

FR_MALE = ["Jean", "Pierre", "Michel", "André", "Philippe", "Nicolas", "Laurent", "Stéphane", "Frédéric", "Sébastien", "Christophe", "Julien", "Thomas", "Antoine", "Maxime", "Alexandre", "Guillaume", "Clément", "Théo", "Hugo", "Lucas", "Louis", "Gabriel", "Raphaël", "Jérôme", "François", "Benoît", "Olivier", "Thierry", "Éric", "Patrick", "Gérard", "Bernard", "Yves", "Loïc", "Gaël", "Noël", "Hervé", "Rémi", "Mathieu", "Vincent", "Arnaud", "Florian", "Xavier", "Emmanuel", "Grégoire", "Joël", "Cédric", "Aurélien", "Damien", "Jean-Pierre", "Jean-Baptiste", "Jean-Claude", "Marc", "Paul", "Denis", "Daniel", "Robert", "Joseph", "Bruno", "Killian", "Mathis", "Enzo"]
FR_FEMALE = ["Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Hélène", "Valérie", "Sandrine", "Christine", "Céline", "Sophie", "Aurélie", "Émilie", "Julie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Zoé", "Anaïs", "Maëlle", "Élodie", "Stéphanie", "Virginie", "Cécile", "Agnès", "Brigitte", "Monique", "Laurence", "Florence", "Caroline", "Juliette", "Margaux", "Clémence", "Océane", "Mélanie", "Noémie", "Héloïse", "Bérénice", "Josiane", "Geneviève", "Danièle", "Véronique", "Patricia", "Nadine", "Pascale", "Marie-Claire", "Anne-Sophie", "Emma", "Lou", "Jade", "Louise", "Alice", "Gaëlle", "Solène", "Maëva"]
EN_MALE = ["James", "John", "Robert", "Michael", "William", "David", "Richard", "Thomas", "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Andrew", "Joshua", "Steven", "Edward", "Peter", "Henry", "Samuel", "Benjamin", "Oliver", "George", "Harry", "Jack", "Liam", "Noah", "Ethan", "Nicholas", "Patrick"]
EN_FEMALE = ["Mary", "Elizabeth", "Jennifer", "Susan", "Margaret", "Sarah", "Karen", "Emily", "Emma", "Olivia", "Sophie", "Charlotte", "Amelia", "Jessica", "Hannah", "Rebecca", "Victoria", "Katherine", "Abigail", "Samantha", "Lucy", "Grace", "Chloe", "Megan", "Rachel", "Laura", "Alice", "Ellie", "Zoe", "Ruby"]
FR_LAST = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Dupuy", "Guillot", "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin", "Deschamps", "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Renault", "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez", "Le_Gall", "Collet", "Léger", "Bouvier", "Prévost", "Millet", "Perrot", "Le_Roux", "Cousin", "Germain", "Breton", "Besson", "Langlois", "Rémy", "Le_Goff", "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré", "Lebrun", "Marchal", "Weber", "Mallet", "Hamon", "Boulanger", "Jacob", "Monnier", "Michaud", "Rodriguez", "Guichard", "Gillet", "Étienne", "Grondin", "Poulain", "Tessier", "Chevallier", "Collin", "Chauvin", "Da_Silva", "Bouchet", "Lemaître", "Bénard", "Maréchal", "Humbert", "Reynaud", "Hoarau", "Perret", "Barthélemy", "Cordier", "Pichon", "Lejeune", "Gilbert", "Lamy", "Delaunay", "Pasquier", "Carlier", "Laporte", "D'Arcy", "N'Diaye", "Kerhervé", "Quéméner"]
FR_LAST = [name.replace("_", " ") for name in FR_LAST]  # "Le Gall" is one name
EN_LAST = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews", "O'Brien", "O'Connor", "McDonald"]
# The long tail. Real name frequencies are Zipf-like: a few names are very common ("Martin" is about
# 0.4% of France) and most names are rare, so a larger customer base keeps the same share of Martins
# but meets ever more distinct rare names. Each pool below is one fixed "national" distribution,
# the listed names first (most common first), then names generated from syllables by rank; people are
# sampled from it, so the number of distinct names grows with the population by itself.
_SURNAME_HEADS = ["Ker", "Le", "Du", "Mor", "Val", "Berg", "Lan", "Gal", "Rou", "Fon", "Beau", "Mont", "Cha", "Bou", "Tré", "Pen", "Lav", "Gui", "Mar", "Bar", "Cor", "Dan", "Fer", "Gar", "Hou", "Jou", "Lor", "Mal", "Nor", "Pel", "Ros", "Sau", "Tal", "Ver", "Vil", "Bel", "Bon", "Cas", "Dor", "Gau", "Lam", "Mas", "Pic", "Ric", "Sal", "Tes", "Bri", "Cro", "Fau", "Gre", "Mer", "Pla", "Quin", "San", "Tou", "Bro", "Cla", "Des", "Fra", "Gro"]
_SURNAME_MIDS = ["", "a", "e", "i", "o", "ou", "an", "en", "in", "on", "ar", "er", "or", "el", "al", "il", "ach", "eg", "ev", "az", "ig", "ab", "uc", "ol", "am", "es", "ot", "ic", "ag", "ur", "ad", "ob", "ep", "is", "um", "ay", "iv", "ud", "om"]
_SURNAME_TAILS = ["vé", "and", "eau", "ier", "in", "ot", "ard", "ec", "oux", "ent", "elle", "ac", "ec'h", "ouet", "ignac", "ès", "ault", "isse", "ain", "eux", "ais", "on", "elin", "arz", "ay", "euil", "iou", "illon", "ecq", "oz", "ade", "ié", "erre", "otte", "inne", "enne", "aux", "ieux", "ol", "ange", "aud"]
_FIRST_ONSETS = ["Ad", "Bren", "Cas", "Dor", "Ev", "Fal", "Gw", "Is", "Jor", "Kal", "Lor", "Mael", "Nol", "Or", "Per", "Quen", "Ros", "Sol", "Tal", "Ul", "Val", "Wil", "Yv", "Zel", "Aur", "Bas", "Cor", "Del", "Em", "Flo", "Gal", "Hel", "Ir", "Jul", "Kel", "Lys", "Mor", "Nad"]
_FIRST_MIDS = ["", "a", "e", "i", "o", "an", "el", "in", "ar", "ou", "ys", "en"]
_FIRST_CODAS = ["wen", "rick", "ine", "ael", "ys", "iane", "on", "ette", "ia", "an", "ric", "elle", "ance", "ille", "ien", "ina", "ard", "eline", "ois", "ane", "ia", "ette", "iel", "ien", "is"]
STREETS = ["de la Paix", "Victor Hugo", "Jean Jaurès", "des Lilas", "du Général de Gaulle", "Pasteur", "de la République", "des Écoles", "du Moulin", "de l'Église", "Gambetta", "Voltaire", "de la Gare", "des Tilleuls", "du Château", "Émile Zola", "des Peupliers", "de Verdun", "du Stade", "Jules Ferry", "de la Fontaine", "des Roses", "Saint-Michel", "du Maréchal Foch", "de Bretagne", "des Acacias", "Anatole France", "du Port", "de Provence", "des Vignes"]
STREET_TYPES = (("rue", "r."), ("avenue", "av."), ("boulevard", "bd"), ("place", "pl."), ("allée", "all."),
                ("chemin", "ch."), ("impasse", "imp."))
CITY_PARTS = ["Saint-Martin", "Villeneuve", "Montreuil", "Beaumont", "Fontaine", "Châteauneuf", "Bourg", "Champigny", "Ivry", "Noisy", "Sainte-Marie", "Bois-Colombes", "Vitry", "Lagny", "Mérignac", "Pessac", "Bègles", "Lorient", "Quimper", "Vannes"]
NICKNAMES = {"Robert": "Bob", "William": "Bill", "James": "Jim", "Michael": "Mike", "Katherine": "Kate",
             "Elizabeth": "Liz", "Thomas": "Tom", "Daniel": "Dan", "Nicholas": "Nick", "Samuel": "Sam",
             "Benjamin": "Ben", "Anthony": "Tony", "Christopher": "Chris", "Edward": "Ed", "Matthew": "Matt",
             "Emmanuel": "Manu", "Frédéric": "Fred", "Sébastien": "Seb", "Nicolas": "Nico",
             "Stéphane": "Steph", "Isabelle": "Isa", "Valérie": "Val", "Florence": "Flo", "Maxime": "Max",
             "Patrick": "Pat", "Jean-Pierre": "JP", "Nathalie": "Nath", "Caroline": "Caro", "Margaret": "Maggie",
             # a few the matcher's table does not know: they must be carried by other evidence
             "Guillaume": "Guigui", "Alexandre": "Alex", "Christine": "Kiki", "Jennifer": "Jenn"}
DOMAINS = ["gmail.com", "orange.fr", "free.fr", "hotmail.fr", "yahoo.fr", "laposte.net", "sfr.fr", "outlook.com", "icloud.com", "wanadoo.fr", "hotmail.com", "gmail.com", "gmail.com", "orange.fr"]


class _Pool:
    """One name distribution: rank r has weight 1 / (r + offset) ** exponent (Zipf-like); the listed
    values take the first ranks, `tail(t)` makes the t-th value after them, up to `tail_size`."""

    def __init__(self, listed: list[str], tail: Callable[[int], str], tail_size: int, offset: float,
                 exponent: float) -> None:
        self.listed, self.tail = listed, tail
        self.cumulative = list(accumulate(1.0 / (rank + offset) ** exponent
                                          for rank in range(len(listed) + tail_size)))

    def pick(self, rng: random.Random) -> str:
        rank = bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.listed[rank] if rank < len(self.listed) else self.tail(rank - len(self.listed))

    def share_of_listed(self) -> float:
        return self.cumulative[len(self.listed) - 1] / self.cumulative[-1]


def _tail_surname(t: int) -> str:
    heads, mids = len(_SURNAME_HEADS), len(_SURNAME_MIDS)
    return _SURNAME_HEADS[t % heads] + _SURNAME_MIDS[t // heads % mids] + _SURNAME_TAILS[t // (heads * mids)]


def _tail_first_name(t: int) -> str:
    onsets, mids = len(_FIRST_ONSETS), len(_FIRST_MIDS)
    return _FIRST_ONSETS[t % onsets] + _FIRST_MIDS[t // onsets % mids] + _FIRST_CODAS[t // (onsets * mids)]


def _tail_street(t: int) -> str:
    # streets named after people and places: "Jean Moulin", "des Kerlavoux"
    firsts = FR_MALE + FR_FEMALE
    if t % 2:
        return f"{firsts[t // 2 % len(firsts)]} {FR_LAST[t // 2 // len(firsts) % len(FR_LAST)]}"
    return f"des {_tail_surname(t // 2)}s"


_SURNAME_TAIL = len(_SURNAME_HEADS) * len(_SURNAME_MIDS) * len(_SURNAME_TAILS)
_FIRST_TAIL = len(_FIRST_ONSETS) * len(_FIRST_MIDS) * len(_FIRST_CODAS)
POSTCODES = 6_000  # France has about 6,300: the country does not grow with the customer base


@dataclass
class Person:
    pid: int
    first: str
    last: str
    maiden: str | None
    birth: datetime.date
    emails: list[str]
    mobiles: list[str]  # newest first
    addresses: list[tuple[str, str, str]]  # (street, postcode, city), newest first
    loyalty: list[str]
    household: Household


@dataclass
class Household:
    last: str
    address: tuple[str, str, str]
    landline: str | None
    family_email: str | None = None
    members: list[Person] = field(default_factory=list)


class _World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.postcodes = []
        for rank in range(POSTCODES):
            dept = rng.randint(1, 95)
            town = (rng.choice(CITY_PARTS) if rank < 200 or rng.random() < 0.3
                    else _tail_surname(rng.randrange(_SURNAME_TAIL)))
            self.postcodes.append((f"{dept:02d}{rng.randint(0, 99) * 10:03d}",
                                   f"{town}-{rng.choice(('sur-Mer', 'les-Bains', 'le-Haut', ''))}".strip("-")))
        self.postcode_weights = list(accumulate(1.0 / (rank + 3) ** 0.6 for rank in range(POSTCODES)))  # town sizes
        self.pools = {
            "fr_male": _Pool(FR_MALE, _tail_first_name, _FIRST_TAIL, 15, 1.6),
            "fr_female": _Pool(FR_FEMALE, _tail_first_name, _FIRST_TAIL, 15, 1.6),
            "en_male": _Pool(EN_MALE, _tail_first_name, _FIRST_TAIL, 15, 1.6),
            "en_female": _Pool(EN_FEMALE, _tail_first_name, _FIRST_TAIL, 15, 1.6),
            "fr_last": _Pool(FR_LAST, _tail_surname, _SURNAME_TAIL, 25, 1.0),
            "en_last": _Pool(EN_LAST, _tail_surname, _SURNAME_TAIL, 20, 1.0),
            "street": _Pool(STREETS, _tail_street, 2 * _SURNAME_TAIL, 10, 1.0),
        }

    def pick(self, pool: str) -> str:
        return self.pools[pool].pick(self.rng)

    def unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def last_name(self, english: bool) -> str:
        if not english and self.rng.random() < 0.04:
            return f"{self.pick('fr_last')}-{self.pick('fr_last')}"
        return self.pick("en_last" if english else "fr_last")

    def address(self) -> tuple[str, str, str]:
        postcode, city = self.rng.choices(self.postcodes, cum_weights=self.postcode_weights)[0]
        kind = self.rng.choice(STREET_TYPES)[0]
        return f"{self.rng.randint(1, 180)} {kind} {self.pick('street')}", postcode, city

    def mobile(self, english: bool) -> str:
        if english and self.rng.random() < 0.5:
            return self.unique(lambda: f"+447{self.rng.randint(100000000, 999999999)}")
        return self.unique(lambda: f"+33{self.rng.choice('67')}{self.rng.randint(10000000, 99999999)}")

    def email(self, first: str, last: str) -> str:
        f, s = _ascii(first).replace(" ", ""), _ascii(last).replace(" ", "")  # given name, surname
        pattern = self.rng.randrange(4)
        local = (f"{f}.{s}", f"{f[0]}{s}", f"{f}{s}", f"{s}.{f}")[pattern]
        domain = self.rng.choice(DOMAINS)
        candidate = f"{local}@{domain}"
        if candidate not in self.used:
            self.used.add(candidate)
            return candidate
        return self.unique(lambda: f"{local}{self.rng.randint(1, 9999)}@{domain}")


def _ascii(text: str) -> str:
    from store.normalize import fold
    return fold(text).replace(" ", "")


def _family_email(rng: random.Random, last: str) -> str:
    return f"famille.{_ascii(last)}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}"


def _people(count: int, world: _World) -> Iterator[Person]:
    rng = world.rng
    pid = 0
    while pid < count:
        english = rng.random() < 0.2
        size = rng.choices((1, 2, 3, 4), (55, 30, 10, 5))[0]
        house = Household(world.last_name(english), world.address(),
                          world.unique(lambda: f"+33{rng.randint(1, 5)}{rng.randint(10000000, 99999999)}")
                          if rng.random() < 0.4 else None)
        for member in range(min(size, count - pid)):
            female = rng.random() < 0.5
            names = f"{'en' if english else 'fr'}_{'female' if female else 'male'}"
            first = world.pick(names)
            while any(other.first == first for other in house.members):
                first = world.pick(names)
            own_last = member >= 1 and rng.random() < 0.2  # unmarried partner keeps their own name
            last = world.last_name(english) if own_last else house.last
            maiden = world.last_name(english) if female and member == 1 and not own_last and rng.random() < 0.1 else None
            year = rng.randint(1940, 2006) if member < 2 else rng.randint(1990, 2006)
            person = Person(pid, first, last, maiden, datetime.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                            [world.email(first, last)], [], [house.address], [], house)
            if rng.random() < 0.2:
                person.emails.append(world.email(first, maiden or last))
            if rng.random() < 0.92:
                person.mobiles.append(world.mobile(english))
                if rng.random() < 0.1:
                    person.mobiles.append(world.mobile(english))
            if rng.random() < 0.15:
                person.addresses.append(world.address())
            if rng.random() < 0.55:
                person.loyalty.append(world.unique(lambda: f"FL{rng.randint(100000000, 999999999)}"))
            house.members.append(person)
            pid += 1
        if len(house.members) >= 2 and rng.random() < 0.25:
            lead = house.members[0]
            house.family_email = (world.unique(partial(_family_email, rng, house.last))
                                  if rng.random() < 0.5 else lead.emails[0])
        yield from house.members


# --- corruption -------------------------------------------------------------------------------

def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.randrange(4)
    letter = rng.choice("aeioulnrstm")
    if op == 0:
        return text[:i] + letter + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if op == 2:
        return text[:i] + text[i + 1:]
    return text[:i] + letter + text[i:]


def _strip_accents(text: str) -> str:
    from unidecode import unidecode
    return unidecode(text)


def _phone_format(rng: random.Random, e164: str) -> str:
    if not e164.startswith("+33"):
        return rng.choice((e164, "00" + e164[1:], f"{e164[:3]} {e164[3:7]} {e164[7:]}"))
    national = "0" + e164[3:]
    pairs = " ".join(national[i:i + 2] for i in range(0, 10, 2))
    return rng.choice((e164, f"+33 {e164[3]} {pairs[3:]}", pairs, national, "0033" + e164[3:],
                       pairs.replace(" ", ".")))


_SOURCE_RATES = {  # presence rates: first, last, email, phone, address, street, birth, loyalty, accents lost
    "web": (0.98, 0.99, 1.0, 0.8, 0.9, 0.95, 0.25, 0.15, 0.2),  # checkout asks phone + delivery address
    "pos": (0.9, 0.97, 0.65, 0.75, 0.7, 0.0, 0.35, 0.9, 0.7),  # e-receipts; the till keeps a postcode only
    "crm": (0.97, 0.99, 0.85, 0.85, 0.9, 0.95, 0.7, 0.7, 0.3),  # fed by the loyalty programme
}


def _record(rng: random.Random, key: int, source: str, person: Person, stale: bool) -> IdentityRecord:
    p_first, p_last, p_email, p_phone, p_addr, p_street, p_birth, p_loyal, p_plain = _SOURCE_RATES[source]
    house = person.household
    first = person.first
    last = person.maiden if person.maiden and (stale or rng.random() < 0.3) else person.last
    if source != "crm" and first in NICKNAMES and rng.random() < 0.15:
        first = NICKNAMES[first]
    if rng.random() < p_plain:
        first, last = _strip_accents(first), _strip_accents(last)
    if rng.random() < 0.03:
        first = _typo(rng, first)
    if rng.random() < 0.04:
        last = _typo(rng, last)
    if rng.random() < 0.4:
        last = last.upper()
    if source == "pos" and rng.random() < 0.03:
        first = first[0] + "."
    if rng.random() < (0.04 if source == "crm" else 0.02):
        first, last = last, first
    email = None
    if rng.random() < p_email:
        if house.family_email and rng.random() < 0.4:
            email = house.family_email
        else:
            email = person.emails[-1 if stale else 0] if len(person.emails) > 1 and rng.random() < 0.3 else person.emails[0]
    phone = None
    if rng.random() < p_phone:
        options = person.mobiles[::-1] if stale else person.mobiles
        if house.landline and (not options or rng.random() < 0.15):
            phone = house.landline
        elif options:
            phone = options[0]
        phone = _phone_format(rng, phone) if phone else None
    street = postcode = city = None
    if rng.random() < p_addr:
        street, postcode, city = person.addresses[-1] if stale else person.addresses[0]
        if rng.random() >= p_street:
            street = None
        elif rng.random() < 0.3:
            for full, short in STREET_TYPES:
                street = street.replace(f" {full} ", f" {short} ")
        if street and rng.random() < 0.03:
            street = _typo(rng, street)
        if rng.random() < 0.2:
            city = None
    birth = None
    if rng.random() < p_birth:
        birth = person.birth
        if rng.random() < 0.03:
            birth = (birth.replace(day=birth.month, month=birth.day) if birth.day <= 12
                     else birth.replace(day=rng.randint(1, 28)))
    loyalty = rng.choice(person.loyalty) if person.loyalty and rng.random() < p_loyal else None
    if source != "web" and not (email or phone or loyalty):
        # tills and CRMs only keep a customer who left a way to be reached or a loyalty card
        if person.loyalty and source == "pos":
            loyalty = person.loyalty[0]
        elif person.mobiles and rng.random() < 0.5:
            phone = _phone_format(rng, person.mobiles[0])
        else:
            email = person.emails[0]
    def blank(value: str | None, p: float) -> str | None:
        return value if rng.random() < p else None

    return IdentityRecord(key, blank(first, p_first), blank(last, p_last), email, phone, birth, street,
                          postcode, city, "FR", loyalty)


def generate(people: int, seed: int = 1) -> Iterator[tuple[str, int, IdentityRecord]]:
    """Yield (source, person id, record) for `people` synthetic people (about 1.8 records each)."""
    world = _World(random.Random(seed))
    rng = world.rng
    key = 0
    for person in _people(people, world):
        sources = [s for s, p in (("web", 0.55), ("pos", 0.55), ("crm", 0.45)) if rng.random() < p]
        if not sources:
            sources = [rng.choice(("web", "pos", "crm"))]
        if rng.random() < 0.05:
            sources.append(rng.choice(sources))  # a second web account, a second loyalty signup...
        moved = len(person.addresses) > 1 or len(person.mobiles) > 1 or person.maiden is not None
        for source in sources:
            stale = moved and rng.random() < (0.5 if source == "crm" else 0.25)
            yield source, person.pid, _record(rng, key, source, person, stale)
            key += 1


RECORDS_PER_PERSON = 1.71  # measured mean (seed 1: 966,463 records for 564,972 people)
