"""Import par ensembles : le nombre de requêtes ne dépend pas de la taille du fichier, et les lignes traitées en SQL
donnent le même résultat que celles rapprochées ligne à ligne dans le même fichier."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.beneficiaries.models import Beneficiary, FollowUp, RightSnapshot, RsaRight
from parcours.journal.models import Event, EventKind
from tests.factories import make_nir
from tests.intake.test_import_engine import departement, person, run, write  # noqa: F401

pytestmark = pytest.mark.django_db


def family(i, **over):
    """Un foyer d'une personne, repérée par son NIR ; ``over`` : colonnes changées."""
    values = {
        "nir": make_nir(100 + i, sex=1 + i % 2),
        "matricule": f"M{i:05d}",
        "prenom": f"Prénom{i}",
        "email": f"personne{i}@example.fr",
        "telephone": "",
        "id_departement": f"D{i:05d}",
    }
    values.update(over)
    return person(**values)


def queries_for(tmp_path, departement, size, start, year):  # noqa: F811
    """Premier import de ``size`` personnes nouvelles, ré-import identique, mois suivant : requêtes de chacun."""
    people = range(start, start + size)
    first = write(tmp_path, [family(i) for i in people], name=f"m1-{size}.csv")
    second = write(
        tmp_path, [family(i, etat_droit="3" if i % 4 == 0 else "2") for i in people], name=f"m2-{size}.csv"
    )
    counts = []
    for path, received_on in (
        (first, datetime.date(year, 1, 5)),
        (first, datetime.date(year, 1, 5)),
        (second, datetime.date(year, 2, 5)),
    ):
        with CaptureQueriesContext(connection) as captured:
            report = run(path, departement, received_on)
        assert not report.rejected, report.message
        counts.append(len(captured))
    return counts


def test_query_count_does_not_grow_with_the_file(tmp_path, departement):  # noqa: F811
    small = queries_for(tmp_path, departement, 20, start=0, year=2026)
    large = queries_for(tmp_path, departement, 120, start=100, year=2027)
    assert large == small


def test_rows_matched_in_sql_and_row_by_row_in_the_same_file(tmp_path, departement):  # noqa: F811
    """Un même fichier mêle des lignes simples (NIR connu, traitées en SQL) et des lignes à rapprocher ligne à
    ligne (sans NIR : identifiant Département) ; suivi en cours et radiation : le suivi est clos, l'événement écrit."""
    rows = [family(i) for i in range(6)]
    run(write(tmp_path, rows, name="m1.csv"), departement, datetime.date(2026, 1, 5))
    closed = Beneficiary.objects.get(nir=make_nir(101, sex=2))
    FollowUp.objects.create(
        beneficiary=closed, organisation=departement, started_on=datetime.date(2026, 1, 10)
    )
    later = [
        family(0, etat_droit="3"),
        family(1, etat_droit="5"),  # radiation : suivi clos
        family(2, nir="", nom="Nouveau-Nom"),  # sans NIR : rapprochée par l'identifiant Département
        family(3),
        family(4, soumis_droits_devoirs="0"),
        family(6),  # nouvelle personne
    ]
    report = run(write(tmp_path, later, name="m2.csv"), departement, datetime.date(2026, 2, 5))

    assert (report.created, report.updated, report.unchanged) == (1, 4, 1)
    assert Beneficiary.objects.get(nir=make_nir(100, sex=1)).rsa_state == "3"
    assert Beneficiary.objects.get(departement_internal_id="D00002").last_name == "Nouveau-Nom"
    assert Beneficiary.objects.get(nir=make_nir(104, sex=1)).is_sdd is False
    follow_up = FollowUp.objects.get(beneficiary=closed)
    assert follow_up.ended_on == datetime.date(2026, 2, 5)
    assert Event.objects.filter(beneficiary=closed, kind=EventKind.FOLLOW_UP_CLOSED).count() == 1
    assert Event.objects.filter(beneficiary=closed, kind=EventKind.RIGHT_CLOSED).count() == 1
    assert RightSnapshot.objects.filter(reference_date=datetime.date(2026, 2, 5)).count() == 6


# Rapprochement dans l'ordre du fichier, quel que soit le découpage en paquets (lignes en SQL par paquets de
# CHUNK_SIZE, lignes ligne à ligne par paquets de ROW_CHUNK_SIZE) : une ligne voit les personnes créées ou modifiées
# par les lignes qui la précèdent, dans le même paquet comme dans un paquet précédent.
CHUNKINGS = [(25_000, 1000), (1, 1), (2, 1)]


@pytest.fixture(params=CHUNKINGS, ids=lambda c: f"paquets-{c[0]}-{c[1]}")
def chunking(request, monkeypatch):
    from parcours.intake import services

    monkeypatch.setattr(services, "CHUNK_SIZE", request.param[0])
    monkeypatch.setattr(services, "ROW_CHUNK_SIZE", request.param[1])
    return request.param


def test_row_matches_a_person_created_earlier_in_the_same_chunk(tmp_path, departement, chunking):  # noqa: F811
    """Cas du Département de démonstration (150 000 personnes) : trois « Kevin » au même courriel. La ligne sans NIR
    (2) désigne par courriel + prénom la personne créée par la ligne 1, même dans le même paquet (avant : seulement
    si la ligne 1 était dans un paquet précédent, l'index du paquet ne connaissant pas le courriel d'une personne
    qu'il venait de créer). La ligne 3 a un autre NIR : nouvelle personne, jamais fusionnée."""
    email = "kevin.gauthier@example.com"
    rows = [
        family(1, prenom="Kevin", email=email, id_departement="D1"),
        family(2, prenom="Kevin", email=email, id_departement="D2", nir=""),
        family(3, prenom="Kevin", email=email, id_departement=""),
    ]
    report = run(write(tmp_path, rows), departement, datetime.date(2026, 1, 5), initial_stock=True)

    assert report.as_json()["warnings"] == []
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert Beneficiary.objects.count() == 2
    first = Beneficiary.objects.get(nir=make_nir(101, sex=2))
    assert (first.departement_internal_id, first.household.matricule) == ("D2", "M00002")
    third = Beneficiary.objects.get(nir=make_nir(103, sex=2))
    assert (third.departement_internal_id, third.household.matricule) == ("", "M00003")


def test_row_matches_a_phone_just_changed_by_an_earlier_row(tmp_path, departement, chunking):  # noqa: F811
    """Une personne connue change de téléphone (ligne simple) ; plus loin, une ligne sans NIR avec ce téléphone et
    ce prénom la désigne : la ligne simple doit passer ligne à ligne, avant elle (et non après, en SQL)."""
    run(
        write(tmp_path, [family(1, prenom="Kevin", telephone="0639980001")], name="m1.csv"),
        departement,
        datetime.date(2026, 1, 5),
        initial_stock=True,
    )
    rows = [
        family(1, prenom="Kevin", telephone="0639980002"),
        family(2, prenom="Kevin", telephone="0639980002", nir="", email="", id_departement=""),
    ]
    report = run(write(tmp_path, rows, name="m2.csv"), departement, datetime.date(2026, 2, 5))

    assert report.as_json()["warnings"] == []
    assert report.created == 0
    assert Beneficiary.objects.count() == 1
    assert Beneficiary.objects.get().household.matricule == "M00002"


def test_same_person_twice_in_a_file_last_row_wins(tmp_path, departement, chunking):  # noqa: F811
    """Deux lignes désignent la même personne à la même date : la dernière l'emporte, pour l'historique comme pour
    l'état courant (avant : dans un même paquet, l'état courant restait celui de la première ligne)."""
    email = "samira.faure@example.com"
    rows = [
        family(1, prenom="Samira", email=email, nir="", soumis_droits_devoirs="0"),
        family(2, prenom="Samira", email=email, id_departement="", soumis_droits_devoirs="1"),
    ]
    report = run(write(tmp_path, rows), departement, datetime.date(2026, 1, 5), initial_stock=True)

    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    samira = Beneficiary.objects.get()
    assert samira.is_sdd is True
    assert RightSnapshot.objects.get(beneficiary=samira).sdd is True


def test_row_known_at_chunk_start_but_moved_by_an_earlier_row(tmp_path, departement, chunking):  # noqa: F811
    """Ligne sans NIR dont l'identifiant Département et le foyer désignaient, en début de paquet, une personne qu'une
    ligne précédente du même fichier reprend (autre identifiant, autre foyer) : elle arrive au courriel + prénom, et
    ses candidats sont lus en base à ce moment. Deux personnes correspondent : ambiguïté signalée, comme si les deux
    lignes étaient dans des paquets différents."""
    email = "gwenaelle.pichon@example.com"
    first = family(1, prenom="Gwenaëlle", email=email, id_departement="D1")
    second = family(2, prenom="Gwenaëlle", email=email, id_departement="D2", nir="", role="CJT")
    third = family(3, prenom="Gwenaëlle", email=email, id_departement="")
    run(
        write(tmp_path, [first, second, third], name="m1.csv"),
        departement,
        datetime.date(2026, 1, 5),
        initial_stock=True,
    )
    assert Beneficiary.objects.count() == 2  # la ligne 2 a rejoint la personne de la ligne 1

    report = run(
        write(tmp_path, [first, second, third], name="m2.csv"), departement, datetime.date(2026, 2, 5)
    )

    ambiguous = [w for w in report.warnings if "ambigu" in w["message"]]
    assert [w["row"] for w in ambiguous] == [3]
    person = Beneficiary.objects.get(nir=make_nir(101, sex=2))
    assert (person.departement_internal_id, person.household.matricule) == ("D1", "M00001")


def test_identical_reimport_writes_nothing(tmp_path, departement):  # noqa: F811
    """Ré-import du même fichier : les lignes déjà importées (historique identique à la date, identité inchangée) sont
    écartées dès le rapprochement : personnes, droits, historiques et journal restent tels quels. Une ligne dont seule
    l'identité change (nom) est mise à jour, sans nouvel historique ni événement de droit."""
    rows = [family(i) for i in range(5)]
    received_on = datetime.date(2026, 1, 5)
    run(write(tmp_path, rows, name="m1.csv"), departement, received_on)

    def state():
        return (
            sorted(Beneficiary.objects.values_list("pk", "updated_at", "last_flux_on", "rsa_state")),
            sorted(RsaRight.objects.values_list("pk", "updated_at", "last_reference_date")),
            sorted(RightSnapshot.objects.values_list("pk", "batch_id", "received_on")),
            Event.objects.count(),
        )

    before = state()
    report = run(write(tmp_path, rows, name="m1-bis.csv"), departement, received_on)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert state() == before

    renamed = [family(0, nom="Nouveau-Nom"), *rows[1:]]
    report = run(write(tmp_path, renamed, name="m1-ter.csv"), departement, received_on)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    assert Beneficiary.objects.get(nir=make_nir(100, sex=1)).last_name == "Nouveau-Nom"
    after = state()
    assert after[1:] == before[1:]  # droits, historiques, journal inchangés
