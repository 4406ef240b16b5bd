"""Page d'administration des tâches de fond : liste, filtres, droits d'accès, relance d'une tâche échouée."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from parcours.conventions.examples import load_convention_example
from parcours.jobs.models import Job, JobStatus
from tests.factories import MembershipFactory, UserFactory

from .conftest import run, run_worker

URL = "/admin/jobs/job/"
REFUSED = "Fichier refusé : 2 erreurs. Rien n'a été importé ; corrigez les lignes signalées puis réimportez."


def make_job(name, status, attempts=1, max_attempts=3, error="", **extra):
    now = timezone.now()
    return Job.objects.create(
        name=name,
        status=status,
        attempts=attempts,
        max_attempts=max_attempts,
        last_error=error,
        started_at=now - datetime.timedelta(minutes=5),
        finished_at=now if status in (JobStatus.FAILED, JobStatus.SUCCEEDED) else None,
        **extra,
    )


@pytest.fixture
def jobs(db):
    agent = UserFactory(email="gestionnaire.flux@departement35.fr", first_name="Claire", last_name="Moreau")
    return [
        make_job("import-flux", JobStatus.FAILED, error=REFUSED, params={"batch": 12}, created_by=agent),
        make_job("webhooks", JobStatus.SUCCEEDED, result={"livrees": 3, "en_echec": 0}),
        make_job(
            "purge", JobStatus.RETRYING, error="Erreur technique (OperationalError) : database is locked"
        ),
        *[make_job("rappels-conventions", JobStatus.SUCCEEDED, created_by=agent) for _ in range(5)],
    ]


def test_superuser_sees_status_attempts_dates_and_error(admin_client, jobs, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "tâches de fond" in html.lower()
    assert "Import d&#x27;un flux de bénéficiaires (CAF/MSA, Département)" in html
    assert "Échouée" in html and "Nouvel essai prévu" in html and "Réussie" in html
    assert "1/3" in html and "Fichier refusé : 2 erreurs." in html
    assert "Relancer les tâches échouées sélectionnées" in html
    assert f"{URL}add/" not in html  # on ne crée pas une tâche à la main
    assert "/admin/django_tasks_database/" not in html  # la page brute (anglaise) de la file est retirée


def test_filters_by_status_and_task_name(admin_client, jobs):
    failed = admin_client.get(URL, {"status__exact": "failed"})
    assert list(failed.context["cl"].result_list) == [jobs[0]]
    reminders = admin_client.get(URL, {"name__exact": "rappels-conventions"})
    assert reminders.context["cl"].result_count == 5
    detail = admin_client.get(f"{URL}{jobs[0].pk}/change/").content.decode()
    assert "Claire Moreau" in detail and "&quot;batch&quot;: 12" in detail


def test_plain_agent_and_staff_without_permission_are_refused(client, jobs):
    agent = MembershipFactory(user__email="referente@departement35.fr").user
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    agent.is_staff = True
    agent.save()
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "retry_selected", "_selected_action": [jobs[0].pk]}).status_code == 403
    assert Job.objects.get(pk=jobs[0].pk).status == JobStatus.FAILED


def test_staff_with_view_permission_only_cannot_retry(client, jobs):
    agent = UserFactory(email="exploitation@departement35.fr", is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200 and "Relancer les tâches" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_retry_action_restarts_a_failed_task(admin_client, admin_user, smtp_down, settings):
    departement = load_convention_example()[0].departement
    MembershipFactory(organisation=departement, role="admin", user__email="admin.insertion@departement35.fr")
    settings.PARCOURS_JOBS_MAX_ATTEMPTS = 1
    run("jobs-enqueue", "rappels-conventions", "--date", "2025-03-25")
    run_worker()
    job = Job.objects.get()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # le serveur est rétabli
    succeeded = Job.objects.create(name="webhooks", status=JobStatus.SUCCEEDED, max_attempts=3)
    response = admin_client.post(
        URL, {"action": "retry_selected", "_selected_action": [job.pk, succeeded.pk]}, follow=True
    )
    html = response.content.decode()
    assert "1 tâche relancée : elle repart" in html and "1 tâche non relancée :" in html
    assert "(s)" not in html
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert job.history[-1]["par"] == admin_user.email and job.history[-1]["essais_precedents"] == 1

    run_worker()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"bilans_a_produire": 1, "rappels_envoyes": 1}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["admin.insertion@departement35.fr"]
    assert [entry.get("erreur", "") != "" for entry in job.history] == [True, False, False]
    assert Job.objects.get(pk=succeeded.pk).status == JobStatus.SUCCEEDED
