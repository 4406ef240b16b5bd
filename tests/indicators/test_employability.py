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


def annex4_march(client, manager, departement):
    """(en-tête, lignes) du fichier de l'annexe 4 de mars téléchargé par le responsable."""
    client.force_login(manager)
    response = client.get(
        reverse("indicators:annex4_csv"),
        {"departement": departement.pk, "debut": "2026-03-01", "fin": "2026-03-31"},
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    return header, lines


def test_annex4_file_carries_the_steps_since_t0(client, manager, departement, march):
    header, lines = annex4_march(client, manager, departement)
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


# --- embauches enregistrées sans sortie : contrats de courte durée pendant l'accompagnement ---------------


@pytest.fixture
def hirings(departement, flux, orient, hire):
    """Six nouveaux entrants de mars, tous orientés le 3 sauf Emma (aucun suivi) ; Chloé habite Vitré.

    Embauches sans sortie : Alice en CDD de 3 mois le 16 mars (courte), Bruno en CDI le 16 mars (pas
    courte), Chloé en CDD de 2 mois le 18 mars, David en intérim le 6 avril (hors de mars), Emma en CDD de
    1 mois le 16 mars (pas accompagnée). Farid : embauche en intérim le 20 mars qui est aussi sa sortie en
    emploi (comptée par la sortie, une fois)."""
    flux(
        D(2026, 3, 1),
        *(row(n) for n in ("alice", "bruno", "david", "emma", "farid")),
        row("chloe", commune="vitre"),
    )
    alice, bruno, chloe, david, emma, farid = (
        person(n) for n in ("alice", "bruno", "chloe", "david", "emma", "farid")
    )
    for someone in (alice, bruno, chloe, david, farid):
        orient(someone, D(2026, 3, 3))
    hire(alice, D(2026, 3, 16), "cdd", 3)
    hire(bruno, D(2026, 3, 16), "cdi")
    hire(chloe, D(2026, 3, 18), "cdd", 2)
    hire(david, D(2026, 4, 6), "interim", 1)
    hire(emma, D(2026, 3, 16), "cdd", 1)
    hire(farid, D(2026, 3, 20), "interim", 1, exit=True)
    return alice, bruno, chloe, david, emma, farid


def test_a_short_hiring_without_exit_is_a_short_contract(departement, hirings):
    values = compute(departement, *MARCH)
    assert values["personnes_accompagnees"] == 5  # Emma n'a pas de suivi
    steps = values["progression_employabilite"]
    # Alice (CDD de 3 mois), Chloé (CDD de 2 mois), Farid (sa sortie) ; pas le CDI de Bruno, pas l'intérim
    # d'avril de David, pas Emma (hors population).
    assert steps["contrat_court"] == 3
    assert steps["au_moins_une"] == 3
    assert steps["immersion"] == steps["formation"] == steps["frein_leve"] == 0
    assert values["taux_progression_employabilite"]["contrat_court"] == 0.6


def test_a_hiring_counts_in_the_period_of_its_start(departement, hirings):
    april = compute(departement, D(2026, 4, 1), D(2026, 4, 30))
    # Farid est sorti en mars ; Alice, Bruno, Chloé et David sont encore accompagnés.
    assert april["personnes_accompagnees"] == 4
    assert april["progression_employabilite"]["contrat_court"] == 1  # David
    assert compute(departement, D(2026, 2, 1), D(2026, 2, 28))["progression_employabilite"] == dict.fromkeys(
        ("immersion", "formation", "contrat_court", "frein_leve", "au_moins_une"), 0
    )


def test_a_hiring_outside_the_scope_is_not_counted(departement, hirings):
    from parcours.accounts.models import Territory

    redon = Territory.objects.get(departement=departement, code="REDON")
    values = compute_indicators(beneficiary_scope(departement=departement, territory=redon), *MARCH)
    assert values["personnes_accompagnees"] == 4  # Chloé habite Vitré
    assert values["progression_employabilite"]["contrat_court"] == 2  # Alice et Farid


def test_the_long_contract_threshold_is_the_durable_employment_one(departement, hirings, settings):
    delays = dict(settings.PARCOURS_DELAYS, employment_durable_min_contract_months=3)
    settings.PARCOURS_DELAYS = delays
    # Le CDD de 3 mois d'Alice n'est plus court ; Chloé (2 mois) et Farid (1 mois) le restent.
    assert compute(departement, *MARCH)["progression_employabilite"]["contrat_court"] == 2


def test_a_hiring_that_is_the_exit_counts_once_in_the_annex4_file(client, manager, departement, hirings):
    header, lines = annex4_march(client, manager, departement)
    short = {line[header.index("matricule")]: line[header.index("contrats_courts")] for line in lines}
    assert short == {
        "3500001": "1",  # Alice : CDD de 3 mois sans sortie
        "3500002": "0",  # Bruno : CDI
        "3500003": "1",  # Chloé
        "3500004": "1",  # David : intérim d'avril, après son T0
        "3500005": "1",  # Emma : le fichier porte sur la cohorte, pas sur les personnes accompagnées
        "3500006": "1",  # Farid : l'embauche est sa sortie, comptée une fois
    }


def test_duckdb_reads_the_exported_hirings(departement, hirings, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    from parcours.indicators.engines import DuckDBEngine, export_parquet

    export_parquet(tmp_path / "export")
    columns = [
        r[0]
        for r in duckdb.sql(
            f"DESCRIBE SELECT * FROM '{tmp_path / 'export' / 'employers_hiring.parquet'}'"
        ).fetchall()
    ]
    assert "contract_months" in columns and "job_title" not in columns  # intitulé du poste : texte libre
    engine = DuckDBEngine(tmp_path / "export")
    try:
        for scope in (beneficiary_scope(), beneficiary_scope(departement=departement)):
            for period in (MARCH, (D(2026, 4, 1), D(2026, 4, 30)), (D(2026, 1, 1), D(2026, 12, 31))):
                expected = compute_indicators(scope, *period)
                assert compute_indicators(scope, *period, engine=engine) == expected
        assert (
            compute_indicators(beneficiary_scope(), *MARCH, engine=engine)["progression_employabilite"][
                "contrat_court"
            ]
            == 3
        )
    finally:
        engine.close()
