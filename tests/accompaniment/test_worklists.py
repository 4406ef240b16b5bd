"""Listes de travail de l'accompagnement (revues à tenir, contrats en retard, procédures en cours, vérifications
à 6 mois) : « mes personnes » ou tout le périmètre, colonne du référent, recherche, export CSV journalisé,
nombre de requêtes constant."""

import csv
import datetime
import io
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accompaniment import exits, reviews, sanctions
from parcours.accounts.models import Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.journal.models import Event
from parcours.orientation.referents import assign_referent
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
LISTS = ("reviews_due", "late_contracts", "cases_in_progress", "durable_checks_due")
ON = "2026-07-10"


def page(response):
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _work(person, author):
    """Une ligne dans chacune des quatre listes pour ``person`` au 10/07/2026."""
    Event.objects.create(beneficiary=person, kind="oriented", occurred_on=D(2026, 2, 2))
    reviews.plan_review(person, author=author, kind="jalon", due_on=D(2026, 7, 1))
    case = sanctions.open_case(person, ground="absences", facts="Absences", actor=author, on=D(2026, 3, 2))
    sanctions.transition_case(case, "notice_sent", actor=author, on=D(2026, 3, 3), reason="Courrier")
    exits.record_exit(
        person,
        author=author,
        reason="emploi",
        exited_on=D(2026, 1, 5),
        employer="SARL Lebreton",
        contract_type="cdi",
        job_started_on=D(2026, 1, 5),
    )


@pytest.fixture
def team(departement):
    """Un référent du Département (3 personnes en portefeuille), un autre référent (2 personnes), une chargée
    d'orientation sans portefeuille ; une personne d'un autre Département hors de tout périmètre."""
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Yann", user__last_name="Le Goff"
    ).user
    colleague = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Claire", user__last_name="Martin"
    ).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    territory = TerritoryFactory(departement=departement, name="Pays de Redon")
    mine = [
        BeneficiaryFactory(departement=departement, territory=territory, last_name=name, first_name="Anne")
        for name in ("Lefèvre", "Guérin", "Rousseau")
    ]
    theirs = [
        BeneficiaryFactory(departement=departement, territory=territory, last_name=name, first_name="Paul")
        for name in ("Bernard", "Dubois")
    ]
    stranger = BeneficiaryFactory(departement=DepartementFactory(departement_code="44"), last_name="Nantais")
    for person in mine:
        assign_referent(
            person, referent=referent, organisation=departement, author=manager, started_on=D(2025, 9, 1)
        )
    for person in theirs:
        assign_referent(
            person, referent=colleague, organisation=departement, author=manager, started_on=D(2025, 9, 1)
        )
    for person in [*mine, *theirs, stranger]:
        _work(person, manager)
    # La sortie (vérification à 6 mois) a clos la désignation ; le même référent est désigné de nouveau.
    for person in mine:
        assign_referent(person, referent=referent, organisation=departement, author=manager)
    for person in theirs:
        assign_referent(person, referent=colleague, organisation=departement, author=manager)
    return {"referent": referent, "colleague": colleague, "manager": manager, "mine": mine, "theirs": theirs}


def _names(html, team):
    people = [*team["mine"], *team["theirs"]]
    return {p.last_name for p in people if p.full_name in html}


@pytest.mark.parametrize("name", LISTS)
def test_referent_sees_own_people_by_default_and_the_whole_scope_on_demand(client, team, name):
    client.force_login(team["referent"])
    url = reverse(f"accompaniment:{name}")
    html = page(client.get(url, {"on": ON}))
    assert _names(html, team) == {"Lefèvre", "Guérin", "Rousseau"}
    assert 'id="qui-moi"' in html and "checked" in html.split('id="qui-moi"')[1].split(">")[0]
    assert "parmi les personnes dont vous êtes le référent" in html
    html = page(client.get(url, {"on": ON, "qui": "tous"}))
    assert _names(html, team) == {"Lefèvre", "Guérin", "Rousseau", "Bernard", "Dubois"}
    assert "NANTAIS" not in html  # « tout mon périmètre » reste le périmètre
    # Référent : nom du référent en cours de chaque personne.
    assert "<td>Yann Le Goff</td>" in html and "<td>Claire Martin</td>" in html


@pytest.mark.parametrize("name", LISTS)
def test_manager_without_portfolio_sees_whole_scope_by_default(client, team, name):
    client.force_login(team["manager"])
    html = page(client.get(reverse(f"accompaniment:{name}"), {"on": ON}))
    assert _names(html, team) == {"Lefèvre", "Guérin", "Rousseau", "Bernard", "Dubois"}
    assert "NANTAIS" not in html
    assert 'id="qui-moi"' not in html  # pas de choix sans portefeuille
    assert "dans votre périmètre" in html
    # « Mes personnes » demandé explicitement : aucune (pas de portefeuille), jamais hors périmètre.
    html = page(client.get(reverse(f"accompaniment:{name}"), {"on": ON, "qui": "moi"}))
    assert _names(html, team) == set()


@pytest.mark.parametrize("name", LISTS)
def test_search_is_accent_and_case_insensitive(client, team, name):
    client.force_login(team["referent"])
    url = reverse(f"accompaniment:{name}")
    html = page(client.get(url, {"on": ON, "q": "LEFEVRE"}))
    assert _names(html, team) == {"Lefèvre"}
    html = page(client.get(url, {"on": ON, "q": "gue", "qui": "tous"}))
    assert _names(html, team) == {"Guérin"}
    html = page(client.get(url, {"on": ON, "q": "dubois"}))
    assert _names(html, team) == set()  # pas dans « mes personnes »
    html = page(client.get(url, {"on": ON, "q": "nantais", "qui": "tous"}))
    assert "NANTAIS" not in html  # hors périmètre, même cherché


def test_filters_are_kept_by_pagination_and_export_links(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse("accompaniment:reviews_due"), {"on": ON, "q": "Guérin", "qui": "tous"}))
    assert "?qui=tous&q=Gu%C3%A9rin&on=2026-07-10&format=csv" in html
    assert 'value="Guérin"' in html


def test_wording_agrees_in_number(client, team):
    client.force_login(team["referent"])
    url = reverse("accompaniment:reviews_due")
    assert "<strong>3</strong> revues à tenir" in page(client.get(url, {"on": ON}))
    assert "<strong>1</strong> revue à tenir" in page(client.get(url, {"on": ON, "q": "lefevre"}))
    html = page(client.get(url, {"on": ON, "q": "inconnu"}))
    assert "<strong>0</strong> revue à tenir" in html and "revue(s)" not in html


@pytest.mark.parametrize(
    "name,header",
    [
        (
            "reviews_due",
            ["Nom", "Prénom", "Territoire", "Référent", "Type de revue", "Échéance", "En retard"],
        ),
        (
            "late_contracts",
            [
                "Nom",
                "Prénom",
                "Territoire",
                "Référent",
                "Orientation notifiée le",
                "Échéance",
                "Jours de retard",
            ],
        ),
        (
            "cases_in_progress",
            ["Nom", "Prénom", "Territoire", "Référent", "Manquement", "Étape", "Depuis le", "Échéance"],
        ),
        (
            "durable_checks_due",
            [
                "Nom",
                "Prénom",
                "Territoire",
                "Référent",
                "Emploi",
                "Type de contrat",
                "Prise de poste",
                "À vérifier depuis",
            ],
        ),
    ],
)
def test_csv_export_of_the_filtered_list_is_audited(client, team, name, header):
    client.force_login(team["referent"])
    response = client.get(reverse(f"accompaniment:{name}"), {"on": ON, "format": "csv"})
    rows = _csv(response)
    assert rows[0] == header
    assert sorted(row[0] for row in rows[1:]) == ["Guérin", "Lefèvre", "Rousseau"]
    assert {row[2] for row in rows[1:]} == {"Pays de Redon"} and {row[3] for row in rows[1:]} == {
        "Yann Le Goff"
    }
    entries = AccessLog.objects.filter(action=AccessAction.EXPORT, user=team["referent"])
    assert sorted(entries.values_list("beneficiary_id", flat=True)) == sorted(p.pk for p in team["mine"])
    assert all(entry.path == reverse(f"accompaniment:{name}") for entry in entries)
    assert entries[0].reason.startswith("Export CSV")
    # Recherche et « tout mon périmètre » : l'export suit le filtre.
    rows = _csv(
        client.get(
            reverse(f"accompaniment:{name}"), {"on": ON, "qui": "tous", "q": "dubois", "format": "csv"}
        )
    )
    assert [row[:2] + row[3:4] for row in rows[1:]] == [["Dubois", "Paul", "Claire Martin"]]


def test_csv_export_rows_content(client, team):
    client.force_login(team["manager"])
    rows = _csv(client.get(reverse("accompaniment:reviews_due"), {"on": ON, "q": "Lefevre", "format": "csv"}))
    assert rows[1] == [
        "Lefèvre",
        "Anne",
        "Pays de Redon",
        "Yann Le Goff",
        "Entretien d'étape",
        "01/07/2026",
        "Oui",
    ]
    rows = _csv(
        client.get(reverse("accompaniment:late_contracts"), {"on": ON, "q": "Lefevre", "format": "csv"})
    )
    assert rows[1] == ["Lefèvre", "Anne", "Pays de Redon", "Yann Le Goff", "02/02/2026", "02/03/2026", "130"]
    rows = _csv(
        client.get(reverse("accompaniment:durable_checks_due"), {"on": ON, "q": "Lefevre", "format": "csv"})
    )
    assert rows[1] == [
        "Lefèvre",
        "Anne",
        "Pays de Redon",
        "Yann Le Goff",
        "SARL Lebreton",
        "CDI",
        "05/01/2026",
        "05/07/2026",
    ]


@pytest.mark.parametrize("name", LISTS)
def test_work_list_query_count_does_not_grow_with_rows(client, departement, name, django_assert_num_queries):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    other_org = DepartementFactory(departement_code="56")
    counter = iter(range(100))

    def add(n):
        for _ in range(n):
            person = BeneficiaryFactory(
                departement=departement,
                territory=TerritoryFactory(departement=departement),
                last_name=f"Travailleur{next(counter):02d}",
            )
            assign_referent(person, referent=referent, organisation=departement, author=manager)
            _work(person, manager)

    BeneficiaryFactory(departement=other_org)
    client.force_login(referent)
    url = reverse(f"accompaniment:{name}")
    add(2)
    client.get(url, {"on": ON})
    with CaptureQueriesContext(connection) as few:
        html = page(client.get(url, {"on": ON, "q": "travailleur"}))
    add(18)
    with django_assert_num_queries(len(few)):
        html = page(client.get(url, {"on": ON, "q": "travailleur"}))
    with CaptureQueriesContext(connection) as many:
        html = page(client.get(url, {"on": ON}))
    assert html.count("<tr>") == 21  # en-tête + 20 lignes
    with CaptureQueriesContext(connection) as csv_few:
        _csv(client.get(url, {"on": ON, "format": "csv"}))
    add(5)
    with django_assert_num_queries(len(many)):
        page(client.get(url, {"on": ON}))
    with django_assert_num_queries(len(csv_few.captured_queries)):
        assert len(_csv(client.get(url, {"on": ON, "format": "csv"}))) == 26


def test_exited_person_stays_in_her_last_referents_durable_checks(client, departement):
    """La sortie clôt la désignation : la vérification à 6 mois reste dans « mes personnes » du dernier
    référent, avec son nom, tant qu'aucun autre référent n'est désigné."""
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Yann", user__last_name="Le Goff"
    ).user
    other = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    person = BeneficiaryFactory(departement=departement, last_name="Lefèvre", first_name="Anne")
    current = BeneficiaryFactory(departement=departement, last_name="Rousseau", first_name="Anne")
    assign_referent(
        person, referent=referent, organisation=departement, author=manager, started_on=D(2025, 9, 1)
    )
    assign_referent(current, referent=referent, organisation=departement, author=manager)
    _work(person, manager)
    client.force_login(referent)
    url = reverse("accompaniment:durable_checks_due")
    html = page(client.get(url, {"on": ON}))
    assert person.full_name in html and "<td>Yann Le Goff</td>" in html
    assert page(client.get(url, {"on": ON, "q": "lefevre"})).count("<td>Yann Le Goff</td>") == 1
    client.force_login(other)
    assert person.full_name not in page(client.get(url, {"on": ON, "qui": "moi"}))
    assert person.full_name in page(client.get(url, {"on": ON, "qui": "tous"}))


def test_second_year_candidates_follow_the_filter(client, departement):
    """« Entrée en deuxième année » (page des revues) : les personnes de l'agent par défaut, tout le
    périmètre sur demande."""
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    colleague = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    mine = BeneficiaryFactory(departement=departement, last_name="Lefèvre", first_name="Anne")
    theirs = BeneficiaryFactory(departement=departement, last_name="Bernard", first_name="Paul")
    assign_referent(
        mine, referent=referent, organisation=departement, author=manager, started_on=D(2025, 1, 6)
    )
    assign_referent(
        theirs, referent=colleague, organisation=departement, author=manager, started_on=D(2025, 1, 6)
    )
    client.force_login(referent)
    url = reverse("accompaniment:reviews_due")
    html = page(client.get(url, {"on": ON}))
    assert mine.full_name in html and theirs.full_name not in html
    html = page(client.get(url, {"on": ON, "qui": "tous"}))
    assert mine.full_name in html and theirs.full_name in html
