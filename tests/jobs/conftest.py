import datetime
import io
import socket

import pytest
from django.core.management import call_command
from django.utils import timezone

# Récepteur de webhooks factice, partenaires et personnes des tests d'interopérabilité.
from tests.interop.conftest import (  # noqa: F401
    _sms_outbox,
    departement,
    france_travail,
    make_partner,
    manager,
    person,
    receiver,
)

CAF_FLUX = "carnet-de-bord/caf_flux_RSABEM_mensuel_droit_ouvert.xml"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_worker():
    """Un passage du processus d'exécution : les tâches dues, puis arrêt."""
    return run("jobs-worker", "--une-fois", "--verbosity", "0")


@pytest.fixture(autouse=True)
def _jobs_settings(settings):
    settings.PARCOURS_JOBS_MAX_ATTEMPTS = 3
    settings.PARCOURS_JOBS_BACKOFF_SECONDS = 60
    settings.PARCOURS_JOBS_BACKOFF_MAX_SECONDS = 3600


class Clock:
    def __init__(self):
        self.offset = datetime.timedelta(0)

    def advance(self, **delta):
        self.offset += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Horloge avançable : ``clock.advance(seconds=61)`` (file, tâches et services la lisent)."""
    current = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + current.offset)
    return current


@pytest.fixture
def smtp_down(settings):
    """Serveur de courriel injoignable : le vrai client SMTP de Django vers un port local fermé."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = "parcours"  # sans compte, les rappels de conventions vont à la console
    settings.EMAIL_HOST_PASSWORD = "secret-smtp"
    settings.EMAIL_TIMEOUT = 2
    return settings
