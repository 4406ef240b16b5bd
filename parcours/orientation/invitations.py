"""Invitations et convocations au rendez-vous d'orientation : création, envoi, relance, expiration."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import (
    Q,
)
from django.template.loader import select_template

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.core.delays import get_delay
from parcours.core.text import plural
from parcours.journal.models import EventKind
from parcours.journal.transitions import Workflow, transition

from . import permissions, sms
from .common import copy_back, default_today, log_event
from .models import (
    INVITATION_TRANSITIONS,
    Channel,
    Invitation,
    InvitationStatus,
)

INVITATION_EVENTS = {
    InvitationStatus.SENT: EventKind.INVITED,  # occurred_on = date d'envoi
    InvitationStatus.DELIVERED: EventKind.INVITATION_DELIVERED,
    InvitationStatus.FAILED: EventKind.INVITATION_FAILED,
    InvitationStatus.ANSWERED: EventKind.INVITATION_ANSWERED,
    InvitationStatus.EXPIRED: EventKind.INVITATION_EXPIRED,
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


INVITATION_WORKFLOW = Workflow("Invitation", InvitationStatus, INVITATION_TRANSITIONS)


def transition_invitation(invitation, to_status, *, actor, on, reason="", reference=""):
    """Seule fonction qui change le statut d'une invitation : table des passages, ligne verrouillée et relue,
    champs datés, événement du journal dans la même transaction (``journal.transitions``)."""
    departement = invitation.beneficiary.departement

    def apply(locked):
        if to_status == InvitationStatus.SENT:
            locked.sent_on = on
            locked.sent_by = actor if getattr(actor, "pk", None) else None
            locked.provider_reference = reference or locked.provider_reference
            days = get_delay("invitation_validity_days", departement)
            locked.expires_on = on + datetime.timedelta(days=days)
        elif to_status == InvitationStatus.DELIVERED:
            locked.delivered_on = on
        elif to_status == InvitationStatus.FAILED:
            locked.failure_reason = reason[:300]
        elif to_status == InvitationStatus.ANSWERED:
            locked.answered_on = on
        elif to_status == InvitationStatus.EXPIRED:
            locked.expired_on = on

    locked = transition(
        invitation,
        to_status,
        workflow=INVITATION_WORKFLOW,
        actor=actor if getattr(actor, "pk", None) else None,
        on=on,
        event=INVITATION_EVENTS[to_status],
        payload=lambda locked, previous: {
            "invitation_id": locked.pk,
            "channel": locked.channel,
            "convocation": locked.is_convocation or None,
            "from_status": previous,
            "reason": reason,
        },
        apply=apply,
    )
    return copy_back(invitation, locked)


@transaction.atomic
def create_invitation(beneficiary, *, channel, author, today=None, is_convocation=False, appointment=None):
    """Crée une invitation (statut « créée ») après avoir vérifié les coordonnées du canal."""
    permissions.require_team(author, beneficiary, "Invitation")
    today = default_today(today)
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
    log_event(
        beneficiary,
        EventKind.INVITATION_CREATED,
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
    context = {
        "invitation": invitation,
        "person": person,
        "departement": person.departement,
        "appointment": invitation.appointment,
        "reminder": reminder,
        "respond_by": invitation.expires_on,
        "contact_phone": getattr(settings, "PARCOURS_ORIENTATION_CONTACT_PHONE", ""),
    }
    # Lien signé de prise de rendez-vous, QR code du courrier et numéro à appeler (parcours.booking).
    from parcours.booking.messages import invitation_context

    booking = invitation_context(invitation)
    context.update(booking, contact_phone=booking["contact_phone"] or context["contact_phone"])
    return context


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
    today = default_today(today)
    # Le message annonce la date limite de réponse : elle est fixée avant l'envoi.
    days = get_delay("invitation_validity_days", invitation.beneficiary.departement)
    invitation.expires_on = today + datetime.timedelta(days=days)
    invitation.save(update_fields=["expires_on"])
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
            f"{plural(len(self.sent), 'invitation envoyée', 'invitations envoyées')}, {len(self.failed)} en échec, "
            f"{plural(len(self.skipped), 'personne non invitée', 'personnes non invitées')}."
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
    return transition_invitation(invitation, to_status, actor=actor, on=default_today(on), reason=reason)


@transaction.atomic
def remind_invitation(invitation, *, actor=None, on=None):
    """Relance (une seule) d'une invitation envoyée par courriel ou SMS restée sans réponse."""
    on = default_today(on)
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
    log_event(
        invitation.beneficiary,
        EventKind.INVITATION_REMINDED,
        on=on,
        actor=actor,
        invitation_id=invitation.pk,
        channel=invitation.channel,
        reference=reference,
    )
    return invitation


def invitations_to_remind(today=None):
    """Invitations courriel/SMS envoyées depuis ``invitation_reminder_days`` jours, sans réponse ni relance."""
    today = default_today(today)
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
    today = default_today(today)
    reminded, errors = [], []
    for invitation in invitations_to_remind(today).select_related("beneficiary__departement", "appointment"):
        try:
            reminded.append(remind_invitation(invitation, actor=actor, on=today))
        except ValidationError as error:
            errors.append((invitation, " ".join(error.messages)))
    return reminded, errors


def expire_invitations(today=None, *, actor=None):
    """Passe à « expirée » les invitations sans réponse dont la date d'expiration est dépassée."""
    today = default_today(today)
    expired = []
    overdue = Invitation.objects.filter(
        status__in=[InvitationStatus.SENT, InvitationStatus.DELIVERED], expires_on__lt=today
    ).select_related("beneficiary__departement")
    for invitation in overdue:
        expired.append(transition_invitation(invitation, InvitationStatus.EXPIRED, actor=actor, on=today))
    return expired
