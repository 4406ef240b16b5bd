"""Le suivi en cours (annexe 4) possédé par le module du parcours, et les défauts qu'il corrige.

Chaque test reproduit un cas constaté sur la démonstration ou sur des scénarios construits à la main : il
échouait avant que le suivi soit ouvert par l'orientation notifiée et fermé par la sortie."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import exits
from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.activities import plan_activity
from parcours.accompaniment.models import ActivityStatus, ContractStatus
from parcours.accounts.models import Role
from parcours.beneficiaries.models import Beneficiary
from parcours.indicators.definitions import compute_indicators
from parcours.journal.models import Event, EventKind
from parcours.orientation import services as orientation
from parcours.orientation.models import DecisionStatus, OrientationDecision, Pathway
from parcours.pathway import services as pathway
from tests.factories import MembershipFactory, TerritoryFactory
from tests.indicators.conftest import D, person, row


def new_entrant_events(beneficiary):
    return sorted(
        Event.objects.filter(beneficiary=beneficiary, kind=EventKind.NEW_ENTRANT).values_list(
            "occurred_on", flat=True
        )
    )


def scope(departement):
    return Beneficiary.objects.filter(departement=departement)


def test_orientation_without_referent_opens_the_follow_up(flux, orient, france_travail):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    alice = person("alice")
    assert pathway.follow_up_in_progress(alice, D(2026, 3, 10))
    assert not pathway.follow_up_in_progress(alice, D(2026, 3, 9))
    charge = pathway.in_charge(alice, D(2026, 4, 1))
    assert charge.organisation == france_travail and charge.referent is None
    opened = Event.objects.get(beneficiary=alice, kind=EventKind.FOLLOW_UP_OPENED)
    assert opened.occurred_on == D(2026, 3, 10) and opened.payload["cause"] == "orientation"


def test_short_suspension_after_an_orientation_is_not_a_new_entry(flux, orient, france_travail):
    """Orientée vers France Travail sans référent, suspendue deux mois puis de retour : l'accompagnement
    était mis en veille, pas de nouvelle entrée (avant : comptée deux fois)."""
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    flux(D(2026, 4, 1), row("alice", state="3"))
    flux(D(2026, 5, 1), row("alice", state="3"))
    flux(D(2026, 6, 1), row("alice"))
    assert new_entrant_events(person("alice")) == [D(2026, 3, 1)]
    assert person("alice").new_entrant_t0 == D(2026, 3, 1)


def test_sdd_flag_going_one_zero_one_after_an_orientation_is_not_a_new_entry(flux, orient):
    flux(D(2026, 3, 1), row("bruno"))
    orient(person("bruno"), D(2026, 3, 5))
    flux(D(2026, 4, 1), row("bruno", sdd="0"))
    flux(D(2026, 5, 1), row("bruno"))
    assert new_entrant_events(person("bruno")) == [D(2026, 3, 1)]


def test_never_oriented_person_returning_is_a_new_entry(flux):
    """Sans orientation ni référent, rien n'est en veille : le retour compte comme une nouvelle entrée."""
    flux(D(2026, 3, 1), row("chloe"))
    flux(D(2026, 4, 1), row("chloe", sdd="0"))
    flux(D(2026, 5, 1), row("chloe"))
    assert new_entrant_events(person("chloe")) == [D(2026, 3, 1), D(2026, 5, 1)]


def test_followed_count_includes_people_oriented_without_referent(departement, flux, orient, france_travail):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("david"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orient(person("bruno"), D(2026, 3, 12), "social")
    values = compute_indicators(scope(departement), D(2026, 3, 1), D(2026, 3, 31))
    assert values["beneficiaires_suivis"] == 2  # David, jamais orienté, n'est pas suivi


def test_referent_designated_without_orientation_ends_the_orientation_delay(
    departement, flux, france_travail, referent, manager
):
    """Annexe 4 : le délai s'arrête « à la date lors de laquelle un référent est désigné »."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 6),
    )
    values = compute_indicators(scope(departement), D(2026, 3, 1), D(2026, 3, 31))
    assert values["nouveaux_entrants"] == 2
    assert values["nouveaux_entrants_orientes_15j"] == 1
    assert values["delai_median_t0_orientation_jours"] == 5
    assert values["beneficiaires_suivis"] == 1


def test_first_of_orientation_or_referent_ends_the_delay(
    departement, flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"))
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 4),
    )
    orient(person("alice"), D(2026, 3, 25), organisation=france_travail)
    values = compute_indicators(scope(departement), D(2026, 3, 1), D(2026, 3, 31))
    assert values["delai_median_t0_orientation_jours"] == 3
    assert values["repartition_parcours"]["emploi"] == 1


def test_france_travail_agent_sees_the_person_oriented_to_france_travail(
    client, flux, orient, france_travail, referent
):
    flux(D(2026, 3, 1), row("alice"))
    client.force_login(referent)
    url = reverse("beneficiary_detail", args=[person("alice").pk])
    assert client.get(url).status_code == 404
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    assert client.get(url).status_code == 200


def test_reorientation_moves_the_follow_up_and_ends_the_previous_referent(
    departement, flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 12),
    )
    orient(person("alice"), D(2026, 6, 1), "social")
    alice = person("alice")
    assert pathway.in_charge(alice, D(2026, 5, 31)).organisation == france_travail
    charge = pathway.in_charge(alice, D(2026, 6, 1))
    assert charge.organisation == departement and charge.referent is None
    assert not orientation.portfolio(referent).exists()


def test_cancelled_orientation_leaves_no_follow_up(flux, orient, manager):
    flux(D(2026, 3, 1), row("emma"))
    decision = orient(person("emma"), D(2026, 3, 3))
    orientation.cancel_orientation(decision, author=manager, reason="Erreur de dossier", on=D(2026, 3, 4))
    emma = person("emma")
    assert not pathway.follow_up_in_progress(emma, D(2026, 3, 3))
    assert not pathway.follow_up_in_progress(emma, D(2026, 3, 10))


def test_batch_orientation_notifies_the_pending_decision(departement, flux, manager):
    flux(D(2026, 3, 1), row("alice"))
    alice = person("alice")
    pending = orientation.decide_orientation(
        alice, pathway=Pathway.SOCIAL, organisation=departement, author=manager, decided_on=D(2026, 3, 5)
    )
    result = orientation.validate_orientations(
        [(alice, Pathway.SOCIAL, departement, "")], author=manager, notified_on=D(2026, 3, 6)
    )
    assert not result.errors
    decisions = OrientationDecision.objects.filter(beneficiary=alice)
    assert decisions.count() == 1
    pending.refresh_from_db()
    assert pending.status == DecisionStatus.NOTIFIED and pending.notified_on == D(2026, 3, 6)


def test_a_new_decision_cancels_the_pending_one(departement, flux, manager, france_travail):
    flux(D(2026, 3, 1), row("alice"))
    alice = person("alice")
    pending = orientation.decide_orientation(
        alice, pathway=Pathway.SOCIAL, organisation=departement, author=manager, decided_on=D(2026, 3, 5)
    )
    result = orientation.validate_orientations(
        [(alice, Pathway.EMPLOI, france_travail, "")],
        author=manager,
        decided_on=D(2026, 3, 6),
        notified_on=D(2026, 3, 6),
    )
    assert not result.errors
    pending.refresh_from_db()
    assert pending.status == DecisionStatus.CANCELLED and not pending.is_current
    assert orientation.current_orientation(alice).organisation == france_travail


def test_person_no_longer_sdd_leaves_the_queues(departement, flux):
    flux(D(2026, 3, 1), row("david"))
    assert list(orientation.new_entrants_to_invite(scope(departement), D(2026, 3, 2))) == [person("david")]
    flux(D(2026, 4, 1), row("david", sdd="0"))
    assert not orientation.new_entrants_to_invite(scope(departement), D(2026, 4, 2)).exists()
    assert not orientation.people_to_orient(scope(departement), D(2026, 4, 2)).exists()


def test_referent_outside_their_territory_is_refused(departement, flux, manager):
    flux(D(2026, 3, 1), row("alice", commune="vitre"))
    redon = departement.territories.get(code="REDON")
    social_worker = MembershipFactory(
        organisation=departement, role=Role.REFERENT, territory=redon, user__email="as.redon@departement35.fr"
    ).user
    with pytest.raises(ValidationError) as error:
        orientation.assign_referent(
            person("alice"),
            referent=social_worker,
            organisation=departement,
            author=manager,
            started_on=D(2026, 3, 4),
        )
    assert "territoire" in " ".join(error.value.messages)
    # sur son territoire, la désignation passe et le référent ouvre le dossier
    vitre_worker = MembershipFactory(
        organisation=departement,
        role=Role.REFERENT,
        territory=departement.territories.get(code="VITRE"),
        user__email="as.vitre@departement35.fr",
    ).user
    orientation.assign_referent(
        person("alice"),
        referent=vitre_worker,
        organisation=departement,
        author=manager,
        started_on=D(2026, 3, 4),
    )
    assert Beneficiary.objects.visible_to(vitre_worker).filter(pk=person("alice").pk).exists()


def test_exit_to_employment_closes_contract_activities_and_portfolio(
    flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    alice = person("alice")
    orientation.assign_referent(
        alice, referent=referent, organisation=france_travail, author=manager, started_on=D(2026, 3, 12)
    )
    contract = accompaniment.create_contract(alice, author=referent, kind="cer")
    accompaniment.sign_contract(contract, actor=referent, on=D(2026, 3, 20))
    activity = plan_activity(
        alice,
        author=referent,
        kind="atelier",
        label="Atelier CV",
        weekly_hours=15,
        weeks=8,
        starts_on=D(2026, 3, 23),
    )
    summary = exits.closing_summary(alice)
    assert any("suivi par France Travail Redon" in line for line in summary)
    assert any("contrat d'engagement signé le 20/03/2026" in line for line in summary)
    assert any("1 activité prévue" in line for line in summary)

    exits.record_exit(
        alice,
        author=referent,
        reason="emploi",
        exited_on=D(2026, 4, 15),
        employer="Boulangerie Le Fournil",
        contract_type="cdi",
        job_started_on=D(2026, 4, 15),
    )
    contract.refresh_from_db()
    activity.refresh_from_db()
    assert contract.status == ContractStatus.ENDED
    assert activity.status == ActivityStatus.ABANDONED
    assert not orientation.portfolio(referent).exists()
    assert not pathway.follow_up_in_progress(alice, D(2026, 4, 15))
    assert pathway.follow_up_in_progress(alice, D(2026, 4, 14))
    assert exits.closing_summary(alice) == []


def test_explicit_end_of_follow_up(flux, orient, manager):
    flux(D(2026, 3, 1), row("emma"))
    orient(person("emma"), D(2026, 3, 3))
    emma = person("emma")
    with pytest.raises(ValidationError):
        pathway.end_follow_up(emma, on=D(2026, 3, 2), reason="Déménagement", author=manager)
    with pytest.raises(ValidationError):
        pathway.end_follow_up(emma, on=D(2026, 4, 1), reason="", author=manager)
    pathway.end_follow_up(emma, on=D(2026, 4, 1), reason="Déménagement hors du Département", author=manager)
    assert not pathway.follow_up_in_progress(emma, D(2026, 4, 1))
    with pytest.raises(ValidationError, match="pas de suivi en cours"):
        pathway.end_follow_up(emma, on=D(2026, 4, 2), reason="Doublon", author=manager)


def test_one_follow_up_in_progress_per_person(flux, orient, france_travail):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orient(person("alice"), D(2026, 4, 10))
    alice = person("alice")
    assert alice.follow_ups.filter(ended_on__isnull=True).count() == 1
    assert TerritoryFactory._meta.model.objects.exists()  # les territoires du scénario sont en place
    assert datetime.date(2026, 4, 10) == alice.follow_ups.get(ended_on__isnull=True).started_on


def test_france_travail_team_designates_its_counsellor_in_the_panel(
    client, flux, orient, france_travail, referent
):
    """L'équipe de l'organisation en charge ouvre le volet de la personne et désigne un de ses agents ;
    elle ne peut pas désigner dans une autre organisation, ni pour une personne qu'elle ne suit pas."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    team = MembershipFactory(
        organisation=france_travail, role=Role.ORIENTATION_MANAGER, user__email="equipe@francetravail.fr"
    ).user
    client.force_login(team)
    alice_url = reverse("orientation:panel", args=[person("alice").pk])
    assert client.get(alice_url).status_code == 404
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    page = client.get(alice_url)
    assert page.status_code == 200
    assert f'value="{france_travail.pk}-{referent.pk}"' in page.content.decode()
    response = client.post(
        alice_url,
        {"action": "referent", "referent": f"{france_travail.pk}-{referent.pk}", "started_on": "2026-03-12"},
    )
    assert response.status_code == 302
    assert pathway.in_charge(person("alice"), D(2026, 3, 12)).referent == referent
    # une autre action de l'équipe du Département reste refusée
    assert client.post(alice_url, {"action": "cancel", "reason": "x"}).status_code == 403


def test_designation_rule_holds_for_every_channel(flux, orient, france_travail, departement, referent):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10))  # suivie par le Département
    team = MembershipFactory(
        organisation=france_travail, role=Role.ORIENTATION_MANAGER, user__email="equipe@francetravail.fr"
    ).user
    with pytest.raises(ValidationError, match="organisation qui a la personne en charge"):
        orientation.assign_referent(
            person("alice"),
            referent=referent,
            organisation=france_travail,
            author=team,
            started_on=D(2026, 3, 12),
        )


def test_radiation_closes_follow_up_and_referent_from_the_flux(
    flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 12),
    )
    flux(D(2026, 5, 1), row("alice", state="5"))
    alice = person("alice")
    assert not pathway.follow_up_in_progress(alice, D(2026, 5, 1))
    assert not orientation.portfolio(referent).exists()
    closed = alice.follow_ups.get()
    assert closed.end_cause == "radiation" and closed.ended_on == D(2026, 5, 1)
    kinds = set(
        Event.objects.filter(beneficiary=alice, occurred_on=D(2026, 5, 1)).values_list("kind", flat=True)
    )
    assert {EventKind.FOLLOW_UP_CLOSED, EventKind.REFERENT_ENDED} <= kinds
    # de retour avec un droit versable : nouvelle entrée (rien n'est en veille)
    flux(D(2026, 6, 1), row("alice"))
    assert new_entrant_events(person("alice")) == [D(2026, 3, 1), D(2026, 6, 1)]


def test_cancelled_reorientation_gives_the_person_back_to_the_previous_organisation(
    departement, flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"))
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 12),
    )
    mistake = orient(person("alice"), D(2026, 6, 1), "social")
    orientation.cancel_orientation(
        mistake, author=manager, reason="Saisie sur le mauvais dossier", on=D(2026, 6, 2)
    )
    alice = person("alice")
    charge = pathway.in_charge(alice, D(2026, 6, 2))
    assert charge.organisation == france_travail and charge.referent == referent
    assert orientation.current_orientation(alice).organisation == france_travail
    assert [a.beneficiary_id for a in orientation.portfolio(referent)] == [alice.pk]


def test_team_rules_hold_in_the_services_for_every_channel(
    flux, orient, france_travail, referent, departement
):
    """Orienter, inviter, dispenser : réservé à l'équipe d'orientation, vérifié par le service (avant : par la
    seule page, l'API et les connecteurs passaient à côté). Un compte technique suit les règles de sa voie."""
    from django.core.exceptions import PermissionDenied

    from parcours.interop import services as interop

    flux(D(2026, 3, 1), row("alice"))
    alice = person("alice")
    with pytest.raises(PermissionDenied, match="équipe d'orientation"):
        orientation.decide_orientation(
            alice,
            pathway=Pathway.EMPLOI,
            organisation=france_travail,
            author=referent,
            decided_on=D(2026, 3, 5),
        )
    with pytest.raises(PermissionDenied):
        orientation.add_exemption(alice, reason="sante", author=referent, starts_on=D(2026, 3, 5))
    system, _token = interop.issue_token(departement, "Logiciel du Département", ["orientations:ecriture"])
    assert system.service_user.is_technical
    decision = orientation.decide_orientation(
        alice,
        pathway=Pathway.EMPLOI,
        organisation=france_travail,
        author=system.service_user,
        decided_on=D(2026, 3, 5),
        notified_on=D(2026, 3, 5),
    )
    assert decision.status == DecisionStatus.NOTIFIED
    # l'organisation qui suit la personne peut mettre fin à son suivi ; un agent d'ailleurs, non
    stranger = MembershipFactory(
        organisation=departement, role=Role.MANAGER, user__email="lecture@dep.fr"
    ).user
    with pytest.raises(PermissionDenied):
        pathway.end_follow_up(alice, on=D(2026, 4, 1), reason="Déménagement", author=stranger)
    pathway.end_follow_up(alice, on=D(2026, 4, 1), reason="Déménagement", author=referent)
    assert not pathway.follow_up_in_progress(alice, D(2026, 4, 1))
