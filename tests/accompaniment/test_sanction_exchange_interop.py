"""France Travail reçoit le manquement et la décision des personnes qu'il suit (webhooks ``sanction.etape`` et
lecture ``/sanctions/etapes``) ; les mesures pour l'organisme payeur et leur statut sont publiées
(``sanction.mesure``, ``/sanctions/mesures``), le matricule au seul système du Département."""

import datetime

import pytest

from parcours.accompaniment import sanction_exchange as exchange
from parcours.accompaniment import sanctions
from parcours.accompaniment.models import SanctionStatus
from parcours.accounts.models import OrganisationKind, Role
from parcours.interop import services, webhooks
from parcours.interop.models import Delivery, Scope
from parcours.pathway import services as pathway
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    HouseholdFactory,
    MembershipFactory,
    OrganisationFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date
S = SanctionStatus
URL = "https://partenaire.example/webhooks"


@pytest.fixture
def setting():
    departement = DepartementFactory()
    france_travail = OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )
    manager = MembershipFactory(organisation=departement, role=Role.ORIENTATION_MANAGER).user
    household = HouseholdFactory(departement=departement, organism="CAF", matricule="3512345")
    followed = BeneficiaryFactory(departement=departement, household=household, last_name="Lebreton")
    other = BeneficiaryFactory(departement=departement, last_name="Guérin")
    pathway.open_follow_up(followed, organisation=france_travail, on=D(2026, 3, 2), cause="import")
    return departement, france_travail, manager, followed, other


def run_case(person, actor):
    case = sanctions.open_case(
        person,
        ground="absences",
        facts="Trois rendez-vous manqués en février.",
        actor=actor,
        on=D(2026, 3, 2),
    )
    case = sanctions.transition_case(case, S.NOTICE_SENT, actor=actor, on=D(2026, 3, 9), reason="Courrier")
    case = sanctions.transition_case(
        case,
        S.DECIDED,
        actor=actor,
        on=D(2026, 4, 10),
        reason="Aucune observation : propos confidentiels",
        decision="suspension",
        reduction_percent=40,
        duration_months=2,
    )
    return sanctions.transition_case(case, S.NOTIFIED, actor=actor, on=D(2026, 4, 15), reason="Notifiée")


def get(client, token, path, **params):
    return client.get(f"/api/v1/interop/{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_france_travail_receives_the_breach_and_the_decision_by_webhook(setting):
    departement, france_travail, manager, followed, other = setting
    partner, _token = services.issue_token(france_travail, "SI France Travail", [Scope.SANCTIONS_READ])
    webhooks.subscribe(partner, URL, ["sanction.etape"])
    run_case(other, manager)  # personne qu'il ne suit pas : rien ne lui est envoyé
    case = run_case(followed, manager)

    deliveries = Delivery.objects.order_by("pk")
    assert {d.payload["personne"] for d in deliveries} == {followed.pk}
    published = [(d.event_type, d.payload["donnees"]) for d in deliveries]
    assert published == [
        ("sanction.etape", {"procedure": case.pk, "etape": "opened", "manquement": "absences"}),
        ("sanction.etape", {"procedure": case.pk, "etape": "notice_sent", "etape_precedente": "opened"}),
        (
            "sanction.etape",
            {
                "procedure": case.pk,
                "etape": "decided",
                "etape_precedente": "notice_sent",
                "decision": "suspension",
                "taux_reduction": 40,
                "duree_mois": 2,
            },
        ),
        ("sanction.etape", {"procedure": case.pk, "etape": "notified", "etape_precedente": "decided"}),
    ]
    # Ni les faits ni les motifs rédigés ne sortent.
    assert "confidentiels" not in str(published) and "février" not in str(published)


def test_the_measure_and_its_acknowledgement_are_published(setting):
    departement, france_travail, manager, followed, _other = setting
    partner, _token = services.issue_token(france_travail, "SI France Travail", [Scope.SANCTIONS_READ])
    webhooks.subscribe(partner, URL, ["sanction.mesure"])
    case = run_case(followed, manager)
    exchange.transmit_month(departement, "CAF", D(2026, 4, 1), on=D(2026, 5, 2))
    notice = case.notices.get()
    exchange.import_acknowledgements(f"reference;statut\n{notice.reference};accuse\n".encode(), departement)
    statuses = [d.payload["donnees"]["statut"] for d in Delivery.objects.order_by("pk")]
    assert statuses == ["a_transmettre", "transmis", "accuse"]
    first = Delivery.objects.order_by("pk").first().payload["donnees"]
    assert first == {
        "mesure": notice.pk,
        "procedure": case.pk,
        "nature": "reduction",
        "statut": "a_transmettre",
        "organisme": "CAF",
        "taux_reduction": 40,
        "debut": "2026-04-15",
        "fin": "2026-06-14",
    }


def test_the_api_lists_steps_and_measures_in_the_partner_scope(client, setting):
    departement, france_travail, manager, followed, other = setting
    run_case(other, manager)
    case = run_case(followed, manager)
    _ft, ft_token = services.issue_token(france_travail, "SI France Travail", [Scope.SANCTIONS_READ])
    _dep, dep_token = services.issue_token(departement, "Logiciel du Département", [Scope.SANCTIONS_READ])

    steps = get(client, ft_token, "sanctions/etapes").json()
    assert [(s["procedure"], s["etape"], s["decision"]) for s in steps["elements"]] == [
        (case.pk, "opened", None),
        (case.pk, "notice_sent", None),
        (case.pk, "decided", "suspension"),
        (case.pk, "notified", "suspension"),
    ]
    assert steps["elements"][2]["taux_reduction"] == 40 and steps["elements"][0]["le"] == "2026-03-02"

    (measure,) = get(client, ft_token, "sanctions/mesures").json()["elements"]
    assert (measure["nature"], measure["organisme"], measure["matricule"]) == ("reduction", "CAF", None)
    assert (measure["debut"], measure["fin"], measure["statut"]) == (
        "2026-04-15",
        "2026-06-14",
        "a_transmettre",
    )
    mine = get(client, dep_token, "sanctions/mesures").json()["elements"]
    assert sorted(m["matricule"] for m in mine) == sorted(
        [followed.household.matricule, other.household.matricule]
    )
    by_person = {m["personne"]: m["id"] for m in mine}
    assert get(client, ft_token, f"sanctions/mesures/{by_person[followed.pk]}").json()["procedure"] == case.pk
    assert get(client, ft_token, f"sanctions/mesures/{by_person[other.pk]}").status_code == 404
    no_scope = services.issue_token(france_travail, "Autre logiciel", [Scope.PEOPLE_READ])[1]
    assert get(client, no_scope, "sanctions/etapes").status_code == 403
