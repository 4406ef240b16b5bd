"""Planificateur des tâches périodiques, tenu par le processus d'exécution (``parcours jobs-worker``).

Sans cron (poste de travail, démonstration lancée par ``parcours run``, petite installation), le processus
d'exécution met lui-même en file les tâches périodiques : la tâche ``planificateur`` regarde le tableau
``PARCOURS_JOBS_SCHEDULE`` (``{"every_minutes": n}`` ou ``{"daily_at": "HH:MM"}``, heure de Paris), met en
file ce qui est dû puis se replace dans la file pour la minute suivante. « Dû » se lit dans la table des
tâches : aucune tâche de ce nom demandée depuis l'intervalle, ou depuis l'heure du jour. Les tâches
périodiques sont uniques en attente : le planificateur et un cron éventuel ne les doublent pas.
"""

import datetime
import logging

from django.conf import settings
from django.utils import timezone

from .models import Job

logger = logging.getLogger(__name__)

NAME = "planificateur"


def schedule():
    return dict(getattr(settings, "PARCOURS_JOBS_SCHEDULE", {}) or {})


def enabled():
    return bool(getattr(settings, "PARCOURS_JOBS_SCHEDULER", False) and schedule())


def _last_requested(names):
    """Dernière demande de chaque tâche (une requête)."""
    from django.db.models import Max

    rows = Job.objects.filter(name__in=names).values("name").annotate(last=Max("created_at"))
    return {row["name"]: row["last"] for row in rows}


def due(now=None):
    """Noms des tâches périodiques à mettre en file à ``now``."""
    now = now or timezone.now()
    entries = schedule()
    last = _last_requested(list(entries))
    names = []
    for name, rule in entries.items():
        previous = last.get(name)
        if "every_minutes" in rule:
            since = now - datetime.timedelta(minutes=int(rule["every_minutes"]))
        else:
            hour, minute = (int(part) for part in str(rule["daily_at"]).split(":"))
            local = timezone.localtime(now)
            since = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if local < since:
                continue
        if previous is None or previous <= since:
            names.append(name)
    return names


def run_schedule(now=None):
    """Met en file les tâches dues puis replace le planificateur dans la file (prochain tour)."""
    from .services import enqueue

    now = now or timezone.now()
    queued = []
    for name in due(now):
        try:
            _, created = enqueue(name)
        except Exception:  # une tâche mal déclarée n'arrête pas les autres
            logger.exception("Planificateur : la tâche %s n'a pas pu être mise en file.", name)
            continue
        if created:
            queued.append(name)
    start()
    return {"mises_en_file": queued}


def start(now=None, *, immediately=False):
    """Place le planificateur dans la file pour le prochain tour (sans doublon) ; rien s'il est désactivé.
    ``immediately`` : au démarrage du processus d'exécution, premier tour sans attendre."""
    from .services import enqueue

    if not enabled():
        return None
    now = now or timezone.now()
    seconds = 0 if immediately else int(getattr(settings, "PARCOURS_JOBS_SCHEDULER_SECONDS", 60))
    job, _ = enqueue(NAME, run_after=now + datetime.timedelta(seconds=seconds) if seconds else None)
    return job
