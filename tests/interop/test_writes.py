from parcours.interop.models import IdempotencyRecord
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from parcours.orientation.models import Attendance
from tests.factories import BeneficiaryFactory

from .conftest import follow, past


def _setup(person, manager, france_travail):
    follow(person, france_travail)
    return orientation.schedule_appointment(
        person, starts_at=past(), place="Agence France Travail de Redon", author=manager
    )


def test_attendance_goes_through_the_service_and_the_journal(
    person, manager, france_travail, make_partner, api_client
):
    appointment = _setup(person, manager, france_travail)
    partner, token = make_partner(france_travail)
    response = api_client(token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "present", "observations": "Venue."}, key="k-1"
    )
    assert response.status_code == 200, response.content
    assert response.json()["presence"] == "present"
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.SEEN and appointment.notes == "Venue."
    event = Event.objects.get(beneficiary=person, kind="appointment_held")
    assert event.payload["appointment_id"] == appointment.pk
    assert event.actor == partner.service_user  # l'écriture est signée par le compte technique du système


def test_same_key_same_body_replays_without_doing_anything(
    person, manager, france_travail, make_partner, api_client
):
    appointment = _setup(person, manager, france_travail)
    _, token = make_partner(france_travail)
    client = api_client(token)
    first = client.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "absent"}, key="cle-42")
    events = Event.objects.count()
    again = client.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "absent"}, key="cle-42")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == events
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.NO_SHOW


def test_same_key_different_body_is_a_french_409(person, manager, france_travail, make_partner, api_client):
    appointment = _setup(person, manager, france_travail)
    _, token = make_partner(france_travail)
    client = api_client(token)
    client.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "absent"}, key="cle-1")
    response = client.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "excuse"}, key="cle-1")
    assert response.status_code == 409
    assert response.json() == {
        "code": "conflit",
        "message": "Cette clé d'idempotence a déjà servi pour une autre requête : choisissez une nouvelle clé.",
    }
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.NO_SHOW


def test_keys_are_per_partner(person, manager, departement, france_travail, make_partner, api_client):
    appointment = _setup(person, manager, france_travail)
    _, ft_token = make_partner(france_travail)
    _, cd_token = make_partner(departement)
    api_client(ft_token).post(f"rendez-vous/{appointment.pk}/presence", {"presence": "excuse"}, key="k")
    # Même clé, autre système : c'est une autre écriture (ici refusée par la règle de transition).
    response = api_client(cd_token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="k"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "transition_impossible"
    assert "impossible de passer de « Absence excusée » à « Venu »" in response.json()["message"]


def test_idempotency_key_is_required(person, manager, france_travail, make_partner, api_client):
    appointment = _setup(person, manager, france_travail)
    _, token = make_partner(france_travail)
    response = api_client(token).post(f"rendez-vous/{appointment.pk}/presence", {"presence": "present"})
    assert response.status_code == 422
    assert response.json()["code"] == "parametres_invalides"
    assert not Event.objects.filter(kind="appointment_held").exists()


def test_future_appointment_cannot_be_marked_present(
    person, manager, france_travail, make_partner, api_client
):
    follow(person, france_travail)
    appointment = orientation.schedule_appointment(
        person, starts_at=past(hours=-48), place="Agence France Travail de Redon", author=manager
    )
    _, token = make_partner(france_travail)
    response = api_client(token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="f"
    )
    assert response.status_code == 422
    assert (
        response.json()["message"] == "La présence ne peut être saisie qu'une fois le rendez-vous commencé."
    )


def test_appointment_outside_the_scope_is_not_found(
    departement, manager, france_travail, make_partner, api_client
):
    stranger = BeneficiaryFactory(departement=departement)
    appointment = orientation.schedule_appointment(
        stranger, starts_at=past(), place="Espace social", author=manager
    )
    _, token = make_partner(france_travail)
    response = api_client(token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="x"
    )
    assert response.status_code == 404
    assert response.json()["message"] == "Rendez-vous introuvable dans votre périmètre."
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.PLANNED


def test_read_scope_alone_cannot_write(person, manager, france_travail, make_partner, api_client):
    appointment = _setup(person, manager, france_travail)
    _, token = make_partner(france_travail, ["rendez-vous:lecture"])
    response = api_client(token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="x"
    )
    assert response.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_invalid_presence_value_is_rejected(person, manager, france_travail, make_partner, api_client):
    appointment = _setup(person, manager, france_travail)
    _, token = make_partner(france_travail)
    response = api_client(token).post(
        f"rendez-vous/{appointment.pk}/presence", {"presence": "annule"}, key="x"
    )
    assert response.status_code == 422
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.PLANNED
