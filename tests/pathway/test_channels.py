"""Un même parcours enregistré par chaque voie — les pages, l'API des partenaires, l'import d'un autre
logiciel — donne les mêmes événements du journal et les mêmes indicateurs : toutes passent par les mêmes
fonctions du parcours.

Le parcours : nouvel entrant au 01/03/2026 (T0), orienté vers France Travail (parcours emploi) notifié le
05/03, conseillère France Travail désignée référente le 08/03, PPAE signé le 20/03, fin du suivi le 30/04.
"""

import json

import pytest
from django.urls import reverse

from parcours.accompaniment import services as accompaniment
from parcours.accounts.models import Role
from parcours.beneficiaries.models import Beneficiary
from parcours.indicators.definitions import compute_indicators
from parcours.interop import services as interop
from parcours.interop.models import Scope
from parcours.journal.models import Event
from parcours.pathway.imports import import_pathway
from tests.factories import MembershipFactory
from tests.indicators.conftest import PEOPLE, D, person, row

FT_SIRET = "13000548100010"
END_REASON = "Déménagement hors du Département"
# Identifiants propres à chaque enregistrement (décision, désignation, contrat) : ils diffèrent d'une voie à
# l'autre par construction ; tout le reste du journal doit être identique.
OWN_IDS = {
    "decision_id",
    "assignment_id",
    "contract_id",
    "previous_decision_id",
    "reference",
    "external_reference",
}


@pytest.fixture
def people(flux, france_travail):
    france_travail.siret = FT_SIRET
    france_travail.save()
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"))
    return {name: person(name) for name in ("alice", "bruno", "chloe")}


@pytest.fixture
def counsellor(france_travail):
    return MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__email="conseillere.redon@francetravail.fr"
    ).user


def by_pages(client, beneficiary, manager, counsellor, france_travail):
    client.force_login(manager)
    panel = reverse("orientation:panel", args=[beneficiary.pk])
    decided = {
        "action": "decide",
        "pathway": "emploi",
        "organisation": france_travail.pk,
        "decided_on": "2026-03-05",
        "notified_on": "2026-03-05",
    }
    assert client.post(panel, decided).status_code == 302
    designated = {
        "action": "referent",
        "referent": f"{france_travail.pk}-{counsellor.pk}",
        "started_on": "2026-03-08",
    }
    assert client.post(panel, designated).status_code == 302
    client.force_login(counsellor)
    draft = accompaniment.create_contract(
        beneficiary, author=counsellor, kind="ppae", organisation=france_travail
    )
    url = reverse("accompaniment:contract_transition", args=[draft.pk])
    assert client.post(url, {"action": "signer", "on": "2026-03-20"}).status_code == 302
    client.force_login(manager)
    ended = {"action": "end_follow_up", "ended_on": "2026-04-30", "reason": END_REASON}
    assert client.post(panel, ended).status_code == 302


def by_api(client, beneficiary, departement, counsellor, france_travail):
    _dep, dep_token = interop.issue_token(departement, "Logiciel du Département", list(Scope.values))
    _ft, ft_token = interop.issue_token(france_travail, "SI France Travail", list(Scope.values))

    def post(token, path, body):
        response = client.post(
            f"/api/v1/interop/{path}",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_IDEMPOTENCY_KEY=f"{path}-{beneficiary.pk}",
        )
        assert response.status_code in (200, 201), response.content

    post(
        dep_token,
        "orientations",
        {
            "personne": beneficiary.pk,
            "parcours": "PED",
            "organisation": FT_SIRET,
            "notifiee_le": "2026-03-05",
        },
    )
    post(
        ft_token,
        "referents",
        {"personne": beneficiary.pk, "referent": counsellor.email, "designe_le": "2026-03-08"},
    )
    post(
        ft_token,
        "contrats",
        {"personne": beneficiary.pk, "type": "ppae", "signe_le": "2026-03-20", "reference": "P-1"},
    )
    post(ft_token, "fins-de-suivi", {"personne": beneficiary.pk, "fin_le": "2026-04-30", "motif": END_REASON})


def by_import(tmp_path, name, departement, counsellor):
    nir = PEOPLE[name][1]
    rows = [
        "nir;evenement;date;parcours;structure;referent;type_contrat;motif",
        f"{nir};orientation;05/03/2026;emploi;{FT_SIRET};;;",
        f"{nir};referent;08/03/2026;;{FT_SIRET};{counsellor.email};;",
        f"{nir};contrat;20/03/2026;;;;ppae;",
        f"{nir};fin_suivi;30/04/2026;;;;;{END_REASON}",
    ]
    path = tmp_path / "parcours.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = import_pathway(path, departement=departement)
    assert not report.errors, report.errors


def journal(beneficiary):
    """Le journal de la personne sans ce qui dépend de la voie : identifiants propres, auteur, heure."""
    rows = []
    for event in Event.objects.filter(beneficiary=beneficiary).order_by("occurred_on", "pk"):
        payload = {k: v for k, v in event.payload.items() if k not in OWN_IDS}
        rows.append(
            (event.kind, event.occurred_on, event.organisation_id, json.dumps(payload, sort_keys=True))
        )
    return sorted(rows)


def indicators(beneficiary):
    return compute_indicators(Beneficiary.objects.filter(pk=beneficiary.pk), D(2026, 3, 1), D(2026, 4, 30))


def test_the_same_pathway_through_pages_api_and_import(
    client, tmp_path, people, departement, manager, counsellor, france_travail
):
    by_pages(client, people["alice"], manager, counsellor, france_travail)
    by_api(client, people["bruno"], departement, counsellor, france_travail)
    by_import(tmp_path, "chloe", departement, counsellor)

    pages, api, imported = (journal(people[name]) for name in ("alice", "bruno", "chloe"))
    kinds = [kind for kind, *_ in pages]
    for expected in (
        "oriented",
        "follow_up_opened",
        "referent_assigned",
        "contract_signed",
        "follow_up_closed",
    ):
        assert expected in kinds
    assert api == pages
    assert imported == pages

    values = indicators(people["alice"])
    assert values["nouveaux_entrants_orientes_15j"] == 1
    assert values["contrats_signes"]["ppae"] == 1
    assert values["beneficiaires_suivis"] == 0  # suivi clos le 30/04
    assert indicators(people["bruno"]) == values
    assert indicators(people["chloe"]) == values
