"""Délais d'orientation et files de travail de l'équipe d'orientation (à inviter, invitations en cours,
expirées, rendez-vous à saisir, à orienter, stock sans orientation)."""

import datetime

from django.conf import settings
from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import CLOSED_STATES, FollowUp
from parcours.core.delays import get_delay

from .common import default_today
from .models import (
    OPEN_INVITATION_STATUSES,
    Appointment,
    AppointmentKind,
    Attendance,
    DecisionStatus,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    OrientationExemption,
    ReferentAssignment,
)

# --- délais et files de travail ---------------------------------------------------------------------------


class DaysBetween(Func):
    """Nombre de jours de ``start`` à ``end`` (dates), en SQL portable (SQLite et PostgreSQL)."""

    output_field = IntegerField()

    def __init__(self, start, end):
        super().__init__(start, end)

    def as_sql(self, compiler, connection, **extra):
        start, end = self.source_expressions
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        if connection.vendor == "sqlite":
            sql = f"CAST(ROUND(julianday({end_sql}) - julianday({start_sql})) AS INTEGER)"
        else:
            sql = f"(CAST({end_sql} AS date) - CAST({start_sql} AS date))"
        return sql, (*end_params, *start_params)


def _delay_expressions(names, departement_field):
    """Pour chaque délai de ``names``, la valeur de chaque ligne selon son Département (CASE WHEN sur les
    seuls Départements qui le surchargent ; une requête sur les Départements)."""
    departements = list(
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        .exclude(delay_overrides={})
        .only("pk", "delay_overrides")
    )
    expressions = {}
    for name in names:
        default = int(settings.PARCOURS_DELAYS[name])
        whens = [
            When(**{departement_field: d.pk}, then=Value(get_delay(name, d)))
            for d in departements
            if get_delay(name, d) != default
        ]
        expressions[name] = (
            Case(*whens, default=Value(default), output_field=IntegerField())
            if whens
            else Value(default, output_field=IntegerField())
        )
    return expressions


def with_days_left(queryset, today=None, *, prefix=""):
    """Annote ``days_left_target`` et ``days_left_legal`` (0 = dernier jour dans les temps, < 0 = en retard).

    T0 (``new_entrant_t0``) compte comme jour 1 : l'objectif de 15 jours est tenu jusqu'à T0 + 14 inclus,
    le délai légal de 42 jours jusqu'à T0 + 41. Les délais sont ceux du Département de la personne.
    ``prefix`` : chemin vers le bénéficiaire (ex. ``"beneficiary__"`` pour des invitations).
    """
    today = default_today(today)
    elapsed = DaysBetween(F(f"{prefix}new_entrant_t0"), Value(today, output_field=DateField()))
    delays = _delay_expressions(
        ("orientation_target_days", "orientation_legal_days"), f"{prefix}departement_id"
    )
    return queryset.annotate(
        days_elapsed=elapsed,
        days_left_target=delays["orientation_target_days"] - Value(1) - elapsed,
        days_left_legal=delays["orientation_legal_days"] - Value(1) - elapsed,
    )


def deadlines(t0, departement=None):
    """Derniers jours dans les temps pour un T0 : (objectif de pilotage, délai légal)."""
    if t0 is None:
        return None, None
    target = get_delay("orientation_target_days", departement)
    legal = get_delay("orientation_legal_days", departement)
    return t0 + datetime.timedelta(days=target - 1), t0 + datetime.timedelta(days=legal - 1)


def _since_t0(field="new_entrant_t0"):
    """Condition « depuis le T0 de la personne » pour un sous-ensemble lié (tout, si pas de T0)."""
    return Q(**{f"{field}__gte": OuterRef("new_entrant_t0")}) | Q(beneficiary__new_entrant_t0__isnull=True)


def _notified_since_t0():
    return Exists(
        OrientationDecision.objects.filter(
            beneficiary=OuterRef("pk"), status=DecisionStatus.NOTIFIED, is_current=True
        ).filter(_since_t0("decided_on"))
    )


def _invited_since_t0():
    return Exists(
        Invitation.objects.filter(beneficiary=OuterRef("pk"))
        .exclude(status=InvitationStatus.FAILED)
        .filter(_since_t0("created_on"))
    )


def _exempted(today):
    return Exists(
        OrientationExemption.objects.filter(beneficiary=OuterRef("pk"), starts_on__lte=today).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today)
        )
    )


def _followed():
    """Suivi en cours (orientation connue par un flux ou un import, ou référent désigné) : la personne n'est
    plus à inviter ni à orienter (critère « pas de suivi en cours » des nouveaux entrants)."""
    return Exists(FollowUp.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True))


def _appointment_since_t0(attendances):
    return Exists(
        Appointment.objects.filter(
            beneficiary=OuterRef("pk"), kind=AppointmentKind.ORIENTATION, attendance__in=attendances
        ).filter(
            Q(starts_at__date__gte=OuterRef("new_entrant_t0")) | Q(beneficiary__new_entrant_t0__isnull=True)
        )
    )


def new_entrants_to_invite(scope, today=None):
    """Nouveaux entrants ni invités, ni orientés, ni dispensés depuis leur T0 ; les plus urgents d'abord."""
    today = default_today(today)
    people = (
        scope.filter(new_entrant_t0__isnull=False, new_entrant_t0__lte=today)
        .exclude(rsa_state__in=CLOSED_STATES)
        .exclude(is_sdd=False)  # n'est plus soumis aux droits et devoirs : plus d'orientation à mener
        .filter(~_invited_since_t0(), ~_notified_since_t0(), ~_exempted(today), ~_followed())
        .filter(~_appointment_since_t0([Attendance.PLANNED, Attendance.SEEN]))
    )
    return with_days_left(people, today).order_by("days_left_target", "last_name", "pk")


def pending_invitations(scope, today=None):
    """Invitations en cours (créées, envoyées, distribuées), avec les jours restants de la personne."""
    invitations = Invitation.objects.filter(
        beneficiary__in=scope.values("pk"), status__in=OPEN_INVITATION_STATUSES
    ).select_related("beneficiary", "beneficiary__territory")
    return with_days_left(invitations, today, prefix="beneficiary__").order_by(
        "expires_on", "days_left_target", "pk"
    )


def expired_invitations(scope, today=None):
    """Invitations expirées sans réponse ni invitation plus récente, personne toujours à orienter :
    à relancer par une convocation."""
    today = default_today(today)
    newer = Invitation.objects.filter(beneficiary=OuterRef("beneficiary"), pk__gt=OuterRef("pk")).exclude(
        status=InvitationStatus.FAILED
    )
    oriented = OrientationDecision.objects.filter(
        beneficiary=OuterRef("beneficiary"), status=DecisionStatus.NOTIFIED, is_current=True
    ).filter(
        Q(decided_on__gte=OuterRef("beneficiary__new_entrant_t0"))
        | Q(beneficiary__new_entrant_t0__isnull=True)
    )
    booked = Appointment.objects.filter(
        beneficiary=OuterRef("beneficiary"),
        attendance__in=[Attendance.PLANNED, Attendance.SEEN],
        created_at__gte=OuterRef("created_at"),
    )
    invitations = (
        Invitation.objects.filter(beneficiary__in=scope.values("pk"), status=InvitationStatus.EXPIRED)
        .filter(~Exists(newer), ~Exists(oriented), ~Exists(booked))
        .select_related("beneficiary", "beneficiary__territory")
    )
    return with_days_left(invitations, today, prefix="beneficiary__").order_by("days_left_target", "pk")


def appointments_to_record(scope, now=None):
    """Rendez-vous passés dont la présence n'a pas été saisie (les plus anciens d'abord)."""
    now = now or timezone.now()
    appointments = (
        Appointment.objects.filter(
            beneficiary__in=scope.values("pk"), attendance=Attendance.PLANNED, starts_at__lt=now
        )
        .select_related("beneficiary", "beneficiary__territory")
        .prefetch_related("professionals", "organisations")
    )
    return with_days_left(appointments, timezone.localdate(now), prefix="beneficiary__").order_by(
        "starts_at", "pk"
    )


def people_to_orient(scope, today=None):
    """Nouveaux entrants sans orientation notifiée depuis leur T0 (ni dispense en cours).

    Annotations : ``days_left_target`` / ``days_left_legal``, ``seen`` (rendez-vous d'orientation honoré),
    ``pending_pathway`` (orientation décidée, pas encore notifiée).
    """
    today = default_today(today)
    pending = OrientationDecision.objects.filter(
        beneficiary=OuterRef("pk"), status=DecisionStatus.DECIDED, is_current=True
    ).values("pathway")[:1]
    people = (
        scope.filter(new_entrant_t0__isnull=False, new_entrant_t0__lte=today)
        .exclude(rsa_state__in=CLOSED_STATES)
        .exclude(is_sdd=False)
        .filter(~_notified_since_t0(), ~_exempted(today), ~_followed())
        .annotate(seen=_appointment_since_t0([Attendance.SEEN]), pending_pathway=Subquery(pending))
    )
    return with_days_left(people, today).order_by("-seen", "days_left_target", "last_name", "pk")


def queue_counts(scope, today=None):
    """Nombre de lignes de chaque file (une requête par file)."""
    today = default_today(today)
    return {
        "a_inviter": new_entrants_to_invite(scope, today).count(),
        "invitations": pending_invitations(scope, today).count(),
        "expirees": expired_invitations(scope, today).count(),
        "rendez_vous": appointments_to_record(scope).count(),
        "a_orienter": people_to_orient(scope, today).count(),
    }


def stock_without_orientation(scope):
    """« Stock » : personnes soumises aux droits et devoirs, droit versable, sans orientation ni référent en
    cours (campagnes de re-contact)."""
    return (
        scope.filter(is_sdd=True, rsa_state="2")
        .filter(~Exists(OrientationDecision.objects.filter(beneficiary=OuterRef("pk"), is_current=True)))
        .filter(~Exists(ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True)))
        .order_by("last_name", "first_name", "pk")
    )
