"""Délais métier : une valeur par défaut dans les réglages, surchargeable par Département."""

from django.conf import settings


def get_delay(name, departement=None):
    """Renvoie le délai ``name`` pour le Département donné (Organisation), ou la valeur par défaut."""
    if name not in settings.PARCOURS_DELAYS:
        raise KeyError(f"Délai inconnu : {name}")
    overrides = getattr(departement, "delay_overrides", None) or {}
    return int(overrides.get(name, settings.PARCOURS_DELAYS[name]))
