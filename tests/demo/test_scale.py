"""Le territoire de démonstration à plus grande échelle : la chaîne d'orientation passe par les services pour un
échantillon de nouveaux entrants réparti sur toute la période ; les files de travail ont toutes du monde."""

import datetime

import pytest
from django.db.models import Count, Max, Min
from django.urls import reverse

from parcours.accounts.models import Organisation, OrganisationKind, User
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.demo import territory
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


def test_colleagues_share_the_people_once_a_portfolio_is_full(monkeypatch, client):
    # Un grand Département : au-delà de DEMO_PORTFOLIO personnes, les collègues du référent (même organisation,
    # même territoire, même rôle) prennent les suivantes ; aucun portefeuille ne dépasse la taille de la démo.
    monkeypatch.setattr(territory, "DEMO_PORTFOLIO", 20)
    summary = run_demo(beneficiaries=300, months=4, seed=11, orientation_sample=5)
    assert summary["collegues_referents"] > 0
    planned = ReferentAssignment.objects.filter(assigned_by__isnull=True)  # reprises du planificateur
    loads = planned.values("referent").annotate(n=Count("pk"))
    assert max(row["n"] for row in loads) <= 20
    main = User.objects.get(email="ft.redon@demo.parcours.fr")
    colleague = User.objects.get(email="ft.redon.2@demo.parcours.fr")
    assert planned.filter(referent=main).count() == 20
    assert planned.filter(referent=colleague).exists()
    [mine], [theirs] = main.memberships.all(), colleague.memberships.all()
    assert (theirs.organisation, theirs.role, theirs.territory) == (
        mine.organisation,
        mine.role,
        mine.territory,
    )
    # Le collègue se connecte avec le mot de passe de démonstration et voit ses personnes.
    response = client.post(
        reverse("login"), {"username": colleague.email, "password": territory.DEMO_PASSWORD}, follow=True
    )
    assert response.context["user"] == colleague
    person = planned.filter(referent=colleague).first().beneficiary
    assert client.get(reverse("beneficiary_detail", args=[person.pk])).status_code == 200


def test_the_default_territory_keeps_one_referent_per_organisation():
    summary = run_demo(beneficiaries=300, months=4, seed=11, orientation_sample=5)
    assert summary["collegues_referents"] == 0
    assert not User.objects.filter(email__regex=r"\.\d+@demo\.parcours\.fr$").exists()
