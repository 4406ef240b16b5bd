"""Files de travail paginées par curseur : mêmes lignes et même ordre que la file entière, liens « Page
suivante » / « Page précédente », totaux plafonnés (« plus de … »), nombre de requêtes fixe quand la file
dépasse une page."""

import datetime
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.beneficiaries.models import Beneficiary
from parcours.orientation import services
from parcours.orientation.models import Attendance
from tests.factories import BeneficiaryFactory

D = datetime.date
UTC = datetime.UTC

pytestmark = pytest.mark.django_db

QUEUES = ["a_inviter", "invitations", "expirees", "rendez_vous", "a_orienter"]


def populate(queue, departement, manager, n, *, start=0):
    """``n`` personnes dans la file ``queue`` (T0 et noms variés : la clé de tri a des ex æquo)."""
    people = [
        BeneficiaryFactory(
            departement=departement,
            new_entrant_t0=D(2026, 3, 1 + (start + i) % 4),
            last_name=f"Nom{(start + i) % 3}",
            email=f"p{start + i}@example.org",
        )
        for i in range(n)
    ]
    for index, person in enumerate(people):
        if queue in ("invitations", "expirees"):
            services.invite(person, channel="email", author=manager, today=D(2026, 3, 3 + index % 2))
        if queue == "rendez_vous":
            services.schedule_appointment(
                person,
                starts_at=datetime.datetime(2026, 3, 10 + index % 3, 9, tzinfo=UTC),
                place="Redon",
                author=manager,
                professionals=[manager],
                organisations=[departement],
            )
    if queue == "expirees":
        services.expire_invitations(D(2026, 3, 20))
    return people


def walk(queue, scope, today, per_page):
    """Toutes les lignes de la file, page après page (curseur « après »), et les pages lues."""
    rows, pages = [], []
    page = services.queue_page(queue, scope, today, per_page=per_page)
    while True:
        pages.append(page)
        rows.extend(page.object_list)
        if not page.has_next:
            return rows, pages
        page = services.queue_page(queue, scope, today, after=page.next_cursor, per_page=per_page)


def whole(queue, scope, today):
    if queue == "a_inviter":
        return list(services.new_entrants_to_invite(scope, today))
    if queue == "invitations":
        return list(services.pending_invitations(scope, today))
    if queue == "expirees":
        return list(services.expired_invitations(scope, today))
    if queue == "rendez_vous":
        return list(services.appointments_to_record(scope))
    return list(services.people_to_orient(scope, today))


@pytest.mark.parametrize("queue", QUEUES)
def test_pages_follow_the_queue_order_forward_and_back(queue, departement, manager, frozen):
    today = frozen(2026, 3, 20)
    populate(queue, departement, manager, 11)
    scope = Beneficiary.objects.filter(departement=departement)
    expected = [row.pk for row in whole(queue, scope, today)]
    assert len(expected) == 11

    rows, pages = walk(queue, scope, today, per_page=4)
    assert [row.pk for row in rows] == expected
    assert [len(p) for p in pages] == [4, 4, 3]
    assert pages[0].is_first and not pages[0].has_previous and pages[-1].has_previous

    # « Page précédente » depuis la dernière page : la page du milieu, puis la première.
    back = services.queue_page(queue, scope, today, before=pages[-1].previous_cursor, per_page=4)
    assert [row.pk for row in back] == expected[4:8]
    first = services.queue_page(queue, scope, today, before=back.previous_cursor, per_page=4)
    assert [row.pk for row in first] == expected[:4]
    assert first.is_first and first.has_next


def test_people_seen_in_appointment_come_first_across_pages(departement, manager, frozen):
    today = frozen(2026, 3, 20)
    people = populate("a_orienter", departement, manager, 7)
    for person in people[4:6]:  # deux personnes vues en rendez-vous : en tête de la file
        appointment = services.schedule_appointment(
            person,
            starts_at=datetime.datetime(2026, 3, 5, 9, tzinfo=UTC),
            place="Redon",
            author=manager,
            professionals=[manager],
        )
        services.record_attendance(appointment, Attendance.SEEN, author=manager)
    scope = Beneficiary.objects.filter(departement=departement)
    expected = [row.pk for row in services.people_to_orient(scope, today)]
    assert set(expected[:2]) == {people[4].pk, people[5].pk}
    for per_page in (1, 2, 3):
        rows, _ = walk("a_orienter", scope, today, per_page)
        assert [row.pk for row in rows] == expected
        assert [row.seen for row in rows] == [True, True, False, False, False, False, False]


def test_tampered_cursor_gives_the_first_page(departement, manager, frozen):
    today = frozen(2026, 3, 20)
    populate("a_inviter", departement, manager, 3)
    scope = Beneficiary.objects.filter(departement=departement)
    expected = [row.pk for row in services.new_entrants_to_invite(scope, today)]
    for cursor in ("", "%%%", "WzAsWyJ4IiwiTm9tMCIsMV1d", "WzksWzEsMiwzXV0"):  # illisible, valeur forgée…
        page = services.queue_page("a_inviter", scope, today, after=cursor)
        assert [row.pk for row in page] == expected


def test_queue_counts_are_exact_below_the_cap_and_labelled_above(departement, manager, frozen):
    today = frozen(2026, 3, 20)
    populate("a_inviter", departement, manager, 4)
    scope = Beneficiary.objects.filter(departement=departement)
    with CaptureQueriesContext(connection) as ctx:
        counts = services.queue_counts(scope, today, cap=3)
    assert len(ctx.captured_queries) == 1  # toutes les files en une requête
    assert counts["a_inviter"].more and counts["a_inviter"].label == "plus de 3"
    assert counts["a_orienter"].more
    assert counts["invitations"] == 0 and counts["invitations"].label == "0"
    exact = services.queue_counts(scope, today)
    assert exact["a_inviter"] == 4 and exact["a_inviter"].label == "4"


@pytest.mark.parametrize("queue", QUEUES)
def test_queue_page_queries_do_not_grow_past_one_page(client, queue, departement, manager, frozen):
    """Une file de 3 lignes et une file de 60 (deux pages) : même nombre de requêtes, sur chaque page."""
    frozen(2026, 3, 20)
    client.force_login(manager)
    url = reverse("orientation:queues") + f"?file={queue}"
    populate(queue, departement, manager, 3)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    populate(queue, departement, manager, 57, start=3)
    with CaptureQueriesContext(connection) as first:
        response = client.get(url)
    html = unescape(response.content.decode())
    assert html.count('href="/orientation/beneficiaires/') == 50
    page = response.context["page_obj"]
    assert page.has_next and f"file={queue}&apres={page.next_cursor}" in html
    assert "Page suivante" in html and "Page précédente" not in html
    with CaptureQueriesContext(connection) as second:
        response = client.get(reverse("orientation:queues"), {"file": queue, "apres": page.next_cursor})
    assert unescape(response.content.decode()).count('href="/orientation/beneficiaires/') == 10
    assert "Page précédente" in unescape(response.content.decode())
    # La file des personnes à orienter se lit en deux sections (vues en rendez-vous, puis les autres) : une
    # requête par section lue ; la deuxième page, dans la deuxième section, n'en lit qu'une.
    assert len(first.captured_queries) == len(small.captured_queries)
    assert len(second.captured_queries) == len(small.captured_queries) - (queue == "a_orienter")
