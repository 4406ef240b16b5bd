"""Le moteur d'import, testé par sa surface publique (service et commande) avec des fichiers réalistes."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command

from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, RightSnapshot, RsaRight
from parcours.intake import services
from parcours.intake.models import ImportBatch, ImportStatus
from parcours.intake.services import import_flux
from parcours.journal.models import Event, EventKind
from tests.factories import DepartementFactory, OrganisationFactory, TerritoryCommuneFactory, make_nir

pytestmark = pytest.mark.django_db

HEADER = [
    "organisme",
    "matricule",
    "role",
    "nir",
    "civilite",
    "nom",
    "nom_naissance",
    "prenom",
    "date_naissance",
    "email",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "code_insee",
    "date_ouverture_droit",
    "etat_droit",
    "soumis_droits_devoirs",
    "id_departement",
    "id_france_travail",
]

NIR_ALICE = make_nir(1, sex=2)
NIR_BRUNO = make_nir(2, sex=1)
NIR_CHLOE = make_nir(3, sex=2)


def person(**over):
    base = {
        "organisme": "CAF",
        "matricule": "3500001",
        "role": "DEM",
        "nir": NIR_ALICE,
        "civilite": "MME",
        "nom": "Martin",
        "nom_naissance": "Le Goff",
        "prenom": "Alice",
        "date_naissance": "12/06/1985",
        "email": "alice.martin@example.fr",
        "telephone": "06 12 34 56 78",
        "adresse": "3 rue des Douves",
        "code_postal": "35600",
        "commune": "Redon",
        "code_insee": "35236",
        "date_ouverture_droit": "02/01/2026",
        "etat_droit": "2",
        "soumis_droits_devoirs": "1",
        "id_departement": "IODAS001",
        "id_france_travail": "",
    }
    base.update(over)
    return base


def bruno(**over):
    values = {
        "role": "CJT",
        "nir": NIR_BRUNO,
        "civilite": "M",
        "nom": "Martin",
        "nom_naissance": "Martin",
        "prenom": "Bruno",
        "date_naissance": "03/02/1983",
        "email": "",
        "telephone": "",
        "id_departement": "IODAS002",
    }
    values.update(over)
    return person(**values)


def write(tmp_path, rows, name="flux.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    lines = [";".join(HEADER)] + [";".join(str(r.get(c, "")) for c in HEADER) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture
def departement():
    dep = DepartementFactory()
    TerritoryCommuneFactory(territory__departement=dep, territory__name="Pays de Redon", insee_code="35236")
    return dep


def run(path, departement, received_on, **kw):
    return import_flux(path, organisation=departement, received_on=received_on, **kw)


def test_first_file_creates_people_household_right_history_and_new_entrants(tmp_path, departement):
    path = write(tmp_path, [person(), bruno(soumis_droits_devoirs="0")])
    report = run(path, departement, datetime.date(2026, 3, 1))

    assert report.as_json()["errors"] == []
    assert (report.created, report.updated, report.unchanged, report.new_entrants) == (2, 0, 0, 1)
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    assert alice.birth_name == "Le Goff"
    assert alice.birth_date == datetime.date(1985, 6, 12)
    assert alice.territory.name == "Pays de Redon"
    assert alice.household.matricule == "3500001"
    assert alice.new_entrant_t0 == datetime.date(2026, 3, 1)  # T0 = réception du fichier
    assert alice.is_sdd and alice.rsa_state == "2"
    assert Beneficiary.objects.get(nir=NIR_BRUNO).new_entrant_t0 is None
    right = RsaRight.objects.get(household__matricule="3500001")
    assert right.opened_on == datetime.date(2026, 1, 2)
    assert right.state == "2"
    snap = RightSnapshot.objects.get(beneficiary=alice)
    assert snap.reference_date == datetime.date(2026, 3, 1) and snap.received_on == datetime.date(2026, 3, 1)
    event = Event.objects.get(beneficiary=alice, kind=EventKind.NEW_ENTRANT)
    assert event.occurred_on == datetime.date(2026, 3, 1)
    assert event.payload["t0"] == "2026-03-01"
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.DONE and batch.new_entrants == 1


def test_same_file_twice_changes_nothing(tmp_path, departement):
    path = write(tmp_path, [person(), bruno()])
    run(path, departement, datetime.date(2026, 3, 1))
    counts = (
        Beneficiary.objects.count(),
        RightSnapshot.objects.count(),
        Event.objects.count(),
        Household.objects.count(),
    )
    stamps = list(Beneficiary.objects.order_by("pk").values_list("updated_at", flat=True))

    again = run(path, departement, datetime.date(2026, 3, 1))

    assert (again.created, again.updated, again.unchanged, again.new_entrants) == (0, 0, 2, 0)
    assert (
        Beneficiary.objects.count(),
        RightSnapshot.objects.count(),
        Event.objects.count(),
        Household.objects.count(),
    ) == counts
    assert list(Beneficiary.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps


def test_same_file_later_in_the_same_month_writes_nothing_new(tmp_path, departement):
    path = write(tmp_path, [person()])
    run(path, departement, datetime.date(2026, 3, 1))
    again = run(path, departement, datetime.date(2026, 3, 9))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert RightSnapshot.objects.count() == 1


def test_monthly_history_is_dated_by_the_flux_and_new_entrant_only_once(tmp_path, departement):
    run(write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 3, 3))
    report = run(write(tmp_path, [person(), bruno()], "m2.csv"), departement, datetime.date(2026, 4, 2))
    # Alice était déjà soumise en M-1 : pas nouvelle entrante une deuxième fois ; Bruno rejoint le foyer.
    assert report.new_entrants == 1
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    assert alice.new_entrant_t0 == datetime.date(2026, 3, 3)
    assert list(alice.snapshots.values_list("reference_date", flat=True)) == [
        datetime.date(2026, 4, 2),
        datetime.date(2026, 3, 3),
    ]
    assert Beneficiary.objects.get(nir=NIR_BRUNO).new_entrant_t0 == datetime.date(2026, 4, 2)
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)


def test_falling_under_threshold_makes_a_new_entrant(tmp_path, departement):
    run(
        write(tmp_path, [person(soumis_droits_devoirs="0")], "m1.csv"), departement, datetime.date(2026, 1, 5)
    )
    report = run(write(tmp_path, [person()], "m2.csv"), departement, datetime.date(2026, 2, 5))
    assert report.new_entrants == 1
    assert Event.objects.filter(kind=EventKind.BECAME_SDD).count() == 1


def test_oscillating_with_follow_up_in_progress_is_not_new_entrant(tmp_path, departement):
    run(write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 1, 5))
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    FollowUp.objects.create(
        beneficiary=alice, organisation=departement, started_on=datetime.date(2026, 1, 12)
    )
    run(
        write(tmp_path, [person(soumis_droits_devoirs="0")], "m2.csv"), departement, datetime.date(2026, 2, 5)
    )
    report = run(write(tmp_path, [person()], "m3.csv"), departement, datetime.date(2026, 3, 5))
    assert report.new_entrants == 0
    assert alice.follow_ups.get().ended_on is None


def test_radiation_closes_follow_up_and_return_makes_a_new_entrant(tmp_path, departement):
    run(write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 1, 5))
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    FollowUp.objects.create(
        beneficiary=alice, organisation=departement, started_on=datetime.date(2026, 1, 12)
    )
    run(write(tmp_path, [person(etat_droit="5")], "m2.csv"), departement, datetime.date(2026, 2, 5))
    follow_up = alice.follow_ups.get()
    assert follow_up.ended_on == datetime.date(2026, 2, 5)
    assert "radiation" in follow_up.end_reason
    report = run(write(tmp_path, [person()], "m3.csv"), departement, datetime.date(2026, 6, 5))
    assert report.new_entrants == 1
    assert Event.objects.get(beneficiary=alice, kind=EventKind.NEW_ENTRANT, occurred_on="2026-06-05").payload[
        "reason"
    ] == ("retour après radiation")


@pytest.mark.parametrize(
    ("return_on", "expected_new"),
    [(datetime.date(2026, 10, 5), 0), (datetime.date(2027, 3, 5), 1)],
    ids=["suspendu-moins-de-12-mois", "suspendu-plus-de-12-mois"],
)
def test_suspension_under_and_over_12_months(tmp_path, departement, return_on, expected_new):
    run(write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 1, 5))
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    FollowUp.objects.create(
        beneficiary=alice, organisation=departement, started_on=datetime.date(2026, 1, 12)
    )
    run(write(tmp_path, [person(etat_droit="4")], "m2.csv"), departement, datetime.date(2026, 2, 5))
    run(write(tmp_path, [person(etat_droit="4")], "m3.csv"), departement, datetime.date(2026, 5, 5))
    report = run(write(tmp_path, [person()], "m4.csv"), departement, return_on)
    assert report.new_entrants == expected_new
    assert (alice.follow_ups.get().ended_on is not None) == bool(expected_new)


def test_suspension_limit_is_a_setting_per_departement(tmp_path, departement):
    departement.delay_overrides = {"suspension_closes_follow_up_months": 3}
    departement.save()
    run(write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 1, 5))
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    FollowUp.objects.create(
        beneficiary=alice, organisation=departement, started_on=datetime.date(2026, 1, 12)
    )
    run(write(tmp_path, [person(etat_droit="3")], "m2.csv"), departement, datetime.date(2026, 2, 5))
    report = run(write(tmp_path, [person()], "m3.csv"), departement, datetime.date(2026, 6, 5))
    assert report.new_entrants == 1


def test_initial_stock_records_rights_without_new_entrants(tmp_path, departement):
    report = run(
        write(tmp_path, [person(), bruno()]), departement, datetime.date(2026, 1, 5), initial_stock=True
    )
    assert report.created == 2 and report.new_entrants == 0
    assert RightSnapshot.objects.count() == 2


def test_older_file_loaded_as_stock_completes_history_without_changing_current_state(tmp_path, departement):
    # Un flux plus ancien que le dernier appliqué est refusé (test_concurrent_imports) ; chargé comme
    # stock, il complète l'historique.
    run(write(tmp_path, [person(etat_droit="4")], "m2.csv"), departement, datetime.date(2026, 2, 5))
    report = run(
        write(tmp_path, [person()], "m1.csv"), departement, datetime.date(2026, 1, 5), initial_stock=True
    )
    assert not report.rejected, report.message
    alice = Beneficiary.objects.get(nir=NIR_ALICE)
    assert alice.rsa_state == "4"
    assert alice.snapshots.count() == 2
    assert any("antérieur" in w["message"] for w in report.warnings)


# --- Rapprochement


def test_matching_by_nir_first_even_if_everything_else_changed(tmp_path, departement):
    run(write(tmp_path, [person()], "a.csv"), departement, datetime.date(2026, 3, 1))
    moved = person(matricule="9999999", id_departement="AUTRE", nom="Martin-Durand", email="", telephone="")
    report = run(write(tmp_path, [moved], "b.csv"), departement, datetime.date(2026, 3, 1))
    assert (report.created, report.updated) == (0, 1)
    alice = Beneficiary.objects.get()
    assert alice.last_name == "Martin-Durand"
    assert alice.household.matricule == "9999999"


def test_matching_by_departement_id_then_matricule_and_role_then_email(tmp_path, departement):
    run(write(tmp_path, [person(nir="")], "a.csv"), departement, datetime.date(2026, 3, 1))
    by_dep_id = run(
        write(tmp_path, [person(nir="", matricule="X1", email="", telephone="")], "b.csv"),
        departement,
        datetime.date(2026, 3, 1),
    )
    assert by_dep_id.created == 0
    by_matricule = run(
        write(tmp_path, [person(nir="", id_departement="", matricule="X1", email="")], "c.csv"),
        departement,
        datetime.date(2026, 3, 1),
    )
    assert by_matricule.created == 0
    by_email = run(
        write(tmp_path, [person(nir="", id_departement="", matricule="Y2", role="DEM")], "d.csv"),
        departement,
        datetime.date(2026, 3, 1),
    )
    assert by_email.created == 0
    assert Beneficiary.objects.count() == 1


def test_never_merges_two_different_nirs(tmp_path, departement):
    run(write(tmp_path, [bruno()], "a.csv"), departement, datetime.date(2026, 3, 1))
    # Nouveau conjoint dans le même foyer : même matricule et même rôle, NIR différent.
    newcomer = bruno(nir=NIR_CHLOE, prenom="Chloé", id_departement="")
    report = run(write(tmp_path, [newcomer], "b.csv"), departement, datetime.date(2026, 4, 1))
    assert report.created == 1
    assert Beneficiary.objects.count() == 2
    assert set(Beneficiary.objects.values_list("nir", flat=True)) == {NIR_BRUNO, NIR_CHLOE}


def test_ambiguous_match_is_reported_and_not_merged(tmp_path, departement):
    # Deux personnes distinctes au même courriel et au même prénom : leurs NIR différents les séparent (sans NIR, la
    # seconde ligne désignerait la personne créée par la première, comme toute ligne suivante du fichier).
    twins = [
        person(
            nir=make_nir(41, sex=2),
            id_departement="",
            prenom="Lou",
            email="famille@example.fr",
            matricule="A1",
        ),
        person(
            nir=make_nir(42, sex=2),
            id_departement="",
            prenom="Lou",
            email="famille@example.fr",
            matricule="A2",
            date_naissance="01/01/1990",
        ),
    ]
    run(write(tmp_path, twins, "a.csv"), departement, datetime.date(2026, 3, 1))
    assert Beneficiary.objects.count() == 2
    # Un tableur sans matricule ni NIR : e-mail + prénom désignent deux personnes.
    spreadsheet = tmp_path / "c.csv"
    spreadsheet.write_text("Nom;Prénom;Adresses Mails\nMartin;Lou;famille@example.fr\n", encoding="utf-8")
    report = run(spreadsheet, departement, datetime.date(2026, 3, 1))
    assert any("ambigu" in w["message"] for w in report.warnings), report.warnings
    assert Beneficiary.objects.count() == 2


# --- Fichiers refusés : rien n'est écrit


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        ({"date_naissance": "31/02/1985"}, "date_naissance", "date"),
        ({"date_ouverture_droit": "hier"}, "date_ouverture_droit", "date"),
        ({"nir": NIR_ALICE[:13] + "00"}, "nir", "clé"),
        ({"etat_droit": "9"}, "etat_droit", ""),
        ({"nom": ""}, "nom", ""),
    ],
)
def test_a_bad_row_rejects_the_whole_file(tmp_path, departement, override, field, fragment):
    path = write(tmp_path, [bruno(), person(**override)])
    report = run(path, departement, datetime.date(2026, 3, 1))
    assert report.rejected
    assert report.created == 0
    assert Beneficiary.objects.count() == 0 and Household.objects.count() == 0 and Event.objects.count() == 0
    error = report.errors[0]
    assert error["row"] == 3  # en-tête = ligne 1
    assert error["field"] == field
    assert fragment in error["message"]
    assert ImportBatch.objects.get().status == ImportStatus.REJECTED


def test_missing_columns_empty_file_and_wrong_encoding_are_rejected(tmp_path, departement):
    missing = tmp_path / "missing.csv"
    missing.write_text("organisme;matricule;role;nom;prenom;date_naissance\nCAF;1;DEM;A;B;01/01/1980\n")
    report = run(missing, departement, datetime.date(2026, 3, 1), fmt="csv")
    assert report.rejected and "etat_droit" in report.message or "etat_droit" in json.dumps(report.errors)

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    report = run(empty, departement, datetime.date(2026, 3, 1))
    assert report.rejected and "vide" in report.message.lower()

    utf16 = write(tmp_path, [person()], "utf16.csv", encoding="utf-16-le")
    report = run(utf16, departement, datetime.date(2026, 3, 1))
    assert report.rejected
    assert Beneficiary.objects.count() == 0


def test_a_crash_in_the_middle_leaves_the_database_as_before(tmp_path, departement, monkeypatch):
    rows = [
        person(nir=make_nir(i, sex=2), matricule=f"M{i}", id_departement=f"D{i}", email="") for i in range(30)
    ]
    path = write(tmp_path, rows)
    monkeypatch.setattr(services, "CHUNK_SIZE", 10)
    calls = {"n": 0}
    original = services._Importer._process_chunk

    def explode(self, chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disque plein")
        return original(self, chunk)

    monkeypatch.setattr(services._Importer, "_process_chunk", explode)
    report = run(path, departement, datetime.date(2026, 3, 1))
    assert report.rejected
    assert ImportBatch.objects.get().status == ImportStatus.FAILED
    assert Beneficiary.objects.count() == 0 and RightSnapshot.objects.count() == 0


def test_bad_optional_email_is_a_warning_and_the_row_is_imported(tmp_path, departement):
    report = run(write(tmp_path, [person(email="alice@@exemple")]), departement, datetime.date(2026, 3, 1))
    assert not report.rejected and report.created == 1
    assert report.warnings and report.warnings[0]["field"] == "email"
    assert Beneficiary.objects.get().email == ""


def test_partner_organisation_imports_into_its_departement(tmp_path, departement):
    agency = OrganisationFactory(departement=departement)
    report = import_flux(
        write(tmp_path, [person()]), organisation=agency, received_on=datetime.date(2026, 3, 1)
    )
    assert report.created == 1
    assert Beneficiary.objects.get().departement == departement


# --- Ligne de commande


def test_cli_prints_contract_json(tmp_path, departement, capsys):
    path = write(tmp_path, [person(), bruno()])
    call_command("import-flux", str(path), "--received-on", "2026-03-01", "--json")
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("created", "updated", "unchanged", "new_entrants")} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "new_entrants": 2,
    }
    assert out["errors"] == [] and out["warnings"] == []


def test_cli_exits_non_zero_on_rejected_file(tmp_path, departement, capsys):
    path = write(tmp_path, [person(date_naissance="32/13/2000")])
    with pytest.raises(SystemExit) as exc:
        call_command("import-flux", str(path), "--json")
    assert exc.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 0 and out["errors"][0]["field"] == "date_naissance"
    with pytest.raises(CommandError, match="refusé"):
        call_command("import-flux", str(path))


def test_cli_on_empty_database_creates_a_default_departement(tmp_path, capsys):
    path = write(tmp_path, [person()])
    call_command("import-flux", str(path), "--json")
    assert json.loads(capsys.readouterr().out)["created"] == 1


def test_cli_unknown_file_is_a_clear_error(tmp_path, departement):
    with pytest.raises(CommandError, match="introuvable"):
        call_command("import-flux", str(tmp_path / "absent.csv"))
