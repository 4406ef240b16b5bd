"""Liste des prescriptions, liste de travail : par défaut celles que l'agent a faites ou celles des personnes dont
il est le référent, tout son périmètre sur demande ; recherche sans accents ; colonne du référent ; tri par
échéance de la réponse ou par date ; export CSV journalisé ; nombre de requêtes constant. L'espace structure
(prescriptions reçues) n'en dépend pas."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.catalogue import prescriptions as rx
from parcours.catalogue.models import Prescription
from parcours.orientation.referents import assign_referent
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory
from tests.pathway.helpers import page, read_csv, table_rows

from .conftest import LILLE, make_service

pytestmark = pytest.mark.django_db

D = datetime.date
URL = "catalogue:prescription_list"


def prescribe(user, person, service, expires_on=None):
    prescription = rx.create_prescription(
        user=user,
        beneficiary=person,
        service=service,
        shared_data=rx.build_shared_data(rx.prefill(person), {"phone"}),
        consent=True,
    )
    if expires_on:
        Prescription.objects.filter(pk=prescription.pk).update(expires_on=expires_on)
        prescription.refresh_from_db()
    return prescription


@pytest.fixture
def team(departement, partner_structure):
    """Yann Le Goff, référent de Lefèvre ; Claire Martin, référente de Bernard et Dubois. Claire a prescrit pour
    Lefèvre et Dubois, Yann pour Bernard (acceptée) ; une prescription hors Département."""
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Yann", user__last_name="Le Goff"
    ).user
    colleague = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Claire", user__last_name="Martin"
    ).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    territory = TerritoryFactory(departement=departement, name="Lille")
    service = make_service(partner_structure, at=LILLE, nom="Atelier de réparation de vélos")

    def person(last_name, first_name, referent_):
        someone = BeneficiaryFactory(
            departement=departement, territory=territory, last_name=last_name, first_name=first_name
        )
        assign_referent(someone, referent=referent_, organisation=departement, author=manager)
        return someone

    lefevre = person("Lefèvre", "Anne", referent)
    bernard = person("Bernard", "Paul", colleague)
    dubois = person("Dubois", "Paul", colleague)
    prescribe(colleague, lefevre, service, expires_on=D(2026, 12, 20))
    rx.accept(prescribe(referent, bernard, service), start_on=D(2026, 12, 1))
    prescribe(colleague, dubois, service, expires_on=D(2026, 12, 10))
    elsewhere = DepartementFactory(departement_code="62", name="Pas-de-Calais")
    outsider = MembershipFactory(organisation=elsewhere, role=Role.REFERENT).user
    prescribe(outsider, BeneficiaryFactory(departement=elsewhere, last_name="Arrageois"), service)
    return {
        "referent": referent,
        "colleague": colleague,
        "manager": manager,
        "people": [lefevre, bernard, dubois],
    }


def _names(html, team):
    """Les personnes des lignes, dans l'ordre de la liste."""
    return [
        next(p.last_name for p in team["people"] if p.full_name in row)
        for row in table_rows(html)
        if any(p.full_name in row for p in team["people"])
    ]


def test_referent_sees_own_and_own_peoples_prescriptions_by_default(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse(URL)))
    # Échéance de la réponse : la prescription en attente d'abord, l'acceptée ensuite.
    assert _names(html, team) == ["Lefèvre", "Bernard"]
    assert 'id="qui-moi"' in html and "checked" in html.split('id="qui-moi"')[1].split(">")[0]
    assert "parmi vos prescriptions et celles des personnes dont vous êtes le référent" in " ".join(
        html.split()
    )
    rows = table_rows(html)
    assert "<td>Yann Le Goff</td>" in rows[0] and "<td>Claire Martin</td>" in rows[1]  # référent en cours
    assert "avant le 20/12/2026" in rows[0] and "Acceptée" in rows[1]


def test_whole_scope_sorted_by_answer_deadline_or_by_date(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse(URL), {"qui": "tous"}))
    assert _names(html, team) == ["Dubois", "Lefèvre", "Bernard"]  # 10/12, 20/12, puis l'acceptée
    assert "ARRAGEOIS" not in html and "dans votre périmètre" in html
    html = page(client.get(reverse(URL), {"qui": "tous", "tri": "date"}))
    assert _names(html, team) == ["Dubois", "Bernard", "Lefèvre"]  # la plus récente d'abord
    html = page(client.get(reverse(URL), {"qui": "tous", "statut": "accepted"}))
    assert _names(html, team) == ["Bernard"]
    assert "?qui=tous&statut=accepted&tri=echeance&format=csv" in html


def test_manager_without_prescriptions_nor_portfolio_sees_the_scope(client, team):
    client.force_login(team["manager"])
    html = page(client.get(reverse(URL)))
    assert set(_names(html, team)) == {"Lefèvre", "Bernard", "Dubois"} and 'id="qui-moi"' not in html
    assert _names(page(client.get(reverse(URL), {"qui": "moi"})), team) == []


def test_search_is_accent_and_case_insensitive(client, team):
    client.force_login(team["referent"])
    assert _names(page(client.get(reverse(URL), {"q": "LEFEVRE"})), team) == ["Lefèvre"]
    assert _names(page(client.get(reverse(URL), {"q": "dubois"})), team) == []
    assert _names(page(client.get(reverse(URL), {"q": "dubois", "qui": "tous"})), team) == ["Dubois"]
    html = page(client.get(reverse(URL), {"q": "arrageois", "qui": "tous"}))
    assert "ARRAGEOIS" not in html and "Aucune prescription pour cette recherche" in html


def test_csv_export_is_audited(client, team):
    client.force_login(team["referent"])
    rows = read_csv(client.get(reverse(URL), {"format": "csv"}))
    assert rows[0] == [
        "Nom",
        "Prénom",
        "Territoire",
        "Référent",
        "Service",
        "Structure",
        "Prescripteur",
        "Prescrite le",
        "Statut",
        "Réponse attendue avant le",
        "Réponse le",
        "Heures par semaine",
        "Nombre de semaines",
    ]
    lefevre, bernard = rows[1], rows[2]
    assert lefevre[:7] == [
        "Lefèvre",
        "Anne",
        "Lille",
        "Yann Le Goff",
        "Atelier de réparation de vélos",
        "Atelier vélo solidaire",
        "Claire Martin",
    ]
    assert lefevre[8:11] == ["En attente de réponse", "20/12/2026", ""]
    assert bernard[3] == "Claire Martin" and bernard[6] == "Yann Le Goff" and bernard[8] == "Acceptée"
    assert bernard[9] == "" and bernard[10]
    entries = AccessLog.objects.filter(action=AccessAction.EXPORT, user=team["referent"])
    assert sorted(entries.values_list("beneficiary_id", flat=True)) == sorted(
        p.pk for p in team["people"][:2]
    )
    assert entries[0].reason.startswith("Export CSV des prescriptions")
    rows = read_csv(client.get(reverse(URL), {"qui": "tous", "q": "dubois", "format": "csv"}))
    assert [row[:2] + row[3:4] for row in rows[1:]] == [["Dubois", "Paul", "Claire Martin"]]


def test_structure_space_still_lists_received_prescriptions(client, team, partner_agent):
    client.force_login(partner_agent)
    html = page(client.get(reverse("catalogue:structure_space"), {"statut": "open"}))
    assert "Atelier de réparation de vélos" in html
    assert html.count(reverse("catalogue:received_prescription", args=[0])[:-2]) >= 2


def test_prescription_list_query_count_does_not_grow_with_rows(
    client, departement, partner_structure, django_assert_num_queries
):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    service = make_service(partner_structure, at=LILLE, nom="Atelier")
    counter = iter(range(100))

    def add(n):
        for _ in range(n):
            person = BeneficiaryFactory(
                departement=departement,
                territory=TerritoryFactory(departement=departement),
                last_name=f"Prescrit{next(counter):02d}",
            )
            assign_referent(person, referent=referent, organisation=departement, author=manager)
            prescribe(manager, person, service)

    client.force_login(referent)
    add(2)
    with CaptureQueriesContext(connection) as few:
        page(client.get(reverse(URL)))
    with CaptureQueriesContext(connection) as csv_few:
        read_csv(client.get(reverse(URL), {"format": "csv"}))
    add(18)
    with django_assert_num_queries(len(few)):
        html = page(client.get(reverse(URL)))
    assert html.count("<tr>") == 21  # en-tête + 20 lignes
    with django_assert_num_queries(len(csv_few)):
        assert len(read_csv(client.get(reverse(URL), {"format": "csv"}))) == 21
