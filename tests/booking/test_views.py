"""Pages : prise de rendez-vous par le lien (sans compte), 403 en français, agenda des agents, export .ics,
plages et fermetures."""

import datetime

import pytest
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from parcours.booking import links, services
from parcours.booking.models import Booking, Closure, OpeningPattern
from parcours.orientation.models import Attendance
from tests.booking.conftest import at
from tests.factories import DepartementFactory, MembershipFactory

D = datetime.date

pytestmark = pytest.mark.django_db


def _url(invitation):
    return reverse("booking_link", args=[links.make_token(invitation)])


def test_person_books_moves_and_cancels_from_her_link(client, opening, invitation):
    url = _url(invitation)
    assert url.startswith("/rdv/")
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bonjour Nadia LEBRETON" in html and "Choisissez la date et l'heure" in html
    assert "Mardi 3 mars" in html and f'value="{opening.pk}-202603031030"' in html
    assert 'href="tel:0299711010"' in html  # numéro toujours affiché
    response = client.post(url, {"action": "book", "creneau": f"{opening.pk}-202603101045"})
    assert response.status_code == 302  # 10 h 45 n'est pas un début de créneau
    assert "Ce créneau n&#x27;existe plus" in client.get(url).content.decode()
    response = client.post(url, {"action": "book", "creneau": f"{opening.pk}-202603100945"}, follow=True)
    html = response.content.decode()
    assert "Votre rendez-vous est pris le 10/03/2026 à 09:45." in html
    assert "Votre rendez-vous" in html and "mardi 10 mars 2026 à 09:45" in html
    assert "Changer la date" in html and "Annuler le rendez-vous" in html
    # Déplacer : la page propose les créneaux, l'ancien rendez-vous est annulé.
    assert "Je change pour ce créneau" in client.get(url + "?changer=1").content.decode()
    response = client.post(url, {"action": "move", "creneau": f"{opening.pk}-202603171030"}, follow=True)
    assert "Votre rendez-vous est déplacé au 17/03/2026 à 10:30." in response.content.decode()
    [booking] = services.active_bookings(invitation)
    assert booking.starts_at == at(2026, 3, 17, 10, 30)
    # Annuler : confirmation demandée, puis place libérée.
    assert "Oui, j'annule mon rendez-vous" in client.get(url + "?annuler=1").content.decode()
    response = client.post(url, {"action": "cancel"}, follow=True)
    assert "Votre rendez-vous est annulé." in response.content.decode()
    booking.appointment.refresh_from_db()
    assert booking.appointment.attendance == Attendance.CANCELLED
    assert Booking.objects.count() == 2


def test_expired_link_gives_403_in_french_with_the_phone(client, opening, invitation, frozen):
    frozen(2026, 3, 13)
    response = client.get(_url(invitation))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Ce lien a expiré le 12/03/2026" in html and "02 99 71 10 10" in html
    assert client.post(_url(invitation), {"action": "cancel"}).status_code == 403


def test_tampered_link_gives_403_in_french(client, invitation):
    token = links.make_token(invitation)
    response = client.get(reverse("booking_link", args=[token[:-1] + ("A" if token[-1] != "A" else "B")]))
    assert response.status_code == 403
    assert "Ce lien n&#x27;est pas valide" in response.content.decode()
    assert client.get("/rdv/inconnu").status_code == 403


def test_person_page_without_free_slot_points_to_the_phone(client, invitation, opening, departement):
    Closure.objects.create(
        organisation=departement, starts_on=D(2026, 3, 1), ends_on=D(2026, 4, 30), reason="Travaux"
    )
    html = client.get(_url(invitation)).content.decode()
    assert "plus de créneau libre sur internet" in html and "02 99 71 10 10" in html


@pytest.fixture
def booked(invitation, opening):
    return services.book(invitation, opening.pk, at(2026, 3, 10, 9))


def test_agent_sees_the_booking_in_her_agenda_day_and_week(client, booked, referent, departement):
    client.force_login(referent)
    week = client.get(reverse("booking:agenda"), {"date": "2026-03-10"})
    html = week.content.decode()
    assert week.status_code == 200
    assert "Semaine du 09/03/2026 au 15/03/2026 : 1 rendez-vous." in html
    assert "Nadia LEBRETON" in html and "en ligne par la personne" in html
    day = client.get(
        reverse("booking:agenda"), {"vue": "jour", "date": "2026-03-10", "organisation": departement.pk}
    )
    html = day.content.decode()
    assert "Mardi 10 mars 2026 : 1 rendez-vous." in html and "Nadia LEBRETON" in html
    assert "09:45 libre" in html and "09:00 complet" in html


def test_agenda_of_another_departement_organisation_is_404(client, booked, referent):
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    client.force_login(referent)
    assert client.get(reverse("booking:agenda"), {"organisation": other.pk}).status_code == 404


def test_ics_export_is_an_audited_nominative_export(client, booked, referent):
    client.force_login(referent)
    response = client.get(reverse("booking:agenda_ics"), {"date": "2026-03-10"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20260310T080000Z" in body and "DTEND:20260310T084500Z" in body  # 9 h à Paris (UTC+1)
    assert "SUMMARY:Entretien d'orientation — Nadia LEBRETON" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))  # lignes repliées (RFC 5545)
    unfolded = body.replace("\r\n ", "")
    assert "LOCATION:Centre départemental d'action sociale\\, 9 rue Joseph Lemoine\\, 35600 Redon" in unfolded
    entry = AccessLog.objects.get(beneficiary_id=booked.appointment.beneficiary_id)
    assert entry.action == "export" and "Export iCalendar de l'agenda" in entry.reason


def test_manager_publishes_an_opening_and_a_closure(client, manager, departement):
    client.force_login(manager)
    url = reverse("booking:openings")
    assert client.get(url).status_code == 200
    data = {
        "form": "opening",
        "organisation": departement.pk,
        "purpose": "collective",
        "mode": "place",
        "place": "Salle du conseil, 1 avenue de la Préfecture",
        "postal_code": "35000",
        "city": "Rennes",
        "phone": "02 99 02 35 35",
        "weekday": 3,
        "start_time": "09:30",
        "end_time": "11:30",
        "slot_minutes": 120,
        "capacity": 15,
        "valid_from": "2026-03-01",
    }
    assert client.post(url, data).status_code == 302
    opening = OpeningPattern.objects.get()
    assert (opening.capacity, opening.where) == (
        15,
        "Salle du conseil, 1 avenue de la Préfecture, 35000 Rennes",
    )
    response = client.post(url, {**data, "purpose": "orientation", "place": ""})
    html = response.content.decode()
    assert "Plusieurs places par créneau : réservé aux réunions collectives." in html
    assert "Adresse du lieu : obligatoire pour un rendez-vous sur place." in html
    closure = {
        "form": "closure",
        "organisation": departement.pk,
        "starts_on": "2026-05-11",
        "ends_on": "2026-05-15",
        "reason": "Pont de l'Ascension",
    }
    assert client.post(url, closure).status_code == 302
    assert Closure.objects.get().reason == "Pont de l'Ascension"
    client.post(reverse("booking:opening_toggle", args=[opening.pk]))
    opening.refresh_from_db()
    assert not opening.is_active


def test_referent_cannot_manage_openings_and_other_departement_is_not_found(client, referent, opening):
    client.force_login(referent)
    response = client.get(reverse("booking:openings"))
    assert response.status_code == 403
    other = MembershipFactory(
        organisation=DepartementFactory(departement_code="44"),
        role=Role.ADMIN,
        user__email="admin@loire-atlantique.fr",
    ).user
    client.force_login(other)
    assert client.post(reverse("booking:opening_toggle", args=[opening.pk])).status_code == 404
