"""Le NIR est chiffré au repos : jamais en clair dans la base, toujours retrouvable par l'application."""

import pytest
from django.db import IntegrityError, connection, transaction

from parcours.beneficiaries.models import Beneficiary
from tests.factories import BeneficiaryFactory, make_nir

pytestmark = pytest.mark.django_db


def _raw_nir(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT nir FROM beneficiaries_beneficiary WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_database_never_holds_the_nir_in_clear():
    nir = make_nir(42)
    person = BeneficiaryFactory(nir=nir)
    stored = _raw_nir(person.pk)
    assert stored.startswith("s1:")
    assert nir not in stored and nir[:13] not in stored
    assert Beneficiary.objects.get(pk=person.pk).nir == nir


def test_exact_lookups_and_the_search_screen_still_find_the_person():
    nir = make_nir(43)
    person = BeneficiaryFactory(nir=nir)
    BeneficiaryFactory(nir=make_nir(44))
    assert list(Beneficiary.objects.filter(nir=nir)) == [person]
    assert list(Beneficiary.objects.filter(nir__in=[nir, "199999999999999"])) == [person]
    assert list(Beneficiary.objects.search(nir[:13])) == [person]  # 13 caractères : la clé est recalculée
    assert list(
        Beneficiary.objects.search(f"{nir[:1]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]}")
    ) == [person]


def test_uniqueness_per_departement_holds_on_the_encrypted_value():
    nir = make_nir(45)
    person = BeneficiaryFactory(nir=nir)
    with pytest.raises(IntegrityError), transaction.atomic():
        BeneficiaryFactory(departement=person.departement, nir=nir)


def test_flux_import_writes_encrypted_nir(tmp_path):
    from parcours.intake.services import default_departement, import_flux

    path = tmp_path / "flux.csv"
    path.write_text(
        "organisme;matricule;role;nir;nom;prenom;date_naissance;date_ouverture_droit;etat_droit;"
        "soumis_droits_devoirs\n"
        f"CAF;1234567;DEM;{make_nir(46)};Martin;Awa;1985-06-01;2026-01-15;2;1\n",
        encoding="utf-8",
    )
    report = import_flux(path, organisation=default_departement(), received_on=None, fmt="csv")
    assert not report.rejected, report.message
    person = Beneficiary.objects.get()
    assert person.nir == make_nir(46)
    assert _raw_nir(person.pk).startswith("s1:")
