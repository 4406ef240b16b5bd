"""Chaque export ou téléchargement nominatif est au journal d'accès, avec l'adresse IP du client."""

import datetime

import pytest
from django.urls import reverse

from parcours.accompaniment.person_space import create_account
from parcours.accounts.models import OrganisationKind, Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.interop import services as interop
from parcours.interop.models import Scope
from parcours.journal.models import Event, EventKind
from parcours.orientation import services as orientation
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    make_nir,
)

pytestmark = pytest.mark.django_db
D = datetime.date
IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _outboxes(settings):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def departement():
    return DepartementFactory()


@pytest.fixture
def manager(departement):
    return MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user


@pytest.fixture
def people(departement):
    return [
        BeneficiaryFactory(
            departement=departement,
            last_name=name,
            new_entrant_t0=D(2026, 3, 1),
            address="1 place de la Mairie",
            postal_code="35600",
            city="Redon",
            email=f"{name.lower()}@example.org",
        )
        for name in ("Diallo", "Martin")
    ]


def exports(**filters):
    return list(AccessLog.objects.filter(action=AccessAction.EXPORT, **filters).order_by("pk"))


def test_the_list_export_logs_each_exported_person_with_the_address(client, manager, people):
    other = BeneficiaryFactory(departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"))
    client.force_login(manager)
    response = client.get("/beneficiaires/export.csv", {"q": "", "etat": "2"}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    entries = exports()
    assert {e.beneficiary_id for e in entries} == {p.pk for p in people}
    assert other.pk not in {e.beneficiary_id for e in entries}
    entry = entries[0]
    assert (entry.ip, entry.user, entry.view, entry.path) == (
        IP,
        manager,
        "beneficiary_export",
        "/beneficiaires/export.csv",
    )
    assert entry.departement_id == people[0].departement_id
    assert entry.reason == "Export CSV de la liste des personnes : 2 personnes ; filtres : etat=2"


def test_a_nir_searched_in_the_list_export_is_not_written_to_the_log(client, manager, people):
    client.force_login(manager)
    b"".join(client.get("/beneficiaires/export.csv", {"q": people[0].nir}, REMOTE_ADDR=IP).streaming_content)
    [entry] = exports()
    assert people[0].nir not in entry.reason and people[0].nir not in entry.path
    assert "q=(masqué)" in entry.reason and " : 1 personne ; " in entry.reason


@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_invitation_letters_are_logged(client, manager, people, fmt):
    invitations = [orientation.invite(p, channel="postal", author=manager) for p in people]
    client.force_login(manager)
    query = "?ids=" + ",".join(str(i.pk) for i in invitations) + ("&format=pdf" if fmt == "pdf" else "")
    response = client.get(reverse("orientation:letters") + query, REMOTE_ADDR=IP)
    assert response.status_code == 200
    entries = exports()
    assert {e.beneficiary_id for e in entries} == {p.pk for p in people}
    assert {e.ip for e in entries} == {IP}
    kind = "PDF" if fmt == "pdf" else "page imprimable"
    assert entries[0].reason.startswith(f"Courriers d'invitation ({kind}) : 2 personnes ;")


def test_orientation_notification_letters_are_logged(client, manager, departement, people):
    france_travail = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement)
    decisions = [
        orientation.decide_orientation(
            p,
            pathway="emploi",
            organisation=france_travail,
            author=manager,
            decided_on=D(2026, 3, 10),
            notified_on=D(2026, 3, 10),
        )
        for p in people
    ]
    client.force_login(manager)
    query = "?ids=" + ",".join(str(d.pk) for d in decisions) + "&format=pdf"
    response = client.get(reverse("orientation:decision_letters") + query, REMOTE_ADDR=IP)
    assert response["Content-Type"] == "application/pdf"
    entries = exports()
    assert {(e.beneficiary_id, e.ip) for e in entries} == {(p.pk, IP) for p in people}
    assert entries[0].reason.startswith("Notifications d'orientation (PDF) : 2 personnes ;")


def test_the_annex4_file_is_logged_with_the_address(client, manager, departement, people):
    for p in people:
        Event.objects.create(
            beneficiary=p, kind=EventKind.NEW_ENTRANT, occurred_on=D(2026, 3, 1), payload={"t0": "2026-03-01"}
        )
    client.force_login(manager)
    response = client.get(
        reverse("indicators:annex4_csv"),
        {"departement": departement.pk, "debut": "2026-01-01", "fin": "2026-12-31"},
        REMOTE_ADDR=IP,
    )
    assert response.status_code == 200
    b"".join(response.streaming_content)
    entries = exports()
    assert {e.beneficiary_id for e in entries} == {p.pk for p in people}
    assert {(e.ip, e.user_id, e.view) for e in entries} == {(IP, manager.pk, "indicators:annex4_csv")}
    assert entries[0].path.startswith(reverse("indicators:annex4_csv"))


def test_the_right_of_access_download_is_logged_with_the_address(client, people):
    person = people[0]
    account = create_account(person, email="awa.diallo@example.org", password="motdepasse-solide-2026")
    client.force_login(account.user)
    response = client.get("/accompagnement/mon-espace/mes-donnees.json", REMOTE_ADDR=IP)
    assert response.status_code == 200
    entry = AccessLog.objects.get(action=AccessAction.RIGHT_OF_ACCESS)
    assert (entry.beneficiary_id, entry.ip) == (person.pk, IP)


def test_api_reads_are_logged_with_the_address(client, departement):
    person = BeneficiaryFactory(departement=departement, nir=make_nir(12))
    partner, token = interop.issue_token(departement, "Logiciel du Département", list(Scope.values))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": IP}
    assert client.get("/api/v1/interop/personnes", **auth).status_code == 200
    assert client.get(f"/api/v1/interop/personnes/{person.pk}", **auth).status_code == 200
    entries = list(AccessLog.objects.filter(beneficiary_id=person.pk).order_by("pk"))
    assert len(entries) == 2
    assert {(e.action, e.ip, e.user_id) for e in entries} == {
        (AccessAction.READ, IP, partner.service_user_id)
    }
    assert entries[1].path == f"/api/v1/interop/personnes/{person.pk}"
