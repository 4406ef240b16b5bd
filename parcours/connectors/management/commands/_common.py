"""Outils partagés des commandes des connecteurs."""

import datetime

from django.core.management.base import CommandError

from parcours.accounts.models import Organisation, OrganisationKind


def parse_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date « {value} » illisible (format attendu : AAAA-MM-JJ).") from None


def departement_from_code(code):
    """Le Département de code ``code`` ; le seul Département s'il n'y en a qu'un et qu'aucun code n'est donné."""
    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
    if code:
        departement = departements.filter(departement_code=code).first()
        if departement is None:
            raise CommandError(f"Département « {code} » inconnu.")
        return departement
    found = list(departements[:2])
    if len(found) == 1:
        return found[0]
    raise CommandError("Précisez le Département (--departement CODE).")
