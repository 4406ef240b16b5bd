"""API du catalogue : recherche et prescriptions (session), erreurs {code, message} en français."""

import pytest

from parcours.catalogue.models import Prescription
from tests.factories import BeneficiaryFactory, DepartementFactory

from .conftest import LILLE, ROUBAIX, make_service

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/catalogue/recherche"
PRESCRIPTIONS = "/api/v1/catalogue/prescriptions"


def test_search_requires_authentication(client):
    response = client.get(SEARCH)
    assert response.status_code == 401
    assert response.json()["code"] == "authentification_requise"


def test_search_api_same_filters_as_the_page(client, referent, communes, bike_service):
    make_service(at=ROUBAIX, nom="Auto-école sociale", thematiques=["mobilite--preparer-un-permis"])
    make_service(at=LILLE, nom="Garde d'enfants", thematiques=["famille--garde-denfants"])
    make_service(nom="Code de la route en ligne", thematiques=["mobilite--preparer-un-permis"])
    client.force_login(referent)

    body = client.get(SEARCH, {"commune": "59350", "rayon": 20, "thematiques": ["mobilite"]}).json()

    assert [i["service"]["nom"] for i in body["items"]] == [
        "Atelier de réparation de vélos",
        "Auto-école sociale",
        "Code de la route en ligne",
    ]
    assert [i["mode"] for i in body["items"]] == ["presentiel", "presentiel", "distance"]
    assert body["items"][1]["distance"] == pytest.approx(11.7, abs=0.5)
    assert body["items"][0]["parcours_id"] == bike_service.pk
    assert (body["total"], body["commune"]) == (3, "Lille (59350)")
    no_remote = client.get(
        SEARCH, {"commune": "59350", "thematiques": "mobilite", "distance": "false"}
    ).json()
    assert no_remote["total"] == 2
    assert client.get(SEARCH, {"rayon": 500}).json()["code"] == "parametres_invalides"


def test_prescribe_through_api(client, referent, person, bike_service):
    client.force_login(referent)
    payload = {
        "beneficiary_id": person.pk,
        "service_id": bike_service.pk,
        "share": ["email"],
        "consent": True,
    }

    response = client.post(PRESCRIPTIONS, payload, content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["structure"]) == ("open", "Atelier vélo solidaire")
    prescription = Prescription.objects.get(pk=body["id"])
    assert prescription.shared_data == {
        "first_name": "Nadia",
        "last_name": "Lebreton",
        "email": "nadia.lebreton@example.org",
    }
    listed = client.get(PRESCRIPTIONS, {"beneficiary_id": person.pk, "status": "open"}).json()
    assert [p["id"] for p in listed] == [body["id"]]

    duplicate = client.post(PRESCRIPTIONS, payload, content_type="application/json")
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "doublon"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"consent": False}, 400, "consentement_requis"),
        ({"share": ["nir"]}, 400, "donnees_inconnues"),
        ({"beneficiary_id": 0}, 404, "personne_introuvable"),
        ({"service_id": 0}, 404, "introuvable"),
    ],
)
def test_prescription_api_errors(client, referent, person, bike_service, change, status, code):
    client.force_login(referent)
    payload = {"beneficiary_id": person.pk, "service_id": bike_service.pk, "consent": True, **change}
    response = client.post(PRESCRIPTIONS, payload, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Prescription.objects.exists()


def test_prescription_api_scoped_to_perimeter(client, referent, manager_ro, person, bike_service):
    stranger = BeneficiaryFactory(departement=DepartementFactory(departement_code="62", name="Pas-de-Calais"))
    client.force_login(referent)
    response = client.post(
        PRESCRIPTIONS,
        {"beneficiary_id": stranger.pk, "service_id": bike_service.pk, "consent": True},
        content_type="application/json",
    )
    assert response.status_code == 404
    client.force_login(manager_ro)
    forbidden = client.post(
        PRESCRIPTIONS,
        {"beneficiary_id": person.pk, "service_id": bike_service.pk, "consent": True},
        content_type="application/json",
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == "Votre rôle ne permet pas de prescrire."
