"""Lecture des valeurs de cellules : dates, téléphones, e-mails, civilités, rôles, booléens, codes."""

from datetime import date, datetime

import pytest

from parcours.intake.formats import values as v


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("N°\nTéléphones", "n telephones"),
        ("Date de\nNaissance", "date de naissance"),
        ("ID IODAS\t", "id iodas"),
        ("Nom*", "nom"),
        ("Identifiant dans le SI*", "identifiant dans le si"),
        ("Numéro allocataire CAF/MSA", "numero allocataire caf msa"),
        ("  Prénom   bénéficiaire ", "prenom beneficiaire"),
        ("date_naissance", "date naissance"),
        ("DATE DEBUT DROITS - DEVOIRS", "date debut droits devoirs"),
        (None, ""),
    ],
)
def test_normalize_header(raw, expected):
    assert v.normalize_header(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25/05/1998", date(1998, 5, 25)),
        ("5/1/1998", date(1998, 1, 5)),
        ("22-04-1997", date(1997, 4, 22)),
        ("22.04.1997", date(1997, 4, 22)),
        ("1997-04-22", date(1997, 4, 22)),
        ("1997-04-22 00:00:00", date(1997, 4, 22)),
        ("1997-04-22T10:30:00", date(1997, 4, 22)),
        (" 22/04/1997 ", date(1997, 4, 22)),
        (datetime(1980, 11, 21, 0, 0), date(1980, 11, 21)),
        (date(1980, 11, 21), date(1980, 11, 21)),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw, expected):
    assert v.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2020", "2020-13-01", "25/05/98", "mai 1998", "1998/05/25", "12345"])
def test_parse_date_rejects_with_a_french_message(raw):
    with pytest.raises(ValueError, match="date"):
        v.parse_date(raw)


def test_parse_date_reads_excel_serial_numbers_only_when_asked():
    assert v.parse_date(29587, excel_serial=True) == date(1981, 1, 1)
    with pytest.raises(ValueError):
        v.parse_date(29587)


def test_check_birth_date():
    today = date(2025, 6, 1)
    assert v.check_birth_date(date(1980, 1, 1), today) == date(1980, 1, 1)
    with pytest.raises(ValueError, match="futur"):
        v.check_birth_date(date(2025, 6, 2), today)
    with pytest.raises(ValueError, match="1900"):
        v.check_birth_date(date(1899, 12, 31), today)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0601234567", "0601234567"),
        ("06 01 23 45 67", "0601234567"),
        ("06.01.23.45.67", "0601234567"),
        ("06-01-23-45-67", "0601234567"),
        ("0601234567, 071234567", "0601234567"),
        ("071234567, 0601234567", "0601234567"),  # le premier numéro valide
        ("06 01 23 45 67 / 07 12 34 56 78", "0601234567"),
        (620022002, "0620022002"),  # nombre Excel : zéro de tête perdu
        (620022002.0, "0620022002"),
        ("698943255", "0698943255"),
        ("+33 6 12 34 56 78", "0612345678"),
        ("0033612345678", "0612345678"),
        ("+32 470 12 34 56", "+32470123456"),
        ("", None),
        (None, None),
    ],
)
def test_parse_phone(raw, expected):
    assert v.parse_phone(raw) == expected


@pytest.mark.parametrize("raw", ["071234567", "123", "pas de téléphone", "0012", "06012345678901"])
def test_parse_phone_rejects(raw):
    with pytest.raises(ValueError, match="téléphone"):
        v.parse_phone(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("charlotte@laposte.fr", "charlotte@laposte.fr"),
        (" Hernan@Crespo.COM ", "hernan@crespo.com"),
        ("a@example.fr; b@example.fr", "a@example.fr"),
        ("pas-une-adresse, b@example.fr", "b@example.fr"),
        ("mailto:x@example.fr", "x@example.fr"),
        ("", None),
    ],
)
def test_parse_email(raw, expected):
    assert v.parse_email(raw) == expected


@pytest.mark.parametrize("raw", ["hernan.crespo", "a@b", "inès.dupont@example.com", "@example.fr"])
def test_parse_email_rejects(raw):
    with pytest.raises(ValueError, match="e-mail"):
        v.parse_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Monsieur", "M"),
        ("MONSIEUR", "M"),
        ("M.", "M"),
        ("M", "M"),
        ("MR", "M"),
        ("Mr.", "M"),
        ("Madame", "MME"),
        ("MADAME", "MME"),
        ("Mme", "MME"),
        ("MME", "MME"),
        ("Mlle", "MME"),
        ("F", "MME"),
        (None, None),
    ],
)
def test_parse_civility(raw, expected):
    assert v.parse_civility(raw) == expected


def test_parse_civility_rejects():
    with pytest.raises(ValueError, match="civilité « Docteur » non reconnue"):
        v.parse_civility("Docteur")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DEM", "DEM"),
        ("dem", "DEM"),
        ("Demandeur", "DEM"),
        ("DEMANDEUR", "DEM"),
        ("cjt", "CJT"),
        ("conjoint", "CJT"),
        ("Conjointe", "CJT"),
        ("enfant", "ENF"),
        ("", None),
    ],
)
def test_parse_role(raw, expected):
    assert v.parse_role(raw) == expected


def test_parse_role_rejects():
    with pytest.raises(ValueError, match="rôle « voisin » non reconnu"):
        v.parse_role("voisin")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2", "2"),
        ("0", "0"),
        (2, "2"),
        (2.0, "2"),
        ("rsa_droit_ouvert_versable", "2"),
        ("rsa_droit_ouvert_et_suspendu", "3"),
        ("rsa_droit_ouvert_versement_suspendu", "4"),
        ("rsa_clos", "5"),
        ("rsa_clos_anterieur", "6"),
        ("rsa_demande_en_attente", "0"),
        ("rsa_refuse", "1"),
        ("Droit ouvert et versable", "2"),
        ("", None),
    ],
)
def test_parse_right_state(raw, expected):
    assert v.parse_right_state(raw) == expected


@pytest.mark.parametrize("raw", ["7", "9", "ouvert", "-1"])
def test_parse_right_state_rejects(raw):
    with pytest.raises(ValueError, match="état du droit"):
        v.parse_right_state(raw)


def test_parse_bool():
    assert v.parse_bool("1", strict=True) is True
    assert v.parse_bool("0", strict=True) is False
    assert v.parse_bool("", strict=True) is None
    with pytest.raises(ValueError, match="attendu : 0 ou 1"):
        v.parse_bool("oui", strict=True)
    assert v.parse_bool("Oui") is True
    assert v.parse_bool("NON") is False
    assert v.parse_bool(1) is True
    with pytest.raises(ValueError):
        v.parse_bool("peut-être")


def test_parse_organism():
    assert v.parse_organism("caf") == "CAF"
    assert v.parse_organism("MSA") == "MSA"
    with pytest.raises(ValueError, match="organisme « MDPH » inconnu"):
        v.parse_organism("MDPH")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("26000 Valence", ("26000", "Valence")),
        ("75007 PARIS ", ("75007", "PARIS")),
        ("59402 Nice", ("59402", "Nice")),
        ("26 150 Die", ("26150", "Die")),
        ("26000 - Valence", ("26000", "Valence")),
        ("Valence 26000", ("26000", "Valence")),
        ("Valence (26000)", ("26000", "Valence")),
        ("26000", ("26000", None)),
        (26000, ("26000", None)),
        ("Valence", (None, "Valence")),
        ("1000 Bourg-en-Bresse", ("01000", "Bourg-en-Bresse")),
        (None, (None, None)),
    ],
)
def test_parse_postal_city(raw, expected):
    assert v.parse_postal_city(raw) == expected


def test_parse_postal_city_rejects_garbage():
    with pytest.raises(ValueError, match="code postal"):
        v.parse_postal_city("123 Valence")


def test_postal_and_insee_codes():
    assert v.parse_postal_code("61120") == "61120"
    assert v.parse_postal_code(1000) == "01000"
    assert v.parse_postal_code(61120.0) == "61120"
    with pytest.raises(ValueError, match="code postal « 6112 0X » invalide"):
        v.parse_postal_code("6112 0X")
    assert v.parse_insee_code("2A004") == "2A004"
    assert v.parse_insee_code("92044") == "92044"
    with pytest.raises(ValueError, match="INSEE"):
        v.parse_insee_code("920")


def test_parse_nir_computes_the_key_of_spreadsheet_numbers():
    assert v.parse_nir(1803331476872) == "180333147687266"
    assert v.parse_nir(1803331476872.0) == "180333147687266"
    assert v.parse_nir("1803331476872.0") == "180333147687266"
    assert v.parse_nir("2 82 02 51 108 030 94") == "282025110803094"
    assert v.parse_nir("") is None
    with pytest.raises(ValueError, match="clé du NIR incorrecte"):
        v.parse_nir("282025110803095")


def test_clean_text():
    assert v.clean_text("  Jean-Paul \n ") == "Jean-Paul"
    assert v.clean_text(8383) == "8383"
    assert v.clean_text(8383.0) == "8383"
    assert v.clean_text(datetime(2024, 1, 5)) == "05/01/2024"
    assert v.clean_text("   ") is None
    assert v.clean_text(None) is None
