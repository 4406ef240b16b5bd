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
