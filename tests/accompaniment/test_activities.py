import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from parcours.accompaniment import activities
from parcours.accompaniment.models import ActivityKind, ActivityStatus, HoursExemption, HoursTargetKind
from parcours.journal.models import Event

pytestmark = pytest.mark.django_db

D = datetime.date
MONDAY = D(2026, 3, 2)


def plan(person, author, hours, weeks=4, starts_on=MONDAY, kind=ActivityKind.TRAINING, label="Formation"):
    return activities.plan_activity(
        person, author=author, kind=kind, label=label, weekly_hours=hours, weeks=weeks, starts_on=starts_on
    )


def test_weekly_total_against_the_15_20_hour_target(person, orientation_manager):
    plan(person, orientation_manager, "10", label="Remise à niveau (GRETA)")
    plan(person, orientation_manager, "4,5", weeks=2, kind=ActivityKind.JOB_SEARCH, label="Ateliers CV")
    plan(
        person,
        orientation_manager,
        "8",
        weeks=1,
        starts_on=D(2026, 3, 16),
        kind=ActivityKind.IMMERSION,
        label="PMSMP",
    )

    weeks = activities.weekly_plan(person, D(2026, 3, 4), weeks=4)

    assert [w.monday for w in weeks] == [D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 16), D(2026, 3, 23)]
    assert [w.total for w in weeks] == [Decimal("14.5"), Decimal("14.5"), Decimal("18"), Decimal("10")]
    assert [w.status for w in weeks] == ["below", "below", "within", "below"]
    assert weeks[0].target_min == 15 and weeks[0].target_max == 20
    assert weeks[0].missing == Decimal("0.5")
    assert Event.objects.filter(beneficiary=person, kind="activity_planned").count() == 3


def test_above_the_maximum_and_abandoned_activities_do_not_count(person, orientation_manager):
    a = plan(person, orientation_manager, "15")
    plan(person, orientation_manager, "10", kind=ActivityKind.WORKSHOP, label="Atelier numérique")
    assert activities.weekly_plan(person, MONDAY, weeks=1)[0].status == "above"
    activities.set_activity_status(
        a, ActivityStatus.ABANDONED, actor=orientation_manager, on=D(2026, 3, 3), outcome="Déménagement"
    )
    week = activities.weekly_plan(person, MONDAY, weeks=1)[0]
    assert week.total == Decimal("10") and week.status == "below"


def test_target_is_a_setting_per_departement(person, orientation_manager, departement):
    departement.delay_overrides = {"activity_target_min_hours": 12}
    departement.save()
    plan(person, orientation_manager, "12")
    week = activities.weekly_plan(person, MONDAY, weeks=1)[0]
    assert week.target_min == 12 and week.status == "within"


def test_catalogue_service_gives_hours_weeks_and_provider(person, orientation_manager):
    from parcours.catalogue.models import Service, Structure

    structure = Structure.objects.create(source="test", di_id="s1", nom="GRETA Bretagne Sud", date_maj=MONDAY)
    service = Service.objects.create(
        source="test",
        di_id="sv1",
        nom="Remise à niveau",
        date_maj=MONDAY,
        structure=structure,
        volume_horaire_hebdomadaire=12,
        nombre_semaines=8,
    )
    activity = activities.plan_activity(
        person, author=orientation_manager, kind=ActivityKind.TRAINING, starts_on=MONDAY, service=service
    )
    assert (activity.label, activity.weekly_hours, activity.weeks) == ("Remise à niveau", 12, 8)
    assert activity.provider == "GRETA Bretagne Sud"
    assert activities.activity_ends_on(activity) == D(2026, 4, 26)


@pytest.mark.parametrize(
    "hours,weeks,field",
    [("0", 4, "weekly_hours"), ("36", 4, "weekly_hours"), ("abc", 4, "weekly_hours"), ("10", 0, "weeks")],
)
def test_invalid_hours_or_weeks_are_refused(person, orientation_manager, hours, weeks, field):
    with pytest.raises(ValidationError) as error:
        plan(person, orientation_manager, hours, weeks=weeks)
    assert field in error.value.message_dict


def test_activity_status_transitions_record_what_happened(person, orientation_manager):
    a = plan(person, orientation_manager, "10")
    activities.set_activity_status(a, ActivityStatus.IN_PROGRESS, actor=orientation_manager, on=MONDAY)
    done = activities.set_activity_status(
        a,
        ActivityStatus.DONE,
        actor=orientation_manager,
        on=D(2026, 3, 27),
        actual_hours="36",
        outcome="Assidue",
    )
    assert done.actual_hours == 36 and done.outcome == "Assidue"
    with pytest.raises(ValidationError):
        activities.set_activity_status(a, ActivityStatus.IN_PROGRESS, actor=orientation_manager, on=MONDAY)
    b = plan(person, orientation_manager, "5")
    with pytest.raises(ValidationError) as error:
        activities.set_activity_status(b, ActivityStatus.ABANDONED, actor=orientation_manager, on=MONDAY)
    assert "outcome" in error.value.message_dict


def test_exemption_zero_on_request_for_legal_grounds(person, orientation_manager):
    plan(person, orientation_manager, "3", kind=ActivityKind.HEALTH, label="Bilan de santé")
    activities.adjust_hours(
        person,
        author=orientation_manager,
        kind=HoursTargetKind.ZERO,
        reason=HoursExemption.SINGLE_PARENT,
        target_hours=None,
        starts_on=D(2026, 3, 9),
        ends_on=D(2026, 6, 30),
        requested_by_person=True,
        details="Pas de place en crèche avant septembre",
    )
    weeks = activities.weekly_plan(person, MONDAY, weeks=2)
    assert weeks[0].target_min == 15 and weeks[0].status == "below"
    assert (
        weeks[1].target_min == 0 and weeks[1].target_max == 0 and weeks[1].adjustment.reason == "parent_isole"
    )
    assert (
        weeks[1].status == "above"
    )  # 3 h d'activité de santé au-delà d'un objectif nul : signalé, pas interdit
    assert Event.objects.filter(beneficiary=person, kind="hours_adjusted").count() == 1


def test_lowered_and_progressive_targets(person, orientation_manager):
    activities.adjust_hours(
        person,
        author=orientation_manager,
        kind=HoursTargetKind.PROGRESSIVE,
        reason=HoursExemption.PROGRESSIVE,
        target_hours="8",
        starts_on=MONDAY,
        ends_on=D(2026, 3, 31),
    )
    activities.adjust_hours(
        person,
        author=orientation_manager,
        kind=HoursTargetKind.LOWERED,
        reason=HoursExemption.HEALTH,
        target_hours="10",
        starts_on=D(2026, 4, 1),
        ends_on=D(2026, 5, 31),
    )
    plan(person, orientation_manager, "8", weeks=20)
    weeks = activities.weekly_plan(person, D(2026, 3, 30), weeks=2)
    assert weeks[0].target_min == 8 and weeks[0].status == "within"
    assert weeks[1].target_min == 10 and weeks[1].status == "below"


@pytest.mark.parametrize(
    "kind,reason,hours,requested,field",
    [
        (HoursTargetKind.ZERO, HoursExemption.HEALTH, None, False, "requested_by_person"),
        (HoursTargetKind.ZERO, HoursExemption.PROGRESSIVE, None, True, "reason"),
        (HoursTargetKind.LOWERED, HoursExemption.PROGRESSIVE, "10", False, "reason"),
        (HoursTargetKind.LOWERED, HoursExemption.HEALTH, "16", False, "target_hours"),
        (HoursTargetKind.PROGRESSIVE, HoursExemption.HEALTH, "8", False, "reason"),
        (HoursTargetKind.PROGRESSIVE, HoursExemption.PROGRESSIVE, "0", False, "target_hours"),
    ],
)
def test_adjustments_outside_the_law_are_refused(
    person, orientation_manager, kind, reason, hours, requested, field
):
    with pytest.raises(ValidationError) as error:
        activities.adjust_hours(
            person,
            author=orientation_manager,
            kind=kind,
            reason=reason,
            target_hours=hours,
            starts_on=MONDAY,
            ends_on=D(2026, 6, 30),
            requested_by_person=requested,
        )
    assert field in error.value.message_dict


def test_adjustment_needs_an_end_date(person, orientation_manager):
    with pytest.raises(ValidationError) as error:
        activities.adjust_hours(
            person,
            author=orientation_manager,
            kind=HoursTargetKind.LOWERED,
            reason=HoursExemption.HEALTH,
            target_hours="5",
            starts_on=MONDAY,
            ends_on=None,
        )
    assert "ends_on" in error.value.message_dict
