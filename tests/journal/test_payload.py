"""Les clés déclarées : des chaînes qu'on écrit telles quelles dans les requêtes ; lecture des anciens noms."""

import datetime
import importlib

import pytest

from parcours.journal.models import Event, EventKind
from parcours.journal.payload import KEYS, Payload, normalise
from parcours.journal.queries import payload_text
from parcours.journal.services import record
from tests.factories import BeneficiaryFactory

D = datetime.date


def test_a_key_is_its_name():
    assert Payload.DECISION_ID == "decision_id" and {"decision_id": 3}[Payload.DECISION_ID] == 3
    assert Payload.REFERENT_ID.label == "Référent" and Payload.REFERENT_ID.type == "int"
    assert KEYS["pathway"] is Payload.PATHWAY
    assert type(Payload.PATHWAY.name) is str


@pytest.mark.django_db
def test_keys_are_usable_in_queries():
    person = BeneficiaryFactory()
    record(person, EventKind.ORIENTED, on=D(2026, 3, 2), decision_id=7, pathway="social")
    rows = Event.objects.filter(**{f"payload__{Payload.DECISION_ID.name}": 7}).values_list(
        payload_text(EventKind.ORIENTED, Payload.PATHWAY), flat=True
    )
    assert list(rows) == ["social"]


def test_legacy_french_keys_are_read_as_declared_keys():
    """Pendant la bascule, l'import et les sorties écrivent encore les anciens noms (``LEGACY_KEYS``)."""
    assert normalise(EventKind.EXITED, {"sortie": 4, "motif": "emploi", "contrat": "cdd"}) == {
        "exit_id": 4,
        "reason": "emploi",
        "contract_type": "cdd",
    }
    assert normalise(EventKind.CONTACT_UPDATED, ["email", "phone"]) == {"fields": ["email", "phone"]}
    assert normalise(EventKind.ORIENTED, {"decision_id": 1}) == {"decision_id": 1}


@pytest.mark.django_db
def test_legacy_names_are_read_in_queries_during_the_switch():
    person = BeneficiaryFactory()
    Event.objects.create(
        beneficiary=person,
        kind=EventKind.NEW_ENTRANT,
        occurred_on=D(2026, 3, 2),
        payload={"date_reference": "2026-02-28"},
    )
    record(person, EventKind.NEW_ENTRANT, on=D(2026, 4, 2), t0=D(2026, 4, 2), reference_date=D(2026, 3, 31))
    values = Event.objects.order_by("occurred_on").values_list(
        payload_text(EventKind.NEW_ENTRANT, Payload.REFERENCE_DATE), flat=True
    )
    assert list(values) == ["2026-02-28", "2026-03-31"]


def _migration():
    return importlib.import_module("parcours.journal.migrations.0005_payload_keys_in_english")


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        (
            "right_closed",
            {"etat": "6", "etat_precedent": "2", "motif_cloture": "PCG", "date_ouverture": "2024-01-01"},
            {"state": "6", "previous_state": "2", "closure_reason": "PCG", "opened_on": "2024-01-01"},
        ),
        ("right_opened", {"etat": "2", "etat_precedent": None}, {"state": "2"}),
        (
            "new_entrant",
            {"t0": "2026-03-01", "date_reference": "2026-02-28", "motif": "Entrée", "top_cnaf": True},
            {
                "t0": "2026-03-01",
                "reference_date": "2026-02-28",
                "reason": "Entrée",
                "cnaf_new_entrant": True,
            },
        ),
        (
            "follow_up_closed",
            {"organisation": 3, "motif": "Radiation"},
            {"organisation_id": 3, "reason": "Radiation"},
        ),
        ("contact_updated", ["email"], {"fields": ["email"]}),
        (
            "contract_signed",
            {
                "contrat": 1,
                "type": "cer",
                "heures_hebdomadaires": "15.00",
                "intensite": "guide",
                "revision": "2026-07-01",
            },
            {
                "contract_id": 1,
                "contract_kind": "cer",
                "weekly_hours": "15.00",
                "intensity": "guide",
                "review_on": "2026-07-01",
            },
        ),
        (
            "sanction_step",
            {"procedure": 2, "de": None, "vers": "opened", "motif": "Absences", "manquement": "absences"},
            {"case_id": 2, "to_status": "opened", "reason": "Absences", "ground": "absences"},
        ),
        (
            "prescription_accepted",
            {
                "prescription_id": 1,
                "service_id": "di-1",
                "service": "Vélo",
                "structure": "Asso",
                "status": "accepted",
                "volume_horaire_hebdomadaire": 6.0,
                "nombre_semaines": 8,
                "start_on": "2026-05-04",
            },
            {
                "prescription_id": 1,
                "service_di_id": "di-1",
                "service_name": "Vélo",
                "structure_name": "Asso",
                "status": "accepted",
                "weekly_hours": "6",
                "weeks": 8,
                "starts_on": "2026-05-04",
            },
        ),
        ("oriented", {"decision_id": 1, "pathway": "emploi"}, {"decision_id": 1, "pathway": "emploi"}),
    ],
)
def test_migration_renames_french_keys(kind, old, new):
    migration = _migration()
    assert migration._forward(kind, old) == new
    if kind != "prescription_accepted":  # les heures restent écrites en chaîne
        without_empty = {k: v for k, v in old.items() if v is not None} if isinstance(old, dict) else old
        assert migration._backward(kind, new) == without_empty


def test_migration_knows_every_legacy_key_of_the_switch():
    """Les anciens noms lus en repli (``LEGACY_KEYS``) sont tous renommés par la migration."""
    from parcours.journal.payload import LEGACY_KEYS

    renames = _migration().RENAMES
    for kind, mapping in LEGACY_KEYS.items():
        for old, new in mapping.items():
            assert renames[kind][old] == new, (kind, old)


@pytest.mark.django_db(transaction=True)
def test_migration_runs_forward_and_backward_on_stored_events(settings):
    from django.core.management import call_command

    if type(settings.MIGRATION_MODULES).__name__ == "DisableMigrations":
        pytest.skip("migrations désactivées (--nomigrations)")
    person = BeneficiaryFactory()
    event = Event.objects.create(
        beneficiary=person,
        kind="review_planned",
        occurred_on=D(2026, 3, 2),
        payload={"revue": 5, "type": "milestone", "echeance": "2026-06-01"},
    )
    call_command("migrate", "journal", "0004", verbosity=0)
    event.refresh_from_db()
    assert event.payload == {"revue": 5, "type": "milestone", "echeance": "2026-06-01"}
    call_command("migrate", "journal", verbosity=0)
    event.refresh_from_db()
    assert event.payload == {"review_id": 5, "review_kind": "milestone", "due_on": "2026-06-01"}
