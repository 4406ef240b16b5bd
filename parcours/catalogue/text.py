"""Normalisation du texte pour la recherche plein texte en français, sans accents ni casse.

La colonne ``search_text`` des services est calculée avec ``normalize`` à chaque enregistrement ;
la requête de l'agent passe par ``query_terms`` : chaque terme doit être contenu dans la colonne
(``LIKE`` / ``ILIKE`` simple, identique sur SQLite et PostgreSQL).
"""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'"})

# Mots vides du français ignorés dans la requête (ils ne discriminent rien).
STOPWORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "mon",
        "ou",
        "par",
        "pour",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "un",
        "une",
        "vos",
        "votre",
    ]
)


def normalize(text):
    """Minuscules, sans accents ni ponctuation, espaces simples, bornée par des espaces."""
    if not text:
        return ""
    text = str(text).lower().translate(_LIGATURES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_WORD.sub(" ", text).strip()
    return f" {text} " if text else ""


# Abréviations courantes des noms de communes (« St-Malo », « Ste-Marie »).
_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def name_key(text):
    """Nom de commune comparable : sans accents, casse, traits d'union ni apostrophes ; « St » vaut « Saint »."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in normalize(text).split())


def _stem(word):
    # Pluriels simples : « ateliers » trouve « atelier », « chevaux » reste tel quel.
    if len(word) > 4 and word.endswith(("s", "x")):
        return word[:-1]
    return word


def query_terms(text):
    """Termes significatifs d'une requête, normalisés et réduits au singulier."""
    words = normalize(text).split()
    return [_stem(w) for w in words if w not in STOPWORDS]


def slug(text):
    """« Mission locale de Redon » → « mission-locale-de-redon » : minuscules ASCII sans accents, tirets entre
    les mots ; identifiants stables des structures de démonstration et des sources importées."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NON_WORD.sub("-", text).strip("-")
