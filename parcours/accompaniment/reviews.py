"""Revues du parcours (étape 8) : entretiens d'étape, revue conjointe légale, analyses de situation en
équipe pluridisciplinaire, revue de deuxième année, propositions d'accompagnement global.

Les échéances sont des réglages (``PARCOURS_DELAYS``, par Département). Les revues sont *prévues* à la
signature du contrat (``schedule_reviews``) ou proposées par les listes de ce module ; elles ne décident
rien : un agent les tient, avec compte rendu et décisions.
"""

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parcours.accounts.models import OrganisationKind
from parcours.core.delays import get_delay
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.journal.transitions import Workflow, transition

from .hours import LEGAL_GROUNDS
from .models import ContractStatus, Exit, Intensity, Review, ReviewKind, ReviewStatus

REVIEW_WORKFLOW = Workflow(
    "Revue",
    ReviewStatus,
    {
        ReviewStatus.PLANNED: {ReviewStatus.HELD, ReviewStatus.CANCELLED},
        ReviewStatus.HELD: set(),
        ReviewStatus.CANCELLED: set(),
    },
)
SCHEDULE_HORIZON_MONTHS = 12  # sans fin prévue, les entretiens d'étape sont prévus sur un an


def is_vulnerable(contract):
    """Personne vulnérable (revue conjointe à 12 mois) : durée adaptée pour un motif de L5411-6."""
    return contract.hours_exemption in LEGAL_GROUNDS


def _is_social(contract):
    decision = contract.beneficiary.orientation_decisions.filter(is_current=True).first()
    if decision is not None:
        return decision.pathway == "social"
    return contract.intensity == Intensity.SOCIAL


def review_dates(contract):
    """[(type, échéance)] des revues à prévoir pour un contrat signé."""
    if contract.status != ContractStatus.SIGNED or not contract.signed_on:
        return []
    departement = contract.beneficiary.departement
    start = contract.signed_on
    end = contract.ends_on or start + relativedelta(months=SCHEDULE_HORIZON_MONTHS)
    every = get_delay("review_milestone_months", departement)
    dates = []
    step = 1
    while every > 0:
        due = start + relativedelta(months=every * step)
        if due > end:
            break
        dates.append((ReviewKind.MILESTONE, due))
        step += 1
    if _is_social(contract):
        name = "review_joint_vulnerable_months" if is_vulnerable(contract) else "review_joint_months"
        dates.append((ReviewKind.JOINT, start + relativedelta(months=get_delay(name, departement))))
    return sorted(dates, key=lambda item: item[1])


@transaction.atomic
def schedule_reviews(contract, *, author=None):
    """Prévoit les revues d'un contrat signé (idempotent : une revue déjà prévue n'est pas dupliquée)."""
    existing = set(Review.objects.filter(contract=contract).values_list("kind", "due_on"))
    created = []
    for kind, due in review_dates(contract):
        if (kind, due) in existing:
            continue
        created.append(
            Review(
                beneficiary_id=contract.beneficiary_id,
                contract=contract,
                kind=kind,
                due_on=due,
                created_by=author,
            )
        )
    Review.objects.bulk_create(created)
    return created


@transaction.atomic
def plan_review(beneficiary, *, author, kind, due_on, contract=None, session=None):
    """Prévoit une revue à la main (analyse de situation en équipe pluridisciplinaire, par exemple).

    ``session`` : séance de l'équipe pluridisciplinaire (du Département de la personne) où la situation
    — une réorientation par exemple — sera examinée ; l'échéance est alors la date de la séance.
    """
    if kind not in ReviewKind.values:
        raise ValidationError({"kind": f"Type de revue inconnu : « {kind} »."})
    if session is not None:
        if session.departement_id != beneficiary.departement_id:
            raise ValidationError(
                {"session": "Séance : elle doit être une séance du Département de la personne."}
            )
        due_on = session.held_on
    if not due_on:
        raise ValidationError({"due_on": "Échéance : champ obligatoire."})
    review = Review.objects.create(
        beneficiary=beneficiary,
        kind=kind,
        due_on=due_on,
        contract=contract,
        created_by=author,
        session=session,
    )
    record(
        beneficiary,
        EventKind.REVIEW_PLANNED,
        on=timezone.localdate(),
        actor=author,
        review_id=review.pk,
        review_kind=kind,
        due_on=due_on,
    )
    return review


def hold_review(review, *, actor, on, minutes, decisions=""):
    """Tient une revue prévue : date, compte rendu (obligatoire) et décisions ; écrit ``review_held``."""

    def apply(locked):
        if on is None or on > timezone.localdate():
            raise ValidationError({"on": "Date de la revue : obligatoire et non future."})
        if not (minutes or "").strip():
            raise ValidationError({"minutes": "Compte rendu : champ obligatoire."})
        locked.held_on = on
        locked.held_by = actor
        locked.minutes = minutes.strip()
        locked.decisions = (decisions or "").strip()

    return transition(
        review,
        ReviewStatus.HELD,
        workflow=REVIEW_WORKFLOW,
        actor=actor,
        on=on,
        event=EventKind.REVIEW_HELD,
        payload=lambda locked, _previous: {
            "review_id": locked.pk,
            "review_kind": locked.kind,
            "decisions": locked.decisions[:300],
        },
        apply=apply,
    )


def cancel_review(review, *, actor, reason):
    """Annule une revue prévue (motif obligatoire, noté au compte rendu) ; rien n'est écrit au journal."""

    def apply(locked):
        if not (reason or "").strip():
            raise ValidationError({"reason": "Motif de l'annulation : champ obligatoire."})
        locked.minutes = f"Annulée : {reason.strip()}"
        locked.held_by = actor

    return transition(
        review, ReviewStatus.CANCELLED, workflow=REVIEW_WORKFLOW, actor=actor, on=None, apply=apply
    )


def reviews_due(scope, on, *, horizon_days=0):
    """Revues prévues dont l'échéance est au plus tard ``on`` + ``horizon_days``, pour les personnes du périmètre."""
    return (
        Review.objects.filter(
            beneficiary__in=scope,
            status=ReviewStatus.PLANNED,
            due_on__lte=on + relativedelta(days=horizon_days),
        )
        .select_related("beneficiary", "beneficiary__territory")
        .order_by("due_on", "pk")
    )


def _has_review(kind):
    return Exists(
        Review.objects.filter(beneficiary=OuterRef("beneficiary_id"), kind=kind).exclude(
            status=ReviewStatus.CANCELLED
        )
    )


def _current_assignments(scope, organisation_kind, referent=None):
    from parcours.orientation.models import ReferentAssignment

    exited = Exit.objects.filter(
        beneficiary=OuterRef("beneficiary_id"), exited_on__gte=OuterRef("started_on")
    )
    return (
        ReferentAssignment.objects.filter(
            beneficiary__in=scope, ended_on__isnull=True, organisation__kind=organisation_kind
        )
        .filter(~Exists(exited))
        .filter(**({"referent": referent} if referent is not None else {}))
        .select_related("organisation", "referent")
        .prefetch_related("beneficiary")
    )


def second_year_candidates(scope, on, *, referent=None):
    """Personnes suivies par le Département qui entrent dans leur 2e année d'accompagnement (003) sans revue.

    Le délai (12 mois) est celui du Département de chaque personne. Requête de désignations (``_candidates``).
    """
    return _candidates(
        scope,
        on,
        OrganisationKind.DEPARTEMENT,
        "review_second_year_months",
        ReviewKind.SECOND_YEAR,
        referent=referent,
    )


def global_proposal_candidates(scope, on, *, referent=None):
    """Personnes suivies par France Travail depuis plus de 6 mois : à proposer en accompagnement global (003)."""
    return _candidates(
        scope,
        on,
        OrganisationKind.FRANCE_TRAVAIL,
        "review_global_proposal_months",
        ReviewKind.GLOBAL_PROPOSAL,
        referent=referent,
    )


def _candidates(scope, on, organisation_kind, delay_name, review_kind, referent=None):
    """Désignations en cours depuis le délai du Département de la personne, sans revue de ce type : une
    requête, par date de désignation (la plus ancienne d'abord), à découper par l'appelant ; une condition
    par Département (peu nombreux, lus en une requête). ``referent`` : ses seules désignations (« mes
    personnes » d'une liste de travail : la base part de son portefeuille)."""
    from parcours.accounts.models import Organisation

    due = Q(pk__in=[])
    for departement in Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT):
        threshold = on - relativedelta(months=get_delay(delay_name, departement))
        due |= Q(beneficiary__departement_id=departement.pk, started_on__lte=threshold)
    return (
        _current_assignments(scope, organisation_kind, referent)
        .filter(due)
        .filter(~_has_review(review_kind))
        .order_by("started_on", "pk")
    )


@transaction.atomic
def create_proposals(scope, on, *, author=None):
    """Prévoit (sans rien décider) les revues de 2e année et les propositions d'accompagnement global dues."""
    created = []
    for kind, candidates in (
        (ReviewKind.SECOND_YEAR, list(second_year_candidates(scope, on))),
        (ReviewKind.GLOBAL_PROPOSAL, list(global_proposal_candidates(scope, on))),
    ):
        for assignment in candidates:
            created.append(plan_review(assignment.beneficiary, author=author, kind=kind, due_on=on))
    return created


def anonymised_label(review):
    """Libellé anonymisé d'une situation examinée en équipe pluridisciplinaire (fiche de synthèse)."""
    person = review.beneficiary
    initials = f"{person.first_name[:1]}. {person.last_name[:1]}.".upper()
    return f"Situation n°{review.pk} — {initials}"
