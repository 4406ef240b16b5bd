"""Convocations en nombre des personnes sans réponse, retour automatique des absents dans la file « à convoquer »,
relances manuelles (invitation, rendez-vous), nouvelles des rendez-vous pour le référent et l'équipe."""

import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from parcours.orientation import appointment_messages, convocations, services, sms
from parcours.orientation.models import (
    Appointment,
    AppointmentKind,
    AppointmentMessage,
    Attendance,
    Channel,
    Invitation,
    InvitationStatus,
    MessageStatus,
)
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory
from tests.orientation.conftest import make_referent

D = datetime.date
PARIS = ZoneInfo("Europe/Paris")
PLACE = "Maison du Département, 2 rue Charles Sillard, Redon"

pytestmark = pytest.mark.django_db


def at(day, hour, minute=0):
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def page(response):
    return unescape(response.content.decode())


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Heure courante réglable ; au départ, le lundi 2 mars 2026 à 10 h (jour des invitations)."""
    from django.utils import timezone

    def set_now(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    set_now(at(2, 10))
    return set_now


def without_answer(departement, manager, first_name, last_name, **contacts):
    """Nouvel entrant du 1er mars invité par courriel le 2, invitation expirée le 13 faute de réponse."""
    values = {
        "email": f"{first_name.lower()}.{last_name.lower()}@example.org",
        "phone": "06 45 12 78 90",
        "address": "5 place de la République",
        "postal_code": "35600",
        "city": "Redon",
        **contacts,
    }
    person = BeneficiaryFactory(
        departement=departement,
        first_name=first_name,
        last_name=last_name,
        new_entrant_t0=D(2026, 3, 1),
        **values,
    )
    channel = Channel.EMAIL if person.email else Channel.SMS if person.phone else Channel.POSTAL
    invitation = services.invite(person, channel=channel, author=manager, today=D(2026, 3, 2))
    services.transition_invitation(invitation, InvitationStatus.EXPIRED, actor=None, on=D(2026, 3, 13))
    return person


def absent(departement, manager, clock, first_name, last_name):
    """Invitée le 2 mars, rendez-vous pris le 5 pour le 10 : absente, non excusée."""
    clock(at(2, 10))
    person = BeneficiaryFactory(
        departement=departement,
        first_name=first_name,
        last_name=last_name,
        new_entrant_t0=D(2026, 3, 1),
        email=f"{first_name.lower()}@example.org",
        phone="07 88 12 34 56",
        address="1 rue du Port",
        postal_code="35600",
        city="Redon",
    )
    services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    clock(at(5, 11))
    appointment = services.schedule_appointment(person, starts_at=at(10, 9), place=PLACE, author=manager)
    clock(at(10, 12))
    services.record_attendance(appointment, Attendance.NO_SHOW, author=manager)
    return person, appointment


def to_convoke(departement):
    scope = Beneficiary.objects.filter(departement=departement)
    return [i.beneficiary.last_name for i in services.expired_invitations(scope, D(2026, 3, 16))]


def convoke_form(people, **overrides):
    return {
        "people": [p.pk for p in people],
        "starts_at": "2026-03-23T09:30",
        "duration_minutes": "60",
        "spacing_minutes": "0",
        "place": PLACE,
        "channels": ["postal", "sms", "email"],
        **overrides,
    }


# --- absences : retour automatique dans la file « à convoquer » --------------------------------------------------


def test_a_no_show_sends_the_person_back_to_the_queue_to_convoke(departement, manager, clock):
    person, appointment = absent(departement, manager, clock, "Sophie", "Guérin")
    assert to_convoke(departement) == ["Guérin"]
    row = services.expired_invitations(Beneficiary.objects.all(), D(2026, 3, 16)).get()
    assert (row.missed_at, row.missed_attendance) == (at(10, 9), Attendance.NO_SHOW)
    # Présence corrigée (la personne était venue) : elle quitte la file d'elle-même.
    services.record_attendance(appointment, Attendance.PLANNED, author=manager)
    assert to_convoke(departement) == []
    services.record_attendance(appointment, Attendance.SEEN, author=manager)
    assert to_convoke(departement) == []


def test_an_excused_absence_or_a_cancellation_also_needs_a_new_appointment(departement, manager, clock):
    _, appointment = absent(departement, manager, clock, "Sophie", "Guérin")
    services.record_attendance(appointment, Attendance.PLANNED, author=manager)
    services.record_attendance(appointment, Attendance.EXCUSED, author=manager)
    row = services.expired_invitations(Beneficiary.objects.all(), D(2026, 3, 16)).get()
    assert row.missed_attendance == Attendance.EXCUSED


def test_a_convoked_person_who_does_not_come_is_back_in_the_queue(
    departement, manager, clock, django_capture_on_commit_callbacks
):
    person = without_answer(departement, manager, "Karim", "Benali")
    clock(at(16, 10))
    with django_capture_on_commit_callbacks(execute=True):
        report = convocations.convoke(
            [person], starts_at=at(18, 9, 30), place=PLACE, author=manager, channels=["sms"]
        )
    assert to_convoke(departement) == []
    appointment = report.convoked[0]
    convocation = Invitation.objects.get(appointment=appointment)
    assert convocation.is_convocation and convocation.status == InvitationStatus.SENT
    clock(at(18, 12))
    services.record_attendance(appointment, Attendance.NO_SHOW, author=manager)
    convocation.refresh_from_db()
    assert (convocation.status, convocation.expired_on) == (InvitationStatus.EXPIRED, D(2026, 3, 18))
    assert to_convoke(departement) == ["Benali"]


def test_a_convoked_person_who_came_has_answered(
    departement, manager, clock, django_capture_on_commit_callbacks
):
    person = without_answer(departement, manager, "Karim", "Benali")
    clock(at(16, 10))
    with django_capture_on_commit_callbacks(execute=True):
        report = convocations.convoke(
            [person], starts_at=at(18, 9, 30), place=PLACE, author=manager, channels=["sms"]
        )
    clock(at(18, 12))
    services.record_attendance(report.convoked[0], Attendance.SEEN, author=manager)
    assert Invitation.objects.get(appointment=report.convoked[0]).status == InvitationStatus.ANSWERED
    assert to_convoke(departement) == []


# --- convocation en nombre -----------------------------------------------------------------------------------


def test_team_convokes_a_selection_in_one_action(
    client, departement, manager, clock, django_capture_on_commit_callbacks
):
    nadia = without_answer(departement, manager, "Nadia", "Lebreton")
    karim = without_answer(departement, manager, "Karim", "Benali", phone="")
    sophie, _ = absent(departement, manager, clock, "Sophie", "Guérin")
    elsewhere = BeneficiaryFactory(
        departement=DepartementFactory(departement_code="44", name="Département de Loire-Atlantique"),
        last_name="Le Goff",
        phone="06 11 22 33 44",
    )
    clock(at(16, 10))
    client.force_login(manager)

    listing = page(client.get(reverse("orientation:convocations")))
    assert "LEBRETON" in listing and "BENALI" in listing and "Absent au rendez-vous du 10/03/2026" in listing
    assert "LE GOFF" not in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orientation:convocations"), convoke_form([nadia, karim, sophie, elsewhere])
        )
    assert response.status_code == 302
    assert flashes(response) == ["3 convocations envoyées, 1 sans téléphone mobile."]

    appointments = Appointment.objects.filter(starts_at=at(23, 9, 30)).order_by("beneficiary__last_name")
    assert [(a.beneficiary.last_name, a.kind, a.place, a.created_by) for a in appointments] == [
        ("Benali", AppointmentKind.ORIENTATION, PLACE, manager),
        ("Guérin", AppointmentKind.ORIENTATION, PLACE, manager),
        ("Lebreton", AppointmentKind.ORIENTATION, PLACE, manager),
    ]
    assert not Appointment.objects.filter(beneficiary=elsewhere).exists()  # hors périmètre : ignorée
    convoked = Invitation.objects.filter(is_convocation=True)
    assert sorted(convoked.filter(beneficiary=nadia).values_list("channel", "status")) == [
        ("email", "sent"),
        ("postal", "sent"),
        ("sms", "sent"),
    ]
    assert sorted(convoked.filter(beneficiary=karim).values_list("channel", flat=True)) == ["email", "postal"]
    texts = [m for m in sms.outbox if "vous convoque" in m["body"]]
    assert sorted(m["to"] for m in texts) == ["+33645127890", "+33788123456"]
    assert "vous convoque à un rendez-vous d'orientation RSA le 23/03/2026 à 09h30" in texts[0]["body"]
    assert len([m for m in mail.outbox if "convocation" in m.subject]) == 3
    assert to_convoke(departement) == []
    assert Event.objects.filter(beneficiary=nadia, kind="invited", payload__convocation=True).count() == 3

    # Les courriers : un PDF d'une page par personne, téléchargement journalisé.
    letters = [i.pk for i in convoked.filter(channel=Channel.POSTAL).order_by("beneficiary__last_name")]
    assert response.url == reverse("orientation:convocations") + "?courriers=" + ",".join(map(str, letters))
    result = page(client.get(response.url))
    assert "3 courriers de convocation à imprimer" in result
    before = AccessLog.objects.count()
    pdf = client.get(reverse("orientation:letters"), {"ids": ",".join(map(str, letters)), "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert (
        pdf.content.count(b"/Type /Page") - pdf.content.count(b"/Type /Pages") == 3
    )  # une page par personne
    assert AccessLog.objects.count() - before == 3


def test_successive_slots_and_french_report(departement, manager, clock):
    people = [
        without_answer(departement, manager, "Anne", "Abadie"),
        without_answer(departement, manager, "Bruno", "Bihan", email=""),
        without_answer(departement, manager, "Chloé", "Caradec", phone="", email=""),
    ]
    clock(at(16, 10))
    report = convocations.convoke(
        people,
        starts_at=at(24, 14),
        place=PLACE,
        author=manager,
        channels=["sms", "email"],
        spacing_minutes=30,
    )
    assert [(a.beneficiary.last_name, a.starts_at) for a in report.convoked] == [
        ("Abadie", at(24, 14)),
        ("Bihan", at(24, 14, 30)),
    ]
    assert report.summary == (
        "2 convocations envoyées, 1 sans téléphone mobile, 2 sans adresse électronique, 1 personne non convoquée."
    )
    assert not Appointment.objects.filter(beneficiary=people[2]).exists()
    assert to_convoke(departement) == ["Caradec"]


def test_convocation_decided_in_the_evening_leaves_at_8_am(departement, manager, clock):
    person = without_answer(departement, manager, "Nadia", "Lebreton")
    clock(at(16, 20, 30))
    report = convocations.convoke(
        [person], starts_at=at(23, 9, 30), place=PLACE, author=manager, channels=["sms"]
    )
    assert report.summary == ("1 convocation envoyée. 1 message partira à 8 h (aucun envoi de 20 h à 8 h).")
    assert sms.outbox == []
    convocation = Invitation.objects.get(beneficiary=person, is_convocation=True)
    assert convocation.status == InvitationStatus.CREATED
    appointment_messages.send_due(at(17, 8, 5))
    convocation.refresh_from_db()
    assert (convocation.status, convocation.sent_on) == (InvitationStatus.SENT, D(2026, 3, 17))
    assert len(sms.outbox) == 1


def test_convocation_form_errors_are_shown_in_french(client, departement, manager, clock):
    person = without_answer(departement, manager, "Nadia", "Lebreton")
    clock(at(16, 10))
    client.force_login(manager)
    response = client.post(reverse("orientation:convocations"), convoke_form([person], channels=[]))
    assert response.status_code == 400 and "Ce champ est obligatoire" in page(response)
    response = client.post(reverse("orientation:convocations"), convoke_form([], place=PLACE))
    assert response.status_code == 400 and "Cochez au moins une personne à convoquer" in page(response)
    response = client.post(
        reverse("orientation:convocations"), convoke_form([person], starts_at="2026-03-15T09:30")
    )
    assert response.status_code == 400 and "Le rendez-vous doit être fixé dans le futur" in page(response)
    assert not Appointment.objects.exists()


def test_convocation_page_is_for_the_orientation_team(client, departement):
    referent = make_referent(departement)
    client.force_login(referent)
    assert client.get(reverse("orientation:convocations")).status_code == 403


def test_convocation_page_query_count_does_not_grow_with_rows(client, departement, manager, clock):
    for index in range(2):
        without_answer(departement, manager, "Anne", f"Abadie{index}")
    clock(at(16, 10))
    client.force_login(manager)
    client.get(reverse("orientation:convocations"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("orientation:convocations"))
    for index in range(6):
        without_answer(departement, manager, "Bruno", f"Bihan{index}")
    absent(departement, manager, clock, "Sophie", "Guérin")
    clock(at(16, 10))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("orientation:convocations"))
    assert page(response).count('name="people"') == 9
    assert len(many.captured_queries) == len(few.captured_queries)


# --- relances manuelles ----------------------------------------------------------------------------------------


def test_manual_reminder_button_on_the_persons_invitation(client, person, manager, clock):
    clock(at(4, 10))
    invitation = services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    client.force_login(manager)
    panel = page(client.get(reverse("orientation:panel", args=[person.pk])))
    assert reverse("orientation:remind_invitation", args=[invitation.pk]) in panel
    response = client.post(reverse("orientation:remind_invitation", args=[invitation.pk]))
    assert flashes(response) == ["Relance envoyée (sms)."]
    invitation.refresh_from_db()
    assert invitation.reminded_on == D(2026, 3, 4)
    assert sms.outbox[-1]["body"].startswith("Rappel : Bonjour Nadia LEBRETON")
    response = client.post(reverse("orientation:remind_invitation", args=[invitation.pk]))
    assert flashes(response)[-1] == "Invitation déjà relancée le 04/03/2026."
    assert reverse("orientation:remind_invitation", args=[invitation.pk]) not in page(
        client.get(reverse("orientation:panel", args=[person.pk]))
    )


def test_no_manual_reminder_at_night(client, person, manager, clock):
    invitation = services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    clock(at(4, 21, 15))
    client.force_login(manager)
    response = client.post(reverse("orientation:remind_invitation", args=[invitation.pk]))
    assert flashes(response) == ["Aucun message n'est envoyé entre 20 h et 8 h : relancez à partir de 8 h."]
    invitation.refresh_from_db()
    assert invitation.reminded_on is None and len(sms.outbox) == 1


def test_bulk_reminders_from_the_queue_of_open_invitations(client, departement, person, manager, clock):
    other = BeneficiaryFactory(
        departement=departement, new_entrant_t0=D(2026, 3, 1), email="paul@example.org"
    )
    letter = services.invite(person, channel=Channel.POSTAL, author=manager, today=D(2026, 3, 2))
    by_mail = services.invite(other, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    clock(at(5, 10))
    client.force_login(manager)
    queue = page(client.get(reverse("orientation:queues"), {"file": "invitations"}))
    assert f'name="invitations" value="{by_mail.pk}"' in queue
    assert f'name="invitations" value="{letter.pk}"' not in queue  # un courrier ne se relance pas
    response = client.post(
        reverse("orientation:remind_invitations"), {"invitations": [by_mail.pk, letter.pk]}
    )
    assert flashes(response) == [
        "1 invitation relancée, 1 non relancée.",
        f"{person.full_name} : Un courrier n'est pas relancé automatiquement : envoyez une convocation.",
    ]
    assert mail.outbox[-1].to == ["paul@example.org"] and mail.outbox[-1].subject.startswith("Rappel")


def test_reminder_button_of_an_upcoming_appointment(
    client, person, manager, clock, django_capture_on_commit_callbacks
):
    clock(at(16, 9))
    appointment = services.schedule_appointment(person, starts_at=at(20, 14, 30), place=PLACE, author=manager)
    client.force_login(manager)
    panel = page(client.get(reverse("orientation:panel", args=[person.pk])))
    assert reverse("orientation:remind_appointment", args=[appointment.pk]) in panel
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orientation:remind_appointment", args=[appointment.pk]))
    assert flashes(response) == ["Rappel du rendez-vous envoyé (courriel et sms)."]
    assert sms.outbox[-1]["body"].startswith(
        "Rappel : Bonjour Nadia LEBRETON, vous avez rendez-vous le 20/03/2026"
    )
    panel = page(client.get(reverse("orientation:panel", args=[person.pk])))
    assert "Rappel du rendez-vous par sms — <strong>Envoyé</strong> le 16/03/2026 à 09:00" in panel
    response = client.post(reverse("orientation:remind_appointment", args=[appointment.pk]))
    assert flashes(response)[-1] == "Un rappel de ce rendez-vous a déjà été envoyé aujourd'hui."
    assert AppointmentMessage.objects.filter(appointment=appointment, status=MessageStatus.SENT).count() == 2


def test_referent_of_another_departement_cannot_remind(client, person, manager, clock):
    clock(at(16, 9))
    appointment = services.schedule_appointment(person, starts_at=at(20, 14, 30), place=PLACE, author=manager)
    stranger = MembershipFactory(
        organisation=DepartementFactory(departement_code="44", name="Loire-Atlantique"),
        role=Role.ORIENTATION_MANAGER,
    ).user
    client.force_login(stranger)
    assert client.post(reverse("orientation:remind_appointment", args=[appointment.pk])).status_code == 404
    assert not appointment.messages.exists()


# --- le référent et l'équipe d'orientation informés ----------------------------------------------------------------


def test_team_home_shows_bookings_cancellations_and_excuses_made_by_others(
    client, departement, person, manager, clock
):
    colleague = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    clock(at(16, 9))
    booked = services.schedule_appointment(person, starts_at=at(20, 14, 30), place=PLACE, author=None)
    services.record_attendance(booked, Attendance.EXCUSED, author=colleague)
    mine = services.schedule_appointment(person, starts_at=at(21, 10), place=PLACE, author=manager)
    services.record_attendance(
        mine, Attendance.CANCELLED, author=manager
    )  # ma propre saisie : pas une nouvelle
    client.force_login(manager)
    home = page(client.get(reverse("home")))
    assert "Rendez-vous pris, annulés ou excusés (7 derniers jours)" in home
    assert "Nadia LEBRETON</a> :\n    Absence excusée au rendez-vous : rendez-vous d'orientation" in home
    assert f"par {colleague}" in home
    assert "Rendez-vous fixé le 20/03/2026" in home
    assert "Rendez-vous annulé" not in home


def test_referent_is_informed_on_home_and_timeline(client, departement, person, manager, clock):
    referent = make_referent(departement, "referente@departement35.fr")
    services.assign_referent(
        person, referent=referent, organisation=departement, author=manager, started_on=D(2026, 3, 2)
    )
    clock(at(16, 9))
    appointment = services.schedule_appointment(
        person, kind=AppointmentKind.ACCOMPANIMENT, starts_at=at(20, 14, 30), place=PLACE, author=referent
    )
    services.record_attendance(
        appointment, Attendance.CANCELLED, author=None
    )  # annulé par la personne en ligne
    client.force_login(referent)
    home = page(client.get(reverse("home")))
    assert "Rendez-vous annulé : rendez-vous d'accompagnement" in home
    assert "Rendez-vous fixé le" not in home  # fixé par la référente elle-même
    story = page(client.get(reverse("beneficiary_detail", args=[person.pk])))
    assert "Rendez-vous annulé : rendez-vous d'accompagnement" in story


def test_timeline_says_a_convocation_was_sent(client, departement, manager, clock):
    person = without_answer(departement, manager, "Karim", "Benali")
    clock(at(16, 10))
    convocations.convoke([person], starts_at=at(23, 9, 30), place=PLACE, author=manager, channels=["postal"])
    client.force_login(manager)
    story = page(client.get(reverse("beneficiary_detail", args=[person.pk])))
    assert "Invitation envoyée — courrier postal (convocation : oui)" in story


def test_partners_receive_webhooks_for_convocations_and_cancellations(departement, manager, clock):
    from parcours.interop import services as interop
    from parcours.interop import webhooks
    from parcours.interop.models import Delivery, Scope

    partner, _ = interop.issue_token(departement, "Logiciel d'insertion du Département", list(Scope.values))
    webhooks.subscribe(partner, "https://insertion.example/hook", ["rendez-vous.cree", "rendez-vous.modifie"])
    person = without_answer(departement, manager, "Karim", "Benali")
    clock(at(16, 10))
    report = convocations.convoke(
        [person], starts_at=at(23, 9, 30), place=PLACE, author=manager, channels=["postal"]
    )
    services.record_attendance(report.convoked[0], Attendance.CANCELLED, author=None)
    assert list(Delivery.objects.order_by("pk").values_list("event_type", "payload__personne")) == [
        ("rendez-vous.cree", person.pk),
        ("rendez-vous.modifie", person.pk),
    ]


def test_agent_cancelling_an_upcoming_appointment_informs_the_person(
    client, person, manager, clock, django_capture_on_commit_callbacks
):
    clock(at(16, 9))
    appointment = services.schedule_appointment(person, starts_at=at(20, 14, 30), place=PLACE, author=manager)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orientation:panel", args=[person.pk]),
            {"action": "attendance", "appointment": appointment.pk, "attendance": "cancelled"},
        )
    assert flashes(response) == [
        "Présence enregistrée.",
        "La personne est prévenue de l'annulation (courriel, SMS).",
    ]
    [text] = sms.outbox
    assert "votre rendez-vous RSA du 20/03/2026 à 14h30 est annulé" in text["body"]
