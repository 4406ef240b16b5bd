"""Comités de pilotage et de suivi par HTTP et par les services : qui voit et qui tient un comité, cycle de vie
d'une réunion, décisions suivies, procès-verbal en PDF, chiffres du tableau de bord figés à la date de la
réunion."""

import datetime
from html import unescape

import pytest
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from parcours.governance import services
from parcours.governance.models import Committee, CommitteeKind, Decision, DecisionStatus, MeetingStatus
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from parcours.journal.models import Event, EventKind
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = datetime.date.today()


def page(response):
    return unescape(response.content.decode())


@pytest.fixture
def departement():
    return DepartementFactory()


@pytest.fixture
def manager(departement):
    """Secrétariat des comités : administrateur du Département."""
    return MembershipFactory(organisation=departement, role=Role.ADMIN, user__email="insertion@cd35.fr").user


@pytest.fixture
def direction(departement):
    return MembershipFactory(
        organisation=departement, role=Role.MANAGER, user__email="direction@cd35.fr"
    ).user


@pytest.fixture
def state_agent(departement):
    ddets = OrganisationFactory(
        kind=OrganisationKind.ETAT, name="DDETS d'Ille-et-Vilaine", departement=departement
    )
    return MembershipFactory(organisation=ddets, role=Role.MANAGER, user__email="agent@ddets35.gouv.fr").user


@pytest.fixture
def committee(departement):
    committee = Committee.objects.create(
        departement=departement, kind=CommitteeKind.STEERING, name="Comité de pilotage de l'accompagnement"
    )
    committee.members.create(name="Claire Dumont", quality="etat", organisation="Préfecture")
    committee.members.create(name="Yann Morvan", quality="departement", organisation="Département")
    return committee


def new_entrants(departement, count, t0):
    people = BeneficiaryFactory.create_batch(count, departement=departement, new_entrant_t0=t0)
    for person in people:
        Event.objects.create(beneficiary=person, kind=EventKind.NEW_ENTRANT, occurred_on=t0)
    return people


def test_manager_creates_a_committee_plans_a_meeting_and_adds_members(client, departement, manager):
    client.force_login(manager)
    response = client.post(
        reverse("governance:list"),
        {"departement": departement.pk, "kind": CommitteeKind.MONITORING, "name": "Comité de suivi de Redon"},
    )
    committee = Committee.objects.get(name="Comité de suivi de Redon")
    assert response.url == reverse("governance:committee", args=[committee.pk])
    client.post(
        response.url,
        {
            "member-name": "Marc Riou",
            "member-quality": "france_travail",
            "member-organisation": "France Travail",
        },
    )
    response = client.post(
        reverse("governance:committee", args=[committee.pk]),
        {
            "meeting-held_on": "2026-12-15",
            "meeting-place": "Redon",
            "meeting-agenda": "Tableau de bord — Direction de l'insertion\nInvitations expirées",
        },
    )
    meeting = committee.meetings.get()
    assert [(i.position, i.title, i.presenter) for i in meeting.agenda.all()] == [
        (1, "Tableau de bord", "Direction de l'insertion"),
        (2, "Invitations expirées", ""),
    ]
    text = page(client.get(reverse("governance:committee", args=[committee.pk])))
    assert "Marc Riou" in text and "15/12/2026" in text and "Prévue" in text


def test_same_name_twice_in_a_departement_is_refused_in_french(client, departement, manager, committee):
    client.force_login(manager)
    response = client.post(
        reverse("governance:list"),
        {
            "departement": departement.pk,
            "kind": CommitteeKind.STEERING,
            "name": "comité de pilotage de l'accompagnement",
        },
    )
    assert response.status_code == 200
    assert "Un comité de ce Département porte déjà cet intitulé." in page(response)
    assert Committee.objects.count() == 1


@pytest.mark.parametrize("reader", ["state_agent", "direction"])
def test_state_services_and_read_only_managers_read_but_do_not_edit(client, committee, reader, request):
    meeting = services.plan_meeting(committee, held_on=TODAY)
    client.force_login(request.getfixturevalue(reader))
    assert client.get(reverse("governance:list")).status_code == 200
    text = page(client.get(reverse("governance:meeting", args=[meeting.pk])))
    assert "Comité de pilotage de l'accompagnement" in text and "Enregistrer les présents" not in text
    response = client.post(reverse("governance:decision_add", args=[meeting.pk]), {"text": "Décider"})
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_other_departements_and_field_agents_see_nothing(client, committee):
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    other_manager = MembershipFactory(organisation=other, role=Role.MANAGER).user
    client.force_login(other_manager)
    assert "Comité de pilotage de l'accompagnement" not in page(client.get(reverse("governance:list")))
    assert client.get(reverse("governance:committee", args=[committee.pk])).status_code == 404
    referent = MembershipFactory(organisation=committee.departement, role=Role.REFERENT).user
    client.force_login(referent)
    assert client.get(reverse("governance:list")).status_code == 403


def test_meeting_lifecycle_and_closing_requires_minutes_and_presence(client, committee, manager):
    meeting = services.plan_meeting(committee, held_on=TODAY, agenda=[("Bilan", "")])
    client.force_login(manager)
    status_url = reverse("governance:status", args=[meeting.pk])
    client.post(status_url, {"action": "hold"})
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    response = client.post(status_url, {"action": "close"}, follow=True)
    assert "Pour arrêter le procès-verbal, indiquez le relevé des échanges et les présents." in page(response)
    member = committee.members.first()
    client.post(reverse("governance:presence", args=[meeting.pk]), {"present": [member.pk]})
    client.post(reverse("governance:minutes", args=[meeting.pk]), {"minutes": "Échanges sur le bilan."})
    client.post(
        reverse("governance:decision_add", args=[meeting.pk]),
        {
            "text": "Renforcer l'équipe",
            "owner": "DDETS",
            "due_on": (TODAY + datetime.timedelta(days=30)).isoformat(),
        },
    )
    client.post(status_url, {"action": "close"})
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CLOSED and meeting.closed_on == TODAY
    assert meeting.figures.period_end == TODAY - datetime.timedelta(days=1)
    # Arrêté, le procès-verbal ne change plus ; le suivi des décisions continue.
    response = client.post(
        reverse("governance:minutes", args=[meeting.pk]), {"minutes": "Réécrit"}, follow=True
    )
    assert "elle ne se modifie plus" in page(response)
    meeting.refresh_from_db()
    assert meeting.minutes == "Échanges sur le bilan."
    decision = meeting.decisions.get()
    client.post(reverse("governance:decision_status", args=[meeting.pk, decision.pk]), {"status": "done"})
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.DONE
    response = client.post(status_url, {"action": "cancel"}, follow=True)
    assert "impossible de passer de « Procès-verbal arrêté » à « Annulée »" in page(response)


def test_a_future_meeting_cannot_be_declared_held(committee, manager):
    meeting = services.plan_meeting(committee, held_on=TODAY + datetime.timedelta(days=3))
    with pytest.raises(services.GovernanceError, match="ne peut pas être déclarée tenue avant"):
        services.hold_meeting(meeting, actor=manager)


def test_a_decision_due_before_the_meeting_is_refused(committee):
    meeting = services.plan_meeting(committee, held_on=D(2026, 11, 20))
    with pytest.raises(services.GovernanceError, match="l'échéance ne peut pas précéder la réunion"):
        services.add_decision(meeting, text="Faire", due_on=D(2026, 11, 1))


def test_frozen_figures_are_those_of_the_meeting_date_and_do_not_move(departement, committee, manager):
    new_entrants(departement, 3, D(2026, 3, 2))
    meeting = services.plan_meeting(committee, held_on=D(2026, 4, 1))
    figures = services.freeze_figures(meeting, actor=manager)
    assert (figures.period_start, figures.period_end) == (D(2026, 1, 1), D(2026, 3, 31))
    expected = compute_indicators(beneficiary_scope(departement=departement), D(2026, 1, 1), D(2026, 3, 31))
    assert figures.values == expected
    assert figures.values["nouveaux_entrants"] == 3
    # Deux nouveaux entrants de mars enregistrés après la réunion (flux tardif) : le tableau de bord change,
    # pas les chiffres que le comité a vus.
    new_entrants(departement, 2, D(2026, 3, 20))
    figures.refresh_from_db()
    assert figures.values["nouveaux_entrants"] == 3
    assert ("Nouveaux entrants", "3") in services.figure_rows(figures)
    with pytest.raises(services.GovernanceError, match="la période doit finir avant la réunion"):
        services.freeze_figures(meeting, actor=manager, start=D(2026, 1, 1), end=D(2026, 4, 1))


def test_minutes_pdf_lists_members_decisions_and_figures(client, departement, committee, manager):
    new_entrants(departement, 2, D(2026, 3, 2))
    meeting = services.plan_meeting(committee, held_on=D(2026, 4, 1), agenda=[("Tableau de bord", "")])
    services.record_presence(meeting, [committee.members.first().pk])
    services.add_decision(meeting, text="Renforcer l'équipe d'orientation", owner="DDETS")
    services.freeze_figures(meeting, actor=manager)
    client.force_login(manager)
    response = client.get(reverse("governance:minutes_pdf", args=[meeting.pk]))
    assert response["Content-Type"] == "application/pdf"
    content = response.content
    assert content.startswith(b"%PDF")
    for text in (b"Claire Dumont", b"Renforcer l", b"Nouveaux entrants", b"Tableau de bord"):
        assert text in content


def test_list_page_query_count_does_not_grow_with_committees(
    client, departement, manager, django_assert_max_num_queries
):
    for n in range(6):
        committee = Committee.objects.create(
            departement=departement, kind=CommitteeKind.MONITORING, name=f"Suivi {n}"
        )
        meeting = services.plan_meeting(committee, held_on=D(2026, 4, 1))
        services.add_decision(meeting, text="Faire")
    client.force_login(manager)
    client.get(reverse("governance:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("governance:list"))
    assert page(response).count("Suivi ") >= 6
