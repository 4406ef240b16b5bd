"""Mise en file, exécution et nouveaux essais des tâches de fond.

- ``enqueue(name, params)`` crée la ``Job`` et la place dans la file (même transaction) ;
- le processus ``parcours jobs-worker`` prend les tâches dues et appelle ``execute`` ;
- en cas d'échec, nouvel essai après ``backoff(n)`` (1 min, 2 min, 4 min… plafonné), jusqu'à
  ``max_attempts`` essais ; ensuite la tâche est « échouée » avec le message d'erreur en français ;
- ``retry(job)`` relance à la main une tâche échouée (action de la page d'administration).
"""

import datetime
import inspect
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from parcours.core.text import plural

from .handlers import KINDS, JobError
from .models import WAITING_STATUSES, Job, JobStatus

logger = logging.getLogger(__name__)

# Une tâche « en cours » depuis plus longtemps a perdu son processus (arrêt brutal) : relançable à la main.
STALE_RUNNING = datetime.timedelta(hours=6)


def default_max_attempts():
    return max(1, settings.PARCOURS_JOBS_MAX_ATTEMPTS)


def backoff(attempt):
    """Attente avant l'essai suivant l'essai n° ``attempt`` : base × 2^(n-1), plafonnée."""
    seconds = settings.PARCOURS_JOBS_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    return datetime.timedelta(seconds=min(seconds, settings.PARCOURS_JOBS_BACKOFF_MAX_SECONDS))


def _check_params(name, kind, params):
    try:
        inspect.signature(kind.func).bind(**params)
    except TypeError as exc:
        accepted = ", ".join(inspect.signature(kind.func).parameters) or "aucun"
        raise JobError(
            f"Paramètres invalides pour la tâche « {name} » : {', '.join(sorted(params))} "
            f"(paramètres possibles : {accepted}).",
            retry=False,
        ) from exc


def enqueue(name, params=None, *, user=None, max_attempts=None, run_after=None):
    """Place une tâche dans la file ; renvoie ``(job, created)``.

    Pour une tâche périodique (webhooks, purge, rappels…), une tâche identique déjà en attente suffit :
    elle est renvoyée au lieu d'en créer une seconde.
    """
    kind = KINDS.get(name)
    if kind is None:
        raise JobError(
            f"Tâche « {name} » inconnue (tâches possibles : {', '.join(KINDS)}).",
            retry=False,
        )
    params = dict(params or {})
    _check_params(name, kind, params)
    with transaction.atomic():
        if kind.singleton:
            for waiting in Job.objects.select_for_update().filter(name=name, status__in=WAITING_STATUSES):
                if waiting.params == params:
                    return waiting, False
        job = Job.objects.create(
            name=name,
            params=params,
            max_attempts=max_attempts or kind.max_attempts or default_max_attempts(),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        _dispatch(job, run_after)
    return job, True


def _dispatch(job, run_after=None):
    from .tasks import run_job

    task = run_job.using(run_after=run_after) if run_after else run_job
    result = task.enqueue(job.pk)  # dans la transaction de l'appelant : la tâche et sa Job, ou rien
    job.task_result_id = str(result.id)
    job.next_attempt_at = run_after
    job.save(update_fields=["task_result_id", "next_attempt_at"])


def _iso(moment):
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def failure_message(exc):
    if isinstance(exc, JobError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "Essai interrompu : le processus d'exécution des tâches a été arrêté."
    detail = str(exc) or "sans message"
    return f"Erreur technique ({type(exc).__name__}) : {detail}"


def execute(job_id, task_result_id=None):
    """Un essai de la tâche ``job_id`` (appelé par le processus d'exécution). Lève l'erreur en cas d'échec."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return {"ignoree": f"tâche n° {job_id} supprimée"}
        stale = job.task_result_id and task_result_id and job.task_result_id != str(task_result_id)
        if job.status not in WAITING_STATUSES or stale:
            return {"ignoree": f"tâche n° {job.pk} {job.get_status_display().lower()} : exécution périmée"}
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = now
        job.finished_at = None
        job.next_attempt_at = None
        job.save(update_fields=["status", "attempts", "started_at", "finished_at", "next_attempt_at"])
    kind = KINDS.get(job.name)
    try:
        if kind is None:
            raise JobError(f"Tâche « {job.name} » inconnue de cette version de Parcours.", retry=False)
        result = kind.func(**job.params)
    except BaseException as exc:
        _record_failure(job, exc)
        raise
    _record_success(job, result)
    return result


def _record_success(job, result):
    now = timezone.now()
    job.status = JobStatus.SUCCEEDED
    job.result = result if isinstance(result, dict) else {"resultat": result}
    job.finished_at = now
    job.last_error = ""
    job.history = [*job.history, {"essai": job.attempts, "debut": _iso(job.started_at), "fin": _iso(now)}]
    job.save(update_fields=["status", "result", "finished_at", "last_error", "history"])


def _record_failure(job, exc):
    now = timezone.now()
    message = failure_message(exc)
    entry = {"essai": job.attempts, "debut": _iso(job.started_at), "fin": _iso(now), "erreur": message}
    job.last_error = message
    with transaction.atomic():
        if getattr(exc, "retry", True) and job.attempts < job.max_attempts:
            job.status = JobStatus.RETRYING
            next_attempt = now + backoff(job.attempts)
            entry["nouvel_essai_le"] = _iso(next_attempt)
            job.history = [*job.history, entry]
            job.save(update_fields=["status", "last_error", "history"])
            _dispatch(job, next_attempt)
            logger.warning(
                "Tâche %s n° %s : essai %s/%s en échec, nouvel essai le %s : %s",
                job.name, job.pk, job.attempts, job.max_attempts, entry["nouvel_essai_le"], message,
            )  # fmt: skip
        else:
            job.status = JobStatus.FAILED
            job.finished_at = now
            job.history = [*job.history, entry]
            job.save(update_fields=["status", "last_error", "history", "finished_at"])
            logger.error(
                "Tâche %s n° %s échouée après %s : %s",
                job.name,
                job.pk,
                plural(job.attempts, "essai"),
                message,
            )


def can_retry(job, now=None):
    now = now or timezone.now()
    if job.status == JobStatus.FAILED:
        return True
    return (
        job.status == JobStatus.RUNNING
        and job.started_at is not None
        and job.started_at < now - STALE_RUNNING
    )


def retry(job, *, user=None):
    """Relance une tâche échouée (ou bloquée « en cours ») : nouvelle série d'essais, historique conservé."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not can_retry(job):
            return False
        job.history = [
            *job.history,
            {
                "relance": _iso(timezone.now()),
                "par": getattr(user, "email", "") or "",
                "essais_precedents": job.attempts,
            },
        ]
        job.status = JobStatus.PENDING
        job.attempts = 0
        job.finished_at = None
        job.save(update_fields=["history", "status", "attempts", "finished_at"])
        _dispatch(job)
    return True


def enqueue_import(source, *, organisation, user=None, max_attempts=None, **batch_options):
    """Dépose un fichier de flux (copie conservée, lot « en attente ») et met son import en file.

    ``batch_options`` : ceux de ``parcours.intake.services.create_batch`` (``fmt``, ``mapping_name``,
    ``received_on``, ``initial_stock``, ``filename``). Renvoie ``(lot, tâche)``.
    """
    from parcours.intake.services import create_batch

    with transaction.atomic():
        batch = create_batch(source, organisation=organisation, user=user, **batch_options)
        job, _ = enqueue("import-flux", {"batch": batch.pk}, user=user, max_attempts=max_attempts)
    return batch, job
