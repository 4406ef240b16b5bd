"""Durée hebdomadaire d'activité ramenée à zéro (Code du travail L5411-6) : seulement pour raison de santé,
de handicap, d'invalidité, ou pour un parent isolé sans solution de garde, jamais pour une « montée en charge
progressive » ; même règle (``accompaniment.hours.weekly_duration_errors``) pour le contrat d'engagement et
pour le plan d'activités. Par les services et par les pages.

L'API des partenaires ne transmet que des PPAE et des CER signés ailleurs, sans durée hebdomadaire : le
contrat d'engagement et ses heures ne s'y écrivent pas (pas de test par l'API)."""

import datetime
from decimal import Decimal
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import activities, services
from parcours.accompaniment.hours import LEGAL_GROUNDS
from parcours.accompaniment.models import Contract, ContractStatus, HoursExemption, HoursTargetKind
from tests.accompaniment.conftest import objective

pytestmark = pytest.mark.django_db

D = datetime.date
ZERO_REFUSED = (
    "Motif d'adaptation de la durée : une durée hebdomadaire de 0 h n'est possible que pour raison de santé, "
    "de handicap, d'invalidité, ou pour un parent isolé sans solution de garde pour un enfant de moins de "
    "12 ans (article L5411-6 du Code du travail)"
)


def contract(person, author, **fields):
    return services.create_contract(
        person,
        author=author,
        referent=author,
        referent_commitments="Un rendez-vous toutes les deux semaines.",
        person_commitments="Prendre soin de sa santé, revoir le projet dans trois mois.",
        intensity="social",
        objectives=[objective("mobilite", "Obtenir le permis")],
        **fields,
    )


def refused(person, author, **fields):
    with pytest.raises(ValidationError) as error:
        contract(person, author, **fields)
    assert not Contract.objects.exists()
    return error.value.message_dict


def test_the_legal_grounds_are_exactly_those_of_the_law():
    assert {
        HoursExemption.HEALTH,
        HoursExemption.DISABILITY,
        HoursExemption.INVALIDITY,
        HoursExemption.SINGLE_PARENT,
    } == LEGAL_GROUNDS
    assert HoursExemption.PROGRESSIVE not in LEGAL_GROUNDS


@pytest.mark.parametrize("reason", sorted(LEGAL_GROUNDS))
def test_zero_hours_with_each_legal_ground_is_signed(person, orientation_manager, reason):
    draft = contract(person, orientation_manager, weekly_hours="0", hours_exemption=reason)
    signed = services.sign_contract(draft, actor=orientation_manager, on=D(2026, 4, 1))
    assert signed.status == ContractStatus.SIGNED
    assert (signed.weekly_hours, signed.hours_exemption) == (Decimal("0"), reason)


def test_zero_hours_as_a_progressive_ramp_up_is_refused(person, orientation_manager):
    errors = refused(
        person, orientation_manager, weekly_hours="0", hours_exemption=HoursExemption.PROGRESSIVE
    )
    assert errors == {
        "hours_exemption": [
            f"{ZERO_REFUSED} ; la montée en charge progressive ne permet pas une durée nulle."
        ]
    }


def test_zero_hours_without_a_reason_is_refused(person, orientation_manager):
    errors = refused(person, orientation_manager, weekly_hours="0")
    assert errors == {"hours_exemption": [f"{ZERO_REFUSED} ; aucun motif n'est indiqué."]}


def test_one_hour_as_a_progressive_ramp_up_is_allowed(person, orientation_manager):
    # DOMAIN.md (étape 7) : l'objectif peut être progressif ; seule la durée nulle exige un motif légal.
    draft = contract(
        person, orientation_manager, weekly_hours="1", hours_exemption=HoursExemption.PROGRESSIVE
    )
    signed = services.sign_contract(draft, actor=orientation_manager, on=D(2026, 4, 1))
    assert signed.status == ContractStatus.SIGNED and signed.weekly_hours == 1


def test_one_hour_without_a_reason_is_still_refused(person, orientation_manager):
    errors = refused(person, orientation_manager, weekly_hours="1")
    assert errors["weekly_hours"][0].startswith(
        "Durée hebdomadaire d'activité : 1 h est inférieure au minimum de 15 h par semaine."
    )


def test_a_draft_saved_at_zero_for_ramp_up_before_the_rule_cannot_be_signed(person, orientation_manager):
    draft = contract(person, orientation_manager, weekly_hours="15")
    Contract.objects.filter(pk=draft.pk).update(weekly_hours=0, hours_exemption=HoursExemption.PROGRESSIVE)
    with pytest.raises(ValidationError) as error:
        services.sign_contract(draft, actor=orientation_manager, on=D(2026, 4, 1))
    assert error.value.message_dict["hours_exemption"][0].startswith(ZERO_REFUSED)
    draft.refresh_from_db()
    assert draft.status == ContractStatus.DRAFT


def test_the_plan_applies_the_same_rule(person, orientation_manager):
    def zero(reason, requested=True):
        return activities.adjust_hours(
            person,
            author=orientation_manager,
            kind=HoursTargetKind.ZERO,
            reason=reason,
            target_hours=None,
            starts_on=D(2026, 3, 9),
            ends_on=D(2026, 6, 30),
            requested_by_person=requested,
        )

    with pytest.raises(ValidationError) as error:
        zero(HoursExemption.PROGRESSIVE)
    message = error.value.message_dict["reason"][0]
    assert message == ZERO_REFUSED.replace("Motif d'adaptation de la durée", "Motif") + (
        " ; la montée en charge progressive ne permet pas une durée nulle."
    )
    with pytest.raises(ValidationError) as error:
        zero(HoursExemption.HEALTH, requested=False)
    assert error.value.message_dict == {
        "requested_by_person": ["Durée ramenée à zéro : seulement à la demande de la personne."]
    }
    for reason in sorted(LEGAL_GROUNDS):
        assert zero(reason).target_hours == 0


# --- par les pages ----------------------------------------------------------------------------------------


def contract_post(**overrides):
    return {
        "kind": "contrat_engagement",
        "referent_commitments": "Rendez-vous tous les quinze jours.",
        "person_commitments": "Prendre soin de sa santé.",
        "objectives": [objective("mobilite", "Obtenir le permis").pk],
        "intensity": "social",
        "rights_and_appeals": "Recours administratif préalable sous deux mois.",
        **overrides,
    }


def test_contract_page_refuses_zero_hours_for_ramp_up_and_accepts_a_legal_ground(
    client, person, orientation_manager
):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:contract_new", args=[person.pk])

    response = client.post(url, contract_post(weekly_hours="0", hours_exemption="progressif"))
    assert response.status_code == 200
    assert ZERO_REFUSED in unescape(response.content.decode())
    response = client.post(url, contract_post(weekly_hours="0"))
    assert response.status_code == 200
    assert f"{ZERO_REFUSED} ; aucun motif n'est indiqué." in unescape(response.content.decode())
    assert not Contract.objects.exists()

    response = client.post(url, contract_post(weekly_hours="0", hours_exemption="invalidite"))
    assert response.status_code == 302
    assert Contract.objects.get().hours_exemption == HoursExemption.INVALIDITY


def test_plan_page_refuses_zero_hours_for_ramp_up(client, person, orientation_manager):
    client.force_login(orientation_manager)
    url = reverse("accompaniment:activity_plan", args=[person.pk])
    data = {
        "form": "adaptation",
        "kind": "zero",
        "reason": "progressif",
        "requested_by_person": "on",
        "starts_on": "2026-03-02",
        "ends_on": "2026-04-30",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "la montée en charge progressive ne permet pas une durée nulle" in unescape(
        response.content.decode()
    )
    assert not person.hours_adjustments.exists()
    assert client.post(url, {**data, "reason": "parent_isole"}).status_code == 302
    assert person.hours_adjustments.get().target_hours == 0
