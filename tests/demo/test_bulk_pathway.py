"""La démonstration écrit en masse les suivis repris (``parcours.demo.territory.open_in_bulk``) : exactement les
lignes et les événements du journal qu'écrivent ``orientation.assign_referent`` et ``pathway.open_follow_up``
pour les mêmes personnes (désignation acceptée, au-delà de la taille cible, refusée hors territoire ou
portefeuille plein, suivi sans référent)."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.demo.territory import _PlannedFollowUp, create_territory, open_in_bulk, open_through_services
from parcours.journal.models import Event
from parcours.orientation.models import CapPolicy, PortfolioCap, ReferentAssignment
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db


def _snapshot(since):
    """Lignes écrites, sans identifiants ni horodatages (les identifiants cités deviennent la personne)."""
    assignments = {a.pk: a.beneficiary_id for a in ReferentAssignment.objects.all()}
    return {
        "assignments": sorted(
            ReferentAssignment.objects.values_list(
                "beneficiary_id",
                "referent_id",
                "organisation_id",
                "started_on",
                "ended_on",
                "end_reason",
                "assigned_by_id",
                "over_cap",
            )
        ),
        "follow_ups": sorted(
            FollowUp.objects.values_list(
                "beneficiary_id",
                "organisation_id",
                "referent_id",
                "started_on",
                "ended_on",
                "end_reason",
                "cause",
                "end_cause",
            )
        ),
        "events": sorted(
            (
                e.beneficiary_id,
                e.kind,
                e.occurred_on,
                e.actor_id,
                e.organisation_id,
                e.batch_id,
                sorted((k, assignments[v] if k == "assignment_id" else v) for k, v in e.payload.items()),
            )
            for e in Event.objects.all()
        ),
        "touched": sorted(Beneficiary.objects.filter(updated_at__gt=since).values_list("pk", flat=True)),
    }


def _written(function, planned):
    """Ce que ``function`` écrit, puis annulé."""
    since = timezone.now()
    with transaction.atomic():
        function(planned)
        snapshot = _snapshot(since)
        transaction.set_rollback(True)
    return snapshot


def test_bulk_follow_ups_write_what_the_pathway_functions_write():
    demo = create_territory()
    departement, orgs, agents = demo.departement, demo.organisations, demo.agents
    redon, stmalo = demo.territories["REDON"], demo.territories["STMALO"]
    PortfolioCap.objects.create(organisation=orgs["ft_redon"], cap=2, policy=CapPolicy.WARN)
    PortfolioCap.objects.create(organisation=orgs["ccas"], cap=1, policy=CapPolicy.REFUSE)
    people = [
        BeneficiaryFactory(departement=departement, territory=territory)
        for territory in [redon, redon, stmalo, None, redon, redon, redon, stmalo, redon, stmalo]
    ]
    day = datetime.date(2026, 3, 2)
    ft = (orgs["ft_redon"], agents["ft.redon@demo.parcours.fr"])
    ccas = (orgs["ccas"], agents["ccas.redon@demo.parcours.fr"])
    dep_redon = (departement, agents["referent.redon@demo.parcours.fr"])
    plan = [
        (people[0], *dep_redon),  # désigné
        (people[1], *ft),  # désigné
        (people[2], *dep_redon),  # hors territoire : suivi sans référent
        (people[3], *dep_redon),  # territoire inconnu : suivi sans référent
        (people[4], *ft),  # désigné (taille cible atteinte ensuite)
        (people[5], *ft),  # au-delà de la taille cible : désigné avec avertissement
        (people[6], *ccas),  # désigné
        (people[7], *ccas),  # portefeuille plein, refus : suivi sans référent
        (people[8], orgs["mission_locale"], None),  # orientation connue, pas de référent
        (people[9], orgs["association"], agents["association@demo.parcours.fr"]),
    ]
    planned = [
        _PlannedFollowUp(day + datetime.timedelta(days=i // 3), person.pk, organisation, referent)
        for i, (person, organisation, referent) in enumerate(plan)
    ]
    through_services = _written(open_through_services, planned)
    in_bulk = _written(open_in_bulk, planned)
    assert in_bulk == through_services
    assert len(in_bulk["follow_ups"]) == 10 and len(in_bulk["assignments"]) == 6
    assert [a[-1] for a in in_bulk["assignments"]].count(True) == 1  # au-delà de la taille cible
    assert {e[1] for e in in_bulk["events"]} == {"follow_up_opened", "referent_assigned"}
    assert len(in_bulk["touched"]) == 10
