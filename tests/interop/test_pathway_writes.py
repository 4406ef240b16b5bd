"""France Travail reprend les personnes qui lui sont orientées : son système voit la personne, désigne le
référent et transmet le contrat signé (avant : 404 « hors périmètre », aucun moyen de désigner le référent)."""

import pytest

from parcours.accounts.models import Role
from parcours.orientation import services as orientation
from parcours.pathway import services as pathway
from tests.factories import MembershipFactory

from .conftest import D


@pytest.fixture
def counsellor(france_travail):
    return MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__email="conseiller.redon@francetravail.fr"
    ).user


def test_france_travail_takes_over_the_people_oriented_to_it(
    person, manager, france_travail, counsellor, make_partner, api_client
):
    _system, token = make_partner(france_travail, name="SI France Travail")
    api = api_client(token)
    body = {"personne": person.pk, "referent": counsellor.email, "designe_le": "2026-03-14"}
    assert (
        api.post("referents", body, key="r-1").status_code == 404
    )  # pas encore orientée vers France Travail

    orientation.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    assert api.get(f"personnes/{person.pk}").status_code == 200
    response = api.post("referents", body, key="r-2")
    assert response.status_code == 201, response.content
    assert response.json()["referent"] == counsellor.email
    assert pathway.in_charge(person, D(2026, 3, 14)).referent == counsellor
    assert [a.beneficiary_id for a in orientation.portfolio(counsellor)] == [person.pk]

    contract = {"personne": person.pk, "type": "ppae", "signe_le": "2026-03-20", "reference": "PPAE-1"}
    assert api.post("contrats", contract, key="c-1").status_code == 201


def test_referent_of_another_organisation_is_refused(
    person, manager, france_travail, make_partner, api_client
):
    orientation.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        notified_on=D(2026, 3, 10),
        decided_on=D(2026, 3, 10),
    )
    _system, token = make_partner(france_travail)
    body = {"personne": person.pk, "referent": manager.email, "designe_le": "2026-03-14"}
    response = api_client(token).post("referents", body, key="r-x")
    assert response.status_code == 404
    assert "Aucun agent" in response.json()["message"]


def test_department_system_writes_an_orientation_result(
    person, departement, france_travail, make_partner, api_client
):
    france_travail.siret = "13000548100010"
    france_travail.save()
    _system, token = make_partner(departement, name="Logiciel social du Département")
    body = {
        "personne": person.pk,
        "parcours": "PSP",
        "organisation": "13000548100010",
        "notifiee_le": "2026-03-09",
    }
    response = api_client(token).post("orientations", body, key="o-1")
    assert response.status_code == 201, response.content
    assert response.json()["parcours"] == "socio_professionnel"
    assert pathway.in_charge(person, D(2026, 3, 9)).organisation == france_travail
    # rejouée avec la même clé : la même réponse, aucune seconde décision
    again = api_client(token).post("orientations", body, key="o-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert person.orientation_decisions.count() == 1
