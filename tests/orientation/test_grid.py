"""Grille d'orientation partagée : proposition lue dans le diagnostic, règles du Département, explication,
pages d'administration (réservées aux administrateurs du Département)."""

import datetime
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Situation
from parcours.accounts.models import OrganisationKind, Role
from parcours.orientation import grid, services
from parcours.orientation.models import ProposalRule
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

D = datetime.date
TODAY = D(2026, 3, 10)
DIAGNOSED_ON = D(2026, 3, 5)

pytestmark = pytest.mark.django_db

HOMELESS = "logement/sans-hebergement-rupture-effective-de-logement"


def page(response):
    return unescape(response.content.decode())


def situation(key):
    theme, code = key.split("/")
    return Situation.objects.get(theme__code=theme, code=code)


def diagnose(person, author, *keys, on=DIAGNOSED_ON, **fields):
    return accompaniment.save_diagnostic(
        person,
        author=author,
        can_see_sensitive=True,
        conducted_on=on,
        situations=[situation(k) for k in keys],
        **fields,
    )


THREE_BARRIERS = (
    HOMELESS,
    "sante/difficulte-declaree-ne-permettant-pas-de-reprendre-une-activite-professionnelle-immediate",
    "mobilite/aucun-moyen-de-transport-a-disposition",
)


@pytest.fixture
def admin(departement):
    return MembershipFactory(
        organisation=departement, role=Role.ADMIN, user__email="admin.insertion@departement35.fr"
    ).user


@pytest.fixture
def ccas(departement):
    return OrganisationFactory(kind=OrganisationKind.CCAS, name="CCAS de Redon", departement=departement)


@pytest.fixture
def other_departement(db):
    return DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")


def rule(departement, position, label, criteria, pathway, kind, **extra):
    return ProposalRule.objects.create(
        departement=departement,
        position=position,
        label=label,
        criteria=criteria,
        pathway=pathway,
        organisation_kind=kind,
        **extra,
    )


# --- la proposition lit le diagnostic partagé -----------------------------------------------------------


def test_three_barrier_themes_of_the_diagnostic_propose_social(person, manager, departement, france_travail):
    diagnose(person, manager, *THREE_BARRIERS)
    proposal = services.propose_orientation(person, today=TODAY)
    assert (proposal.pathway, proposal.organisation, proposal.code) == ("social", departement, "PSO")
    assert proposal.explanation == (
        "Proposé : social — freins : logement, mobilité, santé "
        "(règle « Plusieurs freins sociaux bloquants (au moins 3 thèmes) »)"
    )
    # la décision garde la règle, pas les faits (la santé est une donnée sensible)
    assert proposal.recorded_rule == "Plusieurs freins sociaux bloquants (au moins 3 thèmes)"


def test_two_barrier_themes_are_not_social(person, manager, departement, france_travail):
    diagnose(person, manager, HOMELESS, "mobilite/aucun-moyen-de-transport-a-disposition")
    proposal = services.propose_orientation(person, today=TODAY)
    # logement est un frein social (règle 4 par défaut) : socio-professionnel, pas social
    assert proposal.pathway == "socio_professionnel"
    assert proposal.explanation.startswith("Proposé : socio-professionnel — frein : logement (règle")

    other = BeneficiaryFactory(departement=departement, birth_date=D(1980, 1, 1))
    diagnose(
        other, manager, "mobilite/aucun-moyen-de-transport-a-disposition", "numerique/absence-dequipement"
    )
    assert services.propose_orientation(other, today=TODAY).pathway == "emploi"


def test_administrative_and_financial_barriers_use_the_referential_codes(
    person, manager, departement, france_travail
):
    diagnose(person, manager, "difficulte_financiere/sans-aucune-ressource")
    proposal = services.propose_orientation(person, today=TODAY)
    assert proposal.pathway == "socio_professionnel"
    assert "frein : difficultés financières" in proposal.explanation


def test_resources_are_not_barriers(person, manager, france_travail):
    diagnose(
        person,
        manager,
        "mobilite/permis-b",
        "logement/locataire-du-parc-social",
        "numerique/dispose-dun-smartphone",
    )
    proposal = services.propose_orientation(person, today=TODAY)
    assert (proposal.pathway, proposal.organisation) == ("emploi", france_travail)
    assert "aucun critère particulier" in proposal.explanation
    assert "pas de diagnostic" not in proposal.explanation


def test_only_the_latest_diagnostic_counts(person, manager, france_travail):
    diagnose(person, manager, *THREE_BARRIERS, on=D(2026, 3, 2))
    assert services.propose_orientation(person, today=TODAY).pathway == "social"
    diagnose(person, manager, "mobilite/permis-b", on=D(2026, 3, 6))
    assert services.propose_orientation(person, today=TODAY).pathway == "emploi"


def test_without_diagnostic_the_explanation_says_so(person, france_travail):
    proposal = services.propose_orientation(person, today=TODAY)
    assert proposal.explanation == (
        "Proposé : emploi — aucun critère particulier (pas de diagnostic partagé enregistré) "
        "(règle « Proche de l'emploi (par défaut) »)"
    )


# --- la grille du Département -----------------------------------------------------------------------------


def test_departement_rule_overrides_the_defaults(person, manager, departement, france_travail, ccas):
    rule(departement, 1, "Sans logement : CCAS", {"situations_any": [HOMELESS]}, "social", "ccas")
    rule(departement, 2, "Les autres", {}, "emploi", "france_travail")
    diagnose(person, manager, *THREE_BARRIERS)
    proposal = services.propose_orientation(person, today=TODAY)
    assert (proposal.pathway, proposal.organisation) == ("social", ccas)
    assert proposal.explanation == (
        "Proposé : social — situation : sans hébergement / rupture effective de logement "
        "(règle « Sans logement : CCAS »)"
    )
    # Les règles par défaut ne s'appliquent plus du tout : 3 freins sans « sans hébergement » -> emploi.
    other = BeneficiaryFactory(departement=departement)
    diagnose(
        other,
        manager,
        "logement/difficulte-a-payer-le-loyer",
        "sante/couverture-sociale-mutuelle-a-mettre-a-jour",
        "mobilite/aucun-moyen-de-transport-a-disposition",
    )
    assert services.propose_orientation(other, today=TODAY).rule == "Les autres"


def test_rules_of_another_departement_are_ignored(
    person, manager, departement, other_departement, france_travail
):
    rule(other_departement, 1, "Tous en social", {}, "social", "departement")
    assert services.propose_orientation(person, today=TODAY).rule == "Proche de l'emploi (par défaut)"


def test_inactive_rules_are_skipped_and_all_inactive_means_defaults(
    person, departement, france_travail, ccas
):
    rule(departement, 1, "Tous au CCAS", {}, "social", "ccas", is_active=False)
    assert services.propose_orientation(person, today=TODAY).rule == "Proche de l'emploi (par défaut)"


def test_availability_project_and_rome_criteria(person, manager, departement, france_travail, mission_locale):
    rule(
        departement,
        1,
        "Projet dans le BTP, disponible",
        {"has_project": True, "rome_any": ["F16"], "available_now": True, "weekly_hours_min": 20},
        "emploi",
        "france_travail",
    )
    rule(departement, 2, "Pas disponible", {"available_now": False}, "socio_professionnel", "departement")
    rule(departement, 3, "Par défaut", {}, "emploi", "mission_locale")
    diagnose(
        person,
        manager,
        professional_project="Maçonnerie",
        rome_code="F1703",
        available_from=D(2026, 3, 1),
        weekly_availability_hours=35,
    )
    # F1703 ne commence pas par F16
    assert services.propose_orientation(person, today=TODAY).rule == "Par défaut"
    diagnose(
        person,
        manager,
        professional_project="Conduite d'engins",
        rome_code="F1603",
        available_from=D(2026, 3, 1),
        weekly_availability_hours=35,
    )
    proposal = services.propose_orientation(person, today=TODAY)
    assert proposal.explanation == (
        "Proposé : emploi — projet professionnel défini ; métier recherché : F1603 ; disponible immédiatement ; "
        "disponible 35 h par semaine (règle « Projet dans le BTP, disponible »)"
    )
    diagnose(person, manager, available_from=D(2026, 6, 1))
    assert services.propose_orientation(person, today=TODAY).rule == "Pas disponible"
    # « Indisponible pour un emploi dans l'immédiat » dit la même chose, sans date
    diagnose(person, manager, "emploi/indisponible-pour-un-emploi-dans-limmediat")
    assert services.propose_orientation(person, today=TODAY).rule == "Pas disponible"


def test_rqth_is_read_from_a_situation_of_the_departement_referential(
    person, manager, departement, france_travail
):
    OrganisationFactory(kind=OrganisationKind.CAP_EMPLOI, name="Cap emploi 35", departement=departement)
    theme = Situation.objects.filter(theme__code="emploi").first().theme
    Situation.objects.create(
        theme=theme, code="rqth", label="Reconnaissance de la qualité de travailleur handicapé (RQTH)"
    )
    diagnose(person, manager, "emploi/rqth")
    proposal = services.propose_orientation(person, today=TODAY)
    assert (proposal.organisation.name, proposal.facts_text) == ("Cap emploi 35", "RQTH")


def test_batch_proposals_read_the_diagnostics_at_once(
    manager, departement, france_travail, django_assert_num_queries
):
    people = [BeneficiaryFactory(departement=departement) for _ in range(4)]
    diagnose(people[0], manager, *THREE_BARRIERS)
    proposer = services.Proposer(departement)
    with django_assert_num_queries(4):  # versions, situations, libellés des thèmes et des situations
        proposals = proposer.propose_many(people, today=TODAY)
    assert [proposals[p.pk].pathway for p in people] == ["social", "emploi", "emploi", "emploi"]


# --- vérification des règles (messages en français) -----------------------------------------------------


def test_criteria_are_checked_in_french():
    with pytest.raises(ValidationError) as error:
        grid.clean_criteria(
            {
                "age_min": 30,
                "age_max": 25,
                "rome_any": ["K21", "plombier"],
                "barriers_any": ["logement", "astrologie"],
                "weekly_hours_min": 60,
                "couleur": "bleu",
            }
        )
    assert error.value.messages == [
        "Métier recherché (codes ROME ou débuts de code) : « PLOMBIER » n'est pas un code ROME (une lettre de A "
        "à N suivie de 0 à 4 chiffres, ex. K21 ou N1105).",
        "Au moins un de ces freins : thème inconnu ou inactif (astrologie).",
        "Disponibilité hebdomadaire minimale (heures) : entre 1 et 35 heures.",
        "Condition inconnue : « couleur ».",
        "L'âge minimal (30 ans) dépasse l'âge maximal (25 ans) : la règle ne s'appliquerait à personne.",
    ]
    assert grid.clean_criteria({"rome_any": ["k2104 "], "barriers_min": "3", "age_max": None}) == {
        "rome_any": ["K2104"],
        "barriers_min": 3,
    }


def test_reorder_activate_and_adopt_defaults(departement, admin):
    created = grid.adopt_defaults(departement, author=admin)
    assert [r.position for r in created] == [1, 2, 3, 4, 5]
    with pytest.raises(ValidationError, match="déjà sa grille"):
        grid.adopt_defaults(departement, author=admin)
    grid.move_rule(created[2], -1, author=admin)  # « Moins de 26 ans » passe avant la RQTH
    grid.move_rule(created[0], -1, author=admin)  # déjà en tête : rien ne change
    assert [r.label for r in grid.rules_of(departement)][:3] == [
        "Plusieurs freins sociaux bloquants (au moins 3 thèmes)",
        "Moins de 26 ans",
        "Reconnaissance de la qualité de travailleur handicapé",
    ]
    grid.set_active(created[1], False, author=admin)
    assert [r["label"] for r in services.Proposer(departement).rules] == [
        "Plusieurs freins sociaux bloquants (au moins 3 thèmes)",
        "Moins de 26 ans",
        "Un frein social identifié (santé, logement, justice, administratif, finances)",
        "Proche de l'emploi (par défaut)",
    ]


# --- pages ------------------------------------------------------------------------------------------------


def test_grid_pages_are_for_the_departement_admin_only(client, departement, other_departement, manager):
    own = rule(departement, 1, "Tous vers France Travail", {}, "emploi", "france_travail")
    urls = [
        reverse("orientation:grid"),
        reverse("orientation:grid_of", args=[departement.pk]),
        reverse("orientation:grid_rule_create", args=[departement.pk]),
        reverse("orientation:grid_preview", args=[departement.pk]),
        reverse("orientation:grid_rule_edit", args=[own.pk]),
    ]
    client.force_login(manager)  # chargée d'orientation : pas administratrice
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert (
        client.post(reverse("orientation:grid_rule_action", args=[own.pk, "desactiver"])).status_code == 403
    )

    other_admin = MembershipFactory(organisation=other_departement, role=Role.ADMIN).user
    client.force_login(other_admin)
    for url in urls[1:]:
        response = client.get(url)
        assert response.status_code == 403, url
    assert "Vous n'administrez pas ce Département" in page(response)
    assert (
        client.post(reverse("orientation:grid_rule_action", args=[own.pk, "desactiver"])).status_code == 403
    )
    own.refresh_from_db()
    assert own.is_active


def test_admin_builds_the_grid_through_the_pages(client, admin, departement, france_travail, ccas):
    client.force_login(admin)
    response = client.get(reverse("orientation:grid"))
    assert response.url == reverse("orientation:grid_of", args=[departement.pk])
    html = page(client.get(response.url))
    assert "Le Département applique la grille par défaut" in html
    assert "Plusieurs freins sociaux bloquants" in html

    create = reverse("orientation:grid_rule_create", args=[departement.pk])
    bad = {
        "label": "Jeunes",
        "pathway": "emploi",
        "organisation_kind": "mission_locale",
        "is_active": "on",
        "age_min": "30",
        "age_max": "25",
        "rome_any": "plombier",
    }
    html = page(client.post(create, bad))
    assert "La règle n'est pas enregistrée" in html
    assert "L'âge minimal (30 ans) dépasse l'âge maximal (25 ans)" in html
    assert "« PLOMBIER » n'est pas un code ROME" in html
    assert not ProposalRule.objects.exists()

    response = client.post(
        create,
        {
            "label": "Freins sociaux multiples",
            "pathway": "social",
            "organisation_kind": "ccas",
            "is_active": "on",
            "barriers_min": "2",
            "barriers_any": ["logement", "sante"],
            "situations_any": [HOMELESS],
            "available_now": "non",
        },
    )
    assert response.status_code == 302
    created = ProposalRule.objects.get()
    assert (created.position, created.updated_by) == (1, admin)
    assert created.criteria == {
        "barriers_min": 2,
        "barriers_any": ["logement", "sante"],
        "situations_any": [HOMELESS],
        "available_now": False,
    }
    # Pas de Mission locale dans le Département : la règle est enregistrée, avec un avertissement.
    client.post(
        create,
        {
            "label": "Moins de 26 ans",
            "pathway": "emploi",
            "organisation_kind": "mission_locale",
            "is_active": "on",
            "age_max": "25",
        },
    )
    response = client.post(
        create,
        {
            "label": "Les autres",
            "pathway": "emploi",
            "organisation_kind": "france_travail",
            "is_active": "on",
        },
    )
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == "Règle « Les autres » enregistrée."
    youth = ProposalRule.objects.get(label="Moins de 26 ans")

    html = page(client.get(reverse("orientation:grid_of", args=[departement.pk])))
    assert "Le Département applique la grille par défaut" not in html
    assert "au moins 2 thèmes de freins" in html
    assert "un frein parmi : logement, santé" in html
    assert "disponible immédiatement : non" in html
    assert "Aucune règle active sans condition" not in html

    client.post(reverse("orientation:grid_rule_action", args=[youth.pk, "monter"]))
    assert [r.label for r in grid.rules_of(departement)] == [
        "Moins de 26 ans",
        "Freins sociaux multiples",
        "Les autres",
    ]
    last = ProposalRule.objects.get(label="Les autres")
    client.post(reverse("orientation:grid_rule_action", args=[last.pk, "desactiver"]))
    html = page(client.get(reverse("orientation:grid_of", args=[departement.pk])))
    assert "Aucune règle active sans condition" in html

    edit = reverse("orientation:grid_rule_edit", args=[created.pk])
    html = page(client.get(edit))
    assert 'value="Freins sociaux multiples"' in html
    response = client.post(
        edit,
        {
            "label": "Freins sociaux multiples",
            "pathway": "social",
            "organisation_kind": "ccas",
            "is_active": "on",
            "barriers_min": "3",
        },
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.criteria == {"barriers_min": 3}


def test_preview_counts_people_per_rule(client, admin, manager, departement, france_travail):
    rule(departement, 1, "Freins multiples", {"barriers_min": 3}, "social", "departement")
    rule(departement, 2, "Moins de 26 ans", {"age_max": 25}, "emploi", "france_travail")
    rule(departement, 3, "Personne", {"rqth": True}, "emploi", "france_travail")
    # Noms fixés : un nom tiré au hasard pouvait être aussi celui de l'agent connecté (en-tête de la page).
    names = ["Quéméner", "Kervella", "Jaouen", "Le Gwenn"]
    people = [BeneficiaryFactory(departement=departement, last_name=name) for name in names]
    diagnose(people[0], manager, *THREE_BARRIERS)
    diagnose(people[1], manager, *THREE_BARRIERS)

    result = grid.preview(departement, today=TODAY)
    assert (result.sample, result.diagnosed, result.without_proposal) == (4, 2, 2)
    assert [(row.label, row.count) for row in result.rows] == [
        ("Freins multiples", 2),
        ("Moins de 26 ans", 0),
        ("Personne", 0),
    ]
    assert result.rows[0].examples == ["freins : logement, mobilité, santé"]

    client.force_login(admin)
    html = page(client.get(reverse("orientation:grid_preview", args=[departement.pk])))
    assert "Freins multiples" in html and "50 %" in html and "Jamais retenue" in html
    assert not any(name in html or name.upper() in html for name in names)


def test_panel_shows_the_explained_proposal(client, manager, person, departement, france_travail):
    diagnose(person, manager, *THREE_BARRIERS)
    client.force_login(manager)
    html = page(client.get(reverse("orientation:panel", args=[person.pk])))
    assert "Proposé : social — freins : logement, mobilité, santé" in html
