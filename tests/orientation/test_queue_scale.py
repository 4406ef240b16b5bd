"""Files d'orientation à grande échelle : la section « vues en rendez-vous » de la file à orienter lue à partir
des rendez-vous honorés (même contenu que l'annotation ``seen``), totaux plafonnés égaux aux files entières
quelle que soit la raison de sortie, et, sur PostgreSQL, files lues dans l'index partiel ``benef_queue_idx``
(conditions de la file et de l'index restées d'accord)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.orientation import services
from parcours.orientation.models import AppointmentKind, Attendance, Pathway
from parcours.pathway import services as pathway
from tests.factories import BeneficiaryFactory

D = datetime.date
UTC = datetime.UTC

pytestmark = pytest.mark.django_db


def walk(queue, scope, today, per_page):
    rows = []
    page = services.queue_page(queue, scope, today, per_page=per_page)
    while True:
        rows.extend(page.object_list)
        if not page.has_next:
            return rows
        page = services.queue_page(queue, scope, today, after=page.next_cursor, per_page=per_page)


def appointment(person, manager, day, attendance, kind=AppointmentKind.ORIENTATION):
    booked = services.schedule_appointment(
        person,
        starts_at=datetime.datetime(2026, 3, day, 9, tzinfo=UTC),
        place="Redon",
        author=manager,
        professionals=[manager],
        kind=kind,
    )
    if attendance != Attendance.PLANNED:
        services.record_attendance(booked, attendance, author=manager)
    return booked


def test_seen_section_counts_only_orientation_appointments_honoured_since_t0(departement, manager, frozen):
    today = frozen(2026, 3, 20)
    make = lambda name, t0: BeneficiaryFactory(  # noqa: E731
        departement=departement, new_entrant_t0=t0, last_name=name, email=f"{name}@example.org"
    )
    seen = make("Vue", D(2026, 3, 2))
    before_t0 = make("Avant", D(2026, 3, 4))  # venue avant son T0 : pas « vue » pour ce T0
    accompaniment = make("Accompagnement", D(2026, 3, 1))  # rendez-vous d'accompagnement : ne compte pas
    excused = make("Excusee", D(2026, 3, 1))
    corrected = make("Corrigee", D(2026, 3, 1))  # saisie « venue » corrigée : repasse en « prévu »
    plain = make("Sans", D(2026, 3, 3))
    appointment(seen, manager, 5, Attendance.SEEN)
    appointment(before_t0, manager, 3, Attendance.SEEN)
    appointment(accompaniment, manager, 5, Attendance.SEEN, kind=AppointmentKind.ACCOMPANIMENT)
    appointment(excused, manager, 5, Attendance.EXCUSED)
    services.record_attendance(appointment(corrected, manager, 6, Attendance.SEEN), "planned", author=manager)
    scope = Beneficiary.objects.filter(departement=departement)
    expected = list(services.people_to_orient(scope, today))
    assert [p.pk for p in expected if p.seen] == [seen.pk]
    assert expected[0].pk == seen.pk
    assert {p.pk for p in expected} == {
        p.pk for p in (seen, before_t0, accompaniment, excused, corrected, plain)
    }
    for per_page in (1, 2, 6):
        rows = walk("a_orienter", scope, today, per_page)
        assert [(row.pk, row.seen) for row in rows] == [(p.pk, p.seen) for p in expected]


def test_capped_counts_equal_the_whole_queues_whatever_the_reason_to_leave(
    departement, manager, france_travail, mission_locale, frozen
):
    today = frozen(2026, 3, 20)
    people = [
        BeneficiaryFactory(
            departement=departement,
            new_entrant_t0=D(2026, 3, 1 + i % 5),
            last_name=f"Nom{i % 4}",
            email=f"p{i}@example.org",
        )
        for i in range(14)
    ]
    BeneficiaryFactory(departement=departement, new_entrant_t0=None)  # pas nouvel entrant
    BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 4, 1))  # T0 à venir
    BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 3, 2), rsa_state="5")  # droit clos
    BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 3, 2), is_sdd=False)
    BeneficiaryFactory(departement=departement, new_entrant_t0=D(2026, 3, 2), is_sdd=None)  # inconnu : reste
    FollowUp.objects.create(beneficiary=people[0], organisation=mission_locale, started_on=D(2026, 3, 5))
    services.invite(people[1], channel="email", author=manager, today=D(2026, 3, 6))
    services.add_exemption(people[2], reason="sante", author=manager, starts_on=D(2026, 3, 3))
    decision = services.decide_orientation(
        people[3], pathway=Pathway.EMPLOI, organisation=france_travail, author=manager, decided_on=today
    )
    services.notify_orientation(decision, author=manager, notified_on=today)
    services.decide_orientation(  # décidée, pas notifiée : reste à orienter
        people[4], pathway=Pathway.EMPLOI, organisation=france_travail, author=manager, decided_on=today
    )
    appointment(people[5], manager, 10, Attendance.SEEN)
    appointment(people[6], manager, 19, Attendance.PLANNED)
    pathway.close_follow_up(people[0], on=D(2026, 3, 8), reason="fin", end_cause="radiation")
    FollowUp.objects.create(beneficiary=people[7], organisation=mission_locale, started_on=D(2026, 3, 9))
    scope = Beneficiary.objects.filter(departement=departement)
    whole = {
        "a_inviter": services.new_entrants_to_invite(scope, today),
        "invitations": services.pending_invitations(scope, today),
        "expirees": services.expired_invitations(scope, today),
        "rendez_vous": services.appointments_to_record(scope),
        "a_orienter": services.people_to_orient(scope, today),
    }
    sizes = {name: len(list(rows)) for name, rows in whole.items()}
    assert sizes["a_orienter"] > sizes["a_inviter"] > 0
    counts = services.queue_counts(scope, today)
    assert {name: count.value for name, count in counts.items()} == sizes
    for cap in (1, sizes["a_inviter"] - 1, sizes["a_inviter"]):
        capped = services.queue_counts(scope, today, cap=cap)
        for name, size in sizes.items():
            assert capped[name].value == min(size, cap + 1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plan de PostgreSQL")
@pytest.mark.parametrize("queue", ["a_inviter", "a_orienter"])
def test_queues_read_the_partial_queue_index(queue, departement, manager, frozen):
    """Les conditions de la file (``queues._new_entrants``) impliquent celles de l'index partiel : le total
    et la page se lisent dans ``benef_queue_idx`` (balayage séquentiel interdit pour ne pas dépendre de la
    taille de la table de test)."""
    today = frozen(2026, 3, 20)
    for i in range(3):
        BeneficiaryFactory(
            departement=departement, new_entrant_t0=D(2026, 3, 1 + i), email=f"p{i}@example.org"
        )
    scope = Beneficiary.objects.filter(departement=departement)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    with CaptureQueriesContext(connection) as ctx:
        services.queue_counts(scope, today)
        services.queue_page(queue, scope, today)
    counts, *pages = [q["sql"] for q in ctx.captured_queries if "new_entrant_t0" in q["sql"]]
    with connection.cursor() as cursor:
        plans = []
        for sql in (counts, pages[-1]):  # le total ; la page (pour « à orienter » : les personnes pas vues)
            cursor.execute("EXPLAIN " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_bitmapscan")
    for plan in plans:
        assert "benef_queue_idx" in plan, plan
