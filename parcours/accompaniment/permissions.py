"""Qui peut lire, modifier, voir les données de santé du diagnostic et du contrat d'une personne.

Un seul mécanisme, appelé par les vues et les services :

- **lire** : la personne est dans le périmètre de l'agent (``Beneficiary.objects.visible_to(user)``) —
  vérifié par les vues, qui répondent 404 sinon ;
- **modifier** et **voir les données sensibles (santé)** : l'agent a, dans une organisation qui *suit* la
  personne, le rôle référent, chargé d'orientation ou administrateur. Suivent la personne : son
  Département (dans la limite du territoire de l'appartenance) — qui oriente et conduit le diagnostic —
  et toute organisation ayant un suivi en cours (``FollowUp`` non clos) ou clos par une sortie récente (suivi
  dans l'emploi, ``FollowUp.objects.following``). Le rôle « responsable (lecture
  seule) » ne modifie rien et ne voit pas la santé ; l'État ne voit rien de nominatif.
"""

from dataclasses import dataclass

from parcours.accounts.models import Membership, OrganisationKind, Role
from parcours.beneficiaries.models import FollowUp

EDIT_ROLES = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT})
SENSITIVE_ROLES = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT})


@dataclass(frozen=True)
class Access:
    can_edit: bool
    can_see_sensitive: bool
    organisation: object = None  # organisation au titre de laquelle l'agent agit (la première habilitée)


def covering_memberships(user, beneficiary):
    """Appartenances actives de l'agent dans une organisation qui suit la personne (deux requêtes)."""
    if not user.is_authenticated:
        return []
    memberships = list(Membership.objects.filter(user=user, is_active=True).select_related("organisation"))
    following = None
    covering = []
    for membership in memberships:
        org = membership.organisation
        if org.kind == OrganisationKind.DEPARTEMENT:
            if org.pk == beneficiary.departement_id and (
                not membership.territory_id or membership.territory_id == beneficiary.territory_id
            ):
                covering.append(membership)
        elif org.kind != OrganisationKind.ETAT:
            if following is None:
                following = {
                    m.organisation_id
                    for m in memberships
                    if FollowUp.objects.following(m.organisation).filter(beneficiary=beneficiary).exists()
                }
            if org.pk in following:
                covering.append(membership)
    return covering


def access_for(user, beneficiary):
    """Droits de l'agent sur le diagnostic et le contrat d'une personne qu'il voit déjà."""
    if user.is_superuser:
        return Access(can_edit=True, can_see_sensitive=True)
    covering = covering_memberships(user, beneficiary)
    editors = [m for m in covering if m.role in EDIT_ROLES]
    return Access(
        can_edit=bool(editors),
        can_see_sensitive=any(m.role in SENSITIVE_ROLES for m in covering),
        organisation=editors[0].organisation if editors else None,
    )


def is_departement_agent(user, beneficiary):
    """Étapes réservées au Département de la personne (avis de l'équipe, décision et notification d'une
    sanction) : rôle référent, chargé d'orientation ou administrateur au Département, dans son territoire."""
    if user.is_superuser:
        return True
    return any(
        m.role in EDIT_ROLES and m.organisation.kind == OrganisationKind.DEPARTEMENT
        for m in covering_memberships(user, beneficiary)
    )
