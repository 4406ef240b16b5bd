"""Recherche des personnes par nom : sans accents ni casse, début de mot, mots en ET, périmètre de l'agent,
fautes de frappe (PostgreSQL), par la liste des personnes et par la fonction de service."""

import pytest
from django.db import connection
from django.db.models import F, Func
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.beneficiaries.models import Beneficiary
from parcours.core.dbfunctions import fold
from tests.factories import BeneficiaryFactory, DepartementFactory, HouseholdFactory, MembershipFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("beneficiary_list")
POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Tolérance aux fautes de frappe : trigrammes (pg_trgm) de PostgreSQL seulement ; SQLite cherche "
    "les mots tels quels.",
)


@pytest.fixture
def agent():
    return MembershipFactory().user


@pytest.fixture
def people():
    make = BeneficiaryFactory
    return {
        "gerard": make(last_name="GÉRARD", first_name="Paul"),
        "lefevre": make(last_name="Lefèvre", first_name="Anne"),
        "lefebvre": make(last_name="Lefebvre", first_name="Marc"),
        "dupont": make(last_name="Dupont", first_name="Jean-Pierre"),
        "durand": make(last_name="Durand", first_name="Zoé", birth_name="Martin"),
        "leroy": make(last_name="Leroy", first_name="Sophie"),
        "ndiaye": make(last_name="N’Diaye", first_name="Awa"),
        "outside": make(
            last_name="Dupont",
            first_name="Jean",
            departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"),
        ),
    }


def found(user, text):
    return {b.pk for b in Beneficiary.objects.visible_to(user).search(text)}


def ids(people, *names):
    return {people[name].pk for name in names}


def listed(client, text):
    response = client.get(LIST_URL, {"q": text})
    assert response.status_code == 200
    return [b.pk for b in response.context["page_obj"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gerard", ["gerard"]),  # « Gerard » trouve « GÉRARD »
        ("Gérard", ["gerard"]),
        ("lefevre", ["lefevre"]),  # « Lefevre » trouve « Lefèvre » (et pas « Lefebvre » : mot exact trouvé)
        ("LEFÈVRE", ["lefevre"]),
        ("zoe", ["durand"]),  # prénom accentué
        ("martin", ["durand"]),  # nom de naissance
        ("pierre", ["dupont"]),  # prénom composé
        ("jean pierre", ["dupont"]),  # trait d'union ou espace
        ("n'diaye", ["ndiaye"]),  # apostrophe droite ou typographique
        ("artin", ["durand"]),  # trois lettres ou plus : n'importe où dans les noms
    ],
)
def test_names_found_without_accents_or_case(agent, people, text, expected):
    assert found(agent, text) == ids(people, *expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dup", ["dupont"]),  # le début du nom suffit
        ("lef", ["lefevre", "lefebvre"]),
        ("du", ["dupont", "durand"]),  # une ou deux lettres : au début d'un mot des noms
        ("ro", []),  # « Leroy » ne commence pas par « ro »
        ("p", ["gerard", "dupont"]),  # Paul, Pierre (Jean-Pierre)
        ("s", ["leroy"]),
    ],
)
def test_start_of_a_name_is_enough(agent, people, text, expected):
    assert found(agent, text) == ids(people, *expected)


def test_every_word_must_match(agent, people):
    assert found(agent, "jean dupont") == ids(people, "dupont")
    assert found(agent, "DUPONT  jean-pierre") == ids(people, "dupont")
    assert found(agent, "dupont anne") == set()
    assert found(agent, "zoé martin") == ids(people, "durand")


def test_a_person_outside_the_scope_is_never_found(agent, people):
    outside = people["outside"].pk
    for text in ("dupont", "jean", "dup", "du", "dupnot", "jean dupont"):
        assert outside not in found(agent, text)
        assert outside not in Beneficiary.objects.visible_to(agent).search(text).values_list("pk", flat=True)


def test_identifiers_still_found_by_equality(agent, people):
    person = BeneficiaryFactory(
        last_name="Nirvana",
        household=HouseholdFactory(matricule="3599001"),
        france_travail_id="FT4455667",
    )
    assert found(agent, person.nir) == {person.pk}
    assert found(agent, "35 990 01") == {person.pk}
    assert found(agent, "ft4455667") == {person.pk}


def test_people_list_page_searches_names_without_accents(client, agent, people):
    client.force_login(agent)
    assert listed(client, "gerard") == [people["gerard"].pk]
    assert set(listed(client, "LEF")) == ids(people, "lefevre", "lefebvre")
    assert listed(client, "jean dupont") == [people["dupont"].pk]
    assert listed(client, "inconnu") == []


def test_list_page_query_count_does_not_grow_with_matches(client, agent, people):
    client.force_login(agent)

    def queries(text):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST_URL, {"q": text}).status_code == 200
        return len(captured.captured_queries)

    def add(count):
        for index in range(count):
            BeneficiaryFactory(last_name=f"Dupont-{chr(97 + index % 26)}", first_name="Jean")

    add(55)  # plus d'une page de résultats
    more_than_a_page = queries("dupont")
    add(100)
    assert queries("dupont") == more_than_a_page


def test_search_is_one_query(agent, people, django_assert_num_queries):
    scope = Beneficiary.objects.visible_to(agent)
    for text in ("dupont", "jean dupont", "du", "dupnot", "lefebre marc"):
        with django_assert_num_queries(1):
            list(scope.search(text)[:50])


def test_fold_is_the_same_in_python_and_in_the_database(people):
    BeneficiaryFactory(last_name="Œdipe-Lætitia", first_name="ÇA’")
    folded = dict(
        Beneficiary.objects.annotate(folded=Func(F("last_name"), function="parcours_fold")).values_list(
            "last_name", "folded"
        )
    )
    assert folded["GÉRARD"] == "gerard"
    assert folded["Lefèvre"] == "lefevre"
    for name, value in folded.items():
        assert fold(name) == value, name


# --- fautes de frappe (PostgreSQL) -------------------------------------------------------------------------


@POSTGRES_ONLY
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dupnot", ["dupont"]),  # lettres inversées
        ("lefebre", ["lefebvre", "lefevre"]),  # lettre oubliée
        ("gerrard", ["gerard"]),  # lettre en trop
        ("dupnot jean-pierre", ["dupont"]),
    ],
)
def test_typos_are_tolerated(agent, people, text, expected):
    assert found(agent, text) == ids(people, *expected)


@POSTGRES_ONLY
def test_closest_name_comes_first(agent, people):
    results = list(Beneficiary.objects.visible_to(agent).search("lefebre"))
    assert [b.last_name for b in results] == ["Lefebvre", "Lefèvre"]


@POSTGRES_ONLY
def test_no_approximation_when_the_word_exists(agent, people):
    durant = BeneficiaryFactory(last_name="Durant", first_name="Luc")
    assert found(agent, "durand") == ids(people, "durand")
    assert found(agent, "durant") == {durant.pk}


@POSTGRES_ONLY
def test_approximation_decided_within_the_scope(agent, people):
    # « Dupnot » n'existe que hors du périmètre : l'agent voit le Dupont approché de son périmètre, jamais
    # la personne d'un autre Département.
    BeneficiaryFactory(
        last_name="Dupnot", departement=DepartementFactory(departement_code="44", name="Loire-Atlantique")
    )
    assert found(agent, "dupnot") == ids(people, "dupont")


@POSTGRES_ONLY
def test_exact_matches_keep_the_alphabetical_order(agent, people):
    BeneficiaryFactory(last_name="Lefort", first_name="Alain")
    results = list(Beneficiary.objects.visible_to(agent).search("lef"))
    alphabetical = Beneficiary.objects.filter(pk__in=[b.pk for b in results]).order_by(
        "last_name", "first_name"
    )
    assert [b.last_name for b in results] == [b.last_name for b in alphabetical]
    assert len(results) == 3


def test_partner_referent_finds_only_followed_people(client, people):
    from parcours.accounts.models import OrganisationKind, Role
    from tests.factories import FollowUpFactory, OrganisationFactory

    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL)
    referent = MembershipFactory(organisation=agency, role=Role.REFERENT).user
    FollowUpFactory(beneficiary=people["lefebvre"], organisation=agency)
    assert found(referent, "lef") == ids(people, "lefebvre")
    # « Lefèvre » n'est pas dans son périmètre : sur PostgreSQL, le mot approché trouve le Lefebvre qu'il suit.
    expected = ids(people, "lefebvre") if connection.vendor == "postgresql" else set()
    assert found(referent, "lefevre") == expected
    assert found(referent, "dupont") == set()
    client.force_login(referent)
    assert listed(client, "LEF") == [people["lefebvre"].pk]
