import datetime

import pytest
from django.core.exceptions import ValidationError

from parcours.accompaniment import reviews, services
from parcours.accompaniment.models import Exit, HoursExemption, Review, ReviewKind, ReviewStatus
from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from tests.accompaniment.conftest import objective
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
SIGNED_ON = D(2026, 3, 10)


def signed_contract(person, author, signed_on=SIGNED_ON, **fields):
    fields.setdefault("weekly_hours", 15)
    contract = services.create_contract(
        person,
        author=author,
        referent=author,
        referent_commitments="Rendez-vous toutes les deux semaines.",
        person_commitments="Suivre l'atelier mobilité.",
        intensity="social",
        objectives=[objective("mobilite", "Obtenir le permis")],
        **fields,
    )
    return services.sign_contract(contract, actor=author, on=signed_on)


def orient(person, author, departement, pathway):
    return orientation.decide_orientation(
        person,
        pathway=pathway,
        organisation=departement,
        author=author,
        decided_on=D(2026, 3, 1),
        notified_on=D(2026, 3, 2),
    )


def schedule(person):
    return list(
        Review.objects.filter(beneficiary=person).order_by("due_on", "kind").values_list("kind", "due_on")
    )


def test_signing_schedules_milestones_and_joint_review_in_social_pathway(
    person, orientation_manager, departement
):
    orient(person, orientation_manager, departement, "social")
    signed_contract(person, orientation_manager, ends_on=D(2026, 12, 31))
    assert schedule(person) == [
        ("jalon", D(2026, 6, 10)),
        ("conjointe", D(2026, 9, 10)),
        ("jalon", D(2026, 9, 10)),
        ("jalon", D(2026, 12, 10)),
    ]


def test_joint_review_at_12_months_when_vulnerable(person, orientation_manager, departement):
    orient(person, orientation_manager, departement, "social")
    signed_contract(
        person,
        orientation_manager,
        weekly_hours=5,
        hours_exemption=HoursExemption.HEALTH,
        ends_on=D(2027, 6, 1),
    )
    assert ("conjointe", D(2027, 3, 10)) in schedule(person)
    assert ("conjointe", D(2026, 9, 10)) not in schedule(person)


def test_no_joint_review_in_employment_pathway_and_milestones_are_a_setting(
    person, orientation_manager, departement
):
    departement.delay_overrides = {"review_milestone_months": 4}
    departement.save()
    orient(person, orientation_manager, departement, "emploi")
    signed_contract(person, orientation_manager)
    assert schedule(person) == [
        ("jalon", D(2026, 7, 10)),
        ("jalon", D(2026, 11, 10)),
        ("jalon", D(2027, 3, 10)),
    ]


def test_scheduling_is_idempotent(person, orientation_manager):
    contract = signed_contract(person, orientation_manager)
    assert reviews.schedule_reviews(contract) == []
    # sans orientation connue, l'intensité « social » du contrat vaut parcours social : revue conjointe
    assert schedule(person) == [
        ("jalon", D(2026, 6, 10)),
        ("conjointe", D(2026, 9, 10)),
        ("jalon", D(2026, 9, 10)),
        ("jalon", D(2026, 12, 10)),
        ("jalon", D(2027, 3, 10)),
    ]


def test_holding_a_review_needs_minutes_and_is_logged(person, orientation_manager):
    review = reviews.plan_review(
        person, author=orientation_manager, kind=ReviewKind.CASE_REVIEW, due_on=D(2026, 4, 1)
    )
    with pytest.raises(ValidationError) as error:
        reviews.hold_review(review, actor=orientation_manager, on=D(2026, 4, 1), minutes="  ")
    assert "minutes" in error.value.message_dict
    held = reviews.hold_review(
        review,
        actor=orientation_manager,
        on=D(2026, 4, 1),
        minutes="Freins de mobilité levés.",
        decisions="Proposer une réorientation vers France Travail.",
    )
    assert held.status == ReviewStatus.HELD and held.held_by == orientation_manager
    assert Event.objects.filter(beneficiary=person, kind="review_held").count() == 1
    with pytest.raises(ValidationError):
        reviews.hold_review(review, actor=orientation_manager, on=D(2026, 4, 2), minutes="Encore")


def test_reviews_due_lists_planned_reviews_in_scope(person, orientation_manager, departement):
    reviews.plan_review(person, author=orientation_manager, kind=ReviewKind.MILESTONE, due_on=D(2026, 4, 1))
    later = reviews.plan_review(
        person, author=orientation_manager, kind=ReviewKind.MILESTONE, due_on=D(2026, 5, 1)
    )
    other = BeneficiaryFactory(departement=DepartementFactory(departement_code="44", name="Loire-Atlantique"))
    reviews.plan_review(other, author=None, kind=ReviewKind.MILESTONE, due_on=D(2026, 4, 1))
    scope = Beneficiary.objects.visible_to(orientation_manager)
    assert [r.due_on for r in reviews.reviews_due(scope, D(2026, 4, 15))] == [D(2026, 4, 1)]
    reviews.cancel_review(later, actor=orientation_manager, reason="Sortie en emploi")
    assert list(
        reviews.reviews_due(scope, D(2026, 6, 1), horizon_days=30).values_list("due_on", flat=True)
    ) == [D(2026, 4, 1)]


def _assign(person, organisation, started_on):
    """Désignation par l'équipe d'orientation du Département de la personne (seule habilitée ici)."""
    referent = MembershipFactory(organisation=organisation, role=Role.REFERENT).user
    team = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    return orientation.assign_referent(
        person, referent=referent, organisation=organisation, author=team, started_on=started_on
    )


def test_second_year_and_global_proposals(departement, orientation_manager):
    france_travail = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement)
    ft_long = BeneficiaryFactory(departement=departement, last_name="Longtemps")
    ft_recent = BeneficiaryFactory(departement=departement, last_name="Recent")
    dep_long = BeneficiaryFactory(departement=departement, last_name="Deuxieme")
    exited = BeneficiaryFactory(departement=departement, last_name="Sorti")
    _assign(ft_long, france_travail, D(2025, 9, 1))
    _assign(ft_recent, france_travail, D(2026, 1, 15))
    _assign(dep_long, departement, D(2025, 3, 1))
    _assign(exited, france_travail, D(2025, 6, 1))
    Exit.objects.create(beneficiary=exited, reason="emploi", exited_on=D(2026, 1, 2))
    scope = Beneficiary.objects.all()
    on = D(2026, 3, 10)

    assert [a.beneficiary for a in reviews.global_proposal_candidates(scope, on)] == [ft_long]
    assert [a.beneficiary for a in reviews.second_year_candidates(scope, on)] == [dep_long]

    created = reviews.create_proposals(scope, on, author=orientation_manager)
    assert sorted((r.beneficiary.last_name, r.kind) for r in created) == [
        ("Deuxieme", "deuxieme_annee"),
        ("Longtemps", "proposition_global"),
    ]
    assert reviews.create_proposals(scope, on) == []  # déjà proposées
