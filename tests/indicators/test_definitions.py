"""Chaque indicateur épinglé sur de petits scénarios construits par les services (flux, orientation,
référent, rendez-vous, diagnostic, contrat)."""

import datetime
from decimal import Decimal

import pytest

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind, EmploymentCheck, Exit
from parcours.accounts.models import Territory
from parcours.beneficiaries.models import Beneficiary
from parcours.indicators.definitions import (
    CONTRACT_KEYS,
    INDICATOR_IDS,
    beneficiary_scope,
    cohort_indicators,
    cohort_series,
    cohort_tallies,
    compute_indicators,
    indicators_and_series,
    new_entrant_cohort,
)
from parcours.orientation import services as orientation
from tests.factories import DepartementFactory

from .conftest import D, person, row

pytestmark = pytest.mark.django_db

MARCH = (D(2026, 3, 1), D(2026, 3, 31))


def compute(departement, start, end, **kw):
    return compute_indicators(beneficiary_scope(departement=departement), start, end, **kw)


@pytest.fixture
def annex4(flux, orient):
    """Annexe 4 : droit ouvert le 08/02, flux reçu le 01/03 (T0). Alice notifiée le 15/03 (à temps),
    Bruno le 16/03 (en retard), Chloé pas encore orientée."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"))
    orient(person("alice"), D(2026, 3, 15), "emploi")
    orient(person("bruno"), D(2026, 3, 16), "social")


def test_annex4_example_15_03_is_in_time_16_03_is_late(departement, annex4):
    values = compute(departement, *MARCH)

    assert person("alice").new_entrant_t0 == D(2026, 3, 1)
    assert values["nouveaux_entrants"] == 3
    assert values["nouveaux_entrants_orientes_15j"] == 1
    assert values["taux_orientation_15j"] == pytest.approx(1 / 3)
    assert values["delai_median_t0_orientation_jours"] == 14.5  # 14 et 15 jours
    assert values["repartition_parcours"] == {
        "emploi": 1,
        "socio_professionnel": 0,
        "social": 1,
        "non_oriente": 1,
    }
    assert values["distribution_delai_t0_orientation"] == {
        "objectif": 1,
        "delai_legal": 1,
        "au_dela": 0,
        "non_oriente": 1,
    }


def test_every_contract_key_is_present_in_order(departement, annex4):
    values = compute(departement, *MARCH)
    assert list(values) == INDICATOR_IDS
    assert INDICATOR_IDS[:13] == [
        "nouveaux_entrants",
        "nouveaux_entrants_orientes_15j",
        "taux_orientation_15j",
        "delai_median_t0_orientation_jours",
        "delai_median_ouverture_droit_premier_entretien_jours",
        "delai_median_diagnostic_premiere_action_jours",
        "repartition_parcours",
        "contrats_signes",
        "part_accompagnement_intensif",
        "sortants",
        "retours_emploi",
        "taux_retour_emploi_durable_6m",
        "beneficiaires_suivis",
    ]
    assert set(values["contrats_signes"]) == {"cer", "ppae", "contrat_engagement"}


def test_a_new_entrant_belongs_to_the_period_of_its_t0(departement, annex4):
    february = compute(departement, D(2026, 2, 1), D(2026, 2, 28))
    april = compute(departement, D(2026, 4, 1), D(2026, 4, 30))
    assert february["nouveaux_entrants"] == 0
    assert april["nouveaux_entrants"] == 0
    # Le 16/03 n'est pas dans l'objectif, même si la période suivante est demandée.
    assert compute(departement, D(2026, 3, 1), D(2026, 3, 1))["nouveaux_entrants_orientes_15j"] == 1


def test_no_population_gives_null_rates_and_delays_and_zero_counts(departement):
    values = compute(departement, *MARCH)

    for key in (
        "taux_orientation_15j",
        "delai_median_t0_orientation_jours",
        "delai_median_ouverture_droit_premier_entretien_jours",
        "delai_median_diagnostic_premiere_action_jours",
        "part_accompagnement_intensif",
        "taux_retour_emploi_durable_6m",
        "delai_median_orientation_contrat_jours",
        "part_nouveaux_entrants_avec_referent",
        "part_nouveaux_entrants_avec_contrat",
    ):
        assert values[key] is None, key
    for key in ("nouveaux_entrants", "nouveaux_entrants_orientes_15j", "sortants", "retours_emploi"):
        assert values[key] == 0, key
    assert values["beneficiaires_suivis"] == 0
    assert values["repartition_parcours"] == dict.fromkeys(
        ["emploi", "socio_professionnel", "social", "non_oriente"], 0
    )
    assert values["contrats_signes"] == dict.fromkeys(CONTRACT_KEYS, 0)


def test_the_target_is_a_setting_per_departement_and_a_parameter(departement, annex4):
    assert compute(departement, *MARCH, target_days=16)["nouveaux_entrants_orientes_15j"] == 2
    departement.delay_overrides = {"orientation_target_days": 30}
    departement.save()
    values = compute(departement, *MARCH)
    assert values["nouveaux_entrants_orientes_15j"] == 2
    assert values["distribution_delai_t0_orientation"]["objectif"] == 2


def test_a_cancelled_orientation_does_not_count(departement, flux, orient, manager):
    flux(D(2026, 3, 1), row("alice"))
    alice = person("alice")
    decision = orient(alice, D(2026, 3, 5), "emploi")
    orientation.cancel_orientation(decision, author=manager, reason="Erreur de dossier", on=D(2026, 3, 6))
    orient(alice, D(2026, 3, 20), "social")

    values = compute(departement, *MARCH)
    assert values["nouveaux_entrants_orientes_15j"] == 0
    assert values["delai_median_t0_orientation_jours"] == 19
    assert values["repartition_parcours"]["social"] == 1


def test_reorientation_keeps_the_first_orientation_and_is_counted_once(departement, flux, orient, manager):
    flux(D(2026, 3, 1), row("alice"))
    alice = person("alice")
    orient(alice, D(2026, 3, 10), "emploi")
    request = orientation.request_reorientation(
        alice, pathway="social", reason="Freins de santé", author=manager, requested_on=D(2026, 3, 20)
    )
    orientation.decide_reorientation(
        request,
        accept=True,
        author=manager,
        decided_on=D(2026, 3, 25),
        notified_on=D(2026, 3, 25),
        organisation=departement,
    )

    values = compute(departement, *MARCH)
    assert values["nouveaux_entrants"] == 1
    assert values["nouveaux_entrants_orientes_15j"] == 1
    assert values["delai_median_t0_orientation_jours"] == 9
    assert values["repartition_parcours"] == {
        "emploi": 1,
        "socio_professionnel": 0,
        "social": 0,
        "non_oriente": 0,
    }


def test_suspension_under_12_months_is_not_a_new_entry_over_12_months_is(
    departement, flux, france_travail, referent, manager
):
    flux(D(2025, 1, 5), row("alice", opened="02/01/2025"), row("bruno", opened="02/01/2025"))
    for name in ("alice", "bruno"):
        orientation.assign_referent(
            person(name),
            referent=referent,
            organisation=france_travail,
            author=manager,
            started_on=D(2025, 1, 10),
        )
    # Les deux droits sont suspendus en février 2025.
    flux(D(2025, 2, 5), row("alice", state="3"), row("bruno", state="3"))
    # Alice reprend après 6 mois : elle retrouve son référent, ce n'est pas une nouvelle entrée.
    flux(D(2025, 8, 5), row("alice"), row("bruno", state="3"))
    # Bruno reprend après plus de 12 mois : l'accompagnement était clos, c'est un nouvel entrant.
    flux(D(2026, 3, 5), row("alice"), row("bruno"))

    assert compute(departement, D(2025, 8, 1), D(2025, 8, 31))["nouveaux_entrants"] == 0
    values = compute(departement, *MARCH)
    assert values["nouveaux_entrants"] == 1
    assert [e.beneficiary_id for e in new_entrant_cohort(beneficiary_scope(), *MARCH)] == [person("bruno").pk]
    # Alice est toujours suivie fin mars ; le suivi de Bruno a été clos à sa reprise.
    assert values["beneficiaires_suivis"] == 1
    assert compute(departement, D(2025, 1, 1), D(2025, 1, 31))["nouveaux_entrants"] == 2


def test_people_leaving_mid_period(departement, flux, france_travail, referent, manager, orient):
    flux(D(2026, 1, 5), row("alice", opened="02/01/2026"), row("bruno", opened="02/01/2026"), row("chloe"))
    for name in ("alice", "bruno"):
        orient(person(name), D(2026, 1, 12), "emploi", organisation=france_travail)
        orientation.assign_referent(
            person(name),
            referent=referent,
            organisation=france_travail,
            author=manager,
            started_on=D(2026, 1, 12),
        )
    # Bruno est radié au flux du 05/03 (droit clos) ; Chloé n'est plus soumise aux droits et devoirs.
    flux(D(2026, 3, 5), row("alice"), row("bruno", state="5"), row("chloe", sdd="0"))

    march = compute(departement, *MARCH)
    assert march["sortants"] == 2
    assert march["beneficiaires_suivis"] == 1  # le suivi de Bruno a été clos par la radiation
    february = compute(departement, D(2026, 2, 1), D(2026, 2, 28))
    assert february["sortants"] == 0
    assert february["beneficiaires_suivis"] == 2
    # Sur le premier trimestre, les trois entrées de janvier restent comptées.
    quarter = compute(departement, D(2026, 1, 1), MARCH[1])
    assert quarter["nouveaux_entrants"] == 3
    assert quarter["nouveaux_entrants_orientes_15j"] == 2


def test_exits_to_employment_and_durable_return_at_6_months(departement, flux):
    flux(D(2025, 6, 2), row("alice"), row("bruno"), row("chloe"), row("david"))
    alice, bruno, chloe, david = (person(n) for n in ("alice", "bruno", "chloe", "david"))
    exits = {
        alice: Exit.objects.create(
            beneficiary=alice, reason="emploi", exited_on=D(2025, 9, 1), contract_type="cdi"
        ),
        bruno: Exit.objects.create(
            beneficiary=bruno,
            reason="emploi",
            exited_on=D(2025, 9, 15),
            contract_type="cdd",
            contract_months=3,
        ),
        chloe: Exit.objects.create(beneficiary=chloe, reason="formation", exited_on=D(2025, 9, 20)),
    }
    Exit.objects.create(beneficiary=david, reason="emploi", exited_on=D(2025, 10, 2), contract_type="interim")
    EmploymentCheck.objects.create(
        exit=exits[alice], checked_on=D(2026, 3, 2), still_employed=True, is_six_month=True, durable=True
    )
    EmploymentCheck.objects.create(
        exit=exits[bruno], checked_on=D(2026, 3, 16), still_employed=False, is_six_month=True, durable=False
    )

    september = compute(departement, D(2025, 9, 1), D(2025, 9, 30))
    assert september["sortants"] == 3
    assert september["retours_emploi"] == 2
    assert september["retours_emploi_par_contrat"]["cdi"] == 1
    assert september["retours_emploi_par_contrat"]["cdd"] == 1
    assert september["taux_retour_emploi_durable_6m"] == 0.5
    # David : sorti en octobre, pas encore vérifié à 6 mois → taux vide, pas 0.
    october = compute(departement, D(2025, 10, 1), D(2025, 10, 31))
    assert october["retours_emploi"] == 1
    assert october["taux_retour_emploi_durable_6m"] is None


def _signed_contract(beneficiary, author, on, kind=ContractKind.CER, hours=None):
    contract = accompaniment.create_contract(beneficiary, author=author, kind=kind, weekly_hours=hours)
    return accompaniment.sign_contract(contract, actor=author, on=on)


def test_referent_contract_shares_delays_and_intensive_accompaniment(
    departement, flux, orient, france_travail, referent, manager
):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"), row("david"))
    alice, bruno, chloe = person("alice"), person("bruno"), person("chloe")
    for beneficiary in (alice, bruno, chloe):
        orient(beneficiary, D(2026, 3, 10), organisation=france_travail)
        orientation.assign_referent(
            beneficiary,
            referent=referent,
            organisation=france_travail,
            author=manager,
            started_on=D(2026, 3, 10),
        )
    _signed_contract(alice, referent, D(2026, 3, 30), hours=Decimal("18"))  # 20 jours après l'orientation
    _signed_contract(bruno, referent, D(2026, 4, 19), kind=ContractKind.PPAE, hours=Decimal("8"))  # 40 jours
    old = _signed_contract(chloe, referent, D(2026, 3, 20), hours=Decimal("20"))
    accompaniment.end_contract(old, actor=referent, on=D(2026, 3, 25), reason="Déménagement")

    march = compute(departement, *MARCH)
    assert march["part_nouveaux_entrants_avec_referent"] == 0.75
    assert march["part_nouveaux_entrants_avec_contrat"] == 0.75  # contrats connus à ce jour
    assert march["delai_median_orientation_contrat_jours"] == 20  # 10, 20 et 40 jours
    assert march["contrats_signes"] == {"cer": 2, "ppae": 0, "contrat_engagement": 0}
    # Fin mars, seul le contrat d'Alice est en cours (celui de Chloé est clos) : 18 h ≥ 15 h.
    assert march["part_accompagnement_intensif"] == 1
    april = compute(departement, D(2026, 4, 1), D(2026, 4, 30))
    assert april["contrats_signes"] == {"cer": 0, "ppae": 1, "contrat_engagement": 0}
    assert april["part_accompagnement_intensif"] == 0.5  # Alice 18 h, Bruno 8 h


def test_delay_from_right_opening_to_first_interview(departement, flux, held_appointment):
    flux(D(2026, 3, 1), row("alice"), row("bruno", opened="20/02/2026"), row("chloe"))
    held_appointment(person("alice"), D(2026, 3, 10))  # 08/02 → 10/03 : 30 jours
    held_appointment(person("bruno"), D(2026, 3, 12))  # 20/02 → 12/03 : 20 jours
    held_appointment(person("alice"), D(2026, 3, 20))  # second entretien : ignoré

    values = compute(departement, *MARCH)
    assert values["delai_median_ouverture_droit_premier_entretien_jours"] == 25


def test_delay_from_first_diagnostic_to_first_action(departement, flux, referent, manager):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"))
    alice, bruno, chloe = person("alice"), person("bruno"), person("chloe")
    for beneficiary, on in ((alice, D(2026, 3, 5)), (bruno, D(2026, 3, 9)), (chloe, D(2026, 3, 12))):
        accompaniment.save_diagnostic(beneficiary, author=referent, can_see_sensitive=True, conducted_on=on)
    accompaniment.save_diagnostic(alice, author=referent, can_see_sensitive=True, conducted_on=D(2026, 3, 20))
    _signed_contract(alice, referent, D(2026, 3, 25))  # 20 jours après le premier diagnostic
    _signed_contract(bruno, referent, D(2026, 3, 19))  # 10 jours ; Chloé : pas encore d'action

    values = compute(departement, *MARCH)
    assert values["delai_median_diagnostic_premiere_action_jours"] == 15
    assert (
        compute(departement, D(2026, 4, 1), D(2026, 4, 30))["delai_median_diagnostic_premiere_action_jours"]
        is None
    )


def test_territory_and_departement_scopes(departement, flux, orient):
    flux(D(2026, 3, 1), row("alice"), row("bruno", commune="vitre"), row("chloe", commune="vitre"))
    orient(person("bruno"), D(2026, 3, 3))
    redon = Territory.objects.get(code="REDON")
    vitre = Territory.objects.get(code="VITRE")

    assert compute_indicators(beneficiary_scope(territory=redon), *MARCH)["nouveaux_entrants"] == 1
    values = compute_indicators(beneficiary_scope(departement=departement, territory=vitre), *MARCH)
    assert (values["nouveaux_entrants"], values["taux_orientation_15j"]) == (2, 0.5)
    other = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    assert compute_indicators(beneficiary_scope(departement=other), *MARCH)["nouveaux_entrants"] == 0
    visible = Beneficiary.objects.filter(pk=person("alice").pk)
    assert compute_indicators(beneficiary_scope(base=visible), *MARCH)["nouveaux_entrants"] == 1


def test_monthly_series(departement, flux, orient):
    flux(D(2026, 1, 5), row("alice"))
    flux(D(2026, 3, 2), row("alice"), row("bruno"), row("chloe"))
    orient(person("bruno"), D(2026, 3, 4))
    scope = beneficiary_scope(departement=departement)
    values, series = indicators_and_series(scope, D(2026, 1, 1), D(2026, 3, 31))
    assert values == compute_indicators(scope, D(2026, 1, 1), D(2026, 3, 31))
    assert series == [
        {
            "mois": "2026-01",
            "nouveaux_entrants": 1,
            "nouveaux_entrants_orientes_15j": 0,
            "taux_orientation_15j": 0,
        },
        {
            "mois": "2026-02",
            "nouveaux_entrants": 0,
            "nouveaux_entrants_orientes_15j": 0,
            "taux_orientation_15j": None,
        },
        {
            "mois": "2026-03",
            "nouveaux_entrants": 2,
            "nouveaux_entrants_orientes_15j": 1,
            "taux_orientation_15j": 0.5,
        },
    ]


def test_period_must_be_ordered(departement):
    with pytest.raises(ValueError, match="fin précède"):
        compute(departement, D(2026, 3, 31), D(2026, 3, 1))


def test_dates_are_real_dates(departement, annex4):
    entry = new_entrant_cohort(beneficiary_scope(), *MARCH)[0]
    assert isinstance(entry.t0, datetime.date)
    assert entry.right_opened_on == D(2026, 2, 8)


def test_counting_listed_entries_agrees_with_counting_in_the_database(departement, flux, orient, manager):
    """Les répartitions par organisation comptent des entrées lues (``new_entrant_cohort``), le tableau de bord
    compte dans la base (``cohort_tallies``) : mêmes chiffres, y compris orientation annulée, médianes d'un
    effectif pair et délai au-delà de l'objectif."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"), row("david"))
    orient(person("alice"), D(2026, 3, 15), "emploi")
    decision = orient(person("bruno"), D(2026, 3, 5), "social")
    orientation.cancel_orientation(decision, author=manager, reason="Erreur", on=D(2026, 3, 6))
    orient(person("bruno"), D(2026, 4, 20), "socio_professionnel")
    orient(person("chloe"), D(2026, 3, 2), "social")
    scope = beneficiary_scope(departement=departement)
    in_database, _series = cohort_tallies(scope, *MARCH)
    listed = cohort_indicators(new_entrant_cohort(scope, *MARCH))
    assert listed == in_database
    assert in_database["distribution_delai_t0_orientation"] == {
        "objectif": 2,
        "delai_legal": 0,
        "au_dela": 1,
        "non_oriente": 1,
    }
    assert in_database["repartition_parcours"]["social"] == 1  # l'orientation annulée de Bruno ne compte pas
    assert in_database["delai_median_t0_orientation_jours"] == 14  # 1, 14, 50 jours


def test_the_monthly_series_of_a_cohort_already_read_agrees_with_the_database(departement, flux, orient):
    """Le tableau de bord lit la cohorte une fois et en tire sa série mensuelle (``cohort_series``) : mêmes
    chiffres que la série comptée par la base, mois sans entrée compris."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    flux(D(2026, 5, 4), row("chloe"), row("david"))
    orient(person("alice"), D(2026, 3, 5), "emploi")
    orient(person("bruno"), D(2026, 4, 30), "social")  # au-delà de l'objectif
    orient(person("chloe"), D(2026, 5, 10), "social")
    scope = beneficiary_scope(departement=departement)
    period = (D(2026, 3, 1), D(2026, 5, 31))
    in_database, series = cohort_tallies(scope, *period)
    entries = new_entrant_cohort(scope, *period)
    assert cohort_series(entries, *period) == series
    assert [m["nouveaux_entrants"] for m in series] == [2, 0, 2]
    assert [m["nouveaux_entrants_orientes_15j"] for m in series] == [1, 0, 1]
    assert cohort_indicators(entries) == in_database
