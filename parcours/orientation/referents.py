"""Référent unique et portefeuilles : désignation (règle de désignation, territoire, taille cible),
fin de désignation, charges, suggestion."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Count,
    OuterRef,
    Subquery,
)

from parcours.accounts.models import Membership, OrganisationKind, Role, User
from parcours.core.text import plural
from parcours.journal.models import EventKind
from parcours.pathway import services as pathways

from . import permissions
from .common import default_today, log_event
from .models import (
    CapPolicy,
    DecisionStatus,
    OrientationDecision,
    PortfolioCap,
    ReferentAssignment,
)

# --- référent unique et portefeuilles ---------------------------------------------------------------------


def portfolio_cap(organisation):
    """(taille cible du portefeuille d'un référent, politique au-delà : avertir / refuser)."""
    try:
        cap = organisation.portfolio_cap
    except PortfolioCap.DoesNotExist:
        return _default_cap(), CapPolicy.WARN
    return cap.cap, cap.policy


def _default_cap():
    """Taille cible d'un portefeuille quand l'organisation n'en a pas fixé."""
    return int(getattr(settings, "PARCOURS_PORTFOLIO_CAP", 60))


def portfolio_caps(organisation_ids):
    """{organisation: taille cible du portefeuille} pour ces organisations, en une requête (``portfolio_cap``)."""
    default = _default_cap()
    caps = dict(
        PortfolioCap.objects.filter(organisation_id__in=list(organisation_ids)).values_list(
            "organisation_id", "cap"
        )
    )
    return {pk: caps.get(pk, default) for pk in organisation_ids}


def open_loads(referent_ids):
    """{référent: nombre de ses désignations en cours} (taille de son portefeuille), en une requête."""
    return dict(
        ReferentAssignment.objects.filter(referent_id__in=list(referent_ids), ended_on__isnull=True)
        .order_by()
        .values("referent_id")
        .annotate(n=Count("pk"))
        .values_list("referent_id", "n")
    )


def portfolio_size(referent):
    return open_loads([referent.pk]).get(referent.pk, 0)


def current_referent(beneficiary):
    return (
        beneficiary.referent_assignments.filter(ended_on__isnull=True)
        .select_related("referent", "organisation")
        .first()
    )


def referent_history(beneficiary):
    return beneficiary.referent_assignments.select_related(
        "referent", "organisation", "assigned_by"
    ).order_by("-started_on", "-pk")


def _oriented_to(beneficiary, organisation):
    return beneficiary.orientation_decisions.filter(
        is_current=True, status=DecisionStatus.NOTIFIED, organisation=organisation
    ).exists()


@transaction.atomic
def end_referent(assignment, *, author, ended_on=None, reason, _keep_follow_up=False):
    """Fin de la désignation (départ du référent, réorientation…). Le suivi de l'organisation continue tant
    que la personne lui est orientée (annexe 4 : orientation connue **ou** référent désigné) ; sinon il est
    clos avec la désignation."""
    ended_on = default_today(ended_on)
    pathways.lock(assignment.beneficiary)
    if assignment.ended_on:
        raise ValidationError("Cette désignation est déjà terminée.")
    if ended_on < assignment.started_on:
        raise ValidationError({"ended_on": "Fin de la désignation : antérieure à son début."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Motif de fin : obligatoire."})
    pathways.end_assignment(assignment, on=ended_on, reason=reason, actor=author)
    beneficiary = assignment.beneficiary
    if not _keep_follow_up and not _oriented_to(beneficiary, assignment.organisation):
        follow_up = pathways.current_follow_up(beneficiary)
        if follow_up is not None and follow_up.organisation_id == assignment.organisation_id:
            pathways.close_follow_up(
                beneficiary, on=ended_on, reason=reason.strip(), end_cause="fin", actor=author
            )
    return assignment


@dataclass
class AssignmentResult:
    assignment: ReferentAssignment
    warnings: list


@transaction.atomic
def assign_referent(beneficiary, *, referent, organisation, author, started_on=None, reason=""):
    """Désigne le référent unique (ou transfère vers un autre référent, avec historique).

    Au-delà de la taille cible du portefeuille (par organisation, défaut 60) : refus si l'organisation l'a
    choisi, sinon désignation avec avertissement (``over_cap``). Le suivi (``FollowUp``) de l'organisation
    est ouvert — il rend la personne visible de l'organisation — et celui de la précédente clos.
    """
    started_on = default_today(started_on)
    if not permissions.can_designate_referent(author, beneficiary, organisation):
        raise ValidationError(
            {
                "referent": "Désignation réservée à l'équipe d'orientation du Département ou à l'organisation "
                "qui a la personne en charge, parmi ses propres agents."
            }
        )
    memberships = list(Membership.objects.filter(user=referent, organisation=organisation, is_active=True))
    if not memberships:
        raise ValidationError({"referent": f"Référent : {referent} n'est pas agent de {organisation}."})
    departement_id = beneficiary.departement_id
    if organisation.pk != departement_id and organisation.departement_id != departement_id:
        raise ValidationError(
            {"organisation": f"{organisation} ne relève pas du Département de la personne."}
        )
    if organisation.kind == OrganisationKind.DEPARTEMENT and all(
        m.territory_id and m.territory_id != beneficiary.territory_id for m in memberships
    ):
        # Un agent rattaché à un territoire ne voit que les personnes de ce territoire : désigné ailleurs, il ne
        # pourrait pas ouvrir le dossier de la personne qu'il suit.
        territories = ", ".join(sorted({str(m.territory) for m in memberships}))
        raise ValidationError(
            {
                "referent": f"Référent : {referent} intervient sur le territoire {territories}, "
                f"pas sur celui de la personne ({beneficiary.territory or 'territoire inconnu'})."
            }
        )
    pathways.lock(beneficiary)
    current = current_referent(beneficiary)
    if current and current.referent_id == referent.pk and current.organisation_id == organisation.pk:
        raise ValidationError({"referent": f"{referent} est déjà le référent de la personne."})
    if current and started_on < current.started_on:
        raise ValidationError({"started_on": "Début : antérieur à la désignation en cours."})
    cap, policy = portfolio_cap(organisation)
    size = portfolio_size(referent)
    warnings = []
    over_cap = size >= cap
    if over_cap:
        message = f"Le portefeuille de {referent} compte déjà {plural(size, 'personne')} pour une taille cible de {cap}."
        if policy == CapPolicy.REFUSE:
            raise ValidationError(
                {"referent": message + " Désignation refusée : choisissez un autre référent."}
            )
        warnings.append(message)
    if current:
        same_org = current.organisation_id == organisation.pk
        end_referent(
            current,
            author=author,
            ended_on=started_on,
            reason=reason or f"Transfert vers {referent} ({organisation})",
            _keep_follow_up=same_org,
        )
    assignment = ReferentAssignment.objects.create(
        beneficiary=beneficiary,
        referent=referent,
        organisation=organisation,
        started_on=started_on,
        assigned_by=author,
        over_cap=over_cap,
    )
    pathways.open_follow_up(
        beneficiary,
        organisation=organisation,
        on=started_on,
        cause="referent",
        actor=author,
        referent=referent,
    )
    log_event(
        beneficiary,
        EventKind.REFERENT_ASSIGNED,
        on=started_on,
        actor=author,
        organisation=organisation,
        assignment_id=assignment.pk,
        referent_id=referent.pk,
        transfer=bool(current) or None,
        previous_referent_id=current.referent_id if current else None,
        over_cap=over_cap or None,
    )
    return AssignmentResult(assignment, warnings)


def referent_loads(organisation):
    """Référents de l'organisation avec la taille de leur portefeuille (suggestion d'équilibrage)."""
    cap, _policy = portfolio_cap(organisation)
    users = list(
        User.objects.filter(
            memberships__organisation=organisation,
            memberships__is_active=True,
            memberships__role=Role.REFERENT,
        ).distinct()
    )
    loads = open_loads(u.pk for u in users)
    rows = [(loads.get(u.pk, 0), u) for u in users]
    rows.sort(key=lambda row: (row[0], row[1].last_name, row[1].pk))
    return [{"referent": u, "load": load, "cap": cap, "remaining": cap - load} for load, u in rows]


def suggest_referent(organisation):
    """Le référent le moins chargé de l'organisation qui a encore de la place (ou None)."""
    for row in referent_loads(organisation):
        if row["remaining"] > 0:
            return row["referent"]
    return None


def portfolio(referent):
    """Portefeuille d'un référent : désignations en cours, avec la personne et son orientation en vigueur."""
    current = OrientationDecision.objects.filter(beneficiary=OuterRef("beneficiary"), is_current=True)
    return (
        ReferentAssignment.objects.filter(referent=referent, ended_on__isnull=True)
        .select_related("beneficiary", "beneficiary__territory", "organisation")
        .annotate(
            pathway=Subquery(current.values("pathway")[:1]),
            notified_on=Subquery(current.values("notified_on")[:1]),
        )
        .order_by("beneficiary__last_name", "beneficiary__first_name", "pk")
    )
