"""Liste des personnes et accueil à l'échelle d'un grand Département : pagination par curseur, totaux plafonnés,
nombre de requêtes fixe quand le périmètre grandit."""

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


def test_home_counts_fixed_queries_and_labelled_above_the_cap(client, monkeypatch):
    login(client)
    today = timezone.localdate()

    def home():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("home"))
        return len(ctx.captured_queries), response

    BeneficiaryFactory(new_entrant_t0=today)
    few, response = home()
    assert response.context["dashboard"]["counts"]["beneficiaries"] == 1
    add_people(12)
    many, response = home()
    counts = response.context["dashboard"]["counts"]
    assert few == many
    assert (counts["beneficiaries"], counts["sdd"], counts["new_entrants"]) == (13, 7, 1)
    monkeypatch.setattr(queries, "DASHBOARD_CAP", 10)
    capped, response = home()
    assert capped == many
    html = response.content.decode()
    assert "plus de 10" in html
    assert response.context["dashboard"]["counts"]["sdd"].label == "7"


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
