"""Composition du foyer allocataire, telle que la disent les flux CAF/MSA, datée et historisée.

Le flux XML CNAF (vrsb0801) décrit chaque personne du foyer avec son rôle (``ROLEPERS`` : DEM demandeur, CJT
conjoint, ENF enfant, AUT autre personne) et le nombre d'enfants et autres personnes à charge du foyer
(``NBENFAUTCHA``) ; le fichier canonique le dit par deux colonnes facultatives (``nombre_enfants``,
``nombre_personnes_a_charge``, voir ``docs/import-flux.md``). L'import (``intake.staging``) écrit une
``HouseholdComposition`` datée par la date de référence du flux **seulement quand la composition change** ; ce
module porte les règles (taille du foyer, parent isolé, plafond des sanctions) et la lecture à une date.

Les règles sont écrites ici une fois, sur des nombres : le modèle (``HouseholdComposition``) et la fiche les lisent.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from parcours.core.text import plural

ADULT_ROLES = ("DEM", "CJT")


def household_size(adults, children, others, dependants):
    """Nombre de personnes du foyer : les adultes (demandeur, conjoint) et les personnes à charge.

    Les personnes à charge sont les enfants (rôle ENF) et les autres personnes (AUT) décrites par le flux, ou
    le nombre d'enfants et autres personnes à charge du foyer (``NBENFAUTCHA``) s'il est plus grand (un flux
    peut ne pas décrire chaque enfant)."""
    return (adults or 0) + max((children or 0) + (others or 0), dependants or 0)


def is_single_parent(adults, partner, children):
    """Parent isolé : un seul adulte (le demandeur, sans conjoint) avec au moins un enfant à charge."""
    return adults == 1 and not partner and (children or 0) > 0


def is_capped(adults, partner, children, others, dependants):
    """Foyer dont la suspension est plafonnée (CASF L262-37, R262-68 ; réglage ``sanction_household_cap_percent``) :
    foyer de plus d'une personne — les enfants et autres personnes à charge comptent, pas seulement les adultes —
    ou parent isolé."""
    return household_size(adults, children, others, dependants) > 1 or is_single_parent(
        adults, partner, children
    )


@dataclass(frozen=True)
class HouseholdView:
    """Ce que la fiche et la procédure de sanction lisent du foyer d'une personne à une date."""

    composition: object  # HouseholdComposition en vigueur à la date, ou None (aucune composition connue)
    members: int  # personnes du foyer connues de Parcours (repli sans composition)
    on: datetime.date

    @property
    def known(self):
        return self.composition is not None

    @property
    def capped(self):
        """Plafond de la suspension : selon la composition du flux ; sans composition connue, selon les personnes
        du foyer connues de Parcours (demandeur, conjoint, enfants importés)."""
        if self.composition is not None:
            return self.composition.capped
        return self.members > 1

    @property
    def summary(self):
        if self.composition is not None:
            return self.composition.summary
        if self.members > 1:
            return f"{plural(self.members, 'personne connue', 'personnes connues')} dans le foyer (composition non transmise par le flux)"
        return "composition non transmise par le flux"


def composition_on(household_id, on=None):
    """La composition du foyer en vigueur à la date ``on`` (aujourd'hui par défaut) : celle du dernier flux dont la
    date de référence ne la dépasse pas ; ``None`` si aucun flux n'en a dit la composition à cette date."""
    from .models import HouseholdComposition

    if not household_id:
        return None
    on = on or timezone.localdate()
    return (
        HouseholdComposition.objects.filter(household_id=household_id, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


def history(household_id, limit=12):
    """Les compositions successives du foyer, la plus récente d'abord (une ligne par changement)."""
    from .models import HouseholdComposition

    if not household_id:
        return []
    return list(
        HouseholdComposition.objects.filter(household_id=household_id).order_by("-valid_from")[:limit]
    )


def household_of(beneficiary, on=None):
    """Le foyer de la personne à la date ``on`` : sa composition selon les flux, et à défaut le nombre de
    personnes du foyer connues de Parcours (une requête de plus seulement sans composition)."""
    from .models import Beneficiary

    on = on or timezone.localdate()
    composition = composition_on(beneficiary.household_id, on)
    members = 1
    if composition is None and beneficiary.household_id:
        members = Beneficiary.objects.filter(household_id=beneficiary.household_id).count()
    return HouseholdView(composition=composition, members=members, on=on)


def household_capped(beneficiary, on=None):
    """Vrai si une suspension du RSA de la personne est plafonnée à la date ``on`` (voir ``is_capped``)."""
    return household_of(beneficiary, on).capped
