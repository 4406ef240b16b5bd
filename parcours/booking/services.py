"""Rendez-vous pris par la personne depuis le lien de son invitation : créneaux proposés, réservation,
déplacement, annulation ; agenda des agents et export iCalendar.

Règles :
- la personne voit les créneaux des organisations de son Département (le Département lui-même et ses
  partenaires) qui publient des plages d'orientation, les plus proches de son adresse d'abord ;
- une réservation crée le rendez-vous par ``orientation.appointments.schedule_appointment`` (journal, réponse
  à l'invitation, files) ; la place est comptée sous verrou de la ligne de la plage (``select_for_update``) :
  de deux personnes qui prennent la dernière place en même temps, une seule l'obtient ;
- déplacer ou annuler en ligne reste possible jusqu'à ``booking_change_hours`` heures avant le rendez-vous
  (réglage ``PARCOURS_DELAYS``) ; ensuite, la personne appelle le numéro affiché ;
- chaque réservation, déplacement ou annulation envoie son message (confirmation, déplacement, annulation)
  par ``orientation.appointment_messages.notify``, une fois la transaction validée.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from parcours.accounts.models import Organisation
from parcours.core.delays import get_delay
from parcours.orientation.appointments import record_attendance, schedule_appointment
from parcours.orientation.models import Appointment, AppointmentKind, Attendance

from . import slots as slot_rules
from .models import ORIENTATION_PURPOSES, Booking, OpeningPattern, Purpose

#: type du rendez-vous de l'orientation créé pour chaque type de plage
APPOINTMENT_KINDS = {
    Purpose.ORIENTATION: AppointmentKind.ORIENTATION,
    Purpose.DIAGNOSTIC: AppointmentKind.ORIENTATION,
    Purpose.COLLECTIVE: AppointmentKind.ORIENTATION,
    Purpose.FOLLOW_UP: AppointmentKind.ACCOMPANIMENT,
}


class BookingError(ValidationError):
    """Refus d'une réservation, d'un déplacement ou d'une annulation ; message en français simple."""


# --- où la personne peut aller ------------------------------------------------------------------------------


def departement_organisations(beneficiary):
    """Organisations de son Département : le Département et ses partenaires."""
    return Organisation.objects.filter(
        Q(pk=beneficiary.departement_id) | Q(departement_id=beneficiary.departement_id)
    )


def openings_for(beneficiary, purposes=ORIENTATION_PURPOSES):
    """Plages publiées où la personne peut prendre rendez-vous."""
    return (
        OpeningPattern.objects.filter(
            is_active=True, purpose__in=purposes, organisation__in=departement_organisations(beneficiary)
        )
        .select_related("organisation", "organisation__departement", "agent")
        .order_by("organisation__name", "pk")
    )


def _centre(postal_code, city, departements=()):
    from parcours.catalogue.communes import resolve

    text = " ".join(part for part in (postal_code, city) if part)
    place = resolve(text, departements) if text else None
    return (place.latitude, place.longitude) if place is not None and place.has_centre else None


def order_by_distance(beneficiary, openings):
    """Plages groupées par organisation, la plus proche de l'adresse de la personne d'abord (centres des
    communes du référentiel du catalogue), sinon par nom. Renvoie ``[(organisation, distance en km ou None,
    [plages])]``."""
    from parcours.catalogue.geo import haversine_km

    code = beneficiary.departement.departement_code if beneficiary.departement_id else ""
    home = _centre(beneficiary.insee_code or beneficiary.postal_code, beneficiary.city, [code])
    groups, centres = {}, {}
    for opening in openings:
        group = groups.setdefault(opening.organisation_id, [opening.organisation, None, []])
        group[2].append(opening)
        if home is None or not opening.city:
            continue
        key = (opening.postal_code, opening.city)
        if key not in centres:
            centres[key] = _centre(opening.postal_code, opening.city, [code])
        if centres[key] is not None:
            distance = round(haversine_km(*home, *centres[key]), 1)
            group[1] = distance if group[1] is None else min(group[1], distance)
    return sorted(
        (tuple(group) for group in groups.values()),
        key=lambda g: (g[1] is None, g[1] or 0, g[0].name),
    )


def contact_phone(beneficiary, openings=()):
    """Numéro toujours affiché à la personne : celui du Département (``PARCOURS_ORIENTATION_CONTACTS``, sinon
    ``PARCOURS_ORIENTATION_CONTACT_PHONE``), sinon celui de la première plage publiée."""
    departement = beneficiary.departement
    code = departement.departement_code if departement else ""
    contacts = getattr(settings, "PARCOURS_ORIENTATION_CONTACTS", {}) or {}
    phone = (contacts.get(code) or {}).get("phone") or getattr(
        settings, "PARCOURS_ORIENTATION_CONTACT_PHONE", ""
    )
    if phone:
        return phone
    for opening in openings or openings_for(beneficiary):
        if opening.phone:
            return opening.phone
    return ""


@dataclass
class Offer:
    """Ce que la page de prise de rendez-vous montre : organisations, créneaux par jour, numéro à appeler."""

    groups: list
    phone: str
    start: datetime.date
    end: datetime.date


def offer(beneficiary, *, now=None, organisation_id=None):
    """Créneaux libres proposés à la personne sur ``booking_horizon_days`` jours, par organisation."""
    now = now or timezone.now()
    departement = beneficiary.departement
    start = timezone.localdate(now)
    end = start + datetime.timedelta(days=get_delay("booking_horizon_days", departement))
    openings = list(openings_for(beneficiary))
    notice = get_delay("booking_notice_hours", departement)
    free = slot_rules.free_slots(openings, start, end, now=now, notice_hours=notice)
    groups = []
    for organisation, distance, organisation_openings in order_by_distance(beneficiary, openings):
        ids = {o.pk for o in organisation_openings}
        organisation_slots = [slot for slot in free if slot.opening.pk in ids]
        days = {}
        for slot in organisation_slots:
            days.setdefault(timezone.localdate(slot.starts_at), []).append(slot)
        groups.append(
            {
                "organisation": organisation,
                "distance": distance,
                "openings": organisation_openings,
                "days": sorted(days.items()),
                "selected": organisation_id == organisation.pk,
            }
        )
    return Offer(groups=groups, phone=contact_phone(beneficiary, openings), start=start, end=end)


# --- réservation, déplacement, annulation -----------------------------------------------------------------


def active_bookings(invitation, *, now=None):
    """Réservations à venir, non annulées, prises depuis cette invitation."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(invitation=invitation, starts_at__gt=now)
        .exclude(appointment__attendance=Attendance.CANCELLED)
        .select_related("opening", "opening__organisation", "appointment")
    )


def can_change(booking, *, now=None):
    """Vrai tant que le rendez-vous est à plus de ``booking_change_hours`` heures."""
    now = now or timezone.now()
    hours = get_delay("booking_change_hours", booking.appointment.beneficiary.departement)
    return (
        booking.appointment.attendance == Attendance.PLANNED
        and booking.starts_at - now >= datetime.timedelta(hours=hours)
    )


def change_deadline(booking):
    hours = get_delay("booking_change_hours", booking.appointment.beneficiary.departement)
    return booking.starts_at - datetime.timedelta(hours=hours)


def _notify(appointment, kind, *, previous=None):
    """Message de confirmation / déplacement / annulation, après validation de la transaction ; pour un
    déplacement, les messages encore en attente de l'ancien rendez-vous (rappels) sont retirés."""
    try:
        from parcours.orientation import appointment_messages
    except ImportError:  # module des messages des rendez-vous absent : pas de message
        return

    def send():
        if previous is not None:
            appointment_messages.cancel_queued(previous)
            appointment_messages.notify(appointment, kind, previous_starts_at=previous.starts_at)
        else:
            appointment_messages.notify(appointment, kind)

    transaction.on_commit(send)


def _check_slot(opening, starts_at, beneficiary, now):
    if (
        opening.organisation_id
        not in set(departement_organisations(beneficiary).values_list("pk", flat=True))
        or opening.purpose not in ORIENTATION_PURPOSES
    ):
        raise BookingError("Ce créneau n'est pas proposé pour votre rendez-vous.")
    notice = get_delay("booking_notice_hours", beneficiary.departement)
    if starts_at < now + datetime.timedelta(hours=notice):
        raise BookingError(
            f"Ce créneau est trop proche : choisissez un créneau au moins {notice} heures à l'avance."
        )
    if not slot_rules.is_open_slot(opening, starts_at):
        raise BookingError("Ce créneau n'existe plus. Choisissez un autre créneau.")


def _reserve(invitation, opening_id, starts_at, *, now, moved_from=None):
    """Crée la réservation et le rendez-vous, la plage verrouillée ; à appeler dans une transaction."""
    beneficiary = invitation.beneficiary
    opening = (
        OpeningPattern.objects.select_for_update(of=("self",))
        .select_related("organisation", "organisation__departement", "agent")
        .filter(pk=opening_id)
        .first()
    )
    if opening is None:
        raise BookingError("Ce créneau n'existe plus. Choisissez un autre créneau.")
    _check_slot(opening, starts_at, beneficiary, now)
    taken = (
        Booking.objects.filter(opening=opening, starts_at=starts_at)
        .exclude(appointment__attendance=Attendance.CANCELLED)
        .count()
    )
    if taken >= opening.capacity:
        raise BookingError(
            "Désolé, ce créneau vient d'être pris par quelqu'un d'autre. Choisissez un autre créneau."
        )
    appointment = schedule_appointment(
        beneficiary,
        starts_at=starts_at,
        place=opening.where,
        author=None,
        kind=APPOINTMENT_KINDS[opening.purpose],
        professionals=[opening.agent] if opening.agent_id else [],
        organisations=[opening.organisation],
        duration_minutes=opening.slot_minutes,
        notes=f"{opening.get_purpose_display()} — pris en ligne par la personne.",
        planned_on=timezone.localdate(now),
    )
    return Booking.objects.create(
        opening=opening,
        starts_at=starts_at,
        appointment=appointment,
        invitation=invitation,
        moved_from=moved_from,
    )


def book(invitation, opening_id, starts_at, *, now=None):
    """La personne réserve un créneau : rendez-vous fixé, invitation « rendez-vous pris », confirmation."""
    now = now or timezone.now()
    if active_bookings(invitation, now=now).exists():
        raise BookingError("Vous avez déjà un rendez-vous. Vous pouvez le déplacer ou l'annuler.")
    with transaction.atomic():
        booking = _reserve(invitation, opening_id, starts_at, now=now)
        _notify(booking.appointment, "confirmation")
    return booking


def _locked_booking(booking):
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("appointment__beneficiary__departement")
        .get(pk=booking.pk)
    )


def move(booking, opening_id, starts_at, *, now=None):
    """Déplace le rendez-vous sur un autre créneau : l'ancien est annulé, le nouveau fixé (même transaction)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_booking(booking)
        if not can_change(locked, now=now):
            raise BookingError(_too_late(locked))
        if locked.opening_id == opening_id and locked.starts_at == starts_at:
            raise BookingError("C'est déjà l'heure de votre rendez-vous. Choisissez un autre créneau.")
        record_attendance(locked.appointment, Attendance.CANCELLED, author=None, on=timezone.localdate(now))
        new = _reserve(locked.invitation, opening_id, starts_at, now=now, moved_from=locked)
        _notify(new.appointment, "moved", previous=locked.appointment)
    return new


def cancel(booking, *, now=None):
    """La personne annule son rendez-vous (la place est libérée)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_booking(booking)
        if not can_change(locked, now=now):
            raise BookingError(_too_late(locked))
        appointment = record_attendance(
            locked.appointment, Attendance.CANCELLED, author=None, on=timezone.localdate(now)
        )
        _notify(appointment, "cancelled")
    return locked


def _too_late(booking):
    hours = get_delay("booking_change_hours", booking.appointment.beneficiary.departement)
    return (
        f"Votre rendez-vous est dans moins de {hours} heures : il ne peut plus être changé en ligne. "
        "Appelez-nous."
    )


# --- agenda des agents -------------------------------------------------------------------------------------


def week_bounds(day):
    monday = day - datetime.timedelta(days=day.weekday())
    return monday, monday + datetime.timedelta(days=6)


def agenda_appointments(start, end, *, organisation=None, agent=None):
    """Rendez-vous (non annulés) d'une organisation ou d'un agent du ``start`` au ``end`` inclus."""
    from parcours.orientation.appointments import appointments_between

    appointments = appointments_between(start, end).exclude(attendance=Attendance.CANCELLED)
    if organisation is not None:
        appointments = appointments.filter(
            Q(organisations=organisation) | Q(booking__opening__organisation=organisation)
        )
    if agent is not None:
        appointments = appointments.filter(Q(professionals=agent) | Q(booking__opening__agent=agent))
    return (
        Appointment.objects.filter(pk__in=appointments.values("pk"))
        .select_related("beneficiary", "booking__opening")
        .prefetch_related("professionals", "organisations")
        .order_by("starts_at", "pk")
    )


def agenda_openings(start, end, *, organisation=None, agent=None):
    """Créneaux (pris ou libres) des plages de l'organisation ou de l'agent, pour l'agenda."""
    openings = OpeningPattern.objects.filter(is_active=True).select_related(
        "organisation", "organisation__departement", "agent"
    )
    if organisation is not None:
        openings = openings.filter(organisation=organisation)
    if agent is not None:
        openings = openings.filter(agent=agent)
    return slot_rules.free_slots(
        openings,
        start,
        end,
        now=timezone.make_aware(datetime.datetime.combine(start, datetime.time.min)),
        include_full=True,
    )


def _ics_text(value):
    return str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line):
    """Lignes de 75 octets au plus (RFC 5545, 3.1), continuées par une espace."""
    data = line.encode()
    parts = []
    while len(data) > 75:
        cut = 75 if not parts else 74
        while (data[cut] & 0xC0) == 0x80:  # ne coupe pas un caractère UTF-8
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
    parts.append(data.decode())
    return "\r\n ".join(parts)


def ics_calendar(appointments, *, name, host="parcours"):
    """Calendrier iCalendar (RFC 5545) des rendez-vous : un VEVENT par rendez-vous, heures en UTC."""
    stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Parcours//Agenda des rendez-vous//FR",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_ics_text(name)}",
    ]
    for appointment in appointments:
        start = appointment.starts_at.astimezone(datetime.UTC)
        end = start + datetime.timedelta(minutes=appointment.duration_minutes)
        booking = getattr(appointment, "booking", None)  # absent : rendez-vous fixé par un agent
        what = booking.opening.get_purpose_display() if booking else appointment.get_kind_display()
        lines += [
            "BEGIN:VEVENT",
            f"UID:rendez-vous-{appointment.pk}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{_ics_text(f'{what} — {appointment.beneficiary.full_name}')}",
            f"LOCATION:{_ics_text(appointment.place)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
