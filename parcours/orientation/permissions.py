"""Qui voit et fait quoi dans l'orientation (un seul mécanisme, appelé par les vues et les services).

- **équipe d'orientation** : les administrateurs et chargés d'orientation d'un Département voient les files
  et agissent (inviter, saisir les présences, orienter, désigner le référent, décider des réorientations)
  pour les personnes de ce Département — limitées au territoire de leur appartenance s'il y en a un ;
- **organisation en charge** (France Travail, Mission locale… vers qui la personne est orientée, suivi en
  cours) : ses administrateurs et chargés d'orientation ouvrent le volet de la personne et désignent le
  référent unique parmi les agents de leur organisation ; son système le fait par l'API ;
- **référent** : ne voit que son propre portefeuille (personnes dont il est le référent en cours) ; il peut
  saisir la présence à ses rendez-vous et demander une réorientation ;
- les autres rôles (responsable en lecture seule, État) n'ont pas accès aux écrans d'orientation.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import ORIENTATION_TEAM, TEAM, memberships_of
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.beneficiaries.scope import covers_as_departement, is_partner

TEAM_ROLES = TEAM  # nom d'avant l'unification (``parcours.accounts.roles``)


def _memberships(user):
    """Appartenances actives de l'agent (gardées pour la requête : ``accounts.roles.memberships_of``)."""
    return memberships_of(user)


def team_memberships(user):
    """Appartenances qui donnent accès aux files d'orientation (rôle d'équipe dans un Département)."""
    if not user.is_authenticated:
        return []
    return ORIENTATION_TEAM.memberships(user)


def is_team(user):
    return user.is_authenticated and (user.is_superuser or bool(team_memberships(user)))


def team_q(user):
    """Filtre des bénéficiaires relevant de l'équipe d'orientation de l'agent (``None`` : aucun)."""
    if user.is_superuser:
        return Q()
    parts = None
    for membership in team_memberships(user):
        part = Q(departement_id=membership.organisation_id)
        if membership.territory_id:
            part &= Q(territory_id=membership.territory_id)
        parts = part if parts is None else parts | part
    return parts


def team_scope(user):
    """Bénéficiaires des files d'orientation de l'agent."""
    q = team_q(user) if user.is_authenticated else None
    return Beneficiary.objects.none() if q is None else Beneficiary.objects.filter(q)


def portfolio_q(user):
    from .models import ReferentAssignment

    return Q(
        pk__in=ReferentAssignment.objects.filter(referent_id=user.pk, ended_on__isnull=True).values(
            "beneficiary_id"
        )
    )


def in_charge_memberships(user):
    """Appartenances d'équipe (administrateur, chargé d'orientation) dans une organisation partenaire : elles
    donnent la main sur les personnes que cette organisation suit."""
    if not user.is_authenticated:
        return []
    return [m for m in _memberships(user) if m.role in TEAM and is_partner(m.organisation)]


def in_charge_q(user):
    organisations = [m.organisation_id for m in in_charge_memberships(user)]
    if not organisations:
        return None
    followed = FollowUp.objects.filter(organisation_id__in=organisations, ended_on__isnull=True)
    return Q(pk__in=followed.values("beneficiary_id"))


def panel_scope(user):
    """Bénéficiaires dont l'agent peut ouvrir le volet orientation : son équipe, les personnes suivies par son
    organisation (équipe d'une organisation partenaire) ou son portefeuille."""
    if not user.is_authenticated:
        return Beneficiary.objects.none()
    q = portfolio_q(user)
    for part in (team_q(user), in_charge_q(user)):
        if part is not None:
            q |= part
    return Beneficiary.objects.filter(q)


def organisation_in_charge(beneficiary):
    return (
        FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True)
        .values_list("organisation_id", flat=True)
        .first()
    )


def designating_organisations(user, beneficiary):
    """Organisations dans lesquelles l'agent peut désigner le référent de la personne : toutes (équipe
    d'orientation du Département), la sienne si elle a la personne en charge, aucune sinon."""
    if can_manage(user, beneficiary):
        return None  # toutes les organisations du Département
    in_charge = organisation_in_charge(beneficiary)
    return [m.organisation for m in in_charge_memberships(user) if m.organisation_id == in_charge]


def require_team(user, beneficiary, what):
    """Règle des actions de l'équipe d'orientation (inviter, fixer un rendez-vous, orienter, notifier, annuler,
    dispenser, mettre fin au suivi), vérifiée par le service pour toutes les voies : un agent doit être de
    l'équipe d'orientation qui couvre la personne. Sans agent (commande, reprise) ou pour un compte technique
    (système partenaire, connecteur), la voie a déjà contrôlé ses droits (portées, périmètre)."""
    if user is None or not user.is_authenticated or getattr(user, "is_technical", False):
        return
    if not can_manage(user, beneficiary):
        raise PermissionDenied(
            f"{what} : action réservée à l'équipe d'orientation du Département de la personne."
        )


def require_follower(user, beneficiary, what):
    """Actions de l'accompagnement (rendez-vous de suivi) : l'équipe d'orientation, ou un agent de
    l'organisation qui a la personne en charge (son référent compris)."""
    if (
        user is None
        or not user.is_authenticated
        or getattr(user, "is_technical", False)
        or can_manage(user, beneficiary)
    ):
        return
    in_charge = organisation_in_charge(beneficiary)
    if not any(m.organisation_id == in_charge for m in _memberships(user)):
        raise PermissionDenied(
            f"{what} : action réservée à l'équipe d'orientation ou à l'organisation qui suit la personne."
        )


def can_designate_referent(user, beneficiary, organisation):
    """Règle de la désignation du référent, vérifiée par le service pour toutes les voies.

    ``user`` absent : reprise par fichier ou commande (contexte de confiance, sans agent connecté). Un compte
    technique de système partenaire désigne dans l'organisation du système, si elle a la personne en charge
    (ou pour tout le Département s'il s'agit du système du Département)."""
    if user is None:
        return True
    partner = getattr(user, "partner_system", None) if user.pk else None
    if partner is not None:
        org = partner.organisation
        if org.kind == OrganisationKind.DEPARTEMENT:
            return org.pk == beneficiary.departement_id
        return org.pk == organisation.pk and organisation_in_charge(beneficiary) == org.pk
    allowed = designating_organisations(user, beneficiary)
    return allowed is None or organisation.pk in {o.pk for o in allowed}


def can_manage(user, beneficiary):
    """Vrai si l'agent est de l'équipe d'orientation qui couvre la personne."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return any(covers_as_departement(m, beneficiary) for m in team_memberships(user))


def team_departements(user):
    """Départements (organisations) dont l'agent est de l'équipe d'orientation."""
    return [m.organisation for m in team_memberships(user)]


def visible_agents(user):
    """Comptes dont l'agent peut ouvrir le portefeuille (et voir le nom) : lui-même ; pour une appartenance
    d'équipe au Département, les agents du Département et ceux des organisations partenaires rattachées à ce
    Département (dans le territoire de l'appartenance s'il y en a un) ; pour une appartenance d'équipe dans
    une organisation partenaire, les agents de cette organisation. Les autres comptes n'existent pas pour lui."""
    from parcours.accounts.models import Membership, User

    if not user.is_authenticated:
        return User.objects.none()
    if user.is_superuser:
        return User.objects.all()
    organisations = Q(pk__in=[])
    for membership in team_memberships(user):
        partners = Q(organisation__departement_id=membership.organisation_id)
        if membership.territory_id:
            partners &= Q(organisation__territory__isnull=True) | Q(
                organisation__territory_id=membership.territory_id
            )
        organisations |= Q(organisation_id=membership.organisation_id) | partners
    for membership in in_charge_memberships(user):
        organisations |= Q(organisation_id=membership.organisation_id)
    members = Membership.objects.filter(organisations, is_active=True).values("user_id")
    return User.objects.filter(Q(pk=user.pk) | Q(pk__in=members))
