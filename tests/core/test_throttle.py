"""Limitation des tentatives de connexion : compteurs atomiques en base, par compte et par adresse séparément,
le lien de connexion des personnes dans ses propres compteurs (parcours.core.throttle)."""

import threading
from io import StringIO

import pytest
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client

from parcours.core import throttle
from parcours.core.models import ThrottleCounter
from tests.factories import UserFactory

PASSWORD = "motdepasse-solide-2026"
LOCKED = "Trop de tentatives de connexion échouées"


@pytest.fixture
def checked_passwords():
    """Nombre de mots de passe réellement vérifiés (et faux) : signal ``user_login_failed``."""
    calls = []
    lock = threading.Lock()

    def receiver(sender, credentials, **kwargs):
        with lock:
            calls.append(credentials.get("username"))

    user_login_failed.connect(receiver, weak=False)
    yield calls
    user_login_failed.disconnect(receiver)


def _login(client, email, password, address="198.51.100.1"):
    return client.post("/connexion/", {"username": email, "password": password}, REMOTE_ADDR=address)


# --- compteur --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_hit_counts_in_one_statement_and_the_window_restarts(monkeypatch):
    counts = [throttle.hit("essai", "clé", limit=2, window=60).count for _ in range(3)]
    assert counts == [1, 2, 3]
    assert [throttle.hit("essai", "clé", limit=2, window=60).allowed] == [False]
    assert throttle.hit("essai", "autre clé", limit=2, window=60).count == 1
    now = throttle.time.time()
    monkeypatch.setattr(throttle.time, "time", lambda: now + 61)
    restarted = throttle.hit("essai", "clé", limit=2, window=60)
    assert restarted.count == 1 and restarted.allowed


@pytest.mark.django_db
def test_keys_are_stored_as_digests_never_in_clear():
    throttle.hit("login:account", "camille.durand@departement35.fr", limit=5, window=60)
    row = ThrottleCounter.objects.get()
    assert "camille" not in row.key and len(row.key) == 64


@pytest.mark.django_db
def test_expired_counters_are_purged_by_the_nightly_purge(monkeypatch):
    from django.core.management import call_command

    throttle.hit("essai", "ancienne", limit=5, window=1)
    now = throttle.time.time()
    monkeypatch.setattr(throttle.time, "time", lambda: now + throttle.PURGE_GRACE_SECONDS + 10)
    throttle.hit("essai", "récente", limit=5, window=60)
    assert ThrottleCounter.objects.count() == 2  # une requête ne purge jamais : coût constant
    out = StringIO()
    call_command("purge", stdout=out)
    assert "Compteurs de tentatives expirés supprimés : 1" in out.getvalue()
    assert ThrottleCounter.objects.get().hits == 1


# --- connexion des agents --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_account_limit_refuses_even_the_right_password_with_retry_after(
    client, settings, checked_passwords
):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 3
    user = UserFactory()
    assert [_login(client, user.email, "mauvais").status_code for _ in range(3)] == [200] * 3
    locked = _login(client, user.email, PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert int(locked["Retry-After"]) > 800
    assert len(checked_passwords) == 3


@pytest.mark.django_db
def test_an_attacked_account_never_locks_another_account(client, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 3
    attacked, other = UserFactory(), UserFactory()
    for _ in range(10):
        _login(client, attacked.email, "mauvais", address="203.0.113.66")
    # Compromis documenté : le compte attaqué est bloqué, d'où qu'il vienne…
    assert _login(Client(), attacked.email, PASSWORD, address="198.51.100.20").status_code == 429
    # …mais jamais un autre compte, ni depuis une autre adresse, ni depuis celle de l'attaquant.
    assert _login(Client(), other.email, PASSWORD, address="198.51.100.20").status_code == 302
    assert _login(Client(), other.email, PASSWORD, address="203.0.113.66").status_code == 302


@pytest.mark.django_db
def test_the_address_limit_only_slows_down_that_address(client, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 4
    users = [UserFactory() for _ in range(5)]
    statuses = [_login(client, u.email, "mauvais", address="203.0.113.9").status_code for u in users]
    assert statuses == [200] * 4 + [429]
    assert _login(Client(), users[0].email, PASSWORD, address="198.51.100.30").status_code == 302


@pytest.mark.django_db
def test_successful_logins_do_not_use_up_a_shared_proxy_address(settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 3
    users = [UserFactory() for _ in range(6)]  # six agents derrière le même mandataire
    assert [_login(Client(), u.email, PASSWORD).status_code for u in users] == [302] * 6


@pytest.mark.django_db
def test_a_successful_login_clears_the_account_counter(client, settings):
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 3
    user = UserFactory()
    for _ in range(2):
        _login(client, user.email, "mauvais")
    assert _login(client, user.email, PASSWORD).status_code == 302
    assert throttle.count("login:account", user.email) == 0


@pytest.mark.django_db
def test_person_link_requests_never_lock_agent_login(client, settings):
    """Avant : 20 demandes anonymes du lien de connexion bloquaient toute connexion d'agent depuis l'adresse."""
    agent = UserFactory()
    answers = [
        client.post("/connexion/personne/", {"email": f"inconnu{n}@example.org"}, REMOTE_ADDR="192.0.2.10")
        for n in range(60)
    ]
    assert answers[-1].status_code == 429  # le lien a sa propre limite par adresse…
    assert _login(Client(), agent.email, PASSWORD, address="192.0.2.10").status_code == 302  # …pas l'agent
    assert throttle.count("login:address", "192.0.2.10") == 0


def _parallel_attempts(user, attempts):
    barrier = threading.Barrier(attempts)
    statuses = []
    lock = threading.Lock()

    def attempt():
        try:
            barrier.wait()
            status = _login(Client(), user.email, "mauvais", address="203.0.113.50").status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_are_checked_at_most_the_limit(settings, checked_passwords):
    """Avant : 30 mauvais mots de passe envoyés ensemble étaient tous vérifiés (add/incr non atomiques)."""
    settings.PARCOURS_LOGIN_MAX_ATTEMPTS = 5
    user = UserFactory()
    attempts = 30
    if connection.vendor == "postgresql":
        statuses = _parallel_attempts(user, attempts)  # vrais fils, chacun sa connexion
    else:
        # SQLite en mémoire partagée des tests : pas d'écritures concurrentes ; le compteur reste atomique.
        statuses = [_login(Client(), user.email, "mauvais").status_code for _ in range(attempts)]
    assert len(statuses) == attempts
    assert len(checked_passwords) <= 5
    assert statuses.count(429) >= attempts - 5


def test_the_admin_login_goes_through_the_limited_login_page(client):
    """La page de connexion propre à l'administration n'était pas limitée : elle renvoie à la page commune."""
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response.url == "/connexion/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 405
    assert client.get("/admin/").url.startswith("/admin/login/")
