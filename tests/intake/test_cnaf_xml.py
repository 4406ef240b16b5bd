"""Lecture du flux XML bénéficiaires CNAF/MSA (vrsb0801) : exemples réels de carnet-de-bord, fichiers
abîmés, flux générés, et lecture en flux d'un gros fichier."""

import datetime
import json
import tracemalloc
from pathlib import Path

import pytest
from lxml import etree

from parcours.beneficiaries.nir import compute_key
from parcours.intake.codes import label, labels
from parcours.intake.formats.cnaf_xml import SCHEMA_FILE, read_cnaf_xml, sniff_cnaf_xml
from parcours.intake.formats.cnaf_xml_writer import write_cnaf_xml
from parcours.intake.records import FileRejected

CDB = "carnet-de-bord"
CLOSED_SUSPENDED = "caf_flux_RSABEM_mensuel_clos_suspendu.xml"
OPEN_RIGHT = "caf_flux_RSABEM_mensuel_droit_ouvert.xml"
INVALID_INSTRUCTION = "caf_flux_RSABEI_instruction_invalid.xml"

D = datetime.date


def read_all(path):
    """Ouvre le flux et lit toutes ses lignes (un rejet peut venir de l'en-tête ou de la lecture)."""
    parsed = read_cnaf_xml(path)
    return parsed, list(parsed.rows)


def rejection(path):
    with pytest.raises(FileRejected) as caught:
        read_all(path)
    return caught.value.message


def person(i, **overrides):
    values = {
        "role": "DEM",
        "civility": "MME",
        "last_name": "LEFÈVRE",
        "birth_name": "DURAND",
        "first_name": "Élodie",
        "birth_place": "NANTES",
        "birth_date": D(1985, 1, 2) + datetime.timedelta(days=i % 3000),
        "nir": f"2850144{i % 1_000_000:06d}",
        "france_travail_id": f"{i % 10_000_000:07d}X",
        "sdd": True,
    }
    values.update(overrides)
    return values


def foyer(i, persons=None, **overrides):
    values = {
        "organism": "CAF",
        "numorg": "441",
        "matricule": f"{i:07d}00000000",
        "department": "044",
        "rsa_number": f"{i:011d}",
        "requested_on": D(2021, 5, 3),
        "right_state": "2",
        "family_situation": "CEL",
        "address": {
            "street_number": str(1 + i % 150),
            "street_type": "RUE",
            "street_name": "DE LA FOSSE",
            "insee_code": "44109",
            "postal_code": "44000",
            "city": "NANTES",
        },
        "persons": persons if persons is not None else [person(i)],
    }
    values.update(overrides)
    return values


DTREF = D(2022, 2, 28)


def write(path, foyers, dtref=DTREF, **kwargs):
    write_cnaf_xml(path, foyers, dtref=dtref, dtcreaflux=dtref + datetime.timedelta(days=5), **kwargs)
    return path


# --------------------------------------------------------------------------------------------------
# Reconnaissance


def test_sniff_recognises_the_cnaf_flux_by_content(reference_data, tmp_path):
    for name in (CLOSED_SUSPENDED, OPEN_RIGHT, INVALID_INSTRUCTION):
        head = (reference_data / CDB / name).read_bytes()[:2048]
        assert sniff_cnaf_xml(head), name
        assert sniff_cnaf_xml(b"\xef\xbb\xbf" + head), "avec BOM"
    generated = write(tmp_path / "flux.xml", [foyer(1)])
    assert sniff_cnaf_xml(generated.read_bytes()[:1024])

    assert not sniff_cnaf_xml(b"")
    assert not sniff_cnaf_xml(
        (reference_data / CDB / "import_beneficiaires_template.csv").read_bytes()[:2048]
    )
    assert not sniff_cnaf_xml(b"PK\x03\x04\x14\x00\x06\x00")  # classeur XLSX
    assert not sniff_cnaf_xml(b'<?xml version="1.0"?><Racine><Autre/></Racine>')
    assert not sniff_cnaf_xml(b'<?xml version="1.0"?><html><body>IdentificationFlux</body></html>')


# --------------------------------------------------------------------------------------------------
# Exemples réels


def test_monthly_sample_matches_what_carnet_de_bord_extracts(reference_data):
    parsed, rows = read_all(reference_data / CDB / CLOSED_SUSPENDED)
    expected = [
        json.loads(item)
        for item in json.loads((reference_data / CDB / "caf_flux_RSABEM_parsed_expected.json").read_text())
    ]

    by_matricule = {}
    for row in rows:
        by_matricule.setdefault(row.matricule, []).append(row)
    assert list(by_matricule) == [item["matricule"] for item in expected]
    for item in expected:
        household = by_matricule[item["matricule"]]
        assert [(row.nir[:13], row.sdd) for row in household] == [
            (person["nir"], person["soumis_droit_et_devoir"]) for person in item["beneficiaries"]
        ]
        for row in household:
            assert row.right_state == item["etat_droit_rsa"]
            assert row.suspension_reason == item["motif_suspension_versement_rsa"]
            assert row.closure_reason == item["motif_cloture_rsa"]
            assert row.closed_on == (
                D.fromisoformat(item["date_cloture_rsa"]) if item["date_cloture_rsa"] else None
            )
            assert row.extra["homeless"] is (item["sans_domicile_fixe"] == "1")


def test_monthly_sample_identity_right_and_address(reference_data):
    path = reference_data / CDB / CLOSED_SUSPENDED
    parsed, rows = read_all(path)

    assert parsed.format == "cnaf-xml"
    assert parsed.reference_date == D(2022, 2, 28)  # DTREF
    assert parsed.flux_created_on == D(2022, 3, 5)  # DTCREAFLUX
    assert parsed.meta["flux_type"] == "M"
    assert parsed.meta["application"] == "CRI"
    assert "mensuel" in parsed.description and "28/02/2022" in parsed.description
    assert parsed.meta["households_read"] == 2 and parsed.meta["persons_read"] == 3

    tifour, keller, bullock = rows
    assert (tifour.civility, tifour.last_name, tifour.birth_name, tifour.first_name) == (
        "MME",
        "TIFOUR",
        "TIFOUR",
        "SOPHIE",
    )
    assert (keller.civility, keller.first_name, keller.birth_date) == ("M", "NOEL", D(1977, 3, 23))
    assert tifour.birth_date == D(1982, 2, 1)
    # NIR sur 13 caractères dans le flux : la clé est calculée.
    assert tifour.nir == "2820251108030" + f"{compute_key('2820251108030'):02d}"
    assert all(row.role == "CJT" for row in rows)  # ROLEPERS de la prestation RSA
    assert {row.organism for row in rows} == {"CAF"}
    assert tifour.rsa_number == "01024041052"
    assert tifour.requested_on == D(2018, 8, 6)
    # Pas de détail de calcul dans ce flux : l'ouverture du droit retombe sur la date de demande.
    assert tifour.opened_on == D(2018, 8, 6)
    assert tifour.extra["opened_on_source"] == "DTDEMRSA"
    assert tifour.france_travail_id == "1253359X"
    assert tifour.cnaf_new_entrant is None  # TOPPERSENTDRODEVORSA absent
    # SAL jusqu'au 19/12/2021 puis chômage : pas d'activité rémunérée au 28/02/2022.
    assert tifour.activity_income is False

    assert (tifour.right_state, tifour.closure_reason, tifour.closed_on) == ("5", "PCG", D(2021, 11, 30))
    assert (bullock.right_state, bullock.suspension_reason, bullock.suspended_since) == (
        "4",
        "06",
        D(2021, 11, 1),
    )
    assert bullock.closure_reason is None and bullock.closed_on is None

    assert tifour.address == "25 RUE HENRI BARBUSSE"
    assert (tifour.postal_code, tifour.city, tifour.insee_code) == ("92300", "LEVALLOIS PERRET", "92044")
    assert tifour.extra["family_situation"] == "CEL"
    assert tifour.extra["numorg"] == "521"
    assert tifour.extra["flux_type"] == "M"
    assert json.dumps(tifour.extra)  # sérialisable tel quel dans un rapport JSON

    lines = path.read_text(encoding="cp1252").splitlines()
    for row in rows:
        assert lines[row.row - 1].strip() == "<Personne>"
        assert not row.errors and not row.warnings


def test_open_right_sample(reference_data):
    parsed, rows = read_all(reference_data / CDB / OPEN_RIGHT)
    assert parsed.reference_date == D(2022, 2, 28)
    [row] = rows
    assert (row.matricule, row.right_state, row.sdd) == ("208956400000000", "2", True)
    assert row.suspension_reason is None and row.closure_reason is None
    assert row.has_right


def test_invalid_instruction_flux_is_rejected_naming_the_missing_element(reference_data):
    parsed = read_cnaf_xml(reference_data / CDB / INVALID_INSTRUCTION)
    assert parsed.meta["flux_type"] == "I"
    assert parsed.reference_date == D(2021, 12, 24)
    seen = []
    with pytest.raises(FileRejected) as caught:
        for row in parsed.rows:
            seen.append(row)
    assert seen == []  # le foyer non conforme n'a produit aucune ligne
    message = caught.value.message
    assert "DonneesAdministratives" in message
    assert "ligne 12" in message
    assert "034614500000000" in message
    assert "schéma" in message


# --------------------------------------------------------------------------------------------------
# Fichiers abîmés


def test_truncated_file_is_rejected_with_its_line(reference_data, tmp_path):
    content = (reference_data / CDB / CLOSED_SUSPENDED).read_bytes()
    path = tmp_path / "tronque.xml"
    path.write_bytes(content[: len(content) // 2])
    last_line = path.read_bytes().count(b"\n") + 1
    message = rejection(path)
    assert f"ligne {last_line}" in message
    assert "tronqué" in message


def test_file_cut_between_two_households_is_rejected(reference_data, tmp_path):
    content = (reference_data / CDB / CLOSED_SUSPENDED).read_bytes()
    cut = content.index(b"</InfosFoyerRSA>") + len(b"</InfosFoyerRSA>\n")
    path = tmp_path / "coupe.xml"
    path.write_bytes(content[:cut])
    parsed = read_cnaf_xml(path)
    rows = []
    with pytest.raises(FileRejected, match=r"ligne \d+"):
        for row in parsed.rows:
            rows.append(row)
    assert len(rows) == 2  # le premier foyer, complet, a été lu avant le rejet


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "vide"),
        (b"   \n\n", "vide"),
        ("nom;prénom;date_naissance\nDUPONT;Léa;01/02/1985\n".encode("cp1252"), "n'est pas un document XML"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "n'est pas un document XML"),
        (b'<?xml version="1.0"?>\n<Flux><IdentificationFlux/></Flux>\n', "racine « Flux »"),
        (b'<?xml version="1.0"?>\n<Racine>\n<InfosFoyerRSA/>\n</Racine>\n', "IdentificationFlux"),
    ],
)
def test_unusable_files_are_rejected_in_french(tmp_path, content, expected):
    path = tmp_path / "flux.xml"
    path.write_bytes(content)
    assert expected in rejection(path)


def test_file_whose_declared_encoding_lies_is_rejected_clearly(reference_data, tmp_path):
    content = (reference_data / CDB / OPEN_RIGHT).read_bytes()
    lying = content.replace(b'encoding="windows-1252"', b'encoding="UTF-8"').replace(
        b"BULLOCK", b"BULL\xc9CK"
    )
    path = tmp_path / "menteur.xml"
    path.write_bytes(lying)
    message = rejection(path)
    assert "encodage" in message and "UTF-8" in message
    assert "ligne 32" in message  # <NOM>BULLÉCK</NOM>, première occurrence


def test_schema_violation_in_the_middle_of_the_file_names_line_and_element(tmp_path):
    foyers = [foyer(i) for i in range(40)]
    foyers[25]["persons"][0]["birth_date"] = "1985-13-45"
    path = write(tmp_path / "flux.xml", foyers)
    bad_line = next(
        number
        for number, text in enumerate(path.read_text(encoding="cp1252").splitlines(), start=1)
        if "1985-13-45" in text
    )
    parsed = read_cnaf_xml(path)
    rows = []
    with pytest.raises(FileRejected) as caught:
        for row in parsed.rows:
            rows.append(row)
    assert len(rows) == 25  # lecture paresseuse : les foyers précédents ont été lus
    message = caught.value.message
    assert f"ligne {bad_line}" in message
    assert "DTNAI" in message and "1985-13-45" in message
    assert foyers[25]["matricule"] in message


def test_unexpected_element_under_the_root_is_rejected(tmp_path):
    path = write(tmp_path / "flux.xml", [foyer(1), foyer(2)])
    text = path.read_text(encoding="cp1252").replace(
        "\t<TransmissionFlux>", "\t<Intrus>x</Intrus>\n\t<TransmissionFlux>"
    )
    path.write_text(text, encoding="cp1252")
    assert "Intrus" in rejection(path)


# --------------------------------------------------------------------------------------------------
# Flux générés


def test_generated_flux_is_valid_and_round_trips(tmp_path):
    foyers = [
        foyer(
            1,
            persons=[
                person(
                    1,
                    role="DEM",
                    civility="MLE",
                    cnaf_new_entrant=True,
                    activities=[{"code": "SAL", "start": D(2022, 1, 1), "end": None}],
                ),
                person(
                    2,
                    role="CJT",
                    civility="M",
                    first_name="Paul",
                    nir=None,
                    sdd=False,
                    activities=[{"code": "CHO", "start": D(2021, 1, 1)}],
                ),
                person(3, role="ENF", civility=None, first_name="Zoé", nir=None, sdd=None),
            ],
            opened_on=D(2021, 5, 1),
            homeless=True,
            anomalies=["Adresse incomplète"],
        ),
        foyer(2, right_state="3", right_suspension_reason="GL", right_suspended_since=D(2021, 10, 1)),
        foyer(3, right_state="6", closure_reason="RFD", closed_on=D(2021, 12, 31)),
        foyer(4, right_state="1", refusal_reason="PCG", refused_on=D(2022, 1, 15)),
    ]
    path = write(tmp_path / "flux.xml", foyers, typeflux="I")
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="windows-1252"?>')
    assert "LEFÈVRE".encode("cp1252") in path.read_bytes()
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))
    assert schema.validate(etree.parse(str(path))), schema.error_log

    parsed, rows = read_all(path)
    assert parsed.meta["flux_type"] == "I"
    assert parsed.meta["households_declared"] == 4
    demandeur, conjoint, enfant, suspended, closed, refused = rows

    assert (demandeur.role, demandeur.civility, demandeur.last_name, demandeur.first_name) == (
        "DEM",
        "MME",
        "LEFÈVRE",
        "Élodie",
    )
    assert demandeur.cnaf_new_entrant is True
    assert demandeur.activity_income is True  # salariée depuis le 01/01/2022
    assert demandeur.opened_on == D(2021, 5, 1) and demandeur.extra["opened_on_source"] == "DDNATDRO"
    assert demandeur.extra["homeless"] is True
    assert demandeur.extra["anomalies"] == ["Adresse incomplète"]
    assert demandeur.address == "2 RUE DE LA FOSSE"
    assert (conjoint.role, conjoint.civility, conjoint.nir, conjoint.sdd) == ("CJT", "M", None, False)
    assert conjoint.activity_income is False  # chômage : pas une activité rémunérée
    assert (enfant.role, enfant.civility, enfant.sdd) == ("ENF", "MME", False)  # SEXE 2 faute de QUAL
    assert enfant.extra["sdd_flag_missing"] is True

    assert (suspended.right_state, suspended.suspension_reason, suspended.suspended_since) == (
        "3",
        "GL",
        D(2021, 10, 1),
    )
    assert (closed.right_state, closed.closure_reason, closed.closed_on) == ("6", "RFD", D(2021, 12, 31))
    assert (refused.extra["refusal_reason"], refused.extra["refused_on"]) == ("PCG", "2022-01-15")


def test_bad_nir_key_is_a_row_error_on_field_nir(tmp_path):
    body = "2850144000123"
    wrong_key = (compute_key(body) + 1) % 97 or 1
    path = write(
        tmp_path / "flux.xml",
        [foyer(1), foyer(2, persons=[person(2, nir=f"{body}{wrong_key:02d}")]), foyer(3)],
    )
    parsed, rows = read_all(path)
    assert [bool(row.errors) for row in rows] == [False, True, False]
    [issue] = rows[1].errors
    assert issue.field == "NIR"
    assert issue.row == rows[1].row
    assert "clé" in issue.message
    assert rows[1].nir is None
    assert rows[0].nir == f"2850144000001{compute_key('2850144000001'):02d}"


# --------------------------------------------------------------------------------------------------
# Gros fichier : lecture en flux


def _rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def test_twenty_thousand_households_are_read_lazily_with_flat_memory(tmp_path):
    count = 20_000

    def households():
        for i in range(count):
            persons = [person(i)]
            if i % 4 == 0:
                persons.append(person(i + 1_000_000, role="CJT", civility="M", first_name="Paul", sdd=False))
            yield foyer(i, persons=persons)

    path = write(tmp_path / "gros.xml", households())
    size_mb = path.stat().st_size / 1e6
    assert size_mb > 40

    parsed = read_cnaf_xml(path)
    rss_before = _rss_mb()
    rss_peak = rss_before
    tracemalloc.start()
    try:
        read = 0
        for row in parsed.rows:  # noqa: B007 (la dernière ligne est vérifiée après la boucle)
            read += 1
            if read % 1000 == 0 and rss_before is not None:
                rss_peak = max(rss_peak, _rss_mb())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read == count + count // 4
    assert parsed.meta["households_read"] == count
    assert row.matricule == f"{count - 1:07d}00000000" and row.row > 65_535  # numéros de ligne exacts
    # Objets Python : quelques centaines de Ko, quelle que soit la taille du fichier.
    assert peak / 1e6 < 30 < size_mb
    # Arbre libxml2 (invisible de tracemalloc) : charger le fichier entier coûterait plusieurs centaines
    # de Mo ; lu en flux, la mémoire du processus ne bouge presque pas.
    if rss_before is not None:
        assert rss_peak - rss_before < 30


# --------------------------------------------------------------------------------------------------
# Données embarquées


def test_embedded_schema_is_the_reference_one(reference_data):
    assert SCHEMA_FILE.read_bytes() == (reference_data / CDB / "caf_flux_vrsb0801_schema.xsd").read_bytes()
    assert Path(SCHEMA_FILE).is_relative_to(Path(__file__).resolve().parents[2] / "parcours")


def test_code_labels():
    assert label("ETATDOSRSA", "2") == "Droit ouvert et versable"
    assert label("etatdosrsa", 5) == "Droit clos"
    assert label("MOTISUSVERSRSA", "06") == "Déclaration Trimestrielle Ressources non fournie"
    assert label("MOTICLORSA", "PCG").startswith("Clôture suite décision du Président")
    assert label("MOTISUSDRORSA", "GL").endswith("action non engagée")
    assert label("ROLEPERS", "CJT") == "Conjoint du demandeur"
    assert label("ACT", "SAL") == "Salarié(e)"
    assert label("TOPPERSDRODEVORSA", True) == "Personne soumise aux droits et devoirs"
    assert label("ETATDOSRSA", "9") == "9"  # code inconnu : rendu tel quel
    assert label("INCONNUE", "X") == "X"
    assert label("ETATDOSRSA", None) == ""
    assert set(labels("ETATDOSRSA")) >= {"0", "1", "2", "3", "4", "5", "6"}
