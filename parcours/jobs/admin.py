"""Page d'administration des tâches de fond : statut, essais, dates, erreur ; relance des tâches échouées."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.text import Truncator

from parcours.core.text import plural, plural_form

from . import services
from .models import Job

try:  # la page brute de la file (en anglais) est remplacée par celle-ci
    from django_tasks_db.models import DBTaskResult

    admin.site.unregister(DBTaskResult)
except (ImportError, admin.sites.NotRegistered):
    pass


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "status",
        "attempts_display",
        "created_at",
        "started_at",
        "finished_at",
        "next_attempt_at",
        "error_display",
    ]
    list_display_links = ["id", "name"]
    list_filter = ["status", "name"]
    list_select_related = ["created_by"]
    search_fields = ["last_error"]
    date_hierarchy = "created_at"
    actions = ["retry_selected"]
    fields = [
        "name",
        "status",
        "params_display",
        "attempts_display",
        "created_by",
        "created_at",
        "started_at",
        "next_attempt_at",
        "finished_at",
        "last_error",
        "result_display",
        "history_display",
        "task_result_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("jobs.retry_job")

    @admin.display(description="essais")
    def attempts_display(self, job):
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="erreur")
    def error_display(self, job):
        return Truncator(job.last_error).chars(120) if job.last_error else "—"

    @staticmethod
    def _json(value):
        return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2))

    @admin.display(description="paramètres")
    def params_display(self, job):
        return self._json(job.params)

    @admin.display(description="résultat")
    def result_display(self, job):
        return self._json(job.result) if job.result else "—"

    @admin.display(description="historique des essais")
    def history_display(self, job):
        return self._json(job.history) if job.history else "—"

    @admin.action(description="Relancer les tâches échouées sélectionnées", permissions=["retry"])
    def retry_selected(self, request, queryset):
        retried = sum(1 for job in queryset if services.retry(job, user=request.user))
        skipped = queryset.count() - retried
        if retried:
            self.message_user(
                request,
                f"{plural(retried, 'tâche relancée', 'tâches relancées')} : "
                f"{plural_form(retried, 'elle repart', 'elles repartent')} pour une série d'essais.",
            )
        if skipped:
            self.message_user(
                request,
                f"{plural(skipped, 'tâche non relancée', 'tâches non relancées')} : seules les tâches échouées (ou bloquées « en cours » "
                "depuis plus de 6 heures) peuvent l'être.",
                level=messages.WARNING,
            )
