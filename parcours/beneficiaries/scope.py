"""Qui couvre une personne : la règle du périmètre, écrite une fois.

Couvrent une personne :
- son Département, dans la limite du territoire de l'appartenance de l'agent ;
- toute organisation partenaire (ni Département, ni État) qui la *suit* : suivi en cours ou clos par une
  sortie récente (``FollowUp.objects.following_any``).

L'État ne couvre personne (il compte, ``countable_by``, sans voir). Les ensembles de rôles sont dans
``parcours.accounts.roles`` ; l'accompagnement, l'orientation et le catalogue filtrent les appartenances
couvrantes par leurs rôles.
"""

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import memberships_of

from .models import FollowUp, scope_parts


def covers_as_departement(membership, beneficiary):
    """L'appartenance est au Département de la personne, et son territoire (s'il y en a un) est le sien."""
    return (
        membership.organisation.kind == OrganisationKind.DEPARTEMENT
        and membership.organisation_id == beneficiary.departement_id
        and (not membership.territory_id or membership.territory_id == beneficiary.territory_id)
    )


def is_partner(organisation):
    return organisation.kind not in (OrganisationKind.DEPARTEMENT, OrganisationKind.ETAT)


def following_organisations(beneficiary, organisations, on=None):
    """Identifiants, parmi ``organisations`` (partenaires), de celles qui suivent la personne (une requête)."""
    partners = {o.pk: o for o in organisations if is_partner(o)}
    if not partners:
        return set()
    return set(
        FollowUp.objects.following_any(partners.values(), on=on)
        .filter(beneficiary_id=beneficiary.pk)
        .values_list("organisation_id", flat=True)
    )


def covering_memberships(user, beneficiary):
    """Appartenances actives de l'agent dans une organisation qui couvre la personne (appartenances gardées
    pour la requête ; une requête au plus pour les suivis, quel que soit le nombre d'organisations)."""
    memberships = memberships_of(user)
    following = following_organisations(beneficiary, [m.organisation for m in memberships])
    return [m for m in memberships if covers_as_departement(m, beneficiary) or m.organisation_id in following]


def followed_only(user):
    """Les organisations partenaires de l'agent quand son périmètre (``visible_to``) n'est fait que de leurs
    suivis — aucune appartenance à un Département (l'État ne voit personne, le délégué à la protection des
    données aucun dossier) : ses totaux se lisent alors depuis la table des suivis, par l'index des suivis de
    l'organisation, au lieu de parcourir les personnes pour trouver celles qui sont suivies. ``None`` sinon
    (super-utilisateur, Département, aucune organisation partenaire)."""
    if not user.is_authenticated or user.is_superuser:
        return None
    conditions, partners = scope_parts(user)
    return None if conditions else (partners or None)
