"""Sommes restituées à la régularisation d'une suspension (CASF L262-37) : jamais plus que les sommes
effectivement retenues, et pas de restitution validée sans montant mensuel retenu connu. Par le service
(``sanctions.transition_case``) et par la page de la procédure.

L'API des partenaires n'expose pas les procédures de sanction : pas de test par l'API."""

import datetime
from decimal import Decimal
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import sanctions
from parcours.accompaniment.models import SanctionStatus
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
S = SanctionStatus
NOTIFIED_ON = D(2026, 4, 15)
# Régularisée le 20/05 : deux mois de suspension commencés depuis la notification du 15/04 (15/04, 15/05).
TWO_MONTHS_ON = D(2026, 5, 20)
# Régularisée le 10/05 : un seul mois commencé.
ONE_MONTH_ON = D(2026, 5, 10)


def notified_case(person, actor, *, monthly_amount="635.71", duration_months=2):
    """Procédure jusqu'à la décision notifiée, sans séance : information préalable, décision après le délai
    d'observations (30 jours), notification le 15/04 ; suspension de 30 % pendant ``duration_months`` mois."""
    case = sanctions.open_case(
        person, ground="absences", facts="Absente aux rendez-vous de février.", actor=actor, on=D(2026, 3, 2)
    )
    case = sanctions.transition_case(case, S.NOTICE_SENT, actor=actor, on=D(2026, 3, 9), reason="Courrier")
    case = sanctions.transition_case(
        case,
        S.DECIDED,
        actor=actor,
        on=D(2026, 4, 10),
        reason="Aucune observation dans le délai",
        decision="suspension",
        reduction_percent=30,
        duration_months=duration_months,
        monthly_amount=monthly_amount,
    )
    return sanctions.transition_case(case, S.NOTIFIED, actor=actor, on=NOTIFIED_ON, reason="Notifiée")


def regularise(case, actor, on=TWO_MONTHS_ON, **data):
    return sanctions.transition_case(case, S.REGULARISED, actor=actor, on=on, reason="Reprise", **data)


def refusal(case, actor, on=TWO_MONTHS_ON, **data):
    with pytest.raises(ValidationError) as error:
        regularise(case, actor, on, **data)
    case.refresh_from_db()
    assert case.status == S.NOTIFIED and case.repaid_amount is None  # rien n'est enregistré
    return error.value.message_dict


def test_repayment_equal_to_the_suspended_amount_is_accepted(person, orientation_manager):
    case = notified_case(person, orientation_manager)
    assert sanctions.repayment_cap(case, TWO_MONTHS_ON) == Decimal("1271.42")  # 2 mois × 635,71 €
    case = regularise(case, orientation_manager, repaid_amount="1271,42")
    assert case.status == S.REGULARISED and case.repaid_amount == Decimal("1271.42")
    assert case.steps.last().to_status == S.REGULARISED


def test_repayment_one_cent_above_the_suspended_amount_is_refused(person, orientation_manager):
    case = notified_case(person, orientation_manager)
    errors = refusal(case, orientation_manager, repaid_amount="1271.43")
    assert errors["repaid_amount"] == [
        "Sommes restituées : au plus 1271.42 € (sommes effectivement retenues : 635.71 € × 2 mois de "
        "suspension)."
    ]


def test_only_the_months_already_suspended_can_be_paid_back(person, orientation_manager):
    # Régularisée pendant le premier mois : un seul mois a été retenu.
    case = notified_case(person, orientation_manager)
    assert sanctions.suspended_months(case, ONE_MONTH_ON) == 1
    errors = refusal(case, orientation_manager, ONE_MONTH_ON, repaid_amount="635.72")
    assert errors["repaid_amount"][0].startswith("Sommes restituées : au plus 635.71 €")
    case = regularise(case, orientation_manager, ONE_MONTH_ON, repaid_amount="635.71")
    assert case.repaid_amount == Decimal("635.71")


def test_the_setting_caps_below_the_suspended_amount(person, orientation_manager, departement):
    departement.delay_overrides = {"sanction_repayment_cap_months": 1}
    departement.save()
    case = notified_case(person, orientation_manager)
    errors = refusal(case, orientation_manager, repaid_amount="635.72")
    assert errors["repaid_amount"] == [
        "Sommes restituées : au plus 635.71 € (plafond de restitution de 1 mois)."
    ]


def test_missing_monthly_amount_blocks_the_repayment_until_it_is_entered(person, orientation_manager):
    case = notified_case(person, orientation_manager, monthly_amount="")
    assert case.monthly_amount is None and sanctions.repayment_cap(case) is None
    # Autrefois acceptée sans plafond : refusée, le message demande le montant mensuel.
    errors = refusal(case, orientation_manager, repaid_amount="5000")
    assert errors["monthly_amount"][0].startswith(
        "Montant mensuel retenu : à renseigner pour valider des sommes restituées"
    )
    # Le montant saisi avec la régularisation fixe le plafond.
    errors = refusal(case, orientation_manager, repaid_amount="1271.43", monthly_amount="635,71")
    assert "repaid_amount" in errors
    case = regularise(case, orientation_manager, repaid_amount="1271.42", monthly_amount="635,71")
    assert (case.monthly_amount, case.repaid_amount) == (Decimal("635.71"), Decimal("1271.42"))


def test_regularisation_without_repayment_needs_no_amount(person, orientation_manager):
    case = notified_case(person, orientation_manager, monthly_amount="")
    case = regularise(case, orientation_manager)
    assert case.status == S.REGULARISED and case.repaid_amount is None


def test_the_decided_monthly_amount_cannot_be_changed_at_regularisation(person, orientation_manager):
    case = notified_case(person, orientation_manager)
    errors = refusal(case, orientation_manager, repaid_amount="100", monthly_amount="900")
    assert errors["monthly_amount"][0].startswith("Montant mensuel retenu : la décision l'a fixé à 635.71 €")


@pytest.mark.parametrize("amount", ["-1", "abc"])
def test_invalid_amounts_are_refused(person, orientation_manager, amount):
    case = notified_case(person, orientation_manager)
    assert "repaid_amount" in refusal(case, orientation_manager, repaid_amount=amount)
    other = BeneficiaryFactory(departement=person.departement)
    with pytest.raises(ValidationError) as error:
        notified_case(other, orientation_manager, monthly_amount=amount)
    assert "monthly_amount" in error.value.message_dict


# --- par la page de la procédure ------------------------------------------------------------------------


def post_step(client, case, **data):
    return client.post(
        reverse("accompaniment:case_detail", args=[case.pk]),
        {"to_status": S.REGULARISED, "on": TWO_MONTHS_ON.isoformat(), "reason": "Reprise", **data},
    )


def test_page_refuses_one_cent_too_much_then_accepts_the_suspended_amount(
    client, person, orientation_manager
):
    case = notified_case(person, orientation_manager)
    client.force_login(orientation_manager)
    response = post_step(client, case, repaid_amount="1271.43")
    assert response.status_code == 200
    assert "Sommes restituées : au plus 1271.42 €" in unescape(response.content.decode())
    case.refresh_from_db()
    assert case.status == S.NOTIFIED

    response = post_step(client, case, repaid_amount="1271.42")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.REGULARISED and case.repaid_amount == Decimal("1271.42")


def test_page_asks_for_the_monthly_amount(client, person, orientation_manager):
    case = notified_case(person, orientation_manager, monthly_amount="")
    client.force_login(orientation_manager)
    response = post_step(client, case, repaid_amount="300")
    assert response.status_code == 200
    assert "Montant mensuel retenu : à renseigner pour valider des sommes restituées" in unescape(
        response.content.decode()
    )
    response = post_step(client, case, repaid_amount="300", monthly_amount="635.71")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.monthly_amount, case.repaid_amount) == (Decimal("635.71"), Decimal("300"))
