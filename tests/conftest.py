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
