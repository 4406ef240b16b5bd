"""Le territoire de démonstration à plus grande échelle : la chaîne d'orientation passe par les services pour un
échantillon de nouveaux entrants réparti sur toute la période ; les files de travail ont toutes du monde."""

import datetime

import pytest
from django.db.models import Max, Min

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.demo.territory import default_months, run_demo
from parcours.orientation import queues
from parcours.orientation.models import Invitation, ReferentAssignment

pytestmark = pytest.mark.django_db


def test_every_orientation_queue_has_people():
    # Dates fixes (le dernier flux est arrivé au début du mois, trois semaines avant « aujourd'hui ») : les mêmes
    # files quel que soit le jour où le test tourne.
    summary = run_demo(
        beneficiaries=600,
        months=4,
        seed=11,
        end_month=datetime.date(2026, 10, 1),
        today=datetime.date(2026, 10, 31),
        orientation_sample=None,
    )
    departement = Organisation.objects.get(kind=OrganisationKind.DEPARTEMENT)
    counts = queues.queue_counts(Beneficiary.objects.filter(departement=departement))
    sizes = {name: int(getattr(count, "value", count)) for name, count in counts.items()}
    assert all(sizes.values()), sizes
    assert summary["orientation"]["rendez_vous_a_saisir"] > 0
    # Portefeuilles : les référents des partenaires suivent des personnes.
    assert ReferentAssignment.objects.filter(ended_on__isnull=True).values("referent").distinct().count() >= 5
    assert set(summary["durees"]) >= {"imports", "suivis_repris", "orientation"}


def test_orientation_sample_is_spread_over_the_period():
    summary = run_demo(beneficiaries=300, months=6, seed=11, orientation_sample=20)
    assert summary["orientation"]["nouveaux_entrants"] == 20
    invited = Invitation.objects.values("beneficiary")
    walked = Beneficiary.objects.filter(pk__in=invited).aggregate(
        first=Min("new_entrant_t0"), last=Max("new_entrant_t0")
    )
    assert (walked["last"] - walked["first"]).days > 90
    # Les autres nouveaux entrants gardent le suivi repris ou attendent dans les files.
    others = Beneficiary.objects.filter(new_entrant_t0__isnull=False).exclude(pk__in=invited)
    assert FollowUp.objects.filter(beneficiary__in=others).exists()


def test_large_departements_default_to_six_months_of_flux():
    assert default_months(1500) == default_months(50_000) == 18
    assert default_months(150_000) == 6
