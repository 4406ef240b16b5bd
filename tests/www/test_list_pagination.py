"""Liste des personnes et accueil à l'échelle d'un grand Département : pagination par curseur, totaux plafonnés,
nombre de requêtes fixe quand le périmètre grandit."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries import queries
from parcours.beneficiaries.models import Beneficiary
from tests.factories import BeneficiaryFactory, FollowUpFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("beneficiary_list")


def login(client, **membership):
    client.force_login(MembershipFactory(**membership).user)


NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit"]


def add_people(n, *, start=0, agency=None, names=NAMES):
    for i in range(start, start + n):
        person = BeneficiaryFactory(
            last_name=names[i % len(names)], first_name=f"P{i:03d}", is_sdd=i % 2 == 0
        )
        if agency is not None:
            FollowUpFactory(beneficiary=person, organisation=agency)


def read(client, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.context["page_obj"]


@pytest.mark.parametrize("membership", ["departement", "france_travail"])
def test_list_pages_walk_the_whole_list_with_a_fixed_number_of_queries(client, membership):
    agency = None
    if membership == "departement":
        login(client)
    else:
        agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon")
        login(client, organisation=agency, role=Role.REFERENT)

    def walk():
        counts, names, params = [], [], {}
        while True:
            queries_count, page = read(client, params)
            counts.append(queries_count)
            names.extend((b.last_name, b.first_name) for b in page)
            if not page.has_next:
                return counts, names, page
            params = {"apres": page.next_cursor}

    add_people(60, agency=agency)
    small_counts, small_names, _ = walk()
    add_people(70, start=60, agency=agency)
    large_counts, large_names, last = walk()
    assert len(small_names) == 60 and len(large_names) == 130
    assert large_names == sorted(large_names)
    assert len(set(small_counts + large_counts)) == 1  # chaque page, petite ou grande liste : mêmes requêtes
    assert last.count == 130


def test_list_total_is_labelled_above_the_cap(client, monkeypatch):
    monkeypatch.setattr("parcours.core.pagination.CAP", 5)
    login(client)
    add_people(60)
    html = client.get(LIST_URL).content.decode()
    assert "<strong>plus de 5</strong> bénéficiaires" in html


def test_search_results_are_paged_in_list_order(client):
    login(client)
    add_people(70, names=["Thomas", "Thomas", "Martin", "Thomas"])  # 53 Thomas : deux pages
    first = client.get(LIST_URL, {"q": "thomas"}).context["page_obj"]
    second = client.get(LIST_URL, {"q": "thomas", "apres": first.next_cursor}).context["page_obj"]
    rows = [(b.last_name, b.first_name) for b in [*first, *second]]
    assert (len(first), len(second), second.has_next) == (50, 3, False)
    assert first.count == second.count == 53
    assert rows == sorted(rows) and {name for name, _ in rows} == {"Thomas"}


def test_home_scope_counts_fixed_queries_and_labelled_above_the_cap(client, monkeypatch):
    login(client)
    today = timezone.localdate()

    def home():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("home_scope"), HTTP_HX_REQUEST="true")
        return len(ctx.captured_queries), response

    BeneficiaryFactory(new_entrant_t0=today)
    few, response = home()
    assert response.context["counts"]["beneficiaries"] == 1
    add_people(12)
    many, response = home()
    counts = response.context["counts"]
    assert few == many
    assert (counts["beneficiaries"], counts["sdd"], counts["new_entrants"]) == (13, 7, 1)
    monkeypatch.setattr(queries, "DASHBOARD_CAP", 10)
    capped, response = home()
    assert capped == many
    html = response.content.decode()
    assert "plus de 10" in html
    assert response.context["counts"]["sdd"].label == "7"


def test_list_pages_keep_the_search_order():
    """Sur PostgreSQL la recherche classe par pertinence (``search_rank``) : les pages suivent ce classement,
    puis le nom ; ailleurs, l'ordre du nom."""
    for last, first in [
        ("Dupont", "Marie"),
        ("Marie", "Anne"),
        ("Martin", "Anne-Marie"),
        ("Marie", "Zoé"),
        ("Bernard", "Marie"),
        ("Petit", "Paul"),
    ]:
        BeneficiaryFactory(last_name=last, first_name=first)
    found = Beneficiary.objects.all().search("marie")
    ranked = "search_rank" in found.query.annotations
    expected = list(found if ranked else found.order_by(*queries.LIST_ORDERING))
    assert len(expected) == 5
    rows, page = [], queries.list_page(found, per_page=2)
    while True:
        rows.extend(page)
        if not page.has_next:
            break
        page = queries.list_page(found, after=page.next_cursor, per_page=2)
    assert rows == expected
    assert page.count == 5


# --- recherche classée par pertinence : la première page compte ses résultats -----------------------------

RANKED = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Classement par pertinence (search_rank) : PostgreSQL seulement.",
)


@RANKED
def test_ranked_search_counts_its_results_with_the_first_page(client, monkeypatch):
    """Première page d'une recherche classée : le total vient de la même requête que la page (la recherche
    n'est pas refaite pour le compter) ; autant de requêtes que les résultats tiennent sur une page ou non."""
    login(client)
    add_people(3, names=["Thomas"])
    few, page = read(client, {"q": "thomas"})
    assert (len(page), page.count) == (3, 3)
    add_people(60, start=3, names=["Thomas", "Martin"])  # 30 Thomas de plus : 33, une page
    add_people(40, start=63, names=["Thomas"])  # 73 Thomas : deux pages
    many, page = read(client, {"q": "thomas"})
    assert (len(page), page.has_next, page.count) == (50, True, 73)
    assert many == few
    second = client.get(LIST_URL, {"q": "thomas", "apres": page.next_cursor}).context["page_obj"]
    assert (len(second), second.count) == (23, 73)  # page suivante : total compté à part, le même
    monkeypatch.setattr("parcours.core.pagination.CAP", 60)
    _, page = read(client, {"q": "thomas"})
    assert page.count.more and page.count.label == "plus de 60"


@RANKED
def test_ranked_search_reads_households_of_the_page_only(client):
    login(client)
    for i in range(55):
        BeneficiaryFactory(last_name="Thomas", first_name=f"P{i:03d}")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST_URL, {"q": "thomas"})
    page = response.context["page_obj"]
    household_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "beneficiaries_household"' in q["sql"]]
    assert len(household_reads) == 1  # les foyers des lignes de la page, en une requête
    assert all(b.household.matricule in response.content.decode() for b in page)


# --- accueil d'un partenaire : personnes comptées depuis les suivis ---------------------------------------


def test_partner_home_scope_counts_people_from_follow_ups(client, monkeypatch):
    from parcours.beneficiaries.models import FollowUpEnd

    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon")
    other = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Vitré")
    user = MembershipFactory(organisation=agency, role=Role.REFERENT).user
    MembershipFactory(user=user, organisation=other, role=Role.DPO)  # le DPO ne voit aucun dossier
    client.force_login(user)
    today = timezone.localdate()

    def home():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("home_scope"), HTTP_HX_REQUEST="true")
        return len(ctx.captured_queries), response.context["counts"]

    add_people(4, agency=agency)  # suivis en cours, 2 soumis
    exited = BeneficiaryFactory(is_sdd=True, new_entrant_t0=today)
    FollowUpFactory(  # sortie récente : encore suivie
        beneficiary=exited, organisation=agency, ended_on=today, end_cause=FollowUpEnd.EXIT
    )
    FollowUpFactory(  # deux suivis de la même personne : comptée une fois
        beneficiary=exited, organisation=agency, ended_on=today, end_cause=FollowUpEnd.EXIT
    )
    FollowUpFactory(  # sortie ancienne : plus suivie
        beneficiary=BeneficiaryFactory(),
        organisation=agency,
        started_on=today - datetime.timedelta(days=900),
        ended_on=today - datetime.timedelta(days=800),
        end_cause=FollowUpEnd.EXIT,
    )
    FollowUpFactory(beneficiary=BeneficiaryFactory(), organisation=other)  # suivie par l'autre agence
    few, counts = home()
    assert (counts["beneficiaries"], counts["sdd"], counts["new_entrants"]) == (5, 3, 1)
    assert counts["beneficiaries"] == Beneficiary.objects.visible_to(user).count()
    add_people(12, start=4, agency=agency)
    many, counts = home()
    assert many == few
    assert (counts["beneficiaries"], counts["sdd"]) == (17, 9)
    monkeypatch.setattr(queries, "DASHBOARD_CAP", 10)
    _, counts = home()
    assert counts["beneficiaries"].label == "plus de 10"


def test_followed_only_partners_and_not_a_departement():
    from parcours.beneficiaries.scope import followed_only
    from tests.factories import DepartementFactory

    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL)
    referent = MembershipFactory(organisation=agency, role=Role.REFERENT).user
    assert followed_only(referent) == [agency]
    MembershipFactory(user=referent, organisation=DepartementFactory(), role=Role.REFERENT)
    referent = type(referent).objects.get(pk=referent.pk)  # appartenances relues
    assert followed_only(referent) is None  # le Département : tout son périmètre, pas seulement des suivis
    state = MembershipFactory(organisation=OrganisationFactory(kind=OrganisationKind.ETAT)).user
    assert followed_only(state) is None  # l'État ne voit personne


def test_partner_list_total_counts_each_followed_person_once(client):
    from parcours.beneficiaries.models import FollowUpEnd

    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL)
    login(client, organisation=agency, role=Role.REFERENT)
    add_people(55, agency=agency)
    today = timezone.localdate()
    exited = BeneficiaryFactory(last_name="Zola")
    for _ in range(2):  # deux sorties récentes de la même personne : une personne
        FollowUpFactory(beneficiary=exited, organisation=agency, ended_on=today, end_cause=FollowUpEnd.EXIT)
    FollowUpFactory(beneficiary=BeneficiaryFactory(), organisation=OrganisationFactory())  # autre agence
    queries_count, page = read(client, {})
    assert (len(page), page.has_next, page.count) == (50, True, 56)
    assert read(client, {"apres": page.next_cursor})[1].count == 56
    _, page = read(client, {"q": "zola"})  # liste filtrée : comptée sur la liste elle-même
    assert [b.pk for b in page] == [exited.pk] and page.count == 1
