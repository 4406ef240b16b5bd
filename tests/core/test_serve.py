"""``parcours serve`` (gunicorn, --dev) et ``parcours run`` (web et tâches de fond ensemble)."""

import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from parcours.core.management.commands import run as run_command
from parcours.core.management.commands import serve as serve_command

ROOT = Path(__file__).resolve().parents[2]


def _print_command(*args):
    out = StringIO()
    call_command("serve", "--print-command", *args, stdout=out)
    return out.getvalue().split()


def test_serve_runs_gunicorn_with_threads_and_the_project_wsgi_app():
    command = _print_command("--host", "0.0.0.0", "--port", "8123", "--workers", "3", "--threads", "2")
    assert command[:4] == [sys.executable, "-m", "gunicorn", "parcours.wsgi:application"]
    assert command[command.index("--bind") + 1] == "0.0.0.0:8123"
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert command[command.index("--threads") + 1] == "2"
    assert "--no-control-socket" in command


def test_serve_sizes_workers_to_the_machine(settings):
    assert serve_command.default_workers(cores=1, cap=8) == 3
    assert serve_command.default_workers(cores=2, cap=8) == 5
    assert serve_command.default_workers(cores=32, cap=8) == 8
    settings.PARCOURS_WEB_WORKERS = 0
    settings.PARCOURS_WEB_WORKERS_MAX = 64
    expected = 2 * len(os.sched_getaffinity(0)) + 1
    command = _print_command()
    assert command[command.index("--workers") + 1] == str(expected)
    settings.PARCOURS_WEB_WORKERS = 7  # PARCOURS_WEB_WORKERS
    command = _print_command()
    assert command[command.index("--workers") + 1] == "7"
    assert command[command.index("--bind") + 1] == "127.0.0.1:8000"


def test_serve_ipv6_host_is_bracketed():
    command = _print_command("--host", "::1", "--port", "9000")
    assert command[command.index("--bind") + 1] == "[::1]:9000"


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "abc"], ["--workers", "0"], ["--host", " "]])
def test_serve_rejects_bad_options(args):
    from django.core.management.base import CommandError

    with pytest.raises((CommandError, SystemExit)):
        call_command("serve", "--print-command", *args, stdout=StringIO(), stderr=StringIO())


def test_serve_dev_runs_django_autoreloading_server_in_debug(monkeypatch):
    calls = []
    monkeypatch.setattr(serve_command, "call_command", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.delenv("PARCOURS_DEBUG", raising=False)
    call_command("serve", "--dev", "--port", "8456")
    assert calls == [
        (("runserver", "127.0.0.1:8456"), {"use_reloader": True, "insecure_serving": True, "use_ipv6": False})
    ]
    assert os.environ["PARCOURS_DEBUG"] == "1"  # lu par le processus relancé par le rechargeur
    monkeypatch.delenv("PARCOURS_DEBUG")


def test_run_starts_web_and_worker_children():
    commands = run_command.child_commands("127.0.0.1", 8000, workers=2)
    cli = [sys.executable, "-m", "parcours.cli"]
    assert commands == {
        "web": [*cli, "serve", "--host", "127.0.0.1", "--port", "8000", "--workers", "2"],
        "worker": [*cli, "jobs-worker"],
    }


def test_run_stops_everything_when_a_child_dies(monkeypatch):
    """Un enfant qui s'arrête entraîne l'arrêt de l'autre ; le code de sortie est repris."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    monkeypatch.setattr(run_command, "child_commands", lambda *a, **kw: {"web": sleeper, "worker": failing})
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        call_command("run", stderr=StringIO())
    assert exit_info.value.code == 3
    assert time.monotonic() - started < 20


def test_run_forwards_sigterm_to_children(tmp_path):
    """``parcours run`` reçoit SIGTERM : chaque enfant reçoit SIGTERM, puis tout s'arrête."""
    marker = tmp_path / "stopped"
    child = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'a').write('x'), sys.exit(0)))\n"
        "time.sleep(60)\n"
    )
    script = (
        "import sys, django\n"
        "django.setup()\n"
        "from parcours.core.management.commands import run\n"
        f"run.child_commands = lambda *a, **kw: {{'web': [sys.executable, '-c', {child!r}], "
        f"'worker': [sys.executable, '-c', {child!r}]}}\n"
        "from django.core.management import call_command\n"
        "call_command('run')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.test",
        "PARCOURS_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
    try:
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert marker.read_text() == "xx"
    finally:
        if process.poll() is None:
            process.kill()


# --- Serveur réel : gunicorn, réglages de production, sur un port libre -----------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _served_database_url(tmp_path):
    """La base de test (migrée, avec son témoin de clé) vue par le serveur lancé à part."""
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "sqlite":
        copy = tmp_path / "served.sqlite3"
        target = __import__("sqlite3").connect(copy)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{copy}"
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_real_server_answers_healthz_static_and_metrics(tmp_path):
    from django.templatetags.static import static

    port = _free_port()
    nir_key = hashlib.sha512(b"parcours-nir:" + settings.SECRET_KEY.encode()).hexdigest()  # clé des tests
    if settings.PARCOURS_NIR_KEY:
        nir_key = settings.PARCOURS_NIR_KEY
    from django.test import Client

    assert Client().get("/healthz").status_code == 200  # écrit le témoin de clé s'il manque
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.production",
        "DATABASE_URL": _served_database_url(tmp_path),
        "PARCOURS_DATA_DIR": str(tmp_path / "data"),
        "PARCOURS_SECRET_KEY": "s" * 60,
        "PARCOURS_NIR_KEY": nir_key,
        "PARCOURS_AUDIT_KEY": "cd" * 32,
        "PARCOURS_SSL_REDIRECT": "0",
        "PARCOURS_LOG_FORMAT": "json",
        "PARCOURS_METRICS_TOKEN": "jeton-reel",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "parcours.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                status, headers, body = _get(port, "/healthz", {"X-Request-ID": "sonde-1"})
                break
            except OSError:
                assert time.monotonic() < deadline, "le serveur n'a pas répondu à temps"
                time.sleep(0.3)
        assert status == 200, body
        assert json.loads(body)["checks"]["nir_key"]["status"] == "ok"
        assert headers["Server"].startswith("gunicorn")
        assert headers["X-Request-ID"] == "sonde-1"

        # Fichiers statiques collectés au démarrage, nom empreint cité par les pages, cache long, gzip.
        status, _, page = _get(port, "/connexion/")
        assert status == 200
        stylesheet = next(
            part.split('"')[0]
            for part in page.decode().split('href="')[1:]
            if part.startswith(static("dsfr/dist/dsfr/dsfr.min").rsplit(".", 1)[0])
        )
        assert stylesheet != "/static/dsfr/dist/dsfr/dsfr.min.css"  # nom empreint
        status, headers, body = _get(port, stylesheet, {"Accept-Encoding": "gzip"})
        assert status == 200
        assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
        assert headers["Content-Encoding"] == "gzip"
        assert body[:2] == b"\x1f\x8b"
        # L'empreinte d'intégrité (SRI) citée par la page correspond au fichier servi : sinon le navigateur
        # refuse la feuille et la page s'affiche sans style.
        integrity = re.search(re.escape(stylesheet) + r'"\s+integrity="sha384-([^"]+)"', page.decode()).group(
            1
        )
        served = gzip.decompress(body)
        assert base64.b64encode(hashlib.sha384(served).digest()).decode() == integrity

        # Mesures additionnées sur les deux processus.
        for _ in range(6):
            _get(port, "/healthz")
        status, _, body = _get(port, "/metrics", {"Authorization": "Bearer jeton-reel"})
        assert status == 200
        assert 'parcours_http_requests_total{route="healthz",status="2xx"} 7.0' in body.decode()
        assert _get(port, "/metrics", {"Authorization": "Bearer faux"})[0] == 403
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    probe = [line for line in lines if line.get("request_id") == "sonde-1"]
    assert probe and probe[0]["logger"] == "parcours.access" and probe[0]["path"] == "/healthz"
