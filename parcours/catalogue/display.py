"""Présentation en français de champs du schéma saisis en codes : zone d'éligibilité, horaires OpenStreetMap."""

import re

from . import referentiels as ref
from .models import Commune

_DAYS = {"Mo": "lun.", "Tu": "mar.", "We": "mer.", "Th": "jeu.", "Fr": "ven.", "Sa": "sam.", "Su": "dim."}
_DAY = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")


def zone_labels(codes):
    """« Ille-et-Vilaine (35) », « Redon (35236) », « France entière » : une requête pour les communes."""
    codes = [str(c) for c in codes or [] if c]
    communes = dict(
        Commune.objects.filter(code__in=[c for c in codes if len(c) == 5]).values_list("code", "nom")
    )
    labels = []
    for code in codes:
        if code in ref.FRANCE_CODES:
            labels.append("France entière")
        elif len(code) in (2, 3):
            labels.append(f"Département {code}")
        elif len(code) == 5:
            labels.append(f"{communes[code]} ({code})" if code in communes else f"Commune {code}")
        elif len(code) == 9:
            labels.append(f"Intercommunalité (SIREN {code})")
        else:
            labels.append(code)
    return labels


def opening_hours(value):
    """Horaires au format OpenStreetMap en français lisible : « Mo-Fr 08:30-12:30; PH off » devient
    « lun.-ven. 8 h 30 – 12 h 30 ; fermé les jours fériés ». Une valeur inattendue est rendue telle quelle."""
    if not value:
        return ""
    rules = []
    for rule in str(value).split(";"):
        rule = rule.strip()
        if not rule:
            continue
        if rule in {"PH off", "PH closed"}:
            rules.append("fermé les jours fériés")
            continue
        if rule == "24/7":
            rules.append("tous les jours, 24 h sur 24")
            continue
        text = _DAY.sub(lambda m: _DAYS[m.group(1)], rule)
        text = _TIME.sub(lambda m: f"{int(m.group(1))} h {m.group(2)}".replace(" h 00", " h"), text)
        text = re.sub(r"(\d h(?: \d{2})?)-(\d)", r"\1 – \2", text)
        text = re.sub(r"(\d h(?: \d{2})?),(\d)", r"\1 et \2", text)
        text = text.replace(",", ", ").replace(" off", " fermé")
        rules.append(text)
    return " ; ".join(rules)
