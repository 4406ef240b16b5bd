"""La table de la cohorte (``indicators.cohort``) donne exactement les chiffres calculés dans le journal
(``cohort_queryset`` sans ``table``), sur des données générées réalistes, et le reste quand de nouveaux
événements sont écrits (orientation, annulation, référent, contrat, nouvelle entrée, événement antidaté,
suppression d'une personne) : la page lit toujours un état à jour, sans compter ce qui ne bouge pas."""

import datetime
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Territory
from parcours.beneficiaries.models import Beneficiary
from parcours.indicators import cohort
from parcours.indicators.breakdowns import organisation_breakdown
from parcours.indicators.cohort_figures import FIGURES, counted_conditions
from parcours.indicators.definitions import (
    beneficiary_scope,
    cohort_aggregate,
    cohort_queryset,
    cohort_tallies,
    diagnostic_to_first_action_median,
    entries_of,
    indicators_and_series,
    new_entrant_cohort,
)
from parcours.indicators.models import CohortDirty, CohortEntry, FirstDiagnosis
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory, OrganisationFactory, TerritoryFactory

D = datetime.date
PATHWAYS = ("emploi", "socio_professionnel", "social", "")
PERIODS = [
    (D(2026, 1, 1), D(2026, 12, 31)),
    (D(2026, 3, 1), D(2026, 3, 31)),
    (D(2025, 6, 1), D(2027, 6, 30)),
]

pytestmark = pytest.mark.django_db


class Journal:
    """Écrit des parcours variés dans le journal (comme les imports et les pages les laissent)."""

    def __init__(self, departement, seed=7):
        self.rng = random.Random(seed)
        self.departement = departement
        self.territories = [TerritoryFactory(departement=departement) for _ in range(3)]
        self.decision = 1000

    def event(self, person, kind, on, **payload):
        return Event.objects.create(beneficiary=person, kind=kind, occurred_on=on, payload=payload)

    def orient(self, person, on, pathway=None):
        self.decision += 1
        pathway = self.rng.choice(PATHWAYS) if pathway is None else pathway
        kind = self.rng.choice(("oriented", "oriented", "reoriented"))
        self.event(person, kind, on, decision_id=self.decision, pathway=pathway)
        return self.decision

    def person(self, index):
        rng = self.rng
        person = BeneficiaryFactory(
            departement=self.departement,
            household__departement=self.departement,
            household__right__opened_on=D(2025, 12, 1) + datetime.timedelta(days=rng.randrange(200)),
            territory=rng.choice([*self.territories, None]),
        )
        day = datetime.timedelta
        t0 = D(2026, 1, 1) + day(days=rng.randrange(330))
        # Événements antérieurs à T0 : ne comptent pas.
        if rng.random() < 0.2:
            self.orient(person, t0 - day(days=rng.randrange(1, 60)))
        self.event(person, "new_entrant", t0, t0=t0.isoformat())
        if rng.random() < 0.7:
            self.event(person, "appointment_held", t0 + day(days=rng.randrange(0, 40)))
        if rng.random() < 0.75:
            notified = t0 + day(days=rng.randrange(0, 60))
            decision = self.orient(person, notified)
            if rng.random() < 0.1:  # orientation annulée, parfois remplacée
                self.event(person, "orientation_cancelled", notified + day(days=2), decision_id=decision)
                if rng.random() < 0.5:
                    self.orient(person, notified + day(days=rng.randrange(3, 30)))
        if rng.random() < 0.5:
            self.event(person, "referent_assigned", t0 + day(days=rng.randrange(0, 70)), referent_id=1)
        if rng.random() < 0.35:
            self.event(person, "contract_signed", t0 + day(days=rng.randrange(-10, 90)))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):  # diagnostics (parfois deux versions le même jour)
            diagnosed = t0 + day(days=rng.randrange(-20, 120))
            self.event(person, "diagnosed", diagnosed)
            if rng.random() < 0.3:
                self.event(person, "diagnosed", diagnosed)
        if rng.random() < 0.4:
            kind = rng.choice(("prescription_accepted", "activity_started", "contract_signed"))
            self.event(person, kind, t0 + day(days=rng.randrange(0, 150)))
        if rng.random() < 0.1:  # seconde entrée (suspension de plus de 12 mois, par exemple)
            again = t0 + day(days=rng.randrange(30, 400))
            self.event(person, "new_entrant", again, t0=again.isoformat())
            if rng.random() < 0.5:
                self.orient(person, again + day(days=rng.randrange(0, 30)))
        return person


@pytest.fixture
def journal(departement):
    journal = Journal(departement)
    journal.people = [journal.person(i) for i in range(120)]
    return journal


def scopes(journal):
    yield beneficiary_scope(departement=journal.departement)
    yield beneficiary_scope(departement=journal.departement, territory=journal.territories[0])


def assert_table_matches_the_journal(journal):
    for scope in scopes(journal):
        for start, end in PERIODS:
            assert cohort_tallies(scope, start, end, table=True) == cohort_tallies(scope, start, end)
            # Le jeu complet (dont le délai diagnostic → première action, lu dans ``FirstDiagnosis``).
            assert indicators_and_series(scope, start, end, table=True) == indicators_and_series(
                scope, start, end
            )
            in_table = new_entrant_cohort(scope, start, end, table=True)
            in_journal = new_entrant_cohort(scope, start, end)
            key = lambda e: (e.beneficiary_id, e.t0)  # noqa: E731
            assert sorted(in_table, key=key) == sorted(in_journal, key=key)
            # Chaque chiffre du tableau de bord (tunnel, graphiques, listes) : mêmes personnes.
            for figure in FIGURES:
                listed = sorted(
                    cohort_queryset(scope, start, end, table=True)
                    .filter(figure.condition)
                    .values_list("beneficiary_id", "occurred_on")
                )
                reference = sorted(
                    cohort_queryset(scope, start, end)
                    .filter(figure.condition)
                    .values_list("beneficiary_id", "occurred_on")
                )
                assert listed == reference, figure.key


def test_the_table_gives_the_journal_figures_on_generated_data(journal):
    assert CohortEntry.objects.count() == 0  # rien n'est lu avant la première lecture
    assert_table_matches_the_journal(journal)
    assert FirstDiagnosis.objects.exists()
    start, end = PERIODS[2]
    scope = beneficiary_scope(departement=journal.departement)
    assert diagnostic_to_first_action_median(scope, start, end, table=True) is not None
    assert CohortEntry.objects.count() == Event.objects.filter(kind="new_entrant").count()
    assert not CohortDirty.objects.exists()


def test_the_table_follows_new_events(journal):
    assert_table_matches_the_journal(journal)
    rng = random.Random(3)
    day = datetime.timedelta
    people = rng.sample(journal.people, 40)
    for person in people[:10]:  # orientation notifiée, dont des parcours vides
        t0 = person.events.filter(kind="new_entrant").earliest("occurred_on").occurred_on
        journal.orient(person, t0 + day(days=rng.randrange(0, 30)))
    for person in people[10:15]:  # annulation de la dernière orientation
        last = person.events.filter(kind__in=("oriented", "reoriented")).order_by("-pk").first()
        if last is not None:
            journal.event(
                person, "orientation_cancelled", last.occurred_on, decision_id=last.payload["decision_id"]
            )
    for person in people[15:20]:
        journal.event(person, "referent_assigned", D(2026, 6, 1), referent_id=2)
        journal.event(person, "contract_signed", D(2026, 6, 20))
    for person in people[32:40]:  # diagnostic (parfois antidaté, avant le premier) puis action
        journal.event(person, "diagnosed", D(2026, 2, 1) + day(days=rng.randrange(0, 200)))
        journal.event(person, "activity_started", D(2026, 9, 1))
    for person in people[20:25]:  # nouvelle entrée, et un événement antidaté avant elle
        journal.event(person, "new_entrant", D(2026, 10, 1), t0="2026-10-01")
        journal.orient(person, D(2026, 9, 1))
    for person in people[25:28]:  # la personne est supprimée (ses événements et ses entrées avec elle)
        Beneficiary.objects.filter(pk=person.pk).delete()
    journal.people = [p for p in journal.people if p not in people[25:28]]
    for person in people[28:32]:  # changement de territoire : lu sur la personne, sans recalcul
        Beneficiary.objects.filter(pk=person.pk).update(territory=journal.territories[0])
    assert CohortDirty.objects.exists()
    assert_table_matches_the_journal(journal)
    assert not CohortDirty.objects.exists()


def test_events_are_marked_in_their_transaction_and_refresh_reads_them(journal):
    person = journal.people[0]
    cohort.refresh()
    assert cohort.is_fresh()
    journal.event(person, "referent_assigned", D(2026, 12, 1), referent_id=3)
    assert list(CohortDirty.objects.values_list("beneficiary_id", flat=True)) == [person.pk]
    assert not cohort.is_fresh()
    assert cohort.refresh() == 1
    assert cohort.is_fresh()
    assert cohort.refresh() == 0


def test_a_full_rebuild_gives_the_same_rows(journal, monkeypatch):
    cohort.refresh()
    rows = sorted(CohortEntry.objects.values_list())
    cohort.rebuild()
    assert sorted(CohortEntry.objects.values_list()) == rows
    # Beaucoup de personnes à recalculer : la table est refaite d'un coup, mêmes lignes.
    monkeypatch.setattr(cohort, "REBUILD_ABOVE", 10)
    for person in journal.people[:20]:
        journal.event(person, "contract_signed", D(2026, 11, 30))
    cohort.refresh()
    assert_table_matches_the_journal(journal)


def test_refresh_query_count_does_not_grow_with_people(journal, monkeypatch):
    cohort.refresh()

    def queries(people):
        for person in people:
            journal.event(person, "appointment_held", D(2026, 12, 2))
        with CaptureQueriesContext(connection) as captured:
            cohort.refresh()
        return len(captured)

    few = queries(journal.people[:2])
    assert queries(journal.people[:60]) == few
    assert_table_matches_the_journal(journal)


def test_dashboard_aggregate_counts_each_figure_like_its_list(journal):
    scope = beneficiary_scope(departement=journal.departement)
    start, end = PERIODS[0]
    _values, _series, counts = cohort_aggregate(
        cohort_queryset(scope, start, end, table=True), start, end, counted_conditions()
    )
    for figure in FIGURES:
        entries = entries_of(cohort_queryset(scope, start, end).filter(figure.condition))
        assert counts[figure.key] == len(entries), figure.key


def test_breakdown_rows_match_the_dashboard_filtered_on_each_organisation(journal):
    """Les lignes par organisation (une requête groupée sur la table) valent le tableau de bord filtré."""
    from parcours.beneficiaries.models import FollowUp

    partners = [OrganisationFactory(departement=journal.departement) for _ in range(2)]
    for index, person in enumerate(journal.people[:80]):
        FollowUp.objects.create(
            beneficiary=person,
            organisation=partners[index % 2],
            started_on=D(2026, 1, 1) + datetime.timedelta(days=index),
            ended_on=D(2026, 3, 1) if index % 5 == 0 else None,
        )
    scope = beneficiary_scope(departement=journal.departement)
    for start, end in PERIODS[:2]:
        rows = {r.organisation_id: r for r in organisation_breakdown(scope, start, end)}
        from parcours.indicators.definitions import compute_indicators

        for partner in partners:
            filtered = beneficiary_scope(
                departement=journal.departement, organisation=partner, period=(start, end)
            )
            expected = compute_indicators(filtered, start, end)
            for key, value in rows[partner.pk].values.items():
                assert value == expected[key], (partner, key)
        total = compute_indicators(scope, start, end)
        everyone = next(r for r in rows.values() if r.kind == "total")
        for key, value in everyone.values.items():
            assert value == total[key], key


def test_dashboard_and_drilldown_read_a_fresh_table(client, manager, journal):
    client.force_login(manager)
    params = {"debut": "2026-01-01", "fin": "2026-12-31"}
    before = client.get(reverse("indicators:dashboard"), params).context["figures"][0]["value"]
    newcomer = journal.person(999)
    after = client.get(reverse("indicators:dashboard"), params).context["figures"][0]["value"]
    entries = newcomer.events.filter(kind="new_entrant", occurred_on__year=2026).count()
    assert after == before + entries
    response = client.get(reverse("indicators:people"), {**params, "figure": "nouveaux_entrants"})
    assert response.context["page_obj"].paginator.count == after
    territory = Territory.objects.get(pk=journal.territories[0].pk)
    response = client.get(reverse("indicators:dashboard"), {**params, "territoire": territory.pk})
    scope = beneficiary_scope(departement=journal.departement, territory=territory)
    assert (
        response.context["figures"][0]["value"]
        == cohort_tallies(scope, D(2026, 1, 1), D(2026, 12, 31))[0]["nouveaux_entrants"]
    )
