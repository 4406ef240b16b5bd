"""Tâches de fond de bout en bout : mise en file (commande), exécution par le processus, effet visible."""

import datetime
import json

import pytest
from django.core import mail
from django.core.management import CommandError

from parcours.audit.models import AccessLog
from parcours.beneficiaries.models import Beneficiary, RightSnapshot
from parcours.conventions.examples import load_convention_example
from parcours.conventions.models import ReportDeadline
from parcours.intake.models import ImportBatch, ImportStatus
from parcours.interop import webhooks
from parcours.interop.models import Delivery, DeliveryStatus
from parcours.jobs import services
from parcours.jobs.models import Job, JobStatus
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from parcours.orientation.models import Channel, Invitation
from tests.factories import BeneficiaryFactory, MembershipFactory, make_nir
from tests.intake.test_import_engine import HEADER
from tests.intake.test_import_engine import person as csv_person

from .conftest import CAF_FLUX, run, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

URL = "https://partenaire.example/webhooks"


def enqueue(*args):
    return json.loads(run("jobs-enqueue", *args, "--json"))


# --- import d'un flux CAF/MSA ----------------------------------------------------------------------------


def test_import_task_imports_the_caf_flux_in_the_background(departement, reference_data):
    queued = enqueue("import-flux", str(reference_data / CAF_FLUX), "--received-on", "2026-03-02")
    job = Job.objects.get(pk=queued["tache"])
    batch = ImportBatch.objects.get(pk=job.params["batch"])
    # Déposé, pas encore importé : le lot attend le processus d'exécution.
    assert (job.status, batch.status) == (JobStatus.PENDING, ImportStatus.PENDING)
    assert not Beneficiary.objects.exists()

    run_worker()

    job.refresh_from_db()
    batch.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1 and job.last_error == ""
    assert batch.status == ImportStatus.DONE and batch.detected_format == "cnaf-xml"
    assert job.result["crees"] == Beneficiary.objects.count() == 1
    assert job.result["nouveaux_entrants"] == 1
    assert Beneficiary.objects.get().departement == departement
    assert job.history[0]["essai"] == 1 and "erreur" not in job.history[0]


def test_a_successful_import_refreshes_the_dashboard_cohort_in_the_background(departement, reference_data):
    from parcours.indicators.cohort import is_fresh
    from parcours.indicators.models import CohortEntry

    enqueue("import-flux", str(reference_data / CAF_FLUX), "--received-on", "2026-03-02")
    run_worker()

    refresh = Job.objects.get(name="cohorte")
    assert refresh.status == JobStatus.SUCCEEDED and refresh.result["personnes_recalculees"] >= 1
    # Le nouvel entrant du flux est déjà dans la table : le tableau de bord n'a rien à recalculer.
    assert is_fresh()
    assert CohortEntry.objects.get().beneficiary == Beneficiary.objects.get()


def test_import_task_is_idempotent(departement, reference_data):
    path = str(reference_data / CAF_FLUX)
    first = enqueue("import-flux", path, "--received-on", "2026-03-02")
    run_worker()
    counts = (Beneficiary.objects.count(), RightSnapshot.objects.count(), Event.objects.count())
    batch_id = Job.objects.get(pk=first["tache"]).params["batch"]

    # La même exécution rejouée (message de file en double) : le lot déjà importé n'est pas refait.
    again, created = services.enqueue("import-flux", {"batch": batch_id})
    # Le même fichier déposé une seconde fois : importé, rien ne change.
    second = enqueue("import-flux", path, "--received-on", "2026-03-02")
    run_worker()

    again.refresh_from_db()
    assert created and again.status == JobStatus.SUCCEEDED and again.result["deja_importe"] is True
    result = Job.objects.get(pk=second["tache"]).result
    assert (result["crees"], result["mis_a_jour"], result["inchanges"]) == (0, 0, 1)
    assert (Beneficiary.objects.count(), RightSnapshot.objects.count(), Event.objects.count()) == counts


def test_refused_file_fails_at_once_with_the_french_message(departement, tmp_path):
    path = tmp_path / "flux.csv"
    rows = [
        csv_person(),
        csv_person(matricule="3500002", nir=make_nir(2), prenom="Paul", date_naissance="31/02/1985"),
    ]
    lines = [";".join(HEADER)] + [";".join(str(r.get(c, "")) for c in HEADER) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    queued = enqueue("import-flux", str(path), "--received-on", "2026-03-02")

    run_worker()

    job = Job.objects.get(pk=queued["tache"])
    # Un fichier refusé ne s'arrange pas en réessayant : échec définitif dès le premier essai.
    assert job.status == JobStatus.FAILED and job.attempts == 1 and job.next_attempt_at is None
    assert job.last_error.startswith("Fichier refusé : 1 erreur. Rien n'a été importé")
    assert "Première erreur (ligne 3, champ date_naissance)" in job.last_error
    assert not Beneficiary.objects.exists()  # atomique : la ligne valide n'est pas écrite non plus
    assert ImportBatch.objects.get().status == ImportStatus.REJECTED


# --- webhooks ---------------------------------------------------------------------------------------------


def test_webhook_task_delivers_to_the_partner(france_travail, person, manager, make_partner, receiver):
    partner, _ = make_partner(france_travail)
    subscription = webhooks.subscribe(partner, URL, ["orientation.decidee"])
    receiver.secret = subscription.secret
    orientation.decide_orientation(person, pathway="emploi", organisation=france_travail, author=manager)
    assert Delivery.objects.get().status == DeliveryStatus.PENDING

    queued = enqueue("webhooks")
    # Tâche périodique : une seconde demande, tant que la première attend, ne crée pas de doublon.
    assert enqueue("webhooks") == {**queued, "creee": False}
    run_worker()

    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"livrees": 1, "en_echec": 0}
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    (event,) = receiver.events.values()
    assert event["type"] == "orientation.decidee" and event["personne"] == person.pk


# --- purge ------------------------------------------------------------------------------------------------


def test_purge_task_applies_the_retention_periods(departement):
    expired = BeneficiaryFactory(
        departement=departement, last_name="Le Goff", rsa_state="6", last_flux_on=datetime.date(2024, 10, 1)
    )
    current = BeneficiaryFactory(
        departement=departement, rsa_state="2", last_flux_on=datetime.date(2024, 10, 1)
    )

    enqueue("purge", "--date", "2026-12-01")
    run_worker()

    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.result["anonymisees"] == 1
    expired.refresh_from_db()
    current.refresh_from_db()
    assert (expired.last_name, expired.nir, expired.anonymised_on) == (
        "Anonymisé",
        None,
        datetime.date(2026, 12, 1),
    )
    assert current.anonymised_on is None and current.nir
    assert AccessLog.objects.get().beneficiary_id == expired.pk


def test_invitation_reminders_task_sends_the_reminder(person, manager):
    orientation.invite(person, channel=Channel.EMAIL, author=manager, today=datetime.date(2026, 3, 2))
    mail.outbox.clear()

    enqueue("relances-invitations", "--date", "2026-03-05")  # 3 jours après l'envoi
    run_worker()

    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"relancees": 1, "expirees": 0, "erreurs": []}
    assert [m.to for m in mail.outbox] == [[person.email]] and mail.outbox[0].subject.startswith("Rappel")
    assert Invitation.objects.get().reminded_on == datetime.date(2026, 3, 5)


# --- nouveaux essais --------------------------------------------------------------------------------------


def test_failing_mailing_is_retried_with_backoff_then_failed(departement, clock, smtp_down):
    load_convention_example()
    MembershipFactory(organisation=departement, role="admin", user__email="admin.insertion@departement35.fr")
    enqueue("rappels-conventions", "--date", "2025-03-25")

    run_worker()  # essai 1 : serveur de courriel injoignable
    job = Job.objects.get()
    assert (job.status, job.attempts) == (JobStatus.RETRYING, 1)
    assert job.last_error.startswith("Erreur technique (ConnectionRefusedError) : ")
    assert (
        datetime.timedelta(seconds=59)
        < job.next_attempt_at - job.started_at
        <= datetime.timedelta(seconds=61)
    )

    run_worker()  # pas encore l'heure : rien ne se passe
    job.refresh_from_db()
    assert job.attempts == 1

    clock.advance(seconds=61)
    run_worker()  # essai 2, puis attente doublée
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RETRYING, 2)
    assert (
        datetime.timedelta(seconds=119)
        < job.next_attempt_at - job.started_at
        <= datetime.timedelta(seconds=121)
    )

    clock.advance(seconds=121)
    run_worker()  # essai 3 sur 3 : échec définitif
    job.refresh_from_db()
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED, 3, 3)
    assert job.finished_at is not None and job.next_attempt_at is None
    assert job.last_error.startswith("Erreur technique (ConnectionRefusedError) : ")
    assert [entry["essai"] for entry in job.history] == [1, 2, 3]
    assert all(entry["erreur"] == job.last_error for entry in job.history)
    assert "nouvel_essai_le" in job.history[0] and "nouvel_essai_le" not in job.history[2]
    assert ReportDeadline.objects.get().last_reminder_on is None

    clock.advance(hours=1)
    run_worker()  # une tâche échouée ne repart pas seule
    job.refresh_from_db()
    assert job.attempts == 3 and mail.outbox == []


@pytest.mark.django_db  # rien n'est exécuté : pas besoin de vraies transactions
def test_unknown_parameters_and_missing_file_are_refused_in_french(db):
    with pytest.raises(CommandError, match="import-flux : indiquer le chemin du fichier à importer."):
        run("jobs-enqueue", "import-flux")
    with pytest.raises(CommandError, match="La tâche « webhooks » ne prend pas de date."):
        run("jobs-enqueue", "webhooks", "--date", "2026-01-01")
    with pytest.raises(CommandError, match="Fichier introuvable : /nulle/part.csv"):
        run("jobs-enqueue", "import-flux", "/nulle/part.csv")
    with pytest.raises(services.JobError, match="Paramètres invalides pour la tâche « purge » : jour"):
        services.enqueue("purge", {"jour": "2026-01-01"})
    assert not Job.objects.exists()
