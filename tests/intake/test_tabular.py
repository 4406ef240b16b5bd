"""Lecture des fichiers tabulaires (CSV, XLSX) et détection du format par ``open_flux``.

Chaque fichier de référence de ``reference-data/rdv-insertion`` et les deux modèles d'import de
bénéficiaires de Carnet de bord passent par ``open_flux`` ; les fichiers canoniques mal formés sont
fabriqués dans ``tmp_path``.
"""

import shutil
import tracemalloc
from datetime import date, datetime

import openpyxl
import pytest

from parcours.intake.formats import open_flux
from parcours.intake.models import ColumnMapping
from parcours.intake.records import FileRejected

CANONICAL_HEADER = (
    "organisme;matricule;role;nir;civilite;nom;nom_naissance;prenom;date_naissance;email;telephone;"
    "adresse;code_postal;commune;code_insee;date_ouverture_droit;etat_droit;soumis_droits_devoirs;"
    "id_departement;id_france_travail"
)
SOPHIE = (
    "CAF;2055990;DEM;2820251108030;Mme;Tifour;Tifour;Sophie;01/02/1982;sophie.tifour@example.fr;"
    "06 12 34 56 78;25 rue Henri Barbusse;92300;Levallois-Perret;92044;06/08/2018;2;1;IODAS1;1253359X"
)
NOEL = (
    "MSA;2055990;CJT;177039305000566;M;Keller;;Noël;1977-03-23;;;25 rue Henri Barbusse;92300;"
    "Levallois-Perret;92044;2018-08-06;4;0;;"
)


def rows_of(path, **kwargs):
    parsed = open_flux(path, **kwargs)
    return parsed, list(parsed.rows)


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


def canonical(tmp_path, *lines, header=CANONICAL_HEADER, encoding="utf-8", name="flux.csv"):
    return write(tmp_path, name, "\r\n".join([header, *lines]) + "\r\n", encoding)


def all_errors(rows):
    return [issue for row in rows for issue in row.errors]


def all_warnings(rows):
    return [issue for row in rows for issue in row.warnings]


# ---------------------------------------------------------------------------------------------------
# Tableurs de rdv-insertion


def test_fichier_usager_test_xlsx(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_usager_test.xlsx")
    assert parsed.format == "spreadsheet"
    assert parsed.meta["sheet"] == "ENTRETIENS PHYSIQUES"
    assert parsed.meta["columns"]["Nom bénéficiaire"] == "nom"
    assert parsed.meta["columns"]["N° Allocataire"] == "matricule"
    assert parsed.meta["columns"]["ID IODAS"] == "id_departement"
    assert parsed.meta["columns"]["N° Téléphones"] == "telephone"
    assert "DECISION ORIENTATION" in parsed.meta["unrecognised_columns"]
    assert len(rows) == 1  # les 218 lignes vides du classeur sont ignorées
    (row,) = rows
    assert row.row == 2
    assert (row.last_name, row.first_name, row.civility, row.role) == ("Crespo", "Hernan", "M", "DEM")
    assert row.matricule == "ISQCJQO"
    assert row.organism == "CAF"
    assert row.birth_date == date(1980, 11, 21)
    assert row.nir == "180333147687266"  # 1803331476872 (nombre Excel, 13 chiffres) + clé calculée
    assert row.phone == "0620022002"  # 620022002 : le zéro de tête est rendu
    assert row.email == "hernan@crespo.com"
    assert (row.address, row.postal_code, row.city) == ("127 RUE DE GRENELLE", "75007", "PARIS")
    assert row.departement_internal_id == "8383"
    assert row.extra == {"Structure": "org1", "Tags": "Cool"}
    assert not row.has_right and not row.contact_only
    assert row.errors == [] and row.warnings == []


def test_fichier_usager_sans_civilite_xlsx(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_usager_sans_civilite.xlsx")
    assert parsed.format == "spreadsheet"
    assert [(r.row, r.first_name, r.role, r.civility) for r in rows] == [
        (2, "Hernan", "DEM", "M"),
        (3, "Virginie", "CJT", None),
    ]
    assert rows[1].matricule == "ISQCJQU"
    assert rows[1].nir == "180333147687266"
    assert all_errors(rows) == []


def test_fichier_usager_test_invalid_xlsx_reports_the_missing_last_name(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_usager_test_invalid.xlsx")
    assert [r.row for r in rows] == [2, 3]
    (error,) = all_errors(rows)
    assert (error.row, error.field) == (2, "Nom bénéficiaire")
    assert error.message == "Ligne 2, colonne « Nom bénéficiaire » : nom manquant."
    assert rows[1].last_name == "Test" and rows[1].errors == []
    assert rows[1].email == "herndan@crespo.com"


def test_new_fichier_usager_test_xlsx(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "new_fichier_usager_test.xlsx")
    assert parsed.meta["rows_total"] is None  # classeur sans dimension déclarée
    first, second = rows
    assert first.nir == "180333147687266"  # 1803331476872.0
    assert first.departement_internal_id == "8383"  # 8383.0
    assert first.phone is None
    assert (second.row, second.last_name, second.first_name) == (3, "Vieri", "Christian")
    assert second.email == "christian@vieri.com"
    assert second.matricule is None and second.role is None
    assert second.extra == {"Référents": "marcelo@lippi.com"}
    assert all_errors(rows) == []


def test_fichier_allocataires_drome_xlsx(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "Fichier_allocataires_test_-_Drome.xlsx")
    assert parsed.format == "spreadsheet"
    assert parsed.meta["columns"]["id iodas"] == "id_departement"
    assert parsed.meta["columns"]["CP Ville"] == "cp_ville"
    assert parsed.meta["columns"]["Rôle"] == "role"
    assert [(r.row, r.matricule, r.last_name, r.first_name, r.role) for r in rows] == [
        (2, "ASXASA", "Fois", "Marina", "DEM"),
        (3, "JSCSASS", "Barthélémy", "Maurice", "DEM"),
        (4, "JSCSASS", "Rouve", "Jean-Paul", "CJT"),
    ]
    marina = rows[0]
    assert (marina.civility, marina.postal_code, marina.city) == ("MME", "26000", "Valence")
    assert marina.phone == "0782605941"
    assert marina.email == "marinafois@robindesbois.com"
    assert rows[1].birth_date is None and rows[1].phone is None
    assert all_errors(rows) == [] and all_warnings(rows) == []


def test_fichier_usager_600_lignes_csv(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_usager_600_lignes.csv")
    assert parsed.format == "spreadsheet"
    assert parsed.meta["encoding"] == "UTF-8 avec BOM"
    assert parsed.meta["delimiter"] == ";"
    assert parsed.meta["columns"]["Civilité"] == "civilite"  # le BOM ne colle pas au premier en-tête
    assert parsed.meta["unrecognised_columns"] == ["Référent"]
    assert len(rows) == 600
    assert rows[-1].row == 601
    assert all_errors(rows) == []
    durand = rows[0]
    assert (durand.civility, durand.first_name, durand.last_name) == ("M", "Paul", "Durand")
    assert durand.birth_date == date(1952, 2, 16)
    assert (durand.postal_code, durand.city) == ("59402", "Nice")
    assert durand.matricule == "CAF0027004992"
    assert durand.departement_internal_id == "IODAS822920"
    assert durand.phone == "0663603510"
    assert durand.email == "paul.durand369@example.com"
    assert durand.extra == {"Référent": "referent.agent3@example.org"}
    assert rows[1].civility == "MME" and rows[1].first_name == "Inès"
    # Les adresses à partie locale accentuée ne sont pas des e-mails valides : avertissement, sans e-mail.
    warnings = all_warnings(rows)
    assert warnings and {w.field for w in warnings} == {"Adresses Mails"}
    assert rows[1].email is None
    assert rows[1].warnings[0].message == (
        "Ligne 3, colonne « Adresses Mails » : adresse e-mail « inès.dupont434@example.com » invalide ; "
        "valeur ignorée."
    )


# ---------------------------------------------------------------------------------------------------
# Fichiers de contacts CNAF


def test_fichier_contact_test(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_contact_test.csv")
    assert parsed.format == "cnaf-contacts"
    (row,) = rows
    assert row.contact_only
    assert (row.matricule, row.role, row.civility) == ("ISQCJQO", "DEM", "M")
    assert row.phone == "0698943255"
    assert row.email == "hernan.crespo@hotmail.fr"
    assert (row.last_name, row.first_name) == ("CRESPO", "HERNAN")
    assert row.requested_on == date(2011, 11, 21)
    assert row.rsa_number == "1013473008"
    assert not row.has_right
    assert row.extra == {"DATE DEBUT DROITS - DEVOIRS": "01/02/2012", "TAGS": "Cool"}


def test_fichier_contact_priorite_nir_drops_invalid_nirs_with_a_warning(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "fichier_contact_test_priorite_nir.csv")
    assert parsed.format == "cnaf-contacts"
    assert [(r.row, r.email, r.phone, r.contact_only) for r in rows] == [
        (2, "matricule.fallback@example.fr", "0222222222", True),
        (3, "nir.priority@example.fr", "0111111111", True),
    ]
    assert all_errors(rows) == []
    assert [r.nir for r in rows] == [None, None]  # clés 88 et 77 fausses : NIR ignoré
    warning = rows[0].warnings[0]
    assert (warning.row, warning.field) == (2, "NIR")
    assert "clé du NIR incorrecte" in warning.message


def test_fichier_de_contacts_drome_comma_separated(reference_data):
    parsed, rows = rows_of(reference_data / "rdv-insertion" / "Fichier_de_contacts_test_-_Drome.csv")
    assert parsed.format == "cnaf-contacts"
    assert parsed.meta["delimiter"] == ","
    (row,) = rows
    assert row.contact_only
    assert (row.matricule, row.role, row.civility) == ("JSCSASS", "DEM", "M")
    assert row.nir == "123456789012311"
    assert row.phone == "0698943255"
    assert row.email == "maurice.barthelemy@test.fr"
    assert (row.last_name, row.first_name) == ("BARTHELEMY", "MAURICE")


def test_contact_file_edge_cases(tmp_path):
    path = write(
        tmp_path,
        "contacts.csv",
        "MATRICULE;ROLE PERSONNE;NUMERO TELEPHONE DOSSIER;NUMERO TELEPHONE 2 DOSSIER;"
        "ADRESSE ELECTRONIQUE DOSSIER;NOM RESPONSABLE DOSSIER;PRENOM RESPONSABLE DOSSIER\n"
        "1234567;CONJOINT;12;0612345678;pas-un-mail;DUPONT;JEAN\n"
        ";DEMANDEUR;0612345678;;a@example.fr;DURAND;ANNE\n",
    )
    parsed, (conjoint, orphan) = rows_of(path)
    assert parsed.format == "cnaf-contacts"
    assert conjoint.role == "CJT"
    assert conjoint.phone == "0612345678"  # le premier numéro est invalide : le second est pris
    assert conjoint.email is None
    assert {w.field for w in conjoint.warnings} == {
        "NUMERO TELEPHONE DOSSIER",
        "ADRESSE ELECTRONIQUE DOSSIER",
    }
    assert conjoint.errors == []
    # Le responsable du dossier est le demandeur : son nom ne s'applique pas à la ligne du conjoint.
    assert conjoint.last_name is None
    assert conjoint.extra["NOM RESPONSABLE DOSSIER"] == "DUPONT"
    (error,) = orphan.errors
    assert (error.row, error.field) == (3, "MATRICULE")
    assert "matricule manquant" in error.message


# ---------------------------------------------------------------------------------------------------
# Modèles d'import de Carnet de bord


@pytest.mark.parametrize(
    "name", ["import_beneficiaires_template.csv", "import_beneficiaires_date_formats.csv"]
)
def test_carnet_de_bord_templates(reference_data, name):
    parsed, rows = rows_of(reference_data / "carnet-de-bord" / name)
    assert parsed.format == "spreadsheet"
    columns = parsed.meta["columns"]
    assert columns["Identifiant dans le SI*"] == "id_departement"
    assert columns["Nom*"] == "nom"
    assert columns["Prénom*"] == "prenom"
    assert columns["Numéro allocataire CAF/MSA"] == "matricule"
    assert columns["Droits RSA"] == "etat_droit"
    assert "Situation" in parsed.meta["unrecognised_columns"]
    assert all_errors(rows) == [] and all_warnings(rows) == []
    assert [(r.row, r.first_name, r.last_name, r.birth_date) for r in rows] == [
        (2, "Charlotte", "Fondue", date(1998, 5, 25)),
        (3, "Charlie", "Fondue", date(1997, 4, 22)),
        (4, "charlie", "fondue", date(1997, 4, 22)),
        (5, "charlot", "fondue", date(1997, 4, 22)),
    ]
    charlotte, charlie, _, charlot = rows
    assert charlotte.phone == "0601234567"  # « 0601234567, 071234567 » : le premier numéro valide
    assert charlotte.email == "charlotte@laposte.fr"
    assert charlotte.address == '11 rue du Fromage, Lieu-dit "Le sandwich"'
    assert (charlotte.postal_code, charlotte.city) == ("61120", "Camembert")
    assert charlotte.matricule == "2055990" and charlotte.organism == "CAF"
    assert charlotte.departement_internal_id == "1234"
    assert charlotte.france_travail_id == "300000L"
    assert charlotte.right_state == "3"  # rsa_droit_ouvert_et_suspendu
    assert charlie.right_state == "2"  # rsa_droit_ouvert_versable
    assert not charlotte.has_right  # état du droit sans « soumis aux droits et devoirs »
    assert charlotte.extra["Structure"] == "CD 26"
    assert charlie.extra["Lieu de naissance"] == "Loriol"
    assert charlot.right_state is None and charlot.phone is None and charlot.matricule is None


# ---------------------------------------------------------------------------------------------------
# Fichier canonique


def test_canonical_csv(tmp_path):
    header = (
        CANONICAL_HEADER
        + ";revenus_activite;entrant_cnaf;date_demande;motif_suspension;motif_cloture;date_cloture;Notes"
    )
    path = canonical(
        tmp_path,
        SOPHIE + ";1;1;15/07/2018;;;;à rappeler",
        NOEL + ";0;0;2018-07-15;06;;;",
        header=header,
    )
    parsed, (sophie, noel) = rows_of(path)
    assert parsed.format == "canonical-csv"
    assert parsed.meta["encoding"] == "UTF-8"
    assert parsed.meta["columns"]["etat_droit"] == "etat_droit"
    assert parsed.meta["unrecognised_columns"] == ["Notes"]
    assert sophie.row == 2 and noel.row == 3
    assert (sophie.organism, sophie.matricule, sophie.role) == ("CAF", "2055990", "DEM")
    assert sophie.nir == "282025110803094"  # 13 chiffres : clé calculée
    assert (sophie.civility, sophie.last_name, sophie.birth_name, sophie.first_name) == (
        "MME",
        "Tifour",
        "Tifour",
        "Sophie",
    )
    assert sophie.birth_date == date(1982, 2, 1)
    assert sophie.phone == "0612345678"
    assert sophie.email == "sophie.tifour@example.fr"
    assert (sophie.postal_code, sophie.city, sophie.insee_code) == ("92300", "Levallois-Perret", "92044")
    assert sophie.opened_on == date(2018, 8, 6)
    assert (sophie.right_state, sophie.sdd, sophie.has_right) == ("2", True, True)
    assert (sophie.activity_income, sophie.cnaf_new_entrant) == (True, True)
    assert sophie.requested_on == date(2018, 7, 15)
    assert sophie.departement_internal_id == "IODAS1" and sophie.france_travail_id == "1253359X"
    assert sophie.extra == {"Notes": "à rappeler"}
    assert (noel.organism, noel.role, noel.first_name) == ("MSA", "CJT", "Noël")
    assert noel.nir == "177039305000566"  # 15 chiffres : clé vérifiée
    assert noel.birth_date == date(1977, 3, 23) and noel.opened_on == date(2018, 8, 6)
    assert (noel.right_state, noel.sdd, noel.has_right) == ("4", False, True)
    assert noel.suspension_reason == "06"
    assert noel.birth_name is None and noel.email is None
    assert all_errors([sophie, noel]) == [] and all_warnings([sophie, noel]) == []


def test_canonical_rows_are_read_lazily(tmp_path):
    path = canonical(tmp_path, *[SOPHIE] * 3)
    parsed = open_flux(path)
    assert iter(parsed.rows) is parsed.rows
    assert next(parsed.rows).row == 2


@pytest.mark.parametrize(
    ("replace", "by", "field", "expected"),
    [
        ("01/02/1982", "31/02/1982", "date_naissance", "date « 31/02/1982 » impossible"),
        ("01/02/1982", "1982/02/01", "date_naissance", "date « 1982/02/01 » illisible"),
        ("01/02/1982", "01/02/2999", "date_naissance", "date de naissance 01/02/2999 dans le futur"),
        ("01/02/1982", "01/02/1889", "date_naissance", "antérieure à 1900"),
        ("01/02/1982", "", "date_naissance", "date de naissance manquante"),
        ("06/08/2018", "6 août 2018", "date_ouverture_droit", "date « 6 août 2018 » illisible"),
        ("2820251108030", "282025110803095", "nir", "clé du NIR incorrecte : 95 au lieu de 94"),
        ("2820251108030", "1.80333E+12", "nir", "notation scientifique"),
        ("CAF;", "MDPH;", "organisme", "organisme « MDPH » inconnu"),
        (";DEM;", ";ENF;", "role", "rôle « ENF » refusé (attendu : DEM ou CJT)"),
        (";DEM;", ";chef;", "role", "rôle « chef » non reconnu"),
        (";2;1;", ";9;1;", "etat_droit", "état du droit « 9 » inconnu"),
        (";2;1;", ";2;oui;", "soumis_droits_devoirs", "valeur « oui » invalide (attendu : 0 ou 1)"),
        (";2;1;", ";2;;", "soumis_droits_devoirs", "1 si soumis aux droits et devoirs"),
        (";Sophie;", ";;", "prenom", "prénom manquant"),
        (";2055990;", ";;", "matricule", "matricule manquant"),
    ],
)
def test_canonical_invalid_required_value_is_a_row_error(tmp_path, replace, by, field, expected):
    line = SOPHIE.replace(replace, by, 1)
    assert line != SOPHIE
    path = canonical(tmp_path, NOEL, line)
    parsed, rows = rows_of(path)
    assert rows[0].errors == []
    (error,) = rows[1].errors
    assert (error.row, error.field) == (3, field)
    assert error.message.startswith(f"Ligne 3, colonne « {field} » : ")
    assert expected in error.message


@pytest.mark.parametrize(
    ("replace", "by", "field", "expected"),
    [
        ("sophie.tifour@example.fr", "sophie.tifour@", "email", "adresse e-mail « sophie.tifour@ » invalide"),
        ("06 12 34 56 78", "06 12 34", "telephone", "numéro de téléphone « 06 12 34 » invalide"),
        (";Mme;", ";Dr;", "civilite", "civilité « Dr » non reconnue"),
        (";92300;", ";9230X;", "code_postal", "code postal « 9230X » invalide"),
    ],
)
def test_canonical_bad_optional_value_is_dropped_with_a_warning(tmp_path, replace, by, field, expected):
    path = canonical(tmp_path, SOPHIE.replace(replace, by, 1))
    parsed, (row,) = rows_of(path)
    assert row.errors == []
    (warning,) = row.warnings
    assert (warning.row, warning.field) == (2, field)
    assert expected in warning.message
    assert warning.message.endswith("valeur ignorée.")
    attr = {"email": "email", "telephone": "phone", "civilite": "civility", "code_postal": "postal_code"}[
        field
    ]
    assert getattr(row, attr) is None
    assert row.last_name == "Tifour" and row.has_right


def test_canonical_missing_required_columns_rejects_the_file(tmp_path):
    header = CANONICAL_HEADER.replace("matricule;", "").replace(";etat_droit", "")
    line = SOPHIE.replace("2055990;", "").replace(";2;1;", ";1;")
    path = canonical(tmp_path, line, header=header)
    with pytest.raises(FileRejected) as exc:
        open_flux(path)
    assert "obligatoire" in exc.value.message
    assert "matricule, etat_droit" in exc.value.message


def test_row_numbers_follow_the_spreadsheet_view(tmp_path):
    path = canonical(
        tmp_path,
        SOPHIE,
        "",
        '"CAF";2055990;CJT;;M;"Keller\nde Noël";;Noël;23/03/1977;;;;;;;06/08/2018;2;1;;',
        NOEL.replace("1977-03-23", "bad"),
    )
    parsed, rows = rows_of(path)
    # ligne 3 vide (ignorée) ; ligne 4 avec un retour à la ligne dans une cellule ; ligne 5 en erreur
    assert [r.row for r in rows] == [2, 4, 5]
    assert rows[1].last_name == "Keller de Noël"
    assert rows[2].errors[0].row == 5


# ---------------------------------------------------------------------------------------------------
# Encodages, fichiers vides, séparateurs


def test_cp1252_file_is_decoded(tmp_path):
    path = canonical(
        tmp_path,
        SOPHIE.replace("Sophie", "Hélène").replace("Levallois-Perret", "Montréal"),
        encoding="cp1252",
    )
    parsed, (row,) = rows_of(path)
    assert parsed.meta["encoding"] == "Windows-1252"
    assert row.first_name == "Hélène" and row.city == "Montréal"


def test_utf8_bom_file_is_read(tmp_path):
    path = canonical(tmp_path, SOPHIE, encoding="utf-8-sig")
    parsed, (row,) = rows_of(path)
    assert parsed.format == "canonical-csv"
    assert parsed.meta["encoding"] == "UTF-8 avec BOM"
    assert row.organism == "CAF"


def test_utf16_without_bom_is_rejected(tmp_path):
    path = canonical(tmp_path, SOPHIE, encoding="utf-16-le")
    with pytest.raises(FileRejected, match="encodage non reconnu"):
        open_flux(path)


def test_utf16_with_bom_is_read(tmp_path):
    # Export « Texte Unicode » d'Excel : UTF-16 avec BOM, séparé par des tabulations.
    text = CANONICAL_HEADER.replace(";", "\t") + "\r\n" + SOPHIE.replace(";", "\t") + "\r\n"
    path = write(tmp_path, "export.txt", text, encoding="utf-16")
    parsed, (row,) = rows_of(path)
    assert parsed.meta["encoding"] == "UTF-16" and parsed.meta["delimiter"] == "\t"
    assert row.first_name == "Sophie"


def test_binary_garbage_is_rejected(tmp_path):
    path = write(tmp_path, "flux.csv", bytes(range(256)) * 8)
    with pytest.raises(FileRejected, match="encodage non reconnu"):
        open_flux(path)


def test_empty_file_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="vide"):
        open_flux(write(tmp_path, "vide.csv", b""))
    with pytest.raises(FileRejected, match="vide"):
        open_flux(write(tmp_path, "blanc.csv", "\r\n  \r\n"))


def test_header_only_file_is_rejected(tmp_path):
    with pytest.raises(FileRejected) as exc:
        open_flux(canonical(tmp_path, ";;;", ""))
    assert "vide" in exc.value.message and "en-tête" in exc.value.message


def test_comma_separated_spreadsheet_with_excel_sep_line(tmp_path):
    path = write(tmp_path, "liste.csv", 'sep=,\nNom,Prénom,Téléphone\nDurand,"Anne, Marie",0612345678\n')
    parsed, (row,) = rows_of(path)
    assert parsed.format == "spreadsheet" and parsed.meta["delimiter"] == ","
    assert (row.row, row.last_name, row.first_name, row.phone) == (2, "Durand", "Anne, Marie", "0612345678")


def test_spreadsheet_with_snake_case_headers_stays_a_spreadsheet(tmp_path):
    path = write(
        tmp_path, "liste.csv", "nom;prenom;date_naissance;code_postal\nDurand;Anne;01/01/1990;26000\n"
    )
    parsed, (row,) = rows_of(path)
    assert parsed.format == "spreadsheet"
    assert row.birth_date == date(1990, 1, 1) and row.postal_code == "26000"


def test_unknown_layout_is_rejected_listing_the_headers(tmp_path):
    path = write(tmp_path, "autre.csv", "Référence;Montant;Date\nA1;12,5;01/01/2024\n")
    with pytest.raises(FileRejected) as exc:
        open_flux(path)
    message = exc.value.message
    assert message.startswith("Format non reconnu")
    assert "« Référence », « Montant », « Date »" in message
    assert "Nom" in message and "etat_droit" in message and "MATRICULE" in message


def test_spreadsheet_missing_name_and_duplicates(tmp_path):
    path = write(
        tmp_path,
        "liste.csv",
        "Nom;Prénom;Rôle;Tél;Tél;Date de naissance\nDurand;;concubin;0612;0712345678;1990-01-01\n;;;;;\n",
    )
    parsed, (row,) = rows_of(path)
    assert parsed.meta["columns"] == {
        "Nom": "nom",
        "Prénom": "prenom",
        "Rôle": "role",
        "Tél": "telephone",
        "Date de naissance": "date_naissance",
    }
    assert parsed.meta["unrecognised_columns"] == ["Tél (2)"]
    assert [(e.field, e.message) for e in row.errors] == [
        (
            "Rôle",
            "Ligne 2, colonne « Rôle » : rôle « concubin » non reconnu (attendu : DEM/demandeur ou CJT/conjoint).",
        ),
        ("Prénom", "Ligne 2, colonne « Prénom » : prénom manquant."),
    ]
    assert row.warnings[0].field == "Tél"
    assert row.extra == {"Tél (2)": "0712345678"}


# ---------------------------------------------------------------------------------------------------
# Détection par le contenu et format déclaré


def test_detection_ignores_the_extension(reference_data, tmp_path):
    xlsx_named_csv = tmp_path / "allocataires.csv"
    shutil.copy(reference_data / "rdv-insertion" / "fichier_usager_test.xlsx", xlsx_named_csv)
    parsed, rows = rows_of(xlsx_named_csv)
    assert parsed.meta["container"] == "xlsx" and rows[0].last_name == "Crespo"
    csv_named_xlsx = canonical(tmp_path, SOPHIE, name="flux.xlsx")
    parsed, rows = rows_of(csv_named_xlsx)
    assert parsed.format == "canonical-csv"


def test_declared_format_must_match_the_content(reference_data, tmp_path):
    xlsx = reference_data / "rdv-insertion" / "fichier_usager_test.xlsx"
    with pytest.raises(FileRejected, match="pas au format déclaré \\(CSV\\) : c'est un classeur Excel"):
        open_flux(xlsx, fmt="csv")
    csv_path = canonical(tmp_path, SOPHIE)
    with pytest.raises(FileRejected, match="pas au format déclaré \\(XLSX\\)"):
        open_flux(csv_path, fmt="xlsx")
    with pytest.raises(FileRejected, match="pas au format déclaré \\(XML CNAF\\)"):
        open_flux(csv_path, fmt="cnaf-xml")
    assert open_flux(csv_path, fmt="csv").format == "canonical-csv"
    assert open_flux(xlsx, fmt="xlsx").format == "spreadsheet"
    with pytest.raises(FileRejected, match="Format « ods » inconnu"):
        open_flux(csv_path, fmt="ods")


def test_cnaf_xml_is_dispatched(reference_data):
    parsed = open_flux(reference_data / "carnet-de-bord" / "caf_flux_RSABEM_mensuel_droit_ouvert.xml")
    assert parsed.format == "cnaf-xml"
    with pytest.raises(FileRejected, match="pas au format déclaré \\(CSV\\) : c'est un fichier XML"):
        open_flux(reference_data / "carnet-de-bord" / "caf_flux_RSABEM_mensuel_droit_ouvert.xml", fmt="csv")


def test_old_xls_and_broken_xlsx_are_rejected(tmp_path):
    xls = write(tmp_path, "vieux.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(FileRejected, match="97-2003"):
        open_flux(xls)
    broken = write(tmp_path, "casse.xlsx", b"PK\x03\x04" + b"garbage" * 20)
    with pytest.raises(FileRejected, match="Classeur illisible"):
        open_flux(broken)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="Fichier illisible"):
        open_flux(tmp_path / "absent.csv")


# ---------------------------------------------------------------------------------------------------
# Classeurs fabriqués : onglets, en-tête décalé, correspondance enregistrée


def _workbook(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_picks_the_sheet_with_a_recognised_header_below_title_rows(tmp_path):
    path = _workbook(
        tmp_path / "cd.xlsx",
        {
            "Lisez-moi": [["Export du logiciel social"], ["Ne pas modifier"]],
            "Nouveaux entrants": [
                ["Nouveaux entrants de mars"],
                [],
                [
                    "N° allocataire",
                    "Nom",
                    "Prénom",
                    "Date de naissance",
                    "NIR",
                    "Téléphone",
                    "Rôle",
                    "Civilité",
                ],
                [
                    "2055990",
                    "Fondue",
                    "Charlotte",
                    datetime(1998, 5, 25),
                    2900175056042.0,
                    612345678,
                    "DEMANDEUR",
                    "MME",
                ],
                [
                    "2055990",
                    "Fondue",
                    "Charlie",
                    "22-04-1997",
                    "2900175056042",
                    "06 12 34 56 79",
                    "Conjoint",
                    "Mr",
                ],
                [None, None, None, None, None, None, None, None],
                ["2055991", "Raclette", "Paul", 35886, None, None, "dem", "Monsieur"],
            ],
        },
    )
    parsed, rows = rows_of(path)
    assert parsed.meta["sheet"] == "Nouveaux entrants" and parsed.meta["header_row"] == 3
    assert [r.row for r in rows] == [4, 5, 7]
    charlotte, charlie, paul = rows
    assert charlotte.birth_date == date(1998, 5, 25)
    assert charlotte.nir == "290017505604204"
    assert charlotte.phone == "0612345678"
    assert (charlotte.role, charlotte.civility) == ("DEM", "MME")
    assert charlie.birth_date == date(1997, 4, 22)
    assert (charlie.role, charlie.civility, charlie.phone) == ("CJT", "M", "0612345679")
    assert paul.birth_date == date(1998, 4, 1)  # numéro de série Excel d'une cellule non formatée
    assert all_errors(rows) == []


def test_xlsx_with_saved_column_mapping(tmp_path):
    path = _workbook(
        tmp_path / "cd.xlsx",
        {
            "Synthèse": [["Nom", "Prénom"], ["x", "y"]],
            "Export IODAS": [
                ["Extraction du 01/03/2025"],
                ["Dossier", "Nom usuel", "Prénom usuel", "Nom", "Naissance", "Etat du droit"],
                ["2055990", "Fondue", "Charlotte", "Martin", "25/05/1998", "rsa_droit_ouvert_versable"],
            ],
        },
    )
    mapping = ColumnMapping(
        name="Export IODAS",
        columns={
            "matricule": "Dossier",
            "nom": "nom usuel",
            "prenom": "PRÉNOM USUEL",
            "date_naissance": "Naissance",
        },
        sheet_name="export iodas",
        header_row=2,
        organism="MSA",
    )
    parsed, (row,) = rows_of(path, mapping=mapping)
    assert parsed.format == "spreadsheet"
    assert parsed.meta["mapping"] == "Export IODAS"
    assert parsed.meta["columns"] == {
        "Dossier": "matricule",
        "Nom usuel": "nom",
        "Prénom usuel": "prenom",
        "Naissance": "date_naissance",
        "Etat du droit": "etat_droit",
    }
    assert parsed.meta["unrecognised_columns"] == ["Nom"]  # la correspondance l'emporte sur les synonymes
    assert (row.row, row.matricule, row.organism) == (3, "2055990", "MSA")
    assert (row.last_name, row.first_name, row.birth_date) == ("Fondue", "Charlotte", date(1998, 5, 25))
    assert row.extra == {"Nom": "Martin"}
    assert row.right_state == "2" and not row.has_right

    wrong_sheet = ColumnMapping(name="x", columns={}, sheet_name="Feuil9", header_row=1)
    with pytest.raises(FileRejected, match="Onglet « Feuil9 » absent du classeur"):
        open_flux(path, mapping=wrong_sheet)
    missing = ColumnMapping(
        name="Ancien export", columns={"nom": "NOM_USAGE"}, sheet_name="Export IODAS", header_row=2
    )
    with pytest.raises(FileRejected, match="« Ancien export » attend « NOM_USAGE » \\(Nom\\), absente"):
        open_flux(path, mapping=missing)


def test_xlsx_without_recognisable_header_is_rejected(tmp_path):
    path = _workbook(tmp_path / "autre.xlsx", {"Feuil1": [["Compte", "Montant"], ["512", 12.5]]})
    with pytest.raises(
        FileRejected,
        match="Format non reconnu \\(onglet « Feuil1 »\\) : colonnes trouvées « Compte », « Montant »",
    ):
        open_flux(path)
    header_only = _workbook(tmp_path / "entete.xlsx", {"Feuil1": [["Nom", "Prénom"]]})
    with pytest.raises(FileRejected, match="vide"):
        open_flux(header_only)


# ---------------------------------------------------------------------------------------------------
# Lecture en flux : la mémoire ne dépend pas du nombre de lignes


def test_large_csv_is_streamed(tmp_path):
    path = tmp_path / "gros.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(CANONICAL_HEADER + "\n")
        for i in range(3000):
            handle.write(SOPHIE.replace("2055990", f"{i:07d}") + "\n")
    next(open_flux(path).rows)  # imports et caches chargés avant la mesure
    tracemalloc.start()
    try:
        parsed = open_flux(path)
        assert parsed.meta["rows_total"] == 3000
        count = 0
        for row in parsed.rows:
            count += 1
            assert not row.errors
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000
    # Les 3 000 lignes gardées en mémoire en occuperaient environ 8 Mo ; lues en flux, moins de 2 Mo.
    assert peak < 2 * 1024 * 1024
