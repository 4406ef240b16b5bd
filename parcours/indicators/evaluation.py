"""Extraction pseudonymisée pour l'évaluation (une ligne par entrée dans le RSA de la période).

Ni nom, ni NIR, ni identifiant, ni coordonnées, ni commune : un pseudonyme (HMAC-SHA256 de l'identifiant
interne avec une clé), le sexe et l'année de naissance, le territoire, et les dates des étapes du parcours
(celles que lisent les indicateurs). Sans clé fournie, une clé aléatoire est tirée pour chaque extraction :
deux extractions ne se relient pas entre elles. Une clé fixe (``PARCOURS_EVALUATION_KEY``, à conserver
hors de Parcours) permet un suivi longitudinal par l'évaluateur.
"""

import csv
import hashlib
import hmac
import secrets

from django.conf import settings

from parcours.accounts.models import Territory
from parcours.beneficiaries.models import Beneficiary

from .definitions import new_entrant_cohort

COLUMNS = [
    "pseudonyme",
    "sexe",
    "annee_naissance",
    "territoire",
    "date_t0",
    "date_ouverture_droit",
    "date_premier_rdv",
    "date_orientation",
    "parcours",
    "delai_orientation_jours",
    "date_referent",
    "date_contrat",
]


def evaluation_key(explicit=None):
    key = explicit or getattr(settings, "PARCOURS_EVALUATION_KEY", "") or secrets.token_hex(32)
    return key.encode() if isinstance(key, str) else key


def pseudonym(key, beneficiary_id):
    return hmac.new(key, f"parcours:{beneficiary_id}".encode(), hashlib.sha256).hexdigest()[:20]


def _sex(person):
    if person.nir and person.nir[0] in "12":
        return {"1": "H", "2": "F"}[person.nir[0]]
    return {"M": "H", "MME": "F"}.get(person.civility, "")


def evaluation_rows(scope, start, end, *, key):
    """Les lignes pseudonymisées (listes dans l'ordre de ``COLUMNS``), en-tête non compris."""
    entries = new_entrant_cohort(scope, start, end)
    people = {
        p.pk: p
        for p in Beneficiary.objects.filter(pk__in={e.beneficiary_id for e in entries}).only(
            "pk", "nir", "civility", "birth_date"
        )
    }
    territories = dict(Territory.objects.values_list("pk", "code"))

    def day(value):
        return value.isoformat() if value else ""

    for entry in sorted(entries, key=lambda e: (e.t0, pseudonym(key, e.beneficiary_id))):
        person = people.get(entry.beneficiary_id)
        yield [
            pseudonym(key, entry.beneficiary_id),
            _sex(person) if person else "",
            person.birth_date.year if person and person.birth_date else "",
            territories.get(entry.territory_id, ""),
            day(entry.t0),
            day(entry.right_opened_on),
            day(entry.first_appointment_on),
            day(entry.oriented_on),
            entry.pathway or "",
            entry.orientation_days if entry.orientation_days is not None else "",
            day(entry.referent_on),
            day(entry.contract_on),
        ]


def write_evaluation_csv(handle, scope, start, end, *, key):
    writer = csv.writer(handle, delimiter=";")
    writer.writerow(COLUMNS)
    count = 0
    for row in evaluation_rows(scope, start, end, key=key):
        writer.writerow(row)
        count += 1
    return count
