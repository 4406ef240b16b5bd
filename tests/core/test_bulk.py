import datetime

import pytest
from django.utils import timezone

from parcours.beneficiaries.models import Beneficiary, Household
from parcours.core.bulk import bulk_update_changed, create_objects, insert_rows
from parcours.journal.models import Event, EventKind
from tests.factories import BeneficiaryFactory, DepartementFactory

pytestmark = pytest.mark.django_db


def test_only_changed_objects_are_written_and_identical_changes_share_one_query(django_assert_num_queries):
    departement = DepartementFactory()
    for index in range(6):
        BeneficiaryFactory(departement=departement, first_name=f"P{index}", last_flux_on=None)
    people = list(Beneficiary.objects.order_by("pk"))
    day = datetime.date(2026, 3, 1)
    for person in people[:5]:
        person.last_flux_on = day  # même valeur pour cinq personnes : un seul UPDATE
    people[0].first_name = "Renommée"  # une modification propre : son propre UPDATE
    with django_assert_num_queries(2):
        written = bulk_update_changed(people, ["first_name", "last_flux_on"])
    assert written == 5
    stored = {p.pk: p for p in Beneficiary.objects.all()}
    assert stored[people[0].pk].first_name == "Renommée"
    assert [stored[p.pk].last_flux_on for p in people] == [day] * 5 + [None]
    # Relancer sans rien changer n'écrit rien.
    with django_assert_num_queries(0):
        assert bulk_update_changed(people, ["first_name", "last_flux_on"]) == 0


def test_foreign_key_to_an_object_created_after_reading_is_written():
    person = BeneficiaryFactory()
    person = Beneficiary.objects.get(pk=person.pk)
    household = Household(departement=person.departement, organism="CAF", matricule="7654321")
    person.household = household  # encore sans identifiant
    Household.objects.bulk_create([household])
    bulk_update_changed([person], ["household"])
    assert Beneficiary.objects.get(pk=person.pk).household.matricule == "7654321"


def test_insert_rows_converts_dates_datetimes_and_json():
    person = BeneficiaryFactory()
    now = timezone.now()
    count = insert_rows(
        Event,
        ["beneficiary", "kind", "occurred_on", "payload", "recorded_at"],
        [
            (
                person.pk,
                EventKind.RIGHT_OPENED,
                datetime.date(2026, 2, 1),
                {"etat": "2", "motifs": ["A"]},
                now,
            ),
            (person.pk, EventKind.BECAME_SDD, datetime.date(2026, 2, 1), {}, now),
        ],
        batch_size=1,
    )
    assert count == 2
    event = Event.objects.get(kind=EventKind.RIGHT_OPENED)
    assert event.payload == {"etat": "2", "motifs": ["A"]}
    assert event.occurred_on == datetime.date(2026, 2, 1)
    assert abs((event.recorded_at - now).total_seconds()) < 1


def test_create_objects_gives_ids_links_new_relations_and_keeps_the_sequence_usable():
    departement = DepartementFactory()
    households = [
        Household(departement=departement, organism="CAF", matricule=f"12345{index:02d}")
        for index in range(3)
    ]
    people = [
        Beneficiary(
            departement=departement, household=household, role="DEM", last_name="Martin", first_name=name
        )
        for household, name in zip(households, ["Awa", "Bruno", "Chloé"], strict=True)
    ]
    create_objects(households)
    create_objects(people)  # les foyers ont reçu leur identifiant après l'affectation
    assert all(person.pk for person in people)
    stored = Beneficiary.objects.select_related("household").order_by("first_name")
    assert [(p.first_name, p.household.matricule) for p in stored] == [
        ("Awa", "1234500"),
        ("Bruno", "1234501"),
        ("Chloé", "1234502"),
    ]
    assert all(p.created_at is not None for p in stored)
    # Une création ordinaire après coup ne heurte pas les identifiants réservés.
    later = BeneficiaryFactory(departement=departement)
    assert later.pk not in {p.pk for p in people}


def test_quiet_fields_do_not_trigger_the_always_fields():
    person = BeneficiaryFactory(last_flux_on=datetime.date(2026, 1, 1))
    person = Beneficiary.objects.get(pk=person.pk)
    stamp = person.updated_at
    person.last_flux_on = datetime.date(2026, 2, 1)
    person.updated_at = timezone.now()
    bulk_update_changed(
        [person], ["first_name", "last_flux_on"], always=["updated_at"], quiet=["last_flux_on"]
    )
    stored = Beneficiary.objects.get(pk=person.pk)
    assert stored.last_flux_on == datetime.date(2026, 2, 1)
    assert stored.updated_at == stamp  # seule la date du flux a changé
    person.first_name = "Renommée"
    person.updated_at = timezone.now()
    bulk_update_changed(
        [person], ["first_name", "last_flux_on"], always=["updated_at"], quiet=["last_flux_on"]
    )
    assert Beneficiary.objects.get(pk=person.pk).updated_at > stamp
