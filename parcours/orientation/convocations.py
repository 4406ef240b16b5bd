"""Convocations en nombre : les personnes restées sans réponse à leur invitation (ou absentes à leur rendez-vous
d'orientation) sont convoquées en une action à un rendez-vous fixé par l'agent.

Pour chaque personne cochée, dans sa propre transaction (l'échec de l'une n'empêche pas les autres) :

1. un rendez-vous d'orientation est fixé (``appointments.schedule_appointment`` : journal, files) — le même
   créneau pour toutes (réunion d'information collective) ou des créneaux successifs (``spacing_minutes``) ;
2. une convocation (``Invitation.is_convocation``) par canal choisi et joignable : courrier (lettre à imprimer,
   un PDF d'une page par personne), SMS et courriel (messages des rendez-vous, dans la plage 8 h - 20 h ;
   la convocation passe « envoyée » avec le message) ;
3. la personne sans aucune coordonnée pour les canaux choisis n'est pas convoquée (rien n'est écrit).

Le compte rendu dit en français ce qui est parti et ce qui manque (« 12 convocations envoyées, 2 sans
téléphone »). Règle de la convocation : faute de réponse à l'invitation, la personne est convoquée à un
rendez-vous fixé ; une absence sans motif légitime peut ouvrir une procédure de suspension (CASF L262-37).
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from parcours.core.text import plural

from . import appointment_messages
from .appointments import schedule_appointment
from .common import default_today
from .invitations import _recipient, create_invitation, send_invitation
from .models import AppointmentKind, AppointmentMessage, Channel, InvitationStatus, MessageStatus

MISSING_LABELS = {
    Channel.SMS: "sans téléphone mobile",
    Channel.EMAIL: "sans adresse électronique",
    Channel.POSTAL: "sans adresse postale complète",
}


@dataclass
class ConvocationReport:
    convoked: list = field(default_factory=list)  # rendez-vous fixés (un par personne convoquée)
    letters: list = field(default_factory=list)  # convocations par courrier, à imprimer
    missing: dict = field(default_factory=dict)  # canal → personnes sans cette coordonnée
    skipped: list = field(default_factory=list)  # (personne, motif) : non convoquées
    failed: list = field(default_factory=list)  # (personne, canal, motif) : message en échec
    deferred: int = 0  # messages reportés à l'ouverture de la plage d'envoi

    @property
    def summary(self):
        parts = [plural(len(self.convoked), "convocation envoyée", "convocations envoyées")]
        for channel, label in MISSING_LABELS.items():
            if self.missing.get(channel):
                parts.append(f"{len(self.missing[channel])} {label}")
        if self.skipped:
            parts.append(plural(len(self.skipped), "personne non convoquée", "personnes non convoquées"))
        if self.failed:
            parts.append(plural(len(self.failed), "message en échec", "messages en échec"))
        text = ", ".join(parts) + "."
        if self.deferred:
            start, _ = appointment_messages.window()
            text += (
                f" {plural(self.deferred, 'message partira', 'messages partiront')} à {start} h "
                "(aucun envoi de 20 h à 8 h)."
            )
        return text


def convoke(
    people,
    *,
    starts_at,
    place,
    author,
    channels,
    duration_minutes=60,
    spacing_minutes=0,
    professionals=(),
    now=None,
):
    """Convoque chaque personne de ``people`` (dans l'ordre donné) ; renvoie un ``ConvocationReport``."""
    now = now or timezone.now()
    today = default_today(timezone.localdate(now))
    channels = [Channel(c) for c in channels]
    if not channels:
        raise ValidationError({"channels": "Choisissez au moins un canal."})
    if starts_at is None or starts_at <= now:
        raise ValidationError({"starts_at": "Le rendez-vous doit être fixé dans le futur."})
    report = ConvocationReport()
    messages_channels = [c for c in channels if c != Channel.POSTAL]
    for index, person in enumerate(people):
        reachable = []
        for channel in channels:
            try:
                _recipient(person, channel)
            except ValidationError:
                report.missing.setdefault(channel, []).append(person)
            else:
                reachable.append(channel)
        if not reachable:
            report.skipped.append(
                (person, f"{person.full_name} : aucune coordonnée pour les canaux choisis.")
            )
            continue
        slot = starts_at + datetime.timedelta(minutes=spacing_minutes * index)
        try:
            with transaction.atomic():
                appointment = schedule_appointment(
                    person,
                    starts_at=slot,
                    place=place,
                    author=author,
                    kind=AppointmentKind.ORIENTATION,
                    professionals=professionals,
                    organisations=[person.departement] if person.departement_id else [],
                    duration_minutes=duration_minutes,
                    notes="Convocation faute de réponse à l'invitation.",
                    planned_on=today,
                )
                for channel in reachable:
                    invitation = create_invitation(
                        person,
                        channel=channel,
                        author=author,
                        today=today,
                        is_convocation=True,
                        appointment=appointment,
                    )
                    if channel == Channel.POSTAL:
                        invitation = send_invitation(invitation, author=author, today=today)
                        if invitation.status == InvitationStatus.SENT:
                            report.letters.append(invitation)
                if any(c in reachable for c in messages_channels):
                    sent = appointment_messages.notify(
                        appointment,
                        "convocation",
                        actor=author,
                        now=now,
                        channels=[c for c in reachable if c in messages_channels],
                    )
                    report.deferred += sum(1 for m in sent if m.scheduled_for > now)
        except ValidationError as error:
            report.skipped.append((person, f"{person.full_name} : {' '.join(error.messages)}"))
            continue
        report.convoked.append(appointment)
    failed = AppointmentMessage.objects.filter(
        appointment__in=[a.pk for a in report.convoked], status=MessageStatus.FAILED
    ).select_related("appointment__beneficiary")
    for message in failed:
        report.failed.append((message.appointment.beneficiary, message.channel, message.failure_reason))
    return report
