"""Badges DSFR des délais d'orientation (alerte visuelle quand la personne est en retard)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


def _days(n):
    return f"{n} jour{'s' if abs(n) > 1 else ''}"


@register.simple_tag
def deadline_badge(days_left_target, days_left_legal):
    """Un badge : délai légal dépassé (erreur), objectif de 15 jours dépassé (avertissement), bientôt
    (nouveau), dans les temps (information). Les jours restants comptent T0 comme jour 1."""
    if days_left_target is None:
        return mark_safe('<p class="fr-badge fr-badge--sm">Sans T0</p>')  # noqa: S308 (texte constant)
    if days_left_legal is not None and days_left_legal < 0:
        return format_html(
            '<p class="fr-badge fr-badge--sm fr-badge--error">Délai légal dépassé de {}</p>',
            _days(-days_left_legal),
        )
    if days_left_target < 0:
        return format_html(
            '<p class="fr-badge fr-badge--sm fr-badge--warning">Objectif dépassé de {} · légal : {}</p>',
            _days(-days_left_target),
            _days(days_left_legal),
        )
    if days_left_target == 0:
        return mark_safe('<p class="fr-badge fr-badge--sm fr-badge--new">Dernier jour</p>')  # noqa: S308 (texte constant)
    if days_left_target <= 3:
        return format_html(
            '<p class="fr-badge fr-badge--sm fr-badge--new">{} restant{}</p>',
            _days(days_left_target),
            "s" if days_left_target > 1 else "",
        )
    return format_html(
        '<p class="fr-badge fr-badge--sm fr-badge--info">{} restant{}</p>',
        _days(days_left_target),
        "s" if days_left_target > 1 else "",
    )


@register.filter
def france_travail_code(pathway):
    from parcours.orientation.models import FRANCE_TRAVAIL_CODES

    return FRANCE_TRAVAIL_CODES.get(pathway, "")


@register.filter
def pathway_label(pathway):
    from parcours.orientation.models import Pathway

    return Pathway(pathway).label if pathway in Pathway.values else ""


@register.simple_tag
def is_orientation_team(user):
    """Vrai si l'agent ouvre les files d'orientation et le traitement par lot (équipe d'orientation d'un
    Département) : les onglets de ces pages ne sont montrés qu'à lui."""
    from parcours.orientation.permissions import is_team

    return is_team(user)


@register.simple_tag
def is_departement_admin(user):
    """Vrai si l'agent administre un Département : l'onglet « Grille d'orientation » n'est montré qu'à lui."""
    from parcours.accounts.roles import DEPARTEMENT_ADMIN

    return DEPARTEMENT_ADMIN.allows(user)
