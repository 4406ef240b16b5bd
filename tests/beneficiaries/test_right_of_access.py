"""Droit d'accès : la personne (ou le DPO pour elle) obtient toutes ses données, et rien d'autrui."""

import io
import json

import pytest
from django.core.management import call_command

from parcours.accompaniment.person_space import create_account
from parcours.audit.models import AccessLog
from parcours.journal.models import Event, EventKind
from tests.factories import BeneficiaryFactory, FollowUpFactory, MembershipFactory, make_nir

pytestmark = pytest.mark.django_db


@pytest.fixture
def awa():
    person = BeneficiaryFactory(first_name="Awa", last_name="Diallo", nir=make_nir(77))
    FollowUpFactory(beneficiary=person)
    Event.objects.create(
        beneficiary=person, kind=EventKind.NEW_ENTRANT, occurred_on="2026-03-01", payload={"t0": "2026-03-01"}
    )
    return person


def test_the_person_downloads_all_their_data_and_only_theirs(client, awa):
    other = BeneficiaryFactory(first_name="Bruno", last_name="Martin", departement=awa.departement)
    Event.objects.create(beneficiary=other, kind=EventKind.NEW_ENTRANT, occurred_on="2026-03-02", payload={})
    account = create_account(awa, email="awa.diallo@example.org", password="motdepasse-solide-2026")
    client.force_login(account.user)
    response = client.get("/accompagnement/mon-espace/mes-donnees.json")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["personne"]["nir"] == make_nir(77)
    assert data["personne"]["first_name"] == "Awa"
    events = next(value for key, value in data.items() if "événement" in key)
    assert [e["kind"]["code"] for e in events] == ["new_entrant"]
    assert "Martin" not in response.content.decode()
    assert any("suivi" in key for key in data)
    assert AccessLog.objects.filter(beneficiary_id=awa.pk, action="right_of_access").count() == 1


def test_an_agent_has_no_personal_space(client, awa):
    client.force_login(MembershipFactory(organisation=awa.departement).user)
    assert client.get("/accompagnement/mon-espace/mes-donnees.json").status_code == 404


def test_command_for_the_dpo_writes_the_file_and_logs_it(awa, tmp_path):
    target = tmp_path / "acces.json"
    out = io.StringIO()
    call_command("right-of-access", str(awa.pk), "--output", str(target), stdout=out)
    data = json.loads(target.read_text())
    assert data["personne"]["last_name"] == "Diallo"
    assert "rubriques" in out.getvalue()
    assert AccessLog.objects.get(beneficiary_id=awa.pk).action == "right_of_access"
