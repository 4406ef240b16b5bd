"""Démonstration : une campagne de reprise de contact du stock, en partie invitée."""

from parcours.accounts.models import Role
from parcours.orientation import campaigns
from parcours.orientation.demo import populate_stock_campaign
from parcours.orientation.models import StockCampaign
from tests.factories import BeneficiaryFactory, MembershipFactory


def test_demo_creates_and_invites_a_stock_campaign(departement, frozen):
    today = frozen(2026, 11, 16)
    agent = MembershipFactory(
        organisation=departement, role=Role.ORIENTATION_MANAGER, user__email="orientation@demo.parcours.fr"
    ).user
    for index in range(6):
        BeneficiaryFactory(departement=departement, email=f"personne{index}@example.org" if index < 4 else "")
    assert populate_stock_campaign(departement, {agent.email: agent}, today=today, invite=3) == 6
    campaign = StockCampaign.objects.get()
    assert campaign.name == "Reprise de contact du stock — sans orientation"
    figures = campaigns.results([campaign])[campaign.pk]
    assert figures["members"] == 6 and figures["invited"] == 3


def test_demo_without_stock_creates_no_campaign(departement, frozen):
    today = frozen(2026, 11, 16)
    agent = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    assert populate_stock_campaign(departement, {agent.email: agent}, today=today) == 0
    assert not StockCampaign.objects.exists()
