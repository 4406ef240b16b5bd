"""Règles de l'orientation : appelées par les vues, la ligne de commande et (demain) l'API.

Chaque changement d'état passe par **une** fonction qui vérifie la transition et écrit, dans la même
transaction, l'état (tables de ``models.py``) et un événement daté et signé du journal des parcours
(``parcours.journal.Event`` : ``beneficiary``, ``kind``, ``occurred_on`` = date métier, ``actor``,
``organisation``, ``payload``). Types d'événements écrits ici : voir ``EVENT_*`` ci-dessous ; les
indicateurs les lisent (ex. ``oriented`` / ``reoriented`` : ``occurred_on`` = date de notification).

Les fonctions prennent un paramètre ``today`` (ou ``on``) : par défaut la date du jour, fixé par les tests.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import (
    Case,
    Count,
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
from django.template.loader import select_template
from django.utils import timezone
from django.utils.module_loading import import_string

from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from parcours.beneficiaries.models import CLOSED_STATES, FollowUp
from parcours.core.delays import get_delay
from parcours.journal.models import Event

from . import permissions, sms
from .models import (
    ATTENDANCE_TRANSITIONS,
    DECISION_TRANSITIONS,
    INVITATION_TRANSITIONS,
    OPEN_INVITATION_STATUSES,
    Appointment,
    AppointmentKind,
    Attendance,
    CapPolicy,
    Channel,
    DecisionStatus,
    ExemptionReason,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    OrientationExemption,
    Pathway,
    PortfolioCap,
    ProposalRule,
    ReferentAssignment,
    ReorientationRequest,
    RequestStatus,
)

# --- journal ---------------------------------------------------------------------------------------------

EVENT_INVITATION_CREATED = "invitation_created"
EVENT_INVITED = "invited"  # invitation envoyée (occurred_on = date d'envoi)
EVENT_INVITATION_REMINDED = "invitation_reminded"
INVITATION_EVENTS = {
    InvitationStatus.SENT: EVENT_INVITED,
    InvitationStatus.DELIVERED: "invitation_delivered",
    InvitationStatus.FAILED: "invitation_failed",
    InvitationStatus.ANSWERED: "invitation_answered",
    InvitationStatus.EXPIRED: "invitation_expired",
}
EVENT_APPOINTMENT_PLANNED = "appointment_planned"
ATTENDANCE_EVENTS = {
    Attendance.SEEN: "appointment_held",
    Attendance.EXCUSED: "appointment_excused",
    Attendance.NO_SHOW: "appointment_no_show",
    Attendance.CANCELLED: "appointment_cancelled",
    Attendance.PLANNED: "appointment_attendance_corrected",
}
EVENT_ORIENTATION_DECIDED = "orientation_decided"
EVENT_ORIENTED = "oriented"  # première orientation notifiée (occurred_on = date de notification)
EVENT_REORIENTED = "reoriented"  # réorientation notifiée
EVENT_ORIENTATION_CANCELLED = "orientation_cancelled"
EVENT_EXEMPTED = "orientation_exempted"
EVENT_EXEMPTION_ENDED = "orientation_exemption_ended"
EVENT_REORIENTATION_REQUESTED = "reorientation_requested"
EVENT_REORIENTATION_ACCEPTED = "reorientation_accepted"
EVENT_REORIENTATION_REFUSED = "reorientation_refused"
EVENT_REFERENT_ASSIGNED = "referent_assigned"
EVENT_REFERENT_ENDED = "referent_ended"


def _log(beneficiary, event_kind, *, on, actor, organisation=None, **payload):
    return Event.objects.create(
        beneficiary=beneficiary,
        kind=event_kind,
        occurred_on=on,
        actor=actor if getattr(actor, "pk", None) else None,
        organisation=organisation,
        payload={k: v for k, v in payload.items() if v not in (None, "")},
    )


def _today(today=None):
    return today or timezone.localdate()


def _check(transitions, current, target, labels, what):
    if target not in transitions.get(current, set()):
        raise ValidationError(
            f"{what} : impossible de passer de « {labels[current]} » à « {labels.get(target, target)} »."
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
    today = _today(today)
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
    today = _today(today)
    people = (
        scope.filter(new_entrant_t0__isnull=False, new_entrant_t0__lte=today)
        .exclude(rsa_state__in=CLOSED_STATES)
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
    today = _today(today)
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
    today = _today(today)
    pending = OrientationDecision.objects.filter(
        beneficiary=OuterRef("pk"), status=DecisionStatus.DECIDED, is_current=True
    ).values("pathway")[:1]
    people = (
        scope.filter(new_entrant_t0__isnull=False, new_entrant_t0__lte=today)
        .exclude(rsa_state__in=CLOSED_STATES)
        .filter(~_notified_since_t0(), ~_exempted(today), ~_followed())
        .annotate(seen=_appointment_since_t0([Attendance.SEEN]), pending_pathway=Subquery(pending))
    )
    return with_days_left(people, today).order_by("-seen", "days_left_target", "last_name", "pk")


def queue_counts(scope, today=None):
    """Nombre de lignes de chaque file (une requête par file)."""
    today = _today(today)
    return {
        "a_inviter": new_entrants_to_invite(scope, today).count(),
        "invitations": pending_invitations(scope, today).count(),
        "expirees": expired_invitations(scope, today).count(),
        "rendez_vous": appointments_to_record(scope).count(),
        "a_orienter": people_to_orient(scope, today).count(),
    }


# --- invitations ------------------------------------------------------------------------------------------


def _recipient(beneficiary, channel):
    name = beneficiary.full_name
    if channel == Channel.EMAIL:
        if not beneficiary.email:
            raise ValidationError(
                f"{name} : aucune adresse électronique connue, invitation par courriel impossible."
            )
        return beneficiary.email
    if channel == Channel.SMS:
        phone = sms.normalise_phone(beneficiary.phone)
        if not phone:
            raise ValidationError(
                f"{name} : aucun numéro de téléphone mobile valide "
                f"({beneficiary.phone or 'non renseigné'}), invitation par SMS impossible."
            )
        return phone
    if channel == Channel.POSTAL:
        if not (beneficiary.address and beneficiary.postal_code and beneficiary.city):
            raise ValidationError(f"{name} : adresse postale incomplète, courrier impossible.")
        return f"{beneficiary.address}, {beneficiary.postal_code} {beneficiary.city}"
    raise ValidationError(f"Canal inconnu : {channel}.")


@transaction.atomic
def transition_invitation(invitation, to_status, *, actor, on, reason="", reference=""):
    """Seule fonction qui change le statut d'une invitation : vérifie la transition, date, journalise."""
    _check(INVITATION_TRANSITIONS, invitation.status, to_status, dict(InvitationStatus.choices), "Invitation")
    previous = invitation.status
    invitation.status = to_status
    if to_status == InvitationStatus.SENT:
        invitation.sent_on = on
        invitation.sent_by = actor if getattr(actor, "pk", None) else None
        invitation.provider_reference = reference or invitation.provider_reference
        days = get_delay("invitation_validity_days", invitation.beneficiary.departement)
        invitation.expires_on = on + datetime.timedelta(days=days)
    elif to_status == InvitationStatus.DELIVERED:
        invitation.delivered_on = on
    elif to_status == InvitationStatus.FAILED:
        invitation.failure_reason = reason[:300]
    elif to_status == InvitationStatus.ANSWERED:
        invitation.answered_on = on
    elif to_status == InvitationStatus.EXPIRED:
        invitation.expired_on = on
    invitation.save()
    _log(
        invitation.beneficiary,
        INVITATION_EVENTS[to_status],
        on=on,
        actor=actor,
        invitation_id=invitation.pk,
        channel=invitation.channel,
        convocation=invitation.is_convocation or None,
        from_status=previous,
        reason=reason,
    )
    return invitation


@transaction.atomic
def create_invitation(beneficiary, *, channel, author, today=None, is_convocation=False, appointment=None):
    """Crée une invitation (statut « créée ») après avoir vérifié les coordonnées du canal."""
    today = _today(today)
    recipient = _recipient(beneficiary, channel)
    if is_convocation and appointment is None:
        raise ValidationError("Une convocation précise le rendez-vous fixé : choisissez le rendez-vous.")
    invitation = Invitation.objects.create(
        beneficiary=beneficiary,
        channel=channel,
        recipient=recipient,
        created_on=today,
        is_convocation=is_convocation,
        appointment=appointment,
    )
    _log(
        beneficiary,
        EVENT_INVITATION_CREATED,
        on=today,
        actor=author,
        invitation_id=invitation.pk,
        channel=channel,
        convocation=is_convocation or None,
    )
    return invitation


def _templates(invitation, name, ext):
    departement = invitation.beneficiary.departement
    code = departement.departement_code if departement else ""
    names = [f"orientation/messages/{code}/{name}.{ext}"] if code else []
    return [*names, f"orientation/messages/{name}.{ext}"]


def message_context(invitation, *, reminder=False):
    person = invitation.beneficiary
    return {
        "invitation": invitation,
        "person": person,
        "departement": person.departement,
        "appointment": invitation.appointment,
        "reminder": reminder,
        "respond_by": invitation.expires_on,
        "contact_phone": getattr(settings, "PARCOURS_ORIENTATION_CONTACT_PHONE", ""),
    }


def render_message(invitation, part, *, reminder=False):
    """Texte d'un message (``email_subject``, ``email``, ``sms``, ``letter``) : gabarits français, surchargeables
    par Département dans ``templates/orientation/messages/<code du Département>/``."""
    base = "convocation" if invitation.is_convocation else "invitation"
    ext = "html" if part == "letter" else "txt"
    template = select_template(_templates(invitation, f"{base}_{part}", ext))
    text = template.render(message_context(invitation, reminder=reminder))
    return " ".join(text.split()) if part in ("email_subject", "sms") else text.strip()


def _dispatch(invitation, *, reminder=False):
    """Envoie le message par le canal de l'invitation ; renvoie (succès, référence, motif d'échec)."""
    if invitation.channel == Channel.EMAIL:
        subject = render_message(invitation, "email_subject", reminder=reminder)
        body = render_message(invitation, "email", reminder=reminder)
        try:
            EmailMultiAlternatives(subject, body, to=[invitation.recipient]).send()
        except Exception as error:  # noqa: BLE001 - tout échec SMTP devient un statut « échec »
            return False, "", f"Échec de l'envoi du courriel : {error}"
        return True, "", ""
    if invitation.channel == Channel.SMS:
        result = sms.send_sms(invitation.recipient, render_message(invitation, "sms", reminder=reminder))
        return result.ok, result.reference, result.error
    # Courrier : la lettre est produite pour impression (page imprimable, seule ou par lot) et part le jour même.
    return True, "", ""


def send_invitation(invitation, *, author, today=None):
    """Envoie une invitation créée : statut « envoyée » (expiration calculée) ou « échec » avec le motif."""
    today = _today(today)
    # Le message annonce la date limite de réponse : elle est fixée avant l'envoi.
    days = get_delay("invitation_validity_days", invitation.beneficiary.departement)
    invitation.expires_on = today + datetime.timedelta(days=days)
    ok, reference, error = _dispatch(invitation)
    if ok:
        return transition_invitation(
            invitation, InvitationStatus.SENT, actor=author, on=today, reference=reference
        )
    return transition_invitation(invitation, InvitationStatus.FAILED, actor=author, on=today, reason=error)


def invite(beneficiary, *, channel, author, today=None, is_convocation=False, appointment=None):
    """Crée et envoie une invitation (ou une convocation à un rendez-vous fixé)."""
    invitation = create_invitation(
        beneficiary,
        channel=channel,
        author=author,
        today=today,
        is_convocation=is_convocation,
        appointment=appointment,
    )
    return send_invitation(invitation, author=author, today=today)


@dataclass
class BulkReport:
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (invitation, motif)
    skipped: list = field(default_factory=list)  # (personne, motif)

    @property
    def summary(self):
        return (
            f"{len(self.sent)} invitation(s) envoyée(s), {len(self.failed)} en échec, "
            f"{len(self.skipped)} personne(s) non invitée(s)."
        )


def invite_many(beneficiaries, *, channel, author, today=None):
    """Invitation en nombre (liste de personnes, campagne de re-contact) : chaque personne à part."""
    report = BulkReport()
    for person in beneficiaries:
        try:
            invitation = invite(person, channel=channel, author=author, today=today)
        except ValidationError as error:
            report.skipped.append((person, " ".join(error.messages)))
            continue
        if invitation.status == InvitationStatus.FAILED:
            report.failed.append((invitation, invitation.failure_reason))
        else:
            report.sent.append(invitation)
    return report


def record_delivery(invitation, *, delivered, on=None, actor=None, reason=""):
    """Statut de distribution (retour du prestataire ou saisie : courrier revenu, SMS non distribué…)."""
    to_status = InvitationStatus.DELIVERED if delivered else InvitationStatus.FAILED
    if not delivered and not reason:
        raise ValidationError("Motif de l'échec : obligatoire.")
    return transition_invitation(invitation, to_status, actor=actor, on=_today(on), reason=reason)


@transaction.atomic
def remind_invitation(invitation, *, actor=None, on=None):
    """Relance (une seule) d'une invitation envoyée par courriel ou SMS restée sans réponse."""
    on = _today(on)
    if invitation.status not in (InvitationStatus.SENT, InvitationStatus.DELIVERED):
        raise ValidationError("Seule une invitation envoyée et sans réponse peut être relancée.")
    if invitation.reminded_on:
        raise ValidationError(f"Invitation déjà relancée le {invitation.reminded_on:%d/%m/%Y}.")
    if invitation.channel == Channel.POSTAL:
        raise ValidationError("Un courrier n'est pas relancé automatiquement : envoyez une convocation.")
    ok, reference, error = _dispatch(invitation, reminder=True)
    if not ok:
        raise ValidationError(error)
    invitation.reminded_on = on
    invitation.save(update_fields=["reminded_on"])
    _log(
        invitation.beneficiary,
        EVENT_INVITATION_REMINDED,
        on=on,
        actor=actor,
        invitation_id=invitation.pk,
        channel=invitation.channel,
        reference=reference,
    )
    return invitation


def invitations_to_remind(today=None):
    """Invitations courriel/SMS envoyées depuis ``invitation_reminder_days`` jours, sans réponse ni relance."""
    today = _today(today)
    candidates = Invitation.objects.filter(
        status__in=[InvitationStatus.SENT, InvitationStatus.DELIVERED],
        reminded_on__isnull=True,
        channel__in=[Channel.EMAIL, Channel.SMS],
        sent_on__isnull=False,
    )
    scope = Q(pk__in=[])
    for departement in Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT):
        days = get_delay("invitation_reminder_days", departement)
        scope |= Q(beneficiary__departement=departement, sent_on__lte=today - datetime.timedelta(days=days))
    return candidates.filter(scope).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))


def send_reminders(today=None, *, actor=None):
    """Relance automatique (défaut : 3e jour après l'envoi) ; renvoie (relancées, échecs)."""
    today = _today(today)
    reminded, errors = [], []
    for invitation in invitations_to_remind(today).select_related("beneficiary__departement", "appointment"):
        try:
            reminded.append(remind_invitation(invitation, actor=actor, on=today))
        except ValidationError as error:
            errors.append((invitation, " ".join(error.messages)))
    return reminded, errors


def expire_invitations(today=None, *, actor=None):
    """Passe à « expirée » les invitations sans réponse dont la date d'expiration est dépassée."""
    today = _today(today)
    expired = []
    overdue = Invitation.objects.filter(
        status__in=[InvitationStatus.SENT, InvitationStatus.DELIVERED], expires_on__lt=today
    ).select_related("beneficiary__departement")
    for invitation in overdue:
        expired.append(transition_invitation(invitation, InvitationStatus.EXPIRED, actor=actor, on=today))
    return expired


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
    on = _today(planned_on)
    _log(
        beneficiary,
        EVENT_APPOINTMENT_PLANNED,
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


@transaction.atomic
def record_attendance(appointment, attendance, *, author, on=None, notes=None):
    """Seule fonction qui saisit la présence à un rendez-vous (venu, excusé, absent, annulé, ou correction)."""
    _check(
        ATTENDANCE_TRANSITIONS, appointment.attendance, attendance, dict(Attendance.choices), "Rendez-vous"
    )
    if attendance in (Attendance.SEEN, Attendance.NO_SHOW) and appointment.starts_at > timezone.now():
        raise ValidationError("La présence ne peut être saisie qu'une fois le rendez-vous commencé.")
    on = _today(on)
    previous = appointment.attendance
    appointment.attendance = attendance
    appointment.attendance_recorded_on = None if attendance == Attendance.PLANNED else on
    if notes is not None:
        appointment.notes = notes
    appointment.save()
    _log(
        appointment.beneficiary,
        ATTENDANCE_EVENTS[attendance],
        # Date métier : le jour du rendez-vous (annulation et correction : le jour de la saisie).
        on=timezone.localdate(appointment.starts_at)
        if attendance in (Attendance.SEEN, Attendance.NO_SHOW, Attendance.EXCUSED)
        else on,
        actor=author,
        appointment_id=appointment.pk,
        appointment_kind=appointment.kind,
        from_attendance=previous,
    )
    return appointment


def appointments_for_agent(user, start, end):
    """Agenda d'un agent : ses rendez-vous entre deux dates (incluses)."""
    return (
        Appointment.objects.filter(professionals=user, starts_at__date__gte=start, starts_at__date__lte=end)
        .select_related("beneficiary")
        .prefetch_related("organisations")
        .order_by("starts_at", "pk")
    )


# --- décision d'orientation -------------------------------------------------------------------------------


def orientation_organisations(departement):
    """Organismes vers lesquels le Département peut orienter (lui-même et ses partenaires)."""
    return Organisation.objects.filter(Q(pk=departement.pk) | Q(departement=departement)).exclude(
        kind__in=[OrganisationKind.ETAT, OrganisationKind.STRUCTURE]
    )


def current_orientation(beneficiary):
    return beneficiary.orientation_decisions.filter(is_current=True).select_related("organisation").first()


@transaction.atomic
def transition_decision(decision, to_status, *, actor, on, reason=""):
    """Seule fonction qui change le statut d'une décision : notification ou annulation."""
    _check(DECISION_TRANSITIONS, decision.status, to_status, dict(DecisionStatus.choices), "Orientation")
    beneficiary = decision.beneficiary
    if to_status == DecisionStatus.NOTIFIED:
        if on < decision.decided_on:
            raise ValidationError({"notified_on": "Date de notification : antérieure à la décision."})
        decision.status = to_status
        decision.notified_on = on
        decision.save(update_fields=["status", "notified_on"])
        _log(
            beneficiary,
            EVENT_REORIENTED if decision.is_reorientation else EVENT_ORIENTED,
            on=on,
            actor=actor,
            organisation=decision.organisation,
            decision_id=decision.pk,
            pathway=decision.pathway,
            code=decision.france_travail_code,
            decided_on=decision.decided_on.isoformat(),
        )
        return decision
    if not reason:
        raise ValidationError({"reason": "Motif de l'annulation : obligatoire."})
    decision.status = to_status
    was_current = decision.is_current
    decision.is_current = False
    decision.save(update_fields=["status", "is_current"])
    if was_current:
        previous = (
            beneficiary.orientation_decisions.exclude(status=DecisionStatus.CANCELLED)
            .exclude(pk=decision.pk)
            .order_by("-decided_on", "-pk")
            .first()
        )
        if previous:
            previous.is_current = True
            previous.save(update_fields=["is_current"])
    _log(beneficiary, EVENT_ORIENTATION_CANCELLED, on=on, actor=actor, decision_id=decision.pk, reason=reason)
    return decision


@transaction.atomic
def decide_orientation(
    beneficiary,
    *,
    pathway,
    organisation,
    author,
    decided_on=None,
    notified_on=None,
    reason="",
    proposal_rule="",
    is_reorientation=None,
):
    """Décision d'orientation (elle devient l'orientation en vigueur ; l'ancienne reste dans l'historique).

    ``notified_on`` : date d'envoi du courrier de notification (ou de désignation du référent) ; sans elle,
    la décision attend d'être notifiée (``notify_orientation``). C'est la date de notification qui compte
    pour l'objectif des 15 jours et fait courir le délai du contrat d'engagement.
    """
    decided_on = _today(decided_on)
    if pathway not in Pathway.values:
        raise ValidationError({"pathway": f"Parcours : « {pathway} » n'est pas un parcours connu."})
    if organisation is None:
        raise ValidationError({"organisation": "Organisme d'orientation : obligatoire."})
    departement_id = beneficiary.departement_id
    if organisation.pk != departement_id and organisation.departement_id != departement_id:
        raise ValidationError(
            {
                "organisation": f"Organisme d'orientation : {organisation} ne relève pas du Département de la personne."
            }
        )
    previous = current_orientation(beneficiary)
    if is_reorientation is None:
        t0 = beneficiary.new_entrant_t0
        is_reorientation = bool(
            previous
            and previous.status == DecisionStatus.NOTIFIED
            and (t0 is None or previous.decided_on >= t0)
        )
    if previous:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    decision = OrientationDecision.objects.create(
        beneficiary=beneficiary,
        pathway=pathway,
        organisation=organisation,
        decided_on=decided_on,
        reason=reason,
        proposal_rule=proposal_rule,
        decided_by=author,
        is_reorientation=is_reorientation,
    )
    _log(
        beneficiary,
        EVENT_ORIENTATION_DECIDED,
        on=decided_on,
        actor=author,
        organisation=organisation,
        decision_id=decision.pk,
        pathway=pathway,
        code=decision.france_travail_code,
        reorientation=is_reorientation or None,
        previous_decision_id=previous.pk if previous else None,
    )
    if notified_on:
        transition_decision(decision, DecisionStatus.NOTIFIED, actor=author, on=notified_on)
    return decision


def notify_orientation(decision, *, author, notified_on=None):
    return transition_decision(decision, DecisionStatus.NOTIFIED, actor=author, on=_today(notified_on))


def cancel_orientation(decision, *, author, reason, on=None):
    return transition_decision(decision, DecisionStatus.CANCELLED, actor=author, on=_today(on), reason=reason)


def render_decision_letter(decision):
    """Courrier de notification d'une orientation (gabarit par Département, sinon gabarit commun)."""
    person = decision.beneficiary
    code = person.departement.departement_code if person.departement else ""
    names = [f"orientation/messages/{code}/decision_letter.html"] if code else []
    template = select_template([*names, "orientation/messages/decision_letter.html"])
    return template.render(
        {"decision": decision, "person": person, "departement": person.departement}
    ).strip()


def orientation_history(beneficiary):
    return beneficiary.orientation_decisions.select_related("organisation", "decided_by").order_by(
        "-decided_on", "-pk"
    )


# --- dispenses --------------------------------------------------------------------------------------------


@transaction.atomic
def add_exemption(beneficiary, *, reason, author, starts_on=None, ends_on=None, details=""):
    starts_on = _today(starts_on)
    if reason not in ExemptionReason.values:
        raise ValidationError({"reason": "Motif de dispense : choisissez un motif de la liste."})
    if reason == ExemptionReason.OTHER and not details.strip():
        raise ValidationError({"details": "Précisions : obligatoires pour un autre motif."})
    if ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": "Fin de la dispense : antérieure à son début."})
    exemption = OrientationExemption.objects.create(
        beneficiary=beneficiary,
        reason=reason,
        details=details.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        decided_by=author,
    )
    _log(
        beneficiary,
        EVENT_EXEMPTED,
        on=starts_on,
        actor=author,
        exemption_id=exemption.pk,
        reason=reason,
        ends_on=ends_on.isoformat() if ends_on else None,
    )
    return exemption


@transaction.atomic
def end_exemption(exemption, *, author, ended_on=None):
    ended_on = _today(ended_on)
    if exemption.ends_on and exemption.ends_on < ended_on:
        raise ValidationError("Cette dispense est déjà terminée.")
    exemption.ends_on = ended_on
    exemption.save(update_fields=["ends_on"])
    _log(exemption.beneficiary, EVENT_EXEMPTION_ENDED, on=ended_on, actor=author, exemption_id=exemption.pk)
    return exemption


def active_exemption(beneficiary, today=None):
    today = _today(today)
    return (
        beneficiary.orientation_exemptions.filter(starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .first()
    )


# --- réorientation ----------------------------------------------------------------------------------------


@transaction.atomic
def request_reorientation(beneficiary, *, pathway, reason, author, requested_on=None, organisation=None):
    """Demande de réorientation (référent ou personne) : à décider par un chargé d'orientation."""
    requested_on = _today(requested_on)
    if current_orientation(beneficiary) is None:
        raise ValidationError("Réorientation impossible : la personne n'a pas encore d'orientation.")
    if pathway not in Pathway.values:
        raise ValidationError({"pathway": "Parcours demandé : choisissez un parcours."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Motif de la demande : obligatoire."})
    if beneficiary.reorientation_requests.filter(status=RequestStatus.PENDING).exists():
        raise ValidationError("Une demande de réorientation est déjà en attente pour cette personne.")
    request = ReorientationRequest.objects.create(
        beneficiary=beneficiary,
        requested_pathway=pathway,
        requested_organisation=organisation,
        reason=reason.strip(),
        requested_on=requested_on,
        requested_by=author,
    )
    _log(
        beneficiary,
        EVENT_REORIENTATION_REQUESTED,
        on=requested_on,
        actor=author,
        request_id=request.pk,
        pathway=pathway,
        organisation_id=organisation.pk if organisation else None,
    )
    return request


@transaction.atomic
def decide_reorientation(
    request, *, accept, author, decided_on=None, reason="", organisation=None, pathway=None, notified_on=None
):
    """Décision d'un chargé d'orientation (ou administrateur) du Département sur une demande de réorientation."""
    decided_on = _today(decided_on)
    beneficiary = request.beneficiary
    if not permissions.can_manage(author, beneficiary):
        raise ValidationError(
            "Seul un chargé d'orientation du Département de la personne décide d'une réorientation."
        )
    if request.status != RequestStatus.PENDING:
        raise ValidationError("Cette demande de réorientation a déjà été décidée.")
    if not accept and not (reason or "").strip():
        raise ValidationError({"reason": "Motif du refus : obligatoire."})
    decision = None
    if accept:
        organisation = organisation or request.requested_organisation
        if organisation is None:
            raise ValidationError({"organisation": "Organisme d'orientation : obligatoire."})
        decision = decide_orientation(
            beneficiary,
            pathway=pathway or request.requested_pathway,
            organisation=organisation,
            author=author,
            decided_on=decided_on,
            notified_on=notified_on,
            reason=reason or request.reason,
            is_reorientation=True,
        )
    request.status = RequestStatus.ACCEPTED if accept else RequestStatus.REFUSED
    request.decided_on = decided_on
    request.decided_by = author
    request.decision_reason = (reason or "").strip()
    request.resulting_decision = decision
    request.save()
    _log(
        beneficiary,
        EVENT_REORIENTATION_ACCEPTED if accept else EVENT_REORIENTATION_REFUSED,
        on=decided_on,
        actor=author,
        request_id=request.pk,
        decision_id=decision.pk if decision else None,
        reason=request.decision_reason,
    )
    return request


def pending_reorientation_requests(scope):
    return (
        ReorientationRequest.objects.filter(beneficiary__in=scope.values("pk"), status=RequestStatus.PENDING)
        .select_related("beneficiary", "requested_by", "requested_organisation")
        .order_by("requested_on", "pk")
    )


# --- proposition d'orientation ----------------------------------------------------------------------------

SOCIAL_BARRIER_THEMES = [
    "sante",
    "logement",
    "justice",
    "difficultes_administratives",
    "difficultes_financieres",
]

# Critères par défaut, dans l'ordre (la première règle vérifiée l'emporte) ; un Département les remplace
# par ses propres ``ProposalRule`` (administration).
DEFAULT_PROPOSAL_RULES = [
    {
        "label": "Plusieurs freins sociaux bloquants (au moins 3 thèmes)",
        "criteria": {"barriers_min": 3},
        "pathway": Pathway.SOCIAL,
        "organisation_kind": OrganisationKind.DEPARTEMENT,
    },
    {
        "label": "Reconnaissance de la qualité de travailleur handicapé",
        "criteria": {"rqth": True},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.CAP_EMPLOI,
    },
    {
        "label": "Moins de 26 ans",
        "criteria": {"age_max": 25},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.MISSION_LOCALE,
    },
    {
        "label": "Un frein social identifié (santé, logement, justice, administratif, finances)",
        "criteria": {"barriers_any": SOCIAL_BARRIER_THEMES},
        "pathway": Pathway.SOCIO_PROFESSIONNEL,
        "organisation_kind": OrganisationKind.DEPARTEMENT,
    },
    {
        "label": "Proche de l'emploi (par défaut)",
        "criteria": {},
        "pathway": Pathway.EMPLOI,
        "organisation_kind": OrganisationKind.FRANCE_TRAVAIL,
    },
]

KNOWN_CRITERIA = {"age_min", "age_max", "france_travail_registered", "barriers_any", "barriers_min", "rqth"}


def _age(birth_date, today):
    if not birth_date:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def person_facts(beneficiary, today=None, extra=None):
    """Ce que l'on sait de la personne pour la proposition : âge, inscription France Travail, freins…

    Les freins (``barriers`` : codes de thèmes du diagnostic) et la RQTH viennent des fournisseurs déclarés
    dans ``PARCOURS_ORIENTATION_FACT_PROVIDERS`` (fonctions ``f(beneficiary) -> dict``, ex. le diagnostic
    partagé) ou de ``extra``.
    """
    facts = {
        "age": _age(beneficiary.birth_date, _today(today)),
        "france_travail_registered": bool(beneficiary.france_travail_id),
        "barriers": set(),
        "rqth": None,
    }
    for path in getattr(settings, "PARCOURS_ORIENTATION_FACT_PROVIDERS", []):
        facts.update(import_string(path)(beneficiary) or {})
    facts.update(extra or {})
    facts["barriers"] = set(facts.get("barriers") or ())
    return facts


def criteria_match(criteria, facts):
    """Vrai si toutes les conditions de ``criteria`` sont vérifiées (une condition inconnue n'est jamais vraie)."""
    for key, expected in criteria.items():
        if key not in KNOWN_CRITERIA:
            return False
        if key == "age_min" and (facts["age"] is None or facts["age"] < expected):
            return False
        if key == "age_max" and (facts["age"] is None or facts["age"] > expected):
            return False
        if key == "france_travail_registered" and facts["france_travail_registered"] != bool(expected):
            return False
        if key == "barriers_any" and not (facts["barriers"] & set(expected)):
            return False
        if key == "barriers_min" and len(facts["barriers"]) < expected:
            return False
        if key == "rqth" and facts.get("rqth") != bool(expected):
            return False
    return True


@dataclass
class Proposal:
    pathway: str
    organisation: object
    rule: str
    code: str = ""

    @property
    def pathway_label(self):
        return Pathway(self.pathway).label


class Proposer:
    """Proposition d'orientation pour les personnes d'un Département (règles et organismes lus une fois)."""

    def __init__(self, departement):
        self.departement = departement
        rules = list(
            ProposalRule.objects.filter(departement=departement, is_active=True).order_by("position", "pk")
        )
        self.rules = (
            [
                {
                    "label": r.label,
                    "criteria": r.criteria,
                    "pathway": r.pathway,
                    "organisation_kind": r.organisation_kind,
                }
                for r in rules
            ]
            if rules
            else DEFAULT_PROPOSAL_RULES
        )
        self.organisations = list(orientation_organisations(departement).order_by("name", "pk"))

    def organisation_for(self, kind, beneficiary):
        if kind == OrganisationKind.DEPARTEMENT or not kind:
            return self.departement
        candidates = [o for o in self.organisations if o.kind == kind]
        same_territory = [
            o for o in candidates if o.territory_id and o.territory_id == beneficiary.territory_id
        ]
        chosen = (same_territory or candidates or [None])[0]
        return chosen

    def propose(self, beneficiary, *, today=None, facts=None):
        facts = person_facts(beneficiary, today, facts)
        for rule in self.rules:
            if criteria_match(rule["criteria"], facts):
                organisation = self.organisation_for(rule["organisation_kind"], beneficiary)
                if organisation is None:
                    continue  # pas d'organisme de ce type dans le Département : règle suivante
                from .models import FRANCE_TRAVAIL_CODES

                return Proposal(
                    rule["pathway"], organisation, rule["label"], FRANCE_TRAVAIL_CODES[rule["pathway"]]
                )
        return None


def propose_orientation(beneficiary, *, today=None, facts=None):
    """Proposition (parcours + organisme + critère retenu) ; la décision reste humaine."""
    return Proposer(beneficiary.departement).propose(beneficiary, today=today, facts=facts)


@dataclass
class BatchResult:
    decided: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (personne, motif)


def validate_orientations(items, *, author, decided_on=None, notified_on=None):
    """Écran par lot : ``items`` = [(personne, parcours, organisme, critère)], une décision par personne."""
    result = BatchResult()
    for person, pathway, organisation, rule in items:
        if not permissions.can_manage(author, person):
            result.errors.append((person, "hors de votre périmètre"))
            continue
        try:
            result.decided.append(
                decide_orientation(
                    person,
                    pathway=pathway,
                    organisation=organisation,
                    author=author,
                    decided_on=decided_on,
                    notified_on=notified_on,
                    proposal_rule=rule or "",
                )
            )
        except ValidationError as error:
            result.errors.append((person, " ".join(error.messages)))
    return result


# --- référent unique et portefeuilles ---------------------------------------------------------------------


def portfolio_cap(organisation):
    """(taille cible du portefeuille d'un référent, politique au-delà : avertir / refuser)."""
    try:
        cap = organisation.portfolio_cap
    except PortfolioCap.DoesNotExist:
        return int(getattr(settings, "PARCOURS_PORTFOLIO_CAP", 60)), CapPolicy.WARN
    return cap.cap, cap.policy


def portfolio_size(referent):
    return ReferentAssignment.objects.filter(referent=referent, ended_on__isnull=True).count()


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


def _close_follow_up(beneficiary, organisation, on, reason):
    FollowUp.objects.filter(beneficiary=beneficiary, organisation=organisation, ended_on__isnull=True).update(
        ended_on=on, end_reason=reason[:200]
    )


@transaction.atomic
def end_referent(assignment, *, author, ended_on=None, reason, _keep_follow_up=False):
    """Fin de la désignation (sortie, réorientation…) ; clôt aussi le suivi de l'organisation."""
    ended_on = _today(ended_on)
    if assignment.ended_on:
        raise ValidationError("Cette désignation est déjà terminée.")
    if ended_on < assignment.started_on:
        raise ValidationError({"ended_on": "Fin de la désignation : antérieure à son début."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Motif de fin : obligatoire."})
    assignment.ended_on = ended_on
    assignment.end_reason = reason.strip()[:300]
    assignment.save(update_fields=["ended_on", "end_reason"])
    if not _keep_follow_up:
        _close_follow_up(assignment.beneficiary, assignment.organisation, ended_on, reason)
    _log(
        assignment.beneficiary,
        EVENT_REFERENT_ENDED,
        on=ended_on,
        actor=author,
        organisation=assignment.organisation,
        assignment_id=assignment.pk,
        referent_id=assignment.referent_id,
        reason=assignment.end_reason,
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
    started_on = _today(started_on)
    if not Membership.objects.filter(user=referent, organisation=organisation, is_active=True).exists():
        raise ValidationError({"referent": f"Référent : {referent} n'est pas agent de {organisation}."})
    departement_id = beneficiary.departement_id
    if organisation.pk != departement_id and organisation.departement_id != departement_id:
        raise ValidationError(
            {"organisation": f"{organisation} ne relève pas du Département de la personne."}
        )
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
        message = (
            f"Le portefeuille de {referent} compte déjà {size} personne(s) pour une taille cible de {cap}."
        )
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
    follow_up = FollowUp.objects.filter(
        beneficiary=beneficiary, organisation=organisation, ended_on__isnull=True
    ).first()
    if follow_up:
        follow_up.referent = referent
        follow_up.save(update_fields=["referent"])
    else:
        FollowUp.objects.create(
            beneficiary=beneficiary, organisation=organisation, referent=referent, started_on=started_on
        )
    _log(
        beneficiary,
        EVENT_REFERENT_ASSIGNED,
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
    users = (
        User.objects.filter(
            memberships__organisation=organisation,
            memberships__is_active=True,
            memberships__role=Role.REFERENT,
        )
        .annotate(
            load=Count(
                "referent_assignments",
                filter=Q(referent_assignments__ended_on__isnull=True),
                distinct=True,
            )
        )
        .order_by("load", "last_name", "pk")
    )
    return [{"referent": u, "load": u.load, "cap": cap, "remaining": cap - u.load} for u in users]


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


def stock_without_orientation(scope):
    """« Stock » : personnes soumises aux droits et devoirs, droit versable, sans orientation ni référent en
    cours (campagnes de re-contact)."""
    return (
        scope.filter(is_sdd=True, rsa_state="2")
        .filter(~Exists(OrientationDecision.objects.filter(beneficiary=OuterRef("pk"), is_current=True)))
        .filter(~Exists(ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True)))
        .order_by("last_name", "first_name", "pk")
    )
