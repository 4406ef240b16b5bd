"""Cartographie parcours–offre : saisie des financements, tableau filtré et totaux, exports, carte SVG."""

import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from parcours.accounts.models import Role
from parcours.catalogue import offer_map
from parcours.catalogue.models import Funder, ServiceFinancing
from parcours.orientation.models import Pathway
from tests.factories import DepartementFactory, MembershipFactory, TerritoryFactory

from .conftest import HAZEBROUCK, ROUBAIX, make_service


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def territories(departement):
    return {
        "lille": TerritoryFactory(departement=departement, code="LIL", name="Métropole lilloise"),
        "flandre": TerritoryFactory(departement=departement, code="FLA", name="Flandre intérieure"),
    }


def finance(service, departement, pathway, places, unit_cost, funders, territory=None, year=2026):
    financing = ServiceFinancing(
        service=service,
        departement=departement,
        pathway=pathway,
        territory=territory,
        year=year,
        places_financed=places,
        unit_cost=Decimal(unit_cost),
        funders=funders,
    )
    return offer_map.save_financing(financing, user=None)


@pytest.fixture
def offer(departement, territories, bike_service):
    """Trois services financés : l'atelier vélo (social, Lille), une formation (emploi, Roubaix, deux
    financeurs), un chantier d'insertion à Hazebrouck (socio-professionnel, Flandre)."""
    training = make_service(at=ROUBAIX, nom="Formation préqualifiante logistique", commune="Roubaix")
    workshop = make_service(at=HAZEBROUCK, nom="Chantier d'insertion espaces verts", commune="Hazebrouck")
    finance(
        bike_service, departement, Pathway.SOCIAL, 12, "850.00", [Funder.DEPARTEMENT], territories["lille"]
    )
    finance(
        training, departement, Pathway.EMPLOI, 20, "2000.00", [Funder.ETAT, Funder.FSE], territories["lille"]
    )
    finance(
        workshop,
        departement,
        Pathway.SOCIO_PROFESSIONNEL,
        8,
        "3500.50",
        [Funder.DEPARTEMENT],
        territories["flandre"],
    )
    # Un autre Département : jamais dans la cartographie du Nord.
    other = DepartementFactory(departement_code="62", name="Département du Pas-de-Calais")
    finance(training, other, Pathway.EMPLOI, 99, "10.00", [Funder.REGION])
    return {"training": training, "workshop": workshop, "bike": bike_service}


def test_totals_multiply_places_by_unit_cost(offer, departement):
    rows = offer_map.financings([departement])
    totals = offer_map.totals(rows)
    # 12 × 850 + 20 × 2 000 + 8 × 3 500,50 = 10 200 + 40 000 + 28 004
    assert totals["places"] == 40 and totals["budget"] == Decimal("78204.00") and totals["services"] == 3
    by_pathway = {r["pathway"]: r for r in offer_map.by_pathway(rows)}
    assert by_pathway[Pathway.EMPLOI]["budget"] == Decimal("40000.00")
    assert by_pathway[Pathway.EMPLOI]["unit_cost"] == Decimal("2000.00")


def test_filters_by_pathway_territory_and_funder(offer, departement, territories):
    F = offer_map.Filters
    assert offer_map.totals(offer_map.financings([departement], F(pathway=Pathway.SOCIAL)))["places"] == 12
    lille = offer_map.financings([departement], F(territory_id=territories["lille"].pk))
    assert offer_map.totals(lille)["places"] == 32
    fse = offer_map.financings([departement], F(funder=Funder.FSE))
    assert [f.service.nom for f in fse] == ["Formation préqualifiante logistique"]


def test_table_page_shows_rows_and_totals(client, offer, manager_ro, territories):
    client.force_login(manager_ro)
    html = text(client.get(reverse("catalogue:offer_map")))
    assert "Formation préqualifiante logistique" in html and "État, Fonds social européen (FSE+)" in html
    assert '<th scope="row">Total</th><td>3</td><td>40</td><td class="parcours-nowrap">78 204,00 €' in html
    # La ligne du Pas-de-Calais (99 places) n'est pas dans la cartographie du Nord.
    assert "Offre financée (3 lignes)" in html and "<td>99</td>" not in html
    html = text(client.get(reverse("catalogue:offer_map") + f"?territory={territories['flandre'].pk}"))
    assert "Chantier d&#x27;insertion espaces verts" in html and "Atelier de réparation de vélos" not in html


def test_csv_and_xlsx_exports(client, offer, manager_ro):
    client.force_login(manager_ro)
    response = client.get(reverse("catalogue:offer_export", args=["csv"]) + "?pathway=emploi")
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = content.strip().splitlines()
    assert lines[0].startswith("type de parcours;service;structure;territoire;année;places financées")
    assert len(lines) == 2
    assert lines[1].startswith("Emploi;Formation préqualifiante logistique;")
    assert ";Métropole lilloise;2026;20;2000.00;40000.00;État, Fonds social européen (FSE+);" in lines[1]
    response = client.get(reverse("catalogue:offer_export", args=["xlsx"]))
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Offre financée", "Par parcours"]
    summary = list(workbook["Par parcours"].iter_rows(values_only=True))
    assert summary[-1] == ("Ensemble", 3, 40, 78204.0, 1955.1)
    assert client.get(reverse("catalogue:offer_export", args=["pdf"])).status_code == 404


def test_svg_map_places_each_service(client, offer, manager_ro, communes):
    unlocated = make_service(nom="Permanence sans adresse")
    finance(unlocated, offer["bike"].financings.first().departement, Pathway.SOCIAL, 3, "100", [Funder.CAF])
    client.force_login(manager_ro)
    html = text(client.get(reverse("catalogue:offer_svg_map")))
    assert html.count("<circle") == 3
    assert "Hazebrouck (8)" in html and "Roubaix (20)" in html
    assert "Non localisés (ni coordonnées ni commune connue) : Permanence sans adresse." in html
    points, _missing = offer_map.map_points(
        offer_map.financings([offer["bike"].financings.first().departement])
    )
    by_label = {p.label: p for p in points}
    # Hazebrouck est à l'ouest de Roubaix : plus à gauche sur la carte ; le plus financé a le plus grand cercle.
    assert by_label["Hazebrouck"].x < by_label["Roubaix"].x
    assert by_label["Roubaix"].radius == max(p.radius for p in points)


def test_department_admin_records_a_financing(client, bike_service, dep_admin, departement, territories):
    client.force_login(dep_admin)
    url = reverse("catalogue:service_financings", args=[bike_service.pk])
    response = client.post(
        url,
        {
            "pathway": "social",
            "territory": territories["lille"].pk,
            "year": 2026,
            "places_financed": 15,
            "unit_cost": "1200.00",
            "funders": ["departement", "fse"],
            "funding_reference": "Fiche action n°4 — mobilité",
        },
    )
    assert response.status_code == 302
    financing = ServiceFinancing.objects.get()
    assert financing.departement == departement and financing.funders_index == "|departement|fse|"
    assert financing.budget == Decimal("18000.00")
    html = text(client.get(url))
    assert "18 000,00 €" in html


def test_financing_validation_messages_are_in_french(
    client, bike_service, dep_admin, departement, territories
):
    client.force_login(dep_admin)
    url = reverse("catalogue:service_financings", args=[bike_service.pk])
    html = text(
        client.post(url, {"pathway": "social", "year": 2026, "places_financed": 3, "unit_cost": "10"})
    )
    assert "Choisissez au moins un financeur." in html
    html = text(
        client.post(
            url,
            {"pathway": "social", "year": 2026, "places_financed": 0, "unit_cost": "-5", "funders": ["etat"]},
        )
    )
    assert "Le nombre de places financées est d&#x27;au moins 1." in html
    assert "Le coût unitaire est un montant positif en euros." in html
    other_territory = TerritoryFactory(departement=DepartementFactory(departement_code="62"), name="Artois")
    html = text(
        client.post(
            url,
            {
                "pathway": "social",
                "territory": other_territory.pk,
                "year": 2026,
                "places_financed": 5,
                "unit_cost": "100",
                "funders": ["departement"],
            },
        )
    )
    # Le territoire d'un autre Département n'est pas proposé : choix refusé par le formulaire.
    assert "Sélectionnez un choix valide" in html
    finance(bike_service, departement, Pathway.SOCIAL, 10, "100", [Funder.DEPARTEMENT])
    html = text(
        client.post(
            url,
            {
                "pathway": "social",
                "year": 2026,
                "places_financed": 4,
                "unit_cost": "100",
                "funders": ["etat"],
            },
        )
    )
    assert "Ce service a déjà un financement pour ce parcours, ce territoire et cette année" in html
    assert ServiceFinancing.objects.count() == 1


def test_check_financing_rules():
    financing = ServiceFinancing(
        pathway="emploi", year=2026, places_financed=0, unit_cost=Decimal("0"), funders=[]
    )
    with pytest.raises(ValidationError) as error:
        offer_map.check_financing(financing)
    messages = error.value.message_dict
    assert messages["places_financed"] == ["Le nombre de places financées est d'au moins 1."]
    assert messages["unit_cost"] == ["Le coût unitaire est un montant positif en euros."]
    assert messages["funders"] == ["Choisissez au moins un financeur."]


def test_access_read_for_departement_agents_edit_for_admins(
    client, offer, referent, manager_ro, partner_agent
):
    client.force_login(partner_agent)
    assert client.get(reverse("catalogue:offer_map")).status_code == 403
    client.force_login(manager_ro)
    assert client.get(reverse("catalogue:offer_map")).status_code == 200
    assert client.get(reverse("catalogue:service_financings", args=[offer["bike"].pk])).status_code == 403
    client.force_login(referent)
    assert "Cartographie de l'offre" in text(client.get(reverse("catalogue:search")))
    other_admin = MembershipFactory(
        organisation=DepartementFactory(departement_code="62"), role=Role.ADMIN
    ).user
    client.force_login(other_admin)
    financing = offer["training"].financings.get(departement__departement_code="59")
    assert client.post(reverse("catalogue:financing_delete", args=[financing.pk])).status_code == 404
    html = text(client.get(reverse("catalogue:offer_map")))
    assert "Atelier de réparation de vélos" not in html and "Formation préqualifiante logistique" in html


def test_a_financing_territory_belongs_to_its_departement(bike_service, departement):
    other = TerritoryFactory(departement=DepartementFactory(departement_code="62"), name="Artois")
    financing = ServiceFinancing(
        service=bike_service,
        departement=departement,
        pathway=Pathway.SOCIAL,
        territory=other,
        year=2026,
        places_financed=4,
        unit_cost=Decimal("300"),
        funders=[Funder.DEPARTEMENT],
    )
    with pytest.raises(ValidationError) as error:
        offer_map.save_financing(financing, user=None)
    assert error.value.message_dict == {"territory": ["Ce territoire n'appartient pas au Département."]}
    assert not ServiceFinancing.objects.exists()
