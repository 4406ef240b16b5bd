"""Listes de travail : « mes personnes » (référent en cours, ou dernier référent après une sortie), nom du
référent en sous-requête, filtre lu dans la requête, toujours dans le périmètre de l'agent."""

import datetime

import pytest

from parcours.accounts.models import Role
from parcours.beneficiaries.models import Beneficiary
from parcours.orientation.models import ReferentAssignment
from parcours.pathway import worklists
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def setting():
    departement = DepartementFactory()
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="", user__last_name=""
    ).user
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    current = BeneficiaryFactory(departement=departement, last_name="Lefèvre")
    former = BeneficiaryFactory(departement=departement, last_name="Guérin")
    other = BeneficiaryFactory(departement=departement, last_name="Bernard")
    elsewhere = BeneficiaryFactory(departement=DepartementFactory(departement_code="44"), last_name="Nantais")
    for person in (current, elsewhere):
        ReferentAssignment.objects.create(
            beneficiary=person, referent=referent, organisation=departement, started_on=D(2026, 1, 5)
        )
    ReferentAssignment.objects.create(
        beneficiary=former,
        referent=referent,
        organisation=departement,
        started_on=D(2025, 1, 5),
        ended_on=D(2026, 2, 1),
    )
    return referent, manager, current, former, other, elsewhere


def test_default_is_mine_only_with_a_portfolio(setting):
    referent, manager, *_ = setting
    assert worklists.read_filter(referent, {}).who == worklists.MINE
    assert worklists.read_filter(referent, {"qui": "tous"}).who == worklists.ALL
    assert worklists.read_filter(referent, {"qui": "n'importe"}).who == worklists.MINE
    assert worklists.read_filter(manager, {}).who == worklists.ALL
    work_filter = worklists.read_filter(manager, {"q": "  Lefèvre   Anne ", "qui": "moi"})
    assert (work_filter.who, work_filter.query, work_filter.has_portfolio) == ("moi", "Lefèvre Anne", False)
    assert work_filter.params(on="2026-07-10", page="") == {
        "qui": "moi",
        "q": "Lefèvre Anne",
        "on": "2026-07-10",
    }


def test_mine_is_a_subset_of_the_visible_scope(setting):
    referent, _manager, current, former, _other, elsewhere = setting
    mine = worklists.people(referent, worklists.read_filter(referent, {}))
    # La personne d'un autre Département reste hors du périmètre, même si l'agent en est le référent.
    assert set(mine) == {current}
    assert set(worklists.people(referent, worklists.read_filter(referent, {}), former=True)) == {
        current,
        former,
    }
    everyone = worklists.people(referent, worklists.read_filter(referent, {"qui": "tous"}))
    assert elsewhere not in set(everyone) and len(set(everyone)) == 3


def test_referent_name_falls_back_to_email_and_to_the_last_referent(setting, django_assert_num_queries):
    referent, _manager, current, former, other, _elsewhere = setting
    people = Beneficiary.objects.filter(pk__in=[current.pk, former.pk, other.pk])
    with django_assert_num_queries(1):
        names = dict(worklists.with_referent_name(people).values_list("last_name", "referent_name"))
    assert names == {"Lefèvre": referent.email, "Guérin": None, "Bernard": None}
    names = dict(worklists.with_referent_name(people, former=True).values_list("last_name", "referent_name"))
    assert names == {"Lefèvre": referent.email, "Guérin": referent.email, "Bernard": None}
