"""La frise du parcours (fiche de la personne) se lit en phrases (« Orientation vers France Travail Redon
(parcours social) notifiée par … ») écrites avec les déclarations du journal : libellés français, noms des
agents et des organisations citées (une requête par sorte, pas une par événement)."""

import datetime
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.accounts.models import Role
from parcours.journal.models import Event, EventKind
from parcours.journal.services import record
from parcours.orientation.models import DecisionStatus, OrientationDecision, Pathway
from parcours.www.story import SENTENCES, details, placeholders, sentence
from tests.factories import BeneficiaryFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def _page(client, person):
    agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
    client.force_login(agent)
    response = client.get(reverse("beneficiary_detail", args=[person.pk]))
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_timeline_is_written_in_sentences_with_names(client):
    person = BeneficiaryFactory()
    referent = UserFactory(first_name="Maëlle", last_name="Guillou")
    agency = OrganisationFactory(name="France Travail Redon")
    orienter = UserFactory(first_name="Yann", last_name="Morvan")
    decision = OrientationDecision.objects.create(
        beneficiary=person,
        pathway=Pathway.SOCIAL,
        organisation=agency,
        status=DecisionStatus.NOTIFIED,
        decided_on=D(2026, 2, 27),
        notified_on=D(2026, 3, 2),
    )
    record(
        person,
        EventKind.ORIENTED,
        on=D(2026, 3, 2),
        actor=orienter,
        decision_id=decision.pk,
        pathway="social",
        decided_on=D(2026, 2, 27),
    )
    record(
        person, EventKind.FOLLOW_UP_OPENED, on=D(2026, 3, 2), organisation_id=agency.pk, cause="orientation"
    )
    record(person, EventKind.REFERENT_ASSIGNED, on=D(2026, 3, 9), assignment_id=8, referent_id=referent.pk)
    record(
        person,
        EventKind.EMPLOYMENT_CHECKED,
        on=D(2026, 9, 9),
        exit_id=2,
        still_employed=True,
        six_month=False,
    )
    html = _page(client, person)
    for expected in [
        "Orientation vers France Travail Redon (parcours social) notifiée</strong>",
        "par Yann Morvan",
        "Décidée le : 27/02/2026",  # ce que la phrase ne dit pas reste en détail
        "Suivi ouvert par France Travail Redon</strong>",
        "Ouvert par : Orientation notifiée",
        "Référent désigné : Maëlle Guillou</strong>",
        "Suivi dans l'emploi vérifié</strong>",
        "En emploi : oui · Vérification à 6 mois : non",
    ]:
        assert expected in html, expected
    # Ni clé anglaise, ni numéro interne (décision, désignation, sortie) sous les yeux de l'agent.
    for raw in (
        "referent_id",
        "organisation_id",
        "Décision d'orientation : n°",
        "Désignation : n°",
        "Sortie : n°",
    ):
        assert raw not in html, raw


def test_the_author_organisation_is_said_only_when_the_agent_belongs_to_it(client):
    """Une orientation vers France Travail enregistrée par un agent du Département : l'organisation de
    l'événement est l'organisation visée, elle ne doit pas être donnée pour celle de l'agent."""
    person = BeneficiaryFactory()
    agency = OrganisationFactory(name="France Travail Redon")
    orienter = MembershipFactory(
        organisation=person.departement, user__first_name="Yann", user__last_name="Morvan"
    ).user
    counsellor = MembershipFactory(
        organisation=agency, user__first_name="Sophie", user__last_name="Hamon"
    ).user
    record(
        person,
        EventKind.REFERENT_ASSIGNED,
        on=D(2026, 3, 9),
        actor=orienter,
        organisation=agency,
        assignment_id=8,
        referent_id=counsellor.pk,
    )
    record(
        person,
        EventKind.CONTACT_UPDATED,
        on=D(2026, 3, 12),
        actor=counsellor,
        organisation=agency,
        fields=["phone"],
    )
    html = _page(client, person)
    assert "par Yann Morvan (France Travail Redon)" not in html
    assert "par Yann Morvan" in html
    assert "par Sophie Hamon (France Travail Redon)" in html


def test_every_event_kind_has_a_sentence_using_declared_keys():
    from parcours.journal.payload import SCHEMAS
    from parcours.www.story import DECISION_ORGANISATION

    assert set(SENTENCES) == set(EventKind)
    for kind, template in SENTENCES.items():
        declared = {key.name for key in SCHEMAS[kind].keys} | {DECISION_ORGANISATION}
        used = placeholders(template.replace("[", "").replace("]", ""))
        assert used <= declared, (kind, used - declared)


def test_optional_parts_are_left_out_when_their_value_is_missing(client):
    person = BeneficiaryFactory()
    record(person, EventKind.ORIENTED, on=D(2026, 3, 2), decision_id=999, pathway="emploi")
    html = _page(client, person)
    assert "Orientation (parcours emploi) notifiée</strong>" in html
    assert " vers " not in html.split("Histoire du parcours")[1].split("</section>")[0]


def test_old_events_with_french_keys_are_shown_with_declared_labels():
    event = Event(
        kind=EventKind.EXITED,
        occurred_on=D(2026, 5, 20),
        payload={"sortie": 4, "motif": "emploi", "contrat": "cdi", "inconnue": "x"},
    )
    assert sentence(event) == "Sortie de l'accompagnement : emploi salarié"
    # Le motif est dit par la phrase, le numéro de sortie est interne ; la clé inconnue est montrée telle quelle.
    assert details(event) == "Contrat de travail : CDI · inconnue : x"


def test_names_are_read_once_per_kind_of_object(client):
    def queries(person):
        agent = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER).user
        client.force_login(agent)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("beneficiary_detail", args=[person.pk])).status_code == 200
        return len(captured)

    def enrich(person, n):
        for i in range(n):
            organisation = OrganisationFactory()
            record(
                person,
                EventKind.FOLLOW_UP_OPENED,
                on=D(2026, 1, 1 + i),
                organisation_id=organisation.pk,
                referent_id=UserFactory().pk,
                cause="referent",
            )

    small, big = BeneficiaryFactory(), BeneficiaryFactory()
    enrich(small, 1)
    enrich(big, 8)
    assert queries(small) == queries(big)
