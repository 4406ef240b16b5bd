"""Qui peut lire, modifier, voir les données de santé du diagnostic et du contrat d'une personne.

Un seul mécanisme, appelé par les vues et les services :

- **lire** : la personne est dans le périmètre de l'agent (``Beneficiary.objects.visible_to(user)``) —
  vérifié par les vues, qui répondent 404 sinon ;
- **modifier** et **voir les données sensibles (santé)** : l'agent a (rôles ``accounts.roles.EDITING`` et
  ``SENSITIVE``), dans une organisation qui *couvre* (``beneficiaries.scope.covering_memberships``) la
  personne, le rôle référent, chargé d'orientation ou administrateur. Suivent la personne : son
  Département (dans la limite du territoire de l'appartenance) — qui oriente et conduit le diagnostic —
  et toute organisation ayant un suivi en cours (``FollowUp`` non clos) ou clos par une sortie récente (suivi
  dans l'emploi, ``FollowUp.objects.following``). Le rôle « responsable (lecture
  seule) » ne modifie rien et ne voit pas la santé ; l'État ne voit rien de nominatif.
"""

from dataclasses import dataclass

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import DEPARTEMENT, EDITING, SENSITIVE, TEAM, Capability
from parcours.beneficiaries.scope import covering_memberships

# Noms d'avant l'unification (``parcours.accounts.roles``), gardés pour les appelants.
EDIT_ROLES = EDITING
SENSITIVE_ROLES = SENSITIVE

__all__ = [
    "SANCTION_TRANSMITTER",
    "TEAM_SESSION_MANAGER",
    "Access",
    "access_for",
    "covering_memberships",
    "is_departement_agent",
]

#: Séances de l'équipe pluridisciplinaire : les agents du Département qui conduisent les procédures de sanction
#: (mêmes rôles que l'avis, la décision et la notification, ``is_departement_agent``) ; le périmètre fin
#: (Département, territoire de l'appartenance) est celui de ``sessions.sessions_visible_to``.
TEAM_SESSION_MANAGER = Capability(
    "séances de l'équipe pluridisciplinaire",
    EDITING,
    "Les séances de l'équipe pluridisciplinaire sont réservées aux référents, chargés d'orientation et "
    "administrateurs du Département.",
    kinds=DEPARTEMENT,
)


#: Sanctions transmises à l'organisme payeur (fichier mensuel, accusés de réception) : chargés d'orientation et
#: administrateurs du Département ; le fichier couvre tout le Département, une appartenance limitée à un
#: territoire ne l'ouvre pas (``sanction_departements``).
SANCTION_TRANSMITTER = Capability(
    "transmission des sanctions à l'organisme payeur",
    TEAM,
    "La transmission des sanctions à la CAF et à la MSA est réservée aux chargés d'orientation et "
    "administrateurs du Département.",
    kinds=DEPARTEMENT,
)


def sanction_departements(user):
    """Départements dont l'agent transmet les sanctions : appartenances de ``SANCTION_TRANSMITTER`` sans
    territoire (le fichier couvre tout le Département) ; tous pour un super-utilisateur."""
    from parcours.accounts.models import Organisation

    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("departement_code")
    if user.is_superuser:
        return list(departements)
    ids = {m.organisation_id for m in SANCTION_TRANSMITTER.memberships(user) if not m.territory_id}
    return list(departements.filter(pk__in=ids))


@dataclass(frozen=True)
class Access:
    can_edit: bool
    can_see_sensitive: bool
    organisation: object = None  # organisation au titre de laquelle l'agent agit (la première habilitée)


def access_for(user, beneficiary):
    """Droits de l'agent sur le diagnostic et le contrat d'une personne qu'il voit déjà."""
    if user.is_superuser:
        return Access(can_edit=True, can_see_sensitive=True)
    covering = covering_memberships(user, beneficiary)
    editors = [m for m in covering if m.role in EDITING]
    return Access(
        can_edit=bool(editors),
        can_see_sensitive=any(m.role in SENSITIVE for m in covering),
        organisation=editors[0].organisation if editors else None,
    )


def is_departement_agent(user, beneficiary):
    """Étapes réservées au Département de la personne (avis de l'équipe, décision et notification d'une
    sanction) : rôle référent, chargé d'orientation ou administrateur au Département, dans son territoire."""
    if user.is_superuser:
        return True
    return any(
        m.role in EDITING and m.organisation.kind == OrganisationKind.DEPARTEMENT
        for m in covering_memberships(user, beneficiary)
    )
