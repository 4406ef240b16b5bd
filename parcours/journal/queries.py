"""Lire la charge des événements dans une requête, par les clés déclarées (``payload.Payload``)."""

from django.db.models import CharField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from .payload import legacy_names


def payload_text(kind, key, prefix=""):
    """Expression SQL : la valeur (texte) de ``key`` dans la charge des événements de type ``kind``.

    ``kind`` : un type ou une suite de types (les anciens noms de la clé pour ces types sont lus en repli
    le temps de la bascule, voir ``payload.LEGACY_KEYS``). ``prefix`` : chemin de la relation vers
    l'événement (``"beneficiary__events__"``), vide pour lire ``Event`` directement.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    names = [key.name]
    for one in kinds:
        names.extend(old for old in legacy_names(one, key) if old not in names)
    expressions = [KeyTextTransform(name, f"{prefix}payload") for name in names]
    if len(expressions) == 1:
        return expressions[0]
    return Coalesce(*expressions, output_field=CharField())
