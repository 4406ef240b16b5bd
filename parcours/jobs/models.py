"""Suivi des tâches de fond : une ligne par tâche demandée, avec ses essais et leur issue."""

from django.conf import settings
from django.db import models


def job_name_choices():
    from .handlers import KINDS

    return [(name, kind.label) for name, kind in KINDS.items()]


class JobStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En cours"
    RETRYING = "retrying", "Nouvel essai prévu"
    SUCCEEDED = "succeeded", "Réussie"
    FAILED = "failed", "Échouée"


WAITING_STATUSES = (JobStatus.PENDING, JobStatus.RETRYING)


class Job(models.Model):
    """Une tâche de fond : quoi (``name`` et ``params``), où elle en est, ses essais et sa dernière erreur.

    L'exécution passe par la file de django-tasks (``task_result_id`` : l'exécution prévue en cours) ;
    chaque essai est consigné dans ``history``.
    """

    name = models.CharField("tâche", max_length=50, choices=job_name_choices, db_index=True)
    params = models.JSONField("paramètres", default=dict, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField("essais effectués", default=0)
    max_attempts = models.PositiveSmallIntegerField("essais au plus")
    last_error = models.TextField("dernière erreur", blank=True)
    result = models.JSONField("résultat", default=dict, blank=True)
    history = models.JSONField("historique des essais", default=list, blank=True)
    task_result_id = models.CharField("exécution en file", max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="demandée par",
    )
    created_at = models.DateTimeField("demandée le", auto_now_add=True)
    started_at = models.DateTimeField("dernier essai le", null=True, blank=True)
    finished_at = models.DateTimeField("terminée le", null=True, blank=True)
    next_attempt_at = models.DateTimeField("prochain essai le", null=True, blank=True)

    class Meta:
        verbose_name = "tâche de fond"
        verbose_name_plural = "tâches de fond"
        ordering = ["-created_at", "-pk"]
        permissions = [("retry_job", "Peut relancer une tâche de fond")]

    def __str__(self):
        return f"{self.get_name_display()} n° {self.pk} ({self.get_status_display()})"
