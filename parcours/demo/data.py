"""Données de référence du territoire de démonstration (sans dépendance à Django).

Les communes sont de vraies communes d'Ille-et-Vilaine (code INSEE, code postal) ; les personnes sont
entièrement fictives : noms et prénoms tirés de listes courtes, NIR calculés, adresses électroniques en
``example.org`` / ``example.com`` / ``example.net`` (domaines réservés) et téléphones dans les tranches
réservées à la fiction par l'ARCEP (06 39 98 xx xx, 02 61 91 xx xx).
"""

DEPARTEMENT_CODE = "35"
DEPARTEMENT_NAME = "Département de démonstration (Ille-et-Vilaine)"

# code, nom, communes (code INSEE, code postal, nom, poids dans la population)
TERRITORIES = [
    {
        "code": "REDON",
        "name": "Pays de Redon et Vallons de Vilaine",
        "communes": [
            ("35236", "35600", "Redon", 30),
            ("35013", "35600", "Bains-sur-Oust", 6),
            ("35237", "35660", "Renac", 2),
            ("35220", "35550", "Pipriac", 5),
            ("35327", "35550", "Sixt-sur-Aff", 2),
            ("35145", "35660", "Langon", 2),
            ("35176", "35480", "Guipry-Messac", 6),
            ("35124", "35390", "Grand-Fougeray", 3),
        ],
    },
    {
        "code": "STMALO",
        "name": "Pays de Saint-Malo et Côte d'Émeraude",
        "communes": [
            ("35288", "35400", "Saint-Malo", 40),
            ("35049", "35260", "Cancale", 5),
            ("35093", "35800", "Dinard", 7),
            ("35228", "35730", "Pleurtuit", 4),
            ("35241", "35780", "La Richardais", 2),
            ("35095", "35120", "Dol-de-Bretagne", 5),
            ("35085", "35270", "Combourg", 5),
            ("35299", "35350", "Saint-Méloir-des-Ondes", 2),
        ],
    },
]

# fmt: off
MALE_FIRST_NAMES = [
    "Thomas", "Nicolas", "Julien", "Kevin", "Maxime", "Anthony", "Alexandre", "Romain", "Sébastien",
    "Mickaël", "Jérôme", "Yann", "Erwan", "Gwenaël", "Loïc", "Ronan", "Mathieu", "David", "Stéphane",
    "Cédric", "Florian", "Jonathan", "Dylan", "Mohamed", "Karim", "Mamadou", "Moussa", "Youssef", "Ahmed",
    "Pascal", "Frédéric", "Christophe", "Laurent", "Olivier", "Franck", "Hervé", "Gaël", "Tristan",
    "Benoît", "Antoine", "Hugo", "Lucas", "Enzo", "Théo", "Jordan", "Ludovic", "Mehdi", "Samir",
]
FEMALE_FIRST_NAMES = [
    "Marie", "Nathalie", "Isabelle", "Sandrine", "Stéphanie", "Céline", "Aurélie", "Émilie", "Julie",
    "Laëtitia", "Audrey", "Élodie", "Sophie", "Virginie", "Morgane", "Gwenaëlle", "Maëlle", "Nolwenn",
    "Anaïs", "Camille", "Manon", "Laura", "Chloé", "Mélanie", "Jessica", "Amandine", "Caroline", "Fatima",
    "Aïcha", "Khadija", "Fatoumata", "Mariama", "Samira", "Nadia", "Sylvie", "Valérie", "Christelle",
    "Karine", "Hélène", "Agnès", "Bérénice", "Océane", "Justine", "Pauline", "Lucie", "Léa", "Sarah",
]
LAST_NAMES = [
    "Le Goff", "Le Gall", "Le Roux", "Le Bihan", "Le Corre", "Le Guen", "Le Floch", "Le Moal", "Guillou",
    "Morvan", "Tanguy", "Hamon", "Jégou", "Riou", "Kerbrat", "Quéré", "Cadiou", "Gicquel", "Lebreton",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
    "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
    "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly",
    "Gautier", "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Pérez", "Marchand",
    "Dufour", "Blanchard", "Benali", "Diallo", "Traoré", "Haddad", "Mansouri", "Da Silva", "Pereira",
    "Ferreira", "Rodrigues", "Aubry", "Pichon", "Briand", "Lemoine", "Renault", "Collet", "Gilbert",
]
STREET_KINDS = ["rue", "rue", "rue", "avenue", "allée", "impasse", "place", "boulevard", "chemin", "résidence"]
STREET_NAMES = [
    "de la Gare", "des Lilas", "Jean Jaurès", "Victor Hugo", "du Port", "de Bretagne", "des Douves",
    "Saint-Michel", "de la Libération", "du Général de Gaulle", "des Écoles", "de l'Église", "du Moulin",
    "des Mimosas", "de la Vilaine", "du Canal", "Anne de Bretagne", "des Tilleuls", "Pasteur",
    "Jules Ferry", "de la Mairie", "du Stade", "des Goélands", "de la Corderie", "Surcouf",
    "Duguay-Trouin", "des Hortensias", "de Verdun", "du 8 Mai 1945", "Paul Bert", "des Ajoncs",
    "de la Paix", "des Marronniers", "Louise Michel", "du Clos Saint-Jean", "de Saint-Malo",
]
# fmt: on
EMAIL_DOMAINS = ["example.org", "example.com", "example.net"]

# Lieux de naissance pour le NIR : (département ou « 99 » pour l'étranger, codes commune/pays, poids).
BIRTH_PLACES = [
    ("35", ["238", "236", "288", "115", "360", "093", "049", "085", "013", "176"], 44),
    ("44", ["109", "184", "143", "036"], 8),
    ("56", ["260", "121", "178", "060"], 8),
    ("22", ["278", "113", "093"], 6),
    ("29", ["019", "232"], 4),
    ("75", ["111", "112", "113", "114", "115", "118", "119", "120"], 6),
    ("93", ["066", "008", "048"], 3),
    ("49", ["007", "099"], 3),
    ("99", ["350", "352", "351", "139", "341", "109", "134", "127"], 18),
]
