import datetime
from decimal import Decimal

import pytest

from parcours.accounts.models import Role
from parcours.conventions.examples import load_convention_example
from parcours.conventions.models import ExpenseNature
from parcours.conventions.services import record_expense
from tests.factories import DepartementFactory, MembershipFactory

D = Decimal


@pytest.fixture
def departement():
    return DepartementFactory()


@pytest.fixture
def example(departement):
    """La convention insertion-emploi 2024 d'Ille-et-Vilaine (document source 002)."""
    convention, _ = load_convention_example()
    assert convention.departement == departement
    return convention


@pytest.fixture
def admin(departement):
    return MembershipFactory(
        organisation=departement, role=Role.ADMIN, user__email="admin.insertion@departement35.fr"
    ).user


@pytest.fixture
def manager(departement):
    return MembershipFactory(
        organisation=departement, role=Role.MANAGER, user__email="responsable.insertion@departement35.fr"
    ).user


@pytest.fixture
def referent(departement):
    return MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__email="referente@departement35.fr"
    ).user


def sheet(convention, number):
    return convention.action_sheets.get(number=number)


def volet(convention, number):
    return convention.volets.get(number=number)


@pytest.fixture
def hand_example(example):
    """Exemple calculé à la main (voir docs/conventions.md) :

    volet 1 : chef de projet 12 × 3 750 = 45 000 (éligible) ; déplacements 320,50 (refusé) ;
    volet 2 : BGE 98 000 (FA 1) + Emmaüs Rennes 45 000 (FA 2) = 143 000 éligibles ; salle 1 200 et
    évaluation 8 000 refusées. Part État : 45 000 + 50 % × 143 000 = 116 500.
    """
    v1 = volet(example, 1)
    section_staff, section_si = v1.sections.order_by("order")
    record_expense(
        example,
        volet=v1,
        section=section_staff,
        nature=ExpenseNature.STAFF,
        label="Rémunération chef de projet",
        unit="mois",
        quantity=D("12"),
        unit_cost=D("3750.00"),
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        purpose="Chargée de mission accompagnement rénové (1 ETP)",
    )
    record_expense(
        example,
        volet=v1,
        section=section_staff,
        nature=ExpenseNature.MISSION_COSTS,
        label="Déplacements du chef de projet",
        amount=D("320.50"),
        period_start=datetime.date(2024, 3, 1),
        period_end=datetime.date(2024, 6, 30),
        purpose="Réunions territoriales",
    )
    record_expense(
        example,
        action_sheet=sheet(example, 1),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Participation versée à la BGE",
        amount=D("98000.00"),
        period_start=datetime.date(2024, 2, 15),
        purpose="Accompagnement renforcé des travailleurs indépendants",
    )
    record_expense(
        example,
        action_sheet=sheet(example, 2),
        nature=ExpenseNature.PARTNER_PARTICIPATION,
        label="Participation versée à Emmaüs Rennes",
        amount=D("45000.00"),
        period_start=datetime.date(2024, 3, 1),
        purpose="Premières Heures en Chantier",
    )
    record_expense(
        example,
        action_sheet=sheet(example, 8),
        nature=ExpenseNature.OVERHEADS,
        label="Location de salle",
        unit="jour",
        quantity=D("6"),
        unit_cost=D("200.00"),
        period_start=datetime.date(2024, 5, 14),
        purpose="Séjours UFOPEPS",
    )
    record_expense(
        example,
        volet=volet(example, 2),
        nature=ExpenseNature.EVALUATION_SERVICE,
        label="Prestation d'évaluation",
        amount=D("8000.00"),
        period_start=datetime.date(2024, 10, 1),
        purpose="Évaluation des actions du volet 2",
    )
    return example
