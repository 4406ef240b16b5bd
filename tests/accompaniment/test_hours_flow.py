"""Les heures qui alimentent le plan d'activités : contrat signé, activités saisies, prescriptions acceptées
(sans double compte) ; service du catalogue choisi par la recherche ; accessibilité de la page du plan."""

import datetime
import itertools
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from parcours.accompaniment import activities, exits, services
from parcours.accompaniment.models import ActivityKind, ActivityStatus, PlannedActivity
from parcours.catalogue import prescriptions as rx
from parcours.catalogue.models import Service, Structure
from parcours.journal.models import Event

from .conftest import objective

pytestmark = pytest.mark.django_db

D = datetime.date
SIGNED_ON = D(2026, 3, 4)  # un mercredi
MONDAY = D(2026, 3, 2)
_ids = itertools.count(1)


def signed_contract(person, author, on=SIGNED_ON, **fields):
    fields.setdefault("weekly_hours", 17)
    contract = services.create_contract(
        person,
        author=author,
        referent=author,
        referent_commitments="Un rendez-vous toutes les deux semaines.",
        person_commitments="Suivre l'atelier mobilité et la remise à niveau.",
        intensity="renforce",
        objectives=[objective("mobilite", "Obtenir le permis")],
        **fields,
    )
    return services.sign_contract(contract, actor=author, on=on)


def plan(person, author, hours, *, weeks=8, starts_on=MONDAY, label="Remise à niveau", service=None):
    return activities.plan_activity(
        person,
        author=author,
        kind=ActivityKind.TRAINING,
        label=label,
        weekly_hours=hours,
        weeks=weeks,
        starts_on=starts_on,
        service=service,
    )


def make_service(nom="Atelier de réparation de vélos", *, hours=6, weeks=8, active=True, **extra):
    n = next(_ids)
    structure = extra.pop("structure", None) or Structure.objects.create(
        source="test", di_id=f"test--structure-{n}", nom=f"Structure d'insertion {n}", date_maj=MONDAY
    )
    return Service.objects.create(
        source="test",
        di_id=f"test--service-{n}",
        nom=nom,
        date_maj=MONDAY,
        structure=structure,
        thematiques=["mobilite--entretenir-reparer-son-vehicule"],
        volume_horaire_hebdomadaire=hours,
        nombre_semaines=weeks,
        is_active=active,
        **extra,
    )


def prescribe(user, person, service):
    return rx.create_prescription(
        user=user,
        beneficiary=person,
        service=service,
        shared_data=rx.build_shared_data(rx.prefill(person), set()),
        consent=True,
    )


# --- contrat signé → plan ------------------------------------------------------------------------------


def test_signed_contract_hours_appear_in_the_weekly_plan(person, orientation_manager):
    contract = signed_contract(person, orientation_manager)

    weeks = activities.weekly_plan(person, D(2026, 2, 23), weeks=3)

    assert [w.total for w in weeks] == [Decimal(0), Decimal(17), Decimal(17)]
    assert weeks[0].contract is None and weeks[1].contract.pk == contract.pk
    assert weeks[1].undetailed == Decimal(17) and weeks[1].planned == 0
    assert [w.status for w in weeks] == ["below", "within", "within"]
    # Rien n'est écrit à la signature : le plan lit le contrat.
    assert not PlannedActivity.objects.exists()


def test_activities_detail_the_contract_without_double_counting(person, orientation_manager):
    signed_contract(person, orientation_manager)
    plan(person, orientation_manager, "10")

    week = activities.weekly_plan(person, SIGNED_ON, weeks=1)[0]
    assert (week.total, week.planned, week.undetailed) == (Decimal(17), Decimal(10), Decimal(7))

    plan(person, orientation_manager, "7", label="Atelier mobilité")
    week = activities.weekly_plan(person, SIGNED_ON, weeks=1)[0]
    assert (week.total, week.undetailed) == (Decimal(17), Decimal(0))

    plan(person, orientation_manager, "3", label="Recherche d'emploi")
    week = activities.weekly_plan(person, SIGNED_ON, weeks=1)[0]
    assert (week.total, week.undetailed) == (Decimal(20), Decimal(0))  # au-delà du contrat : les activités


def test_contract_period_replacement_and_exit(person, orientation_manager):
    signed_contract(person, orientation_manager, weekly_hours=17)
    new = signed_contract(person, orientation_manager, on=D(2026, 3, 18), weekly_hours=20)

    weeks = activities.weekly_plan(person, MONDAY, weeks=4)
    assert [w.total for w in weeks] == [17, 17, 20, 20]
    assert weeks[2].contract.pk == new.pk

    exits.record_exit(person, author=orientation_manager, reason="demenagement", exited_on=D(2026, 3, 25))
    weeks = activities.weekly_plan(person, MONDAY, weeks=6)
    assert [w.total for w in weeks] == [17, 17, 20, 20, 0, 0]


def test_contract_with_a_planned_end_stops_counting(person, orientation_manager):
    signed_contract(person, orientation_manager, ends_on=D(2026, 3, 15))
    assert [w.total for w in activities.weekly_plan(person, MONDAY, weeks=3)] == [17, 17, 0]


def test_plan_page_shows_the_contract_hours(client, person, orientation_manager):
    signed_contract(person, orientation_manager)
    client.force_login(orientation_manager)

    html = client.get(reverse("accompaniment:activity_plan", args=[person.pk]) + "?semaine=2026-03-04")

    text = html.content.decode()
    assert "Manque" not in text and "Objectif atteint" in text
    assert "17 h par semaine, dont 17 h pas encore détaillées en activités" in text
    assert "17 h</td>" in text


# --- prescription acceptée → plan ----------------------------------------------------------------------


def test_accepted_prescription_plans_the_service_hours(person, orientation_manager):
    service = make_service(hours=6.5, weeks=8)
    prescription = prescribe(orientation_manager, person, service)

    accepted = rx.accept(prescription, actor=None, actor_label="Accueil de l'atelier", start_on=D(2026, 3, 9))

    activity = PlannedActivity.objects.get(beneficiary=person)
    assert activity.prescription_id == accepted.pk and activity.service_id == service.pk
    assert (activity.weekly_hours, activity.weeks, activity.starts_on) == (Decimal("6.5"), 8, D(2026, 3, 9))
    assert activity.label == service.nom and activity.provider == service.structure.nom
    assert activity.kind == ActivityKind.MOBILITY
    event = Event.objects.get(kind="activity_planned")
    assert event.payload["activity_id"] == activity.pk and event.payload["service_id"] == service.pk
    weeks = activities.weekly_plan(person, MONDAY, weeks=2)
    assert [w.total for w in weeks] == [0, Decimal("6.5")]

    # Idempotent : la même prescription n'apporte jamais deux activités.
    assert activities.plan_prescription(accepted).pk == activity.pk
    with pytest.raises(rx.PrescriptionError):
        rx.accept(accepted, actor=None)
    assert PlannedActivity.objects.count() == 1 and Event.objects.filter(kind="activity_planned").count() == 1


def test_prescription_hours_count_inside_the_contract(person, orientation_manager):
    signed_contract(person, orientation_manager)
    prescription = prescribe(orientation_manager, person, make_service(hours=6, weeks=8))
    rx.accept(prescription, actor=None, start_on=SIGNED_ON)

    week = activities.weekly_plan(person, SIGNED_ON, weeks=1)[0]
    assert (week.total, week.planned, week.undetailed) == (Decimal(17), Decimal(6), Decimal(11))


def test_activity_already_planned_by_hand_for_the_service_is_not_duplicated(person, orientation_manager):
    service = make_service(hours=6, weeks=8)
    by_hand = plan(person, orientation_manager, None, weeks=None, label="", service=service)

    rx.accept(prescribe(orientation_manager, person, service), actor=None, start_on=MONDAY)

    assert list(PlannedActivity.objects.values_list("pk", flat=True)) == [by_hand.pk]
    by_hand.refresh_from_db()
    assert by_hand.prescription is not None
    assert activities.weekly_plan(person, MONDAY, weeks=1)[0].total == 6


def test_service_without_hours_plans_nothing(person, orientation_manager):
    service = make_service(hours=None, weeks=None)
    accepted = rx.accept(prescribe(orientation_manager, person, service), actor=None)
    assert accepted.status == "accepted" and not PlannedActivity.objects.exists()


def test_service_without_weeks_gets_the_default_duration(person, orientation_manager):
    service = make_service(hours=4, weeks=None, type="formation")
    rx.accept(prescribe(orientation_manager, person, service), actor=None, start_on=MONDAY)
    activity = PlannedActivity.objects.get()
    assert activity.weeks == activities.DEFAULT_SERVICE_WEEKS and activity.kind == ActivityKind.TRAINING


def test_abandoned_prescribed_activity_leaves_the_plan(person, orientation_manager):
    rx.accept(prescribe(orientation_manager, person, make_service()), actor=None, start_on=MONDAY)
    activity = PlannedActivity.objects.get()
    activities.set_activity_status(
        activity,
        ActivityStatus.ABANDONED,
        actor=orientation_manager,
        on=D(2026, 3, 5),
        outcome="Déménagement",
    )
    assert activities.weekly_plan(person, MONDAY, weeks=1)[0].total == 0


# --- service choisi par la recherche -------------------------------------------------------------------


def test_service_search_returns_only_visible_services(client, person, orientation_manager):
    visible = make_service("Atelier vélo du Pays de Redon")
    make_service("Atelier vélo fermé", active=False)
    closed_structure = Structure.objects.create(
        source="test", di_id="test--fermee", nom="Structure fermée", date_maj=MONDAY, is_active=False
    )
    make_service("Atelier vélo d'une structure fermée", structure=closed_structure)
    make_service("Remise à niveau")

    assert [s.pk for s in activities.find_services("atelier VELO")] == [visible.pk]
    assert [s.pk for s in activities.find_services(str(visible.pk))] == [visible.pk]
    assert activities.find_services("   ") == []

    client.force_login(orientation_manager)
    response = client.get(reverse("accompaniment:service_search"), {"service_q": "vélo"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Atelier vélo du Pays de Redon" in html and f'value="{visible.pk}"' in html
    assert "fermé" not in html and "Remise à niveau" not in html
    assert 'type="radio"' in html and "fr-radio-group" in html


def test_service_search_needs_an_agent(client, person):
    response = client.get(reverse("accompaniment:service_search"), {"service_q": "vélo"})
    assert response.status_code in (302, 403)


def test_adding_a_service_is_validated_server_side(client, person, orientation_manager):
    visible = make_service("Atelier vélo", hours=6, weeks=8)
    hidden = make_service("Atelier fermé", active=False)
    client.force_login(orientation_manager)
    url = reverse("accompaniment:activity_plan", args=[person.pk])
    data = {"form": "activite", "kind": "mobilite", "starts_on": "2026-03-02"}

    response = client.post(url, {**data, "service": hidden.pk})
    assert response.status_code == 200
    assert "Service inconnu du catalogue, ou qui n'est plus proposé." in unescape(response.content.decode())
    assert not PlannedActivity.objects.exists()

    response = client.post(url, {**data, "service": visible.pk, "service_q": "vélo"})
    assert response.status_code == 302
    activity = PlannedActivity.objects.get()
    assert (activity.service_id, activity.weekly_hours, activity.weeks) == (visible.pk, 6, 8)


def test_search_button_without_javascript_keeps_the_form(client, person, orientation_manager):
    service = make_service("Atelier vélo")
    client.force_login(orientation_manager)
    url = reverse("accompaniment:activity_plan", args=[person.pk])
    response = client.post(
        url, {"form": "activite", "kind": "mobilite", "label": "Vélo", "service_q": "velo", "chercher": ""}
    )
    html = response.content.decode()
    assert response.status_code == 200 and f'value="{service.pk}"' in html and 'value="Vélo"' in html
    assert not PlannedActivity.objects.exists()


# --- accessibilité de la page du plan ------------------------------------------------------------------


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_fors, self.checkboxes = [], [], []
        self._stack = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label" and attrs.get("for"):
            self.label_fors.append(attrs["for"])
        if tag == "input" and attrs.get("type") == "checkbox":
            self.checkboxes.append(list(self._stack))
        if tag == "div":
            self._stack.append(attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "div" and self._stack:
            self._stack.pop()


def test_activity_plan_page_has_unique_ids_and_labels_point_at_fields(client, person, orientation_manager):
    for label in ("Remise à niveau", "Atelier CV", "Atelier mobilité"):
        plan(person, orientation_manager, "3", label=label)
    signed_contract(person, orientation_manager)
    client.force_login(orientation_manager)

    response = client.get(reverse("accompaniment:activity_plan", args=[person.pk]) + "?semaine=2026-03-04")

    parser = _Ids()
    parser.feed(response.content.decode())
    duplicates = {i for i in parser.ids if parser.ids.count(i) > 1}
    assert not duplicates, duplicates
    missing = set(parser.label_fors) - set(parser.ids)
    assert not missing, missing
    assert "activite-kind" in parser.ids and "adaptation-kind" in parser.ids
    assert sum(1 for i in parser.ids if i.startswith("statut-") and i.endswith("-status")) == 3
    # Les cases à cocher suivent le balisage du DSFR.
    assert parser.checkboxes and all("fr-checkbox-group" in s[-1] for s in parser.checkboxes)


def test_exit_and_review_pages_have_unique_ids(client, person, orientation_manager):
    client.force_login(orientation_manager)
    for day in (5, 6):
        exits.record_exit(
            person,
            author=orientation_manager,
            reason="emploi",
            exited_on=D(2026, 3, day),
            employer="Transports Lebreton",
            contract_type="cdi",
            job_started_on=D(2026, 3, day),
        )
    signed_contract(person, orientation_manager, on=D(2026, 3, 1))
    for name in ("exit_list", "review_list"):
        parser = _Ids()
        parser.feed(client.get(reverse(f"accompaniment:{name}", args=[person.pk])).content.decode())
        duplicates = {i for i in parser.ids if parser.ids.count(i) > 1}
        assert not duplicates, (name, duplicates)
        assert not set(parser.label_fors) - set(parser.ids), name
        assert all("fr-checkbox-group" in s[-1] for s in parser.checkboxes), name


def test_activity_plan_page_queries_do_not_grow_with_the_plan(
    client, person, orientation_manager, django_assert_max_num_queries
):
    url = reverse("accompaniment:activity_plan", args=[person.pk]) + "?semaine=2026-03-04"
    plan(person, orientation_manager, "3")
    signed_contract(person, orientation_manager, on=D(2026, 2, 2))
    client.force_login(orientation_manager)
    client.get(url)
    with django_assert_max_num_queries(40) as small:
        assert client.get(url).status_code == 200
    for n in range(6):
        plan(person, orientation_manager, "2", label=f"Atelier {n}", service=make_service(f"Service {n}"))
    signed_contract(person, orientation_manager, on=D(2026, 3, 2))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
