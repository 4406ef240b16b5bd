import pytest
from django.db import connection

from parcours.audit import guards, heads


@pytest.fixture(autouse=True)
def _audit_heads_in_tmp(settings, tmp_path, monkeypatch):
    """Têtes du journal dans un dossier propre à chaque test ; la base SQLite en mémoire des tests reçoit
    une identité fixe pour que ses têtes soient écrites comme celles d'une vraie base."""
    settings.PARCOURS_AUDIT_HEAD_DIR = tmp_path / "audit-heads"
    real = heads.journal_identity

    def identity(conn=None):
        found = real(conn)
        return found if found is not None else ("memoire", "sqlite:memoire-de-test")

    monkeypatch.setattr(heads, "journal_identity", identity)


@pytest.fixture
def strict_guards(monkeypatch):
    """Les gardes comme en production, même dans la base jetable des tests."""
    monkeypatch.setattr(guards, "STRICT", True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET parcours.audit_strict = 'on'")
        yield
        with connection.cursor() as cursor:
            cursor.execute("RESET parcours.audit_strict")
    else:
        yield
