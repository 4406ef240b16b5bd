"""Rendez-vous : prise de rendez-vous, saisie de la présence, agenda des agents."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parcours.journal.models import EventKind
from parcours.journal.transitions import Workflow, transition

from . import permissions
from .common import copy_back, default_today, log_event
from .invitations import transition_invitation
from .models import (
    ATTENDANCE_TRANSITIONS,
    Appointment,
    AppointmentKind,
    Attendance,
    InvitationStatus,
)

ATTENDANCE_EVENTS = {
    Attendance.SEEN: EventKind.APPOINTMENT_HELD,
    Attendance.EXCUSED: EventKind.APPOINTMENT_EXCUSED,
    Attendance.NO_SHOW: EventKind.APPOINTMENT_NO_SHOW,
    Attendance.CANCELLED: EventKind.APPOINTMENT_CANCELLED,
    Attendance.PLANNED: EventKind.APPOINTMENT_ATTENDANCE_CORRECTED,
}

# --- rendez-vous ------------------------------------------------------------------------------------------


@transaction.atomic
def schedule_appointment(
    beneficiary,
    *,
    starts_at,
    place,
    author,
    kind=AppointmentKind.ORIENTATION,
    professionals=(),
    organisations=(),
    duration_minutes=60,
    notes="",
    planned_on=None,
):
    """Fixe un rendez-vous ; un rendez-vous d'orientation vaut réponse aux invitations en cours.

    ``planned_on`` : date de la prise de rendez-vous (défaut : aujourd'hui ; la démonstration la date)."""
    if kind == AppointmentKind.ORIENTATION:
        permissions.require_team(author, beneficiary, "Rendez-vous d'orientation")
    else:
        permissions.require_follower(author, beneficiary, "Rendez-vous")
    if not place or not place.strip():
        raise ValidationError({"place": "Lieu : obligatoire."})
    if starts_at is None:
        raise ValidationError({"starts_at": "Date et heure : obligatoires."})
    departement_id = beneficiary.departement_id
    for organisation in organisations:
        if organisation.pk != departement_id and organisation.departement_id != departement_id:
            raise ValidationError(
                {"organisations": f"{organisation} : n'intervient pas dans le Département de la personne."}
            )
    appointment = Appointment.objects.create(
        beneficiary=beneficiary,
        kind=kind,
        starts_at=starts_at,
        place=place.strip(),
        duration_minutes=duration_minutes,
        notes=notes,
        created_by=author,
    )
    appointment.professionals.set(professionals)
    appointment.organisations.set(organisations)
    on = default_today(planned_on)
    log_event(
        beneficiary,
        EventKind.APPOINTMENT_PLANNED,
        on=on,
        actor=author,
        appointment_id=appointment.pk,
        kind=kind,
        starts_at=timezone.localtime(starts_at).isoformat(),
        organisations=[o.pk for o in organisations] or None,
    )
    if kind == AppointmentKind.ORIENTATION:
        open_invitations = beneficiary.invitations.filter(
            status__in=[InvitationStatus.SENT, InvitationStatus.DELIVERED]
        )
        for invitation in open_invitations.select_related("beneficiary__departement"):
            transition_invitation(invitation, InvitationStatus.ANSWERED, actor=author, on=on)
    return appointment


ATTENDANCE_WORKFLOW = Workflow("Rendez-vous", Attendance, ATTENDANCE_TRANSITIONS, field="attendance")


def _settle_convocations(appointment, attendance, *, author, on):
    """Les convocations encore ouvertes d'un rendez-vous d'orientation suivent la présence saisie : venue, la
    convocation a reçu sa réponse ; absente (excusée ou non) ou rendez-vous annulé, elle expire et la personne
    revient d'elle-même dans la file « à convoquer » (``queues.expired_invitations``). Les messages encore en
    attente du rendez-vous (rappels) ne partent plus."""
    from .models import MISSED_ATTENDANCES, MessageStatus

    if attendance == Attendance.PLANNED:
        return
    appointment.messages.filter(status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, failure_reason=f"Présence saisie : {Attendance(attendance).label}."
    )
    if appointment.kind != AppointmentKind.ORIENTATION:
        return
    target = InvitationStatus.ANSWERED if attendance == Attendance.SEEN else InvitationStatus.EXPIRED
    if target == InvitationStatus.EXPIRED and attendance not in MISSED_ATTENDANCES:
        return
    open_convocations = appointment.convocations.filter(
        status__in=[InvitationStatus.SENT, InvitationStatus.DELIVERED]
    ).select_related("beneficiary__departement")
    for invitation in open_convocations:
        transition_invitation(invitation, target, actor=author, on=on, reason=Attendance(attendance).label)


@transaction.atomic
def record_attendance(appointment, attendance, *, author, on=None, notes=None):
    """Seule fonction qui saisit la présence à un rendez-vous (venu, excusé, absent, annulé, ou correction).

    Passage par ``journal.transitions`` : la ligne du rendez-vous est verrouillée et relue, deux saisies
    simultanées (page, API, connecteurs) s'exécutent l'une après l'autre et la seconde voit la présence écrite
    par la première ; l'événement du journal est écrit dans la même transaction."""
    on = default_today(on)

    def apply(locked):
        if attendance in (Attendance.SEEN, Attendance.NO_SHOW) and locked.starts_at > timezone.now():
            raise ValidationError("La présence ne peut être saisie qu'une fois le rendez-vous commencé.")
        locked.attendance_recorded_on = None if attendance == Attendance.PLANNED else on
        if notes is not None:
            locked.notes = notes

    # Date métier : le jour du rendez-vous (annulation et correction : le jour de la saisie).
    day = (
        timezone.localdate(appointment.starts_at)
        if attendance in (Attendance.SEEN, Attendance.NO_SHOW, Attendance.EXCUSED)
        else on
    )
    locked = transition(
        appointment,
        attendance,
        workflow=ATTENDANCE_WORKFLOW,
        actor=author if getattr(author, "pk", None) else None,
        on=day,
        event=ATTENDANCE_EVENTS.get(attendance),
        payload=lambda locked, previous: {
            "appointment_id": locked.pk,
            "appointment_kind": locked.kind,
            "from_attendance": previous,
        },
        apply=apply,
    )
    _settle_convocations(locked, attendance, author=author if getattr(author, "pk", None) else None, on=on)
    return copy_back(appointment, locked)


def appointments_for_agent(user, start, end):
    """Agenda d'un agent : ses rendez-vous entre deux dates (incluses)."""
    return (
        appointments_between(start, end)
        .filter(professionals=user)
        .select_related("beneficiary")
        .prefetch_related("organisations")
    )


def appointments_between(start, end):
    """Rendez-vous entre deux dates incluses (jours à l'heure locale), le plus proche d'abord."""
    first = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    after = timezone.make_aware(
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    )
    return Appointment.objects.filter(starts_at__gte=first, starts_at__lt=after).order_by("starts_at", "pk")


def held_by(user):
    """Condition sur les rendez-vous : ceux dont l'agent est l'un des professionnels (sous-requête : pas de
    doublon quand elle se combine à une autre condition)."""
    return Q(
        Exists(
            Appointment.professionals.through.objects.filter(appointment_id=OuterRef("pk"), user_id=user.pk)
        )
    )
