"""Identifiant de requête (X-Request-ID), journal d'accès et format JSON des journaux."""

import io
import json
import logging

import pytest

from parcours.core.logs import JsonFormatter, RequestIdFilter
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_logs():
    """Journaux de la requête écrits en JSON, comme en production avec PARCOURS_LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    access = logging.getLogger("parcours.access")
    saved_level = access.level
    access.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        access.setLevel(saved_level)


def test_request_id_is_generated_and_returned(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_sane_request_id_from_the_proxy_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a.42:b_c"})
    assert response["X-Request-ID"] == "nginx-7f3a.42:b_c"


@pytest.mark.parametrize("given", ["a b", "x" * 129, "<script>", "id\nforged", "-leading-dash"])
def test_unsafe_request_id_is_replaced(client, given):
    returned = client.get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32


def test_access_log_line_in_json_with_request_id(client, json_logs):
    client.get("/healthz?nom=Dupont&nir=180033314768772", headers={"X-Request-ID": "req-123"})
    records = json_logs()
    access = [r for r in records if r["logger"] == "parcours.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-123"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["route"] == "healthz"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["user_id"] is None
    assert line["level"] == "INFO" and "time" in line
    raw = json.dumps(records)
    assert "Dupont" not in raw and "180033314768772" not in raw


def test_every_record_of_the_request_carries_its_id(client, json_logs):
    client.get("/page-inconnue/", headers={"X-Request-ID": "req-404"})
    records = json_logs()
    not_found = [r for r in records if r["logger"] == "django.request"]
    assert not_found and not_found[0]["message"].startswith("Not Found")
    assert {r["request_id"] for r in records} == {"req-404"}
    logging.getLogger("parcours").warning("hors requête")
    assert "request_id" not in json_logs()[-1]  # effacé à la fin de la réponse


def test_access_log_gives_the_user_number_only(client, json_logs):
    user = UserFactory(first_name="Camille", last_name="Martin")
    client.force_login(user)
    client.get("/")
    access = [r for r in json_logs() if r["logger"] == "parcours.access"]
    assert access[-1]["user_id"] == user.pk
    assert "Martin" not in json.dumps(access) and user.email not in json.dumps(access)


def test_logging_setting_selects_the_json_formatter():
    from django.conf import settings

    formatters = settings.LOGGING["formatters"]
    assert formatters["json"]["()"] == "parcours.core.logs.JsonFormatter"
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]
