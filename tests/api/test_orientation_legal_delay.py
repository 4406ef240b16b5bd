"""Par l'API des partenaires (``GET /api/v1/interop/indicateurs``) : la répartition des nouveaux entrants par
délai d'orientation compte T0 + 41 et T0 + 42 dans le délai légal de 6 semaines et T0 + 43 au-delà (Code de
procédure civile art. 641, règle de ``orientation.delays``).

Les deux autres règles du parcours vérifiées avec celle-ci ne s'écrivent pas par l'API : le contrat
d'engagement et sa durée hebdomadaire (l'API ne reçoit que des PPAE et CER signés ailleurs, sans heures) et les
procédures de sanction (aucune ressource)."""

import datetime

import pytest

from parcours.accounts.models import Role
from parcours.interop import services as interop
from parcours.journal.models import Event, EventKind
from parcours.orientation import services as orientation
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db

D = datetime.date
T0 = D(2026, 3, 2)  # un lundi
DAY = datetime.timedelta(days=1)


def test_indicators_api_counts_t0_plus_42_in_the_legal_delay(client):
    departement = DepartementFactory()
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    for days in (41, 42, 43):
        person = BeneficiaryFactory(departement=departement, new_entrant_t0=T0)
        Event.objects.create(beneficiary=person, kind=EventKind.NEW_ENTRANT, occurred_on=T0)
        decision = orientation.decide_orientation(
            person, pathway="emploi", organisation=departement, author=manager, decided_on=T0 + days * DAY
        )
        orientation.notify_orientation(decision, author=manager, notified_on=T0 + days * DAY)
    _, token = interop.issue_token(departement, "Logiciel du Département", ["indicateurs:lecture"])

    response = client.get(
        "/api/v1/interop/indicateurs",
        {"debut": "2026-03-01", "fin": "2026-03-31"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    values = response.json()["indicateurs"]
    assert values["nouveaux_entrants"] == 3
    assert values["distribution_delai_t0_orientation"] == {
        "objectif": 0,
        "delai_legal": 2,
        "au_dela": 1,
        "non_oriente": 0,
    }
