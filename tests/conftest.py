import os
from pathlib import Path

import pytest


def _shared_dir():
    """Dossier partagé du projet : ``PARCOURS_SHARED_DIR``, sinon ``../shared`` à côté du dépôt."""
    if os.environ.get("PARCOURS_SHARED_DIR"):
        return Path(os.environ["PARCOURS_SHARED_DIR"])
    candidates = [Path(__file__).resolve().parents[1].parent / "shared", Path("/work/shared")]
    return next((path for path in candidates if path.exists()), candidates[0])


SHARED = _shared_dir()
REFERENCE_DATA = SHARED / "reference-data"


@pytest.fixture
def reference_data():
    if not REFERENCE_DATA.exists():
        pytest.fail(f"Données de référence introuvables : {REFERENCE_DATA}")
    return REFERENCE_DATA


@pytest.fixture(autouse=True)
def _isolated_data_dir(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Têtes exportées du journal d'accès : propres à chaque test (jamais dans var/ partagé entre sessions).
    settings.PARCOURS_AUDIT_HEAD_DIR = tmp_path / "audit-heads"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.PARCOURS_IMPORT_IN_BACKGROUND = False
    # Le fuzzing enchaîne des centaines de requêtes : débit de l'API sans limite pratique dans les tests
    # (tests/api/test_rate_limits.py vérifie la limitation avec des débits bas).
    settings.PARCOURS_API_RATES = {"anon": "100000/min", "auth": "100000/min"}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Cache vidé à chaque test : compteurs de tentatives et de débit propres à chacun.
    from django.core.cache import cache

    cache.clear()


def _django_db_kind(item):
    """0 : base dans une transaction annulée ; 1 : transactionnel ; 2 : sans base (l'ordre de pytest-django)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))) or (
        "transactional_db" in fixtures or "live_server" in fixtures
    ):
        return 1
    return 0 if marker or "db" in fixtures else 2


def _restores_serialized_content(item):
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction") and marker.kwargs.get("serialized_rollback"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Les tests transactionnels qui restaurent le contenu sérialisé de la base (``serialized_rollback``) passent
    avant les autres tests transactionnels, quel que soit l'ordre des fichiers demandés.

    Un test transactionnel ordinaire vide la base à sa fin puis recrée les types de contenu, avec de nouveaux
    identifiants ; le test qui restaure ensuite le contenu sérialisé (les types de contenu d'origine) échouait
    alors sur la contrainte d'unicité de ``django_content_type`` (par exemple ``tests/orientation`` demandé avant
    ``tests/accompaniment``). pytest-django a déjà rangé les tests (transaction annulée, transactionnels, sans
    base) ; on garde cet ordre en plaçant ceux-là en tête des transactionnels."""
    serialized = [item for item in items if _restores_serialized_content(item)]
    if not serialized:
        return
    rest = [item for item in items if not _restores_serialized_content(item)]
    first = next((i for i, item in enumerate(rest) if _django_db_kind(item) >= 1), len(rest))
    items[:] = [*rest[:first], *serialized, *rest[first:]]
