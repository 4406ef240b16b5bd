"""Campagnes de reprise de contact du stock : critères, aperçu, liste figée, invitation en nombre, résultats."""

import csv
import datetime
import io
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind
from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from parcours.orientation import campaigns, services
from parcours.orientation.models import (
    Attendance,
    InvitationStatus,
    OrientationExemption,
    Pathway,
    StockCampaign,
)
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory

D = datetime.date


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def stock_person(departement, last_name, **kwargs):
    kwargs.setdefault("email", f"{last_name.lower()}@example.org")
    kwargs.setdefault("phone", "06 11 22 33 44")
    kwargs.setdefault("address", "2 rue de la Gare")
    kwargs.setdefault("postal_code", "35600")
    kwargs.setdefault("city", "Redon")
    return BeneficiaryFactory(departement=departement, last_name=last_name, first_name="Claire", **kwargs)


@pytest.fixture
def stock(departement, territory, france_travail, manager, frozen):
    """Six personnes : deux sans orientation, une orientée emploi sans contrat, une orientée social avec un
    contrat signé, une dispensée, une dont le droit est suspendu (hors stock)."""
    frozen(2026, 3, 2)
    other_territory = TerritoryFactory(departement=departement, code="VITRE", name="Pays de Vitré")
    people = {
        "aubert": stock_person(departement, "Aubert", territory=territory),
        "bernard": stock_person(departement, "Bernard", territory=other_territory, email=""),
        "caron": stock_person(departement, "Caron", territory=territory),
        "dumas": stock_person(departement, "Dumas", territory=territory),
        "exempt": stock_person(departement, "Etienne", territory=territory),
        "suspended": stock_person(departement, "Fabre", territory=territory, rsa_state="3"),
    }
    people["aubert"].household.right.opened_on = D(2019, 5, 1)
    people["aubert"].household.right.save()
    emploi = services.decide_orientation(
        people["caron"],
        pathway=Pathway.EMPLOI,
        organisation=france_travail,
        author=manager,
        decided_on=D(2025, 6, 1),
    )
    services.notify_orientation(emploi, author=manager, notified_on=D(2025, 6, 2))
    social = services.decide_orientation(
        people["dumas"],
        pathway=Pathway.SOCIAL,
        organisation=departement,
        author=manager,
        decided_on=D(2025, 6, 1),
    )
    services.notify_orientation(social, author=manager, notified_on=D(2025, 6, 2))
    contract = accompaniment.create_contract(people["dumas"], author=manager, kind=ContractKind.CER)
    accompaniment.sign_contract(contract, actor=manager, on=D(2025, 7, 1))
    OrientationExemption.objects.create(beneficiary=people["exempt"], reason="sante", starts_on=D(2026, 1, 1))
    return people


def names(queryset):
    return [p.last_name for p in queryset]


def test_stock_excludes_exempted_and_non_payable_rights(stock, manager, departement):
    scope = campaigns.campaign_scope(manager, departement)
    assert names(campaigns.select(scope, campaigns.Criteria())) == ["Aubert", "Bernard", "Caron", "Dumas"]


def test_each_criterion_narrows_the_stock(stock, manager, departement, territory):
    scope = campaigns.campaign_scope(manager, departement)
    C = campaigns.Criteria
    assert names(campaigns.select(scope, C(pathway=campaigns.NO_PATHWAY))) == ["Aubert", "Bernard"]
    assert names(campaigns.select(scope, C(pathway=Pathway.EMPLOI))) == ["Caron"]
    assert names(campaigns.select(scope, C(no_contract=True))) == ["Aubert", "Bernard", "Caron"]
    assert names(campaigns.select(scope, C(territory_id=territory.pk))) == ["Aubert", "Caron", "Dumas"]
    assert names(campaigns.select(scope, C(right_opened_before=D(2020, 1, 1)))) == ["Aubert"]


def test_no_appointment_for_n_months(stock, manager, departement, frozen):
    today = frozen(2026, 3, 2)
    scope = campaigns.campaign_scope(manager, departement)
    seen = services.schedule_appointment(
        stock["aubert"],
        starts_at=timezone.make_aware(datetime.datetime(2026, 1, 10, 9)),
        place="Espace social de Redon",
        author=manager,
    )
    services.record_attendance(seen, Attendance.SEEN, author=manager, on=D(2026, 1, 10))
    old = services.schedule_appointment(
        stock["bernard"],
        starts_at=timezone.make_aware(datetime.datetime(2025, 5, 10, 9)),
        place="Espace social de Redon",
        author=manager,
    )
    services.record_attendance(old, Attendance.SEEN, author=manager, on=D(2025, 5, 10))
    criteria = campaigns.Criteria(no_appointment_months=6)
    # Aubert vue il y a deux mois : exclue ; Bernard vue il y a dix mois : dans la sélection.
    assert names(campaigns.select(scope, criteria, today)) == ["Bernard", "Caron", "Dumas"]


def test_a_territorial_agent_only_selects_people_of_her_territory(stock, departement, territory):
    agent = MembershipFactory(
        organisation=departement, territory=territory, role=Role.ORIENTATION_MANAGER
    ).user
    scope = campaigns.campaign_scope(agent, departement)
    assert names(campaigns.select(scope, campaigns.Criteria())) == ["Aubert", "Caron", "Dumas"]


def test_preview_counts_and_paginates_with_constant_queries(client, stock, manager, departement):
    for index in range(60):
        stock_person(departement, f"Zélie{index:02d}")
    client.force_login(manager)
    url = reverse("orientation:campaign_new") + "?pathway=sans_orientation"
    with CaptureQueriesContext(connection) as first:
        response = client.get(url)
    html = text(response)
    assert "62 personnes du stock" in html and "sans orientation ni référent en cours" in html
    assert "Claire AUBERT" in html and "1 / 2" in html
    for index in range(40):
        stock_person(departement, f"Zoé{index:02d}")
    with CaptureQueriesContext(connection) as second:
        response = client.get(url + "&page=2")
    assert "102 personnes du stock" in text(response)
    assert len(second) == len(first)


def test_invalid_criteria_are_explained_in_french(client, stock, manager):
    client.force_login(manager)
    html = text(
        client.get(reverse("orientation:campaign_new") + "?no_appointment_months=0&right_opened_before=x")
    )
    assert "Le nombre de mois est au moins 1." in html
    assert "Saisissez une date valide" in html
    assert "Créer la campagne" not in html


def test_create_campaign_freezes_the_list(client, stock, manager, departement, france_travail, frozen):
    client.force_login(manager)
    url = reverse("orientation:campaign_new") + "?no_contract=on"
    response = client.post(url, {"name": "Reprise de contact — printemps 2026"})
    campaign = StockCampaign.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "orientation:campaign_detail", args=[campaign.pk]
    )
    assert campaign.criteria["no_contract"] is True and campaign.departement == departement
    assert sorted(campaign.members.values_list("beneficiary__last_name", flat=True)) == [
        "Aubert",
        "Bernard",
        "Caron",
    ]
    # Une personne arrivée dans le stock ensuite n'entre pas dans la campagne.
    stock_person(departement, "Gauthier")
    assert campaign.members.count() == 3


def test_create_campaign_requires_a_name_and_people(client, stock, manager):
    client.force_login(manager)
    html = text(client.post(reverse("orientation:campaign_new") + "?pathway=emploi", {"name": ""}))
    assert "Donnez un nom à la campagne." in html
    html = text(
        client.post(reverse("orientation:campaign_new") + "?right_opened_before=1990-01-01", {"name": "Vide"})
    )
    assert "Aucune personne du stock ne remplit ces critères" in html
    assert not StockCampaign.objects.exists()


def test_bulk_invitation_reports_people_without_email(client, stock, manager, departement, frozen):
    frozen(2026, 3, 2)
    campaign = campaigns.create_campaign(
        user=manager, departement=departement, name="Sans orientation", criteria=campaigns.Criteria()
    )
    client.force_login(manager)
    response = client.post(
        reverse("orientation:campaign_invite", args=[campaign.pk]), {"channel": "email"}, follow=True
    )
    html = text(response)
    assert "3 invitations envoyées, 0 en échec" in html
    assert "1 personne sans coordonnée pour ce canal" in html
    assert "Sans coordonnée pour le canal « Courriel » : Claire BERNARD." in html
    assert len(mail.outbox) == 3
    # Un second envoi n'invite pas deux fois ; Bernard reste à inviter par un autre canal.
    response = client.post(
        reverse("orientation:campaign_invite", args=[campaign.pk]), {"channel": "sms"}, follow=True
    )
    assert "1 invitation envoyée" in text(response)
    assert campaigns.to_invite(campaign, manager).count() == 0


def test_results_are_read_from_the_journal(client, stock, manager, departement, france_travail, frozen):
    frozen(2026, 3, 2)
    campaign = campaigns.create_campaign(
        user=manager,
        departement=departement,
        name="Sans contrat",
        criteria=campaigns.Criteria(no_contract=True),
    )
    campaigns.invite_campaign(campaign, channel="email", user=manager)
    aubert, caron = stock["aubert"], stock["caron"]
    frozen(2026, 3, 5)
    appointment = services.schedule_appointment(
        aubert,
        starts_at=timezone.make_aware(datetime.datetime(2026, 3, 9, 10)),
        place="CDAS Redon",
        author=manager,
    )
    assert aubert.invitations.get().status == InvitationStatus.ANSWERED
    frozen(2026, 3, 9)
    services.record_attendance(appointment, Attendance.SEEN, author=manager)
    decision = services.decide_orientation(
        aubert, pathway=Pathway.EMPLOI, organisation=france_travail, author=manager
    )
    services.notify_orientation(decision, author=manager)
    contract = accompaniment.create_contract(caron, author=manager, kind=ContractKind.CER)
    accompaniment.sign_contract(contract, actor=manager, on=D(2026, 3, 9))

    figures = campaigns.results([campaign])[campaign.pk]
    assert figures == {
        "members": 3,
        "invited": 2,  # Bernard n'a pas de courriel
        "answered": 1,
        "appointment_held": 1,
        "oriented": 1,
        "contract_signed": 1,
    }
    client.force_login(manager)
    html = text(client.get(reverse("orientation:campaign_detail", args=[campaign.pk])))
    assert "Contrat signé</th><td>1</td><td>33 %" in html
    html = text(client.get(reverse("orientation:campaign_list")))
    assert "Sans contrat" in html and "sans contrat d&#x27;engagement en cours" in html
    export = client.get(reverse("orientation:campaign_results_export"))
    content = b"".join(export.streaming_content).decode()
    assert (
        "Sans contrat;Département d'Ille-et-Vilaine;2026-03-02;sans contrat d'engagement en cours;3;2;1;1;1;1"
        in content
    )
    # L'export nominatif : les résultats de chaque personne, dans l'ordre des colonnes de la page.
    export = client.get(reverse("orientation:campaign_export", args=[campaign.pk]))
    rows = {
        row[0]: row
        for row in csv.reader(
            io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig")), delimiter=";"
        )
    }
    assert rows["nom"][6:] == ["Invitées", "Ont répondu", "Rendez-vous honoré", "Orientées", "Contrat signé"]
    assert rows["Aubert"][6:] == ["oui", "oui", "oui", "oui", "non"]
    assert rows["Caron"][6:] == ["oui", "non", "non", "non", "oui"]


def test_member_export_is_audit_logged(client, stock, manager, departement):
    campaign = campaigns.create_campaign(
        user=manager, departement=departement, name="Tout le stock", criteria=campaigns.Criteria()
    )
    client.force_login(manager)
    response = client.get(reverse("orientation:campaign_export", args=[campaign.pk]))
    content = b"".join(response.streaming_content).decode()
    assert "Aubert;Claire" in content and content.count("\n") == 5
    logs = AccessLog.objects.filter(reason__contains="Tout le stock")
    assert logs.count() == 4


def test_campaigns_are_reserved_to_the_orientation_team_of_the_departement(
    client, stock, manager, departement
):
    campaign = campaigns.create_campaign(
        user=manager, departement=departement, name="Tout le stock", criteria=campaigns.Criteria()
    )
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    client.force_login(referent)
    assert client.get(reverse("orientation:campaign_list")).status_code == 403
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    outsider = MembershipFactory(organisation=other, role=Role.ORIENTATION_MANAGER).user
    client.force_login(outsider)
    assert client.get(reverse("orientation:campaign_detail", args=[campaign.pk])).status_code == 404
    response = client.post(reverse("orientation:campaign_invite", args=[campaign.pk]), {"channel": "email"})
    assert response.status_code == 404
    assert "Tout le stock" not in text(client.get(reverse("orientation:campaign_list")))


def test_dashboard_links_to_the_campaign_and_offer_map_exports(client, manager, departement):
    client.force_login(manager)
    html = text(client.get(reverse("indicators:dashboard")))
    assert "Campagnes du stock (CSV)" in html
    assert reverse("orientation:campaign_results_export") in html
    assert reverse("catalogue:offer_export", args=["xlsx"]) in html
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    client.force_login(referent)
    html = text(client.get(reverse("indicators:dashboard")))
    assert "Reprise de contact du stock" not in html


def test_detail_counts_the_missing_contact_details_of_the_members(client, stock, manager, departement):
    # Bernard n'a pas de courriel ; Caron, ni téléphone ni code postal. Une personne hors de la campagne, sans
    # aucune coordonnée, ne compte pas.
    stock["caron"].phone = ""
    stock["caron"].postal_code = ""
    stock["caron"].save()
    campaign = campaigns.create_campaign(
        user=manager,
        departement=departement,
        name="Sans contrat",
        criteria=campaigns.Criteria(no_contract=True),
    )
    stock_person(departement, "Horsliste", email="", phone="", address="", city="")
    assert campaigns.contact_gaps(campaign) == {"no_email": 1, "no_phone": 1, "no_address": 1}
    client.force_login(manager)
    html = text(client.get(reverse("orientation:campaign_detail", args=[campaign.pk])))
    assert (
        "Coordonnées manquantes : 1 sans courriel, 1 sans téléphone, 1 sans adresse postale complète." in html
    )
