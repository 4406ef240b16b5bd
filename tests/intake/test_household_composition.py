"""Composition du foyer lue dans les flux (enfants, personnes à charge, parent isolé), gardée avec son historique :
une ligne par changement, la même par le chemin par ensembles et par le chemin ligne à ligne."""

import datetime

import pytest

from parcours.beneficiaries.household import composition_on, household_capped
from parcours.beneficiaries.models import Beneficiary, Household, HouseholdComposition, RsaRight
from parcours.intake import staging as staging_module
from parcours.intake.formats.cnaf_xml_writer import write_cnaf_xml
from parcours.intake.services import import_flux
from tests.factories import DepartementFactory, make_nir

pytestmark = pytest.mark.django_db

D = datetime.date


def adult(i, role="DEM", **over):
    values = {
        "role": role,
        "civility": "MME" if role == "DEM" else "M",
        "last_name": "KERGOAT",
        "first_name": "Maëlle" if role == "DEM" else "Yann",
        "birth_date": D(1988, 4, 2),
        "nir": make_nir(500 + i, sex=2 if role == "DEM" else 1)[:13],
        "sdd": True,
    }
    values.update(over)
    return values


def child(i, first_name, nir=True):
    return {
        "role": "ENF",
        "civility": None,
        "last_name": "KERGOAT",
        "first_name": first_name,
        "birth_date": D(2016, 9, 1),
        "nir": make_nir(900 + i, sex=1)[:13] if nir else None,
        "sdd": None,
    }


def foyer(matricule, persons, **over):
    values = {
        "organism": "CAF",
        "matricule": matricule,
        "requested_on": D(2025, 11, 3),
        "right_state": "2",
        "address": {
            "street_name": "RUE DU PORT",
            "insee_code": "35236",
            "postal_code": "35600",
            "city": "REDON",
        },
        "persons": persons,
    }
    values.update(over)
    return values


def single_mother(children=2, dependants=2, nir=True, matricule="0350001"):
    """Une mère seule (DEM sans conjoint) et ses enfants : le foyer de l'issue (1 adulte + 2 enfants)."""
    kids = [child(k, name, nir=nir) for k, name in enumerate(["Lou", "Tom", "Ewen"][:children])]
    return foyer(matricule, [adult(1), *kids], dependants=dependants)


def write(tmp_path, name, foyers, dtref):
    path = tmp_path / name
    write_cnaf_xml(path, foyers, dtref=dtref, dtcreaflux=dtref + datetime.timedelta(days=3))
    return path


def run(path, departement, **kw):
    report = import_flux(path, organisation=departement, **kw)
    assert not report.rejected, (report.message, report.errors)
    return report


def compositions(departement):
    return sorted(
        (c.household.matricule, c.valid_from, c.adults, c.partner, c.children, c.others, c.dependants)
        for c in HouseholdComposition.objects.filter(household__departement=departement).select_related(
            "household"
        )
    )


@pytest.fixture
def departement():
    return DepartementFactory()


def test_single_parent_with_two_children_is_read_from_the_cnaf_flux(tmp_path, departement):
    run(write(tmp_path, "m1.xml", [single_mother()], D(2026, 1, 31)), departement)

    mother = Beneficiary.objects.get(role="DEM")
    composition = composition_on(mother.household_id, D(2026, 2, 10))
    assert (composition.adults, composition.partner, composition.children, composition.dependants) == (
        1,
        False,
        2,
        2,
    )
    assert composition.valid_from == D(2026, 1, 31)
    assert composition.single_parent and composition.persons == 3 and composition.capped
    assert composition.summary == "parent isolé, 2 enfants, 2 personnes à charge ; 3 personnes au foyer"
    # La composition vaut à partir de la date de référence du flux, pas avant.
    assert composition_on(mother.household_id, D(2026, 1, 30)) is None
    assert household_capped(mother, D(2026, 2, 10))


def test_history_is_kept_only_when_the_composition_changes(tmp_path, departement):
    january = write(tmp_path, "m1.xml", [single_mother(children=1, dependants=1)], D(2026, 1, 31))
    run(january, departement)
    run(january, departement)  # ré-import du même flux
    run(write(tmp_path, "m2.xml", [single_mother(children=1, dependants=1)], D(2026, 2, 28)), departement)
    assert compositions(departement) == [("0350001", D(2026, 1, 31), 1, False, 1, 0, 1)]
    synced = RsaRight.objects.get().updated_at

    # Mars : un deuxième enfant ; avril : le conjoint arrive ; mai : rien ne change.
    run(write(tmp_path, "m3.xml", [single_mother(children=2, dependants=2)], D(2026, 3, 31)), departement)
    # Le droit du foyer avance pour la synchronisation des partenaires (seule la composition a changé).
    assert RsaRight.objects.get().updated_at > synced
    couple = single_mother(children=2, dependants=2)
    couple["persons"].insert(1, adult(1, role="CJT"))
    run(write(tmp_path, "m4.xml", [couple], D(2026, 4, 30)), departement)
    run(write(tmp_path, "m5.xml", [couple], D(2026, 5, 31)), departement)

    assert compositions(departement) == [
        ("0350001", D(2026, 1, 31), 1, False, 1, 0, 1),
        ("0350001", D(2026, 3, 31), 1, False, 2, 0, 2),
        ("0350001", D(2026, 4, 30), 2, True, 2, 0, 2),
    ]
    household = Household.objects.get()
    assert composition_on(household.pk, D(2026, 3, 15)).children == 1
    assert composition_on(household.pk, D(2026, 4, 15)).single_parent
    assert not composition_on(household.pk, D(2026, 5, 15)).single_parent


def test_older_stock_file_moves_the_composition_back_without_duplicating_it(tmp_path, departement):
    run(write(tmp_path, "m3.xml", [single_mother()], D(2026, 3, 31)), departement)
    run(write(tmp_path, "m1.xml", [single_mother()], D(2026, 1, 31)), departement, initial_stock=True)
    assert compositions(departement) == [("0350001", D(2026, 1, 31), 1, False, 2, 0, 2)]


def test_dependants_count_when_the_flux_does_not_describe_each_child(tmp_path, departement):
    """NBENFAUTCHA = 2 sans personne ENF décrite : le foyer compte 3 personnes (plafond), sans enfant nommé."""
    run(write(tmp_path, "m1.xml", [single_mother(children=0, dependants=2)], D(2026, 1, 31)), departement)
    composition = HouseholdComposition.objects.get()
    assert (composition.children, composition.dependants, composition.persons) == (0, 2, 3)
    assert composition.capped and not composition.single_parent
    alone = foyer("0350002", [adult(2)])
    run(write(tmp_path, "m2.xml", [alone], D(2026, 2, 28)), departement)
    single = HouseholdComposition.objects.get(household__matricule="0350002")
    assert (single.persons, single.capped) == (1, False)


def every_row_by_row(monkeypatch):
    """Le rapprochement ne marque aucune ligne « simple » : tout passe par le chemin ligne à ligne."""
    original = staging_module.Staging.match
    monkeypatch.setattr(staging_module.Staging, "match", lambda self, contacts: original(self, contacts=True))


def state_of(departement):
    people = sorted(
        (p.nir or p.first_name, p.role, p.household.matricule, p.rsa_state, p.is_sdd)
        for p in Beneficiary.objects.filter(departement=departement).select_related("household")
    )
    return people, compositions(departement)


@pytest.mark.parametrize("path", ["ensembles", "ligne-a-ligne"])
def test_same_composition_by_both_import_paths(tmp_path, monkeypatch, path):
    """Les mêmes fichiers importés par le chemin par ensembles (enfants avec NIR : lignes simples) et tout ligne à
    ligne donnent les mêmes personnes et les mêmes compositions, attendues ici."""
    months = [
        [single_mother(matricule="0350001"), single_mother(nir=False, matricule="0350002")],
        [
            single_mother(children=3, dependants=3, matricule="0350001"),
            single_mother(nir=False, matricule="0350002"),
            foyer("0350003", [adult(3), adult(3, role="CJT")]),
        ],
    ]
    files = [write(tmp_path, f"m{i}.xml", foyers, D(2026, i + 1, 28)) for i, foyers in enumerate(months)]

    def import_all(departement):
        for file in files:
            run(file, departement)
        return state_of(departement)

    reference = import_all(DepartementFactory(departement_code="35"))
    if path == "ligne-a-ligne":
        every_row_by_row(monkeypatch)
    result = import_all(DepartementFactory(departement_code="44"))

    assert result == reference
    assert result[1] == [
        ("0350001", D(2026, 1, 28), 1, False, 2, 0, 2),
        ("0350001", D(2026, 2, 28), 1, False, 3, 0, 3),
        ("0350002", D(2026, 1, 28), 1, False, 2, 0, 2),
        ("0350003", D(2026, 2, 28), 2, True, 0, 0, None),
    ]


# --- fichier canonique : colonnes facultatives --------------------------------------------------------------

HEADER = [
    "organisme",
    "matricule",
    "role",
    "nir",
    "nom",
    "prenom",
    "date_naissance",
    "date_ouverture_droit",
    "etat_droit",
    "soumis_droits_devoirs",
]


def csv_file(tmp_path, rows, extra=(), name="flux.csv"):
    header = HEADER + list(extra)
    lines = [";".join(header)] + [";".join(str(row.get(c, "")) for c in header) for row in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line(**over):
    values = {
        "organisme": "CAF",
        "matricule": "3500001",
        "role": "DEM",
        "nir": make_nir(1, sex=2),
        "nom": "Martin",
        "prenom": "Alice",
        "date_naissance": "12/06/1985",
        "date_ouverture_droit": "02/01/2026",
        "etat_droit": "2",
        "soumis_droits_devoirs": "1",
    }
    values.update(over)
    return values


def test_old_canonical_file_without_the_columns_still_imports_and_changes_nothing(tmp_path, departement):
    report = run(csv_file(tmp_path, [line()]), departement, received_on=D(2026, 3, 1))
    assert report.created == 1
    assert not HouseholdComposition.objects.exists()


def test_canonical_file_states_children_and_dependants(tmp_path, departement):
    extra = ("nombre_enfants", "nombre_personnes_a_charge")
    path = csv_file(tmp_path, [line(nombre_enfants="2", nombre_personnes_a_charge="2")], extra)
    report = run(path, departement, received_on=D(2026, 3, 1))
    assert report.warnings == []
    composition = HouseholdComposition.objects.get()
    assert (composition.adults, composition.children, composition.dependants) == (1, 2, 2)
    assert composition.single_parent and composition.valid_from == D(2026, 3, 1)

    # Un couple : le conjoint sur sa ligne, la valeur du foyer répétée ou laissée vide.
    rows = [
        line(nombre_enfants="2", nombre_personnes_a_charge="2"),
        line(
            role="CJT",
            nir=make_nir(2, sex=1),
            prenom="Bruno",
            nombre_enfants="",
            nombre_personnes_a_charge="",
        ),
    ]
    run(csv_file(tmp_path, rows, extra, name="m2.csv"), departement, received_on=D(2026, 4, 1))
    latest = composition_on(composition.household_id, D(2026, 4, 1))
    assert (latest.adults, latest.partner, latest.children, latest.single_parent) == (2, True, 2, False)


def test_invalid_count_is_a_warning_and_keeps_the_known_composition(tmp_path, departement):
    extra = ("nombre_enfants",)
    run(csv_file(tmp_path, [line(nombre_enfants="1")], extra), departement, received_on=D(2026, 3, 1))
    report = run(
        csv_file(tmp_path, [line(nombre_enfants="deux")], extra, name="m2.csv"),
        departement,
        received_on=D(2026, 4, 1),
    )
    assert "nombre « deux » invalide" in report.warnings[0]["message"]
    assert [c.children for c in HouseholdComposition.objects.all()] == [1]
