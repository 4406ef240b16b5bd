"""Graphiques SVG du tableau de bord : dessinés par le serveur, accessibles, téléchargeables (image et
tableau CSV), avec les valeurs des indicateurs."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from .conftest import D, person, row
from .scenarios import scenario  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scenario")]

MARCH = {"debut": "2026-03-01", "fin": "2026-03-31"}
SVG = "{http://www.w3.org/2000/svg}"


def svg(client, chart, params=MARCH):
    response = client.get(reverse("indicators:chart_svg", args=[chart]), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert f'filename="{chart}-{params["debut"]}-{params["fin"]}.svg"' in response["Content-Disposition"]
    return ET.fromstring(response.content)


def texts(root):
    return [t.text for t in root.iter(f"{SVG}text")]


def test_funnel_image_has_a_title_a_description_and_the_values(client, manager):
    client.force_login(manager)
    root = svg(client, "tunnel")
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Du nouvel entrant au contrat"
    desc = root.find(f"{SVG}desc").text
    # Cinq nouveaux entrants, quatre orientés, trois dans l'objectif, un référent, un contrat.
    assert "Nouveaux entrants : 5 (100 %)" in desc
    assert "Orientés : 4 (80 %)" in desc
    assert "Orientés dans l'objectif : 3 (60 %)" in desc
    assert "Avec un référent : 1 (20 %)" in desc
    assert "Avec un contrat : 1 (20 %)" in desc
    values = texts(root)
    assert "5 (100\u202f%)" in values and "3 (60\u202f%)" in values and "1 (20\u202f%)" in values


def test_pathway_and_delay_images(client, manager):
    client.force_login(manager)
    desc = svg(client, "parcours").find(f"{SVG}desc").text
    assert "Emploi : 2 (40 %)" in desc  # Alice, Emma
    assert "Socio-professionnel : 1 (20 %)" in desc
    assert "Social : 1 (20 %)" in desc
    assert "Non orienté : 1 (20 %)" in desc
    desc = svg(client, "delais").find(f"{SVG}desc").text
    assert "Dans l'objectif : 3" in desc and "Dans le délai légal : 1" in desc
    assert "Pas encore orienté : 1" in desc
    desc = svg(client, "delais-semaines").find(f"{SVG}desc").text
    assert "0 à 6 j : 2" in desc  # Emma (2 j), Chloé (4 j)
    assert "7 à 13 j : 1" in desc  # Alice (9 j)
    assert "14 à 20 j : 1" in desc  # Bruno (19 j)


def test_monthly_image_has_one_bar_per_month_with_its_value(client, manager, flux, orient):
    flux(D(2026, 4, 1), row("farid"))
    orient(person("farid"), D(2026, 4, 30))
    client.force_login(manager)
    root = svg(client, "serie-mensuelle", {"debut": "2026-03-01", "fin": "2026-05-31"})
    bars = {r.get("data-mois"): r.get("data-valeur") for r in root.iter(f"{SVG}rect") if r.get("data-mois")}
    assert bars == {"2026-03": "5", "2026-04": "1", "2026-05": "0"}
    tooltips = [t.text for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert "2026-03 : 5 nouveaux entrants, 3 orientés dans les 15 jours (60\u202f%)" in tooltips
    assert "2026-05 : 0 nouveaux entrants, 0 orientés dans les 15 jours (—)" in tooltips
    # La courbe du taux s'interrompt sur le mois sans nouvel entrant : deux points, pas de 0 inventé.
    assert len(list(root.iter(f"{SVG}circle"))) == 1 + 2  # légende + mars + avril


def test_chart_tables_download_as_csv(client, manager):
    client.force_login(manager)
    response = client.get(reverse("indicators:chart_csv", args=["tunnel"]), MARCH)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["modalité", "libellé", "nombre", "part (%)"]
    assert rows[1:] == [
        ["nouveaux_entrants", "Nouveaux entrants", "5", "100.0"],
        ["orientes", "Orientés", "4", "80.0"],
        ["orientes_15j", "Orientés dans l'objectif", "3", "60.0"],
        ["avec_referent", "Avec un référent", "1", "20.0"],
        ["avec_contrat", "Avec un contrat", "1", "20.0"],
    ]
    response = client.get(reverse("indicators:chart_csv", args=["serie-mensuelle"]), MARCH)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["mois", "nouveaux_entrants", "nouveaux_entrants_orientes_15j", "taux_orientation_15j"],
        ["2026-03", "5", "3", "0.6"],
    ]


def test_dashboard_shows_each_chart_inline_with_its_table_and_downloads(client, manager):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    html = response.content.decode()
    for chart in ("tunnel", "serie-mensuelle", "parcours", "delais", "delais-semaines"):
        assert f'data-graphique="{chart}"' in html
        assert f'aria-labelledby="{chart}-titre {chart}-desc"' in html
        assert reverse("indicators:chart_svg", args=[chart]) in html
        assert reverse("indicators:chart_csv", args=[chart]) in html
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script" not in main  # rien d'exécutable dans la page (CSP)
    assert "Du nouvel entrant au contrat</caption>" in html  # tableau de données à côté du graphique


def test_unknown_chart_is_404_and_images_need_an_agent(client, manager):
    client.force_login(manager)
    assert client.get(reverse("indicators:chart_svg", args=["camembert"])).status_code == 404
    client.logout()
    response = client.get(reverse("indicators:chart_svg", args=["tunnel"]))
    assert response.status_code == 302


def test_labels_are_escaped_in_the_image():
    from parcours.indicators.charts import bar_chart

    image = bar_chart("essai", "Titre <b>", "Desc & co", [{"label": "<script>", "count": 2, "percent": None}])
    root = ET.fromstring(str(image))
    assert "<script>" in texts(root)
    assert "<script>" not in str(image)
