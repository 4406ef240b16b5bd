"""Imports simultanés : un seul import appliqué à la fois par Département, flux plus anciens refusés,
lots abandonnés par un processus arrêté.

Les tests à plusieurs fils d'exécution ont besoin de vraies transactions concurrentes : ils tournent sur
PostgreSQL (``DATABASE_URL=postgres://…``) et sont ignorés sur SQLite.
"""

import collections
import datetime
import json
import os
import socket
import subprocess
import sys
import threading
import time
from html import unescape

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import Role
from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, RightSnapshot
from parcours.intake import locks, services
from parcours.intake.models import ImportBatch, ImportStatus
from parcours.intake.services import create_batch, import_flux
from parcours.journal.models import Event
from tests.factories import DepartementFactory, MembershipFactory, UserFactory, make_nir
from tests.intake.test_import_engine import person, write

D = datetime.date
M1, M2, M3 = D(2026, 1, 5), D(2026, 2, 5), D(2026, 3, 5)
PEOPLE = 400  # présents dès le stock du mois 1
NEWCOMERS = 40  # apparaissent au mois 2 (les 20 premiers) ou au mois 3 (les 20 suivants)

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="transactions concurrentes réelles dans plusieurs fils : PostgreSQL seulement (la base SQLite "
    "de test est en mémoire, partagée entre les fils, et sérialise tout)",
)


# --------------------------------------------------------------------------------------------------
# Trois flux mensuels d'un même Département


def row(i, etat="2", sdd="1"):
    return person(
        matricule=f"35{i:05d}",
        nir=make_nir(i, sex=1 + i % 2),
        nom=f"Nom{i}",
        nom_naissance="",
        prenom=f"Prénom{i}",
        email="",
        telephone="",
        id_departement=f"IODAS{i:05d}",
        etat_droit=etat,
        soumis_droits_devoirs=sdd,
    )


def month_1():
    """Le stock : tous versables, un quart pas encore soumis aux droits et devoirs."""
    return [row(i, sdd="0" if i % 4 == 0 else "1") for i in range(PEOPLE)]


def month_2():
    """Le quart non soumis le devient (nouveaux entrants sans suivi), un dixième voit son versement
    suspendu, 20 personnes arrivent."""
    return [row(i, etat="4" if i % 10 == 1 else "2") for i in range(PEOPLE + NEWCOMERS // 2)]


def month_3():
    """Beaucoup de changements : un tiers suspendu, un cinquième radié (les suivis en cours se
    ferment), un septième n'est plus soumis, les suspendus du mois 2 reprennent, 20 autres arrivent,
    un onzième n'est plus dans le flux."""

    def etat(i):
        if i % 5 == 1:
            return "5"
        if i % 3 == 0:
            return "3"
        return "2"

    return [
        row(i, etat=etat(i), sdd="0" if i % 7 == 2 else "1")
        for i in range(PEOPLE + NEWCOMERS)
        if i % 11 != 10
    ]


@pytest.fixture
def flux_files(tmp_path):
    return {
        name: write(tmp_path, rows(), f"{name}.csv")
        for name, rows in (("mois1", month_1), ("mois2", month_2), ("mois3", month_3))
    }


def load_stock(departement, files):
    """Mois 1 en chargement de stock, puis un suivi en cours pour une personne sur six."""
    report = import_flux(files["mois1"], organisation=departement, received_on=M1, initial_stock=True)
    assert not report.rejected, report.message
    FollowUp.objects.bulk_create(
        FollowUp(beneficiary=p, organisation=departement, started_on=D(2026, 1, 12))
        for p in Beneficiary.objects.filter(departement=departement)
        if int(p.departement_internal_id[5:]) % 6 == 0
    )


def state_of(departement):
    """Tout ce qu'un import écrit, par NIR : situation, droits, historique, suivis et journal."""
    people = {
        p.nir: (p.rsa_state, p.is_sdd, p.new_entrant_t0, p.last_flux_on, p.suspended_since)
        for p in Beneficiary.objects.filter(departement=departement)
    }
    events = collections.Counter(
        (e.kind, e.beneficiary.nir, e.occurred_on)
        for e in Event.objects.filter(beneficiary__departement=departement).select_related("beneficiary")
    )
    snapshots = collections.Counter(
        (s.beneficiary.nir, s.reference_date, s.state, s.sdd)
        for s in RightSnapshot.objects.filter(beneficiary__departement=departement).select_related(
            "beneficiary"
        )
    )
    follow_ups = collections.Counter(
        (f.beneficiary.nir, f.ended_on, f.end_reason)
        for f in FollowUp.objects.filter(beneficiary__departement=departement).select_related("beneficiary")
    )
    rights = {
        (h.matricule, h.right.state, h.right.state_since, h.right.last_reference_date)
        for h in Household.objects.filter(departement=departement).select_related("right")
    }
    return {
        "people": people,
        "events": events,
        "snapshots": snapshots,
        "follow_ups": follow_ups,
        "rights": rights,
    }


def assert_same_state(actual, expected):
    for key in expected:
        if actual[key] != expected[key]:
            if isinstance(expected[key], dict):
                diff = {
                    k: (actual[key].get(k), v) for k, v in expected[key].items() if actual[key].get(k) != v
                }
            else:
                diff = (actual[key] - expected[key], expected[key] - actual[key])
            raise AssertionError(
                f"{key} : différent de l'import séquentiel ({len(diff)}) : {str(diff)[:800]}"
            )


def in_thread(results, key, func, *args, **kwargs):
    def target():
        try:
            results[key] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - rapporté au fil principal
            results[key] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=f"import-{key}")
    thread.start()
    return thread


def sequential(departement, files, months, results=None):
    started = time.monotonic()
    for month in months:
        report = import_flux(
            files[month], organisation=departement, received_on={"mois2": M2, "mois3": M3}[month]
        )
        assert not report.rejected, report.message
    if results is not None:
        results["duration"] = time.monotonic() - started
    return state_of(departement)


# --------------------------------------------------------------------------------------------------
# (a) Deux mois importés en même temps = le même état que l'un après l'autre


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_months_imported_at_once_give_exactly_the_sequential_state(flux_files, monkeypatch, capsys):
    monkeypatch.setattr(services, "CHUNK_SIZE", 50)  # plusieurs paquets : plus d'occasions de se croiser
    reference = DepartementFactory(departement_code="35")
    load_stock(reference, flux_files)
    timing = {}
    expected = sequential(reference, flux_files, ["mois2", "mois3"], timing)

    departement = DepartementFactory(departement_code="56", name="Morbihan")
    load_stock(departement, flux_files)
    month_2_running, month_3_started = threading.Event(), threading.Event()

    def hold_month_2(done, total):
        # Le mois 2 s'arrête après son premier paquet, le temps que le mois 3 démarre et attende.
        if not month_2_running.is_set():
            month_2_running.set()
            month_3_started.wait(30)
            time.sleep(0.5)

    results = {}
    started = time.monotonic()
    first = in_thread(
        results,
        "mois2",
        import_flux,
        flux_files["mois2"],
        organisation=departement,
        received_on=M2,
        progress=hold_month_2,
    )
    assert month_2_running.wait(30)
    second = in_thread(
        results, "mois3", import_flux, flux_files["mois3"], organisation=departement, received_on=M3
    )
    month_3_started.set()
    first.join(120)
    second.join(120)
    concurrent_duration = time.monotonic() - started

    for key in ("mois2", "mois3"):
        assert not isinstance(results[key], BaseException), results[key]
        assert not results[key].rejected, results[key].message
    batch_2, batch_3 = results["mois2"].batch, results["mois3"].batch
    batch_2.refresh_from_db()
    batch_3.refresh_from_db()
    assert batch_2.status == batch_3.status == ImportStatus.DONE
    assert batch_3.started_at >= batch_2.finished_at  # le mois 3 a attendu la fin du mois 2
    actual = state_of(departement)
    assert_same_state(actual, expected)
    with capsys.disabled():
        print(
            f"\n[imports simultanés] {len(actual['people'])} personnes, {sum(actual['events'].values())} "
            f"événements, {sum(actual['snapshots'].values())} états historisés ; mois 2 + 3 séquentiels "
            f"{timing['duration']:.2f} s, simultanés {concurrent_duration:.2f} s (dont 0,5 s de pause "
            f"volontaire), attente du mois 3 {(batch_3.started_at - batch_3.created_at).total_seconds():.2f} s"
        )


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_months_released_at_the_same_instant_apply_in_one_order_or_the_older_is_refused(
    flux_files, capsys
):
    """Lâchés au même instant, l'un passe d'abord : mois 2 puis 3 (état séquentiel), ou mois 3 puis
    refus du mois 2, plus ancien (état du mois 3 seul). Jamais un mélange des deux."""
    both = DepartementFactory(departement_code="35")
    load_stock(both, flux_files)
    expected_2_then_3 = sequential(both, flux_files, ["mois2", "mois3"])
    only_3 = DepartementFactory(departement_code="22", name="Côtes-d'Armor")
    load_stock(only_3, flux_files)
    expected_3_alone = sequential(only_3, flux_files, ["mois3"])

    departement = DepartementFactory(departement_code="29", name="Finistère")
    load_stock(departement, flux_files)
    barrier = threading.Barrier(2)

    def start_together(path, received_on):
        barrier.wait(30)
        return import_flux(path, organisation=departement, received_on=received_on)

    results = {}
    threads = [
        in_thread(results, "mois2", start_together, flux_files["mois2"], M2),
        in_thread(results, "mois3", start_together, flux_files["mois3"], M3),
    ]
    for thread in threads:
        thread.join(120)
    month_2, month_3 = results["mois2"], results["mois3"]
    assert not isinstance(month_2, BaseException) and not isinstance(month_3, BaseException)
    assert not month_3.rejected, month_3.message
    if month_2.rejected:
        assert "plus ancien que le dernier import appliqué" in month_2.message
        assert month_2.batch.status == ImportStatus.REJECTED
        assert_same_state(state_of(departement), expected_3_alone)
    else:
        assert_same_state(state_of(departement), expected_2_then_3)
    with capsys.disabled():
        order = "mois 3 d'abord, mois 2 refusé" if month_2.rejected else "mois 2 puis mois 3"
        print(f"\n[imports lâchés ensemble] {order}")


# --------------------------------------------------------------------------------------------------
# (b) Un import déjà en cours : refus sur le web, attente bornée en ligne de commande


@pytest.fixture
def running_import(db):
    """Un import du Département tenu par un autre processus vivant : lot « en cours » et, sur
    PostgreSQL, verrou du Département pris par une autre connexion."""
    departement = DepartementFactory(departement_code="35")
    agent = UserFactory(first_name="Claire", last_name="Dupont")
    started = timezone.now() - datetime.timedelta(minutes=3)
    batch = ImportBatch.objects.create(
        organisation=departement,
        created_by=agent,
        filename="RSABEM_2026_03.xml",
        sha256="0" * 64,
        received_on=M3,
        status=ImportStatus.RUNNING,
        started_at=started,
        worker=locks.current_worker(),
    )
    holder = None
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        holder = psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"],
            host=params["HOST"] or None,
            port=params["PORT"] or None,
            password=params["PASSWORD"] or None,
            autocommit=True,
        )
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [locks.LOCK_NAMESPACE, departement.pk])
    yield batch
    if holder is not None:
        holder.close()


def started_label(batch):
    started = timezone.localtime(batch.started_at)
    return f"le {started:%d/%m/%Y} à {started:%H:%M}"


def test_web_upload_while_an_import_runs_is_refused_and_says_which(client, running_import, tmp_path):
    manager = MembershipFactory(organisation=running_import.organisation, role=Role.ORIENTATION_MANAGER)
    client.force_login(manager.user)
    content = write(tmp_path, [row(1)], "flux_avril.csv").read_bytes()
    response = client.post(
        reverse("import_new"),
        {
            "fichier": SimpleUploadedFile("flux_avril.csv", content, content_type="text/csv"),
            "format": "csv",
            "recu_le": "2026-04-05",
        },
    )
    batch = ImportBatch.objects.exclude(pk=running_import.pk).get()
    assert response.status_code == 302 and response.url == reverse("import_detail", args=[batch.pk])
    assert batch.status == ImportStatus.REJECTED
    html = unescape(client.get(response.url).content.decode())
    expected = (
        "Un import est déjà en cours pour ce Département : « RSABEM_2026_03.xml », lancé par Claire Dupont "
        f"{started_label(running_import)}."
    )
    assert expected in batch.error_message
    assert expected in html and "déposez de nouveau le fichier quand cet import sera terminé" in html
    assert Beneficiary.objects.count() == 0
    running_import.refresh_from_db()
    assert running_import.status == ImportStatus.RUNNING  # l'import en cours n'est pas touché


def test_cli_waits_for_the_running_import_then_gives_up_after_the_timeout(
    running_import, tmp_path, settings, capsys
):
    settings.PARCOURS_IMPORT_LOCK_TIMEOUT = 1
    path = write(tmp_path, [row(1)], "flux_avril.csv")
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import-flux", str(path), "--received-on", "2026-04-05", "--json")
    waited = time.monotonic() - started
    assert exit_info.value.code == 1
    out = json_output(capsys)
    assert out["rejected"] and out["created"] == 0
    assert "« RSABEM_2026_03.xml », lancé par Claire Dupont" in out["message"]
    assert "Attente de 1 s dépassée : rien n'a été importé" in out["message"]
    assert waited >= 0.9
    batch = ImportBatch.objects.get(filename="flux_avril.csv")
    # Échec (pas un refus du fichier) : une tâche de fond réessaie plus tard.
    assert batch.status == ImportStatus.FAILED and batch.error_message == out["message"]
    assert Beneficiary.objects.count() == 0

    from parcours.jobs.handlers import JobError
    from parcours.jobs.handlers import import_flux as import_job

    with pytest.raises(JobError, match="déjà en cours") as job_error:
        import_job(batch.pk)
    assert job_error.value.retry


def json_output(capsys):
    return json.loads(capsys.readouterr().out)


def test_another_departement_is_not_blocked(running_import, tmp_path, settings):
    settings.PARCOURS_IMPORT_LOCK_TIMEOUT = 1
    other = DepartementFactory(departement_code="56", name="Morbihan")
    report = import_flux(write(tmp_path, [row(1)]), organisation=other, received_on=M1)
    assert not report.rejected, report.message
    assert report.created == 1


# --------------------------------------------------------------------------------------------------
# (c) Un flux plus ancien que le dernier appliqué est refusé et n'écrit rien


def counts():
    return (
        Beneficiary.objects.count(),
        Household.objects.count(),
        RightSnapshot.objects.count(),
        Event.objects.count(),
        FollowUp.objects.count(),
    )


@pytest.mark.django_db
def test_older_flux_is_refused_naming_both_dates_and_writes_nothing(tmp_path):
    departement = DepartementFactory(departement_code="35")
    march = import_flux(
        write(tmp_path, [row(1), row(2)], "mars.csv"), organisation=departement, received_on=M3
    )
    assert not march.rejected
    before = counts()
    people = list(
        Beneficiary.objects.order_by("pk").values_list("rsa_state", "is_sdd", "last_flux_on", "updated_at")
    )

    february = import_flux(
        write(tmp_path, [row(1, etat="4"), row(2), row(3)], "fevrier.csv"),
        organisation=departement,
        received_on=M2,
    )

    assert february.rejected and february.created == february.updated == 0
    assert "sa date de référence est le 05/02/2026" in february.message
    assert "dernier import appliqué (« mars.csv »" in february.message
    assert "est le 05/03/2026" in february.message
    assert february.errors == [{"row": None, "field": None, "message": february.message}]
    batch = february.batch
    batch.refresh_from_db()
    assert batch.status == ImportStatus.REJECTED and batch.error_message == february.message
    assert batch.report["message"] == february.message
    assert counts() == before
    assert (
        list(
            Beneficiary.objects.order_by("pk").values_list(
                "rsa_state", "is_sdd", "last_flux_on", "updated_at"
            )
        )
        == people
    )

    # Même date que le dernier appliqué : accepté, et le même fichier n'écrit rien de nouveau.
    again = import_flux(tmp_path / "mars.csv", organisation=departement, received_on=M3)
    assert not again.rejected and (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert counts() == before


@pytest.mark.django_db
def test_stock_loads_and_contact_files_are_outside_the_order(tmp_path, reference_data):
    departement = DepartementFactory(departement_code="35")
    # Un stock plus récent ne bloque pas le flux régulier qui suit, même plus ancien : chaque personne
    # garde l'état de son flux le plus récent.
    stock = import_flux(
        write(tmp_path, [row(1, etat="4")], "stock.csv"),
        organisation=departement,
        received_on=M3,
        initial_stock=True,
    )
    assert not stock.rejected
    february = import_flux(
        write(tmp_path, [row(1), row(2)], "fevrier.csv"), organisation=departement, received_on=M2
    )
    assert not february.rejected, february.message
    assert Beneficiary.objects.get(departement_internal_id="IODAS00001").rsa_state == "4"
    # Un fichier de contacts ne porte aucun droit : ni refusé pour sa date, ni référence.
    contacts = import_flux(
        reference_data / "rdv-insertion" / "fichier_contact_test.csv",
        organisation=departement,
        received_on=M1,
    )
    assert not contacts.rejected, contacts.message
    january = import_flux(write(tmp_path, [row(1)], "janvier.csv"), organisation=departement, received_on=M1)
    assert january.rejected and "« fevrier.csv »" in january.message


# --------------------------------------------------------------------------------------------------
# (d) Un lot laissé « en cours » par un processus arrêté


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def abandoned_batch(departement, tmp_path, *, worker, started_ago):
    batch = create_batch(write(tmp_path, [row(1)], "abandonne.csv"), organisation=departement, received_on=M1)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.RUNNING, started_at=timezone.now() - started_ago, worker=worker
    )
    batch.refresh_from_db()
    assert os.path.exists(batch.stored_path)
    return batch


@pytest.mark.django_db
def test_batch_of_a_killed_process_is_failed_and_its_file_removed_at_the_next_import(tmp_path):
    departement = DepartementFactory(departement_code="35")
    stale = abandoned_batch(
        departement,
        tmp_path,
        worker=f"{socket.gethostname()}:{dead_pid()}",
        started_ago=datetime.timedelta(minutes=2),
    )

    report = import_flux(write(tmp_path, [row(2)], "suivant.csv"), organisation=departement, received_on=M2)

    assert not report.rejected, report.message
    path = stale.stored_path
    stale.refresh_from_db()
    assert stale.status == ImportStatus.FAILED
    assert stale.error_message.startswith("Import interrompu : le processus qui l'appliquait")
    assert "le fichier déposé, qui contenait des NIR, a été supprimé" in stale.error_message
    assert stale.report["message"] == stale.error_message and stale.finished_at is not None
    assert stale.stored_path == "" and not os.path.exists(path)


@pytest.mark.django_db
def test_recover_stale_batches_at_start_only_touches_abandoned_ones(tmp_path, settings):
    settings.PARCOURS_IMPORT_STALE_AFTER = 3600
    departement = DepartementFactory(departement_code="35")
    other_host = abandoned_batch(
        departement, tmp_path, worker="ancien-serveur:4242", started_ago=datetime.timedelta(hours=2)
    )
    finished = create_batch(write(tmp_path, [row(1)], "fini.csv"), organisation=departement, received_on=M1)
    ImportBatch.objects.filter(pk=finished.pk).update(status=ImportStatus.DONE)

    recovered = locks.recover_stale_batches()

    assert [b.pk for b in recovered] == [other_host.pk]
    other_host.refresh_from_db()
    assert other_host.status == ImportStatus.FAILED and other_host.stored_path == ""
    finished.refresh_from_db()
    assert finished.status == ImportStatus.DONE and os.path.exists(finished.stored_path)


def test_a_live_import_is_not_taken_for_an_abandoned_one(running_import, settings):
    settings.PARCOURS_IMPORT_STALE_AFTER = 3600
    assert locks.recover_stale_batches() == []
    running_import.refresh_from_db()
    assert running_import.status == ImportStatus.RUNNING
