"""Les commandes du Dockerfile et du Procfile sont celles que l'intégration continue exécute.

Docker n'est pas disponible ici : le test lit le ``Dockerfile`` et lance, dans cet ordre et avec son
environnement (``ENV``), ses commandes ``parcours`` de construction (``RUN … parcours collectstatic``), la
commande du conteneur (``CMD``) puis sa sonde (``HEALTHCHECK``), telles qu'écrites — seul le port 8000 est
remplacé par un port libre. Le ``Procfile`` doit déclarer les mêmes commandes (web, worker, release).
"""

import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PROCFILE = (ROOT / "Procfile").read_text()
BIN = Path(sys.executable).parent


def instructions():
    """(instruction, argument) du Dockerfile, lignes continuées par « \\ » réunies, commentaires ôtés."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def docker_env():
    env = {}
    for keyword, rest in instructions():
        if keyword == "ENV":
            for name, value in re.findall(r"(\w+)=(\S+)", rest):
                env[name] = value
    return env


def exec_form(rest):
    return json.loads(rest) if rest.startswith("[") else shlex.split(rest)


def procfile():
    return dict(line.split(": ", 1) for line in PROCFILE.splitlines() if line and not line.startswith("#"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_image_runs_as_a_non_root_user_with_production_settings_and_a_health_check():
    keywords = [keyword for keyword, _ in instructions()]
    assert keywords[0] == "FROM" and "slim" in instructions()[0][1]
    users = [rest for keyword, rest in instructions() if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert keywords.index("USER") < keywords.index("CMD")
    assert docker_env()["DJANGO_SETTINGS_MODULE"] == "parcours.settings.production"
    assert "HEALTHCHECK" in keywords and "/healthz" in DOCKERFILE


def test_the_procfile_declares_the_commands_of_the_image():
    processes = procfile()
    cmd = next(exec_form(rest) for keyword, rest in instructions() if keyword == "CMD")
    assert shlex.split(processes["web"].replace("${PORT:-8000}", "8000")) == cmd
    assert shlex.split(processes["worker"]) == ["parcours", "jobs-worker"]
    assert shlex.split(processes["release"]) == ["parcours", "migrate", "--noinput"]


@pytest.mark.django_db(transaction=True)
def test_the_image_commands_build_serve_and_pass_their_health_check(tmp_path):
    from django.db import connection

    nir_key = "ef" * 64
    if connection.vendor != "postgresql":
        database = f"sqlite:///{tmp_path / 'parcours.sqlite3'}"  # base du conteneur, migrée ci-dessous
    else:
        # Base de test (déjà migrée) : le témoin de la clé NIR y est écrit avec la clé des tests.
        from django.conf import settings
        from django.test import Client

        assert Client().get("/healthz").status_code == 200
        nir_key = (
            settings.PARCOURS_NIR_KEY
            or hashlib.sha512(b"parcours-nir:" + settings.SECRET_KEY.encode()).hexdigest()
        )
        params = connection.settings_dict
        database = f"postgres://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"
    port = free_port()
    env = {
        **os.environ,
        **docker_env(),
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "DATABASE_URL": database,
        "PARCOURS_DATA_DIR": str(tmp_path / "data"),
        "PARCOURS_STATIC_ROOT": str(tmp_path / "static"),
        # Secrets fournis à l'exécution du conteneur (jamais dans l'image).
        "PARCOURS_SECRET_KEY": "cle-du-conteneur-" + "x" * 50,
        "PARCOURS_NIR_KEY": nir_key,
        "PARCOURS_AUDIT_KEY": "12" * 32,
        "PARCOURS_SSL_REDIRECT": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (tmp_path / "data").mkdir()
    if connection.vendor != "postgresql":
        subprocess.run(["parcours", "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=300)

    # Construction : les commandes « parcours » des RUN, telles qu'écrites (collectstatic).
    built = 0
    for keyword, rest in instructions():
        # Seules les commandes « parcours » (précédées au plus d'affectations de variables) : jamais les
        # commandes système de l'image (création de l'utilisateur, dossiers).
        if keyword == "RUN" and re.fullmatch(r"(\w+=\S+\s+)*parcours\s.*", rest):
            subprocess.run(["sh", "-c", rest], env=env, check=True, timeout=300)
            built += 1
    assert built >= 1
    assert any((tmp_path / "static").rglob("dsfr.min.*.css")), (
        "fichiers statiques collectés à la construction"
    )

    cmd = next(exec_form(rest) for keyword, rest in instructions() if keyword == "CMD")
    cmd = [part.replace("8000", str(port)) for part in cmd]
    server = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        healthcheck = next(rest for keyword, rest in instructions() if keyword == "HEALTHCHECK")
        probe = healthcheck.split(" CMD ", 1)[1].replace("8000", str(port))
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            result = subprocess.run(["sh", "-c", probe], env=env, capture_output=True, timeout=30)
            if result.returncode == 0:
                break
            assert time.monotonic() < deadline, result.stderr.decode()[-2000:]
            time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
