"""Messages des rendez-vous : confirmation, rappels (la veille, second rappel), déplacement, annulation ; plage
d'envoi 8 h - 20 h ; gabarits et coordonnées par Département ; statut de distribution ; tâche de fond."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError

from parcours.jobs import schedule
from parcours.jobs.models import Job
from parcours.orientation import appointment_messages as messages
from parcours.orientation import services, sms
from parcours.orientation.models import (
    AppointmentMessage,
    Attendance,
    Channel,
    MessageKind,
    MessageStatus,
)
from tests.factories import BeneficiaryFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
PLACE = "Espace social de Redon, 12 rue Victor Hugo"


def at(day, hour, minute=0, month=3):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def clock(monkeypatch):
    """Heure courante réglable : ``clock(at(19, 14, 31))``."""
    from django.utils import timezone

    def set_now(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_now


@pytest.fixture
def appointment(person, manager, clock):
    """Rendez-vous d'orientation du vendredi 20 mars 2026 à 14 h 30, fixé le lundi 16 à 9 h."""
    clock(at(16, 9))
    return services.schedule_appointment(person, starts_at=at(20, 14, 30), place=PLACE, author=manager)


def sent(appointment, kind=None):
    rows = AppointmentMessage.objects.filter(appointment=appointment, status=MessageStatus.SENT)
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("kind", "channel"))


# --- plage horaire ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(16, 9, 5), at(16, 9, 5)),  # dans la plage : tout de suite
        (at(16, 7, 59), at(16, 8)),  # avant 8 h : 8 h le jour même
        (at(16, 19, 59), at(16, 19, 59)),
        (at(16, 20, 0), at(17, 8)),  # 20 h pile : déjà fermé, le lendemain à 8 h
        (at(16, 23, 30), at(17, 8)),
        (at(28, 21, 0), at(29, 8)),  # passage à l'heure d'été la nuit du 28 au 29 mars : 8 h heure de Paris
    ],
)
def test_messages_are_never_sent_between_8_pm_and_8_am(moment, expected):
    assert messages.next_allowed(moment) == expected
    assert messages.within_window(expected)


def test_window_bounds_are_settings(settings):
    settings.PARCOURS_MESSAGE_HOURS = (9, 18)
    assert messages.next_allowed(at(16, 8, 30)) == at(16, 9)
    assert messages.next_allowed(at(16, 18, 0)) == at(17, 9)


def test_a_confirmation_asked_at_night_waits_for_8_am(
    appointment, manager, clock, django_capture_on_commit_callbacks
):
    clock(at(16, 21, 30))
    with django_capture_on_commit_callbacks(execute=True):
        queued = messages.notify(appointment, "confirmation", actor=manager)
    assert {m.scheduled_for for m in queued} == {at(17, 8)}
    assert mail.outbox == [] and sms.outbox == []
    # La tâche de 23 h ne l'envoie pas ; celle de 8 h 05 l'envoie.
    assert messages.send_due(at(16, 23))["en_attente"] == 2
    assert mail.outbox == [] and sms.outbox == []
    assert messages.send_due(at(17, 7, 55))["envoyes"] == 0
    result = messages.send_due(at(17, 8, 5))
    assert result["envoyes"] == 2
    assert sent(appointment) == [("confirmation", "email"), ("confirmation", "sms")]
    assert AppointmentMessage.objects.filter(appointment=appointment).first().sent_at == at(17, 8, 5)


def test_send_message_outside_the_window_keeps_it_queued_until_the_next_opening(appointment, manager):
    [message, _] = messages.notify(appointment, "confirmation", actor=manager, now=at(16, 10), send_now=False)
    result = messages.send_message(message, now=at(16, 22))
    assert result.status == MessageStatus.QUEUED and result.scheduled_for == at(17, 8)
    assert sms.outbox == [] and mail.outbox == []


# --- confirmation, gabarits par Département -------------------------------------------------------------------


def test_confirmation_goes_by_email_and_sms_once_committed(
    appointment, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = messages.notify(appointment, "confirmation", actor=manager, now=at(16, 9, 5))
    assert sorted(m.channel for m in created) == [Channel.EMAIL, Channel.SMS]
    [email] = mail.outbox
    assert email.to == ["nadia.lebreton@example.org"]
    assert "confirmé le 20/03/2026 à 14h30" in email.subject
    assert "vendredi 20 mars 2026 à 14h30" in email.body and "Madame LEBRETON" in email.body
    [text] = sms.outbox
    assert text["to"] == "+33612345678"
    assert "confirmé le 20/03/2026 à 14h30, Espace social de Redon" in text["body"]
    rows = AppointmentMessage.objects.filter(appointment=appointment)
    assert {(m.channel, m.status, m.provider_reference, m.created_by) for m in rows} == {
        (Channel.EMAIL, MessageStatus.SENT, "", manager),
        (Channel.SMS, MessageStatus.SENT, "locmem-1", manager),
    }


def test_no_message_is_sent_twice_for_the_same_appointment_kind_and_channel(
    appointment, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        messages.notify(appointment, "confirmation", actor=manager, now=at(16, 9, 5))
    with django_capture_on_commit_callbacks(execute=True):
        again = messages.notify(appointment, "confirmation", actor=manager, now=at(16, 9, 6))
    assert len(sms.outbox) == 1 and len(mail.outbox) == 1
    assert {m.status for m in again} == {MessageStatus.SENT}
    first = AppointmentMessage.objects.filter(appointment=appointment, channel=Channel.SMS).get()
    with pytest.raises(IntegrityError):
        AppointmentMessage.objects.create(
            appointment=appointment,
            kind=first.kind,
            channel=first.channel,
            key=first.key,
            recipient=first.recipient,
            body="doublon",
            scheduled_for=at(16, 10),
        )


def test_person_without_email_gets_only_the_sms(departement, manager, clock):
    clock(at(16, 9))
    person = BeneficiaryFactory(departement=departement, email="", phone="07 61 22 33 44")
    appointment = services.schedule_appointment(person, starts_at=at(20, 10), place=PLACE, author=manager)
    created = messages.notify(appointment, "confirmation", now=at(16, 9), send_now=False)
    assert [(m.channel, m.recipient) for m in created] == [(Channel.SMS, "+33761223344")]


def test_departement_template_and_contact_details(appointment, settings, tmp_path):
    folder = tmp_path / "orientation" / "messages" / "35"
    folder.mkdir(parents=True)
    (folder / "appointment_confirmation_sms.txt").write_text(
        "Ille-et-Vilaine : RDV le {{ starts_at|date:'d/m' }} à {{ starts_at|time:'H\\hi' }}. Tél. {{ contact_phone }}"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0].get("DIRS", [])]}
    ]
    settings.PARCOURS_ORIENTATION_CONTACTS = {
        "35": {"phone": "02 99 02 35 35", "address": "1 avenue de la Préfecture, 35042 Rennes"}
    }
    assert (
        messages.render(appointment, "confirmation", "sms")
        == "Ille-et-Vilaine : RDV le 20/03 à 14h30. Tél. 02 99 02 35 35"
    )
    email = messages.render(appointment, "confirmation", "email")
    assert "Adresse du service : 1 avenue de la Préfecture, 35042 Rennes" in email
    assert "au 02 99 02 35 35" in email and "Département d'Ille-et-Vilaine" in email


def test_sms_provider_failure_is_recorded_as_the_delivery_status(appointment, monkeypatch):
    monkeypatch.setattr(
        sms, "send_sms", lambda to, body: sms.SmsResult(ok=False, error="Numéro non attribué (Brevo 400)")
    )
    messages.notify(appointment, "confirmation", now=at(16, 10), send_now=False)
    messages.send_due(at(16, 10, 1))
    failed = AppointmentMessage.objects.get(appointment=appointment, channel=Channel.SMS)
    assert (failed.status, failed.failure_reason) == (MessageStatus.FAILED, "Numéro non attribué (Brevo 400)")
    delivered = AppointmentMessage.objects.get(appointment=appointment, channel=Channel.EMAIL)
    messages.record_message_delivery(delivered, delivered=True, at=at(16, 10, 2))
    delivered.refresh_from_db()
    assert (delivered.status, delivered.delivered_at) == (MessageStatus.DELIVERED, at(16, 10, 2))


# --- rappels --------------------------------------------------------------------------------------------------


def test_reminder_job_sends_the_day_before_message(appointment):
    assert messages.send_due(at(19, 14, 0)) == {
        "rappels_prepares": 0,
        "envoyes": 0,
        "echecs": 0,
        "en_attente": 0,
    }
    result = messages.send_due(at(19, 14, 35))
    assert (result["rappels_prepares"], result["envoyes"]) == (2, 2)
    assert sent(appointment) == [("reminder", "email"), ("reminder", "sms")]
    [text] = sms.outbox
    assert text["body"].startswith(
        "Rappel : Bonjour Nadia LEBRETON, vous avez rendez-vous le 20/03/2026 à 14h30"
    )
    assert mail.outbox[0].subject.startswith("Rappel : rendez-vous le 20/03/2026 à 14h30")
    # Les passages suivants de la tâche n'envoient rien de plus.
    assert messages.send_due(at(19, 14, 40))["envoyes"] == 0
    assert messages.send_due(at(20, 9))["envoyes"] == 0
    assert len(sms.outbox) == 1


def test_second_reminder_is_a_departement_setting(appointment, departement):
    departement.delay_overrides = {"appointment_second_reminder_days": 3}
    departement.save()
    messages.send_due(at(17, 14, 35))
    assert sent(appointment) == [("reminder", "email"), ("reminder", "sms")]
    messages.send_due(at(19, 14, 35))
    assert len(sent(appointment, MessageKind.REMINDER)) == 4


def test_reminder_of_an_evening_appointment_is_sent_within_the_window_the_day_before(person, manager, clock):
    clock(at(16, 9))
    late = services.schedule_appointment(person, starts_at=at(20, 20, 30), place=PLACE, author=manager)
    assert messages.reminder_time(late, 1) == at(19, 19, 30)
    messages.send_due(at(19, 19, 31))
    assert sent(late) == [("reminder", "email"), ("reminder", "sms")]


def test_appointment_fixed_after_the_reminder_time_gets_no_reminder(person, manager, clock):
    clock(at(19, 18))
    soon = services.schedule_appointment(person, starts_at=at(20, 9), place=PLACE, author=manager)
    messages.send_due(at(19, 18, 5))
    assert not soon.messages.exists()


def test_no_reminder_for_a_cancelled_appointment_and_queued_ones_are_dropped(appointment, manager, clock):
    messages.notify(appointment, "confirmation", now=at(16, 22), send_now=False)  # en attente jusqu'à 8 h
    clock(at(17, 7))
    services.record_attendance(appointment, Attendance.CANCELLED, author=manager)
    assert set(appointment.messages.values_list("status", flat=True)) == {MessageStatus.CANCELLED}
    messages.send_due(at(19, 14, 35))
    assert sms.outbox == [] and mail.outbox == []


def test_cancellation_message_is_sent_and_pending_reminders_are_cancelled(appointment, manager):
    messages.queue_reminders(at(19, 14, 31))  # rappels préparés, pas encore envoyés
    cancelled = messages.notify(appointment, "cancelled", actor=manager, now=at(19, 14, 32), send_now=False)
    assert {m.kind for m in cancelled} == {MessageKind.CANCELLED}
    assert set(appointment.messages.filter(kind=MessageKind.REMINDER).values_list("status", flat=True)) == {
        MessageStatus.CANCELLED
    }
    messages.send_due(at(19, 14, 33))
    [text] = sms.outbox
    assert "votre rendez-vous RSA du 20/03/2026 à 14h30 est annulé" in text["body"]


def test_moved_appointment_gets_its_own_reminders(appointment, manager):
    messages.queue_reminders(at(19, 14, 31))
    appointment.starts_at = at(23, 10)
    appointment.save()
    messages.notify(
        appointment, "moved", previous_starts_at=at(20, 14, 30), now=at(19, 14, 32), send_now=False
    )
    assert not appointment.messages.filter(kind=MessageKind.REMINDER, status=MessageStatus.QUEUED).exists()
    messages.send_due(at(19, 14, 33))
    assert "du 20/03/2026 est déplacé au 23/03/2026 à 10h00" in sms.outbox[0]["body"]
    assert "Votre rendez-vous du vendredi 20 mars 2026 à 14h30 est déplacé" in mail.outbox[0].body
    messages.send_due(at(22, 10, 1))
    assert sent(appointment, MessageKind.REMINDER) == [("reminder", "email"), ("reminder", "sms")]


def test_manual_reminder_once_a_day(appointment, manager):
    messages.remind(appointment, actor=manager, now=at(17, 11))
    with pytest.raises(Exception, match="déjà été envoyé aujourd'hui"):
        messages.remind(appointment, actor=manager, now=at(17, 15))
    assert len(messages.remind(appointment, actor=manager, now=at(18, 9))) == 2


# --- tâche de fond et planificateur du processus d'exécution ----------------------------------------------------


# Comme tests/jobs : le processus d'exécution ouvre ses propres transactions.
@pytest.mark.django_db(transaction=True)
def test_reminder_task_runs_through_the_jobs_worker(appointment, clock):
    from django.core.management import call_command

    from parcours.jobs.services import enqueue

    clock(at(19, 15))
    enqueue("messages-rendez-vous")
    call_command("jobs-worker", "--une-fois", "--verbosity", "0")
    job = Job.objects.get(name="messages-rendez-vous")
    assert job.status == "succeeded" and job.result["envoyes"] == 2
    assert sent(appointment) == [("reminder", "email"), ("reminder", "sms")]


def test_worker_scheduler_queues_periodic_tasks_without_cron(settings, clock):
    settings.PARCOURS_JOBS_SCHEDULER = True
    clock(at(16, 9, 30))
    schedule.run_schedule()
    queued = set(Job.objects.values_list("name", flat=True))
    assert {"messages-rendez-vous", "relances-invitations", "webhooks", "planificateur"} <= queued
    # Le tour suivant, une minute après : rien de nouveau hormis les webhooks (chaque minute) et lui-même.
    Job.objects.exclude(name="planificateur").update(status="succeeded")
    clock(at(16, 9, 31))
    assert schedule.due() == ["webhooks"]
    # Les relances d'invitations partent une fois par jour, à 9 h : le lendemain à 8 h, pas encore.
    assert "relances-invitations" not in schedule.due(at(17, 8, 30))
    assert "relances-invitations" in schedule.due(at(17, 9, 1))


def test_scheduler_can_be_turned_off_when_cron_does_the_job(settings):
    settings.PARCOURS_JOBS_SCHEDULER = False
    assert schedule.start() is None
    assert not Job.objects.exists()


def test_jobs_worker_starts_the_scheduler(settings, monkeypatch):
    """« parcours jobs-worker » (et donc « parcours run ») place le planificateur dans la file au démarrage."""
    import importlib

    from django.core.management import call_command

    worker = importlib.import_module("parcours.jobs.management.commands.jobs-worker")
    monkeypatch.setattr(worker, "call_command", lambda *args, **kwargs: None)
    settings.PARCOURS_JOBS_SCHEDULER = True
    call_command("jobs-worker", "--verbosity", "0")
    job = Job.objects.get(name="planificateur")
    assert job.status == "pending" and job.next_attempt_at is None  # premier tour sans attendre
    call_command("jobs-worker", "--verbosity", "0")  # redémarrage : pas de second planificateur
    assert Job.objects.filter(name="planificateur").count() == 1


def test_invitation_reminders_task_waits_for_8_am(person, manager, clock):
    from parcours.jobs.handlers import orientation_reminders

    services.invite(person, channel=Channel.SMS, author=manager, today=datetime.date(2026, 3, 2))
    clock(at(5, 7))  # le cron de 7 h
    result = orientation_reminders()
    assert result["relancees"] == 0 and len(sms.outbox) == 1
    later = Job.objects.get(pk=result["relances_reportees_tache"])
    assert (later.name, later.next_attempt_at) == ("relances-invitations", at(5, 8))
    clock(at(5, 8, 1))
    assert orientation_reminders()["relancees"] == 1
    assert sms.outbox[-1]["body"].startswith("Rappel : ")
