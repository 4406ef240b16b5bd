import datetime
import io

import pytest
from django.core.management import call_command

from parcours.audit.models import AccessLog
from parcours.beneficiaries.models import Beneficiary
from parcours.beneficiaries.retention import purge
from tests.factories import BeneficiaryFactory, DepartementFactory, FollowUpFactory, make_nir

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 1)


@pytest.fixture
def people():
    """Quatre personnes : une échue, une au droit ouvert, une suivie, une récente."""
    expired = BeneficiaryFactory(
        last_name="Le Goff",
        nir=make_nir(11),
        email="anne.legoff@example.org",
        rsa_state="6",
        last_flux_on=datetime.date(2024, 10, 1),
    )
    open_right = BeneficiaryFactory(
        last_name="Martin", nir=make_nir(12), rsa_state="2", last_flux_on=datetime.date(2024, 10, 1)
    )
    followed = BeneficiaryFactory(
        last_name="Diallo", nir=make_nir(13), rsa_state="6", last_flux_on=datetime.date(2024, 10, 1)
    )
    FollowUpFactory(beneficiary=followed)
    recent = BeneficiaryFactory(
        last_name="Nguyen", nir=make_nir(14), rsa_state="6", last_flux_on=datetime.date(2025, 6, 1)
    )
    return expired, open_right, followed, recent


def test_dry_run_counts_without_changing_anything(people):
    report = purge(dry_run=True, today=TODAY)
    assert report.total == 1
    assert Beneficiary.objects.filter(anonymised_on__isnull=False).count() == 0
    assert not AccessLog.objects.exists()


def test_purge_anonymises_only_expired_files_and_logs_each_one(people):
    expired, open_right, followed, recent = people
    report = purge(today=TODAY)
    assert report.total == 1
    expired.refresh_from_db()
    assert expired.anonymised_on == TODAY
    assert (expired.last_name, expired.first_name, expired.nir, expired.email, expired.birth_date) == (
        "Anonymisé",
        "",
        None,
        "",
        None,
    )
    # Ce qui sert aux indicateurs reste.
    assert expired.rsa_state == "6"
    assert expired.last_flux_on == datetime.date(2024, 10, 1)
    for person in (open_right, followed, recent):
        person.refresh_from_db()
        assert person.anonymised_on is None and person.nir
    entry = AccessLog.objects.get()
    assert (entry.beneficiary_id, entry.action) == (expired.pk, "purge")
    # Relancer ne refait rien.
    assert purge(today=TODAY).total == 0
    call_command("audit-verify", stdout=io.StringIO())


def test_retention_delay_is_a_setting_per_departement(people):
    departement = DepartementFactory()
    departement.delay_overrides = {"retention_inactive_months": 12}
    departement.save()
    assert purge(dry_run=True, today=TODAY).total == 2  # la personne de juin 2025 est échue à 12 mois


def test_purge_command_reports_in_french(people, monkeypatch):
    monkeypatch.setattr("parcours.beneficiaries.retention.timezone.localdate", lambda: TODAY)
    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "Total : 1 personne serait anonymisée." in out.getvalue()
    departement = DepartementFactory()
    departement.delay_overrides = {"retention_inactive_months": 12}
    departement.save()
    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "Total : 2 personnes seraient anonymisées." in out.getvalue()
    assert Beneficiary.objects.filter(anonymised_on__isnull=False).count() == 0
