"""``parcours demo`` : le territoire de démonstration se crée, se connecte et ne se recrée pas."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from parcours.beneficiaries.models import Beneficiary
from parcours.conventions.models import Convention

pytestmark = pytest.mark.django_db


def _demo(*args):
    out = io.StringIO()
    call_command("demo", "--beneficiaries", "150", "--months", "4", "--until", "2026-10", *args, stdout=out)
    return out.getvalue()


def test_demo_creates_a_usable_territory(client):
    summary = json.loads(_demo("--json"))
    assert summary["created"] is True
    assert summary["beneficiaires"] == Beneficiary.objects.count() == 150
    assert summary["flux_importes"] == 4
    assert summary["nouveaux_entrants"] > 0
    assert Convention.objects.filter(title=summary["convention"]).exists()
    # Les comptes affichés permettent de se connecter et de voir les bénéficiaires du Département.
    assert client.login(username="orientation@demo.parcours.fr", password=summary["mot_de_passe"])
    page = client.get("/beneficiaires/")
    assert page.status_code == 200
    assert page.context["page_obj"].count == 150
    client.logout()
    # L'État signataire lit le tableau de bord ; le délégué à la protection des données, le journal d'accès
    # (et aucun dossier).
    assert client.login(username="etat@demo.parcours.fr", password=summary["mot_de_passe"])
    assert client.get("/pilotage/").status_code == 200
    client.logout()
    assert client.login(username="dpo@demo.parcours.fr", password=summary["mot_de_passe"])
    assert client.get("/journal-acces/").status_code == 200
    assert client.get("/beneficiaires/").context["page_obj"].count == 0
    client.logout()
    # La structure partenaire voit son espace : ses services publiés au catalogue.
    assert client.login(username="structure@demo.parcours.fr", password=summary["mot_de_passe"])
    space = client.get("/catalogue/espace-structure/")
    assert space.status_code == 200
    assert "Chantier d&#x27;insertion Les Jardins de Redon" in space.content.decode()


def test_demo_is_not_created_twice():
    _demo("--json")
    assert "n'est pas recréé" in _demo("--if-empty")
    with pytest.raises(CommandError, match="déjà un Département"):
        _demo()
