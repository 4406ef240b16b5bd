"""Indicateurs agrégés du Département par l'API des systèmes partenaires : mêmes clés et même règle du vide
que ``parcours indicators``, calculés sur ce que le système peut compter."""

import io
import json

from django.core.management import call_command

from parcours.accounts.models import OrganisationKind
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from parcours.journal.models import Event, EventKind
from parcours.orientation import services as orientation
from tests.factories import BeneficiaryFactory, OrganisationFactory, TerritoryFactory

from .conftest import D, follow

CONTRACT_KEYS = {
    "nouveaux_entrants",
    "nouveaux_entrants_orientes_15j",
    "taux_orientation_15j",
    "delai_median_t0_orientation_jours",
    "delai_median_ouverture_droit_premier_entretien_jours",
    "delai_median_diagnostic_premiere_action_jours",
    "repartition_parcours",
    "contrats_signes",
    "part_accompagnement_intensif",
    "sortants",
    "retours_emploi",
    "taux_retour_emploi_durable_6m",
    "beneficiaires_suivis",
}


def new_entrants(departement, manager, france_travail, territory=None):
    """Trois nouveaux entrants de mars : deux orientés à temps (l'un vers France Travail), un non orienté ;
    un nouvel entrant d'un autre Département."""
    people = BeneficiaryFactory.create_batch(
        3, departement=departement, new_entrant_t0=D(2026, 3, 2), territory=territory
    )
    for person in people:
        Event.objects.create(beneficiary=person, kind=EventKind.NEW_ENTRANT, occurred_on=D(2026, 3, 2))
    for person, organisation in ((people[0], france_travail), (people[1], departement)):
        decision = orientation.decide_orientation(
            person, pathway="emploi", organisation=organisation, author=manager, decided_on=D(2026, 3, 9)
        )
        orientation.notify_orientation(decision, author=manager, notified_on=D(2026, 3, 10))
    other = BeneficiaryFactory(departement__departement_code="56", new_entrant_t0=D(2026, 3, 2))
    Event.objects.create(beneficiary=other, kind=EventKind.NEW_ENTRANT, occurred_on=D(2026, 3, 2))
    return people


def cli_indicators(departement):
    out = io.StringIO()
    call_command(
        "indicators", "--from", "2026-03-01", "--to", "2026-03-31", "--departement", "35", stdout=out
    )
    return json.loads(out.getvalue())


def test_departement_system_gets_the_same_values_as_the_command(
    departement, france_travail, manager, make_partner, api_client
):
    new_entrants(departement, manager, france_travail)
    _, token = make_partner(departement, scopes=["indicateurs:lecture"])
    response = api_client(token).get("indicateurs", debut="2026-03-01", fin="2026-03-31")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["departement"] == {"id": departement.pk, "nom": departement.name, "code": "35"}
    assert body["perimetre"] == "departement" and body["territoire"] is None
    assert (body["debut"], body["fin"]) == ("2026-03-01", "2026-03-31")
    values = body["indicateurs"]
    assert values == cli_indicators(departement)
    assert set(values) >= CONTRACT_KEYS
    assert values["nouveaux_entrants"] == 3 and values["nouveaux_entrants_orientes_15j"] == 2
    assert values["taux_orientation_15j"] == 2 / 3


def test_empty_population_gives_null_rates_never_zero(departement, make_partner, api_client):
    _, token = make_partner(departement, scopes=["indicateurs:lecture"])
    values = api_client(token).get("indicateurs", debut="2025-01-01", fin="2025-01-31").json()["indicateurs"]
    assert values["nouveaux_entrants"] == 0 and values["sortants"] == 0
    assert values["taux_orientation_15j"] is None
    assert values["delai_median_t0_orientation_jours"] is None
    assert values["taux_retour_emploi_durable_6m"] is None


def test_partner_counts_only_the_people_it_follows(
    departement, france_travail, manager, make_partner, api_client
):
    people = new_entrants(departement, manager, france_travail)
    follow(people[0], france_travail)
    _, token = make_partner(france_travail, scopes=["indicateurs:lecture"])
    body = api_client(token).get("indicateurs", debut="2026-03-01", fin="2026-03-31").json()
    assert body["perimetre"] == "personnes_suivies" and body["departement"]["code"] == "35"
    expected = compute_indicators(
        beneficiary_scope(departement=departement).filter(pk=people[0].pk), D(2026, 3, 1), D(2026, 3, 31)
    )
    assert body["indicateurs"] == json.loads(json.dumps(expected))
    assert body["indicateurs"]["nouveaux_entrants"] == 1


def test_state_services_count_their_whole_departement(
    departement, france_travail, manager, make_partner, api_client
):
    """L'État ne voit aucune personne (liste vide) mais compte tout le Département."""
    new_entrants(departement, manager, france_travail)
    prefecture = OrganisationFactory(
        kind=OrganisationKind.ETAT, name="Préfecture d'Ille-et-Vilaine", departement=departement
    )
    _, token = make_partner(prefecture)
    client = api_client(token)
    assert client.get("personnes").json()["elements"] == []
    body = client.get("indicateurs", debut="2026-03-01", fin="2026-03-31").json()
    assert body["perimetre"] == "departement" and body["indicateurs"]["nouveaux_entrants"] == 3


def test_territory_filter_and_french_errors(departement, france_travail, manager, make_partner, api_client):
    redon = TerritoryFactory(departement=departement, code="REDON", name="Pays de Redon")
    new_entrants(departement, manager, france_travail, territory=redon)
    BeneficiaryFactory(
        departement=departement, new_entrant_t0=D(2026, 3, 3)
    )  # hors territoire, sans événement
    _, token = make_partner(departement, scopes=["indicateurs:lecture"])
    client = api_client(token)
    body = client.get("indicateurs", debut="2026-03-01", fin="2026-03-31", territoire="redon").json()
    assert body["territoire"] == {"code": "REDON", "nom": "Pays de Redon"}
    assert body["indicateurs"]["nouveaux_entrants"] == 3
    unknown = client.get("indicateurs", debut="2026-03-01", fin="2026-03-31", territoire="BREST")
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Territoire « BREST » inconnu dans le Département."
    backwards = client.get("indicateurs", debut="2026-03-31", fin="2026-03-01")
    assert backwards.status_code == 400
    assert backwards.json()["message"] == "Période : la date de fin précède la date de début."
    assert client.get("indicateurs", debut="1900-01-01", fin="2026-03-01").status_code == 422
    assert client.get("indicateurs", debut="2026-03-01").status_code == 422


def test_indicators_require_their_scope(departement, make_partner, api_client):
    _, token = make_partner(departement, scopes=["personnes:lecture"])
    response = api_client(token).get("indicateurs", debut="2026-03-01", fin="2026-03-31")
    assert response.status_code == 403
    assert response.json()["message"] == "Ce système partenaire n'a pas la portée « indicateurs:lecture »."
