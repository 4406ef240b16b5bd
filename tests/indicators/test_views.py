"""Tableau de bord « Pilotage » et ses exports, par HTTP : périmètre de l'agent, filtres, requêtes SQL."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from parcours.accounts.models import Role, Territory
from tests.factories import DepartementFactory, MembershipFactory

from .conftest import D, person, row

pytestmark = pytest.mark.django_db

MARCH = {"debut": "2026-03-01", "fin": "2026-03-31"}


@pytest.fixture
def march(flux, orient):
    flux(
        D(2026, 3, 1),
        row("alice"),
        row("bruno"),
        row("chloe", commune="vitre"),
        row("david", commune="vitre"),
    )
    orient(person("alice"), D(2026, 3, 15), "emploi")
    orient(person("bruno"), D(2026, 3, 16), "social")
    orient(person("chloe"), D(2026, 3, 2), "socio_professionnel")


def figure(response, key):
    return response.context["figures"][[f["definition"].id for f in response.context["figures"]].index(key)]


def test_dashboard_shows_every_figure_with_its_definition(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), MARCH)

    assert response.status_code == 200
    assert figure(response, "nouveaux_entrants")["display"] == "4"
    assert figure(response, "taux_orientation_15j")["display"] == "50\u202f%"
    assert figure(response, "delai_median_t0_orientation_jours")["display"] == "14\u202fj"
    html = response.content.decode()
    assert "Pilotage" in html
    assert "T0 comptant comme jour 1" in html  # la définition est à côté du chiffre
    assert 'data-indicateur="taux_orientation_15j"' in html
    assert "2026-03" in html
    pathways = {r["key"]: r["count"] for r in response.context["pathways"]}
    assert pathways == {"emploi": 1, "socio_professionnel": 1, "social": 1, "non_oriente": 1}


def test_the_dashboard_reads_the_new_entrant_cohort_once(client, manager, march, monkeypatch):
    """La cohorte (la requête la plus coûteuse à 150 000 personnes) est lue une fois : figures, série,
    graphiques et répartitions en sont tirés, sans second calcul par la base."""
    from parcours.indicators import definitions

    def second_computation(*args, **kwargs):
        raise AssertionError("cohorte recalculée par la base")

    monkeypatch.setattr(definitions, "cohort_tallies", second_computation)
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    assert response.status_code == 200
    assert figure(response, "nouveaux_entrants")["display"] == "4"
    assert figure(response, "taux_orientation_15j")["display"] == "50\u202f%"
    assert client.get(reverse("indicators:chart_svg", args=["serie-mensuelle"]), MARCH).status_code == 200


def test_navigation_has_a_pilotage_entry(client, manager):
    client.force_login(manager)
    response = client.get(reverse("home"))
    assert {"label": "Pilotage", "url": reverse("indicators:dashboard"), "active": False} in response.context[
        "main_nav"
    ]


def test_territory_filter(client, manager, march):
    client.force_login(manager)
    vitre = Territory.objects.get(code="VITRE")
    response = client.get(reverse("indicators:dashboard"), {**MARCH, "territoire": vitre.pk})
    assert figure(response, "nouveaux_entrants")["display"] == "2"
    assert figure(response, "taux_orientation_15j")["display"] == "50\u202f%"


def test_empty_population_shows_a_dash_not_zero(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), {"debut": "2025-01-01", "fin": "2025-01-31"})
    assert figure(response, "nouveaux_entrants")["display"] == "0"
    assert figure(response, "taux_orientation_15j")["display"] == "—"


def test_invalid_period_falls_back_to_default_with_an_error(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), {"debut": "2026-03-31", "fin": "2026-03-01"})
    assert response.status_code == 200
    assert "La date de fin précède la date de début." in response.content.decode()


def test_agent_of_another_departement_sees_nothing_of_ours(client, march):
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    agent = MembershipFactory(organisation=other, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    assert figure(response, "nouveaux_entrants")["display"] == "0"
    # Les territoires d'un autre Département ne sont pas proposés.
    assert list(response.context["form"].fields["territoire"].queryset) == []


def test_partner_sees_only_the_people_it_follows(client, march, france_travail, manager):
    from parcours.orientation import services as orientation

    referent = MembershipFactory(organisation=france_travail, role=Role.REFERENT).user
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 20),
    )
    client.force_login(referent)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    assert figure(response, "nouveaux_entrants")["display"] == "1"
    assert figure(response, "taux_orientation_15j")["display"] == "100\u202f%"


def test_login_required(client):
    response = client.get(reverse("indicators:dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_query_count_does_not_grow_with_data(client, manager, flux, orient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("indicators:dashboard"), MARCH)
        assert response.status_code == 200
        return len(queries)

    client.force_login(manager)
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    orient(person("alice"), D(2026, 3, 5))
    small = count()
    flux(D(2026, 3, 2), row("chloe"), row("david"), row("emma"), row("farid"))
    for name in ("bruno", "chloe", "david"):
        orient(person(name), D(2026, 3, 6))
    assert count() == small
    # Plafond : indicateurs, graphiques, tableaux par organisation et par référent (une petite requête par
    # ligne de ces tableaux), volet 3 (progression dans l'employabilité avec les embauches sans sortie,
    # satisfaction, questionnaire des professionnels dû) ; une requête de plus signale une régression.
    assert small <= 46  # PostgreSQL : plus la transaction et les réglages de la session d'analyse


def test_csv_export(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:export_csv"), MARCH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="indicateurs-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = {r["indicateur"]: r for r in csv.DictReader(io.StringIO(text), delimiter=";")}
    assert rows["nouveaux_entrants"]["valeur"] == "4"
    assert rows["taux_orientation_15j"]["valeur"] == "0.5"
    assert rows["repartition_parcours.non_oriente"]["valeur"] == "1"
    assert rows["delai_median_diagnostic_premiere_action_jours"]["valeur"] == ""  # vide, pas 0
    assert "Lebreton" not in text and "Martin" not in text  # aucune donnée personnelle


def test_xlsx_export(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:export_xlsx"), MARCH)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Indicateurs"]
    values = {r[0]: r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["nouveaux_entrants"] == 4
    assert values["taux_orientation_15j"] == 0.5
    assert "Définitions" in workbook.sheetnames


def test_aggregated_territory_export(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:export_territories"), MARCH)
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    by_name = {r["territoire"]: r for r in rows}
    assert set(by_name) == {"Pays de Redon", "Pays de Vitré", "Ensemble du périmètre"}
    assert by_name["Pays de Redon"]["nouveaux_entrants"] == "2"
    assert by_name["Pays de Vitré"]["taux_orientation_15j"] == "0.5"
    assert by_name["Ensemble du périmètre"]["nouveaux_entrants"] == "4"
    assert "Martin" not in text and "3500001" not in text


def test_a_user_without_organisation_is_refused(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("indicators:dashboard")).status_code == 403


def test_state_services_see_the_departement_aggregates_but_no_person(client, departement, march):
    from parcours.accounts.models import OrganisationKind
    from tests.factories import OrganisationFactory

    ddets = OrganisationFactory(
        kind=OrganisationKind.ETAT, name="DDETS d'Ille-et-Vilaine", departement=departement
    )
    client.force_login(MembershipFactory(organisation=ddets, role=Role.MANAGER).user)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    assert figure(response, "nouveaux_entrants")["display"] == "4"
    assert figure(response, "taux_orientation_15j")["display"] == "50\u202f%"
    # Aucune personne n'est visible nominativement.
    assert list(client.get(reverse("beneficiary_list")).context["page_obj"]) == []
    alice = person("alice")
    assert client.get(reverse("beneficiary_detail", args=[alice.pk])).status_code == 404
