"""Aides communes aux commandes ``parcours …`` (arguments en ligne de commande)."""

import argparse
import datetime


def iso_date(value):
    """Type d'argument : une date AAAA-MM-JJ (message d'erreur en français, nommant la valeur)."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"date « {value} » invalide : format attendu AAAA-MM-JJ") from exc


def departement_from_code(code, *, required=False):
    """Le Département de code ``code`` ; sans code : ``None``, ou, si ``required``, le seul Département de
    la base (erreur s'il y en a plusieurs). Erreur de commande, en français, pour un code inconnu."""
    from django.core.management.base import CommandError

    from parcours.accounts.models import Organisation, OrganisationKind

    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
    if code:
        departement = departements.filter(departement_code=code).first()
        if departement is None:
            raise CommandError(f"Département « {code} » inconnu.")
        return departement
    if not required:
        return None
    found = list(departements[:2])
    if len(found) == 1:
        return found[0]
    raise CommandError("Précisez le Département (--departement CODE).")
