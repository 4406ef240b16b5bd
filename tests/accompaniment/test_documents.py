"""Documents en PDF de l'accompagnement : contrat d'engagement (un, ou une sélection de la liste des contrats)
et courriers de la procédure de sanction ; chaque téléchargement inscrit au journal d'accès."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accompaniment import sanctions, services
from parcours.accompaniment.models import Action, ContractStatus, SanctionStatus
from parcours.audit.models import AccessAction, AccessLog
from parcours.core.pdf import page_count
from tests.accompaniment.conftest import objective
from tests.factories import BeneficiaryFactory, DepartementFactory

D = datetime.date
S = SanctionStatus

pytestmark = pytest.mark.django_db


def pdf_text(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return response.content.decode("latin-1")


def make_contract(person, author, **fields):
    action = Action.objects.filter(theme__code="mobilite").first()
    contract = services.create_contract(
        person,
        author=author,
        referent=author,
        objectives=[objective("mobilite", "Obtenir le permis")],
        actions=[
            {"action": action, "weekly_hours": "12"},
            {"label": "Atelier CV au CCAS", "weekly_hours": "3"},
        ],
        referent_commitments="Rendez-vous toutes les deux semaines.",
        person_commitments="Participer aux ateliers et chercher un emploi d'aide à domicile.",
        weekly_hours="15",
        intensity="renforce",
        **fields,
    )
    return contract


def people(departement, count):
    return [
        BeneficiaryFactory(
            departement=departement,
            last_name=f"Guégan{index:03d}",
            address=f"{index} rue de Vannes",
            postal_code="35600",
            city="Redon",
        )
        for index in range(count)
    ]


# --- un contrat -----------------------------------------------------------------------------------------


def test_contract_pdf_is_a_letter_with_the_contract_and_is_audit_logged(client, person, orientation_manager):
    contract = make_contract(person, orientation_manager)
    client.force_login(orientation_manager)
    detail = client.get(reverse("accompaniment:contract_detail", args=[contract.pk]))
    pdf_url = reverse("accompaniment:contract_pdf", args=[contract.pk])
    assert pdf_url in detail.content.decode()
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()

    response = client.get(pdf_url)

    text = pdf_text(response)
    assert page_count(response.content) == 1
    assert f'filename="contrat-{contract.pk}-' in response["Content-Disposition"]
    for expected in (
        "Nadia LEBRETON",  # adresse de la personne
        "3 rue des Forges",
        "35600 Redon",
        f"Contrat n\\260 {contract.pk}",  # référence (« n° » en WinAnsi)
        "Projet ",  # brouillon : non signé
        "Atelier CV au CCAS",
        "Rendez-vous toutes les deux semaines.",
        "Signature de la personne",
    ):
        assert expected in text, expected
    entry = AccessLog.objects.filter(action=AccessAction.EXPORT).get()
    assert entry.beneficiary_id == person.pk and entry.departement_id == person.departement_id
    assert entry.user == orientation_manager
    assert entry.reason.startswith("Contrat d'engagement (PDF)")


def test_signed_contract_pdf_carries_the_signature_date_and_the_rights(client, person, orientation_manager):
    contract = make_contract(person, orientation_manager)
    services.transition_contract(contract, ContractStatus.SIGNED, actor=orientation_manager, on=D(2026, 4, 2))
    client.force_login(orientation_manager)

    text = pdf_text(client.get(reverse("accompaniment:contract_pdf", args=[contract.pk])))

    assert "Projet " not in text
    assert "le 02/04/2026" in text
    assert "Vos droits et voies de recours" in text


def test_contract_pdf_of_another_departement_is_not_found_and_not_logged(client, orientation_manager):
    elsewhere = BeneficiaryFactory(departement=DepartementFactory(departement_code="56", name="Morbihan"))
    contract = make_contract(elsewhere, None)
    client.force_login(orientation_manager)

    assert client.get(reverse("accompaniment:contract_pdf", args=[contract.pk])).status_code == 404
    assert not AccessLog.objects.filter(beneficiary_id=elsewhere.pk).exists()


# --- liste des contrats et impression en nombre ---------------------------------------------------------


def test_contract_list_shows_the_perimeter_with_checkboxes(client, departement, orientation_manager):
    mine = people(departement, 2)
    for person in mine:
        make_contract(person, orientation_manager)
    elsewhere = BeneficiaryFactory(
        departement=DepartementFactory(departement_code="56", name="Morbihan"), last_name="Le Floch"
    )
    make_contract(elsewhere, None)
    client.force_login(orientation_manager)

    page = client.get(reverse("accompaniment:contract_index"), {"qui": "tous"}).content.decode()

    assert "Guégan000".upper() in page and "Guégan001".upper() in page
    assert "LE FLOCH" not in page
    assert 'data-select-all="ids"' in page and "Tout sélectionner" in page
    assert page.count('name="ids"') == 2
    assert reverse("accompaniment:contracts_pdf") in page


def test_contract_list_filters_by_status(client, departement, orientation_manager):
    draft, signed = people(departement, 2)
    make_contract(draft, orientation_manager)
    services.transition_contract(
        make_contract(signed, orientation_manager),
        ContractStatus.SIGNED,
        actor=orientation_manager,
        on=D(2026, 4, 2),
    )
    client.force_login(orientation_manager)

    page = client.get(
        reverse("accompaniment:contract_index"), {"qui": "tous", "statut": "signed"}
    ).content.decode()

    assert signed.last_name.upper() in page and draft.last_name.upper() not in page


def test_selected_contracts_print_as_one_pdf_one_per_page(client, departement, orientation_manager):
    contracts = [make_contract(p, orientation_manager) for p in people(departement, 4)]
    client.force_login(orientation_manager)
    selection = [c.pk for c in contracts[:3]]

    response = client.post(reverse("accompaniment:contracts_pdf"), {"ids": selection})

    text = pdf_text(response)
    assert page_count(response.content) == 3
    assert text.index("GU\\311GAN000") < text.index("GU\\311GAN001") < text.index("GU\\311GAN002")
    assert "GU\\311GAN003" not in text
    logged = AccessLog.objects.filter(action=AccessAction.EXPORT)
    assert sorted(logged.values_list("beneficiary_id", flat=True)) == sorted(
        c.beneficiary_id for c in contracts[:3]
    )
    assert {e.reason.split(" : ")[0] for e in logged} == {"Contrats d'engagement (PDF, sélection)"}


def test_bulk_contract_pdf_query_count_does_not_depend_on_the_selection(
    client, departement, orientation_manager
):
    contracts = [make_contract(p, orientation_manager) for p in people(departement, 6)]
    client.force_login(orientation_manager)
    url = reverse("accompaniment:contracts_pdf")
    client.post(url, {"ids": [contracts[0].pk]})  # sessions, caches : premier appel à part

    with CaptureQueriesContext(connection) as two:
        client.post(url, {"ids": [c.pk for c in contracts[:2]]})
    with CaptureQueriesContext(connection) as six:
        response = client.post(url, {"ids": [c.pk for c in contracts]})

    assert page_count(response.content) == 6
    assert len(six) == len(two)


def test_a_selection_with_a_contract_out_of_scope_is_refused(client, departement, orientation_manager):
    mine = make_contract(people(departement, 1)[0], orientation_manager)
    elsewhere = make_contract(BeneficiaryFactory(departement=DepartementFactory(departement_code="56")), None)
    client.force_login(orientation_manager)

    response = client.post(reverse("accompaniment:contracts_pdf"), {"ids": [mine.pk, elsewhere.pk]})

    assert response.status_code == 404
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_a_selection_beyond_the_cap_is_refused_with_a_message(client, orientation_manager):
    client.force_login(orientation_manager)

    response = client.post(reverse("accompaniment:contracts_pdf"), {"ids": list(range(1, 502))}, follow=True)

    assert (
        "Un PDF contient au plus 500 courriers : vous en avez sélectionné 501." in response.content.decode()
    )
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_an_empty_selection_returns_to_the_list(client, orientation_manager):
    client.force_login(orientation_manager)

    response = client.post(reverse("accompaniment:contracts_pdf"), {"retour": "qui=tous&statut=draft"})

    assert response.status_code == 302
    assert response.url == reverse("accompaniment:contract_index") + "?qui=tous&statut=draft"


def test_a_partner_prints_only_the_contracts_of_the_people_it_follows(client, person, follower, departement):
    followed = make_contract(person, follower)
    other = make_contract(people(departement, 1)[0], None)
    client.force_login(follower)

    assert (
        client.post(reverse("accompaniment:contracts_pdf"), {"ids": [followed.pk, other.pk]}).status_code
        == 404
    )
    response = client.post(reverse("accompaniment:contracts_pdf"), {"ids": [followed.pk]})
    assert page_count(response.content) == 1


# --- courriers de la procédure de sanction --------------------------------------------------------------


def open_case(person, actor):
    return sanctions.open_case(
        person,
        ground="absences",
        facts="Absente aux rendez-vous des 3, 10 et 17 février 2026.",
        actor=actor,
        on=D(2026, 3, 2),
    )


def test_notice_letter_pdf_tells_the_right_to_be_heard(client, person, orientation_manager):
    case = open_case(person, orientation_manager)
    case = sanctions.transition_case(
        case, S.NOTICE_SENT, actor=orientation_manager, on=D(2026, 3, 5), reason="x"
    )
    client.force_login(orientation_manager)
    detail = client.get(reverse("accompaniment:case_detail", args=[case.pk])).content.decode()
    assert reverse("accompaniment:case_pdf", args=[case.pk]) in detail

    response = client.get(reverse("accompaniment:case_pdf", args=[case.pk]))

    text = pdf_text(response)
    assert page_count(response.content) == 1
    assert "Information pr\\351alable" in text
    assert "Vous pouvez pr\\351senter vos observations" in text
    assert f"Proc\\351dure n\\260 {case.pk}" in text
    entry = AccessLog.objects.get(action=AccessAction.EXPORT)
    assert entry.beneficiary_id == person.pk and entry.reason.startswith(
        "Courrier de procédure de sanction (PDF)"
    )


def test_case_without_letter_at_its_step_has_no_pdf(client, person, orientation_manager):
    case = open_case(person, orientation_manager)
    client.force_login(orientation_manager)

    assert client.get(reverse("accompaniment:case_pdf", args=[case.pk])).status_code == 404
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_selected_cases_print_their_letters_and_skip_those_without(client, departement, orientation_manager):
    cases = [open_case(p, orientation_manager) for p in people(departement, 3)]
    for case in cases[:2]:
        sanctions.transition_case(
            case, S.NOTICE_SENT, actor=orientation_manager, on=D(2026, 3, 5), reason="x"
        )
    decided = sanctions.transition_case(
        cases[1],
        S.DECIDED,
        actor=orientation_manager,
        on=D(2026, 4, 10),
        reason="x",
        decision="suspension",
        reduction_percent=30,
        duration_months=2,
        monthly_amount="635.71",
    )
    client.force_login(orientation_manager)
    page = client.get(reverse("accompaniment:cases_in_progress"), {"qui": "tous"}).content.decode()
    assert reverse("accompaniment:cases_pdf") in page and 'data-select-all="ids"' in page

    response = client.post(reverse("accompaniment:cases_pdf"), {"ids": [c.pk for c in cases]})

    text = pdf_text(response)
    assert page_count(response.content) == 2  # la procédure seulement ouverte n'a pas de courrier
    assert "Information pr\\351alable" in text and "Voies de recours" in text
    assert decided.decision == "suspension"
    logged = set(
        AccessLog.objects.filter(action=AccessAction.EXPORT).values_list("beneficiary_id", flat=True)
    )
    assert logged == {cases[0].beneficiary_id, cases[1].beneficiary_id}
