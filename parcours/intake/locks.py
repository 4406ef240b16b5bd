"""Un seul import de flux appliqué à la fois par Département, dans l'ordre des flux ; reprise des lots
abandonnés par un processus arrêté.

Tous les canaux (dépôt web, ``parcours import-flux``, tâche de fond) appliquent un lot par
``services.run_batch``, qui le fait dans ``exclusive_import`` :

- **PostgreSQL** : verrou consultatif de session ``pg_advisory_lock(LOCK_NAMESPACE, pk du Département)``,
  pris *avant* que le lot passe « en cours » et rendu *après* l'enregistrement de son statut final. Le
  verrou suit la connexion : un processus arrêté (kill, plantage, redémarrage du serveur) le libère
  aussitôt. Celui qui tient le verrou sait donc que tout autre lot « en cours » du Département est
  abandonné.
- **SQLite** (pas de verrou consultatif) : le lot « en cours » est lui-même le verrou. Son passage à
  « en cours » écrit d'abord (ce qui prend le verrou d'écriture de la base), puis vérifie, dans la même
  transaction, qu'aucun autre lot du Département n'est en cours : deux imports ne peuvent pas passer
  ensemble. Un lot en cours est réputé abandonné quand le processus noté dans ``ImportBatch.worker``
  (``machine:pid``) n'existe plus sur cette machine, ou quand il a commencé depuis plus de
  ``PARCOURS_IMPORT_STALE_AFTER`` secondes (6 h par défaut).

Sans attente (dépôt web), un import du même Département en cours fait refuser le lot tout de suite ;
avec attente (ligne de commande, tâche de fond), le lot reste « en attente » au plus
``PARCOURS_IMPORT_LOCK_TIMEOUT`` secondes (10 min par défaut), dans l'ordre d'arrivée sur PostgreSQL.

Un lot abandonné passe en « échec technique » avec un message, et son fichier déposé (qui contient des
NIR en clair) est supprimé : au prochain import du Département, ou par ``recover_stale_batches()``.
"""

import datetime
import logging
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ImportBatch, ImportStatus

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 1346458179  # « PARC » : première clé des verrous consultatifs des imports de flux
POLL_SECONDS = 0.5  # SQLite : intervalle entre deux tentatives pendant l'attente
DEFAULT_LOCK_TIMEOUT = 600
DEFAULT_STALE_AFTER = 6 * 3600


class ImportBusy(Exception):
    """Un autre import du même Département est en cours (refus immédiat ou attente dépassée)."""

    def __init__(self, message="", *, timed_out=False):
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out


def lock_timeout():
    return float(getattr(settings, "PARCOURS_IMPORT_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))


def stale_after():
    seconds = float(getattr(settings, "PARCOURS_IMPORT_STALE_AFTER", DEFAULT_STALE_AFTER))
    return datetime.timedelta(seconds=seconds)


def current_worker():
    return f"{socket.gethostname()}:{os.getpid()}"


def departement_batches(departement):
    """Les lots du Département et des organisations qui lui sont rattachées."""
    return ImportBatch.objects.filter(Q(organisation=departement) | Q(organisation__departement=departement))


def _advisory_locks():
    return connection.vendor == "postgresql"


# --------------------------------------------------------------------------------------------------
# Exclusivité


@contextmanager
def exclusive_import(batch, departement, *, wait=True):
    """Réserve le Département pour appliquer ``batch`` ; le lot passe « en cours » (``started_at``,
    ``worker``). Le statut final du lot doit être enregistré *dans* ce bloc.

    Lève ``ImportBusy`` si un autre import du Département est en cours : aussitôt si ``wait`` est faux,
    sinon après ``PARCOURS_IMPORT_LOCK_TIMEOUT`` secondes d'attente. Le lot reste alors « en attente ».
    """
    timeout = lock_timeout() if wait else 0
    if _advisory_locks():
        if not _pg_lock(departement, timeout):
            raise ImportBusy(_busy_message(departement, batch, wait, timeout), timed_out=wait)
        try:
            _claim(batch, departement, lock_held=True)
            yield
        finally:
            _pg_unlock(departement)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            _claim(batch, departement, lock_held=False)
            break
        except ImportBusy:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ImportBusy(_busy_message(departement, batch, wait, timeout), timed_out=wait) from None
            time.sleep(min(POLL_SECONDS, remaining))
    yield


def _claim(batch, departement, *, lock_held):
    """Passe le lot « en cours » et met en échec les lots abandonnés du Département, atomiquement."""
    now = timezone.now()
    worker = current_worker()
    running = departement_batches(departement).filter(status=ImportStatus.RUNNING).exclude(pk=batch.pk)
    if not lock_held and any(not _is_abandoned(other, now) for other in running):
        # Lecture d'abord : sur SQLite, écrire pendant qu'un import tient le verrou d'écriture ferait
        # attendre jusqu'au délai de la base.
        raise ImportBusy
    try:
        with transaction.atomic():
            # Écrire d'abord : sur SQLite, la transaction prend ainsi le verrou d'écriture avant de lire,
            # la vérification et le changement de statut sont atomiques.
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportStatus.RUNNING, started_at=now, worker=worker
            )
            others = list(running.select_related("created_by"))
            if not lock_held and any(not _is_abandoned(other, now) for other in others):
                raise ImportBusy
            paths = _fail_abandoned(others, now)
    except OperationalError as exc:
        if lock_held or "locked" not in str(exc):
            raise
        raise ImportBusy from exc  # SQLite : base occupée par l'écriture d'un autre import
    _remove_files(paths)
    batch.status, batch.started_at, batch.worker = ImportStatus.RUNNING, now, worker


def _busy_message(departement, batch, waited, timeout):
    running = (
        departement_batches(departement)
        .filter(status=ImportStatus.RUNNING)
        .exclude(pk=batch.pk)
        .select_related("created_by")
        .order_by("-started_at")
        .first()
    )
    if running is not None:
        who = str(running.created_by) if running.created_by else "la ligne de commande ou une tâche de fond"
        message = f"Un import est déjà en cours pour ce Département : « {running.filename} », lancé par {who}"
        if running.started_at:
            started = timezone.localtime(running.started_at)
            message += f" le {started:%d/%m/%Y} à {started:%H:%M}"
        message += "."
    else:
        message = "Un autre import est en cours pour ce Département."
    if waited:
        return (
            f"{message} Attente de {round(timeout)} s dépassée : rien n'a été importé. Relancez l'import quand "
            "celui-ci sera terminé."
        )
    return (
        f"{message} Les imports d'un même Département s'appliquent l'un après l'autre : rien n'a été importé, "
        "déposez de nouveau le fichier quand cet import sera terminé."
    )


# --------------------------------------------------------------------------------------------------
# Lots abandonnés


def _process_alive(pid):
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # le processus existe (autre utilisateur) ou on ne peut pas savoir
    return True


def _is_abandoned(batch, now):
    """Sans verrou consultatif (SQLite) : processus disparu sur cette machine, ou lot trop ancien."""
    if batch.started_at is None or batch.started_at < now - stale_after():
        return True
    host, _, pid = batch.worker.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid))


def _fail_abandoned(batches, now):
    """Met les lots en échec (dans la transaction en cours) ; renvoie les fichiers à supprimer."""
    paths = []
    for batch in batches:
        started = timezone.localtime(batch.started_at) if batch.started_at else None
        message = (
            "Import interrompu : le processus qui l'appliquait"
            + (f" ({batch.worker})" if batch.worker else "")
            + " s'est arrêté avant la fin"
            + (f" (import commencé le {started:%d/%m/%Y} à {started:%H:%M})" if started else "")
            + ". Rien n'a été écrit (un import est une seule transaction) ; le fichier déposé, qui contenait "
            "des NIR, a été supprimé. Déposez-le de nouveau pour l'importer."
        )
        report = dict(batch.report) if isinstance(batch.report, dict) else {}
        report.update({"message": message, "rejected": True})
        marked = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, error_message=message, finished_at=now, stored_path="", report=report
        )
        if marked:
            logger.warning("Lot d'import %s abandonné (%s) : mis en échec.", batch.pk, batch.worker or "?")
            if batch.stored_path:
                paths.append(batch.stored_path)
    return paths


def _remove_files(paths):
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            logger.exception("Fichier d'import abandonné non supprimé : %s", path)


def recover_stale_batches(departement=None):
    """Met en échec les lots « en cours » abandonnés (du Département donné, ou de tous) et supprime
    leurs fichiers. Renvoie les lots mis en échec. À appeler au démarrage d'un serveur ou d'un
    processus de tâches ; chaque import le fait aussi pour son Département."""
    running = ImportBatch.objects.filter(status=ImportStatus.RUNNING).select_related("organisation")
    if departement is not None:
        departements = [departement]
    else:
        departements = {b.organisation.home_departement for b in running} - {None}
    failed = []
    now = timezone.now()
    for dep in departements:
        if _advisory_locks():
            if not _pg_lock(dep, 0):
                continue  # un import du Département est en cours : il fera le ménage lui-même
            try:
                with transaction.atomic():
                    stale = list(departement_batches(dep).filter(status=ImportStatus.RUNNING))
                    paths = _fail_abandoned(stale, now)
            finally:
                _pg_unlock(dep)
        else:
            with transaction.atomic():
                stale = [
                    b
                    for b in departement_batches(dep).filter(status=ImportStatus.RUNNING)
                    if _is_abandoned(b, now)
                ]
                paths = _fail_abandoned(stale, now)
        _remove_files(paths)
        failed.extend(stale)
    return failed


# --------------------------------------------------------------------------------------------------
# Verrou consultatif PostgreSQL


def _pg_lock(departement, timeout):
    """Prend le verrou du Département ; attend au plus ``timeout`` secondes (0 : sans attendre)."""
    key = [LOCK_NAMESPACE, departement.pk]
    with connection.cursor() as cursor:
        if timeout <= 0:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            return bool(cursor.fetchone()[0])
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        try:
            # Verrou de session pris dans une transaction courte : SET LOCAL borne l'attente (file
            # d'attente dans l'ordre d'arrivée), le verrou survit à la fin de la transaction.
            with transaction.atomic():
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true)", [f"{max(1, round(timeout * 1000))}ms"]
                )
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                return False
            raise
    return True


def _pg_unlock(departement):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, departement.pk])
    except DatabaseError:
        # Connexion perdue : le verrou est parti avec elle. Transaction englobante en échec : il sera
        # rendu à la fermeture de la connexion.
        logger.exception("Verrou d'import du Département %s non rendu explicitement.", departement.pk)


def last_applied_batch(departement, *, exclude=None):
    """Le dernier lot appliqué qui fixe l'ordre des flux : terminé, porteur de droits (ni fichier de
    contacts ni chargement de stock), de date de référence la plus récente."""
    from .formats.tabular import CONTACTS

    batches = (
        departement_batches(departement)
        .filter(status=ImportStatus.DONE, initial_stock=False, reference_date__isnull=False)
        .exclude(detected_format=CONTACTS)
    )
    if exclude is not None:
        batches = batches.exclude(pk=exclude)
    return batches.order_by("-reference_date", "-finished_at", "-pk").first()
