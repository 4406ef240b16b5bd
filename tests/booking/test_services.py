"""Réservation, déplacement, annulation par la personne ; places des réunions collectives ; concurrence."""

import datetime
import threading

import pytest
from django.conf import settings

from parcours.booking import services
from parcours.booking.models import Booking, Closure, Purpose
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from parcours.orientation.models import AppointmentMessage, Attendance, Channel, InvitationStatus
from tests.booking.conftest import at, make_opening
from tests.factories import BeneficiaryFactory, DepartementFactory, OrganisationFactory

D = datetime.date

pytestmark = pytest.mark.django_db


def test_booking_creates_the_appointment_answers_the_invitation_and_confirms(
    invitation, opening, referent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.book(invitation, opening.pk, at(2026, 3, 10, 9, 45))
    appointment = booking.appointment
    assert (appointment.starts_at, appointment.duration_minutes, appointment.kind) == (
        at(2026, 3, 10, 9, 45),
        45,
        "orientation",
    )
    assert appointment.place == "Centre départemental d'action sociale, 9 rue Joseph Lemoine, 35600 Redon"
    assert list(appointment.professionals.all()) == [referent]
    assert list(appointment.organisations.all()) == [opening.organisation]
    assert appointment.created_by is None and "pris en ligne par la personne" in appointment.notes
    invitation.refresh_from_db()
    assert (invitation.status, invitation.answered_on) == (InvitationStatus.ANSWERED, D(2026, 3, 2))
    kinds = list(
        Event.objects.filter(beneficiary=invitation.beneficiary).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["appointment_planned", "invitation_answered"]
    # Confirmation par SMS et courriel (orientation.appointment_messages), après validation.
    confirmations = AppointmentMessage.objects.filter(appointment=appointment, kind="confirmation")
    assert sorted(confirmations.values_list("channel", flat=True)) == ["email", "sms"]


def test_a_second_booking_from_the_same_invitation_is_refused(invitation, opening):
    services.book(invitation, opening.pk, at(2026, 3, 10, 9))
    with pytest.raises(services.BookingError, match="déjà un rendez-vous"):
        services.book(invitation, opening.pk, at(2026, 3, 10, 9, 45))


def test_slot_taken_sequentially_is_refused_in_french(invitation, opening, departement, manager):
    services.book(invitation, opening.pk, at(2026, 3, 10, 9))
    other = BeneficiaryFactory(departement=departement, phone="06 98 76 54 32", first_name="Yannick")
    second = orientation.invite(other, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    with pytest.raises(services.BookingError, match="vient d'être pris par quelqu'un d'autre"):
        services.book(second, opening.pk, at(2026, 3, 10, 9))
    assert Booking.objects.count() == 1


def test_collective_session_accepts_up_to_its_capacity(invitation, departement, manager):
    session = make_opening(
        departement,
        purpose=Purpose.COLLECTIVE,
        capacity=3,
        weekday=3,
        start_time=datetime.time(9, 30),
        end_time=datetime.time(11, 30),
        slot_minutes=120,
    )
    moment = at(2026, 3, 5, 9, 30)
    invitations = [invitation] + [
        orientation.invite(
            BeneficiaryFactory(departement=departement, phone=f"06 11 22 33 4{n}"),
            channel=Channel.SMS,
            author=manager,
            today=D(2026, 3, 2),
        )
        for n in range(3)
    ]
    for each in invitations[:3]:
        services.book(each, session.pk, moment)
    [slot] = [
        s for s in services.offer(invitation.beneficiary).groups[0]["days"][0][1] if s.starts_at == moment
    ] or [None]
    with pytest.raises(services.BookingError, match="vient d'être pris"):
        services.book(invitations[3], session.pk, moment)
    # Une annulation libère une place.
    first = Booking.objects.get(invitation=invitation)
    services.cancel(first)
    assert services.book(invitations[3], session.pk, moment).appointment.attendance == Attendance.PLANNED
    assert slot is None  # complet : le créneau n'était plus proposé


def test_move_cancels_the_old_appointment_and_books_the_new_one(
    invitation, opening, django_capture_on_commit_callbacks
):
    booking = services.book(invitation, opening.pk, at(2026, 3, 10, 9))
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.move(booking, opening.pk, at(2026, 3, 17, 10, 30))
    booking.appointment.refresh_from_db()
    assert booking.appointment.attendance == Attendance.CANCELLED
    assert moved.moved_from == booking and moved.appointment.starts_at == at(2026, 3, 17, 10, 30)
    assert list(services.active_bookings(invitation)) == [moved]
    assert AppointmentMessage.objects.filter(appointment=moved.appointment, kind="moved").exists()
    # L'ancien créneau est de nouveau libre.
    days = dict(services.offer(invitation.beneficiary).groups[0]["days"])
    assert [s.starts_at for s in days[D(2026, 3, 10)]][0] == at(2026, 3, 10, 9)
    assert at(2026, 3, 17, 10, 30) not in [s.starts_at for s in days[D(2026, 3, 17)]]


def test_change_is_refused_less_than_the_configured_delay_before(invitation, opening, frozen, settings):
    booking = services.book(invitation, opening.pk, at(2026, 3, 10, 9))
    frozen(2026, 3, 9, 9, 30)  # 23 h 30 avant
    with pytest.raises(services.BookingError, match="moins de 24 heures"):
        services.cancel(booking)
    settings.PARCOURS_DELAYS = {**settings.PARCOURS_DELAYS, "booking_change_hours": 12}
    services.cancel(booking)
    booking.appointment.refresh_from_db()
    assert booking.appointment.attendance == Attendance.CANCELLED
    assert Event.objects.filter(kind="appointment_cancelled", beneficiary=invitation.beneficiary).exists()


def test_closed_holiday_foreign_and_unknown_slots_are_refused(invitation, opening, departement):
    Closure.objects.create(
        organisation=departement, starts_on=D(2026, 3, 10), ends_on=D(2026, 3, 10), reason="Grève"
    )
    with pytest.raises(services.BookingError, match="n'existe plus"):
        services.book(invitation, opening.pk, at(2026, 3, 10, 9))
    with pytest.raises(services.BookingError, match="n'existe plus"):
        services.book(invitation, opening.pk, at(2026, 3, 17, 9, 10))
    with pytest.raises(services.BookingError, match="n'existe plus"):
        services.book(invitation, 987654, at(2026, 3, 17, 9))
    with pytest.raises(services.BookingError, match="trop proche"):
        services.book(invitation, opening.pk, at(2026, 3, 3, 9))
    elsewhere = OrganisationFactory(
        departement=DepartementFactory(departement_code="44", name="Loire-Atlantique")
    )
    foreign = make_opening(elsewhere)
    with pytest.raises(services.BookingError, match="pas proposé"):
        services.book(invitation, foreign.pk, at(2026, 3, 17, 9))
    follow_up = make_opening(departement, purpose=Purpose.FOLLOW_UP)
    with pytest.raises(services.BookingError, match="pas proposé"):
        services.book(invitation, follow_up.pk, at(2026, 3, 17, 9))
    assert not Booking.objects.exists()


def test_offer_lists_organisations_of_her_departement_only(invitation, opening, france_travail):
    make_opening(
        france_travail, purpose=Purpose.DIAGNOSTIC, weekday=2, postal_code="35400", city="Saint-Malo"
    )
    make_opening(OrganisationFactory(departement=DepartementFactory(departement_code="44")))
    offer = services.offer(invitation.beneficiary)
    names = [group["organisation"].name for group in offer.groups]
    assert sorted(names) == ["Département d'Ille-et-Vilaine", "France Travail Redon"]
    assert offer.phone == "02 99 71 10 10"
    first_day, slots = offer.groups[names.index("Département d'Ille-et-Vilaine")]["days"][0]
    # Lundi 2 mars à 10 h : le mardi 3 mars à 9 h et 9 h 45 sont à moins de 24 h (prévenance).
    assert first_day == D(2026, 3, 3)
    assert [s.starts_at for s in slots] == [at(2026, 3, 3, 10, 30), at(2026, 3, 3, 11, 15)]


def test_offer_orders_organisations_by_distance_from_her_commune(invitation, departement, france_travail):
    from parcours.catalogue.models import Commune

    Commune.objects.create(
        code="35236", nom="Redon", departement="35", codes_postaux=["35600"], latitude=47.65, longitude=-2.08
    )
    Commune.objects.create(
        code="35288",
        nom="Saint-Malo",
        departement="35",
        codes_postaux=["35400"],
        latitude=48.65,
        longitude=-2.01,
    )
    make_opening(departement, postal_code="35400", city="Saint-Malo")
    make_opening(france_travail, purpose=Purpose.DIAGNOSTIC, postal_code="35600", city="Redon")
    groups = services.offer(invitation.beneficiary).groups  # elle habite Redon
    assert [(g["organisation"].name, g["distance"]) for g in groups] == [
        ("France Travail Redon", 0.0),
        ("Département d'Ille-et-Vilaine", 111.3),
    ]


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="Verrou de ligne : test sur PostgreSQL (DATABASE_URL=postgres://…)",
)
# Base transactionnelle (deux connexions) ; données des migrations restaurées comme les tests du navigateur.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_booking_the_last_seat_at_once_one_succeeds(departement, manager, frozen):
    """Deux fils, deux connexions : la ligne de la plage est verrouillée (``select_for_update``), la seconde
    réservation attend la première, relit les places et est refusée. Seul PostgreSQL verrouille les lignes."""
    frozen(2026, 3, 2)
    session = make_opening(
        departement,
        purpose=Purpose.COLLECTIVE,
        capacity=2,
        weekday=3,
        start_time=datetime.time(9, 30),
        end_time=datetime.time(11, 30),
        slot_minutes=120,
    )
    moment = at(2026, 3, 5, 9, 30)
    people = [BeneficiaryFactory(departement=departement, phone=f"06 11 22 33 4{n}") for n in range(3)]
    invitations = [
        orientation.invite(p, channel=Channel.SMS, author=manager, today=D(2026, 3, 2)) for p in people
    ]
    services.book(invitations[0], session.pk, moment)  # une seule place restante
    barrier = threading.Barrier(2)
    results = []

    def attempt(invitation):
        from django.db import connections

        try:
            barrier.wait()
            services.book(invitation, session.pk, moment)
            results.append("ok")
        except services.BookingError as error:
            results.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in invitations[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [
        "Désolé, ce créneau vient d'être pris par quelqu'un d'autre. Choisissez un autre créneau.",
        "ok",
    ]
    assert Booking.objects.exclude(appointment__attendance=Attendance.CANCELLED).count() == 2
