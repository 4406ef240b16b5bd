"""État de l'installation : sonde /healthz et mesures lues en base pour /metrics.

Contrôles de la sonde (chacun ``ok``, ``degraded``, ``error`` ou ``skipped``) :

- ``database`` : la base répond (``SELECT 1``) ;
- ``nir_key`` : ``PARCOURS_NIR_KEY`` déchiffre le témoin écrit en base avec la clé en service lors de la
  migration (``KeyCanary``) ; une base restaurée sur un serveur dont la clé diffère est ainsi signalée
  avant que les fiches ne deviennent illisibles ;
- ``jobs_queue`` : âge de la plus ancienne tâche de fond due et pas encore prise ; au-delà de
  ``PARCOURS_HEALTH_MAX_QUEUE_AGE`` secondes, ``degraded`` (le processus de tâches est arrêté ou débordé).

La base ou la clé en erreur : 503 (le serveur ne doit pas recevoir de trafic). File en retard : 200 avec
l'état ``degraded`` — les pages restent servies, retirer le serveur du répartiteur n'y changerait rien ;
la supervision alerte sur cet état (ou sur ``parcours_jobs_oldest_ready_age_seconds``).
"""

import logging

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from parcours.beneficiaries.fields import decrypt_nir, encrypt_nir
from parcours.beneficiaries.models import Beneficiary
from parcours.intake.models import ImportBatch, ImportStatus
from parcours.jobs.models import WAITING_STATUSES, Job, JobStatus

from .models import NIR_CANARY, NIR_CANARY_TEXT, KeyCanary

logger = logging.getLogger(__name__)

OK, DEGRADED, ERROR, SKIPPED = "ok", "degraded", "error", "skipped"
NIR_KEY_MESSAGE = (
    "clé NIR : PARCOURS_NIR_KEY ne déchiffre pas les NIR de cette base (clé différente de celle utilisée "
    "pour les chiffrer, par exemple après une restauration) ; remettre la clé d'origine."
)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK}


def check_nir_key():
    try:
        canary = KeyCanary.objects.filter(name=NIR_CANARY).first()
        if canary is None:
            # Base sans témoin (vidée, ou reprise d'avant le témoin) : un NIR enregistré fait foi ; s'il se
            # déchiffre (ou s'il n'y en a aucun), le témoin est écrit avec la clé en service.
            list(
                Beneficiary._base_manager.exclude(nir=None).exclude(nir="").values_list("nir", flat=True)[:1]
            )
            KeyCanary.objects.get_or_create(name=NIR_CANARY, defaults={"value": encrypt_nir(NIR_CANARY_TEXT)})
        elif decrypt_nir(canary.value) != NIR_CANARY_TEXT:
            raise InvalidTag()
    except InvalidTag:
        return {"status": ERROR, "message": NIR_KEY_MESSAGE}
    except ValueError as exc:  # clé mal formée (longueur, hexadécimal)
        return {"status": ERROR, "message": f"clé NIR invalide : {exc}"}
    return {"status": OK}


def _ready_jobs(now):
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return Job.objects.filter(due, status__in=WAITING_STATUSES)


def oldest_ready_age(now=None):
    """Âge (secondes) de la plus ancienne tâche due et pas encore prise, ou None si la file est vide."""
    now = now or timezone.now()
    oldest = _ready_jobs(now).aggregate(since=Min(Coalesce("next_attempt_at", "created_at")))["since"]
    return max(0.0, (now - oldest).total_seconds()) if oldest else None


def check_jobs_queue():
    now = timezone.now()
    age = oldest_ready_age(now)
    limit = settings.PARCOURS_HEALTH_MAX_QUEUE_AGE
    result = {"status": OK, "ready": _ready_jobs(now).count(), "oldest_ready_age_seconds": age}
    result["max_age_seconds"] = limit
    if age is not None and age > limit:
        result["status"] = DEGRADED
        result["message"] = (
            f"file des tâches de fond en retard : une tâche attend depuis {int(age)} s (limite {limit} s) ; "
            "vérifier que « parcours jobs-worker » tourne."
        )
    return result


CHECKS = (("database", check_database), ("nir_key", check_nir_key), ("jobs_queue", check_jobs_queue))


def health():
    """(statut HTTP, rapport) : 503 si un contrôle est en erreur."""
    checks = {}
    for name, check in CHECKS:
        if checks.get("database", {}).get("status") == ERROR:
            checks[name] = {"status": SKIPPED}
            continue
        try:
            checks[name] = check()
        except Exception:  # noqa: BLE001 - la sonde répond toujours, sans divulguer le détail
            logger.exception("Sonde /healthz : contrôle « %s » en échec", name)
            message = (
                "base de données injoignable" if name == "database" else "contrôle en échec (voir le journal)"
            )
            checks[name] = {"status": ERROR, "message": message}
    statuses = {check["status"] for check in checks.values()}
    overall = ERROR if ERROR in statuses else DEGRADED if DEGRADED in statuses else OK
    return (503 if overall == ERROR else 200), {"status": overall, "checks": checks}


class DatabaseCollector:
    """Mesures lues en base à chaque lecture de /metrics : tâches de fond et imports de flux."""

    def collect(self):
        now = timezone.now()
        jobs = GaugeMetricFamily("parcours_jobs", "Tâches de fond par statut", labels=["status"])
        counts = dict(Job.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in JobStatus.values:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(
            "parcours_jobs_ready", "Tâches de fond dues et pas encore prises", value=_ready_jobs(now).count()
        )
        yield GaugeMetricFamily(
            "parcours_jobs_oldest_ready_age_seconds",
            "Âge de la plus ancienne tâche due et pas encore prise (0 si aucune)",
            value=oldest_ready_age(now) or 0,
        )
        imports = GaugeMetricFamily("parcours_imports", "Imports de flux par statut", labels=["status"])
        counts = dict(ImportBatch.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in ImportStatus.values:
            imports.add_metric([status], counts.get(status, 0))
        yield imports
        last = ImportBatch.objects.filter(status=ImportStatus.DONE).aggregate(last=Max("finished_at"))["last"]
        yield GaugeMetricFamily(
            "parcours_imports_last_success_timestamp_seconds",
            "Fin du dernier import réussi (secondes Unix, 0 si aucun)",
            value=last.timestamp() if last else 0,
        )
