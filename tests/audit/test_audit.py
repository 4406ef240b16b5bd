import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from tests.audit.helpers import disable_guards
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(client):
    """Trois lectures de dossiers par un chargé d'orientation d'Ille-et-Vilaine."""
    people = [BeneficiaryFactory(last_name=name) for name in ("Le Goff", "Martin", "Diallo")]
    agent = MembershipFactory(organisation=people[0].departement, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    for person in people:
        assert client.get(f"/beneficiaires/{person.pk}/").status_code == 200
    client.logout()
    return people, agent


def test_each_read_is_chained_to_the_previous_one(reads):
    entries = list(AccessLog.objects.order_by("pk"))
    assert len(entries) == 3
    assert entries[0].previous_hash == "0" * 64
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_hash == before.hash
    out = io.StringIO()
    call_command("audit-verify", stdout=out)
    assert "intègre : 3 entrées vérifiées" in out.getvalue()


def test_the_log_refuses_changes_and_deletions_through_the_application(reads):
    entry = AccessLog.objects.first()
    entry.reason = "effacer mes traces"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()


def test_tampering_in_the_database_is_detected(reads):
    people, _agent = reads
    target = AccessLog.objects.order_by("pk")[1]
    table = AccessLog._meta.db_table
    if connection.vendor == "postgresql":
        # La base elle-même refuse la modification (déclencheur) ...
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET beneficiary_id = %s WHERE id = %s", [people[0].pk, target.pk])  # noqa: S608
    # ... sauf à désactiver les déclencheurs, ce qu'un administrateur de base pourrait faire :
    disable_guards()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET beneficiary_id = %s WHERE id = %s", [people[0].pk, target.pk])  # noqa: S608
    with pytest.raises(CommandError, match="1 anomalie"):
        call_command("audit-verify", stdout=io.StringIO(), stderr=io.StringIO())


def test_dpo_reads_and_exports_the_log_of_their_departement_only(client, reads):
    people, agent = reads
    elsewhere = BeneficiaryFactory(
        departement=DepartementFactory(departement_code="44", name="Loire-Atlantique")
    )
    other_agent = MembershipFactory(organisation=elsewhere.departement, role=Role.ADMIN).user
    client.force_login(other_agent)
    client.get(f"/beneficiaires/{elsewhere.pk}/")

    dpo = MembershipFactory(organisation=people[0].departement, role=Role.DPO).user
    client.force_login(dpo)
    page = client.get("/journal-acces/")
    assert page.status_code == 200
    listed = {entry.beneficiary_id for entry in page.context["page_obj"]}
    assert listed == {person.pk for person in people}

    filtered = client.get("/journal-acces/", {"personne": people[1].pk})
    assert [entry.beneficiary_id for entry in filtered.context["page_obj"]] == [people[1].pk]
    bad = client.get("/journal-acces/", {"du": "31/02/2026"})
    assert "Date « 31/02/2026 » invalide" in bad.content.decode()

    export = client.get("/journal-acces/export.csv")
    assert export.status_code == 200
    rows = list(
        csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0][:3] == ["n°", "date", "agent"]
    assert {row[2] for row in rows[1:]} == {agent.email}
    assert len(rows) == 4
    # L'export lui-même est journalisé.
    assert AccessLog.objects.filter(action="export", user=dpo).count() == 1


def test_dpo_pages_through_a_long_log_and_filters_whole_local_days(client, monkeypatch):
    """Le journal se lit par curseur (100 entrées par page, total plafonné) ; « du » et « au » sont des jours
    entiers en heure de Paris : une lecture à 0 h 30 le 8 mars (23 h 30 la veille en UTC) est du 8."""
    import datetime

    from django.utils import timezone

    from parcours.audit.services import record_many

    person = BeneficiaryFactory()
    dpo = MembershipFactory(organisation=person.departement, role=Role.DPO).user

    def write(moment, count, reason):
        monkeypatch.setattr(timezone, "now", lambda: timezone.make_aware(moment))
        entry = {"beneficiary_id": person.pk, "departement_id": person.departement_id, "action": "read"}
        record_many([entry] * count, reason=reason)

    write(datetime.datetime(2026, 3, 7, 23, 59), 1, "la veille")
    write(datetime.datetime(2026, 3, 8, 0, 30), 150, "le 8 mars")
    write(datetime.datetime(2026, 3, 9, 0, 0), 1, "le lendemain")
    monkeypatch.undo()
    client.force_login(dpo)

    first = client.get("/journal-acces/")
    html = first.content.decode()
    assert "<strong>152</strong> entrées" in html
    assert len(first.context["page_obj"]) == 100
    assert first.context["page_obj"][0].reason == "le lendemain"  # les plus récentes d'abord
    second = client.get("/journal-acces/", {"apres": first.context["page_obj"].next_cursor})
    assert len(second.context["page_obj"]) == 52
    assert second.context["page_obj"][51].reason == "la veille"
    assert not second.context["page_obj"].has_next

    day = client.get("/journal-acces/", {"du": "2026-03-08", "au": "2026-03-08"})
    assert {entry.reason for entry in day.context["page_obj"]} == {"le 8 mars"}
    assert "<strong>150</strong> entrées" in day.content.decode()
    # Le curseur garde les filtres : la page suivante du 8 mars ne contient que le 8 mars.
    assert "du=2026-03-08&amp;au=2026-03-08&amp;apres=" in day.content.decode()
    rest = client.get(
        "/journal-acces/",
        {"du": "2026-03-08", "au": "2026-03-08", "apres": day.context["page_obj"].next_cursor},
    )
    assert [entry.reason for entry in rest.context["page_obj"]] == ["le 8 mars"] * 50


def test_agents_cannot_read_the_log(client, reads):
    people, agent = reads
    client.force_login(agent)
    assert client.get("/journal-acces/").status_code == 403
    assert client.get("/journal-acces/export.csv").status_code == 403


def test_deleting_an_account_keeps_its_entries(reads):
    _people, agent = reads
    agent.memberships.all().delete()
    agent.delete()
    assert AccessLog.objects.filter(user_label=agent.email).count() == 3
    call_command("audit-verify", stdout=io.StringIO())
