import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from parcours.accompaniment import services
from parcours.accompaniment.models import Contract, ContractKind, ContractStatus, HoursExemption
from parcours.accompaniment.permissions import access_for
from parcours.beneficiaries.models import Beneficiary
from parcours.journal.models import Event
from parcours.journal.transitions import TransitionError
from tests.accompaniment.conftest import objective, situation
from tests.factories import BeneficiaryFactory, DepartementFactory, HouseholdFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def diagnose(person, author, *, can_see_sensitive=True, situations=(), **fields):
    fields.setdefault("conducted_on", D(2026, 3, 10))
    return services.save_diagnostic(
        person, author=author, can_see_sensitive=can_see_sensitive, situations=situations, **fields
    )


# --- diagnostic -----------------------------------------------------------------------------------------


def test_each_save_is_a_new_version_with_author_and_journal_event(person, orientation_manager, follower):
    no_car = situation("mobilite", "Aucun moyen de transport")
    tenant = situation("logement", "Locataire du parc social")
    first = diagnose(person, orientation_manager, situations=[no_car], skills="Cariste (CACES 3)")
    second = diagnose(
        person,
        follower,
        situations=[no_car, tenant],
        skills="Cariste",
        conducted_on=D(2026, 4, 2),
        joint=True,
    )

    assert (first.number, second.number) == (1, 2)
    assert [v.number for v in services.diagnostic_history(person)] == [2, 1]
    first.refresh_from_db()
    assert first.skills == "Cariste (CACES 3)"  # la version précédente reste lisible, inchangée
    assert list(first.situations.all()) == [no_car]
    assert second.author == follower
    events = Event.objects.filter(beneficiary=person, kind="diagnosed").order_by("occurred_on")
    assert [(e.occurred_on, e.payload["version"], e.actor_id) for e in events] == [
        (D(2026, 3, 10), 1, orientation_manager.pk),
        (D(2026, 4, 2), 2, follower.pk),
    ]
    assert events[1].payload["themes"] == ["logement", "mobilite"]
    assert events[1].payload["joint"] is True


def test_prefill_comes_from_previous_version_and_known_facts(person, orientation_manager):
    initial, previous = services.prefill_diagnostic(person, can_see_sensitive=True)
    assert previous is None and set(initial) == {"conducted_on"}

    mdph = situation("sante", "Existence d'un dossier MDPH")
    permit = situation("mobilite", "Permis B")
    diagnose(
        person,
        orientation_manager,
        situations=[mdph, permit],
        professional_project="Agent de propreté",
        health_notes="Lombalgie chronique",
        weekly_availability_hours=20,
    )
    initial, previous = services.prefill_diagnostic(person, can_see_sensitive=True)
    assert previous.number == 1
    assert initial["professional_project"] == "Agent de propreté"
    assert initial["weekly_availability_hours"] == 20
    assert set(initial["situations"]) == {mdph.pk, permit.pk}
    assert initial["health_notes"] == "Lombalgie chronique"

    restricted, _ = services.prefill_diagnostic(person, can_see_sensitive=False)
    assert restricted["situations"] == [permit.pk]
    assert "health_notes" not in restricted

    facts = dict(services.known_facts(person))
    assert facts["Adresse"] == "3 rue des Forges 35600 Redon"
    assert "1234567A" in facts["France Travail"]
    assert facts["Nouvel entrant"] == "T0 le 02/03/2026"


def test_known_facts_reads_household_composition(departement):
    household = HouseholdFactory(departement=departement)
    person = BeneficiaryFactory(departement=departement, household=household, role="DEM")
    BeneficiaryFactory(departement=departement, household=household, role="CJT")
    BeneficiaryFactory(departement=departement, household=household, role="ENF", nir=None)
    facts = dict(services.known_facts(person))
    assert facts["Foyer"] == "vit en couple (conjoint connu de la CAF/MSA); 1 enfant déclaré dans le foyer"


def test_agent_without_health_access_keeps_health_data_unseen_and_untouched(person, orientation_manager):
    mdph = situation("sante", "Existence d'un dossier MDPH")
    permit = situation("mobilite", "Permis B")
    diagnose(person, orientation_manager, situations=[mdph], health_notes="Suivi psychiatrique")

    # Un agent sans accès aux données de santé enregistre une nouvelle version : il ne voit pas la santé,
    # ne peut pas la modifier (ce qu'il envoie est ignoré), et elle n'est pas perdue.
    other = diagnose(
        person,
        None,
        can_see_sensitive=False,
        situations=[permit, situation("sante", "Couverture sociale")],
        health_notes="",
    )
    assert set(other.situations.all()) == {permit, mdph}
    assert other.health_notes == "Suivi psychiatrique"
    visible = services.grouped_situations(other, can_see_sensitive=False)
    assert [(t.code, items) for t, items in visible] == [("mobilite", [permit])]
    assert services.hidden_sensitive_count(other) == 1
    event = Event.objects.filter(kind="diagnosed").order_by("-pk").first()
    assert "sante" not in event.payload["themes"]


def test_health_access_depends_on_role_in_an_organisation_following_the_person(
    person, orientation_manager, follower, manager
):
    from tests.factories import MembershipFactory, OrganisationFactory

    assert access_for(orientation_manager, person).can_see_sensitive
    assert access_for(follower, person).can_see_sensitive
    assert access_for(follower, person).can_edit
    read_only = access_for(manager, person)
    assert not read_only.can_see_sensitive and not read_only.can_edit
    # référente d'une autre agence France Travail, qui ne suit pas la personne
    stranger = MembershipFactory(organisation=OrganisationFactory(), role="referent").user
    assert not access_for(stranger, person).can_see_sensitive


def test_future_interview_date_is_refused(person, orientation_manager):
    with pytest.raises(ValidationError) as error:
        diagnose(person, orientation_manager, conducted_on=D(2099, 1, 1))
    assert "ne peut pas être future" in str(error.value)


def test_diagnostic_dates_for_indicators(person, orientation_manager):
    diagnose(person, orientation_manager, conducted_on=D(2026, 3, 10))
    diagnose(person, orientation_manager, conducted_on=D(2026, 5, 4))
    [row] = services.diagnostic_dates(Beneficiary.objects.filter(pk=person.pk))
    assert row == {
        "beneficiary": person.pk,
        "first_on": D(2026, 3, 10),
        "last_on": D(2026, 5, 4),
        "versions": 2,
    }


# --- contrat --------------------------------------------------------------------------------------------


def full_contract(person, author, **fields):
    fields.setdefault("weekly_hours", 15)
    return services.create_contract(
        person,
        author=author,
        referent=author,
        referent_commitments="Un rendez-vous toutes les deux semaines, mise en relation avec l'atelier mobilité.",
        person_commitments="Suivre la formation au code de la route, chercher un poste de cariste.",
        intensity="renforce",
        objectives=[objective("mobilite", "Obtenir le permis")],
        **fields,
    )


def test_weekly_hours_below_15_need_an_exemption(person, orientation_manager):
    with pytest.raises(ValidationError) as error:
        full_contract(person, orientation_manager, weekly_hours=10)
    message = error.value.message_dict["weekly_hours"][0]
    assert message.startswith("Durée hebdomadaire d'activité : 10 h est inférieure au minimum de 15 h")
    assert not Contract.objects.exists()

    contract = full_contract(
        person,
        orientation_manager,
        weekly_hours="8,5",
        hours_exemption=HoursExemption.SINGLE_PARENT,
        hours_exemption_details="Enfant de 4 ans, pas de place en crèche avant septembre.",
    )
    assert contract.weekly_hours == Decimal("8.5")
    # les CER et PPAE (historique, imports) ne sont pas soumis à la règle des 15 h
    cer = services.create_contract(person, author=None, kind=ContractKind.CER, weekly_hours=4)
    assert cer.weekly_hours == 4
    with pytest.raises(ValidationError, match="dépasse le maximum"):
        full_contract(person, orientation_manager, weekly_hours=40)


def test_action_hours_give_the_weekly_total(person, orientation_manager):
    from parcours.accompaniment.models import Action

    code = Action.objects.get(theme__code="mobilite", label="Bourse au permis")
    contract = full_contract(
        person,
        orientation_manager,
        weekly_hours=None,
        actions=[
            {"action": code, "weekly_hours": 6},
            {"label": "Immersion en entrepôt", "weekly_hours": "12"},
        ],
    )
    assert contract.weekly_hours == 18
    assert [(a.label, a.weekly_hours) for a in contract.actions.all()] == [
        ("Bourse au permis", 6),
        ("Immersion en entrepôt", 12),
    ]


def test_contract_transitions_are_logged_and_journaled(person, orientation_manager, departement):
    departement.delay_overrides = {"contract_review_months": 3}
    departement.save()
    contract = full_contract(person, orientation_manager)
    assert contract.status == ContractStatus.DRAFT
    assert contract.rights_and_appeals.startswith("Vous avez droit à un accompagnement")

    with pytest.raises(
        TransitionError, match="Contrat : impossible de passer de « Brouillon » à « Terminé »"
    ):
        services.end_contract(contract, actor=orientation_manager, on=D(2026, 4, 1), reason="Sortie")

    services.sign_contract(contract, actor=orientation_manager, on=D(2026, 4, 1))
    contract.refresh_from_db()
    assert (contract.status, contract.signed_on, contract.review_on) == (
        "signed",
        D(2026, 4, 1),
        D(2026, 7, 1),
    )
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        services.update_contract(contract, author=orientation_manager, weekly_hours=20)

    with pytest.raises(ValidationError, match="Motif de fin"):
        services.end_contract(contract, actor=orientation_manager, on=D(2026, 9, 1), reason="")
    services.end_contract(
        contract, actor=orientation_manager, on=D(2026, 9, 1), reason="Reprise d'emploi en CDI"
    )

    changes = [(c.from_status, c.to_status, c.occurred_on) for c in contract.status_changes.all()]
    assert changes == [
        ("", "draft", changes[0][2]),
        ("draft", "signed", D(2026, 4, 1)),
        ("signed", "ended", D(2026, 9, 1)),
    ]
    assert all(c.actor == orientation_manager for c in contract.status_changes.all())
    events = list(
        Event.objects.filter(beneficiary=person).order_by("occurred_on").values_list("kind", "payload")
    )
    assert events[0][0] == "contract_signed" and events[0][1]["contract_kind"] == "contrat_engagement"
    assert events[0][1]["review_on"] == "2026-07-01"
    assert events[1] == (
        "contract_ended",
        {
            "contract_id": contract.pk,
            "contract_kind": "contrat_engagement",
            "reason": "Reprise d'emploi en CDI",
        },
    )


def test_signing_requires_a_complete_contract(person, orientation_manager):
    contract = services.create_contract(person, author=orientation_manager)
    with pytest.raises(ValidationError) as error:
        services.sign_contract(contract, actor=orientation_manager, on=D(2026, 4, 1))
    assert set(error.value.message_dict) == {
        "referent_commitments",
        "person_commitments",
        "intensity",
        "objectives",
        "weekly_hours",
    }
    contract.refresh_from_db()
    assert contract.status == "draft"
    assert not Event.objects.filter(kind="contract_signed").exists()


def test_signing_a_new_contract_ends_the_previous_one(person, orientation_manager):
    old = full_contract(person, orientation_manager)
    services.sign_contract(old, actor=orientation_manager, on=D(2026, 1, 5))
    new = full_contract(person, orientation_manager, weekly_hours=20)
    services.sign_contract(new, actor=orientation_manager, on=D(2026, 5, 5))
    old.refresh_from_db()
    assert old.status == "ended" and old.ended_on == D(2026, 5, 5)
    assert old.end_reason == f"Remplacé par le contrat n°{new.pk} signé le 05/05/2026"
    assert services.current_contract(person) == new
    assert services.contracts_signed_counts(D(2026, 1, 1), D(2026, 12, 31)) == {
        "cer": 0,
        "ppae": 0,
        "contrat_engagement": 2,
    }


# --- délai légal ----------------------------------------------------------------------------------------


def test_contract_deadline_is_one_month_per_departement_setting(departement):
    assert services.contract_deadline(D(2026, 3, 16), departement) == D(2026, 4, 16)
    assert services.contract_deadline(D(2026, 1, 31), departement) == D(2026, 2, 28)
    val_de_marne = DepartementFactory(departement_code="94", name="Val-de-Marne")
    val_de_marne.delay_overrides = {"contract_deadline_months": 2}
    assert services.contract_deadline(D(2026, 3, 16), val_de_marne) == D(2026, 5, 16)


def orient(person, on, kind="oriented"):
    Event.objects.create(beneficiary=person, kind=kind, occurred_on=on, payload={"parcours": "social"})


def test_late_contracts_given_a_date(departement, orientation_manager):
    late = BeneficiaryFactory(departement=departement, last_name="Enretard")
    on_time = BeneficiaryFactory(departement=departement, last_name="Dansledelai")
    signed = BeneficiaryFactory(departement=departement, last_name="Signe")
    reoriented = BeneficiaryFactory(departement=departement, last_name="Reoriente")
    BeneficiaryFactory(departement=departement, last_name="Nonoriente")
    orient(late, D(2026, 3, 1))
    orient(on_time, D(2026, 3, 16))
    orient(signed, D(2026, 3, 1))
    contract = full_contract(signed, orientation_manager)
    services.sign_contract(contract, actor=orientation_manager, on=D(2026, 3, 20))
    # contrat signé, puis réorientation : un nouveau contrat est dû dans le mois
    orient(reoriented, D(2026, 1, 5))
    old = full_contract(reoriented, orientation_manager)
    services.sign_contract(old, actor=orientation_manager, on=D(2026, 1, 20))
    orient(reoriented, D(2026, 3, 2), kind="reoriented")

    def names(on):
        people = services.late_contracts(Beneficiary.objects.all(), on)
        return sorted(p.last_name for p in people)

    assert names(D(2026, 4, 1)) == []  # notifiée le 01/03 : échéance le 01/04, encore dans le délai
    assert names(D(2026, 4, 2)) == ["Enretard"]
    assert names(D(2026, 4, 3)) == ["Enretard", "Reoriente"]
    assert names(D(2026, 4, 17)) == ["Dansledelai", "Enretard", "Reoriente"]

    # un autre Département avec un délai de 2 mois
    other = DepartementFactory(departement_code="94", name="Val-de-Marne")
    other.delay_overrides = {"contract_deadline_months": 2}
    other.save()
    slow = BeneficiaryFactory(departement=other, last_name="Valdemarnais")
    orient(slow, D(2026, 3, 1))
    assert "Valdemarnais" not in names(D(2026, 4, 20))
    assert "Valdemarnais" in names(D(2026, 5, 2))
    rows = services.contract_deadline_rows(
        services.late_contracts(Beneficiary.objects.filter(pk=slow.pk), D(2026, 5, 4)).select_related(
            "departement"
        ),
        D(2026, 5, 4),
    )
    assert rows == [(rows[0][0], D(2026, 3, 1), D(2026, 5, 1), 3)]
