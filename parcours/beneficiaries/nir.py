"""Numéro d'inscription au répertoire (NIR) : normalisation et contrôle de la clé."""

import re


class NirError(ValueError):
    pass


_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")


def _body_as_int(body):
    # Corse : 2A et 2B sont remplacés par 19 et 18 pour le calcul de la clé.
    return int(body.replace("2A", "19").replace("2B", "18"))


def compute_key(body13):
    return 97 - (_body_as_int(body13) % 97)


def normalize_nir(value):
    """Renvoie le NIR sur 15 caractères (13 + clé), ou None si vide.

    Accepte 13 caractères (la clé est calculée) ou 15 (la clé est vérifiée), avec espaces, points ou
    tirets, et les nombres abîmés par un tableur (1803331476872.0). Lève NirError avec un message en
    français si le numéro est invalide.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        value = f"{value:.0f}"
    elif isinstance(value, int):
        value = str(value)
    raw = str(value).strip().upper()
    if not raw:
        return None
    if _SCIENTIFIC.match(raw):
        raise NirError(
            "NIR en notation scientifique (abîmé par un tableur) : les derniers chiffres sont perdus, "
            "formatez la colonne en texte"
        )
    if raw.endswith(".0"):
        raw = raw[:-2]
    compact = re.sub(r"[\s.\-_/]", "", raw)
    if not re.fullmatch(r"[1-478]\d{4}(?:\d{2}|2A|2B)\d{6}(?:\d{2})?", compact):
        raise NirError(f"NIR « {raw} » invalide : 13 chiffres attendus (15 avec la clé)")
    body = compact[:13]
    key = compute_key(body)
    if len(compact) == 15:
        given = int(compact[13:])
        if given != key:
            raise NirError(f"clé du NIR incorrecte : {given:02d} au lieu de {key:02d}")
    return f"{body}{key:02d}"


def format_nir(nir):
    """Affichage lisible : 1 80 03 33 147 687 72."""
    if not nir or len(nir) != 15:
        return nir or ""
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def mask_nir(nir):
    if not nir:
        return ""
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} •• ••• ••• {nir[13:]}"
