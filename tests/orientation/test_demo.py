import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment.models import Contract, DiagnosticVersion
from parcours.accounts.models import Organisation, OrganisationKind, User
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.demo.territory import run_demo
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from parcours.journal.models import Event
from parcours.orientation.models import (
    Appointment,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    ReferentAssignment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return run_demo(beneficiaries=300, months=6, seed=11)


def test_new_entrants_go_through_the_orientation_pipeline(demo):
    summary = demo["orientation"]
    assert summary["nouveaux_entrants"] == Beneficiary.objects.filter(new_entrant_t0__isnull=False).count()
    assert "etapes_refusees" not in summary
    notified = OrientationDecision.objects.filter(status="notified")
    assert notified.count() == summary["orientations"] > 0
    assert {"emploi", "socio_professionnel", "social"} == set(notified.values_list("pathway", flat=True))
    assert {o.kind for o in Organisation.objects.filter(orientation_decisions__isnull=False)} >= {
        OrganisationKind.FRANCE_TRAVAIL,
        OrganisationKind.DEPARTEMENT,
    }
    statuses = set(Invitation.objects.values_list("status", flat=True))
    assert {InvitationStatus.ANSWERED, InvitationStatus.EXPIRED} <= statuses
    assert Invitation.objects.filter(reminded_on__isnull=False).exists()
    assert set(Appointment.objects.values_list("attendance", flat=True)) >= {"seen", "no_show"}
    assert DiagnosticVersion.objects.exists()
    # Le référent est un agent de l'organisation d'orientation, et son suivi est ouvert chez elle.
    # (les désignations sans auteur sont celles des suivis repris de l'ancien logiciel, voir demo/territory.py)
    assignments = ReferentAssignment.objects.select_related("referent", "organisation", "beneficiary").filter(
        assigned_by__isnull=False
    )
    assert assignments.count() == summary["referents"] > 0
    for assignment in assignments[:20]:
        assert assignment.referent.memberships.filter(organisation=assignment.organisation).exists()
        decision = assignment.beneficiary.orientation_decisions.get(is_current=True)
        assert decision.organisation_id == assignment.organisation_id
        assert assignment.started_on >= decision.notified_on
        assert FollowUp.objects.filter(
            beneficiary=assignment.beneficiary, organisation=assignment.organisation, ended_on__isnull=True
        ).exists()
    contracts = Contract.objects.filter(signed_on__isnull=False, beneficiary__new_entrant_t0__isnull=False)
    assert contracts.count() >= summary["contrats"] > 0


def test_every_date_is_in_the_past_and_in_order(demo):
    today = timezone.localdate()
    assert not Event.objects.filter(occurred_on__gt=today).exists()
    assert not Appointment.objects.filter(starts_at__gt=timezone.now(), kind="orientation").exists()
    for decision in OrientationDecision.objects.select_related("beneficiary").filter(status="notified"):
        t0 = decision.beneficiary.new_entrant_t0
        assert t0 <= decision.decided_on <= decision.notified_on <= today
    for invitation in Invitation.objects.select_related("beneficiary").exclude(answered_on=None):
        assert invitation.beneficiary.new_entrant_t0 < invitation.sent_on <= invitation.answered_on


def test_dashboard_shows_people_oriented_within_15_days(demo, client):
    departement = Organisation.objects.get(kind=OrganisationKind.DEPARTEMENT)
    scope = beneficiary_scope(departement=departement)
    values = compute_indicators(scope, datetime.date(2000, 1, 1), timezone.localdate())
    assert values["nouveaux_entrants"] > 0
    assert 0.4 <= values["taux_orientation_15j"] <= 0.8
    pathways = values["repartition_parcours"]
    assert pathways["emploi"] > pathways["socio_professionnel"] > 0 and pathways["social"] > 0
    assert values["part_nouveaux_entrants_avec_referent"] > 0.5
    assert values["part_nouveaux_entrants_avec_contrat"] > 0.3

    client.force_login(User.objects.get(email="direction@demo.parcours.fr"))
    assert client.get(reverse("indicators:dashboard")).status_code == 200


def test_demo_command_prints_orientation_summary_and_person_account(db):
    out = StringIO()
    call_command("demo", beneficiaries=150, months=4, seed=3, stdout=out)
    text = out.getvalue()
    assert "Orientation des nouveaux entrants :" in text and "dans les 15 jours" in text
    assert "personne@demo.parcours.fr" in text
