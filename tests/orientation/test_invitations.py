"""Invitations : courriel, SMS (prestataire), courrier ; relance au 3e jour, expiration, statut de distribution."""

import datetime
import io
import json
import urllib.error

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from parcours.journal.models import Event
from parcours.orientation import services, sms
from parcours.orientation.models import Channel, Invitation, InvitationStatus
from tests.factories import BeneficiaryFactory

D = datetime.date

pytestmark = pytest.mark.django_db


def test_email_invitation_is_sent_in_french_and_logged(person, manager):
    invitation = services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    assert invitation.status == InvitationStatus.SENT
    assert (invitation.sent_on, invitation.expires_on, invitation.sent_by) == (
        D(2026, 3, 2),
        D(2026, 3, 12),
        manager,
    )
    [message] = mail.outbox
    assert message.to == ["nadia.lebreton@example.org"]
    assert "rendez-vous d'orientation" in message.subject
    assert "Madame LEBRETON" in message.body and "avant le 12/03/2026" in message.body
    assert "Département d'Ille-et-Vilaine" in message.body
    assert "vous recevrez une convocation à une date fixée" in message.body and "(e)" not in message.body
    kinds = list(
        Event.objects.filter(beneficiary=person).order_by("pk").values_list("kind", "occurred_on", "actor")
    )
    assert kinds == [
        ("invitation_created", D(2026, 3, 2), manager.pk),
        ("invited", D(2026, 3, 2), manager.pk),
    ]


def test_email_invitation_without_known_civility_does_not_name_the_person(person, manager):
    person.civility = ""
    person.save()
    services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    [message] = mail.outbox
    assert message.body.startswith("Madame, Monsieur,\n") and "LEBRETON" not in message.body


def test_sms_invitation_uses_normalised_mobile_and_records_reference(person, manager):
    invitation = services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    assert sms.outbox[0]["to"] == "+33612345678"
    assert "rendez-vous d'orientation" in sms.outbox[0]["body"]
    assert invitation.provider_reference == "locmem-1"
    services.record_delivery(invitation, delivered=True, on=D(2026, 3, 2))
    invitation.refresh_from_db()
    assert (invitation.status, invitation.delivered_on) == (InvitationStatus.DELIVERED, D(2026, 3, 2))


def test_sms_provider_failure_is_recorded(person, manager, settings, monkeypatch):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.BrevoSmsBackend"
    settings.PARCOURS_SMS_API_KEY = "cle-de-test"
    calls = []

    def refuse(request, timeout):
        calls.append((request.full_url, json.loads(request.data), request.get_header("Api-key")))
        raise urllib.error.HTTPError(
            request.full_url, 400, "Bad Request", {}, io.BytesIO(b'{"code":"invalid_parameter"}')
        )

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    invitation = services.invite(person, channel=Channel.SMS, author=manager, today=D(2026, 3, 2))
    assert invitation.status == InvitationStatus.FAILED
    assert "refusé l'envoi (400)" in invitation.failure_reason
    url, payload, key = calls[0]
    assert url.endswith("/v3/transactionalSMS/sms") and key == "cle-de-test"
    assert payload["recipient"] == "33612345678" and payload["type"] == "transactional"
    assert Event.objects.filter(beneficiary=person, kind="invitation_failed").exists()


def test_brevo_adapter_success(settings, monkeypatch):
    settings.PARCOURS_SMS_API_KEY = "cle"

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(
        "urllib.request.urlopen", lambda request, timeout: Response(b'{"messageId": 1511882900176220}')
    )
    result = sms.BrevoSmsBackend().send("+33612345678", "Bonjour")
    assert result.ok and result.reference == "1511882900176220"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 7 12 34 56 78", "+33712345678"),
        ("0033612345678", "+33612345678"),
        ("02 99 12 34 56", None),
        ("", None),
        ("+262692123456", "+262692123456"),
    ],
)
def test_normalise_phone(raw, expected):
    assert sms.normalise_phone(raw) == expected


def test_missing_contact_is_a_clear_french_error(person, manager):
    person.address = ""
    with pytest.raises(Exception, match="Nadia LEBRETON : adresse postale incomplète"):
        services.invite(person, channel=Channel.POSTAL, author=manager)
    assert not Invitation.objects.exists()


def test_postal_letter_is_marked_sent_and_rendered(person, manager):
    invitation = services.invite(person, channel=Channel.POSTAL, author=manager, today=D(2026, 3, 2))
    assert invitation.status == InvitationStatus.SENT
    letter = services.render_message(invitation, "letter")
    assert "avant le 12/03/2026" in letter and "Madame," in letter


def test_reminder_on_day_three_then_expiry(person, manager, departement):
    other = BeneficiaryFactory(departement=departement, phone="0700000000", new_entrant_t0=D(2026, 3, 1))
    email = services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    text = services.invite(other, channel=Channel.SMS, author=manager, today=D(2026, 3, 3))
    mail.outbox.clear()

    reminded, errors = services.send_reminders(D(2026, 3, 4))
    assert (reminded, errors) == ([], [])
    reminded, errors = services.send_reminders(D(2026, 3, 5))  # 3 jours après l'envoi du 02/03
    assert [i.pk for i in reminded] == [email.pk] and not errors
    assert mail.outbox[0].subject.startswith("Rappel")
    assert "Nous vous avons écrit le 02/03/2026" in mail.outbox[0].body
    assert services.send_reminders(D(2026, 3, 5)) == ([], [])  # une seule relance
    reminded, _ = services.send_reminders(D(2026, 3, 6))
    assert [i.pk for i in reminded] == [text.pk] and sms.outbox[-1]["body"].startswith("Rappel")
    email.refresh_from_db()
    assert email.reminded_on == D(2026, 3, 5)
    assert Event.objects.filter(
        kind="invitation_reminded", beneficiary=person, occurred_on=D(2026, 3, 5)
    ).exists()


def test_reminder_delay_is_a_per_departement_setting(person, manager, departement):
    departement.delay_overrides = {"invitation_reminder_days": 5}
    departement.save()
    services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    assert services.send_reminders(D(2026, 3, 6)) == ([], [])
    assert len(services.send_reminders(D(2026, 3, 7))[0]) == 1


def test_reminders_command(person, manager):
    services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    out = io.StringIO()
    call_command("orientation-reminders", "--date", "2026-03-05", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"reminded": 1, "expired": 0, "errors": []}
    out = io.StringIO()
    call_command("orientation-reminders", "--date", "2026-03-13", stdout=out)
    assert "0 invitation relancée, 1 expirée." in out.getvalue()
    assert Invitation.objects.get().status == InvitationStatus.EXPIRED
    with pytest.raises(CommandError, match="n'est pas une date"):
        call_command("orientation-reminders", "--date", "13/03/2026")


def test_invalid_transition_is_refused(person, manager):
    invitation = services.invite(person, channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2))
    services.expire_invitations(D(2026, 3, 20))
    invitation.refresh_from_db()
    with pytest.raises(Exception, match="impossible de passer de « Expirée sans réponse » à « Distribuée »"):
        services.record_delivery(invitation, delivered=True)


def test_invite_many_reports_each_person(person, manager, departement):
    no_email = BeneficiaryFactory(departement=departement, email="", last_name="Sansmail", first_name="Paul")
    report = services.invite_many(
        [person, no_email], channel=Channel.EMAIL, author=manager, today=D(2026, 3, 2)
    )
    assert [i.beneficiary for i in report.sent] == [person]
    assert report.skipped[0][0] == no_email and "aucune adresse électronique" in report.skipped[0][1]
    assert report.summary == "1 invitation envoyée, 0 en échec, 1 personne non invitée."


def test_convocation_names_the_appointment(person, manager, frozen):
    frozen(2026, 3, 13)
    appointment = services.schedule_appointment(
        person,
        starts_at=datetime.datetime(2026, 3, 20, 8, 30, tzinfo=datetime.UTC),
        place="CDAS de Redon",
        author=manager,
    )
    invitation = services.invite(
        person, channel=Channel.SMS, author=manager, is_convocation=True, appointment=appointment
    )
    assert invitation.is_convocation
    assert "vous convoque" in sms.outbox[0]["body"] and "20/03/2026 à 09h30" in sms.outbox[0]["body"]
