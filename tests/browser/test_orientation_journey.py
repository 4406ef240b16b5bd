"""Parcours d'un nouvel entrant de bout en bout, dans un vrai navigateur (Playwright + Chromium de Debian).

Une chargée d'orientation se connecte par le formulaire de connexion, trouve la personne dans la file
« nouveaux entrants à inviter », l'invite, fixe le rendez-vous et saisit sa présence, conduit le
diagnostic, décide puis notifie l'orientation et désigne la référente ; la référente se connecte à son
tour, rédige le contrat d'engagement et enregistre sa signature. À la fin, le journal porte chaque étape
à sa date, et les indicateurs (``parcours.indicators.definitions``) lisent ces dates-là.

Sans Chromium (``/usr/bin/chromium``), le module est ignoré, sauf si ``PARCOURS_BROWSER_TESTS=1`` : il
échoue alors (l'intégration continue le positionne, pour que le test tourne vraiment). Navigateur et onglet :
``tests/browser/conftest.py``.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment.models import Contract, ContractStatus, DiagnosticVersion
from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary
from parcours.indicators.definitions import (
    beneficiary_scope,
    compute_indicators,
    diagnostic_to_first_action_median,
    new_entrant_cohort,
)
from parcours.intake.services import import_flux
from parcours.journal.models import Event
from parcours.orientation.models import Attendance, DecisionStatus
from tests.browser.conftest import BROWSER_MARKS, REQUIRED
from tests.factories import (
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryCommuneFactory,
    make_nir,
)

try:
    from playwright.sync_api import expect
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("Playwright n'est pas installé (requirements-dev.txt)", allow_module_level=True)
PASSWORD = "motdepasse-solide-2026"  # celui de ``UserFactory``

pytestmark = BROWSER_MARKS

FLUX_HEADER = (
    "organisme;matricule;role;nir;civilite;nom;prenom;date_naissance;adresse;email;code_postal;commune;code_insee;"
    "date_ouverture_droit;etat_droit;soumis_droits_devoirs"
)


@pytest.fixture
def journey_data(tmp_path):
    """Un Département, France Travail, une chargée d'orientation, une référente et un nouvel entrant
    arrivé par le flux CAF il y a 10 jours (droit ouvert il y a 31 jours)."""
    today = timezone.localdate()
    departement = DepartementFactory()
    TerritoryCommuneFactory(territory__departement=departement, territory__name="Pays de Redon")
    france_travail = OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )
    manager = MembershipFactory(
        organisation=departement,
        role=Role.ORIENTATION_MANAGER,
        user__email="orientation@departement35.fr",
        user__first_name="Claire",
        user__last_name="Morvan",
    ).user
    referent = MembershipFactory(
        organisation=france_travail,
        role=Role.REFERENT,
        user__email="conseillere@francetravail.fr",
        user__first_name="Sophie",
        user__last_name="Le Bihan",
    ).user
    t0 = today - datetime.timedelta(days=10)
    opened = today - datetime.timedelta(days=31)
    row = ";".join(
        [
            "CAF",
            "3512345",
            "DEM",
            make_nir(42, sex=2),
            "MME",
            "Le Floch",
            "Maëlle",
            "12/06/1988",
            "4 rue de Vannes",
            "maelle.lefloch@example.org",
            "35600",
            "Redon",
            "35236",
            opened.strftime("%d/%m/%Y"),
            "2",
            "1",
        ]
    )
    path = tmp_path / "flux-caf.csv"
    path.write_text(f"{FLUX_HEADER}\n{row}\n", encoding="utf-8")
    report = import_flux(path, organisation=departement, received_on=t0)
    assert not report.rejected, report.message
    person = Beneficiary.objects.get(nir=make_nir(42, sex=2))
    assert person.new_entrant_t0 == t0
    return {
        "today": today,
        "t0": t0,
        "opened": opened,
        "departement": departement,
        "france_travail": france_travail,
        "manager": manager,
        "referent": referent,
        "person": person,
    }


def login(page, base_url, email):
    page.goto(base_url + reverse("login"))
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def logout(page):
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def form_with(page, button):
    """Le formulaire qui porte ce bouton : plusieurs formulaires du volet partagent des libellés."""
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def open_section(page, title):
    """Déplie une section en accordéon du volet (le script du DSFR gère ``aria-expanded``)."""
    button = page.get_by_role("button", name=re.compile(f"^{re.escape(title)}"))
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    return button


def tick(scope, label):
    scope.locator("label", has_text=label).click()
    expect(scope.get_by_label(label)).to_be_checked()


def expect_success(page, text):
    expect(page.locator(".fr-alert--success").filter(has_text=text)).to_be_visible()


def test_new_entrant_journey_in_the_browser(live_server, page, journey_data):
    data = journey_data
    today, t0, person = data["today"], data["t0"], data["person"]
    base = live_server.url
    iso = today.isoformat()

    # --- la chargée d'orientation se connecte et trouve la personne dans sa file -------------------------
    login(page, base, "orientation@departement35.fr")
    page.goto(base + reverse("orientation:queues"))
    expect(
        page.get_by_role("heading", level=2, name=re.compile("Nouveaux entrants à inviter"))
    ).to_be_visible()
    page.get_by_role("link", name=person.full_name).click()
    expect(page.get_by_role("heading", level=1, name=re.compile("orientation"))).to_be_visible()
    assert page.url.endswith(reverse("orientation:panel", args=[person.pk]))

    # --- invitation ---------------------------------------------------------------------------------------
    open_section(page, "Invitations et convocations")
    invite = form_with(page, "Envoyer")
    invite.get_by_label("Canal").select_option(label="Courrier postal")
    invite.get_by_role("button", name="Envoyer").click()
    expect_success(page, "Invitation envoyée (courrier postal).")

    # --- rendez-vous d'orientation, puis présence ------------------------------------------------------------
    now = timezone.localtime()
    starts_at = max(
        now.replace(second=0, microsecond=0) - datetime.timedelta(minutes=30),
        now.replace(hour=0, minute=0, second=0, microsecond=0),
    )
    open_section(page, "Rendez-vous")
    appointment = form_with(page, "Enregistrer le rendez-vous")
    appointment.get_by_label("Type").select_option(label="Rendez-vous d'orientation")
    appointment.get_by_label("Date et heure").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    appointment.get_by_label("Durée (minutes)").fill("45")
    appointment.get_by_label("Lieu").fill("Espace départemental des solidarités de Redon")
    appointment.get_by_label("Professionnels").select_option(label=str(data["manager"]))
    appointment.get_by_role("button", name="Enregistrer le rendez-vous").click()
    expect_success(page, "Rendez-vous enregistré.")

    open_section(page, "Rendez-vous")
    attendance = form_with(page, "Enregistrer la présence")
    attendance.get_by_label("Présence").select_option(label="Venu")
    attendance.get_by_role("button", name="Enregistrer la présence").click()
    expect_success(page, "Présence enregistrée.")

    # --- diagnostic socio-professionnel (depuis la fiche de la personne) ------------------------------------
    page.get_by_role("link", name="Fiche de la personne").click()
    page.get_by_role("link", name="Diagnostic", exact=True).click()
    page.get_by_role("link", name="Réaliser le diagnostic").click()
    expect(page.get_by_role("heading", level=1, name="Diagnostic socio-professionnel")).to_be_visible()
    page.get_by_label("Date de l'entretien de diagnostic").fill(iso)
    # Cases à cocher du DSFR : la case native est masquée sous son libellé, qu'on clique comme un agent.
    tick(page, "Diagnostic conjoint avec France Travail")
    page.get_by_role("button", name="Mobilité", exact=True).click()
    tick(page, "Aucun moyen de transport à disposition")
    page.get_by_label("Projet professionnel").fill("Préparatrice de commandes en entrepôt logistique")
    page.get_by_label("Métier recherché (code ROME)").fill("N1103")
    page.get_by_label("Disponibilité hebdomadaire (heures)").fill("35")
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()
    expect_success(page, "Diagnostic enregistré (version 1).")

    # --- décision d'orientation, puis notification -----------------------------------------------------------
    page.goto(base + reverse("orientation:panel", args=[person.pk]))
    open_section(page, "Décision d'orientation")
    decide = form_with(page, "Enregistrer l'orientation")
    decide.get_by_label("Parcours").select_option(label="Emploi")
    decide.get_by_label("Organisme d'orientation").select_option(
        label="France Travail Redon (Agence France Travail)"
    )
    decide.get_by_label("Décidée le").fill(iso)
    decide.get_by_label("Notifiée le").fill("")
    decide.get_by_label("Motif").fill("Projet professionnel précis, disponible à temps plein.")
    decide.get_by_role("button", name="Enregistrer l'orientation").click()
    expect_success(page, "Orientation enregistrée.")

    open_section(page, "Décision d'orientation")
    notify = form_with(page, "Enregistrer la notification")
    notify.get_by_label("Notifiée le").fill(iso)
    notify.get_by_role("button", name="Enregistrer la notification").click()
    expect_success(page, "Notification de l'orientation enregistrée.")

    # --- référente unique ------------------------------------------------------------------------------------
    open_section(page, "Référent unique")
    assign = form_with(page, "Désigner")
    referents = assign.get_by_label("Référent")
    choice = referents.locator("option", has_text=f"{data['referent']} — France Travail Redon")
    referents.select_option(label=choice.inner_text())
    assign.get_by_label("Début").fill(iso)
    assign.get_by_role("button", name="Désigner").click()
    expect_success(page, "Référent désigné :")
    logout(page)

    # --- la référente rédige le contrat d'engagement et enregistre sa signature ---------------------------
    login(page, base, "conseillere@francetravail.fr")
    page.goto(base + reverse("orientation:portfolio"))
    page.get_by_role("link", name=person.full_name).first.click()
    page.get_by_role("link", name="Fiche de la personne").click()
    page.get_by_role("link", name="Contrat d'engagement").click()
    page.get_by_role("link", name="Nouveau contrat d'engagement").click()
    contract = page.locator("form").filter(has=page.get_by_label("Type de contrat"))
    contract.get_by_label("Type de contrat").select_option(label="Contrat d'engagement")
    contract.get_by_label("Engagements du référent").fill("Un entretien par quinzaine, mise en relation.")
    contract.get_by_label("Intensité de l'accompagnement").select_option(label="Renforcé")
    page.get_by_role("button", name="Trouver un emploi", exact=True).first.click()
    tick(page.locator("#objectif-trouver_un_emploi"), "Répondre à des offres d'emploi")
    contract.get_by_label("Engagements de la personne").fill("Participer aux ateliers et aux immersions.")
    contract.get_by_label("Autres actions").fill(
        "Atelier de recherche d'emploi ; 8\nImmersion en entrepôt logistique ; 12"
    )
    contract.get_by_label("Début", exact=True).fill(iso)
    contract.get_by_role("button", name="Enregistrer le brouillon").click()
    expect_success(page, "Contrat enregistré en brouillon.")
    form_with(page, "Enregistrer la signature").get_by_label("Date").fill(iso)
    page.get_by_role("button", name="Enregistrer la signature").click()
    expect_success(page, "Contrat signé.")

    assert page.problems == [], page.problems

    # --- ce que la base a retenu, et ce que les indicateurs en lisent -------------------------------------
    events = dict(
        Event.objects.filter(beneficiary=person)
        .order_by("occurred_on", "pk")
        .values_list("kind", "occurred_on")
    )
    for kind in (
        "invited",
        "appointment_held",
        "diagnosed",
        "oriented",
        "referent_assigned",
        "contract_signed",
    ):
        assert events.get(kind) == today, (kind, events)
    assert events["new_entrant"] == t0

    appointment_row = person.appointments.get()
    assert appointment_row.attendance == Attendance.SEEN
    decision = person.orientation_decisions.get(is_current=True)
    assert (decision.pathway, decision.organisation, decision.status) == (
        "emploi",
        data["france_travail"],
        DecisionStatus.NOTIFIED,
    )
    assert decision.notified_on == today
    diagnostic = DiagnosticVersion.objects.get(beneficiary=person)
    assert (diagnostic.conducted_on, diagnostic.joint, diagnostic.rome_code) == (today, True, "N1103")
    assert [s.label for s in diagnostic.situations.all()] == ["Aucun moyen de transport à disposition"]
    signed = Contract.objects.get(beneficiary=person)
    assert (signed.status, signed.signed_on, signed.referent) == (
        ContractStatus.SIGNED,
        today,
        data["referent"],
    )

    scope = beneficiary_scope(departement=data["departement"])
    (entry,) = new_entrant_cohort(scope, t0, t0)
    assert (entry.t0, entry.oriented_on, entry.pathway) == (t0, today, "emploi")
    assert (entry.first_appointment_on, entry.referent_on, entry.contract_on) == (today, today, today)
    values = compute_indicators(scope, t0, t0)
    assert values["nouveaux_entrants"] == 1
    assert values["nouveaux_entrants_orientes_15j"] == 1  # notifiée à T0 + 10 jours : dans l'objectif
    assert values["taux_orientation_15j"] == 1
    assert values["delai_median_t0_orientation_jours"] == 10
    assert values["delai_median_ouverture_droit_premier_entretien_jours"] == 31
    assert values["delai_median_orientation_contrat_jours"] == 0
    assert values["part_nouveaux_entrants_avec_referent"] == 1
    assert values["part_nouveaux_entrants_avec_contrat"] == 1
    assert values["repartition_parcours"]["emploi"] == 1
    assert values["distribution_delai_t0_orientation"]["objectif"] == 1
    assert diagnostic_to_first_action_median(scope, today, today) == 0  # diagnostic puis contrat, même jour
    today_values = compute_indicators(scope, today, today)
    assert today_values["delai_median_diagnostic_premiere_action_jours"] == 0
    assert today_values["contrats_signes"]["contrat_engagement"] == 1
