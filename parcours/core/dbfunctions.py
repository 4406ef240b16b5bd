"""Fonctions SQL propres à Parcours, les mêmes sur PostgreSQL et SQLite.

``parcours_fold(texte)`` : le texte en minuscules, sans accents ni ligatures, traits d'union et apostrophes
changés en espaces (« Lefèvre » → « lefevre », « Œuvre » → « oeuvre », « Jean-Pierre » → « jean pierre »). Sur PostgreSQL c'est une fonction SQL créée par une migration
(``lower(unaccent(…))``, déclarée IMMUTABLE pour servir un index d'expression) ; sur SQLite la même
fonction est déclarée en Python à chaque connexion (signal ``connection_created``), si bien qu'une même
expression de l'ORM marche sur les deux bases. ``fold`` est la version Python, appliquée au texte saisi.
"""

import unicodedata

FOLD_FUNCTION = "parcours_fold"

# Ce que unaccent remplace sans que la décomposition Unicode le fasse (ligatures, lettres barrées), et les
# séparateurs de mots changés en espaces (traits d'union, apostrophes).
_SPECIAL = str.maketrans(
    {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "’": " ", "‘": " ", "'": " ", "-": " ", "ı": "i"}
    | {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d"}
)


def fold(text):
    """Minuscules, sans accents ni ligatures, mots séparés par des espaces : ce que ``parcours_fold`` fait
    en base."""
    if text is None:
        return None
    text = unicodedata.normalize("NFKD", str(text).translate(_SPECIAL))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def register_sqlite_functions(sender, connection, **kwargs):
    """Signal ``connection_created`` : déclare ``parcours_fold`` sur les connexions SQLite."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)
