"""Progression d'un import en cours : sur le lot (ou à côté de son fichier sous SQLite), jamais dans le cache
local d'un processus ; visible d'un autre processus pendant la transaction de l'import."""

import threading

import pytest
from django.db import connection, transaction

from parcours.core import throttle
from parcours.intake.models import ImportBatch
from parcours.intake.services import get_progress, store_progress
from tests.www.factories_extra import ImportBatchFactory


def _read_elsewhere(pk):
    """Lecture par une autre connexion (un autre processus web)."""
    result = {}

    def read():
        try:
            result.update(get_progress(ImportBatch.objects.get(pk=pk)))
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return result


@pytest.mark.django_db(transaction=True)
def test_progress_written_during_the_import_transaction_is_visible_to_other_processes(tmp_path):
    stored = tmp_path / "flux.csv"
    stored.write_text("x")
    batch = ImportBatchFactory(status="running", rows_total=0, stored_path=str(stored))
    with transaction.atomic():
        throttle.hit("essai", "écriture", limit=1, window=60)  # l'import écrit dans sa transaction
        store_progress(batch, 40, 200)
        if connection.vendor == "postgresql":
            progress = _read_elsewhere(batch.pk)
        else:  # SQLite en mémoire partagée des tests : pas de lecture concurrente d'une écriture en cours
            progress = get_progress(ImportBatch.objects.get(pk=batch.pk))
    assert (progress["done"], progress["total"]) == (40, 200)


@pytest.mark.django_db(transaction=True)
def test_progress_outside_a_transaction_is_stored_on_the_batch():
    batch = ImportBatchFactory(status="running", rows_total=0)
    store_progress(batch, 7, 9)
    batch.refresh_from_db()
    assert (batch.progress_done, batch.progress_total) == (7, 9)
    assert get_progress(batch)["done"] == 7


@pytest.mark.django_db(transaction=True)
def test_progress_written_during_an_import_leaves_no_session_setting_on_pooled_connections():
    """Le délai d'attente de l'écriture de progression ne doit pas rester sur une connexion de la réserve :
    une autre requête qui la reprendrait échouerait au premier verrou attendu plus de 200 ms."""
    if connection.vendor != "postgresql":
        pytest.skip("écriture par une seconde connexion : PostgreSQL seulement")
    batch = ImportBatchFactory()
    with transaction.atomic():
        for _ in range(3):
            store_progress(batch, 10, 20)
    batch.refresh_from_db()
    assert (batch.progress_done, batch.progress_total) == (10, 20)
    # Les connexions libres de la réserve (dont celle qui a écrit la progression) : toutes sans délai propre.
    others = [connection.copy() for _ in range(3)]
    try:
        for other in others:
            with other.cursor() as cursor:
                cursor.execute("SHOW lock_timeout")
                assert cursor.fetchone()[0] == "0"
    finally:
        for other in others:
            other.close()
