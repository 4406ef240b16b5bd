"""Fabriques complémentaires pour les tests des pages (historique des flux, journal, imports)."""

import datetime

import factory
from factory.django import DjangoModelFactory

from parcours.beneficiaries.models import RightSnapshot
from parcours.intake.models import ImportBatch
from parcours.journal.models import Event
from tests.factories import BeneficiaryFactory, DepartementFactory


class ImportBatchFactory(DjangoModelFactory):
    class Meta:
        model = ImportBatch

    organisation = factory.SubFactory(DepartementFactory)
    filename = factory.Sequence(lambda n: f"RSABEM_mensuel_{n:03d}.xml")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    size = 48_213
    requested_format = "auto"
    detected_format = "cnaf-xml"
    received_on = datetime.date(2026, 3, 1)
    status = "done"
    rows_total = 12
    created = 4
    updated = 6
    unchanged = 2
    new_entrants = 3
    report = factory.LazyAttribute(
        lambda o: {
            "created": o.created,
            "updated": o.updated,
            "unchanged": o.unchanged,
            "new_entrants": o.new_entrants,
            "errors": [],
            "warnings": [],
        }
    )


class RightSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = RightSnapshot

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    batch = factory.SubFactory(
        ImportBatchFactory, organisation=factory.SelfAttribute("..beneficiary.departement")
    )
    reference_date = factory.Sequence(lambda n: datetime.date(2024, 1, 1) + datetime.timedelta(days=31 * n))
    received_on = factory.LazyAttribute(lambda o: o.reference_date + datetime.timedelta(days=5))
    state = "2"
    sdd = True
    cnaf_new_entrant = False


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    kind = "right_state_changed"
    occurred_on = datetime.date(2026, 3, 1)
    organisation = factory.SelfAttribute("beneficiary.departement")
    payload = factory.LazyFunction(lambda: {"state": "3", "previous_state": "2", "suspension_reason": "01"})
