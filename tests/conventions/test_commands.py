"""Commandes ``parcours conventions-example`` et ``parcours conventions-reminders``."""

import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from parcours.conventions.models import ReportDeadline
from parcours.conventions.services import reminder_days

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_example_command_lists_every_action_sheet_and_volet(db):
    out = run("conventions-example")
    assert "Convention « Convention pour l'insertion et l'emploi" in out and "créée" in out
    assert "Volet 1 : part État 106\u202f000,00\u00a0€, part Département 0,00\u00a0€" in out
    assert "Volet 2 : part État 624\u202f670,00\u00a0€, part Département 624\u202f670,00\u00a0€" in out
    assert "  Fiche action 3 : État 110\u202f127,00\u00a0€ / Département 110\u202f127,00\u00a0€" in out
    assert out.count("  Fiche action ") == 9


def test_reminder_delay_is_a_business_delay_overridable_per_departement(example, departement, settings):
    assert settings.PARCOURS_DELAYS["convention_report_reminder_days"] == 30
    assert reminder_days() == 30
    departement.delay_overrides = {"convention_report_reminder_days": 45}
    departement.save()
    assert reminder_days(departement) == 45


def test_reminders_command_uses_the_departement_delay(example, departement, admin):
    # Bilan final attendu le 31/03/2025 : à 40 jours, hors du délai par défaut (30 jours)…
    assert "Aucun bilan à produire dans le délai de prévenance (30 jours par défaut" in run(
        "conventions-reminders", "--today", "2025-02-19"
    )
    assert mail.outbox == []
    # … mais dans le délai de 45 jours propre au Département.
    departement.delay_overrides = {"convention_report_reminder_days": 45}
    departement.save()
    out = run("conventions-reminders", "--today", "2025-02-19", "--dry-run")
    assert "31/03/2025 (dans 40 j) — Bilan final — Convention pour l'insertion" in out
    assert "à rappeler" in out and mail.outbox == []
    out = run("conventions-reminders", "--today", "2025-02-19")
    assert "rappel envoyé" in out
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin.email]
    assert ReportDeadline.objects.get().last_reminder_on.isoformat() == "2025-02-19"
    assert "pas de nouvel envoi" in run("conventions-reminders", "--today", "2025-02-19")
    assert len(mail.outbox) == 1


def test_reminders_command_json_and_explicit_days(example, admin):
    payload = json.loads(
        run("conventions-reminders", "--today", "2025-03-25", "--days", "7", "--json", "--dry-run")
    )
    assert payload == [
        {
            "convention": example.pk,
            "title": example.title,
            "kind": "final",
            "due_on": "2025-03-31",
            "days_left": 6,
            "recipients": [admin.email],
            "sent": False,
        }
    ]
    assert "Aucun bilan à produire dans les 5 prochains jours." in run(
        "conventions-reminders", "--today", "2025-03-25", "--days", "5"
    )


def test_reminders_command_refuses_bad_input(db):
    with pytest.raises(CommandError, match="Date invalide : 31/03/2025"):
        run("conventions-reminders", "--today", "31/03/2025")
    with pytest.raises(CommandError, match="Le délai de prévenance doit être positif."):
        run("conventions-reminders", "--days", "-1")
