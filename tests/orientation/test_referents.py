"""Référent unique : portefeuilles plafonnés, transferts avec historique, suivi des organisations."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.journal.models import Event
from parcours.orientation import services
from parcours.orientation.models import CapPolicy, PortfolioCap, ReferentAssignment
from tests.factories import BeneficiaryFactory
from tests.orientation.conftest import make_referent

D = datetime.date

pytestmark = pytest.mark.django_db


def fill_portfolio(referent, organisation, departement, n, manager):
    for _ in range(n):
        services.assign_referent(
            BeneficiaryFactory(departement=departement),
            referent=referent,
            organisation=organisation,
            author=manager,
            started_on=D(2026, 1, 5),
        )


def test_assignment_opens_follow_up_and_partner_sees_person(person, manager, mission_locale):
    referent = make_referent(mission_locale)
    assert not Beneficiary.objects.visible_to(referent).filter(pk=person.pk).exists()
    result = services.assign_referent(
        person, referent=referent, organisation=mission_locale, author=manager, started_on=D(2026, 3, 12)
    )
    assert result.warnings == []
    assert services.current_referent(person) == result.assignment
    follow_up = FollowUp.objects.get(beneficiary=person, ended_on__isnull=True)
    assert (follow_up.organisation, follow_up.referent) == (mission_locale, referent)
    assert Beneficiary.objects.visible_to(referent).filter(pk=person.pk).exists()
    event = Event.objects.get(beneficiary=person, kind="referent_assigned")
    assert (event.occurred_on, event.actor, event.organisation) == (D(2026, 3, 12), manager, mission_locale)


def test_transfer_keeps_history_and_closes_previous_follow_up(
    person, manager, mission_locale, france_travail
):
    first = make_referent(mission_locale)
    second = make_referent(france_travail)
    services.assign_referent(
        person, referent=first, organisation=mission_locale, author=manager, started_on=D(2026, 3, 12)
    )
    services.assign_referent(
        person, referent=second, organisation=france_travail, author=manager, started_on=D(2026, 6, 1)
    )
    history = list(services.referent_history(person))
    assert [(a.referent, a.started_on, a.ended_on) for a in history] == [
        (second, D(2026, 6, 1), None),
        (first, D(2026, 3, 12), D(2026, 6, 1)),
    ]
    assert "Transfert vers" in history[1].end_reason
    assert list(
        FollowUp.objects.filter(beneficiary=person, ended_on__isnull=True).values_list(
            "organisation", flat=True
        )
    ) == [france_travail.pk]
    transfer = Event.objects.get(beneficiary=person, kind="referent_assigned", occurred_on=D(2026, 6, 1))
    assert transfer.payload["transfer"] is True and transfer.payload["previous_referent_id"] == first.pk
    with pytest.raises(ValidationError, match="déjà le référent"):
        services.assign_referent(person, referent=second, organisation=france_travail, author=manager)


def test_referent_must_belong_to_organisation(person, manager, mission_locale, france_travail):
    referent = make_referent(mission_locale)
    with pytest.raises(ValidationError, match="n'est pas agent de France Travail Redon"):
        services.assign_referent(person, referent=referent, organisation=france_travail, author=manager)


def test_cap_warns_by_default(person, manager, mission_locale, departement, settings):
    settings.PARCOURS_PORTFOLIO_CAP = 3
    referent = make_referent(mission_locale)
    fill_portfolio(referent, mission_locale, departement, 3, manager)
    result = services.assign_referent(person, referent=referent, organisation=mission_locale, author=manager)
    assert result.warnings == [
        f"Le portefeuille de {referent} compte déjà 3 personnes pour une taille cible de 3."
    ]
    assert result.assignment.over_cap
    assert services.portfolio_size(referent) == 4


def test_cap_refuses_when_organisation_chose_so(person, manager, mission_locale, departement):
    PortfolioCap.objects.create(organisation=mission_locale, cap=2, policy=CapPolicy.REFUSE)
    busy = make_referent(mission_locale, "busy@ml.fr")
    free = make_referent(mission_locale, "free@ml.fr")
    fill_portfolio(busy, mission_locale, departement, 2, manager)
    with pytest.raises(ValidationError, match="Désignation refusée"):
        services.assign_referent(person, referent=busy, organisation=mission_locale, author=manager)
    assert not ReferentAssignment.objects.filter(beneficiary=person).exists()
    loads = services.referent_loads(mission_locale)
    assert [(row["referent"], row["load"], row["remaining"]) for row in loads] == [(free, 0, 2), (busy, 2, 0)]
    assert services.suggest_referent(mission_locale) == free


def test_default_cap_is_sixty(mission_locale):
    assert services.portfolio_cap(mission_locale) == (60, CapPolicy.WARN)


def test_end_referent(person, manager, mission_locale):
    referent = make_referent(mission_locale)
    assignment = services.assign_referent(
        person, referent=referent, organisation=mission_locale, author=manager, started_on=D(2026, 3, 12)
    ).assignment
    with pytest.raises(ValidationError, match="Motif de fin"):
        services.end_referent(assignment, author=manager, reason="")
    services.end_referent(assignment, author=manager, ended_on=D(2026, 9, 1), reason="Sortie vers l'emploi")
    assert services.current_referent(person) is None
    assert not FollowUp.objects.filter(beneficiary=person, ended_on__isnull=True).exists()
    assert list(services.portfolio(referent)) == []
