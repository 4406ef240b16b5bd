"""Créneaux libres calculés à la demande sur une fenêtre de dates (aucun créneau n'est enregistré à l'avance).

Un créneau existe si : la plage est publiée et valide ce jour-là, le jour n'est ni férié (``holidays.py``) ni
fermé (fermeture de l'organisation, ou de l'agent de la plage), il commence après le délai de prévenance
(``booking_notice_hours``) et il reste au moins une place (réservations dont le rendez-vous n'est pas annulé).
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from parcours.orientation.models import Attendance

from .holidays import is_holiday
from .models import Booking, Closure


@dataclass(frozen=True)
class Slot:
    opening: object
    starts_at: datetime.datetime
    remaining: int

    @property
    def ends_at(self):
        return self.starts_at + datetime.timedelta(minutes=self.opening.slot_minutes)

    @property
    def key(self):
        """Identifiant du créneau dans un formulaire : ``<plage>-<AAAAMMJJHHMM>``."""
        return f"{self.opening.pk}-{timezone.localtime(self.starts_at):%Y%m%d%H%M}"


def parse_key(key):
    """``(identifiant de plage, début)`` d'une clé de créneau, ou None."""
    opening_id, _, stamp = (key or "").partition("-")
    try:
        moment = datetime.datetime.strptime(stamp, "%Y%m%d%H%M")
        return int(opening_id), timezone.make_aware(moment)
    except ValueError:
        return None


def _days(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


def slot_starts(opening, day):
    """Débuts des créneaux d'une plage pour un jour donné (sans tenir compte des fermetures)."""
    if day.weekday() != opening.weekday or day < opening.valid_from:
        return []
    if opening.valid_to and day > opening.valid_to:
        return []
    step = datetime.timedelta(minutes=opening.slot_minutes)
    moment = datetime.datetime.combine(day, opening.start_time)
    end = datetime.datetime.combine(day, opening.end_time)
    starts = []
    while moment + step <= end:
        starts.append(timezone.make_aware(moment))
        moment += step
    return starts


def booked_counts(openings, first, after):
    """Places prises par (plage, début) entre deux instants : une requête."""
    rows = (
        Booking.objects.filter(opening__in=openings, starts_at__gte=first, starts_at__lt=after)
        .exclude(appointment__attendance=Attendance.CANCELLED)
        .values("opening_id", "starts_at")
        .annotate(n=Count("pk"))
    )
    return Counter({(row["opening_id"], row["starts_at"]): row["n"] for row in rows})


def closed_days(openings, start, end):
    """Jours fermés par organisation et par agent : ``({organisation: {jours}}, {agent: {jours}})``."""
    organisations = {o.organisation_id for o in openings}
    closures = Closure.objects.filter(
        organisation_id__in=organisations, starts_on__lte=end, ends_on__gte=start
    )
    by_org, by_agent = defaultdict(set), defaultdict(set)
    for closure in closures:
        days = set(_days(max(start, closure.starts_on), min(end, closure.ends_on)))
        if closure.agent_id:
            by_agent[closure.agent_id] |= days
        else:
            by_org[closure.organisation_id] |= days
    return by_org, by_agent


def free_slots(openings, start, end, *, now=None, notice_hours=0, include_full=False):
    """Créneaux des ``openings`` du ``start`` au ``end`` inclus, dans l'ordre chronologique.

    ``include_full`` : garde les créneaux complets (agenda des agents), avec ``remaining`` à 0."""
    openings = list(openings)
    if not openings:
        return []
    now = now or timezone.now()
    earliest = now + datetime.timedelta(hours=notice_hours)
    first = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    after = timezone.make_aware(
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min)
    )
    taken = booked_counts(openings, first, after)
    by_org, by_agent = closed_days(openings, start, end)
    slots = []
    for opening in openings:
        code = _departement_code(opening.organisation)
        for day in _days(start, end):
            if is_holiday(day, code) or day in by_org.get(opening.organisation_id, ()):
                continue
            if opening.agent_id and day in by_agent.get(opening.agent_id, ()):
                continue
            for moment in slot_starts(opening, day):
                if moment < earliest:
                    continue
                remaining = opening.capacity - taken[(opening.pk, moment)]
                if remaining > 0 or include_full:
                    slots.append(Slot(opening, moment, max(remaining, 0)))
    slots.sort(key=lambda slot: (slot.starts_at, slot.opening.pk))
    return slots


def _departement_code(organisation):
    if organisation.departement_code:
        return organisation.departement_code
    departement = organisation.departement if organisation.departement_id else None
    return departement.departement_code if departement else ""


def is_open_slot(opening, starts_at):
    """Vrai si ``starts_at`` est un début de créneau de la plage, un jour ouvert (ni férié ni fermé)."""
    day = timezone.localdate(starts_at)
    if not opening.is_active or starts_at not in slot_starts(opening, day):
        return False
    if is_holiday(day, _departement_code(opening.organisation)):
        return False
    closed = Closure.objects.filter(
        organisation_id=opening.organisation_id, starts_on__lte=day, ends_on__gte=day
    )
    return not closed.filter(Q(agent__isnull=True) | Q(agent_id=opening.agent_id)).exists()
