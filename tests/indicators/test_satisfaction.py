"""Satisfaction des personnes accompagnées et des professionnels (annexe 4 de 002, volet 3) : taux de
réponse, taux de satisfaction, répartition des notes ; les commentaires libres ne sortent dans aucun
export."""

import csv
import io
import json
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from parcours.accompaniment import surveys
from parcours.accompaniment.models import SatisfactionAnswer
from parcours.accounts.models import Role
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from tests.factories import FollowUpFactory, MembershipFactory

from .conftest import D, person, row

pytestmark = pytest.mark.django_db

MARCH = {"debut": "2026-03-01", "fin": "2026-03-31"}
PERSON_COMMENT = "Ma conseillère Mme Le Floch m'a vraiment aidée"
PRO_COMMENT = "Portefeuille de 90 personnes, impossible à tenir"


def compute(departement, start, end):
    return compute_indicators(beneficiary_scope(departement=departement), start, end)


@pytest.fixture
def answers(departement, flux, held_appointment, manager, referent):
    """Alice et Bruno ont eu leur entretien d'orientation en mars ; Alice répond (5), Bruno non. Chloé donne
    son avis d'elle-même (2). Farid, suivi depuis le 15/12/2025, atteint 3 mois le 15/03 et répond (3).
    Parmi les deux professionnels (chargé d'orientation, conseillère France Travail), la conseillère répond
    (4) ; un responsable en lecture seule n'est pas compté."""
    flux(D(2026, 3, 1), *(row(n) for n in ("alice", "bruno", "chloe", "farid")))
    alice, bruno, chloe, farid = (person(n) for n in ("alice", "bruno", "chloe", "farid"))
    held_appointment(alice, D(2026, 3, 10))
    held_appointment(bruno, D(2026, 3, 12))
    FollowUpFactory(beneficiary=farid, organisation=departement, started_on=D(2025, 12, 15))
    surveys.answer_person_survey(
        alice,
        score=5,
        listened_to=True,
        comment=PERSON_COMMENT,
        occasion="entretien_orientation",
        due_on=D(2026, 3, 10),
        channel="lien",
        today=D(2026, 3, 14),
    )
    surveys.answer_person_survey(
        chloe, score=2, listened_to=False, comment="Trop d'attente", today=D(2026, 3, 20)
    )
    surveys.answer_person_survey(
        farid, score=3, listened_to=True, occasion="trois_mois", due_on=D(2026, 3, 15), today=D(2026, 3, 30)
    )
    MembershipFactory(organisation=departement, role=Role.MANAGER)
    surveys.answer_professional_survey(
        referent, score=4, tools_help=True, offer_sufficient=False, comment=PRO_COMMENT, today=D(2026, 3, 18)
    )


def test_person_and_professional_indicators(departement, answers):
    values = compute(departement, D(2026, 3, 1), D(2026, 3, 31))
    # Dus en mars : entretiens d'Alice et de Bruno, 3 mois de Farid ; deux réponses.
    assert values["satisfaction_personnes_taux_reponse"] == pytest.approx(2 / 3)
    # Réponses de mars : 5, 2, 3 (l'avis spontané compte dans la satisfaction, pas dans la réponse).
    assert values["satisfaction_personnes_taux"] == pytest.approx(1 / 3)
    assert values["satisfaction_personnes_repartition"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1}
    assert values["satisfaction_professionnels_taux_reponse"] == 0.5
    assert values["satisfaction_professionnels_taux"] == 1.0
    assert values["satisfaction_professionnels_repartition"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}


def test_empty_populations_are_empty_not_zero(departement, answers):
    values = compute(departement, D(2025, 1, 1), D(2025, 1, 31))
    assert values["satisfaction_personnes_taux_reponse"] is None
    assert values["satisfaction_personnes_taux"] is None
    assert values["satisfaction_professionnels_taux"] is None
    assert values["satisfaction_professionnels_taux_reponse"] == 0  # deux professionnels, aucune réponse


def test_answer_counts_for_the_period_of_its_due_date(departement, answers):
    # Farid répond le 30/03 au questionnaire dû le 15/03 ; en avril, rien n'est dû.
    values = compute(departement, D(2026, 4, 1), D(2026, 4, 30))
    assert values["satisfaction_personnes_taux_reponse"] is None
    assert SatisfactionAnswer.objects.filter(occasion="trois_mois", due_on=D(2026, 3, 15)).exists()


def test_dashboard_shows_rates_and_distribution(client, manager, answers):
    client.force_login(manager)
    html = unescape(client.get(reverse("indicators:dashboard"), MARCH).content.decode())
    block = html[html.index('id="satisfaction"') :]
    assert "Satisfaction des personnes accompagnées" in block and "Satisfaction des professionnels" in block
    assert "66,7\u202f%" in block  # taux de réponse des personnes
    assert "5 — tout à fait satisfait" in block
    assert PERSON_COMMENT not in html and PRO_COMMENT not in html


def test_free_text_never_in_exports(client, manager, departement, answers, tmp_path):
    client.force_login(manager)
    texts = []
    response = client.get(reverse("indicators:export_csv"), MARCH)
    texts.append(response.content.decode("utf-8-sig"))
    rows = {r["indicateur"]: r["valeur"] for r in csv.DictReader(io.StringIO(texts[-1]), delimiter=";")}
    assert rows["satisfaction_personnes_repartition.5"] == "1"
    assert rows["satisfaction_professionnels_taux"] == "1.0"
    workbook = load_workbook(io.BytesIO(client.get(reverse("indicators:export_xlsx"), MARCH).content))
    texts.append(
        "\n".join(str(c) for sheet in workbook for r in sheet.iter_rows(values_only=True) for c in r if c)
    )
    for name in ("export_territories", "export_organisations", "export_referents"):
        texts.append(client.get(reverse(f"indicators:{name}"), MARCH).content.decode("utf-8-sig"))
    annex = client.get(reverse("indicators:annex4_csv"), {"departement": departement.pk, **MARCH})
    texts.append(b"".join(annex.streaming_content).decode("utf-8-sig"))
    output = tmp_path / "indicateurs.json"
    call_command(
        "indicators",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
        "--output",
        str(output),
    )
    assert json.loads(output.read_text())["satisfaction_personnes_repartition"]["2"] == 1
    texts.append(output.read_text())
    pytest.importorskip("duckdb")
    from parcours.indicators.engines import export_parquet

    folder = export_parquet(tmp_path / "parquet")
    texts.extend(p.read_bytes().decode("latin-1") for p in folder.iterdir())
    for text in texts:
        for secret in (PERSON_COMMENT, PRO_COMMENT, "Trop d'attente", "Le Floch", "Portefeuille de 90"):
            assert secret not in text


@pytest.mark.parametrize("months", [3, 4])
def test_three_months_due_dates_agree_with_the_person_space_at_month_ends(departement, flux, months):
    """L'échéance « 3 mois » comptée par la base (``sql.AddMonths``) est celle de l'espace de la personne
    (``surveys.occasions_of``) : fin de mois ramenée au dernier jour (30/11 + 3 mois = 28/02), délai propre
    au Département, suivi clos avant l'échéance non dû ; seule la réponse à un questionnaire dû compte."""
    if months != 3:
        departement.delay_overrides = {"satisfaction_survey_months": months}
        departement.save(update_fields=["delay_overrides"])
    flux(D(2026, 3, 1), *(row(n) for n in ("alice", "bruno", "chloe", "david")))
    alice, bruno, chloe, david = (person(n) for n in ("alice", "bruno", "chloe", "david"))
    FollowUpFactory(beneficiary=alice, organisation=departement, started_on=D(2025, 10, 31))
    FollowUpFactory(beneficiary=bruno, organisation=departement, started_on=D(2025, 11, 30))
    FollowUpFactory(  # clos le lendemain de l'ouverture : jamais dû
        beneficiary=chloe, organisation=departement, started_on=D(2025, 11, 29), ended_on=D(2025, 11, 30)
    )
    FollowUpFactory(beneficiary=david, organisation=departement, started_on=D(2025, 12, 31))
    start, end = D(2026, 1, 1), D(2026, 4, 30)
    expected = {
        (p.pk, day)
        for p in (alice, bruno, chloe, david)
        for occasion, day in surveys.occasions_of(p, today=end)
        if occasion == "trois_mois" and start <= day <= end
    }
    assert (bruno.pk, D(2026, 2, 28) if months == 3 else D(2026, 3, 30)) in expected
    assert not any(pk == chloe.pk for pk, _day in expected)
    # Bruno répond à son questionnaire dû ; David répond avec une échéance qui n'est pas la sienne.
    bruno_due = next(day for pk, day in expected if pk == bruno.pk)
    for who, due in ((bruno, bruno_due), (david, bruno_due)):
        SatisfactionAnswer.objects.create(
            beneficiary=who, occasion="trois_mois", due_on=due, score=4, listened_to=True, answered_on=end
        )
    values = compute(departement, start, end)
    assert values["satisfaction_personnes_taux_reponse"] == pytest.approx(1 / len(expected))
