import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from parcours.accompaniment import sanctions
from parcours.accompaniment.models import SanctionCase, SanctionStatus, TeamSession
from parcours.accounts.models import Role
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from parcours.orientation.models import Appointment
from tests.factories import BeneficiaryFactory, MembershipFactory

pytestmark = pytest.mark.django_db

D = datetime.date
S = SanctionStatus

# Date de chaque étape du parcours type (toutes passées, la séance le 05/05).
ON = {
    S.NOTICE_SENT: D(2026, 3, 9),
    S.OBSERVATIONS: D(2026, 3, 20),
    S.REFERRED: D(2026, 4, 20),
    S.OPINION: D(2026, 5, 5),
    S.DECIDED: D(2026, 5, 10),
    S.NOTIFIED: D(2026, 5, 15),
    S.REGULARISED: D(2026, 6, 20),
    S.CLOSED: D(2026, 7, 1),
    S.DROPPED: D(2026, 7, 1),
}
# Chemin pour amener une procédure à chaque étape.
PATH = {
    S.OPENED: [],
    S.NOTICE_SENT: [S.NOTICE_SENT],
    S.OBSERVATIONS: [S.NOTICE_SENT, S.OBSERVATIONS],
    S.REFERRED: [S.NOTICE_SENT, S.OBSERVATIONS, S.REFERRED],
    S.OPINION: [S.NOTICE_SENT, S.OBSERVATIONS, S.REFERRED, S.OPINION],
    S.DECIDED: [S.NOTICE_SENT, S.OBSERVATIONS, S.REFERRED, S.OPINION, S.DECIDED],
    S.NOTIFIED: [S.NOTICE_SENT, S.OBSERVATIONS, S.REFERRED, S.OPINION, S.DECIDED, S.NOTIFIED],
    S.REGULARISED: [
        S.NOTICE_SENT,
        S.OBSERVATIONS,
        S.REFERRED,
        S.OPINION,
        S.DECIDED,
        S.NOTIFIED,
        S.REGULARISED,
    ],
    S.CLOSED: [S.NOTICE_SENT, S.OBSERVATIONS, S.REFERRED, S.OPINION, S.DECIDED, S.NOTIFIED, S.CLOSED],
    S.DROPPED: [S.DROPPED],
}
ALLOWED = {
    (S.OPENED, S.NOTICE_SENT),
    (S.OPENED, S.DROPPED),
    (S.NOTICE_SENT, S.OBSERVATIONS),
    (S.NOTICE_SENT, S.REFERRED),
    (S.NOTICE_SENT, S.DECIDED),
    (S.NOTICE_SENT, S.DROPPED),
    (S.OBSERVATIONS, S.REFERRED),
    (S.OBSERVATIONS, S.DECIDED),
    (S.OBSERVATIONS, S.DROPPED),
    (S.REFERRED, S.OPINION),
    (S.REFERRED, S.DROPPED),
    # retrait de l'ordre du jour de la séance (retour à l'étape d'avant l'inscription)
    (S.REFERRED, S.NOTICE_SENT),
    (S.REFERRED, S.OBSERVATIONS),
    (S.OPINION, S.DECIDED),
    (S.DECIDED, S.NOTIFIED),
    (S.NOTIFIED, S.REGULARISED),
    (S.NOTIFIED, S.CLOSED),
    (S.REGULARISED, S.CLOSED),
}
# Les retraits de l'ordre du jour sont vérifiés par tests/accompaniment/test_team_sessions.py.
WITHDRAWALS = {(S.REFERRED, S.NOTICE_SENT), (S.REFERRED, S.OBSERVATIONS)}


@pytest.fixture
def team(departement):
    members = [MembershipFactory(organisation=departement, role=Role.REFERENT).user for _ in range(4)]
    session = TeamSession.objects.create(
        departement=departement, level=1, held_on=D(2026, 5, 5), place="Redon"
    )
    session.members.set(members)
    session.present.set(members[:3])
    return session


def data_for(target, team):
    return {
        S.OBSERVATIONS: {
            "observations": "Garde d'enfant malade les jours des rendez-vous.",
            "assisted_by": "Sa sœur",
        },
        S.REFERRED: {"session": team},
        S.OPINION: {"team_opinion": "Suspension de 30 % pendant 1 mois.", "proposed_decision": "suspension"},
        S.DECIDED: {
            "decision": "suspension",
            "reduction_percent": 30,
            "duration_months": 2,
            "monthly_amount": "635.71",
        },
        S.REGULARISED: {"repaid_amount": "635.71"},
    }.get(target, {})


def step(case, target, actor, team, **extra):
    data = {**data_for(target, team), **extra}
    on = data.pop("on", None) or ON[target]
    return sanctions.transition_case(case, target, actor=actor, on=on, reason=f"Étape {target}", **data)


def case_at(status, person, actor, team):
    case = sanctions.open_case(
        person,
        ground="absences",
        facts="Absente aux rendez-vous des 3, 10 et 17 février 2026.",
        actor=actor,
        on=D(2026, 3, 2),
    )
    for target in PATH[status]:
        case = step(case, target, actor, team)
    return case


@pytest.mark.parametrize("from_status,to_status", sorted(ALLOWED - WITHDRAWALS))
def test_every_allowed_transition(person, orientation_manager, team, from_status, to_status):
    case = case_at(from_status, person, orientation_manager, team)
    case = step(case, to_status, orientation_manager, team)
    assert case.status == to_status and case.status_since == ON[to_status]
    last = case.steps.last()
    assert (last.from_status, last.to_status, last.occurred_on, last.actor) == (
        from_status,
        to_status,
        ON[to_status],
        orientation_manager,
    )
    assert last.reason == f"Étape {to_status}"
    event = Event.objects.filter(beneficiary=person, kind="sanction_step").first()
    assert event.payload["to_status"] == to_status and event.actor == orientation_manager


FORBIDDEN = sorted(set(itertools.product(S.values, S.values)) - ALLOWED)


@pytest.mark.parametrize("from_status,to_status", FORBIDDEN)
def test_every_forbidden_transition(person, orientation_manager, team, from_status, to_status):
    case = case_at(S(from_status), person, orientation_manager, team)
    steps = case.steps.count()
    with pytest.raises(ValidationError) as error:
        step(case, S(to_status), orientation_manager, team, on=D(2026, 7, 2))
    assert "impossible de passer" in error.value.messages[0]
    case.refresh_from_db()
    assert case.status == from_status and case.steps.count() == steps


def test_only_people_subject_to_rights_and_duties(orientation_manager, departement):
    person = BeneficiaryFactory(departement=departement, is_sdd=False)
    with pytest.raises(ValidationError, match="soumises aux droits et devoirs"):
        sanctions.open_case(person, ground="absences", facts="x", actor=orientation_manager, on=D(2026, 3, 2))


def test_one_procedure_at_a_time_and_reason_required(person, orientation_manager, team):
    case = case_at(S.OPENED, person, orientation_manager, team)
    with pytest.raises(ValidationError, match="déjà en cours"):
        sanctions.open_case(person, ground="autre", facts="y", actor=orientation_manager, on=D(2026, 3, 3))
    with pytest.raises(ValidationError) as error:
        sanctions.transition_case(
            case, S.NOTICE_SENT, actor=orientation_manager, on=D(2026, 3, 9), reason=" "
        )
    assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        sanctions.transition_case(
            case, S.NOTICE_SENT, actor=orientation_manager, on=D(2026, 3, 1), reason="x"
        )
    assert "on" in error.value.message_dict
    future = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):
        sanctions.transition_case(case, S.NOTICE_SENT, actor=orientation_manager, on=future, reason="x")


def test_person_has_time_to_answer_before_referral_or_decision(person, orientation_manager, team):
    case = case_at(S.NOTICE_SENT, person, orientation_manager, team)
    assert sanctions.observation_deadline(case) == D(2026, 4, 8)
    for target in (S.REFERRED, S.DECIDED):
        with pytest.raises(ValidationError, match="jusqu'au 08/04/2026"):
            step(case, target, orientation_manager, team, on=D(2026, 4, 8))
    assert step(case, S.REFERRED, orientation_manager, team, on=D(2026, 4, 9)).status == S.REFERRED


def test_team_opinion_needs_quorum_and_a_held_session(person, orientation_manager, team, departement):
    case = case_at(S.REFERRED, person, orientation_manager, team)
    with pytest.raises(ValidationError, match="n'a pas encore eu lieu"):
        step(case, S.OPINION, orientation_manager, team, on=D(2026, 5, 4))
    team.present.set(team.members.all()[:2])
    with pytest.raises(ValidationError, match="quorum n'est pas atteint \\(2 membre"):
        step(case, S.OPINION, orientation_manager, team)
    departement.delay_overrides = {"team_session_quorum": 2}
    departement.save()
    assert step(case, S.OPINION, orientation_manager, team).team_opinion


def test_referral_needs_a_future_session_of_the_departement(person, orientation_manager, team):
    case = case_at(S.OBSERVATIONS, person, orientation_manager, team)
    with pytest.raises(ValidationError) as error:
        step(case, S.REFERRED, orientation_manager, team, session=None)
    assert "session" in error.value.message_dict
    with pytest.raises(ValidationError, match="séance à venir"):
        step(case, S.REFERRED, orientation_manager, team, on=D(2026, 5, 6))


def test_suppression_needs_team_opinion_and_repetition(person, orientation_manager, team):
    case = case_at(S.OBSERVATIONS, person, orientation_manager, team)
    with pytest.raises(ValidationError, match="avis de l'équipe pluridisciplinaire est obligatoire"):
        step(case, S.DECIDED, orientation_manager, team, decision="suppression", duration_months=1)
    case = step(case, S.REFERRED, orientation_manager, team)
    case = step(case, S.OPINION, orientation_manager, team)
    with pytest.raises(ValidationError, match="persistance ou de réitération"):
        step(case, S.DECIDED, orientation_manager, team, decision="suppression", duration_months=1)


def _repeat_case(person, actor, team):
    first = case_at(S.NOTIFIED, person, actor, team)
    step(first, S.CLOSED, actor, team)
    later = datetime.timedelta(days=100)
    case = sanctions.open_case(
        person, ground="plan_non_respecte", facts="Formation abandonnée.", actor=actor, on=D(2026, 7, 2)
    )
    assert case.is_repeat
    team2 = TeamSession.objects.create(departement=team.departement, held_on=D(2026, 9, 1))
    team2.present.set(team.present.all())
    for target, on in (
        (S.NOTICE_SENT, D(2026, 7, 3)),
        (S.REFERRED, D(2026, 7, 3) + later - datetime.timedelta(days=40)),
    ):
        case = sanctions.transition_case(case, target, actor=actor, on=on, reason="x", session=team2)
    return sanctions.transition_case(
        case,
        S.OPINION,
        actor=actor,
        on=D(2026, 9, 1),
        reason="x",
        team_opinion="Suppression 3 mois",
        proposed_decision="suppression",
    )


def test_repetition_allows_suppression_up_to_4_months(person, orientation_manager, team):
    case = _repeat_case(person, orientation_manager, team)
    with pytest.raises(ValidationError, match="de 1 à 4 mois en cas de persistance"):
        sanctions.transition_case(
            case,
            S.DECIDED,
            actor=orientation_manager,
            on=D(2026, 9, 2),
            reason="x",
            decision="suppression",
            duration_months=5,
        )
    case = sanctions.transition_case(
        case,
        S.DECIDED,
        actor=orientation_manager,
        on=D(2026, 9, 2),
        reason="x",
        decision="suppression",
        duration_months=4,
    )
    assert (case.decision, case.reduction_percent, case.duration_months) == ("suppression", 100, 4)


@pytest.mark.parametrize(
    "percent,months,household,message",
    [
        (20, 1, False, "entre 30 % et 100 %"),
        (30, 3, False, "de 1 à 2 mois pour un premier manquement"),
        (30, 0, False, "de 1 à 2 mois"),
        (60, 1, True, "plafond de 50 %"),
    ],
)
def test_decision_scale(person, orientation_manager, team, percent, months, household, message):
    case = case_at(S.OPINION, person, orientation_manager, team)
    SanctionCase.objects.filter(pk=case.pk).update(household_of_several=household)
    with pytest.raises(ValidationError, match=message):
        step(case, S.DECIDED, orientation_manager, team, reduction_percent=percent, duration_months=months)


def test_household_of_several_is_read_from_the_flux_and_capped(orientation_manager, team, departement):
    person = BeneficiaryFactory(departement=departement)
    BeneficiaryFactory(departement=departement, household=person.household, role="CJT")
    case = case_at(S.OPINION, person, orientation_manager, team)
    assert case.household_of_several
    case = step(case, S.DECIDED, orientation_manager, team, reduction_percent=50, duration_months=1)
    assert case.reduction_percent == 50


def test_scale_is_a_setting(person, orientation_manager, team, departement):
    departement.delay_overrides = {"sanction_min_percent": 40}
    departement.save()
    case = case_at(S.OPINION, person, orientation_manager, team)
    with pytest.raises(ValidationError, match="entre 40 %"):
        step(case, S.DECIDED, orientation_manager, team)


def test_no_sanction_decision_then_close(person, orientation_manager, team):
    case = case_at(S.OPINION, person, orientation_manager, team)
    case = step(case, S.DECIDED, orientation_manager, team, decision="none")
    assert case.reduction_percent is None
    case = step(case, S.NOTIFIED, orientation_manager, team)
    with pytest.raises(ValidationError, match="aucune sanction"):
        step(case, S.REGULARISED, orientation_manager, team)
    assert step(case, S.CLOSED, orientation_manager, team).status == S.CLOSED


def test_regularisation_pays_back_within_the_cap(person, orientation_manager, team):
    case = case_at(S.NOTIFIED, person, orientation_manager, team)
    # Suspension de 2 mois à 635,71 € : au plus 1 271,42 € retenus (sous le plafond de 3 mois du réglage) ;
    # les bornes sont vérifiées par tests/accompaniment/test_repayment_cap.py.
    assert sanctions.repayment_cap(case) == Decimal("1271.42")
    with pytest.raises(ValidationError, match="au plus 1271.42"):
        step(case, S.REGULARISED, orientation_manager, team, repaid_amount="2000")
    case = step(case, S.REGULARISED, orientation_manager, team, repaid_amount="1271,42")
    assert case.repaid_amount == Decimal("1271.42") and case.regularised_on == D(2026, 6, 20)


def test_step_deadlines_are_settings(person, orientation_manager, team):
    case = case_at(S.OPENED, person, orientation_manager, team)
    assert sanctions.step_deadline(case) == D(2026, 3, 17)
    case = step(case, S.NOTICE_SENT, orientation_manager, team)
    assert sanctions.step_deadline(case) == D(2026, 4, 8)
    case = case_at(S.REFERRED, BeneficiaryFactory(departement=person.departement), orientation_manager, team)
    assert sanctions.step_deadline(case) == D(2026, 5, 5)


def test_letters(person, orientation_manager, team):
    case = case_at(S.NOTICE_SENT, person, orientation_manager, team)
    title, lines = sanctions.letter(case)
    assert "Information préalable" in title and "jusqu'au 08/04/2026" in " ".join(lines)
    case = case_at(S.NOTIFIED, BeneficiaryFactory(departement=person.departement), orientation_manager, team)
    title, lines = sanctions.letter(case)
    assert title.startswith("Décision") and "30 % pendant 2 mois" in " ".join(lines)


def test_letters_address_the_person_by_civility(person, orientation_manager, team):
    """« Monsieur, » pour un homme, « Madame, » pour une femme, « Madame, Monsieur, » sans civilité connue
    (jamais « Madame, Monsieur Aubry »)."""
    for civility, salutation, agreed in (
        ("M", "Monsieur,", "accompagné de"),
        ("MME", "Madame,", "accompagnée de"),
        ("", "Madame, Monsieur,", "accompagné(e) de"),
    ):
        someone = BeneficiaryFactory(departement=person.departement, civility=civility, last_name="Aubry")
        case = case_at(S.NOTICE_SENT, someone, orientation_manager, team)
        _title, lines = sanctions.letter(case)
        assert lines[0] == salutation
        assert agreed in " ".join(lines)


def _no_show(person, kind, day):
    return Appointment.objects.create(
        beneficiary=person,
        kind=kind,
        place="EDS Redon",
        attendance="no_show",
        starts_at=datetime.datetime(2026, 2, day, 9, tzinfo=datetime.UTC),
    )


def test_absences_propose_but_never_open_a_procedure(person, orientation_manager, departement, team):
    other = BeneficiaryFactory(departement=departement, last_name="Zorn")
    _no_show(person, "orientation", 3)
    _no_show(other, "accompaniment", 3)
    _no_show(other, "accompaniment", 10)
    scope = Beneficiary.objects.all()
    assert sanctions.absence_proposals(scope, D(2026, 3, 1)) == []
    _no_show(person, "orientation", 10)
    _no_show(other, "accompaniment", 17)
    proposals = sanctions.absence_proposals(scope, D(2026, 3, 1))
    assert [(p.pk, kind, n) for p, kind, n in proposals] == [
        (person.pk, "orientation", 2),
        (other.pk, "accompaniment", 3),
    ]
    assert not SanctionCase.objects.exists()
    # Une procédure ouverte : plus de proposition ; après elle, les absences se recomptent.
    case = case_at(S.OPENED, person, orientation_manager, team)
    assert [p.pk for p, _, _ in sanctions.absence_proposals(scope, D(2026, 3, 3))] == [other.pk]
    step(case, S.DROPPED, orientation_manager, team)
    assert [p.pk for p, _, _ in sanctions.absence_proposals(scope, D(2026, 7, 2))] == [other.pk]
