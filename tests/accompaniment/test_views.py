import datetime
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accompaniment import services
from parcours.accompaniment.models import Action, Contract, DiagnosticVersion
from parcours.accounts.models import Role
from parcours.journal.models import Event
from tests.accompaniment.conftest import objective, situation
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def page(response):
    return unescape(response.content.decode())


def diagnose(person, author, **fields):
    fields.setdefault("conducted_on", D(2026, 3, 10))
    return services.save_diagnostic(person, author=author, can_see_sensitive=True, **fields)


# --- diagnostic -----------------------------------------------------------------------------------------


def test_beneficiary_page_links_to_diagnostic_and_contracts(client, person, orientation_manager):
    client.force_login(orientation_manager)
    html = page(client.get(reverse("beneficiary_detail", args=[person.pk])))
    assert reverse("accompaniment:diagnostic", args=[person.pk]) in html
    assert reverse("accompaniment:contract_list", args=[person.pk]) in html


def test_diagnostic_form_is_prefilled_and_post_creates_a_version(client, person, orientation_manager):
    permit = situation("mobilite", "Permis B")
    diagnose(person, orientation_manager, situations=[permit], professional_project="Cariste en entrepôt")
    client.force_login(orientation_manager)
    url = reverse("accompaniment:diagnostic_edit", args=[person.pk])

    html = page(client.get(url))
    assert "Cariste en entrepôt" in html
    assert f'value="{permit.pk}" id="situation-{permit.pk}" checked' in html
    assert "Déjà connu — ne pas redemander" in html and "3 rue des Forges 35600 Redon" in html

    no_car = situation("mobilite", "Aucun moyen de transport")
    response = client.post(
        url,
        {
            "conducted_on": "2026-04-02",
            "situations": [no_car.pk],
            "professional_project": "Agent de quai",
            "rome_code": "n1103",
            "weekly_availability_hours": "25",
        },
    )
    assert response.status_code == 302
    latest = DiagnosticVersion.objects.get(beneficiary=person, number=2)
    assert list(latest.situations.all()) == [no_car]
    assert latest.rome_code == "N1103"
    assert latest.author == orientation_manager
    assert Event.objects.filter(beneficiary=person, kind="diagnosed").count() == 2

    html = page(client.get(reverse("accompaniment:diagnostic", args=[person.pk])))
    assert "Aucun moyen de transport à disposition" in html and "Version 1" in html
    old = page(client.get(reverse("accompaniment:diagnostic_version", args=[person.pk, 1])))
    assert "Permis B" in old and "remplacée depuis" in old


def test_diagnostic_form_errors_are_french_and_named(client, person, orientation_manager):
    client.force_login(orientation_manager)
    response = client.post(
        reverse("accompaniment:diagnostic_edit", args=[person.pk]),
        {"conducted_on": "2099-01-01", "rome_code": "XYZ"},
    )
    assert response.status_code == 200
    html = page(response)
    assert "Code ROME invalide" in html
    assert not DiagnosticVersion.objects.exists()


def test_health_is_hidden_from_read_only_manager_and_other_organisations(
    client, person, orientation_manager, follower, manager
):
    mdph = situation("sante", "Existence d'un dossier MDPH")
    diagnose(person, orientation_manager, situations=[mdph], health_notes="Suivi en CMP tous les mois")
    url = reverse("accompaniment:diagnostic", args=[person.pk])

    for user in (orientation_manager, follower):
        client.force_login(user)
        html = page(client.get(url))
        assert "Existence d'un dossier MDPH" in html and "Suivi en CMP" in html

    client.force_login(manager)
    html = page(client.get(url))
    assert "dossier MDPH" not in html and "Suivi en CMP" not in html
    assert "1 situation de santé réservée aux" in html
    # ni formulaire ni enregistrement pour le rôle en lecture seule
    assert client.get(reverse("accompaniment:diagnostic_edit", args=[person.pk])).status_code == 403
    response = client.post(
        reverse("accompaniment:diagnostic_edit", args=[person.pk]), {"conducted_on": "2026-04-01"}
    )
    assert response.status_code == 403
    assert DiagnosticVersion.objects.count() == 1

    absences = situation("sante", "Difficulté déclarée entrainant des absences régulières")
    diagnose(person, orientation_manager, situations=[mdph, absences])
    assert "2 situations de santé réservées aux" in page(client.get(url))


def test_people_outside_scope_are_404(client, person):
    elsewhere = MembershipFactory(
        organisation=DepartementFactory(departement_code="44", name="Loire-Atlantique"), role=Role.ADMIN
    ).user
    client.force_login(elsewhere)
    contract = services.create_contract(person, author=None)
    for url in (
        reverse("accompaniment:diagnostic", args=[person.pk]),
        reverse("accompaniment:diagnostic_edit", args=[person.pk]),
        reverse("accompaniment:contract_list", args=[person.pk]),
        reverse("accompaniment:contract_detail", args=[contract.pk]),
        reverse("accompaniment:contract_print", args=[contract.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("accompaniment:contract_transition", args=[contract.pk])).status_code == 404


def test_territory_agent_cannot_edit_outside_own_territory(client, departement):
    redon, vitre = TerritoryFactory(name="Pays de Redon"), TerritoryFactory(name="Pays de Vitré")
    person = BeneficiaryFactory(departement=departement, territory=vitre)
    agent = MembershipFactory(organisation=departement, role=Role.REFERENT, territory=redon).user
    client.force_login(agent)
    assert client.get(reverse("accompaniment:diagnostic", args=[person.pk])).status_code == 404


# --- contrat --------------------------------------------------------------------------------------------


def contract_post(**overrides):
    data = {
        "kind": "contrat_engagement",
        "referent_commitments": "Rendez-vous tous les quinze jours.",
        "person_commitments": "Suivre le code de la route et postuler comme cariste.",
        "objectives": [objective("mobilite", "Obtenir le permis").pk],
        "intensity": "renforce",
        "weekly_hours": "",
        "rights_and_appeals": "Recours administratif préalable sous deux mois.",
    }
    data.update(overrides)
    return data


def test_contract_journey_through_http(client, person, orientation_manager):
    client.force_login(orientation_manager)
    new_url = reverse("accompaniment:contract_new", args=[person.pk])
    form = page(client.get(new_url))
    assert "Nouveau contrat d'engagement" in form and "Vous avez droit à un accompagnement" in form

    # 10 h sans motif : refusé, message clair qui nomme le champ
    response = client.post(new_url, contract_post(weekly_hours="10"))
    assert response.status_code == 200
    assert "Durée hebdomadaire d'activité : 10 h est inférieure au minimum de 15 h" in page(response)
    assert not Contract.objects.exists()

    bourse = Action.objects.get(theme__code="mobilite", label="Bourse au permis")
    response = client.post(
        new_url,
        contract_post(
            actions=[bourse.pk],
            referent=orientation_manager.pk,
            organisation=person.departement_id,
            **{f"action_{bourse.pk}_hours": "6"},
            other_actions="Immersion en entrepôt logistique ; 12\nAtelier CV",
        ),
    )
    contract = Contract.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "accompaniment:contract_detail", args=[contract.pk]
    )
    assert contract.weekly_hours == 18
    assert [a.label for a in contract.actions.all()] == [
        "Bourse au permis",
        "Immersion en entrepôt logistique",
        "Atelier CV",
    ]
    assert contract.referent == orientation_manager
    assert contract.organisation_id == person.departement_id

    # modification du brouillon : le formulaire reprend les heures des actions
    edit = page(client.get(reverse("accompaniment:contract_edit", args=[contract.pk])))
    assert f'name="action_{bourse.pk}_hours" id="action-{bourse.pk}-h" value="6"' in edit
    assert "Immersion en entrepôt logistique ; 12" in edit

    transition = reverse("accompaniment:contract_transition", args=[contract.pk])
    client.post(transition, {"action": "signer", "on": "2026-04-01"})
    contract.refresh_from_db()
    assert contract.status == "signed" and contract.signed_on == D(2026, 4, 1)
    assert Event.objects.get(kind="contract_signed").actor == orientation_manager

    detail = page(client.get(reverse("accompaniment:contract_detail", args=[contract.pk])))
    assert "Terminer le contrat" in detail and "Modifier" not in detail
    printable = page(client.get(reverse("accompaniment:contract_print", args=[contract.pk])))
    assert "Immersion en entrepôt logistique" in printable
    assert "18 heures par semaine" in printable
    assert "Recours administratif préalable" in printable
    assert "Signature de la personne" in printable

    response = client.post(transition, {"action": "terminer", "on": "2026-06-01", "reason": ""}, follow=True)
    assert "Motif de fin : champ obligatoire." in page(response)
    client.post(
        transition, {"action": "terminer", "on": "2026-06-01", "reason": "Entrée en formation qualifiante"}
    )
    contract.refresh_from_db()
    assert contract.status == "ended"


def test_incomplete_contract_cannot_be_signed_over_http(client, person, orientation_manager):
    client.force_login(orientation_manager)
    contract = services.create_contract(person, author=orientation_manager)
    response = client.post(
        reverse("accompaniment:contract_transition", args=[contract.pk]),
        {"action": "signer", "on": "2026-04-01"},
        follow=True,
    )
    html = page(response)
    assert "Engagements du référent : à renseigner avant la signature." in html
    contract.refresh_from_db()
    assert contract.status == "draft"


def test_manager_reads_contract_but_cannot_change_it(client, person, orientation_manager, manager):
    contract = services.create_contract(person, author=orientation_manager)
    client.force_login(manager)
    assert client.get(reverse("accompaniment:contract_detail", args=[contract.pk])).status_code == 200
    assert client.get(reverse("accompaniment:contract_print", args=[contract.pk])).status_code == 200
    assert client.get(reverse("accompaniment:contract_new", args=[person.pk])).status_code == 403
    assert client.get(reverse("accompaniment:contract_edit", args=[contract.pk])).status_code == 403
    response = client.post(
        reverse("accompaniment:contract_transition", args=[contract.pk]),
        {"action": "signer", "on": "2026-04-01"},
    )
    assert response.status_code == 403


# --- liste des contrats en retard -----------------------------------------------------------------------


def _orient(person, on):
    Event.objects.create(beneficiary=person, kind="oriented", occurred_on=on)


def test_late_contracts_page_lists_scope_only_with_fixed_query_count(
    client, departement, orientation_manager, django_assert_num_queries
):
    other = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    stranger = BeneficiaryFactory(departement=other, last_name="Nantais")
    _orient(stranger, D(2026, 1, 5))
    client.force_login(orientation_manager)
    url = reverse("accompaniment:late_contracts") + "?on=2026-04-20"

    def add_people(n, start):
        for i in range(n):
            person = BeneficiaryFactory(departement=departement, territory=TerritoryFactory())
            _orient(person, D(2026, 2, 1) + datetime.timedelta(days=start + i))

    add_people(3, 0)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 3
    assert "Nantais" not in page(response)
    add_people(30, 3)
    with django_assert_num_queries(len(few)):
        response = client.get(url)
    assert response.context["page_obj"].paginator.count == 33
    row = response.context["rows"][0]
    assert (row[1], row[2], row[3]) == (D(2026, 2, 1), D(2026, 3, 1), 50)


def test_contract_list_page_has_fixed_query_count(
    client, person, orientation_manager, django_assert_num_queries
):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:contract_list", args=[person.pk])
    services.create_contract(person, author=orientation_manager, referent=orientation_manager)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(10):
        services.create_contract(person, author=orientation_manager, referent=orientation_manager)
    with django_assert_num_queries(len(few)):
        response = client.get(url)
    assert len(response.context["contracts"]) == 11
