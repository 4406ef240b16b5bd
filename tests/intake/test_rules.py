"""La règle du nouvel entrant de l'annexe 4 (seed 002), inclusion par inclusion, exclusion par exclusion."""

import datetime

import pytest

from parcours.intake.rules import PreviousState, add_months, evaluate_new_entrant, next_suspended_since

REF = datetime.date(2026, 3, 31)


def decide(state="2", sdd=True, previous=None, follow_up=False, ref=REF):
    return evaluate_new_entrant(
        state=state, sdd=sdd, previous=previous, follow_up_in_progress=follow_up, reference_date=ref
    )


# --- Les trois critères cumulatifs


def test_first_time_applicant_payable_and_sdd_is_new_entrant():
    decision = decide(previous=None)
    assert decision.is_new_entrant
    assert "première demande" in decision.reason


@pytest.mark.parametrize("state", ["0", "1", "3", "4", "5", "6"])
def test_right_not_payable_is_never_new_entrant(state):
    assert not decide(state=state).is_new_entrant


def test_not_sdd_is_not_new_entrant():
    decision = decide(sdd=False)
    assert not decision.is_new_entrant
    assert decision.reason == "non soumis aux droits et devoirs"


def test_already_sdd_in_previous_month_is_not_new_entrant():
    decision = decide(previous=PreviousState("2", True))
    assert not decision.is_new_entrant
    assert "flux précédent" in decision.reason


def test_follow_up_in_progress_excludes():
    decision = decide(previous=None, follow_up=True)
    assert not decision.is_new_entrant
    assert "suivi en cours" in decision.reason


# --- Inclusions


def test_radiated_person_coming_back_is_new_entrant_and_old_follow_up_is_closed():
    decision = decide(previous=PreviousState("5", True), follow_up=True)
    # le suivi a été clos à la radiation : la personne revient sans suivi
    assert decision.close_follow_up_reason is None
    assert not decision.is_new_entrant  # suivi encore ouvert ici : la radiation n'a pas été vue
    closing = decide(state="5", previous=PreviousState("2", True), follow_up=True)
    assert closing.close_follow_up_reason and "radiation" in closing.close_follow_up_reason
    back = decide(previous=PreviousState("5", True), follow_up=False)
    assert back.is_new_entrant
    assert back.reason == "retour après radiation"


def test_moving_into_departement_or_joining_household_is_new_entrant():
    # absent du flux précédent du Département (emménagement, arrivée dans un foyer au RSA)
    assert decide(previous=None).is_new_entrant


def test_falling_under_activity_income_threshold_is_new_entrant():
    decision = decide(previous=PreviousState("2", False))
    assert decision.is_new_entrant
    assert "seuil" in decision.reason


def test_suspended_more_than_12_months_is_new_entrant_even_with_old_follow_up():
    since = datetime.date(2025, 2, 1)
    decision = decide(previous=PreviousState("4", True, suspended_since=since), follow_up=True)
    assert decision.close_follow_up_reason is not None
    assert decision.is_new_entrant
    assert "plus de 12 mois" in decision.reason


# --- Exclusions


def test_suspended_less_than_12_months_resumes_with_former_referent():
    since = datetime.date(2025, 9, 1)
    decision = decide(previous=PreviousState("4", True, suspended_since=since), follow_up=True)
    assert decision.close_follow_up_reason is None
    assert not decision.is_new_entrant


def test_exactly_12_months_of_suspension_is_not_more_than_12_months():
    since = add_months(REF, -12)
    decision = decide(previous=PreviousState("3", True, suspended_since=since), follow_up=True)
    assert not decision.is_new_entrant


def test_oscillating_around_sdd_flag_with_dormant_follow_up_is_excluded():
    decision = decide(previous=PreviousState("2", False), follow_up=True)
    assert not decision.is_new_entrant


def test_non_sdd_above_threshold_is_excluded():
    assert not decide(sdd=False, previous=PreviousState("2", False)).is_new_entrant


def test_delay_is_a_parameter():
    since = datetime.date(2025, 10, 1)
    previous = PreviousState("4", True, suspended_since=since)
    short = evaluate_new_entrant(
        state="2",
        sdd=True,
        previous=previous,
        follow_up_in_progress=True,
        reference_date=REF,
        suspension_limit_months=3,
    )
    assert short.is_new_entrant


def test_suspension_start_is_kept_across_months():
    first = next_suspended_since(
        state="4", previous=PreviousState("2", True), row_suspended_since=None, reference_date=REF
    )
    assert first == REF
    later = next_suspended_since(
        state="3",
        previous=PreviousState("4", True, suspended_since=first),
        row_suspended_since=None,
        reference_date=add_months(REF, 2),
    )
    assert later == REF
    assert (
        next_suspended_since(state="2", previous=None, row_suspended_since=None, reference_date=REF) is None
    )


def test_add_months_clamps_end_of_month():
    assert add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
