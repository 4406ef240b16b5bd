"""Le menu principal ne montre que les pages que l'agent peut ouvrir (mêmes déclarations que ``@access``) ;
les appartenances de l'agent sont lues une fois par requête (``parcours.accounts.roles.memberships_of``)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accompaniment.person_space import create_account
from parcours.accounts.models import OrganisationKind, Role
from parcours.accounts.roles import ORIENTATION_TEAM, PRESCRIBER, forget_memberships, memberships_of
from parcours.core.context_processors import MAIN_NAV, nav_entries_for
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    FollowUpFactory,
    MembershipFactory,
    OrganisationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def departement():
    return DepartementFactory()


def _agent(organisation, role):
    return MembershipFactory(organisation=organisation, role=role).user


ROLES = [
    "admin_departement",
    "charge_orientation",
    "referent_departement",
    "conseiller_france_travail",
    "agent_structure",
    "etat",
    "dpo",
    "responsable_lecture_seule",
    "personne",
]


def _user(kind, departement):
    def partner(organisation_kind):
        return OrganisationFactory(kind=organisation_kind, departement=departement)

    match kind:
        case "admin_departement":
            return _agent(departement, Role.ADMIN)
        case "charge_orientation":
            return _agent(departement, Role.ORIENTATION_MANAGER)
        case "referent_departement":
            return _agent(departement, Role.REFERENT)
        case "conseiller_france_travail":
            return _agent(partner(OrganisationKind.FRANCE_TRAVAIL), Role.REFERENT)
        case "agent_structure":
            return _agent(partner(OrganisationKind.STRUCTURE), Role.REFERENT)
        case "etat":
            return _agent(partner(OrganisationKind.ETAT), Role.MANAGER)
        case "dpo":
            return _agent(departement, Role.DPO)
        case "responsable_lecture_seule":
            return _agent(departement, Role.MANAGER)
        case "personne":
            person = BeneficiaryFactory(departement=departement)
            return create_account(person, email="awa.diallo@example.org").user
    raise AssertionError(kind)


EXPECTED = {
    "admin_departement": {"Orientation", "Conventions", "Pilotage", "Catalogue"},
    "charge_orientation": {"Orientation", "Pilotage", "Catalogue"},
    "referent_departement": {"Pilotage", "Catalogue"},
    "conseiller_france_travail": {"Pilotage", "Catalogue"},
    "agent_structure": {"Catalogue"},
    "etat": {"Pilotage", "Conventions"},
    "dpo": {"Journal d'accès"},
    "responsable_lecture_seule": {"Conventions", "Pilotage"},
    "personne": {"Accueil"},
}
ABSENT = {
    "admin_departement": {"Journal d'accès"},
    "charge_orientation": {"Conventions", "Journal d'accès"},
    "referent_departement": {"Orientation", "Conventions", "Journal d'accès"},
    "conseiller_france_travail": {"Orientation", "Conventions", "Journal d'accès"},
    "agent_structure": {"Orientation", "Conventions", "Journal d'accès"},
    "etat": {"Orientation", "Journal d'accès"},
    "dpo": {"Orientation", "Conventions"},
    "responsable_lecture_seule": {"Orientation", "Journal d'accès"},
    "personne": {"Bénéficiaires", "Orientation", "Conventions", "Catalogue", "Pilotage", "Journal d'accès"},
}


@pytest.mark.parametrize("kind", ROLES)
def test_every_menu_link_opens_for_every_role(client, departement, kind):
    user = _user(kind, departement)
    client.force_login(user)
    home = client.get("/", follow=True)
    assert home.status_code == 200
    menu = {item["label"]: item["url"] for item in home.context["main_nav"]}
    assert EXPECTED[kind] <= set(menu), (kind, sorted(menu))
    assert not ABSENT[kind] & set(menu), (kind, sorted(menu))
    for label, url in menu.items():
        response = client.get(url)
        assert response.status_code not in (403, 404, 500), (
            f"{kind} : {label} ({url}) → {response.status_code}"
        )
    # Les pages du menu qu'un agent ne voit pas lui sont refusées : le menu suit les déclarations d'accès.
    if kind != "personne":
        for label, name in MAIN_NAV:
            if label not in menu:
                assert client.get(reverse(name)).status_code == 403, f"{kind} : {label} caché mais ouvert"


def test_menu_is_rendered_in_the_page(client, departement):
    client.force_login(_user("charge_orientation", departement))
    html = client.get(reverse("beneficiary_list")).content.decode()
    links = re.findall(r'class="fr-nav__link" href="([^"]+)"', html)
    assert reverse("orientation:queues") in links and reverse("audit:list") not in links


def test_capabilities_and_memberships_are_read_once_per_user_object(departement, django_assert_num_queries):
    user = _agent(departement, Role.ORIENTATION_MANAGER)
    user = type(user).objects.get(pk=user.pk)  # objet neuf, comme celui d'une requête
    with django_assert_num_queries(1):
        assert ORIENTATION_TEAM.allows(user) and PRESCRIBER.allows(user)
        assert len(memberships_of(user)) == 1
        nav_entries_for(user)
    MembershipFactory(
        user=user, organisation=OrganisationFactory(departement=departement), role=Role.REFERENT
    )
    assert len(memberships_of(user)) == 2  # une appartenance enregistrée efface la liste gardée
    forget_memberships(user)
    with django_assert_num_queries(1):
        memberships_of(user)


def _membership_queries(queries, user):
    """Requêtes qui lisent les appartenances de ``user`` (pas celles des autres agents, ex. une liste de
    référents à désigner)."""
    own = (f'"accounts_membership"."user_id" = {user.pk}', f'"accounts_membership"."user_id" IN ({user.pk})')
    return [q["sql"] for q in queries if any(marker in q["sql"] for marker in own)]


@pytest.mark.parametrize("page", ["beneficiary_detail", "orientation:panel", "accompaniment:contract_list"])
def test_a_person_page_reads_the_memberships_once(client, departement, page):
    """Agent de trois organisations partenaires qui suivent (ou non) la personne : les appartenances sont
    lues une fois pour toute la page (décorateur, périmètre, permissions, menu)."""
    person = BeneficiaryFactory(departement=departement)
    head = MembershipFactory(
        organisation=OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement),
        role=Role.ORIENTATION_MANAGER,
    ).user
    for kind in (OrganisationKind.MISSION_LOCALE, OrganisationKind.CAP_EMPLOI):
        MembershipFactory(
            user=head,
            organisation=OrganisationFactory(kind=kind, departement=departement),
            role=Role.REFERENT,
        )
    FollowUpFactory(beneficiary=person, organisation=head.memberships.first().organisation)
    client.force_login(head)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(page, args=[person.pk]))
    assert response.status_code == 200
    membership_queries = _membership_queries(captured.captured_queries, head)
    print(
        f"\n{page} : {len(captured.captured_queries)} requêtes, {len(membership_queries)} sur les appartenances"
    )
    assert len(membership_queries) <= 1, membership_queries
