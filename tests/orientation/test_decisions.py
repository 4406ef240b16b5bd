"""Décision d'orientation, proposition, dispenses, réorientation, rendez-vous et présences."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from parcours.accounts.models import OrganisationKind, Role
from parcours.journal.models import Event
from parcours.orientation import services
from parcours.orientation.models import (
    Attendance,
    DecisionStatus,
    InvitationStatus,
    Pathway,
    ProposalRule,
    RequestStatus,
)
from tests.factories import DepartementFactory, MembershipFactory, OrganisationFactory
from tests.orientation.conftest import make_referent

D = datetime.date
UTC = datetime.UTC

pytestmark = pytest.mark.django_db


def test_decision_then_notification_writes_dated_events(person, manager, france_travail):
    decision = services.decide_orientation(
        person,
        pathway=Pathway.EMPLOI,
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        reason="Projet professionnel défini, mobile",
    )
    assert decision.is_current and decision.status == DecisionStatus.DECIDED and not decision.is_reorientation
    assert decision.france_travail_code == "PED"
    services.notify_orientation(decision, author=manager, notified_on=D(2026, 3, 12))
    events = list(
        Event.objects.filter(beneficiary=person).order_by("pk").values_list("kind", "occurred_on", "payload")
    )
    assert events[0][:2] == ("orientation_decided", D(2026, 3, 10))
    assert events[1][:2] == ("oriented", D(2026, 3, 12))
    assert events[1][2]["code"] == "PED" and events[1][2]["pathway"] == "emploi"
    with pytest.raises(ValidationError, match="impossible de passer de « Notifiée » à « Notifiée »"):
        services.notify_orientation(decision, author=manager)


def test_notification_before_decision_is_refused(person, manager, france_travail):
    with pytest.raises(ValidationError, match="antérieure à la décision"):
        services.decide_orientation(
            person,
            pathway="social",
            organisation=france_travail,
            author=manager,
            decided_on=D(2026, 3, 10),
            notified_on=D(2026, 3, 9),
        )


def test_organisation_of_another_departement_is_refused(person, manager):
    elsewhere = OrganisationFactory(
        departement=DepartementFactory(departement_code="44", name="Loire-Atlantique")
    )
    with pytest.raises(ValidationError, match="ne relève pas du Département"):
        services.decide_orientation(person, pathway="emploi", organisation=elsewhere, author=manager)


def test_cancel_restores_previous_decision(person, manager, france_travail, departement):
    first = services.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    second = services.decide_orientation(
        person, pathway="social", organisation=departement, author=manager, decided_on=D(2026, 5, 10)
    )
    assert second.is_reorientation
    services.cancel_orientation(second, author=manager, reason="Erreur de saisie", on=D(2026, 5, 11))
    assert services.current_orientation(person) == first
    assert [d.pk for d in services.orientation_history(person)] == [second.pk, first.pk]


def test_reorientation_request_decided_by_orientation_manager_only(
    person, manager, france_travail, departement
):
    services.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    referent = make_referent(france_travail)
    services.assign_referent(
        person, referent=referent, organisation=france_travail, author=manager, started_on=D(2026, 3, 10)
    )
    request = services.request_reorientation(
        person,
        pathway=Pathway.SOCIAL,
        reason="Problèmes de santé et de logement bloquants",
        author=referent,
        requested_on=D(2026, 6, 1),
        organisation=departement,
    )
    with pytest.raises(ValidationError, match="déjà en attente"):
        services.request_reorientation(person, pathway="social", reason="bis", author=referent)
    with pytest.raises(ValidationError, match="Seul un chargé d'orientation"):
        services.decide_reorientation(request, accept=True, author=referent)

    services.decide_reorientation(
        request, accept=True, author=manager, decided_on=D(2026, 6, 5), notified_on=D(2026, 6, 6)
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.ACCEPTED
    current = services.current_orientation(person)
    assert (current.pathway, current.organisation, current.is_reorientation, current.france_travail_code) == (
        "social",
        departement,
        True,
        "PSO",
    )
    assert Event.objects.filter(beneficiary=person, kind="reoriented", occurred_on=D(2026, 6, 6)).exists()
    assert Event.objects.filter(beneficiary=person, kind="reorientation_accepted").exists()


def test_refused_reorientation_needs_a_reason(person, manager, france_travail):
    services.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        notified_on=D(2026, 3, 10),
        decided_on=D(2026, 3, 10),
    )
    request = services.request_reorientation(
        person, pathway="social", reason="Demande de la personne", author=manager
    )
    with pytest.raises(ValidationError, match="Motif du refus"):
        services.decide_reorientation(request, accept=False, author=manager)
    services.decide_reorientation(request, accept=False, author=manager, reason="Freins levés")
    assert services.current_orientation(person).pathway == "emploi"


def test_reorientation_without_orientation_is_refused(person, manager):
    with pytest.raises(ValidationError, match="pas encore d'orientation"):
        services.request_reorientation(person, pathway="social", reason="x", author=manager)


def test_exemption_other_reason_needs_details(person, manager):
    with pytest.raises(ValidationError, match="Précisions"):
        services.add_exemption(person, reason="autre", author=manager)
    exemption = services.add_exemption(person, reason="parent_isole", author=manager, starts_on=D(2026, 3, 5))
    assert services.active_exemption(person, D(2026, 4, 1)) == exemption
    services.end_exemption(exemption, author=manager, ended_on=D(2026, 4, 30))
    assert services.active_exemption(person, D(2026, 5, 1)) is None


# --- proposition ------------------------------------------------------------------------------------------


def test_default_proposal_rules(person, departement, france_travail, mission_locale):
    proposal = services.propose_orientation(person, today=D(2026, 3, 10))
    assert (proposal.pathway, proposal.organisation, proposal.code) == ("emploi", france_travail, "PED")
    young = services.propose_orientation(person, today=D(2026, 3, 10), facts={"age": 22})
    assert (young.pathway, young.organisation) == ("emploi", mission_locale)
    social = services.propose_orientation(person, facts={"barriers": {"sante", "logement", "mobilite"}})
    assert (social.pathway, social.organisation) == ("social", departement)
    socio = services.propose_orientation(person, facts={"barriers": {"logement"}})
    assert (socio.pathway, socio.rule) == ("socio_professionnel", services.DEFAULT_PROPOSAL_RULES[3]["label"])
    # pas de Cap emploi dans le Département : la règle RQTH est sautée
    assert services.propose_orientation(person, facts={"rqth": True}).organisation == france_travail


def test_departement_rules_replace_defaults_in_order(person, departement, france_travail):
    ccas = OrganisationFactory(kind=OrganisationKind.CCAS, name="CCAS de Redon", departement=departement)
    ProposalRule.objects.create(
        departement=departement,
        position=2,
        label="Tous vers France Travail",
        criteria={},
        pathway="emploi",
        organisation_kind="france_travail",
    )
    ProposalRule.objects.create(
        departement=departement,
        position=1,
        label="Non inscrits : CCAS",
        criteria={"france_travail_registered": False},
        pathway="social",
        organisation_kind="ccas",
    )
    assert services.propose_orientation(person).organisation == ccas
    person.france_travail_id = "1234567A"
    assert services.propose_orientation(person).organisation == france_travail


def test_fact_providers_feed_the_proposal(person, settings, departement, france_travail):
    settings.PARCOURS_ORIENTATION_FACT_PROVIDERS = ["tests.orientation.test_decisions.three_barriers"]
    assert services.propose_orientation(person).pathway == "social"


def three_barriers(beneficiary):
    return {"barriers": ["sante", "logement", "numerique"]}


def test_batch_validation(person, manager, departement, france_travail):
    from tests.factories import BeneficiaryFactory

    other_dep = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    outsider = BeneficiaryFactory(departement=other_dep)
    result = services.validate_orientations(
        [(person, "emploi", france_travail, "Par défaut"), (outsider, "emploi", france_travail, "")],
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    assert [d.beneficiary for d in result.decided] == [person]
    assert result.errors == [(outsider, "hors de votre périmètre")]
    assert (
        result.decided[0].proposal_rule == "Par défaut"
        and result.decided[0].status == DecisionStatus.NOTIFIED
    )


# --- rendez-vous ------------------------------------------------------------------------------------------


def test_joint_appointment_answers_invitation_and_attendance_is_logged(
    person, manager, france_travail, departement, frozen
):
    frozen(2026, 3, 3)
    invitation = services.invite(person, channel="email", author=manager)
    counsellor = MembershipFactory(organisation=france_travail, role=Role.REFERENT).user
    appointment = services.schedule_appointment(
        person,
        starts_at=datetime.datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        place="Maison du Département",
        author=manager,
        professionals=[manager, counsellor],
        organisations=[departement, france_travail],
    )
    invitation.refresh_from_db()
    assert (invitation.status, invitation.answered_on) == (InvitationStatus.ANSWERED, D(2026, 3, 3))
    assert appointment.is_joint

    with pytest.raises(ValidationError, match="une fois le rendez-vous commencé"):
        services.record_attendance(appointment, Attendance.SEEN, author=manager)
    frozen(2026, 3, 9, 11)
    services.record_attendance(appointment, Attendance.NO_SHOW, author=manager)
    with pytest.raises(ValidationError, match="impossible de passer de « Absent non excusé » à « Venu »"):
        services.record_attendance(appointment, Attendance.SEEN, author=manager)
    services.record_attendance(appointment, Attendance.PLANNED, author=manager)  # correction
    services.record_attendance(appointment, Attendance.SEEN, author=counsellor)
    kinds = list(
        Event.objects.filter(beneficiary=person, kind__startswith="appointment")
        .order_by("pk")
        .values_list("kind", "occurred_on")
    )
    assert kinds == [
        ("appointment_planned", D(2026, 3, 3)),
        ("appointment_no_show", D(2026, 3, 9)),
        ("appointment_attendance_corrected", D(2026, 3, 9)),
        ("appointment_held", D(2026, 3, 9)),
    ]
    assert list(services.appointments_for_agent(counsellor, D(2026, 3, 1), D(2026, 3, 31))) == [appointment]


def test_appointment_requires_place(person, manager):
    with pytest.raises(ValidationError, match="Lieu"):
        services.schedule_appointment(
            person, starts_at=datetime.datetime(2026, 3, 9, 9, tzinfo=UTC), place=" ", author=manager
        )
