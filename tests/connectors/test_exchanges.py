"""Échanges de fichiers : liste des orientations (export CSV / XLSX) et liste des absences (import)."""

import csv
import datetime
import json
import shutil

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from parcours.audit.models import AccessAction, AccessLog
from parcours.connectors.exchanges import ExchangeRejected, export_orientations, import_absences
from parcours.connectors.models import ConnectorRun
from parcours.journal.models import Event
from parcours.orientation.models import Appointment, Attendance
from parcours.orientation.services import cancel_orientation, decide_orientation, schedule_appointment
from tests.factories import BeneficiaryFactory

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db

D = datetime.date
ECHANGES = FIXTURES / "echanges"


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


# --- (a) liste des orientations ------------------------------------------------------------------------------


@pytest.fixture
def orientations(people, departement, france_travail, mission_locale):
    nadia, karim, sophie = people
    decide_orientation(
        nadia,
        pathway="socio_professionnel",
        organisation=mission_locale,
        author=None,
        decided_on=D(2026, 10, 1),
        notified_on=D(2026, 10, 2),
    )
    decide_orientation(
        karim,
        pathway="emploi",
        organisation=france_travail,
        author=None,
        decided_on=D(2026, 10, 5),
        notified_on=D(2026, 10, 6),
    )
    # Hors période, annulée, ou non notifiée : pas dans la liste.
    decide_orientation(
        sophie,
        pathway="social",
        organisation=departement,
        author=None,
        decided_on=D(2026, 9, 1),
        notified_on=D(2026, 9, 3),
    )
    other = BeneficiaryFactory(departement=departement, last_name="Durand", first_name="Léa")
    cancelled = decide_orientation(
        other,
        pathway="emploi",
        organisation=france_travail,
        author=None,
        decided_on=D(2026, 10, 7),
        notified_on=D(2026, 10, 8),
    )
    cancel_orientation(cancelled, author=None, reason="Erreur de saisie", on=D(2026, 10, 9))
    hostile = BeneficiaryFactory(
        departement=departement,
        last_name='=HYPERLINK("http://x.example","clic")',
        first_name="Test",
        departement_internal_id="CD35-000999",
    )
    decide_orientation(
        hostile,
        pathway="emploi",
        organisation=mission_locale,
        author=None,
        decided_on=D(2026, 10, 20),
        notified_on=D(2026, 10, 21),
    )
    return people


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def test_export_lists_people_oriented_in_the_period(orientations, departement, tmp_path):
    output = tmp_path / "orientations.csv"

    count = export_orientations(departement, D(2026, 10, 1), D(2026, 10, 31), output)

    rows = read_csv(output)
    assert count == 3 and len(rows) == 4
    assert rows[0][:4] == ["Identifiant Département", "Identifiant France Travail", "Nom", "Prénom"]
    assert "NIR" not in rows[0]
    by_name = {row[2]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    karim = by_name["Benali"]
    assert karim["Identifiant Département"] == "CD35-000742"
    assert karim["Parcours"] == "Emploi" and karim["Code parcours France Travail"] == "PED"
    assert karim["Organisme d'orientation"] == "France Travail Redon"
    assert karim["SIRET de l'organisme"] == "13000548102457"
    assert (karim["Décidée le"], karim["Notifiée le"], karim["Date de naissance"]) == (
        "05/10/2026",
        "06/10/2026",
        "23/11/1979",
    )
    assert by_name["Lebreton"]["Identifiant France Travail"] == "FT0012345"
    # Formule neutralisée : le tableur affiche le texte, n'exécute rien.
    assert '\'=HYPERLINK("http://x.example","clic")' in by_name


def test_export_for_one_partner_with_nir_is_audit_logged(orientations, departement, mission_locale, tmp_path):
    output = tmp_path / "ml.csv"

    count = export_orientations(
        departement, D(2026, 10, 1), D(2026, 10, 31), output, organisation=mission_locale, with_nir=True
    )

    rows = read_csv(output)
    assert count == 2
    assert rows[0][2] == "NIR"
    nirs = {row[4]: row[2] for row in rows[1:]}
    assert nirs["Nadia"] == "288043523610139" and len(nirs["Test"]) == 15
    entries = AccessLog.objects.filter(
        action=AccessAction.EXPORT, view="parcours exchange-export-orientations"
    )
    assert entries.count() == 2
    assert (
        "Mission locale du Pays de Redon" in entries.first().reason and "avec NIR" in entries.first().reason
    )


def test_export_xlsx_has_real_dates_and_no_formula(orientations, departement, tmp_path):
    output = tmp_path / "orientations.xlsx"

    export_orientations(departement, D(2026, 10, 1), D(2026, 10, 31), output)

    sheet = openpyxl.load_workbook(output).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 3
    hostile = next(r for r in rows if r["Identifiant Département"].value == "CD35-000999")
    assert hostile["Nom"].data_type == "s" and hostile["Nom"].value.startswith("'=")
    assert rows[0]["Notifiée le"].value.date() == D(2026, 10, 2)


def test_export_query_count_does_not_grow_with_rows(
    orientations, departement, france_travail, tmp_path, django_assert_max_num_queries
):
    for n in range(20):
        person = BeneficiaryFactory(departement=departement, last_name=f"Personne {n}")
        decide_orientation(
            person,
            pathway="emploi",
            organisation=france_travail,
            author=None,
            decided_on=D(2026, 10, 10),
            notified_on=D(2026, 10, 12),
        )

    # Lecture (1), journal d'accès chaîné (transaction, dernier maillon, insertion), trace de l'exécution.
    with django_assert_max_num_queries(8):
        count = export_orientations(departement, D(2026, 10, 1), D(2026, 10, 31), tmp_path / "o.csv")

    assert count == 23


def test_export_command(orientations, tmp_path, capsys):
    output = tmp_path / "o.csv"
    call_command(
        "exchange-export-orientations", "--from", "2026-10-01", "--to", "2026-10-31", "--output", str(output)
    )
    assert "3 orientations écrites dans" in capsys.readouterr().out
    with pytest.raises(CommandError, match="date « 2026-13-01 » invalide : format attendu AAAA-MM-JJ"):
        call_command(
            "exchange-export-orientations",
            "--from",
            "2026-13-01",
            "--to",
            "2026-10-31",
            "--output",
            str(output),
        )


# --- (b) liste des absences ----------------------------------------------------------------------------------


@pytest.fixture
def appointments(people, mission_locale):
    nadia, karim, sophie = people
    made = {
        "nadia": schedule_appointment(
            nadia,
            starts_at=at(D(2026, 10, 6), 9, 30),
            place="Mission locale de Redon",
            author=None,
            organisations=[mission_locale],
            planned_on=D(2026, 9, 20),
        ),
        "karim": schedule_appointment(
            karim,
            starts_at=at(D(2026, 10, 7), 10),
            place="Mission locale de Redon",
            author=None,
            kind="accompaniment",
            planned_on=D(2026, 9, 20),
        ),
        "sophie": schedule_appointment(
            sophie,
            starts_at=at(D(2026, 10, 8), 14),
            place="Mission locale de Redon",
            author=None,
            planned_on=D(2026, 9, 20),
        ),
        # Même jour, autre heure : l'heure du fichier départage.
        "nadia_afternoon": schedule_appointment(
            nadia,
            starts_at=at(D(2026, 10, 6), 16),
            place="CCAS",
            author=None,
            kind="accompaniment",
            planned_on=D(2026, 9, 20),
        ),
    }
    return made


def attendance(appointments):
    return {name: Appointment.objects.get(pk=a.pk).attendance for name, a in appointments.items()}


@pytest.mark.parametrize("name", ["absences-mission-locale.csv", "absences-cap-emploi.xlsx"])
def test_absences_file_recorded_through_orientation_service(appointments, departement, name):
    report = import_absences(ECHANGES / name, departement, today=D(2026, 10, 10))

    assert (report["lignes"], report["absences_saisies"], report["inchangees"], report["erreurs"]) == (
        3,
        3,
        0,
        [],
    )
    assert attendance(appointments) == {
        "nadia": Attendance.NO_SHOW,  # NIR
        "karim": Attendance.EXCUSED,  # identifiant Département, « Absence excusée : oui »
        "sophie": Attendance.NO_SHOW,  # nom + prénom + date de naissance
        "nadia_afternoon": Attendance.PLANNED,
    }
    nadia = Appointment.objects.get(pk=appointments["nadia"].pk)
    assert nadia.notes == f"Absence signalée par le fichier {name} : Ne s'est pas présentée, injoignable"
    event = Event.objects.get(beneficiary=nadia.beneficiary, kind="appointment_no_show")
    assert event.occurred_on == D(2026, 10, 6)
    assert event.actor.email == "connecteur-echanges-35@connecteurs.parcours.invalid"


def test_reimporting_the_same_file_changes_nothing(appointments, departement):
    import_absences(ECHANGES / "absences-mission-locale.csv", departement)
    events = Event.objects.count()

    again = import_absences(ECHANGES / "absences-mission-locale.csv", departement)

    assert (again["absences_saisies"], again["inchangees"]) == (0, 3)
    assert Event.objects.count() == events


def test_bad_row_rejects_the_whole_file_naming_row_and_column(appointments, departement):
    events = Event.objects.count()

    with pytest.raises(ExchangeRejected) as exc:
        import_absences(ECHANGES / "absences-ligne-invalide.csv", departement)

    assert exc.value.message == "Fichier refusé : 1 ligne en erreur, aucune absence n'a été saisie."
    (error,) = exc.value.errors
    assert (error["ligne"], error["colonne"]) == (3, "Date du rendez-vous")
    assert error["message"] == (
        "Ligne 3, colonne « Date du rendez-vous » : date « 31/02/2026 » impossible (jour ou mois hors calendrier)."
    )
    # Rien n'est écrit, pas même les lignes valides.
    assert set(attendance(appointments).values()) == {Attendance.PLANNED}
    assert Event.objects.count() == events
    run = ConnectorRun.objects.get()
    assert run.status == ConnectorRun.Status.FAILED and run.report["erreurs"] == exc.value.errors


def test_bad_row_in_spreadsheet_names_the_column_letter(appointments, departement):
    with pytest.raises(ExchangeRejected) as exc:
        import_absences(ECHANGES / "absences-cap-emploi-invalide.xlsx", departement)

    (error,) = exc.value.errors
    assert error["message"] == (
        "Ligne 3, colonne « Date de naissance » (E) : date « 23/13/1979 » impossible (jour ou mois hors calendrier)."
    )
    assert set(attendance(appointments).values()) == {Attendance.PLANNED}


def test_unknown_person_rejects_the_file(appointments, departement):
    with pytest.raises(ExchangeRejected) as exc:
        import_absences(ECHANGES / "absences-personne-inconnue.csv", departement)

    (error,) = exc.value.errors
    assert error["ligne"] == 4 and error["colonne"] == "Nom"
    assert (
        "Aucune personne du Département ne correspond (nom, prénom et date de naissance)" in error["message"]
    )
    assert set(attendance(appointments).values()) == {Attendance.PLANNED}


def test_attendance_already_recorded_differently_is_not_overwritten(appointments, departement):
    from parcours.orientation.services import record_attendance

    record_attendance(appointments["sophie"], Attendance.SEEN, author=None)

    with pytest.raises(ExchangeRejected) as exc:
        import_absences(ECHANGES / "absences-mission-locale.csv", departement)

    (error,) = exc.value.errors
    assert error["ligne"] == 4
    assert "présence déjà saisie pour ce rendez-vous (« Venu »)" in error["message"]
    assert attendance(appointments)["nadia"] == Attendance.PLANNED


def test_missing_date_column_is_refused(people, departement, tmp_path):
    path = tmp_path / "absences.csv"
    path.write_text("NIR;Nom\n288043523610139;LEBRETON\n", encoding="utf-8")

    with pytest.raises(ExchangeRejected, match="Colonne « Date du rendez-vous » absente"):
        import_absences(path, departement)


def test_import_command(appointments, departement, tmp_path, capsys):
    call_command(
        "exchange-import-absences", str(ECHANGES / "absences-mission-locale.csv"), "--departement", "35"
    )
    assert "3 lignes, 3 absences saisies, 0 déjà saisie." in capsys.readouterr().out

    bad = tmp_path / "retour.csv"
    shutil.copy(ECHANGES / "absences-ligne-invalide.csv", bad)
    with pytest.raises(CommandError, match="Fichier refusé"):
        call_command("exchange-import-absences", str(bad), "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["erreurs"][0]["ligne"] == 3


def test_two_appointments_the_same_day_need_the_time(appointments, departement, tmp_path):
    path = tmp_path / "absences.csv"
    path.write_text("NIR;Date du rendez-vous\n288043523610139;06/10/2026\n", encoding="cp1252")

    with pytest.raises(ExchangeRejected) as exc:
        import_absences(path, departement)

    (error,) = exc.value.errors
    assert error["message"] == (
        "Ligne 2, colonne « Date du rendez-vous » : 2 rendez-vous de Nadia LEBRETON le 06/10/2026 : "
        "précisez l'heure (colonne « Heure du rendez-vous »)."
    )
