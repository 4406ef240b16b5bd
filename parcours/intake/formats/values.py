"""Lecture des valeurs des fichiers de flux : dates, téléphones, e-mails, civilités, rôles, booléens, codes.

Chaque fonction ``parse_*`` reçoit la valeur brute d'une cellule (texte d'un CSV, ou nombre, date,
``datetime`` d'un classeur Excel) et renvoie la valeur normalisée, ``None`` pour une cellule vide, ou
lève ``ValueError`` avec un message en français destiné à l'agent (sans le numéro de ligne, ajouté par
le lecteur) ::

    >>> parse_phone("0601234567, 071234567")
    '0601234567'
    >>> parse_phone(620022002)
    '0620022002'
    >>> parse_date("22-04-1997")
    datetime.date(1997, 4, 22)
    >>> parse_role("conjoint")
    'CJT'
"""

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

from parcours.beneficiaries.nir import normalize_nir

__all__ = [
    "clean_text",
    "normalize_header",
    "parse_bool",
    "parse_civility",
    "parse_date",
    "parse_email",
    "parse_insee_code",
    "parse_nir",
    "parse_organism",
    "parse_phone",
    "parse_postal_city",
    "parse_postal_code",
    "parse_right_state",
    "parse_role",
]

# ---------------------------------------------------------------------------------------------------
# Texte


def _strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_header(text):
    """Forme comparable d'un en-tête : minuscules, sans accents, ponctuation, retours à la ligne,
    tabulations ni espaces répétés. ``"N°\\nTéléphones"`` → ``"n telephones"``,
    ``"date_naissance"`` → ``"date naissance"``, ``"Nom*"`` → ``"nom"``."""
    if text is None:
        return ""
    text = _strip_accents(str(text)).lower()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()


@lru_cache(maxsize=4096)
def normalize_word(text):
    """Forme comparable d'une valeur courte (rôle, civilité, état) : comme un en-tête, sans espaces."""
    return normalize_header(text).replace(" ", "")


def _number_as_text(value):
    """Un nombre venu d'un tableur : 8383.0 → "8383" (jamais de notation scientifique)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return f"{value:.0f}"
        return repr(value)
    return None


def clean_text(value):
    """Texte d'une cellule, espaces superflus retirés ; ``None`` si la cellule est vide."""
    if value is None:
        return None
    if isinstance(value, str):
        return " ".join(value.split()) or None
    as_number = _number_as_text(value)
    if as_number is not None:
        text = as_number
    elif isinstance(value, datetime):
        text = value.strftime("%d/%m/%Y") if value.time() == datetime.min.time() else value.isoformat(" ")
    elif isinstance(value, date):
        text = value.strftime("%d/%m/%Y")
    else:
        text = str(value)
    text = " ".join(text.split())
    return text or None


def _is_empty(value):
    return clean_text(value) is None


# ---------------------------------------------------------------------------------------------------
# Dates

_DATE_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE_DAY_FIRST_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) \d{1,2}:\d{2}(?::\d{2})?$")
_EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMATS_LABEL = "JJ/MM/AAAA, JJ-MM-AAAA ou AAAA-MM-JJ"


def parse_date(value, *, excel_serial=False):
    """Date d'une cellule : objet ``date``/``datetime`` (classeur), ``JJ/MM/AAAA``, ``JJ-MM-AAAA``,
    ``JJ.MM.AAAA`` ou ISO ``AAAA-MM-JJ`` (avec ou sans heure). Avec ``excel_serial``, un nombre entier
    est lu comme un numéro de série Excel (jours depuis le 30/12/1899)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if (
        excel_serial
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and 1 <= value < 2958466
    ):
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = clean_text(value)
    if text is None:
        return None
    match = _DATE_DAY_FIRST.match(text) or _DATE_DAY_FIRST_TIME.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _DATE_ISO.match(text)
        if not match:
            raise ValueError(f"date « {text} » illisible (format attendu : {DATE_FORMATS_LABEL})")
        year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"date « {text} » impossible (jour ou mois hors calendrier)") from None


def check_birth_date(birth_date, today=None):
    """Lève ValueError si la date de naissance est dans le futur ou avant 1900."""
    if birth_date is None:
        return None
    today = today or date.today()
    if birth_date > today:
        raise ValueError(f"date de naissance {birth_date:%d/%m/%Y} dans le futur")
    if birth_date.year < 1900:
        raise ValueError(f"date de naissance {birth_date:%d/%m/%Y} antérieure à 1900")
    return birth_date


# ---------------------------------------------------------------------------------------------------
# Téléphone et e-mail

_PHONE_SPLIT = re.compile(r"[,;/|\n]+|\s+(?:ou|et)\s+", re.IGNORECASE)
_PHONE_NOISE = re.compile(r"[\s.\-()\u00a0]+")


def _phone_candidate(text):
    as_number = _number_as_text(text)
    raw = as_number if as_number is not None else str(text)
    compact = _PHONE_NOISE.sub("", raw)
    if compact.startswith("+33"):
        compact = "0" + compact[3:]
    elif compact.startswith("0033"):
        compact = "0" + compact[4:]
    if compact.startswith("+"):
        digits = compact[1:]
        if digits.isdigit() and 8 <= len(digits) <= 15:
            return compact
        return None
    if not compact.isdigit():
        return None
    if compact.startswith("00") and 10 <= len(compact) <= 17:
        return "+" + compact[2:]
    if len(compact) == 9 and compact[0] != "0":
        compact = "0" + compact  # zéro de tête perdu par un tableur : 698943255 → 0698943255
    if len(compact) == 10 and compact[0] == "0" and compact[1] != "0":
        return compact
    return None


def parse_phone(value):
    """Premier numéro valide de la cellule, au format ``0612345678`` (ou ``+32…`` à l'étranger).

    ``"0601234567, 071234567"`` → ``"0601234567"`` ; ``620022002`` (nombre Excel) → ``"0620022002"`` ;
    ``"+33 6 12 34 56 78"`` → ``"0612345678"``. Aucun numéro valide : ValueError."""
    if _is_empty(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        candidates = [value]
    else:
        candidates = [part for part in _PHONE_SPLIT.split(str(value)) if part.strip()]
    for candidate in candidates:
        phone = _phone_candidate(candidate)
        if phone:
            return phone
    raise ValueError(f"numéro de téléphone « {clean_text(value)} » invalide (10 chiffres attendus)")


_EMAIL_SPLIT = re.compile(r"[,;\s]+")
# Partie locale ASCII (RFC 5322 sans guillemets), domaine à au moins deux étiquettes, extension alphabétique.
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def parse_email(value):
    """Première adresse e-mail valide de la cellule, en minuscules. Aucune adresse valide : ValueError."""
    text = clean_text(value)
    if text is None:
        return None
    for candidate in _EMAIL_SPLIT.split(text):
        candidate = candidate.strip().strip("<>").lower()
        if candidate.startswith("mailto:"):
            candidate = candidate[len("mailto:") :]
        if candidate and len(candidate) <= 254 and _EMAIL.match(candidate):
            return candidate
    raise ValueError(f"adresse e-mail « {text} » invalide")


# ---------------------------------------------------------------------------------------------------
# Codes : civilité, rôle, organisme, état du droit, booléens

_CIVILITIES = {
    "m": "M",
    "mr": "M",
    "monsieur": "M",
    "mrs": "MME",
    "h": "M",
    "homme": "M",
    "masculin": "M",
    "mme": "MME",
    "madame": "MME",
    "mlle": "MME",
    "melle": "MME",
    "mademoiselle": "MME",
    "f": "MME",
    "femme": "MME",
    "feminin": "MME",
}


def parse_civility(value):
    """``M`` ou ``MME`` : Monsieur, M., MR, Madame, Mme, MME, Mademoiselle… Inconnue : ValueError."""
    text = clean_text(value)
    if text is None:
        return None
    civility = _CIVILITIES.get(normalize_word(text))
    if civility is None:
        raise ValueError(f"civilité « {text} » non reconnue (attendu : Monsieur ou Madame)")
    return civility


_ROLES = {
    "dem": "DEM",
    "demandeur": "DEM",
    "demandeuse": "DEM",
    "allocataire": "DEM",
    "cjt": "CJT",
    "conjoint": "CJT",
    "conjointe": "CJT",
    "enf": "ENF",
    "enfant": "ENF",
    "aut": "AUT",
    "autre": "AUT",
    "autrepersonne": "AUT",
}


def parse_role(value):
    """Rôle dans le foyer : ``DEM``, ``CJT``, ``ENF`` ou ``AUT`` (dem, demandeur, DEMANDEUR, conjoint…)."""
    text = clean_text(value)
    if text is None:
        return None
    role = _ROLES.get(normalize_word(text))
    if role is None:
        raise ValueError(f"rôle « {text} » non reconnu (attendu : DEM/demandeur ou CJT/conjoint)")
    return role


def parse_organism(value):
    """``CAF`` ou ``MSA``."""
    text = clean_text(value)
    if text is None:
        return None
    organism = text.upper()
    if organism not in ("CAF", "MSA"):
        raise ValueError(f"organisme « {text} » inconnu (attendu : CAF ou MSA)")
    return organism


# ETATDOSRSA : code CNAF, ou libellé du modèle d'import de Carnet de bord (caf_etatdosrsa_codes.csv).
_RIGHT_STATES = {
    "rsademandeenattente": "0",
    "rsarefuse": "1",
    "rsadroitouvertversable": "2",
    "rsadroitouvertetsuspendu": "3",
    "rsadroitouvertversementsuspendu": "4",
    "rsaclos": "5",
    "rsaclosanterieur": "6",
    "nouvelledemandeenattentededecisioncgpourouverturedudroit": "0",
    "droitrefuse": "1",
    "droitouvertetversable": "2",
    "droitouvertetsuspendu": "3",
    "droitouvertmaisversementsuspendu": "4",
    "droitclos": "5",
}


def parse_right_state(value):
    """État du droit ETATDOSRSA ``"0"`` à ``"6"`` ; accepte aussi ``rsa_droit_ouvert_versable``…"""
    text = clean_text(value)
    if text is None:
        return None
    if text in {"0", "1", "2", "3", "4", "5", "6"}:
        return text
    state = _RIGHT_STATES.get(normalize_word(text))
    if state is None:
        raise ValueError(f"état du droit « {text} » inconnu (attendu : un code de 0 à 6)")
    return state


_TRUE = {"1", "oui", "o", "vrai", "true", "yes", "y", "x"}
_FALSE = {"0", "non", "n", "faux", "false", "no"}


def parse_bool(value, *, strict=False):
    """Booléen : ``1``/``0`` ; sans ``strict`` aussi oui/non, vrai/faux. Autre valeur : ValueError."""
    text = clean_text(value)
    if text is None:
        return None
    if strict:
        if text in ("0", "1"):
            return text == "1"
        raise ValueError(f"valeur « {text} » invalide (attendu : 0 ou 1)")
    word = normalize_word(text)
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"valeur « {text} » invalide (attendu : 1/0 ou oui/non)")


MAX_COUNT = 99  # NBENFAUTCHA : deux chiffres dans le schéma vrsb0801


def parse_count(value):
    """Nombre de personnes du foyer (enfants, personnes à charge) : entier de 0 à 99 ; ``"2.0"`` d'un tableur
    est accepté. Autre valeur : ValueError."""
    text = clean_text(value)
    if text is None:
        return None
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or int(text) > MAX_COUNT:
        raise ValueError(f"nombre « {text} » invalide (attendu : un entier de 0 à {MAX_COUNT})")
    return int(text)


# ---------------------------------------------------------------------------------------------------
# Identifiants et adresse


def parse_nir(value):
    """NIR normalisé sur 15 caractères (clé calculée pour 13 chiffres, vérifiée pour 15)."""
    if _is_empty(value):
        return None
    return normalize_nir(value)


def parse_identifier(value):
    """Identifiant (matricule, identifiant Département ou France Travail) : ``8383.0`` → ``"8383"``."""
    text = clean_text(value)
    return text.replace(" ", "") if text and len(text) <= 40 else text


def parse_postal_code(value):
    """Code postal sur 5 chiffres ; un nombre Excel perd le zéro de tête (1000 → ``"01000"``)."""
    text = clean_text(value)
    if text is None:
        return None
    compact = text.replace(" ", "")
    if compact.isdigit() and len(compact) == 4:
        compact = "0" + compact
    if not re.fullmatch(r"\d{5}", compact):
        raise ValueError(f"code postal « {text} » invalide (5 chiffres attendus)")
    return compact


def parse_insee_code(value):
    """Code commune INSEE sur 5 caractères (2A/2B pour la Corse)."""
    text = clean_text(value)
    if text is None:
        return None
    compact = text.replace(" ", "").upper()
    if compact.isdigit() and len(compact) == 4:
        compact = "0" + compact
    if not re.fullmatch(r"(?:\d{2}|2A|2B)\d{3}", compact):
        raise ValueError(f"code INSEE « {text} » invalide (5 caractères attendus)")
    return compact


_POSTAL_CITY = re.compile(r"^(\d{4,5}|\d{2} \d{3})\b[\s,\-]*(.*)$")
_CITY_POSTAL = re.compile(r"^(.*?)[\s,\-]*\(?(\d{5})\)?$")


def parse_postal_city(value):
    """Sépare une cellule « CP Ville » : ``"26000 Valence"`` → ``("26000", "Valence")``.

    Un code postal seul donne ``(code, None)``, une ville seule ``(None, ville)`` ;
    « Valence 26000 » est aussi compris."""
    text = clean_text(value)
    if text is None:
        return None, None
    if _number_as_text(value) is not None:
        return parse_postal_code(value), None
    match = _POSTAL_CITY.match(text)
    if match:
        return parse_postal_code(match.group(1)), (match.group(2).strip() or None)
    match = _CITY_POSTAL.match(text)
    if match and match.group(1).strip():
        return match.group(2), match.group(1).strip()
    if re.search(r"\d", text):
        raise ValueError(f"« {text} » : code postal et ville illisibles (attendu : « 26000 Valence »)")
    return None, text
