"""Messages des rendez-vous : confirmation, déplacement, annulation, rappels, convocation (courriel et SMS).

Règles :

- chaque message est d'abord **écrit** (``AppointmentMessage``, « en attente ») avec son texte et son heure
  d'envoi, puis envoyé par les prestataires existants (courriel de Django, ``orientation/sms.py``) ; son statut
  de distribution (envoyé, distribué, échec et motif, référence du prestataire) reste consigné ;
- un message n'est **jamais envoyé deux fois** : une ligne par rendez-vous, sorte, canal et clé (contrainte
  d'unicité), verrouillée et relue avant l'envoi ;
- **aucun message entre 20 h et 8 h** (heure de Paris, bornes ``PARCOURS_MESSAGE_HOURS``) : un message prévu
  en dehors de la plage est reporté à l'ouverture suivante, jamais abandonné ;
- rappel la veille du rendez-vous, et second rappel facultatif (délais ``appointment_reminder_days`` et
  ``appointment_second_reminder_days`` de ``PARCOURS_DELAYS``, par Département) : préparés et envoyés par la
  tâche de fond ``messages-rendez-vous`` pour tout rendez-vous prévu, quelle que soit la voie qui l'a fixé ;
- gabarits français par sorte et par canal, surchargeables par Département
  (``templates/orientation/messages/<code du Département>/appointment_<sorte>_<partie>.txt``), avec l'adresse et
  le téléphone à joindre (``PARCOURS_ORIENTATION_CONTACTS``).

``notify(appointment, kind)`` est l'entrée unique des autres modules (prise de rendez-vous en ligne,
convocations, annulation) ; ``send_due()`` est la tâche de fond.
"""

import datetime
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import select_template
from django.utils import timezone

from parcours.core.delays import get_delay

from . import sms
from .models import (
    Appointment,
    AppointmentMessage,
    Attendance,
    Channel,
    MessageKind,
    MessageStatus,
)

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
KINDS = tuple(MessageKind.values)
# Sortes qui annoncent un rendez-vous à venir : elles n'ont plus de sens une fois le rendez-vous passé ou annulé.
ANNOUNCING = (MessageKind.CONFIRMATION, MessageKind.MOVED, MessageKind.REMINDER, MessageKind.CONVOCATION)
MESSAGE_CHANNELS = (Channel.EMAIL, Channel.SMS)


# --- plage horaire ----------------------------------------------------------------------------------------


def window():
    """Bornes de la plage d'envoi (heures pleines, heure de Paris) : (8, 20) par défaut."""
    start, end = getattr(settings, "PARCOURS_MESSAGE_HOURS", (8, 20))
    return int(start), int(end)


def within_window(moment):
    """Vrai si ``moment`` est dans la plage d'envoi (de 8 h incluse à 20 h exclue, heure de Paris)."""
    start, end = window()
    local = moment.astimezone(PARIS)
    return start <= local.hour < end


def next_allowed(moment):
    """Le premier instant d'envoi autorisé à partir de ``moment`` : lui-même dans la plage, sinon l'ouverture
    suivante (8 h le jour même avant 8 h, 8 h le lendemain après 20 h)."""
    if within_window(moment):
        return moment
    start, _ = window()
    local = moment.astimezone(PARIS)
    day = local.date() if local.hour < start else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(start), tzinfo=PARIS)


def _clamp_to_day(day, time_of_day):
    """Le jour ``day`` à l'heure ``time_of_day`` ramenée dans la plage d'envoi (rappels : le bon jour)."""
    start, end = window()
    moment = datetime.datetime.combine(day, time_of_day, tzinfo=PARIS)
    earliest = datetime.datetime.combine(day, datetime.time(start), tzinfo=PARIS)
    latest = datetime.datetime.combine(day, datetime.time(end - 1, 30), tzinfo=PARIS)
    return min(max(moment, earliest), latest)


# --- destinataires et textes ------------------------------------------------------------------------------


def contacts(person):
    """Canaux joignables d'une personne : [(canal, destinataire)] — courriel connu, mobile valide."""
    found = []
    if person.email:
        found.append((Channel.EMAIL, person.email))
    phone = sms.normalise_phone(person.phone)
    if phone:
        found.append((Channel.SMS, phone))
    return found


def contact_details(departement):
    """Téléphone et adresse à citer dans les messages du Département (réglage, sinon numéro général)."""
    code = getattr(departement, "departement_code", "") or ""
    details = dict(getattr(settings, "PARCOURS_ORIENTATION_CONTACTS", {}).get(code, {}))
    details.setdefault("phone", getattr(settings, "PARCOURS_ORIENTATION_CONTACT_PHONE", ""))
    details.setdefault("address", "")
    return details


def _template_names(departement, name):
    code = getattr(departement, "departement_code", "") or ""
    names = [f"orientation/messages/{code}/{name}.txt"] if code else []
    return [*names, f"orientation/messages/{name}.txt"]


def message_context(appointment, kind, *, previous_starts_at=None):
    person = appointment.beneficiary
    departement = person.departement
    details = contact_details(departement)
    organisations = list(appointment.organisations.all())
    return {
        "appointment": appointment,
        "person": person,
        "departement": departement,
        "organisation": organisations[0] if organisations else departement,
        "kind": kind,
        "reminder": False,
        "previous_starts_at": previous_starts_at,
        "starts_at": timezone.localtime(appointment.starts_at, PARIS),
        "contact_phone": details["phone"],
        "contact_address": details["address"],
    }


def render(appointment, kind, part, *, previous_starts_at=None):
    """Texte d'une partie (``sms``, ``email``, ``email_subject``) d'un message : gabarit du Département s'il
    existe. La convocation reprend les gabarits des convocations (``convocation_<partie>.txt``)."""
    name = f"convocation_{part}" if kind == MessageKind.CONVOCATION else f"appointment_{kind}_{part}"
    template = select_template(_template_names(appointment.beneficiary.departement, name))
    text = template.render(message_context(appointment, kind, previous_starts_at=previous_starts_at))
    return " ".join(text.split()) if part in ("sms", "email_subject") else text.strip()


# --- préparation ------------------------------------------------------------------------------------------


def _starts_key(appointment):
    return timezone.localtime(appointment.starts_at, PARIS).strftime("%Y-%m-%dT%H:%M")


def _queue(appointment, kind, channel, recipient, *, key, scheduled_for, actor=None, previous_starts_at=None):
    """Écrit un message « en attente » (ou renvoie celui qui existe déjà pour la même clé)."""
    existing = AppointmentMessage.objects.filter(
        appointment=appointment, kind=kind, channel=channel, key=key
    ).first()
    if existing is not None:
        return existing, False
    subject = ""
    if channel == Channel.EMAIL:
        subject = render(appointment, kind, "email_subject", previous_starts_at=previous_starts_at)[:300]
        body = render(appointment, kind, "email", previous_starts_at=previous_starts_at)
    else:
        body = render(appointment, kind, "sms", previous_starts_at=previous_starts_at)
    try:
        with transaction.atomic():
            message = AppointmentMessage.objects.create(
                appointment=appointment,
                kind=kind,
                channel=channel,
                key=key,
                recipient=recipient,
                subject=subject,
                body=body,
                scheduled_for=next_allowed(scheduled_for),
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:  # préparé au même moment par un autre processus
        return AppointmentMessage.objects.get(
            appointment=appointment, kind=kind, channel=channel, key=key
        ), False
    return message, True


def cancel_queued(appointment, *, kinds=ANNOUNCING, keep_key=None):
    """Annule les messages encore en attente d'un rendez-vous (rendez-vous annulé ou déplacé)."""
    queued = appointment.messages.filter(status=MessageStatus.QUEUED, kind__in=kinds)
    if keep_key is not None:
        queued = queued.exclude(key=keep_key)
    return queued.update(status=MessageStatus.CANCELLED, failure_reason="Rendez-vous annulé ou déplacé.")


@transaction.atomic
def notify(appointment, kind, *, actor=None, now=None, previous_starts_at=None, send_now=True, channels=None):
    """Prévient la personne d'un rendez-vous par courriel et SMS (chaque canal joignable).

    ``kind`` : « confirmation », « moved » (déplacé ; ``previous_starts_at`` : l'ancienne heure), « cancelled »,
    « reminder » (rappel manuel : un par jour au plus), « convocation ». Les messages sont écrits dans la
    transaction de l'appelant ; ceux dont l'heure est venue partent après sa validation (``send_now``), les
    autres (hors plage horaire) par la tâche de fond. ``channels`` : restreint aux canaux donnés (courriel,
    SMS). Renvoie la liste des messages (vide : aucun canal joignable)."""
    if kind not in KINDS:
        raise ValueError(f"Sorte de message inconnue : {kind} (possibles : {', '.join(KINDS)}).")
    now = now or timezone.now()
    if kind in ANNOUNCING and appointment.attendance != Attendance.PLANNED:
        raise ValidationError("Ce rendez-vous n'est plus prévu : aucun message à lui envoyer.")
    if kind == MessageKind.CANCELLED:
        cancel_queued(appointment)
        key = "annulation"
    elif kind == MessageKind.REMINDER:
        key = f"manuel/{now.astimezone(PARIS).date().isoformat()}"
    else:
        key = _starts_key(appointment)
        if kind == MessageKind.MOVED:
            cancel_queued(appointment, keep_key=key)
    messages = []
    for channel, recipient in contacts(appointment.beneficiary):
        if channels is not None and channel not in channels:
            continue
        message, _ = _queue(
            appointment,
            kind,
            channel,
            recipient,
            key=key,
            scheduled_for=now,
            actor=actor,
            previous_starts_at=previous_starts_at,
        )
        messages.append(message)
    if send_now:
        due = [m.pk for m in messages if m.status == MessageStatus.QUEUED and m.scheduled_for <= now]
        if due:
            transaction.on_commit(lambda: send_messages(AppointmentMessage.objects.filter(pk__in=due)))
    return messages


def remind(appointment, *, actor=None, now=None):
    """Rappel manuel d'un rendez-vous (bouton de l'agent) : rendez-vous prévu et à venir, une fois par jour,
    au moins un canal joignable. Renvoie les messages ; lève ``ValidationError`` sinon."""
    now = now or timezone.now()
    if appointment.attendance != Attendance.PLANNED or appointment.starts_at <= now:
        raise ValidationError("Seul un rendez-vous prévu, à venir, peut être rappelé.")
    key = f"manuel/{now.astimezone(PARIS).date().isoformat()}"
    if appointment.messages.filter(kind=MessageKind.REMINDER, key=key).exists():
        raise ValidationError("Un rappel de ce rendez-vous a déjà été envoyé aujourd'hui.")
    if not contacts(appointment.beneficiary):
        raise ValidationError("Aucun courriel ni téléphone mobile connu : rappel impossible.")
    return notify(appointment, MessageKind.REMINDER, actor=actor, now=now)


def reminder_offsets(departement):
    """Jours avant le rendez-vous des rappels automatiques du Département (la veille, et le second s'il est
    réglé)."""
    offsets = [get_delay("appointment_reminder_days", departement)]
    second = get_delay("appointment_second_reminder_days", departement)
    if second:
        offsets.append(second)
    return sorted({days for days in offsets if days > 0})


def reminder_time(appointment, days):
    """Heure du rappel à ``days`` jours : ce jour-là, à l'heure du rendez-vous ramenée dans la plage d'envoi."""
    local = timezone.localtime(appointment.starts_at, PARIS)
    return _clamp_to_day(local.date() - datetime.timedelta(days=days), local.time())


def queue_reminders(now=None):
    """Prépare les rappels automatiques dus : rendez-vous prévus à venir dont l'heure du rappel est venue.

    Un rendez-vous fixé après l'heure de son rappel n'en reçoit pas (la confirmation vient de partir) ; un
    rappel est unique par heure du rendez-vous et par rang : un rendez-vous déplacé reçoit ses nouveaux rappels.
    Renvoie le nombre de messages préparés."""
    from parcours.accounts.models import Organisation, OrganisationKind

    now = now or timezone.now()
    departements = list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT))
    longest = max([1, *(d for dep in departements for d in reminder_offsets(dep))])
    offsets = {dep.pk: reminder_offsets(dep) for dep in departements}
    upcoming = (
        Appointment.objects.filter(
            attendance=Attendance.PLANNED,
            starts_at__gt=now,
            starts_at__lte=now + datetime.timedelta(days=longest + 1),
        )
        .select_related("beneficiary__departement")
        .prefetch_related("organisations")
        .order_by("starts_at", "pk")
    )
    default_offsets = reminder_offsets(None)
    created = 0
    for appointment in upcoming:
        reachable = contacts(appointment.beneficiary)
        if not reachable:
            continue
        for days in offsets.get(appointment.beneficiary.departement_id, default_offsets):
            at = reminder_time(appointment, days)
            if at > now or appointment.created_at >= at:
                continue
            key = f"{_starts_key(appointment)}/J-{days}"
            for channel, recipient in reachable:
                _, new = _queue(
                    appointment, MessageKind.REMINDER, channel, recipient, key=key, scheduled_for=at
                )
                created += new
    return created


# --- envoi ------------------------------------------------------------------------------------------------


def _dispatch(message):
    """Envoie par le prestataire du canal ; renvoie (succès, référence, motif d'échec)."""
    if message.channel == Channel.EMAIL:
        try:
            EmailMultiAlternatives(message.subject, message.body, to=[message.recipient]).send()
        except Exception as error:  # noqa: BLE001 - tout échec SMTP devient un statut « échec »
            return False, "", f"Échec de l'envoi du courriel : {error}"
        return True, "", ""
    result = sms.send_sms(message.recipient, message.body)
    return result.ok, result.reference, result.error


def _obsolete(message, now):
    appointment = message.appointment
    if message.kind in ANNOUNCING:
        if appointment.attendance != Attendance.PLANNED:
            return "Rendez-vous plus prévu."
        if appointment.starts_at <= now:
            return "Rendez-vous déjà passé."
    return ""


def send_message(message, *, now=None):
    """Envoie un message en attente (ligne verrouillée et relue : jamais deux envois), hors plage : rien, il
    reste en attente et l'heure prévue passe à l'ouverture suivante. Renvoie le message relu."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            AppointmentMessage.objects.select_for_update()
            .select_related("appointment")
            .filter(pk=message.pk)
            .first()
        )
        if locked is None or locked.status != MessageStatus.QUEUED:
            return locked
        if not within_window(now):
            locked.scheduled_for = next_allowed(now)
            locked.save(update_fields=["scheduled_for"])
            return locked
        reason = _obsolete(locked, now)
        if reason:
            locked.status = MessageStatus.CANCELLED
            locked.failure_reason = reason
            locked.save(update_fields=["status", "failure_reason"])
            return locked
        ok, reference, error = _dispatch(locked)
        locked.provider_reference = (reference or "")[:100]
        if ok:
            locked.status = MessageStatus.SENT
            locked.sent_at = now
        else:
            locked.status = MessageStatus.FAILED
            locked.failure_reason = (error or "Échec de l'envoi.")[:300]
            logger.warning("Message de rendez-vous n° %s non envoyé : %s", locked.pk, locked.failure_reason)
        locked.save(update_fields=["status", "sent_at", "provider_reference", "failure_reason"])
    if locked.kind == MessageKind.CONVOCATION:
        _sync_convocation(locked)
    return locked


def _sync_convocation(message):
    """Une convocation par courriel ou SMS est aussi une invitation (``is_convocation``) : son statut suit celui
    du message (envoyée, ou en échec avec le motif)."""
    from .invitations import transition_invitation
    from .models import InvitationStatus

    invitation = (
        message.appointment.convocations.filter(channel=message.channel, status=InvitationStatus.CREATED)
        .select_related("beneficiary__departement")
        .first()
    )
    if invitation is None or message.status not in (MessageStatus.SENT, MessageStatus.FAILED):
        return
    on = timezone.localdate(message.sent_at or timezone.now())
    if message.status == MessageStatus.SENT:
        transition_invitation(
            invitation,
            InvitationStatus.SENT,
            actor=message.created_by,
            on=on,
            reference=message.provider_reference,
        )
    else:
        transition_invitation(
            invitation,
            InvitationStatus.FAILED,
            actor=message.created_by,
            on=on,
            reason=message.failure_reason,
        )


def send_messages(messages, *, now=None):
    """Envoie des messages en attente, chacun à part ; renvoie le nombre d'envois réussis."""
    sent = 0
    for message in messages:
        result = send_message(message, now=now)
        sent += bool(result and result.status == MessageStatus.SENT)
    return sent


def due_messages(now=None):
    now = now or timezone.now()
    return AppointmentMessage.objects.filter(status=MessageStatus.QUEUED, scheduled_for__lte=now).order_by(
        "scheduled_for", "pk"
    )


def send_due(now=None, *, limit=500):
    """Tâche de fond : prépare les rappels dus, puis envoie les messages dont l'heure est venue (hors plage
    horaire : rien n'est envoyé, ils attendent l'ouverture). Renvoie un résumé (``en_attente`` : messages
    encore à envoyer après ce passage)."""
    now = now or timezone.now()
    queued = queue_reminders(now)
    statuses = {MessageStatus.SENT: 0, MessageStatus.FAILED: 0}
    if within_window(now):
        for message in list(due_messages(now)[:limit]):
            result = send_message(message, now=now)
            if result is not None and result.status in statuses:
                statuses[result.status] += 1
    return {
        "rappels_prepares": queued,
        "envoyes": statuses[MessageStatus.SENT],
        "echecs": statuses[MessageStatus.FAILED],
        "en_attente": AppointmentMessage.objects.filter(status=MessageStatus.QUEUED).count(),
    }


def record_message_delivery(message, *, delivered, reason="", at=None):
    """Statut de distribution renvoyé par le prestataire (ou saisi) : distribué, ou échec avec son motif."""
    at = at or timezone.now()
    if message.status not in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED):
        raise ValidationError("Seul un message envoyé reçoit un statut de distribution.")
    if delivered:
        message.status = MessageStatus.DELIVERED
        message.delivered_at = at
    else:
        if not reason:
            raise ValidationError("Motif de l'échec : obligatoire.")
        message.status = MessageStatus.FAILED
        message.failure_reason = reason[:300]
    message.save(update_fields=["status", "delivered_at", "failure_reason"])
    return message
