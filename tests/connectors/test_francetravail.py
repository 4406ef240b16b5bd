"""Connecteur France Travail : jeton OAuth2, orientations et rendez-vous enregistrés (fixtures/francetravail/),
appliqués par les services de l'orientation."""

import datetime
import json
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone
from responses import matchers

from parcours.connectors.francetravail import sync
from parcours.connectors.http import ConnectorError
from parcours.connectors.models import ConnectorRun, ExternalRecord
from parcours.journal.models import Event
from parcours.orientation.models import Appointment, Attendance, DecisionStatus, OrientationDecision
from parcours.orientation.services import current_orientation, decide_orientation

from .conftest import FT_TOKEN_URL, FT_URL, fixture_json

pytestmark = pytest.mark.django_db

D = datetime.date
ORIENTATIONS = f"{FT_URL}/departements/35/orientations"
APPOINTMENTS = f"{FT_URL}/departements/35/rendez-vous"


def token(mock, status=200, fixture="token.json"):
    mock.add(responses.POST, FT_TOKEN_URL, json=fixture_json(f"francetravail/{fixture}"), status=status)


def tranche(mock, url, start, end, fixture, *, status, total=5, resource="orientations"):
    headers = (
        {"Content-Range": f"{resource} {start}-{min(end, total - 1)}/{total}"} if status == 206 else None
    )
    mock.add(
        responses.GET,
        url,
        json=fixture_json(f"francetravail/{fixture}"),
        status=status,
        headers=headers,
        match=[matchers.query_param_matcher({"range": f"{start}-{end}"})],
    )


def register(mock, version=""):
    token(mock)
    prefix = f"orientations-{version}" if version else "orientations-"
    tranche(mock, ORIENTATIONS, 0, 1, f"{prefix}0-1.json", status=206)
    tranche(mock, ORIENTATIONS, 2, 3, f"{prefix}2-3.json", status=206)
    tranche(mock, ORIENTATIONS, 4, 5, f"{prefix}4-5.json", status=200)
    mock.add(
        responses.GET,
        APPOINTMENTS,
        json=fixture_json(f"francetravail/rendez-vous{'-v2' if version else ''}.json"),
        status=200,
        match=[matchers.query_param_matcher({"range": "0-1"})],
    )


@pytest.fixture
def setup(people, france_travail):
    return people


def test_orientations_and_appointments_applied_through_orientation_services(
    mocked, setup, departement, france_travail
):
    nadia, karim, sophie = setup
    register(mocked)

    report = sync(departement, full=True, today=D(2026, 12, 1))

    assert report["orientations"] == {
        "created": 3,
        "updated": 0,
        "linked": 0,
        "unchanged": 0,
        "ignored": 1,
        "rejected": 1,
    }
    assert report["rendez_vous"] == {
        "created": 3,
        "updated": 0,
        "linked": 0,
        "unchanged": 0,
        "ignored": 1,
        "rejected": 0,
    }
    # Jeton demandé une fois, en « client credentials », puis présenté à chaque ressource.
    token_calls = [c for c in mocked.calls if c.request.url == FT_TOKEN_URL]
    assert len(token_calls) == 1
    form = parse_qs(token_calls[0].request.body)
    assert form["grant_type"] == ["client_credentials"] and form["client_id"] == ["PAR_parcours_cd35"]
    assert all(
        c.request.headers["Authorization"] == "Bearer enregistre-jeton-0001"
        for c in mocked.calls
        if c.request.url.startswith(FT_URL)
    )
    # Pagination par tranches : 3 appels pour 5 orientations par 2.
    assert len([c for c in mocked.calls if c.request.url.startswith(ORIENTATIONS)]) == 3

    decision = current_orientation(nadia)  # rapprochée par l'identifiant France Travail
    assert (decision.pathway, decision.organisation, decision.status) == (
        "socio_professionnel",
        france_travail,
        DecisionStatus.NOTIFIED,
    )
    assert (decision.decided_on, decision.notified_on) == (D(2026, 3, 10), D(2026, 3, 12))
    assert "ORI-35-2026-000101" in decision.reason
    karim_decision = current_orientation(karim)  # rapproché par l'identifiant Département
    assert karim_decision.pathway == "emploi" and karim_decision.notified_on == D(2026, 3, 13)
    sophie_decision = current_orientation(sophie)  # rapprochée par nom + prénom + date de naissance
    assert (sophie_decision.pathway, sophie_decision.organisation, sophie_decision.status) == (
        "social",
        departement,
        DecisionStatus.DECIDED,
    )

    (error,) = report["errors"]
    assert error["id"] == "ORI-35-2026-000104" and error["field"] == "individu.identifiantFranceTravail"
    assert error["message"].startswith("Aucune personne du Département ne correspond")

    seen = Appointment.objects.get(beneficiary=nadia)
    assert seen.attendance == Attendance.SEEN
    assert timezone.localtime(seen.starts_at).strftime("%d/%m/%Y %H:%M") == "09/03/2026 09:30"
    assert seen.place == "Agence France Travail de Redon, 3 rue Victor Hugo, 35600 Redon"
    assert list(seen.organisations.all()) == [france_travail]
    assert Appointment.objects.get(beneficiary=karim).attendance == Attendance.NO_SHOW
    phone = Appointment.objects.get(beneficiary=sophie)
    assert (phone.attendance, phone.place, phone.duration_minutes) == (
        Attendance.PLANNED,
        "Par téléphone",
        30,
    )

    # Le journal du parcours l'inscrit, signé par le compte technique du connecteur.
    oriented = Event.objects.get(beneficiary=nadia, kind="oriented")
    assert oriented.occurred_on == D(2026, 3, 12)
    assert oriented.actor.email == "connecteur-francetravail-35@connecteurs.parcours.invalid"
    assert not oriented.actor.is_active
    assert Event.objects.filter(beneficiary=karim, kind="appointment_no_show").count() == 1
    assert ConnectorRun.objects.get(pk=report["run_id"]).status == ConnectorRun.Status.PARTIAL


def test_rerun_changes_nothing(mocked, setup, departement):
    register(mocked)
    sync(departement, full=True)
    counts = (OrientationDecision.objects.count(), Appointment.objects.count(), Event.objects.count())

    again = sync(departement, full=True)

    assert again["orientations"]["unchanged"] == 3 and again["orientations"]["created"] == 0
    assert again["rendez_vous"]["unchanged"] == 3 and again["rendez_vous"]["created"] == 0
    assert (OrientationDecision.objects.count(), Appointment.objects.count(), Event.objects.count()) == counts
    assert ExternalRecord.objects.count() == 6


def test_changes_at_france_travail_are_applied_on_next_run(mocked, setup, departement):
    nadia, karim, sophie = setup
    register(mocked)
    sync(departement, full=True, today=D(2026, 12, 1))
    mocked.reset()
    register(mocked, version="v2-")

    report = sync(departement, full=True, today=D(2026, 12, 1))

    assert report["orientations"]["updated"] == 2 and report["rendez_vous"]["updated"] == 2
    cancelled = OrientationDecision.objects.get(beneficiary=karim)
    assert cancelled.status == DecisionStatus.CANCELLED
    cancel_event = Event.objects.get(beneficiary=karim, kind="orientation_cancelled")
    assert cancel_event.payload["reason"].startswith("Personne entrée en formation qualifiante")
    assert current_orientation(sophie).notified_on == D(2026, 3, 20)
    # Absence corrigée en absence excusée : on repasse par « prévu » (règle de l'orientation).
    excused = Appointment.objects.get(beneficiary=karim)
    assert excused.attendance == Attendance.EXCUSED
    kinds = list(
        Event.objects.filter(beneficiary=karim, kind__startswith="appointment_")
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds[-3:] == ["appointment_no_show", "appointment_attendance_corrected", "appointment_excused"]
    moved = Appointment.objects.get(beneficiary=sophie)
    assert timezone.localtime(moved.starts_at).date() == D(2027, 1, 22)


def test_orientation_already_entered_in_parcours_is_linked_not_duplicated(
    mocked, setup, departement, france_travail, nadia
):
    local = decide_orientation(
        nadia,
        pathway="socio_professionnel",
        organisation=france_travail,
        author=None,
        decided_on=D(2026, 3, 10),
    )
    register(mocked)

    report = sync(departement, full=True)

    assert report["orientations"]["linked"] == 1
    assert OrientationDecision.objects.filter(beneficiary=nadia).count() == 1
    local.refresh_from_db()
    assert local.status == DecisionStatus.NOTIFIED and local.notified_on == D(2026, 3, 12)


def test_refused_client_credentials_stop_everything(mocked, setup, departement):
    token(mocked, status=401, fixture="token-invalid-client.json")

    with pytest.raises(ConnectorError) as exc:
        sync(departement, full=True)

    assert exc.value.message == (
        "France Travail : demande de jeton refusée (401) : Client authentication failed. Vérifiez les "
        "identifiants OAuth2 (PARCOURS_FT_CLIENT_ID, PARCOURS_FT_CLIENT_SECRET) et les droits (scope) accordés."
    )
    assert "secret-de-test" not in exc.value.message
    assert OrientationDecision.objects.count() == 0
    assert ConnectorRun.objects.get().status == ConnectorRun.Status.FAILED


def test_expired_token_is_renewed_once(mocked, setup, departement):
    token(mocked)
    mocked.add(responses.GET, ORIENTATIONS, json={"message": "Token expired"}, status=401)
    register(mocked)

    report = sync(departement, full=True)

    assert report["orientations"]["created"] == 3
    assert len([c for c in mocked.calls if c.request.url == FT_TOKEN_URL]) == 2


def test_resource_still_refused_after_renewal_is_reported(mocked, setup, departement):
    token(mocked)
    mocked.add(responses.GET, ORIENTATIONS, json={"message": "Scope insuffisant"}, status=401)

    with pytest.raises(ConnectorError, match=r"France Travail : accès refusé \(401\)"):
        sync(departement, full=True)


def test_server_error_on_appointments_writes_nothing_even_for_orientations(mocked, setup, departement):
    register(mocked)
    mocked.replace(responses.GET, APPOINTMENTS, json=fixture_json("francetravail/error-500.json"), status=500)

    with pytest.raises(ConnectorError, match=r"en erreur \(500\) après 2 nouvelles tentatives"):
        sync(departement, full=True)

    assert len([c for c in mocked.calls if c.request.url.startswith(APPOINTMENTS)]) == 3
    assert OrientationDecision.objects.count() == 0 and Appointment.objects.count() == 0


def test_rate_limit_is_retried(mocked, setup, departement):
    token(mocked)
    mocked.add(
        responses.GET,
        ORIENTATIONS,
        json={"message": "Trop de requêtes"},
        status=429,
        headers={"Retry-After": "0"},
        match=[matchers.query_param_matcher({"range": "0-1"})],
    )
    register(mocked)

    report = sync(departement, full=True)

    assert report["orientations"]["created"] == 3


def test_since_defaults_to_the_day_before_the_last_run(mocked, setup, departement):
    register(mocked)
    sync(departement, full=True)
    mocked.reset()
    token(mocked)
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    for url in (ORIENTATIONS, APPOINTMENTS):
        mocked.add(
            responses.GET,
            url,
            json={"resultats": []},
            match=[matchers.query_param_matcher({"range": "0-1", "dateModificationMin": since})],
        )

    report = sync(departement)

    assert report["since"] == since


def test_command_reports_in_french(mocked, setup, departement, capsys):
    register(mocked)

    call_command("connector-francetravail", "--departement", "35", "--full")

    out = capsys.readouterr().out
    assert (
        "Orientations : 3 créés, 0 mis à jour, 0 relié à une saisie existante, 0 inchangé, 1 ignoré, 1 rejeté."
        in out
    )
    assert (
        "Erreur — orientations ORI-35-2026-000104 — individu.identifiantFranceTravail : Aucune personne du Département ne correspond"
        in out
    )

    mocked.reset()
    register(mocked)
    call_command("connector-francetravail", "--full", "--json")
    assert json.loads(capsys.readouterr().out)["orientations"]["unchanged"] == 3

    with pytest.raises(CommandError, match="Département « 99 » inconnu"):
        call_command("connector-francetravail", "--departement", "99")
