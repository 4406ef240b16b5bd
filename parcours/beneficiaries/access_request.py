"""Droit d'accès (RGPD, article 15) : toutes les données qu'enregistre Parcours sur une personne.

Le parcours est générique : la fiche, puis chaque objet qui désigne la personne (clé étrangère vers
``Beneficiary``, dans toutes les applications) et les objets qui en dépendent directement (étapes d'une
procédure, actions d'un contrat…). Une application qui ajoute un modèle lié à la personne est donc
couverte sans rien changer ici. Le NIR figure en clair : c'est la personne elle-même qui le reçoit.
"""

import datetime
import decimal
import uuid

from django.db import models
from django.utils import timezone

from .models import Beneficiary

SKIPPED_FIELDS = {"password"}


def _value(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    return value


def _record(obj):
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name in SKIPPED_FIELDS:
            continue
        if field.is_relation:
            related = getattr(obj, field.name, None)
            data[field.name] = str(related) if related is not None else None
            continue
        value = getattr(obj, field.attname)
        if field.choices and value not in (None, ""):
            data[field.name] = {
                "code": _value(value),
                "libellé": str(getattr(obj, f"get_{field.name}_display")()),
            }
        else:
            data[field.name] = _value(value)
    return data


def _children(obj, depth):
    sections = {}
    for relation in obj._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one) or relation.related_model is Beneficiary:
            continue
        accessor = relation.get_accessor_name()
        if relation.one_to_one:
            child = getattr(obj, accessor, None) if hasattr(obj, accessor) else None
            items = [child] if child is not None else []
        else:
            items = list(getattr(obj, accessor).all())
        if not items:
            continue
        label = str(relation.related_model._meta.verbose_name_plural)
        entries = []
        for item in items:
            entry = _record(item)
            if depth > 0:
                entry.update(_children(item, depth - 1))
            entries.append(entry)
        sections[label] = entries
    return sections


def export_person_data(beneficiary):
    """Un dictionnaire sérialisable en JSON : la fiche et, par rubrique, tout ce qui s'y rattache."""
    return {
        "produit_le": timezone.now().isoformat(),
        "responsable_de_traitement": str(beneficiary.departement),
        "personne": _record(beneficiary),
        "foyer": _record(beneficiary.household) if beneficiary.household_id else None,
        **_children(beneficiary, depth=1),
    }
