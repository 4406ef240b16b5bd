"""Filtres des gabarits du catalogue."""

from django import template

from parcours.catalogue.markdown import plain_excerpt, render_markdown

register = template.Library()


@register.filter
def markdown(text):
    """Présentation d'un service en Markdown, rendue sans HTML de la source (voir ``catalogue.markdown``)."""
    return render_markdown(text)


@register.filter
def excerpt(text, length=220):
    """Début de la présentation, en texte brut."""
    return plain_excerpt(text, int(length))


@register.filter
def reads_offer_map(user):
    """Vrai si l'agent ouvre la cartographie de l'offre financée (même déclaration que la page)."""
    from parcours.accounts.roles import OFFER_MAP_READER

    return OFFER_MAP_READER.allows(user)
