"""L'accueil de chaque rôle (``parcours.www.home``) : ses blocs, des liens que l'agent peut tous ouvrir, et un
nombre de requêtes qui ne dépend pas du nombre de personnes."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import reviews
from parcours.accounts.models import OrganisationKind, Role
from parcours.audit.services import record
from parcours.catalogue import prescriptions as rx
from parcours.conventions.models import Convention, ReportDeadline, ReportKind
from parcours.orientation.appointments import schedule_appointment
from parcours.orientation.referents import assign_referent
from tests.catalogue.conftest import make_service, make_structure
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory
from tests.www.factories_extra import ImportBatchFactory

pytestmark = pytest.mark.django_db

ROLES = ["referent", "orientation", "admin", "direction", "etat", "dpo", "structure", "france_travail"]


@pytest.fixture(autouse=True)
def _mail_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def departement():
    return DepartementFactory(departement_code="35", name="Ille-et-Vilaine")


def _main(html):
    return html[html.index("<main") : html.index("</main>")]


def home_links(response):
    """Les liens internes du contenu de l'accueil (hors ancres de la page)."""
    assert response.status_code == 200
    hrefs = re.findall(r'href="([^"#][^"]*)"', _main(response.content.decode()))
    return sorted({unescape(h) for h in hrefs if h.startswith("/")})


def follow_all(client, response):
    """Chaque lien de l'accueil s'ouvre (200) pour l'agent connecté."""
    links = home_links(response)
    for url in links:
        assert client.get(url).status_code == 200, url
    return links


class World:
    """Un Département de démonstration minimal : un agent par rôle et ``n`` personnes qui occupent chaque bloc."""

    def __init__(self, departement):
        self.departement = departement
        self.today = timezone.localdate()
        agent = self.agent
        self.users = {
            "referent": agent(departement, Role.REFERENT, "Nolwenn", "Tanguy"),
            "orientation": agent(departement, Role.ORIENTATION_MANAGER, "Yann", "Morvan"),
            "admin": agent(departement, Role.ADMIN, "Claire", "Le Bihan"),
            "direction": agent(departement, Role.MANAGER, "Hélène", "Gicquel"),
            "dpo": agent(departement, Role.DPO, "Marc", "Lebreton"),
        }
        etat = OrganisationFactory(kind=OrganisationKind.ETAT, name="DDETS", departement=departement)
        self.users["etat"] = agent(etat, Role.MANAGER, "Anne", "Le Roux")
        self.ft = OrganisationFactory(
            kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
        )
        self.users["france_travail"] = agent(self.ft, Role.REFERENT, "Sophie", "Hamon")
        aci = OrganisationFactory(
            kind=OrganisationKind.STRUCTURE, name="Jardins de Redon", departement=departement
        )
        self.users["structure"] = agent(aci, Role.REFERENT, "Lina", "Morel")
        self.structure = make_structure(nom="Les Jardins de Redon", organisation=aci)
        self.services = [make_service(self.structure, nom=f"Chantier maraîcher {i}") for i in range(25)]
        convention = Convention.objects.create(
            departement=departement,
            code="cie-2026",
            title="Convention insertion-emploi 2026",
            state_party="Préfet",
            departement_party="Président du Département",
            starts_on=datetime.date(2026, 1, 1),
            ends_on=datetime.date(2026, 12, 31),
        )
        ReportDeadline.objects.create(
            convention=convention, kind=ReportKind.INTERIM, due_on=self.today + datetime.timedelta(days=20)
        )
        ImportBatchFactory(organisation=departement, filename="RSABEM_du_mois.xml")
        self.people = []

    @staticmethod
    def agent(organisation, role, first, last):
        return MembershipFactory(
            organisation=organisation, role=role, user__first_name=first, user__last_name=last
        ).user

    def add(self, n):
        """``n`` personnes de plus dans chaque bloc : portefeuille du référent (revue, rendez-vous, prescription
        acceptée), nouveaux entrants des files, prescriptions reçues, lectures au journal d'accès."""
        referent = self.users["referent"]
        now = timezone.now()
        for _ in range(n):
            index = len(self.people)
            person = BeneficiaryFactory(
                departement=self.departement,
                last_name=f"Personne{index:03d}",
                new_entrant_t0=self.today - datetime.timedelta(days=index % 40),
            )
            self.people.append(person)
            assign_referent(
                person, referent=referent, organisation=self.departement, author=self.users["orientation"]
            )
            reviews.plan_review(
                person, author=referent, kind="jalon", due_on=self.today + datetime.timedelta(days=index)
            )
            schedule_appointment(
                person,
                starts_at=now + datetime.timedelta(minutes=10 + index),
                place="Agence de Redon",
                author=self.users["orientation"],
                professionals=[referent],
                organisations=[self.departement],
            )
            prescription = rx.create_prescription(
                user=referent,
                beneficiary=person,
                service=self.services[index % len(self.services)],
                shared_data={"first_name": person.first_name, "last_name": person.last_name},
                consent=True,
            )
            if index % 4 == 0:  # une prescription sur deux acceptée
                rx.accept(prescription, actor_label="Accueil des Jardins")
            record(
                user=referent, beneficiary_id=person.pk, departement_id=self.departement.pk, reason="Lecture"
            )
            newcomer = BeneficiaryFactory(
                departement=self.departement,
                last_name=f"Entrant{index:03d}",
                new_entrant_t0=self.today - datetime.timedelta(days=index),
            )
            self.people.append(newcomer)
        return self


@pytest.fixture
def world(departement):
    return World(departement).add(2)


def home(client, user):
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return response, len(ctx.captured_queries)


def blocks(response):
    return [block.key for block in response.context["blocks"]]


# --- chaque rôle a ses blocs ------------------------------------------------------------------------------


def test_referent_sees_people_by_next_deadline_appointments_lists_and_answers(client, world):
    response, _ = home(client, world.users["referent"])
    assert blocks(response) == ["referent", "worklists"]
    data = response.context["blocks"][0].data
    assert data["count"] == 2
    rows = data["rows"]
    # Échéances de la fiche racontée : rendez-vous aujourd'hui, puis la revue de la seconde personne.
    assert [row.person.last_name for row in rows] == ["Personne000", "Personne002"]
    assert all(row.deadline is not None and row.deadline.on >= world.today for row in rows)
    html = unescape(_main(response.content.decode()))
    assert "2 personnes dans votre portefeuille" in html
    assert reverse("beneficiary_detail", args=[rows[0].person.pk]) in html
    assert "Mes rendez-vous de la semaine" in html and "Agence de Redon" in html
    tiles = {tile.label: tile for tile in data["tiles"]}
    assert tiles["Revues à tenir"].count == 2
    assert tiles["Revues à tenir"].url == reverse("accompaniment:reviews_due") + "?qui=moi"
    assert len(data["answers"]) == 1 and "acceptée" in html
    links = follow_all(client, response)
    for name in ("orientation:agenda", "orientation:portfolio", "catalogue:prescription_list"):
        assert reverse(name) in links
    assert reverse("import_new") not in links


def test_referent_with_an_outsized_portfolio_is_sent_to_the_portfolio(client, world, settings):
    """Au-delà de PARCOURS_SITUATIONS_MAX personnes, l'accueil ne classe pas toutes les échéances (le
    portefeuille les lit page par page) : il le dit, et garde le nombre de personnes et le lien."""
    settings.PARCOURS_SITUATIONS_MAX = 1
    response, _ = home(client, world.users["referent"])
    data = response.context["blocks"][0].data
    assert data["count"] == 2 and data["rows"] == []
    html = unescape(_main(response.content.decode()))
    assert "trop grand pour classer ici toutes ses échéances" in html
    assert reverse("orientation:portfolio") in follow_all(client, response)


def test_referent_with_one_person_reads_singular(client, departement):
    one = World(departement).add(1)
    response, _ = home(client, one.users["referent"])
    assert "1 personne dans votre portefeuille" in unescape(response.content.decode())


def test_orientation_agent_sees_queues_with_counts_and_oldest_newcomer(client, world):
    response, _ = home(client, world.users["orientation"])
    assert blocks(response) == ["orientation", "imports", "worklists"]
    queues = {q["key"]: q for q in response.context["blocks"][0].data["queues"]}
    assert queues["a_inviter"]["count"] == 2  # les deux nouveaux entrants sans référent
    oldest = queues["a_inviter"]["oldest"]
    assert oldest["person"].last_name == "Entrant002" and oldest["t0"] == world.today - datetime.timedelta(
        days=2
    )
    assert queues["a_inviter"]["url"] == reverse("orientation:queues") + "?file=a_inviter"
    html = unescape(_main(response.content.decode()))
    assert "Nouveaux entrants à inviter" in html and "RSABEM_du_mois.xml" in html
    links = follow_all(client, response)
    assert reverse("accompaniment:session_list") in links  # séances des équipes pluridisciplinaires


def test_admin_keeps_the_import_block(client, world):
    response, _ = home(client, world.users["admin"])
    assert blocks(response) == ["orientation", "imports", "conventions", "worklists"]
    links = follow_all(client, response)
    assert reverse("import_new") in links and reverse("import_list") in links


def test_direction_sees_pilotage_figures_and_conventions(client, world):
    response, _ = home(client, world.users["direction"])
    assert blocks(response) == ["pilotage", "conventions", "worklists"]
    pilotage = response.context["blocks"][0].data
    figures = {f["label"]: f["display"] for f in pilotage["figures"]}
    assert len(figures) == 4
    assert "Nouveaux entrants" in " ".join(figures)
    links = follow_all(client, response)
    assert reverse("indicators:dashboard") in links
    assert reverse("conventions:detail", args=[Convention.objects.get().pk]) in links
    assert reverse("orientation:queues") not in links


def test_state_sees_indicators_and_conventions_without_people(client, world):
    response, _ = home(client, world.users["etat"])
    assert blocks(response) == ["pilotage", "conventions"]
    assert response.context["blocks"][0].title == "Indicateurs du Département"
    links = follow_all(client, response)
    assert reverse("indicators:dashboard") in links and reverse("indicators:drees") in links
    assert not any(link.startswith(reverse("beneficiary_list")) for link in links)
    assert "Convention insertion-emploi 2026" in response.content.decode()


def test_dpo_sees_the_last_access_log_entries(client, world):
    response, _ = home(client, world.users["dpo"])
    assert blocks(response) == ["audit"]
    entries = response.context["blocks"][0].data["entries"]
    assert len(entries) == 2 and {e.beneficiary_id for e in entries} == {
        world.people[0].pk,
        world.people[2].pk,
    }
    links = follow_all(client, response)
    assert reverse("audit:list") in links
    assert not any(link.startswith(reverse("beneficiary_list")) for link in links)


def test_structure_sees_prescriptions_received_waiting_for_an_answer(client, world):
    response, _ = home(client, world.users["structure"])
    assert blocks(response) == ["structure"]
    data = response.context["blocks"][0].data
    assert data["count"] == 1  # l'autre prescription est acceptée
    assert "1 prescription en attente de votre réponse" in unescape(response.content.decode())
    links = follow_all(client, response)
    assert reverse("catalogue:structure_space") in links
    assert reverse("catalogue:received_prescription", args=[data["rows"][0]["prescription"].pk]) in links


def test_structure_gets_no_scope_counters_even_by_their_address(client, world):
    """Une structure reçoit des prescriptions, elle ne suit pas un portefeuille : ni bloc « Votre périmètre » à
    l'accueil, ni compteurs si l'agent ouvre l'adresse du fragment (une seule règle pour les deux)."""
    response, _ = home(client, world.users["structure"])
    assert reverse("home_scope") not in response.content.decode()
    assert client.get(reverse("home_scope"), HTTP_HX_REQUEST="true").status_code == 403
    client.force_login(world.users["france_travail"])
    assert reverse("home_scope") in client.get(reverse("home")).content.decode()
    assert client.get(reverse("home_scope"), HTTP_HX_REQUEST="true").status_code == 200


def test_partner_referent_without_portfolio_sees_an_empty_day(client, world):
    response, _ = home(client, world.users["france_travail"])
    assert blocks(response) == ["referent", "worklists"]
    assert "Aucune personne ne vous est confiée" in response.content.decode()
    links = follow_all(client, response)
    assert reverse("accompaniment:session_list") not in links  # les séances sont celles du Département


# --- nombre de requêtes constant -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_home_runs_a_constant_number_of_queries(client, departement, role):
    world = World(departement).add(2)
    user = world.users[role]
    home(client, user)  # table de la cohorte mise à jour, comme à chaque lecture
    _, few = home(client, user)
    world.add(18)
    home(client, user)
    response, many = home(client, user)
    assert few == many, role
    assert many <= 45, many


def test_only_links_the_user_can_open(client, world):
    """Aucun lien de l'accueil ne mène à un refus, pour aucun rôle (menu et contenu suivent les déclarations
    d'accès)."""
    for role in ROLES:
        response, _ = home(client, world.users[role])
        for url in home_links(response):
            status = client.get(url).status_code
            assert status == 200, (role, url, status)
