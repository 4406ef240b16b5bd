"""La tâche de la file de django-tasks : exécute une ``Job`` (voir ``services.execute``).

Une seule tâche pour toutes les sortes de travaux : la file ne porte que l'identifiant de la ``Job``,
qui garde les paramètres, les essais et les erreurs. Django 6 fournit le même cadre sous ``django.tasks``.
"""

try:  # Django 6 et plus
    from django.tasks import task
except ImportError:  # Django 5.2 : rétroportage django-tasks
    from django_tasks import task


@task(takes_context=True)
def run_job(context, job_id):
    from .services import execute

    return execute(job_id, task_result_id=context.task_result.id)
