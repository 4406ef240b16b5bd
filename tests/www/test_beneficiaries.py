import csv
import datetime
import io
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    FollowUpFactory,
    HouseholdFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryFactory,
    UserFactory,
)
from tests.www.factories_extra import EventFactory, ImportBatchFactory, RightSnapshotFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("beneficiary_list")


def login(client, **membership):
    m = MembershipFactory(**membership)
    client.force_login(m.user)
    return m


def listed_names(response):
    return [b.last_name for b in response.context["page_obj"]]


# --- périmètre ------------------------------------------------------------------------------------------


def test_list_requires_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_departement_agent_sees_only_own_departement(client):
    login(client)
    BeneficiaryFactory(last_name="Lebreton")
    other = BeneficiaryFactory(
        last_name="Nantais", departement=DepartementFactory(departement_code="44", name="Loire-Atlantique")
    )
    response = client.get(LIST_URL)
    assert response.status_code == 200
    assert listed_names(response) == ["Lebreton"]
    assert client.get(reverse("beneficiary_detail", args=[other.pk])).status_code == 404


def test_agent_without_membership_sees_nothing_with_a_clear_message(client):
    user = UserFactory()
    client.force_login(user)
    BeneficiaryFactory()
    response = client.get(LIST_URL)
    assert listed_names(response) == []
    assert "rattaché à aucune organisation active" in response.content.decode()


def test_inactive_membership_gives_no_scope(client):
    login(client, is_active=False)
    beneficiary = BeneficiaryFactory()
    assert listed_names(client.get(LIST_URL)) == []
    assert client.get(reverse("beneficiary_detail", args=[beneficiary.pk])).status_code == 404


def test_territory_restricted_membership_sees_only_its_territory(client):
    redon, vitre = TerritoryFactory(name="Pays de Redon"), TerritoryFactory(name="Pays de Vitré")
    login(client, territory=redon, role=Role.REFERENT)
    BeneficiaryFactory(last_name="Redonnais", territory=redon)
    hors = BeneficiaryFactory(last_name="Vitreen", territory=vitre)
    BeneficiaryFactory(last_name="SansTerritoire", territory=None)
    assert listed_names(client.get(LIST_URL)) == ["Redonnais"]
    assert client.get(reverse("beneficiary_detail", args=[hors.pk])).status_code == 404


def test_france_travail_agent_sees_only_people_with_open_follow_up_by_the_agency(client):
    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon")
    login(client, organisation=agency, role=Role.REFERENT)
    suivi = FollowUpFactory(organisation=agency, beneficiary__last_name="Suivie").beneficiary
    FollowUpFactory(
        organisation=agency, beneficiary__last_name="Ancienne", ended_on=datetime.date(2026, 3, 1)
    )
    FollowUpFactory(beneficiary__last_name="AutreAgence")
    pas_suivi = BeneficiaryFactory(last_name="PasSuivie")
    assert listed_names(client.get(LIST_URL)) == ["Suivie"]
    assert client.get(reverse("beneficiary_detail", args=[suivi.pk])).status_code == 200
    assert client.get(reverse("beneficiary_detail", args=[pas_suivi.pk])).status_code == 404


def test_partner_without_follow_up_sees_neither_rows_nor_file(client):
    association = OrganisationFactory(kind=OrganisationKind.ASSOCIATION, name="Association Trajectoires")
    login(client, organisation=association, role=Role.REFERENT)
    beneficiary = BeneficiaryFactory()
    assert listed_names(client.get(LIST_URL)) == []
    response = client.get(reverse("beneficiary_detail", args=[beneficiary.pk]))
    assert response.status_code == 404
    assert client.get(reverse("beneficiary_nir", args=[beneficiary.pk])).status_code == 404


# --- recherche et filtres -------------------------------------------------------------------------------


@pytest.fixture
def people():
    redon = TerritoryFactory(name="Pays de Redon")
    rennes = TerritoryFactory(name="Rennes Nord")
    return {
        "territories": (redon, rennes),
        "dupont": BeneficiaryFactory(
            last_name="Dupont",
            first_name="Amélie",
            nir="285063523612345"[:13] + "00",
            territory=redon,
            household=HouseholdFactory(matricule="3512345", organism="CAF"),
            departement_internal_id="D-000451",
            new_entrant_t0=datetime.date(2026, 3, 1),
        ),
        "martin": BeneficiaryFactory(
            last_name="Martin",
            first_name="Karim",
            civility="M",
            territory=rennes,
            household=HouseholdFactory(matricule="7000111", organism="MSA"),
            france_travail_id="FT9911223",
            rsa_state="3",
            is_sdd=False,
            new_entrant_t0=datetime.date(2025, 11, 2),
        ),
        "leroy": BeneficiaryFactory(last_name="Leroy", first_name="Sophie", rsa_state="5"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "dupont"}, ["Dupont"]),
        ({"q": "Karim MARTIN"}, ["Martin"]),
        ({"q": "3512345"}, ["Dupont"]),
        ({"q": "D-000451"}, ["Dupont"]),
        ({"q": "FT9911223"}, ["Martin"]),
        ({"q": "ft9911223"}, ["Martin"]),  # identifiant cherché par égalité, casse indifférente
        ({"q": "d-000451"}, ["Dupont"]),
        ({"q": "35 123 45"}, ["Dupont"]),  # matricule saisi avec des espaces
        ({"etat": "3"}, ["Martin"]),
        ({"sdd": "non"}, ["Martin"]),
        ({"sdd": "oui"}, ["Dupont", "Leroy"]),
        ({"entrant_depuis": "2026-01-01"}, ["Dupont"]),
        ({"entrant_depuis": "2025-10-01"}, ["Dupont", "Martin"]),
        ({"organisme": "MSA"}, ["Martin"]),
        ({"organisme": "CAF", "sdd": "oui", "etat": "2"}, ["Dupont"]),
        ({"q": "personne inconnue"}, []),
    ],
)
def test_search_and_filters_are_get_parameters(client, people, params, expected):
    login(client)
    response = client.get(LIST_URL, params)
    assert listed_names(response) == expected


def test_search_by_nir_with_spaces_13_or_15_digits(client):
    login(client)
    from tests.factories import make_nir

    nir = make_nir(421, sex=2)
    BeneficiaryFactory(last_name="Nirvana", nir=nir)
    BeneficiaryFactory(last_name="Autre")
    spaced_15 = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert listed_names(client.get(LIST_URL, {"q": spaced_15})) == ["Nirvana"]
    assert listed_names(client.get(LIST_URL, {"q": nir[:13]})) == ["Nirvana"]


def test_territory_filter_and_choices_limited_to_agent_departement(client, people):
    login(client)
    TerritoryFactory(
        departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"), name="Nantes"
    )
    redon, _ = people["territories"]
    response = client.get(LIST_URL, {"territoire": redon.pk})
    assert listed_names(response) == ["Dupont"]
    choices = [t.name for t in response.context["form"].fields["territoire"].queryset]
    assert choices == ["Pays de Redon", "Rennes Nord"]


def test_invalid_filter_value_is_ignored_with_an_error_and_others_still_apply(client, people):
    login(client)
    response = client.get(LIST_URL, {"entrant_depuis": "pas-une-date", "organisme": "MSA"})
    assert response.status_code == 200
    assert listed_names(response) == ["Martin"]
    assert "Saisissez une date valide" in response.content.decode()


def test_list_columns_and_badges(client, people):
    login(client)
    html = client.get(LIST_URL, {"q": "Martin"}).content.decode()
    assert reverse("beneficiary_detail", args=[people["martin"].pk]) in html
    assert "MARTIN Karim" in html
    assert "MSA 7000111" in html
    assert "Rennes Nord" in html
    assert "Suspendu" in html
    assert "02/11/2025" in html
    assert "12/06/1985" in html


def test_pagination_fifty_per_page_keeps_filters(client):
    """Pagination par curseur : « Page suivante » garde les filtres, « Page précédente » revient à la
    première page ; le total est exact sous le plafond (« plus de 1 000 » au-delà)."""
    login(client)
    for i in range(53):
        BeneficiaryFactory(last_name=f"Durand{i:02d}", is_sdd=True)
    BeneficiaryFactory(last_name="NonSoumis", is_sdd=False)
    first = client.get(LIST_URL, {"sdd": "oui"})
    page = first.context["page_obj"]
    assert len(page) == 50
    assert page.count == 53
    assert not page.has_previous
    html = first.content.decode()
    assert "<strong>53</strong> bénéficiaires" in html
    assert f"sdd=oui&amp;apres={page.next_cursor}" in html
    second = client.get(LIST_URL, {"sdd": "oui", "apres": page.next_cursor})
    assert listed_names(second) == ["Durand50", "Durand51", "Durand52"]
    assert not second.context["page_obj"].has_next
    back = client.get(LIST_URL, {"sdd": "oui", "avant": second.context["page_obj"].previous_cursor})
    assert listed_names(back) == [f"Durand{i:02d}" for i in range(50)]


def test_pagination_cursor_tampered_gives_the_first_page(client):
    login(client)
    BeneficiaryFactory(last_name="Durand")
    for cursor in ("nimportequoi", "W1swLFsiYSJdXQ", "WzAsWzEsMiwzXV0"):
        response = client.get(LIST_URL, {"apres": cursor})
        assert response.status_code == 200
        assert listed_names(response) == ["Durand"]


def test_htmx_request_returns_only_the_results_fragment(client, people):
    login(client)
    response = client.get(LIST_URL, {"q": "Dupont"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="resultats")
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="resultats"' in html
    assert "DUPONT Amélie" in html
    assert "HX-Request" in response["Vary"]
    full = client.get(LIST_URL, {"q": "Dupont"}).content.decode()
    assert "<html" in full and 'hx-get="/beneficiaires/"' in full and 'hx-push-url="true"' in full


def test_htmx_history_restore_gets_the_full_page(client, people):
    login(client)
    response = client.get(
        LIST_URL, {"q": "Dupont"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def _count_list_queries(client, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST_URL, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["page_obj"])


@pytest.mark.parametrize("membership", ["departement", "territory", "france_travail"])
def test_list_query_count_does_not_depend_on_number_of_rows(client, membership):
    territory = TerritoryFactory()
    agency = OrganisationFactory()
    if membership == "departement":
        login(client)
    elif membership == "territory":
        login(client, territory=territory)
    else:
        login(client, organisation=agency, role=Role.REFERENT)

    def add(n):
        for _ in range(n):
            b = BeneficiaryFactory(territory=territory, new_entrant_t0=datetime.date(2026, 2, 1))
            FollowUpFactory(beneficiary=b, organisation=agency)

    add(3)
    few, rows_few = _count_list_queries(client, {"organisme": "CAF"})
    add(27)
    many, rows_many = _count_list_queries(client, {"organisme": "CAF"})
    assert (rows_few, rows_many) == (3, 30)
    assert few == many


# --- export CSV -----------------------------------------------------------------------------------------


def test_csv_export_of_filtered_list_without_nir_and_with_formula_protection(client, people):
    login(client)
    BeneficiaryFactory(last_name='=HYPERLINK("http://x")', first_name="@Malin", phone="+33612345678")
    response = client.get(reverse("beneficiary_export"), {"sdd": "oui"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert "Nom" in header and "Matricule" in header
    assert not any("NIR" in column for column in header)
    names = [row[header.index("Nom")] for row in body]
    assert sorted(names) == sorted(["Dupont", "Leroy", '\'=HYPERLINK("http://x")'])
    malin = next(row for row in body if row[0].startswith("'="))
    assert malin[header.index("Prénom")] == "'@Malin"
    assert malin[header.index("Téléphone")] == "'+33612345678"
    dupont = next(row for row in body if row[0] == "Dupont")
    assert dupont[header.index("Matricule")] == "3512345"
    assert dupont[header.index("Nouvel entrant — T0")] == "01/03/2026"
    assert people["dupont"].nir not in text
    # Valeurs codées écrites en clair, comme sur la fiche.
    assert dupont[header.index("Organisme")] == "CAF"
    assert dupont[header.index("Territoire")] == "Pays de Redon"
    assert dupont[header.index("Civilité")] == people["dupont"].get_civility_display()
    assert dupont[header.index("Rôle dans le foyer")] == people["dupont"].get_role_display()
    assert dupont[header.index("État du droit")] == people["dupont"].get_rsa_state_display()
    assert dupont[header.index("Soumis aux droits et devoirs")] == "oui"
    leroy = next(row for row in body if row[0] == "Leroy")
    assert leroy[header.index("État du droit")] == "Droit clos"


def test_csv_export_respects_scope(client):
    agency = OrganisationFactory()
    login(client, organisation=agency, role=Role.REFERENT)
    FollowUpFactory(organisation=agency, beneficiary__last_name="Suivie")
    BeneficiaryFactory(last_name="Invisible")
    text = b"".join(client.get(reverse("beneficiary_export")).streaming_content).decode("utf-8-sig")
    assert "Suivie" in text
    assert "Invisible" not in text


# --- fiche ----------------------------------------------------------------------------------------------


@pytest.fixture
def file_person():
    redon = TerritoryFactory(name="Pays de Redon")
    household = HouseholdFactory(matricule="3599001", organism="CAF")
    right = household.right
    right.state = "3"
    right.opened_on = datetime.date(2025, 9, 1)
    right.requested_on = datetime.date(2025, 8, 20)
    right.suspension_reason = "01"
    right.save()
    person = BeneficiaryFactory(
        household=household,
        civility="MME",
        last_name="Guérin",
        birth_name="Le Goff",
        first_name="Nolwenn",
        email="nolwenn.guerin@example.org",
        phone="0612345678",
        address="12 rue des Douves",
        postal_code="35600",
        city="Redon",
        territory=redon,
        departement_internal_id="D-77",
        france_travail_id="FT123",
        rsa_state="3",
        new_entrant_t0=datetime.date(2025, 9, 10),
    )
    BeneficiaryFactory(household=household, role="CJT", civility="M", last_name="Guérin", first_name="Yann")
    batch = ImportBatchFactory(filename="RSABEM_2025_09.xml", organisation=person.departement)
    RightSnapshotFactory(
        beneficiary=person,
        batch=batch,
        reference_date=datetime.date(2025, 9, 5),
        received_on=datetime.date(2025, 9, 10),
        state="2",
        cnaf_new_entrant=True,
    )
    RightSnapshotFactory(
        beneficiary=person,
        reference_date=datetime.date(2025, 10, 5),
        received_on=datetime.date(2025, 10, 9),
        state="3",
        suspension_reason="01",
    )
    EventFactory(
        beneficiary=person,
        kind="new_entrant",
        occurred_on=datetime.date(2025, 9, 10),
        payload={"t0": "2025-09-10", "reference_date": "2025-09-05", "cnaf_new_entrant": True},
        batch=batch,
    )
    EventFactory(
        beneficiary=person,
        kind="right_state_changed",
        occurred_on=datetime.date(2025, 10, 9),
        payload={"state": "3", "previous_state": "2", "suspension_reason": "01"},
    )
    FollowUpFactory(beneficiary=person, organisation__name="France Travail Redon")
    return person


def test_file_shows_identity_contacts_identifiers_household_right_history_timeline(client, file_person):
    login(client, role=Role.REFERENT)
    response = client.get(reverse("beneficiary_detail", args=[file_person.pk]))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    for expected in [
        "Madame Nolwenn GUÉRIN",
        "LE GOFF",
        "12/06/1985",
        "nolwenn.guerin@example.org",
        "0612345678",
        "12 rue des Douves",
        "Pays de Redon",
        "3599001",
        "D-77",
        "FT123",
        "Yann GUÉRIN",  # conjoint
        "Conjoint",
        "Droit ouvert et suspendu",
        "01/09/2025",  # ouverture du droit
        "RSABEM_2025_09.xml",
        "05/10/2025",
        "Nouvel entrant",
        # La frise en phrases, avec le libellé des états du droit.
        "Droit ouvert et suspendu (auparavant : droit ouvert et versable)",
        "Ressources trop élevées (01)",  # libellé du motif de suspension (codes CNAF)
        "Ressources trop élevées (01)",  # libellé du motif de suspension (codes CNAF)
        "France Travail Redon",
    ]:
        assert expected in html, expected
    # Plus récent d'abord.
    story = html[html.index("Histoire du parcours") :]
    assert story.index("Droit ouvert et suspendu (auparavant") < story.index("(T0) le 10/09/2025")
    assert file_person.nir_masked in html
    assert file_person.nir_display not in html


def test_nir_reveal_only_for_departement_admin_and_orientation_manager(client, file_person):
    login(client, role=Role.REFERENT)
    url = reverse("beneficiary_detail", args=[file_person.pk])
    html = client.get(url, {"nir": "afficher"}).content.decode()
    assert file_person.nir_display not in html
    assert "Afficher" not in html
    assert client.get(reverse("beneficiary_nir", args=[file_person.pk])).status_code == 403

    client.logout()
    login(client, role=Role.ORIENTATION_MANAGER)
    html = client.get(url).content.decode()
    assert file_person.nir_display not in html
    assert "Afficher" in html
    assert file_person.nir_display in client.get(url, {"nir": "afficher"}).content.decode()
    fragment = client.get(reverse("beneficiary_nir", args=[file_person.pk]), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert file_person.nir_display in fragment.content.decode()
    assert fragment["Cache-Control"] == "no-store"


def test_france_travail_agent_cannot_reveal_nir_of_followed_person(client, file_person):
    follow_up = file_person.follow_ups.get()
    login(client, organisation=follow_up.organisation, role=Role.ADMIN)
    assert client.get(reverse("beneficiary_detail", args=[file_person.pk])).status_code == 200
    assert client.get(reverse("beneficiary_nir", args=[file_person.pk])).status_code == 403


def test_household_members_outside_scope_are_not_shown(client, file_person):
    follow_up = file_person.follow_ups.get()
    login(client, organisation=follow_up.organisation, role=Role.REFERENT)
    html = client.get(reverse("beneficiary_detail", args=[file_person.pk])).content.decode()
    assert "Nolwenn" in html
    assert "Yann" not in html


def _count_detail_queries(client, pk):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("beneficiary_detail", args=[pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_file_query_count_does_not_depend_on_history_length(client):
    login(client, role=Role.ORIENTATION_MANAGER)

    def enrich(person, n):
        for i in range(n):
            RightSnapshotFactory(beneficiary=person)
            EventFactory(
                beneficiary=person, occurred_on=datetime.date(2025, 1, 1) + datetime.timedelta(days=i)
            )
            FollowUpFactory(
                beneficiary=person,
                referent=UserFactory(),
                ended_on=datetime.date(2026, 2, 2),
                end_cause="transfert",
            )
            BeneficiaryFactory(household=person.household, role="ENF")

    small, big = BeneficiaryFactory(), BeneficiaryFactory()
    enrich(small, 1)
    enrich(big, 12)
    assert _count_detail_queries(client, small.pk) == _count_detail_queries(client, big.pk)


def test_timeline_names_agents_organisations_and_decisions_in_one_query(client):
    """La frise nomme le référent désigné (et le précédent), l'organisation d'un suivi ouvert et celle d'une
    décision d'orientation ; ces noms se lisent en une requête, qu'une sorte ou les trois soient citées."""
    from parcours.orientation.models import OrientationDecision

    login(client, role=Role.ORIENTATION_MANAGER)
    referent = UserFactory(first_name="Awa", last_name="Diallo")
    previous = UserFactory(first_name="", last_name="", email="ancien.referent@example.org")
    agency = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Vitré")
    structure = OrganisationFactory(name="Mission locale du Pays de Vitré")

    def person_citing(*kinds):
        person = BeneficiaryFactory()
        day = datetime.date(2026, 3, 1)
        if "user" in kinds:
            EventFactory(
                beneficiary=person,
                kind="referent_assigned",
                occurred_on=day,
                payload={"referent_id": referent.pk, "previous_referent_id": previous.pk},
            )
        if "organisation" in kinds:
            EventFactory(
                beneficiary=person,
                kind="follow_up_opened",
                occurred_on=day,
                payload={"organisation_id": agency.pk, "cause": "orientation"},
            )
        if "decision" in kinds:
            decision = OrientationDecision.objects.create(
                beneficiary=person, organisation=structure, pathway="social", decided_on=day
            )
            EventFactory(
                beneficiary=person,
                kind="oriented",
                occurred_on=day,
                payload={"decision_id": decision.pk, "pathway": "social"},
            )
        return person

    one, every = person_citing("user"), person_citing("user", "organisation", "decision")
    html = unescape(client.get(reverse("beneficiary_detail", args=[every.pk])).content.decode())
    story = html[html.index("Histoire du parcours") :]
    assert "Référent désigné : Awa Diallo (à la suite de ancien.referent@example.org)" in story
    assert "France Travail Vitré" in story
    assert "Orientation vers Mission locale du Pays de Vitré" in story
    assert _count_detail_queries(client, one.pk) == _count_detail_queries(client, every.pk)


# --- accueil et navigation ------------------------------------------------------------------------------


def test_home_scope_counts_what_the_agent_sees(client):
    login(client)
    from django.utils import timezone

    today = timezone.localdate()
    BeneficiaryFactory(new_entrant_t0=today - datetime.timedelta(days=3))
    BeneficiaryFactory(new_entrant_t0=today - datetime.timedelta(days=60), is_sdd=False)
    BeneficiaryFactory(departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"))
    ImportBatchFactory(filename="flux_du_mois.xml")
    # L'accueil montre la journée tout de suite et charge ensuite les compteurs du périmètre.
    html = client.get(reverse("home")).content.decode()
    assert "flux_du_mois.xml" in html
    assert reverse("import_new") in html
    assert f'hx-get="{reverse("home_scope")}"' in html
    assert "Calcul des compteurs de votre périmètre" in html
    assert '<a class="fr-tag" href="#bloc-perimetre">Votre périmètre</a>' in html  # « Sur cette page »
    fragment = client.get(reverse("home_scope"), HTTP_HX_REQUEST="true")
    counts = fragment.context["counts"]
    assert counts["beneficiaries"] == 2
    assert counts["new_entrants"] == 1
    assert counts["sdd"] == 1
    text = fragment.content.decode()
    assert "<html" not in text and 'id="compteurs-perimetre"' in text
    assert (
        text.count('<h3 class="fr-tile__title">') == 3
    )  # sous le titre « Votre périmètre » (h2) de l'accueil
    assert f"entrant_depuis={(today - datetime.timedelta(days=30)).isoformat()}" in text
    # Sans JavaScript : une page à part, avec le menu et le retour à l'accueil.
    page = client.get(reverse("home_scope")).content.decode()
    assert "<html" in page and "Votre périmètre" in page and "Retour à l'accueil" in page
    assert 'href="/" aria-current="page"' in page  # le menu la range sous « Accueil »
    assert 'class="parcours-big-number">2<' in page
    assert page.count('<h2 class="fr-tile__title">') == 3  # directement sous le h1 de la page


def test_home_scope_is_refused_to_accounts_that_see_no_one(client):
    """Un agent des services de l'État ne voit que des indicateurs agrégés : ni bloc « Votre périmètre » à
    l'accueil, ni compteurs s'il ouvre l'adresse du fragment."""
    user = MembershipFactory(
        organisation=OrganisationFactory(kind=OrganisationKind.ETAT, name="DREETS"), role=Role.ADMIN
    ).user
    client.force_login(user)
    assert reverse("home_scope") not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("home_scope")).status_code == 403


def test_home_for_referent_has_no_import_link(client):
    login(client, role=Role.REFERENT)
    html = client.get(reverse("home")).content.decode()
    assert reverse("import_new") not in html


def test_main_navigation_marks_current_page(client):
    login(client, role=Role.ADMIN)
    response = client.get(LIST_URL)
    nav = response.context["main_nav"]
    assert [item["label"] for item in nav] == [
        "Accueil",
        "Bénéficiaires",
        "Imports de flux",
        "Orientation",
        "Catalogue",
        "Employeurs",
        "Pilotage",
        "Conventions",
        "Comités",
    ]
    assert [item["active"] for item in nav] == [False, True, False, False, False, False, False, False, False]
    assert 'href="/beneficiaires/" aria-current="page"' in response.content.decode()
