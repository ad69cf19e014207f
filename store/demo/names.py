"""Word lists for the demo retailer: French and English names, streets and the towns around each store.

Written by hand for the demo; weights are rough (common names first, and picked more often).
"""
from __future__ import annotations

FR_FEMALE = (
    "Marie", "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura",
    "Hélène", "Céline", "Nathalie", "Isabelle", "Sophie", "Valérie", "Stéphanie", "Sandrine",
    "Catherine", "Françoise", "Monique", "Sylvie", "Christine", "Anne", "Élodie", "Aurélie",
    "Zoë", "Bérénice", "Gaëlle", "Maëlys", "Noémie", "Héloïse", "Clémence", "Mégane", "Anaïs",
    "Océane", "Agnès", "Solène", "Thérèse", "Joëlle", "Maïwenn", "Cécile", "Émilie", "Margaux",
    "Juliette", "Louise", "Alice", "Jeanne", "Charlotte", "Pauline", "Lucie", "Florence",
    "Frédérique", "Élisabeth", "Véronique", "Brigitte", "Delphine", "Virginie", "Mathilde",
    "Marie-Claire", "Anne-Sophie", "Marie-Hélène", "Anne-Laure", "Marie-Noëlle", "Léonie",
    "Capucine", "Apolline", "Ysée", "Adèle", "Béatrice", "Geneviève", "Josiane", "Rose",
)
FR_MALE = (
    "Jean", "Pierre", "Nicolas", "Thomas", "Julien", "Maxime", "Alexandre", "Antoine", "Lucas",
    "Hugo", "Louis", "Gabriel", "Arthur", "Raphaël", "Mathéo", "Théo", "Noé", "Loïc", "François",
    "Frédéric", "Stéphane", "Sébastien", "Jérôme", "Jérémy", "Cédric", "Grégoire", "Benoît",
    "Hervé", "Rémi", "Aurélien", "Gaël", "Joël", "Noël", "Anaël", "Mickaël", "Clément", "Étienne",
    "Émile", "Léon", "Bastien", "Romain", "Vincent", "Olivier", "Philippe", "Michel", "Alain",
    "Patrick", "Christophe", "Laurent", "Éric", "Yves", "Hubert", "Gérard", "Thierry", "Pascal",
    "Jean-Pierre", "Jean-François", "Jean-Baptiste", "Pierre-Louis", "Jean-Luc", "Marc-Antoine",
    "Paul-Henri", "Benjamin", "Guillaume", "Matthieu", "Baptiste", "Adrien", "Valentin",
    "Timothée", "Côme", "Anatole", "Félix", "Aymeric",
)
FR_LAST = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Lefebvre", "Michel", "Garcia", "David", "Bertrand",
    "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc",
    "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément",
    "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez",
    "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger",
    "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Pérez", "Marchand", "Dufour",
    "Blanchard", "Brun", "Barbier", "Arnaud", "Giraud", "Leclerc", "Rivière", "Le Gall",
    "Le Goff", "Le Roux", "Le Floch", "Kervella", "Queffélec", "Benoît", "Besnard", "Hébert",
    "Lécuyer", "Béranger", "Périer", "Thérond", "Crémieux", "Daniel-Lesueur", "Dupont-Aignan",
    "Martin-Lavigne", "Saint-Clair", "de La Roche", "de Montfort", "d'Arcy", "D'Amico",
    "Benali", "Haddad", "Traoré", "Diallo", "Cohen", "Lévy", "Boucher", "Lacroix", "Carpentier",
    "Vasseur", "Delattre", "Deschamps", "Dewaele", "Vandenberghe", "Lemoine", "Baudry",
    "Chauvin", "Aubert", "Bourgeois", "Renaud", "Collet", "Prévost", "Guillot", "Caron",
)
EN_FEMALE = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Lily", "Freya", "Charlotte",
    "Jessica", "Hannah", "Lucy", "Chloe", "Ellie", "Katherine", "Elizabeth", "Margaret", "Susan",
    "Rebecca", "Victoria", "Abigail", "Jennifer", "Sarah", "Rachel", "Laura", "Helen", "Claire",
    "Zoe", "Niamh", "Siobhan", "Imogen", "Harriet", "Poppy", "Rosie", "Evie", "Mary-Jane",
)
EN_MALE = (
    "Oliver", "George", "Harry", "Jack", "Noah", "Charlie", "Jacob", "Thomas", "Oscar", "William",
    "James", "Henry", "Alfie", "Joshua", "Daniel", "Samuel", "Benjamin", "Matthew", "Edward",
    "Robert", "Michael", "David", "Andrew", "Christopher", "Stephen", "Peter", "Richard", "Anthony",
    "Nicholas", "Alexander", "Callum", "Rhys", "Owen", "Declan", "Connor", "Liam", "Ethan",
)
EN_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "Harrison", "Hughes", "Edwards", "Turner",
    "Hill", "Cooper", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harris",
    "Martin", "Morgan", "Allen", "Scott", "Young", "Mitchell", "Carter", "Phillips", "Watson",
    "Shaw", "Bennett", "Gray", "Cook", "Kelly", "Murphy", "O'Brien", "O'Connor", "McDonald",
    "MacLeod", "Fitzgerald", "Ashworth", "Holloway", "Pemberton", "Fairclough", "Hargreaves",
    "Bradshaw", "Whitworth", "Sutcliffe", "Ahmed", "Begum", "Singh", "Okafor", "Mensah",
    "Nowak", "Kowalski", "Lloyd-Jones", "Hamilton-Smith", "Price", "Chapman", "Fletcher",
)
FR_STREET_TYPES = (("rue", 8), ("avenue", 3), ("boulevard", 2), ("place", 1), ("impasse", 1),
                   ("allée", 1), ("quai", 1), ("chemin", 1))
FR_STREET_NAMES = (
    "de la République", "Victor Hugo", "Jean Jaurès", "de la Paix", "Pasteur", "du Général de Gaulle",
    "des Lilas", "de la Gare", "Émile Zola", "Gambetta", "Voltaire", "des Écoles", "du Moulin",
    "Saint-Michel", "de l'Église", "des Peupliers", "Foch", "Carnot",
    "de Verdun", "de Sèze", "Nationale", "Solférino",
    "des Tanneurs", "Mozart", "des Martyrs",
    "Paul Bert", "de Béthune", "Molière", "Lamartine", "des Tilleuls", "Aristide Briand", "Anatole France",
)
EN_STREET_TYPES = (("Road", 6), ("Street", 6), ("Lane", 2), ("Avenue", 2), ("Close", 1),
                   ("Gardens", 1), ("Crescent", 1), ("Terrace", 1), ("Way", 1))
EN_STREET_NAMES = (
    "Church", "Station", "Victoria", "Park", "Mill", "High", "Green", "Manor", "Queen's",
    "King's", "Albert", "Grove", "Oxford", "Wilmslow", "Deansgate", "Portland", "Elm", "Chestnut",
    "Highbury", "Camden", "Brixton", "Kingsland", "Clapham", "Didsbury", "Chorlton", "Ashton",
    "Whitworth", "Oldham", "Stockport", "Princess", "Beech", "Willow", "Regent", "Canal",
)

# Towns a store's customers live in: (town, postcodes) with the store city first (most customers).
FR_TOWNS = {
    "Paris": (
        ("Paris", tuple(f"750{n:02d}" for n in range(1, 21))),
        ("Boulogne-Billancourt", ("92100",)), ("Montreuil", ("93100",)), ("Vincennes", ("94300",)),
        ("Saint-Denis", ("93200",)), ("Issy-les-Moulineaux", ("92130",)), ("Levallois-Perret", ("92300",)),
        ("Neuilly-sur-Seine", ("92200",)), ("Versailles", ("78000",)), ("Créteil", ("94000",)),
    ),
    "Lyon": (
        ("Lyon", tuple(f"6900{n}" for n in range(1, 10))),
        ("Villeurbanne", ("69100",)), ("Vénissieux", ("69200",)), ("Écully", ("69130",)),
        ("Caluire-et-Cuire", ("69300",)), ("Bron", ("69500",)), ("Sainte-Foy-lès-Lyon", ("69110",)),
    ),
    "Bordeaux": (
        ("Bordeaux", ("33000", "33100", "33200", "33300", "33800")),
        ("Mérignac", ("33700",)), ("Pessac", ("33600",)), ("Talence", ("33400",)), ("Bègles", ("33130",)),
        ("Le Bouscat", ("33110",)), ("Arcachon", ("33120",)),
    ),
    "Lille": (
        ("Lille", ("59000", "59160", "59260", "59777", "59800")),
        ("Roubaix", ("59100",)), ("Tourcoing", ("59200",)), ("Villeneuve-d'Ascq", ("59650",)),
        ("Marcq-en-Barœul", ("59700",)), ("Lambersart", ("59130",)), ("La Madeleine", ("59110",)),
    ),
}
UK_TOWNS = {
    "London": (
        ("London", ("N1", "N16", "E2", "E8", "E14", "SE1", "SE15", "SE22", "SW4", "SW11", "SW19",
                    "NW3", "NW5", "W4", "W11", "EC1V", "WC1H")),
        ("Richmond", ("TW9",)), ("Croydon", ("CR0",)), ("Kingston upon Thames", ("KT1",)),
    ),
    "Manchester": (
        ("Manchester", ("M1", "M4", "M13", "M14", "M15", "M16", "M19", "M20", "M21")),
        ("Salford", ("M5", "M6")), ("Stockport", ("SK1", "SK4")), ("Altrincham", ("WA14",)),
        ("Sale", ("M33",)),
    ),
}

# Free-mail style domains under the reserved .example TLD: believable on screen, never a real inbox.
FR_EMAIL_DOMAINS = (("gmail.example", 6), ("orange.example", 3), ("free.example", 2),
                    ("laposte.example", 1), ("hotmail.example", 2), ("sfr.example", 1),
                    ("yahoo.example", 1), ("outlook.example", 1), ("wanadoo.example", 1))
UK_EMAIL_DOMAINS = (("gmail.example", 6), ("hotmail.example", 2), ("outlook.example", 2),
                    ("btinternet.example", 2), ("icloud.example", 1), ("yahoo.example", 1),
                    ("sky.example", 1))
