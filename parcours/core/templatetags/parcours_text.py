"""Filtres de texte en français (voir ``parcours.core.text``)."""

from django import template

from parcours.core.text import plural_form

register = template.Library()


@register.filter
def accord(count, forms):
    """``{{ n|accord:"ligne lue,lignes lues" }}`` → « ligne lue » pour 0 ou 1, « lignes lues » au-delà ; une
    seule forme (``"revue"``) : le pluriel ajoute un « s ». Le nombre lui-même n'est pas écrit."""
    singular, _comma, plural = str(forms).partition(",")
    return plural_form(_as_number(count), singular, plural or None)


def _as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0
