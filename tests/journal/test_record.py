"""L'unique écrivain du journal : ``record`` / ``build`` vérifient la charge contre sa déclaration."""

import datetime
from decimal import Decimal

import pytest

from parcours.journal.models import Event, EventKind
from parcours.journal.payload import SCHEMAS, Payload
from parcours.journal.services import (
    InvalidPayload,
    JournalError,
    UndeclaredEvent,
    build,
    record,
    validate,
)
from tests.factories import BeneficiaryFactory, OrganisationFactory, UserFactory

D = datetime.date


@pytest.mark.django_db
def test_record_writes_a_checked_event_with_english_keys():
    person = BeneficiaryFactory()
    agent = UserFactory()
    organisation = OrganisationFactory()
    event = record(
        person,
        EventKind.FOLLOW_UP_OPENED,
        on=D(2026, 3, 2),
        actor=agent,
        organisation=organisation,
        organisation_id=organisation.pk,
        referent_id=None,  # vide : écarté
        cause="orientation",
    )
    event.refresh_from_db()
    assert event.kind == "follow_up_opened" and event.occurred_on == D(2026, 3, 2)
    assert (event.actor, event.organisation, event.beneficiary) == (agent, organisation, person)
    assert event.payload == {"organisation_id": organisation.pk, "cause": "orientation"}


@pytest.mark.django_db
def test_values_are_converted_to_json():
    person = BeneficiaryFactory()
    event = record(
        person.pk,  # la personne ou son identifiant
        EventKind.CONTRACT_SIGNED,
        on=D(2026, 4, 1),
        contract_id=12,
        contract_kind="cer",
        weekly_hours=Decimal("15.50"),
        intensity="",
        review_on=D(2026, 7, 1),
    )
    assert Event.objects.get(pk=event.pk).payload == {
        "contract_id": 12,
        "contract_kind": "cer",
        "weekly_hours": "15.50",
        "review_on": "2026-07-01",
    }
    assert (
        validate(EventKind.PRESCRIPTION_ACCEPTED, _prescription(weekly_hours=6.0, weeks=8))["weekly_hours"]
        == "6"
    )


def _prescription(**extra):
    return {
        "prescription_id": 1,
        "service_di_id": "di-1",
        "service_name": "Atelier vélo",
        "structure_name": "Association",
        "status": "accepted",
        **extra,
    }


def test_an_anonymous_actor_is_not_an_author():
    from django.contrib.auth.models import AnonymousUser

    event = build(1, EventKind.BECAME_SDD, on=D(2026, 1, 5), actor=AnonymousUser())
    assert event.actor_id is None and event.beneficiary_id == 1 and event.pk is None


@pytest.mark.parametrize(
    ("kind", "payload", "error", "message"),
    [
        ("not_a_kind", {}, UndeclaredEvent, "non déclaré dans EventKind"),
        (
            EventKind.ORIENTED,
            {"decision_id": 1, "pathway": "social", "parcours": "x"},
            InvalidPayload,
            "« parcours » non déclarée",
        ),
        (EventKind.ORIENTED, {"decision_id": 1}, InvalidPayload, "clé obligatoire absente : pathway"),
        (EventKind.ORIENTED, {"decision_id": "1", "pathway": "social"}, InvalidPayload, "attend un entier"),
        (EventKind.ORIENTED, {"decision_id": True, "pathway": "social"}, InvalidPayload, "attend un entier"),
        (
            EventKind.ORIENTED,
            {"decision_id": 1, "pathway": "social", "decided_on": "12/03/2026"},
            InvalidPayload,
            "date ISO",
        ),
        (
            EventKind.FOLLOW_UP_OPENED,
            {"organisation_id": 1, "cause": "hasard"},
            InvalidPayload,
            "valeur permise",
        ),
        (
            EventKind.EMPLOYMENT_CHECKED,
            {"exit_id": 1, "still_employed": "oui", "six_month": False},
            InvalidPayload,
            "booléen",
        ),
        (
            EventKind.APPOINTMENT_PLANNED,
            {
                "appointment_id": 1,
                "kind": "orientation",
                "starts_at": "2026-03-02T09:00:00",
                "organisations": [1, "2"],
            },
            InvalidPayload,
            "liste d'entiers",
        ),
    ],
)
def test_undeclared_kinds_and_keys_are_refused(kind, payload, error, message):
    with pytest.raises(error, match=message) as raised:
        build(1, kind, on=D(2026, 3, 2), **payload)
    assert isinstance(raised.value, JournalError)


def test_business_date_is_required():
    with pytest.raises(InvalidPayload, match="date métier"):
        build(1, EventKind.BECAME_SDD, on=None)
    with pytest.raises(InvalidPayload, match="date métier"):
        build(1, EventKind.BECAME_SDD, on=datetime.datetime(2026, 3, 2, 10, 0))


def test_payload_key_named_kind_does_not_clash_with_the_event_kind():
    """Les paramètres de ``record`` avant ``/`` sont positionnels : une clé ``kind`` reste possible."""
    event = build(
        1,
        EventKind.APPOINTMENT_PLANNED,
        on=D(2026, 3, 2),
        appointment_id=4,
        kind="orientation",
        starts_at=datetime.datetime(2026, 3, 2, 9, 30),
    )
    assert event.payload == {"appointment_id": 4, "kind": "orientation", "starts_at": "2026-03-02T09:30:00"}


@pytest.mark.django_db
def test_build_is_for_bulk_create_even_before_the_person_is_saved():
    saved = BeneficiaryFactory()
    person = BeneficiaryFactory.build(departement=saved.departement, household=saved.household)
    events = [build(person, EventKind.PERSON_CREATED, on=D(2026, 3, 2))]
    person.save()
    Event.objects.bulk_create(events)
    assert Event.objects.get().beneficiary == person


def test_follow_up_kinds_are_declared_as_the_pathway_needs():
    opened = SCHEMAS[EventKind.FOLLOW_UP_OPENED]
    assert opened.required == (Payload.ORGANISATION_ID, Payload.CAUSE)
    assert opened.optional == (Payload.REFERENT_ID,)
    assert set(Payload.CAUSE.choices) == {"orientation", "referent", "import"}
    closed = SCHEMAS[EventKind.FOLLOW_UP_CLOSED]
    assert closed.required == (Payload.REASON,)
    assert {Payload.ORGANISATION_ID, Payload.REFERENT_ID} <= set(closed.optional)
    assert EventKind.FOLLOW_UP_OPENED.label == "Suivi ouvert"
    assert EventKind.FOLLOW_UP_OPENED.schema is opened
