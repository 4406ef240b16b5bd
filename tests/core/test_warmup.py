"""Préparation d'un processus du serveur : chaque gabarit est compilé avant la première requête, puis les
objets du démarrage sont gelés (hors des collectes du ramasse-miettes)."""

import gc
import importlib
from pathlib import Path

import pytest
from django.template import engines

from parcours.core import warmup


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()  # le reste de la suite retrouve un ramasse-miettes ordinaire


def _cache(engine):
    [loader] = engine.engine.template_loaders  # chargeur en cache (gabarits compilés gardés)
    return loader.get_template_cache


def test_every_template_is_compiled_before_the_first_request():
    engine = engines["django"]
    _cache(engine).clear()
    compiled = warmup.compile_templates()
    root = Path(warmup.__file__).resolve().parents[1]
    assert compiled >= len(list(root.glob("*/templates/**/*.html"))) > 100
    cached = _cache(engine)
    for name in ("www/home/_referent.html", "orientation/panel.html", "indicators/_tables.html"):
        assert name in cached, name


def test_the_server_entry_point_compiles_then_freezes(unfrozen):
    gc.unfreeze()
    _cache(engines["django"]).clear()
    wsgi = importlib.import_module("parcours.wsgi")
    importlib.reload(wsgi)
    assert callable(wsgi.application)
    assert gc.get_freeze_count() > 0
    assert "orientation/panel.html" in _cache(engines["django"])
