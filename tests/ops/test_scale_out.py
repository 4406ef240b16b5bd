"""Deux processus web derrière une même adresse fonctionnent comme un seul.

Deux serveurs ``parcours serve`` réels (gunicorn, un processus chacun) partagent une base ; chaque requête
du client part vers l'autre serveur que la précédente, comme derrière un répartiteur sans affinité de
session. La session ouverte sur l'un est reconnue par l'autre, les échecs de connexion et le débit de
l'API sont comptés ensemble : rien de ce qu'un processus doit savoir ne reste dans la mémoire ou sur le
disque local de l'autre.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARCOURS = str(Path(sys.executable).with_name("parcours"))
PASSWORD = "mot-de-passe-tres-long-2026"

pytestmark = pytest.mark.skipif(
    not Path(PARCOURS).exists(), reason="commande « parcours » absente (make install)"
)

SETUP = f"""
from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User
dep = Organisation.objects.create(kind=OrganisationKind.DEPARTEMENT, name="Département de l'essai", departement_code="35")
for email in ("agent@essai.fr", "cible@essai.fr"):
    user = User.objects.create_user(email, password="{PASSWORD}", first_name="Camille", last_name="Essai")
    Membership.objects.create(user=user, organisation=dep, role=Role.ORIENTATION_MANAGER)
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RoundRobinClient:
    """Client HTTP qui alterne les serveurs à chaque requête et garde ses cookies (un navigateur)."""

    def __init__(self, ports):
        self.ports = ports
        self.turn = 0
        self.cookies = {}
        self.served_by = []

    def request(self, method, path, body=None, headers=None):
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        self.served_by.append(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read().decode(errors="replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return response.status, dict(response.getheaders()), content

    def login(self, email, password):
        status, _, page = self.request("GET", "/connexion/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password})
        return self.request(
            "POST",
            "/connexion/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://127.0.0.1/"},
        )


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    data = tmp_path_factory.mktemp("deux-serveurs")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "parcours.settings.development",
        "DATABASE_URL": f"sqlite:///{data / 'parcours.sqlite3'}",
        "PARCOURS_SECRET_KEY": "essai-deux-serveurs-" + "s" * 50,
        "PARCOURS_API_RATE_ANON": "4/min",
        "PARCOURS_LOGIN_MAX_ATTEMPTS": "5",
    }
    env.pop("PARCOURS_DEBUG", None)
    subprocess.run([PARCOURS, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=300)
    subprocess.run([PARCOURS, "shell", "-c", SETUP], env=env, check=True, timeout=120)
    ports, processes = [], []
    try:
        for index in range(2):
            port = free_port()
            server_env = {**env, "PARCOURS_DATA_DIR": str(data / f"serveur-{index}")}
            processes.append(
                subprocess.Popen(
                    [PARCOURS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                    env=server_env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            ports.append(port)
        for port, process in zip(ports, processes, strict=True):
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, "un serveur s'est arrêté au démarrage"
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "un serveur n'a pas démarré à temps"
                    time.sleep(0.3)
        yield ports
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


def test_a_session_opened_on_one_server_is_recognised_by_the_other(two_servers):
    client = RoundRobinClient(two_servers)
    status, headers, _ = client.login("agent@essai.fr", PASSWORD)  # formulaire sur l'un, envoi sur l'autre
    assert status == 302, "le jeton CSRF et la connexion passent d'un serveur à l'autre"
    for _ in range(2):
        status, _, page = client.request("GET", "/")
        assert status == 200
        assert "Camille Essai" in page or "Camille" in page
    assert set(client.served_by) == set(two_servers)


def test_failed_logins_are_counted_across_servers(two_servers):
    attacker = RoundRobinClient(two_servers)
    statuses = [attacker.login("cible@essai.fr", "mauvais-mot-de-passe")[0] for _ in range(5)]
    assert statuses == [200] * 5  # formulaire réaffiché avec l'erreur
    # Trois échecs sur un serveur, deux sur l'autre : le compteur commun atteint la limite.
    status, _, page = attacker.login("cible@essai.fr", PASSWORD)
    assert status == 429
    assert "Trop de tentatives" in page


def test_api_rate_limit_is_shared_by_the_servers(two_servers):
    client = RoundRobinClient(two_servers)
    statuses = [client.request("GET", "/api/v1/catalogue/services")[0] for _ in range(5)]
    assert statuses[:4] == [200] * 4
    assert statuses[4] == 429, "le 5e appel dépasse 4/min pour l'ensemble des serveurs"
    status, _, body = client.request("GET", "/api/v1/catalogue/services")
    assert status == 429 and json.loads(body)["code"] == "trop_de_requetes"
