"""Les colonnes de la personne gardées dans les tables de la cohorte (Département, territoire, ouverture du
droit du foyer) suivent la personne, et le périmètre de l'agent évalué sur elles (``scope.stored_condition``)
choisit exactement les personnes du périmètre : mêmes lignes, mêmes chiffres que par la table des personnes.
Le tableau par organisation (couples lus sans le périmètre) garde les mêmes lignes."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary, FollowUp, RsaRight
from parcours.indicators import cohort
from parcours.indicators.breakdowns import organisation_breakdown
from parcours.indicators.definitions import beneficiary_scope, cohort_tallies, indicators_and_series
from parcours.indicators.models import CohortDirty, CohortEntry, FirstDiagnosis
from parcours.indicators.scope import stored_condition
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    HouseholdFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)

from .test_cohort_table import PERIODS, assert_table_matches_the_journal, journal  # noqa: F401 (fixture)

D = datetime.date
pytestmark = pytest.mark.django_db


def stored_rows():
    return sorted(
        CohortEntry.objects.values_list("beneficiary_id", "departement_id", "territory_id", "right_opened_on")
    )


def person_rows():
    people = {
        b.pk: (
            b.departement_id,
            b.territory_id,
            getattr(getattr(b.household, "right", None), "opened_on", None),
        )
        for b in Beneficiary.objects.select_related("household__right")
    }
    return sorted((pk, *people[pk]) for pk in CohortEntry.objects.values_list("beneficiary_id", flat=True))


def test_stored_person_columns_follow_the_person(journal):  # noqa: F811
    cohort.refresh()
    assert stored_rows() == person_rows()
    alice, bruno, chloe, david, emma, farid = journal.people[:6]
    other = DepartementFactory(departement_code="56", name="Département du Morbihan")

    # Autre chose que le Département, le territoire ou le foyer : rien à recalculer.
    Beneficiary.objects.filter(pk=alice.pk).update(phone="0600000000", city="Redon")
    assert not CohortDirty.objects.exists()

    Beneficiary.objects.filter(pk=alice.pk).update(departement=other)  # changement de Département
    Beneficiary.objects.filter(pk=bruno.pk).update(territory=journal.territories[1])  # de territoire
    RsaRight.objects.filter(household=chloe.household_id).update(opened_on=D(2024, 5, 1))  # date du droit
    RsaRight.objects.filter(household=david.household_id).delete()  # droit supprimé
    moved = HouseholdFactory(departement=journal.departement, right__opened_on=D(2023, 1, 9))
    Beneficiary.objects.filter(pk=emma.pk).update(household=moved)  # autre foyer
    right = RsaRight.objects.get(household=farid.household_id)
    right.delete()
    RsaRight.objects.create(
        household_id=farid.household_id, opened_on=D(2022, 2, 2), state="2"
    )  # droit recréé
    marked = set(CohortDirty.objects.values_list("beneficiary_id", flat=True))
    assert {alice.pk, bruno.pk, chloe.pk, david.pk, emma.pk, farid.pk} <= marked

    assert_table_matches_the_journal(journal)
    assert stored_rows() == person_rows()
    # Le Département d'arrivée compte la personne, celui de départ ne la compte plus.
    for departement in (journal.departement, other):
        scope = beneficiary_scope(departement=departement)
        for start, end in PERIODS:
            assert indicators_and_series(scope, start, end, table=True) == indicators_and_series(
                scope, start, end
            )
    assert cohort_tallies(beneficiary_scope(departement=other), *PERIODS[2], table=True)[0][
        "nouveaux_entrants"
    ]


def agents(journal):  # noqa: F811
    """Un agent par forme de périmètre : Département, territoire, État, partenaire, super-utilisateur."""
    departement = journal.departement
    partner = OrganisationFactory(kind=OrganisationKind.FRANCE_TRAVAIL, departement=departement)
    for person in journal.people[:30]:
        FollowUp.objects.create(beneficiary=person, organisation=partner, started_on=D(2026, 2, 1))
    state = OrganisationFactory(kind=OrganisationKind.ETAT, departement=departement)
    return {
        "département": MembershipFactory(organisation=departement).user,
        "territoire": MembershipFactory(organisation=departement, territory=journal.territories[0]).user,
        "État": MembershipFactory(organisation=state, role=Role.MANAGER).user,
        "partenaire": MembershipFactory(organisation=partner, role=Role.REFERENT).user,
        "super-utilisateur": UserFactory(is_superuser=True),
        "sans appartenance": UserFactory(),
    }, partner


def test_the_scope_on_stored_columns_selects_the_same_people(journal):  # noqa: F811
    cohort.refresh()
    users, partner = agents(journal)
    start, end = PERIODS[0]
    for name, user in users.items():
        for base in (Beneficiary.objects.countable_by(user), Beneficiary.objects.visible_to(user)):
            for scope in (
                base,
                beneficiary_scope(territory=journal.territories[0], base=base),
                beneficiary_scope(organisation=partner, period=(start, end), base=base),
            ):
                condition = stored_condition(scope)
                assert condition is not None, name
                for model in (CohortEntry, FirstDiagnosis):
                    assert sorted(model.objects.filter(condition).values_list("pk", flat=True)) == sorted(
                        model.objects.filter(beneficiary__in=scope).values_list("pk", flat=True)
                    ), name
                assert cohort_tallies(scope, start, end, table=True) == cohort_tallies(scope, start, end), (
                    name
                )


def test_a_scope_reading_other_columns_is_not_copied(journal):  # noqa: F811
    cohort.refresh()
    base = beneficiary_scope(departement=journal.departement)
    for scope in (
        base.filter(rsa_state="2"),  # une colonne non gardée
        base.filter(household__matricule__startswith="35"),  # une jointure
        base.exclude(territory=journal.territories[0]),  # une négation
    ):
        assert stored_condition(scope) is None
        # La table est alors filtrée par la table des personnes : mêmes chiffres.
        for start, end in PERIODS[:2]:
            assert cohort_tallies(scope, start, end, table=True) == cohort_tallies(scope, start, end)


def test_dashboard_cohort_queries_do_not_read_the_people_table(client, journal):  # noqa: F811
    client.force_login(MembershipFactory(organisation=journal.departement).user)
    client.get(reverse("indicators:dashboard"))  # la table est construite à la première lecture
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("indicators:dashboard"), {"debut": "2026-01-01", "fin": "2026-12-31"})
    assert response.status_code == 200
    cohort_reads = [
        q["sql"]
        for q in captured
        if "indicators_cohortentry" in q["sql"] and not q["sql"].lstrip().upper().startswith("WITH")
    ]
    assert cohort_reads
    for sql in cohort_reads:
        assert "beneficiaries_beneficiary" not in sql


def test_organisation_rows_keep_groups_of_the_scope_only(journal):  # noqa: F811
    """Un groupe sans entrée ni personne suivie garde sa ligne (à zéro) s'il a suivi une personne du
    périmètre dans la période ; un groupe qui ne suit que des personnes hors du périmètre n'en a pas."""
    start, end = PERIODS[1]
    departement = journal.departement
    quiet = OrganisationFactory(departement=departement, name="Sans entrée")
    elsewhere = OrganisationFactory(departement=departement, name="Hors périmètre")
    local = BeneficiaryFactory(departement=departement)  # aucune entrée, suivi clos dans la période
    FollowUp.objects.create(beneficiary=local, organisation=quiet, started_on=start, ended_on=end)
    stranger = BeneficiaryFactory(departement=DepartementFactory(departement_code="56"))
    FollowUp.objects.create(beneficiary=stranger, organisation=elsewhere, started_on=start)
    rows = {
        r.label: r for r in organisation_breakdown(beneficiary_scope(departement=departement), start, end)
    }
    assert "Hors périmètre" not in rows
    assert rows["Sans entrée"].values["nouveaux_entrants"] == 0
    assert rows["Sans entrée"].values["beneficiaires_suivis"] == 0
