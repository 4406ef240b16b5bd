"""Import par ensembles : le nombre de requêtes ne dépend pas de la taille du fichier, et les lignes traitées en SQL
donnent le même résultat que celles rapprochées ligne à ligne dans le même fichier."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.beneficiaries.models import Beneficiary, FollowUp, RightSnapshot
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
