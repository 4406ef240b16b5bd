"""Portefeuille d'un autre agent (``/orientation/portefeuille/<id>/``) : seuls les comptes que l'agent peut
voir ; un compte d'un autre Département répond comme un compte inexistant (404, sans son nom)."""

import pytest
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from tests.factories import DepartementFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url(user_pk):
    return reverse("orientation:portfolio_of", args=[user_pk])


@pytest.fixture
def elsewhere():
    """Un agent d'un autre Département (au nom reconnaissable)."""
    other = DepartementFactory(name="Département du Morbihan", departement_code="56")
    return MembershipFactory(
        organisation=other, role=Role.REFERENT, user__last_name="Inaccessible", user__first_name="Zoé"
    ).user


def test_team_manager_cannot_read_the_name_of_an_agent_of_another_departement(client, manager, elsewhere):
    client.force_login(manager)
    forbidden = client.get(_url(elsewhere.pk))
    missing = client.get(_url(elsewhere.pk + 10_000))
    assert forbidden.status_code == missing.status_code == 404
    assert "Inaccessible" not in forbidden.content.decode()


def test_team_manager_opens_agents_of_the_departement_and_its_partners(client, manager, departement):
    partner = OrganisationFactory(kind=OrganisationKind.MISSION_LOCALE, departement=departement)
    referent = MembershipFactory(organisation=partner, role=Role.REFERENT, user__last_name="Partenaire").user
    colleague = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__last_name="Collegue"
    ).user
    client.force_login(manager)
    for agent in (referent, colleague):
        response = client.get(_url(agent.pk))
        assert response.status_code == 200 and agent.last_name in response.content.decode()


def test_partner_team_sees_its_own_agents_only(client, departement, elsewhere):
    france_travail = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement)
    mission_locale = OrganisationFactory(kind=OrganisationKind.MISSION_LOCALE, departement=departement)
    head = MembershipFactory(organisation=france_travail, role=Role.ORIENTATION_MANAGER).user
    own = MembershipFactory(organisation=france_travail, role=Role.REFERENT).user
    other = MembershipFactory(organisation=mission_locale, role=Role.REFERENT).user
    client.force_login(head)
    assert client.get(_url(own.pk)).status_code == 200
    assert client.get(_url(other.pk)).status_code == 404
    assert client.get(_url(elsewhere.pk)).status_code == 404


def test_an_agent_without_team_role_or_without_membership_opens_only_his_own(client, departement, elsewhere):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    colleague = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    client.force_login(referent)
    assert client.get(_url(referent.pk)).status_code == 200
    assert client.get(_url(colleague.pk)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(_url(elsewhere.pk)).status_code == 404
