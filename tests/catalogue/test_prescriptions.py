"""Cycle de vie des prescriptions : création, réponses, expiration, relances, journal daté avec auteur."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from parcours.catalogue import prescriptions as rx
from parcours.catalogue.models import PrescriptionLog, PrescriptionStatus, RefusalReason
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory, DepartementFactory

pytestmark = pytest.mark.django_db

OPEN, ACCEPTED, REFUSED, EXPIRED = (
    PrescriptionStatus.OPEN,
    PrescriptionStatus.ACCEPTED,
    PrescriptionStatus.REFUSED,
    PrescriptionStatus.EXPIRED,
)


def prescribe(user, person, service, **extra):
    values = {
        "user": user,
        "beneficiary": person,
        "service": service,
        "shared_data": rx.build_shared_data(rx.prefill(person), {"phone"}),
        "message": "Recherche un moyen de transport pour se rendre en formation.",
        "consent": True,
    }
    values.update(extra)
    return rx.create_prescription(**values)


@pytest.fixture
def open_prescription(referent, person, bike_service):
    return prescribe(referent, person, bike_service)


def test_create_sends_signed_link_and_logs(referent, person, bike_service):
    prescription = prescribe(referent, person, bike_service)

    assert prescription.status == OPEN
    assert prescription.recipient_email == "contact@atelier-velo.fr"  # courriel de la structure
    assert prescription.sent_at is not None
    assert prescription.shared_data == {"first_name": "Nadia", "last_name": "Lebreton", "phone": "0612345678"}
    assert prescription.expires_on == timezone.localdate() + datetime.timedelta(days=30)
    (email,) = mail.outbox
    assert email.to == ["contact@atelier-velo.fr"]
    assert rx.answer_url(prescription).split("/catalogue/")[1] in email.body
    assert "Nadia" not in email.body  # les données personnelles restent derrière le lien
    (log,) = prescription.logs.all()
    assert (log.action, log.from_status, log.to_status, log.actor) == ("sent", "", OPEN, referent)
    assert log.at is not None
    assert Event.objects.get(beneficiary=person, kind=rx.EVENT_PRESCRIPTION_SENT).payload["service_name"] == (
        "Atelier de réparation de vélos"
    )


def test_expiry_and_link_validity_are_settings(settings, referent, person, bike_service):
    settings.PARCOURS_CATALOGUE = {"prescription_expiry_days": 45, "answer_link_days": 15}
    prescription = prescribe(referent, person, bike_service)
    assert prescription.expires_on == timezone.localdate() + datetime.timedelta(days=45)
    assert "valable 15 jours" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"consent": False}, "consentement_requis"),
        ({"shared_data": {"first_name": "Nadia"}}, "donnees_requises"),
    ],
)
def test_create_refused_without_consent_or_identity(referent, person, bike_service, extra, code):
    with pytest.raises(rx.PrescriptionError) as exc:
        prescribe(referent, person, bike_service, **extra)
    assert exc.value.code == code
    assert not person.prescriptions.exists()


def test_create_refused_for_read_only_role_other_departement_inactive_service_duplicate(
    referent, manager_ro, person, bike_service
):
    with pytest.raises(rx.PrescriptionError, match="Votre rôle ne permet pas de prescrire."):
        prescribe(manager_ro, person, bike_service)
    stranger = BeneficiaryFactory(departement=DepartementFactory(departement_code="62", name="Pas-de-Calais"))
    with pytest.raises(rx.PrescriptionError, match="ne fait pas partie de votre périmètre"):
        prescribe(referent, stranger, bike_service)
    prescribe(referent, person, bike_service)
    with pytest.raises(rx.PrescriptionError) as exc:
        prescribe(referent, person, bike_service)
    assert exc.value.code == "doublon"
    bike_service.is_active = False
    bike_service.save()
    with pytest.raises(rx.PrescriptionError) as exc:
        prescribe(referent, BeneficiaryFactory(departement=person.departement), bike_service)
    assert exc.value.code == "service_inactif"


def test_accept_copies_hours_into_the_activity_plan(open_prescription, partner_agent, person):
    start = timezone.localdate()
    accepted = rx.accept(open_prescription, actor=partner_agent, start_on=start, comment="Bienvenue lundi.")

    assert accepted.status == ACCEPTED
    assert (accepted.volume_horaire_hebdomadaire, accepted.nombre_semaines) == (6, 8)
    assert rx.weekly_hours(person, on=start) == 6
    assert rx.weekly_hours(person, on=start + datetime.timedelta(weeks=8)) == 0  # après les 8 semaines
    assert rx.weekly_hours(person, on=start - datetime.timedelta(days=1)) == 0  # pas encore commencé
    log = accepted.logs.get(action=PrescriptionLog.Action.ACCEPTED)
    assert (log.from_status, log.to_status, log.actor, log.comment) == (
        OPEN,
        ACCEPTED,
        partner_agent,
        "Bienvenue lundi.",
    )
    assert log.actor_label == str(partner_agent)
    event = Event.objects.get(kind=rx.EVENT_PRESCRIPTION_ACCEPTED)
    assert (event.payload["weekly_hours"], event.payload["weeks"]) == ("6", 8)


def test_refuse_requires_a_reason(open_prescription):
    with pytest.raises(rx.PrescriptionError, match="Le motif du refus est obligatoire."):
        rx.refuse(open_prescription, reason="")
    with pytest.raises(rx.PrescriptionError, match="Précisez le motif du refus."):
        rx.refuse(open_prescription, reason=RefusalReason.OTHER, comment="  ")
    open_prescription.refresh_from_db()
    assert open_prescription.status == OPEN

    refused = rx.refuse(
        open_prescription,
        reason=RefusalReason.NO_PLACE,
        comment="Complet jusqu'en janvier.",
        actor_label="Paul Martin",
    )

    assert (refused.status, refused.refusal_reason, refused.answerer_name) == (
        REFUSED,
        "no_place",
        "Paul Martin",
    )
    log = refused.logs.get(action=PrescriptionLog.Action.REFUSED)
    assert (log.from_status, log.to_status, log.actor_label) == (OPEN, REFUSED, "Paul Martin")
    assert log.comment == "Plus de place disponible — Complet jusqu'en janvier."
    assert rx.weekly_hours(refused.beneficiary) == 0


def _expire(prescription):
    later = timezone.now() + datetime.timedelta(days=31)
    return rx.process_due(now=later)


def test_open_prescription_expires_without_answer(open_prescription):
    counts = _expire(open_prescription)

    open_prescription.refresh_from_db()
    assert open_prescription.status == EXPIRED
    assert counts["expired"] == 1
    log = open_prescription.logs.get(action=PrescriptionLog.Action.EXPIRED)
    assert (log.from_status, log.to_status, log.actor) == (OPEN, EXPIRED, None)
    assert log.actor_label == "Parcours (sans réponse dans le délai)"
    assert _expire(open_prescription)["expired"] == 0  # une seule fois


ANSWERS = {
    "accept": lambda p: rx.accept(p, actor_label="Structure"),
    "refuse": lambda p: rx.refuse(p, reason=RefusalReason.NOT_ADAPTED, actor_label="Structure"),
    "expire": _expire,
}


@pytest.mark.parametrize("first", ["accept", "refuse", "expire"])
@pytest.mark.parametrize("then", ["accept", "refuse"])
def test_answered_prescriptions_are_final(open_prescription, first, then):
    ANSWERS[first](open_prescription)
    open_prescription.refresh_from_db()
    status = open_prescription.status
    logs = open_prescription.logs.count()

    with pytest.raises(rx.PrescriptionError) as exc:
        ANSWERS[then](open_prescription)

    assert exc.value.code == "deja_traitee"
    open_prescription.refresh_from_db()
    assert open_prescription.status == status
    assert open_prescription.logs.count() == logs
    with pytest.raises(rx.PrescriptionError):
        rx.renew_link(open_prescription)


def test_answered_prescription_does_not_expire(open_prescription):
    rx.accept(open_prescription, actor_label="Structure")
    _expire(open_prescription)
    open_prescription.refresh_from_db()
    assert open_prescription.status == ACCEPTED


def test_reminders_every_n_days_while_open(open_prescription):
    mail.outbox.clear()
    start = timezone.now()
    assert rx.process_due(now=start + datetime.timedelta(days=9))["reminded"] == 0
    assert rx.process_due(now=start + datetime.timedelta(days=10, hours=1))["reminded"] == 1
    assert rx.process_due(now=start + datetime.timedelta(days=15))["reminded"] == 0
    assert rx.process_due(now=start + datetime.timedelta(days=21))["reminded"] == 1
    assert [m.subject[:9] for m in mail.outbox] == ["Relance —", "Relance —"]
    open_prescription.refresh_from_db()
    assert open_prescription.reminder_count == 2
    assert open_prescription.logs.filter(action=PrescriptionLog.Action.REMINDED).count() == 2


def test_old_shared_data_is_erased(open_prescription):
    counts = rx.process_due(now=timezone.now() + datetime.timedelta(days=731))
    open_prescription.refresh_from_db()
    assert counts["anonymised"] == 1
    assert open_prescription.shared_data == {} and open_prescription.message == ""
    assert open_prescription.anonymised_at is not None


def test_email_failure_keeps_the_prescription(settings, referent, person, bike_service, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("serveur SMTP indisponible")

    monkeypatch.setattr(rx, "send_mail", broken)
    prescription = prescribe(referent, person, bike_service)
    assert prescription.pk and prescription.sent_at is None
    assert prescription.logs.filter(action=PrescriptionLog.Action.EMAIL_FAILED).exists()


def test_daily_command(open_prescription, capsys):
    from django.core.management import call_command

    call_command("catalogue-prescriptions")
    assert "Prescriptions : 0 relancée, 0 expirée, 0 anonymisée." in capsys.readouterr().out
