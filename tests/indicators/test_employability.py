"""Progression dans l'employabilité (annexe 4 de 002, volet 3 : « immersions, formations, contrats de
travail de courte durée, levée de freins périphériques ») : tableau de bord, exports, fichier annexe 4."""

import csv
import io
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from parcours.accompaniment import activities, exits
from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Situation
from parcours.indicators.definitions import beneficiary_scope, compute_indicators

from .conftest import D, person, row

pytestmark = pytest.mark.django_db

MARCH = (D(2026, 3, 1), D(2026, 3, 31))


def compute(departement, start, end, **kw):
    return compute_indicators(beneficiary_scope(departement=departement), start, end, **kw)


def _situation(theme):
    return Situation.objects.filter(theme__code=theme).order_by("position").first()


def _activity(beneficiary, author, kind, starts_on, status=None, label="Activité"):
    activity = activities.plan_activity(
        beneficiary,
        author=author,
        kind=kind,
        label=label,
        weekly_hours=Decimal("10"),
        weeks=4,
        starts_on=starts_on,
    )
    if status:
        activities.set_activity_status(activity, "in_progress", actor=author, on=starts_on)
        if status != "in_progress":
            activities.set_activity_status(
                activity,
                status,
                actor=author,
                on=starts_on,
                actual_hours=Decimal("35"),
                outcome="Fin anticipée",
            )
    return activity


@pytest.fixture
def march(departement, flux, orient, referent):
    """Cinq nouveaux entrants de mars ; Alice, Bruno, Chloé et David orientés (donc accompagnés), Emma non.

    Alice : immersion commencée ; Bruno : formation réalisée et sortie en CDI (pas courte) ; Chloé : contrat
    IAE commencé et frein « mobilité » levé au diagnostic ; David : sortie en CDD de 3 mois, immersion
    seulement prévue ; Emma : immersion commencée mais aucun suivi (hors population)."""
    flux(D(2026, 3, 1), *(row(n) for n in ("alice", "bruno", "chloe", "david", "emma")))
    alice, bruno, chloe, david, emma = (person(n) for n in ("alice", "bruno", "chloe", "david", "emma"))
    for someone in (alice, bruno, chloe, david):
        orient(someone, D(2026, 3, 3))
    _activity(alice, referent, "immersion", D(2026, 3, 9), "in_progress", "Immersion en boulangerie")
    _activity(bruno, referent, "formation", D(2026, 3, 10), "done", "Titre professionnel agent de propreté")
    _activity(chloe, referent, "iae", D(2026, 3, 16), "in_progress", "Chantier d'insertion espaces verts")
    _activity(david, referent, "immersion", D(2026, 3, 20), None, "Immersion prévue")
    _activity(alice, referent, "formation", D(2026, 3, 23), "abandoned", "Formation abandonnée")
    _activity(emma, referent, "immersion", D(2026, 3, 9), "in_progress", "Immersion sans suivi")
    exits.record_exit(
        bruno,
        author=referent,
        reason="emploi",
        exited_on=D(2026, 3, 27),
        employer="Propreté 35",
        job_title="Agent de propreté",
        contract_type="cdi",
        job_started_on=D(2026, 3, 30),
    )
    exits.record_exit(
        david,
        author=referent,
        reason="emploi",
        exited_on=D(2026, 3, 25),
        employer="Entrepôt Redon",
        job_title="Préparateur",
        contract_type="cdd",
        contract_months=3,
        job_started_on=D(2026, 3, 26),
    )
    mobility, housing = _situation("mobilite"), _situation("logement")
    accompaniment.save_diagnostic(
        chloe,
        author=referent,
        can_see_sensitive=True,
        conducted_on=D(2026, 2, 20),
        situations=[mobility, housing],
    )
    accompaniment.save_diagnostic(
        chloe, author=referent, can_see_sensitive=True, conducted_on=D(2026, 3, 18), situations=[housing]
    )
    return alice, bruno, chloe, david, emma


def test_counts_and_rates_over_people_accompanied_in_the_period(departement, march):
    values = compute(departement, *MARCH)
    assert values["personnes_accompagnees"] == 4  # Emma n'a pas de suivi
    assert values["progression_employabilite"] == {
        "immersion": 1,  # Alice ; l'immersion de David n'a pas commencé, celle d'Emma est hors population
        "formation": 1,  # Bruno ; la formation abandonnée d'Alice ne compte pas
        "contrat_court": 2,  # Chloé (IAE) et David (CDD de 3 mois) ; le CDI de Bruno n'est pas court
        "frein_leve": 1,  # Chloé : mobilité
        "au_moins_une": 4,
    }
    assert values["taux_progression_employabilite"] == {
        "immersion": 0.25,
        "formation": 0.25,
        "contrat_court": 0.5,
        "frein_leve": 0.25,
        "au_moins_une": 1.0,
    }


def test_steps_belong_to_the_period_when_they_happen(departement, march):
    values = compute(departement, D(2026, 4, 1), D(2026, 4, 30))
    assert values["personnes_accompagnees"] == 2  # Alice et Chloé ; Bruno et David sont sortis en mars
    assert set(values["progression_employabilite"].values()) == {0}
    assert values["taux_progression_employabilite"]["au_moins_une"] == 0
    empty = compute(departement, D(2025, 1, 1), D(2025, 1, 31))
    assert empty["personnes_accompagnees"] == 0
    assert empty["taux_progression_employabilite"]["immersion"] is None  # vide, jamais 0


def test_dashboard_and_exports_show_the_progression(client, manager, march):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), {"debut": "2026-03-01", "fin": "2026-03-31"})
    html = unescape(response.content.decode())
    assert "Progression dans l'employabilité" in html
    table = html[html.index('id="employabilite"') :]
    assert "Immersion en entreprise" in table and "Contrat de travail de courte durée" in table
    assert "50.0 %" in table or "50,0 %" in table  # contrats courts : 2 sur 4
    response = client.get(reverse("indicators:export_csv"), {"debut": "2026-03-01", "fin": "2026-03-31"})
    rows = {
        r["indicateur"]: r["valeur"]
        for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    }
    assert rows["personnes_accompagnees"] == "4"
    assert rows["progression_employabilite.contrat_court"] == "2"
    assert rows["taux_progression_employabilite.contrat_court"] == "0.5"
    assert "Immersion en boulangerie" not in response.content.decode("utf-8-sig")


def test_annex4_file_carries_the_steps_since_t0(client, manager, departement, march):
    client.force_login(manager)
    response = client.get(
        reverse("indicators:annex4_csv"),
        {"departement": departement.pk, "debut": "2026-03-01", "fin": "2026-03-31"},
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    by_matricule = {line[header.index("matricule")]: dict(zip(header, line, strict=True)) for line in lines}
    steps = ("immersions", "formations", "contrats_courts", "freins_leves")
    assert [by_matricule["3500001"][k] for k in steps] == ["1", "0", "0", ""]  # Alice
    assert [by_matricule["3500002"][k] for k in steps] == ["0", "1", "0", ""]  # Bruno (CDI : pas court)
    assert [by_matricule["3500003"][k] for k in steps] == ["0", "0", "1", "Mobilité"]  # Chloé
    assert [by_matricule["3500004"][k] for k in steps] == ["0", "0", "1", ""]  # David


def test_duckdb_agrees_on_volet_3(departement, march, tmp_path):
    pytest.importorskip("duckdb")
    from parcours.indicators.engines import DuckDBEngine, export_parquet

    export_parquet(tmp_path / "export")
    engine = DuckDBEngine(tmp_path / "export")
    try:
        scope = beneficiary_scope(departement=departement)
        expected = compute_indicators(scope, *MARCH)
        got = compute_indicators(scope, *MARCH, engine=engine)
    finally:
        engine.close()
    for key in (
        "personnes_accompagnees",
        "progression_employabilite",
        "taux_progression_employabilite",
        "satisfaction_personnes_taux_reponse",
        "satisfaction_professionnels_taux_reponse",
    ):
        assert got[key] == expected[key], key
