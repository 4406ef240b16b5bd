"""Sonde /healthz : base, clé des NIR (témoin chiffré), âge de la file des tâches de fond."""

import datetime

import pytest
from django.utils import timezone

from parcours.jobs.models import Job, JobStatus
from parcours.www.models import NIR_CANARY, KeyCanary
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

OTHER_KEY = "11" * 64  # clé valide (64 octets), différente de celle du chiffrement


def test_healthz_reports_each_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "nir_key": "ok",
        "jobs_queue": "ok",
    }
    assert response["Cache-Control"].startswith("max-age=0")
    assert KeyCanary.objects.filter(name=NIR_CANARY).exists()  # écrit par la migration (ou la sonde)


def test_healthz_is_503_when_the_nir_key_does_not_decrypt_the_canary(client, settings):
    assert client.get("/healthz").status_code == 200  # témoin présent, chiffré avec la clé en service
    settings.PARCOURS_NIR_KEY = OTHER_KEY  # ex. base restaurée sur un serveur configuré avec une autre clé
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["nir_key"]["status"] == "error"
    assert body["checks"]["nir_key"]["message"].startswith("clé NIR")
    assert OTHER_KEY not in response.content.decode()
    assert body["checks"]["database"]["status"] == "ok"


def test_without_canary_a_stored_nir_decides(client, settings):
    """Base sans témoin (reprise ancienne) : un NIR enregistré avec l'ancienne clé trahit la mauvaise clé."""
    BeneficiaryFactory()
    KeyCanary.objects.all().delete()
    settings.PARCOURS_NIR_KEY = OTHER_KEY
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["nir_key"]["message"].startswith("clé NIR")
    assert not KeyCanary.objects.exists()  # aucun témoin écrit avec la mauvaise clé


def test_missing_canary_is_written_with_the_key_in_use(client, settings):
    KeyCanary.objects.all().delete()
    assert client.get("/healthz").status_code == 200
    assert KeyCanary.objects.filter(name=NIR_CANARY).exists()
    settings.PARCOURS_NIR_KEY = OTHER_KEY
    assert client.get("/healthz").status_code == 503


def test_malformed_nir_key_is_reported(client, settings):
    settings.PARCOURS_NIR_KEY = "abcd"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["nir_key"]["message"].startswith("clé NIR invalide")


def _job(status, created_ago, next_attempt_in=None):
    job = Job.objects.create(name="purge", status=status, max_attempts=3)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        created_at=now - created_ago,
        next_attempt_at=None if next_attempt_in is None else now + next_attempt_in,
    )
    return job


def test_healthz_reports_queue_age_and_degrades_past_the_limit(client, settings):
    settings.PARCOURS_HEALTH_MAX_QUEUE_AGE = 600
    _job(JobStatus.PENDING, datetime.timedelta(minutes=2))
    _job(
        JobStatus.RETRYING, datetime.timedelta(days=2), next_attempt_in=datetime.timedelta(minutes=5)
    )  # pas due
    _job(JobStatus.SUCCEEDED, datetime.timedelta(days=3))
    body = client.get("/healthz").json()
    queue = body["checks"]["jobs_queue"]
    assert queue["status"] == "ok"
    assert queue["ready"] == 1
    assert 110 <= queue["oldest_ready_age_seconds"] <= 200

    _job(JobStatus.PENDING, datetime.timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 200  # file en retard : « degraded », le serveur reste en service
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["jobs_queue"]["status"] == "degraded"
    assert body["checks"]["jobs_queue"]["oldest_ready_age_seconds"] >= 3600
    assert "jobs-worker" in body["checks"]["jobs_queue"]["message"]
