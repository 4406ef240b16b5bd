"""/metrics : format Prometheus derrière un jeton (absent : 404 ; faux : 401/403)."""

import re

import pytest
from django.utils import timezone

from parcours.intake.models import ImportStatus
from parcours.jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db

TOKEN = "jeton-de-test-des-mesures"


def _value(text, sample):
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_is_absent_without_a_configured_token(client, settings):
    settings.PARCOURS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_refuses_missing_or_wrong_tokens(client, settings):
    settings.PARCOURS_METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer autre-jeton"})
    assert wrong.status_code == 403
    assert TOKEN not in wrong.content.decode()


def test_metrics_counts_requests_jobs_and_imports(client, settings):
    from tests.factories import OrganisationFactory

    settings.PARCOURS_METRICS_TOKEN = TOKEN
    auth = {"Authorization": f"Bearer {TOKEN}"}
    healthz = 'parcours_http_requests_total{route="healthz",status="2xx"}'
    before = _value(client.get("/metrics", headers=auth).content.decode(), healthz)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/page-qui-n-existe-pas/")
    Job.objects.create(name="purge", status=JobStatus.PENDING, max_attempts=3)
    Job.objects.create(name="purge", status=JobStatus.FAILED, max_attempts=3)
    from parcours.intake.models import ImportBatch

    finished = timezone.now()
    ImportBatch.objects.create(
        organisation=OrganisationFactory(),
        filename="flux.xml",
        sha256="0" * 64,
        received_on=finished.date(),
        status=ImportStatus.DONE,
        finished_at=finished,
    )

    response = client.get("/metrics", headers=auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert _value(text, healthz) == before + 2
    assert _value(text, 'parcours_http_requests_total{route="unmatched",status="4xx"}') >= 1
    assert 'parcours_http_request_duration_seconds_bucket{le="0.1",route="healthz",status="2xx"}' in text
    assert _value(text, 'parcours_jobs{status="pending"}') == 1
    assert _value(text, 'parcours_jobs{status="failed"}') == 1
    assert _value(text, "parcours_jobs_ready") == 1
    assert _value(text, "parcours_jobs_oldest_ready_age_seconds") >= 0
    assert _value(text, 'parcours_imports{status="done"}') == 1
    assert _value(text, "parcours_imports_last_success_timestamp_seconds") == pytest.approx(
        finished.timestamp(), abs=1
    )
