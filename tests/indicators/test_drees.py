"""Questionnaire annuel DREES : chaque tableau sur un scénario construit à la main par les services
(décisions d'orientation, réorientations, diagnostics, contrats), puis la page, les fichiers et la commande."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind, Intensity, Objective, Situation
from parcours.accounts.models import OrganisationKind, Role
from parcours.indicators import drees
from parcours.orientation import services as orientation
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)

from .conftest import D

pytestmark = pytest.mark.django_db

YEAR = 2026


@pytest.fixture
def mission_locale(departement):
    return OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale du Pays de Redon", departement=departement
    )


def born(departement, birth_date, **extra):
    return BeneficiaryFactory(departement=departement, birth_date=birth_date, **extra)


def decide(person, on, manager, organisation, pathway="emploi", *, again=False, reason=""):
    return orientation.decide_orientation(
        person,
        pathway=pathway,
        organisation=organisation,
        author=manager,
        decided_on=on,
        notified_on=on,
        is_reorientation=again,
        reason=reason,
    )


def signed(person, author, on, kind=ContractKind.CER, **fields):
    if kind == ContractKind.CONTRAT_ENGAGEMENT:
        fields.setdefault(
            "referent_commitments", "Un rendez-vous par mois, mise en relation avec les employeurs."
        )
        fields.setdefault("person_commitments", "Suivre les activités prévues.")
        fields.setdefault("intensity", Intensity.RENFORCE)
        fields.setdefault("weekly_hours", Decimal("15"))
        fields.setdefault("objectives", [Objective.objects.first()])
    contract = accompaniment.create_contract(person, author=author, kind=kind, **fields)
    return accompaniment.sign_contract(contract, actor=author, on=on)


def table(departement, function, year=YEAR):
    return function(drees.beneficiary_scope(departement=departement), year)


def rows_by_label(t):
    return {r[0]: r[1:] for r in t.rows}


def test_orientations_by_organisation_and_kind(departement, manager, france_travail, mission_locale):
    people = [born(departement, D(1985, 6, 12)) for _ in range(6)]
    decide(people[0], D(2026, 3, 2), manager, france_travail, "emploi")
    decide(people[1], D(2026, 4, 2), manager, france_travail, "socio_professionnel")
    decide(people[2], D(2026, 5, 2), manager, departement, "social")
    decide(people[3], D(2026, 6, 2), manager, mission_locale, "emploi")
    decide(people[4], D(2025, 12, 31), manager, france_travail)  # notifiée l'année précédente
    cancelled = decide(people[5], D(2026, 2, 1), manager, departement)
    orientation.cancel_orientation(cancelled, author=manager, reason="Erreur de saisie", on=D(2026, 2, 2))
    # Réorientation (du social vers l'emploi) vers France Travail.
    decide(people[2], D(2026, 9, 1), manager, france_travail, "emploi", again=True, reason="Projet d'emploi")
    orientation.decide_orientation(  # décidée mais pas encore notifiée : ne compte pas
        people[5], pathway="emploi", organisation=france_travail, author=manager, decided_on=D(2026, 11, 2)
    )

    by_org = table(departement, drees.orientations_by_organisation)
    assert by_org.columns[:2] == ["Type d'organisme", "Organisme"]
    rows = {r[1]: r[2:] for r in by_org.rows}
    # emploi, socio-pro, social, premières orientations, réorientations, total
    assert rows["France Travail Redon"] == [1, 1, 0, 2, 1, 3]
    assert rows[departement.name] == [0, 0, 1, 1, 0, 1]
    assert rows["Mission locale du Pays de Redon"] == [1, 0, 0, 1, 0, 1]
    assert by_org.rows[-1] == ["Ensemble", "", 2, 1, 1, 4, 1, 5]

    by_kind = rows_by_label(table(departement, drees.orientations_by_organisation_kind))
    assert by_kind["Agence France Travail"] == [2, 0.5, 1]
    assert by_kind["Département"] == [1, 0.25, 0]
    assert by_kind["Mission locale"] == [1, 0.25, 0]
    assert by_kind["Cap emploi"] == [0, 0, 0]
    assert by_kind["Ensemble"] == [4, 1, 1]


def test_age_bands_at_31_december(departement, manager):
    cases = {
        D(2002, 1, 1): "Moins de 25 ans",  # 24 ans au 31/12/2026
        D(2001, 12, 31): "25 à 29 ans",  # 25 ans tout juste
        D(1997, 1, 1): "25 à 29 ans",  # 29 ans
        D(1996, 12, 31): "30 à 39 ans",
        D(1967, 1, 1): "50 à 59 ans",  # 59 ans
        D(1966, 12, 31): "60 ans ou plus",
        None: "Date de naissance inconnue",
    }
    for birth_date in cases:
        decide(born(departement, birth_date), D(2026, 5, 4), manager, departement, "social")

    ages = rows_by_label(table(departement, drees.orientations_by_age))
    # emploi, socio-pro, social, ensemble, part
    assert ages["Moins de 25 ans"] == [0, 0, 1, 1, 1 / 7]
    assert ages["25 à 29 ans"] == [0, 0, 2, 2, 2 / 7]
    assert ages["30 à 39 ans"][3] == 1
    assert ages["40 à 49 ans"][3] == 0
    assert ages["50 à 59 ans"][3] == 1
    assert ages["60 ans ou plus"][3] == 1
    assert ages["Date de naissance inconnue"][3] == 1
    assert ages["Ensemble"] == [0, 0, 7, 7, 1]


def test_seniority_bands_from_right_opening(departement, manager):
    cases = {
        D(2026, 7, 1): "Moins de 6 mois",
        D(2026, 6, 30): "6 mois à moins d'1 an",  # 6 mois tout juste au 31/12
        D(2026, 1, 1): "6 mois à moins d'1 an",
        D(2025, 12, 31): "1 an à moins de 2 ans",  # 1 an tout juste
        D(2016, 12, 31): "10 ans ou plus",
        D(2016, 1, 2): "10 ans ou plus",
        D(2017, 1, 1): "5 ans à moins de 10 ans",
    }
    for opened_on in cases:
        person = BeneficiaryFactory(departement=departement, household__right__opened_on=opened_on)
        decide(person, D(2026, 5, 4), manager, departement)
    unknown = BeneficiaryFactory(departement=departement, household__right__opened_on=None)
    decide(unknown, D(2026, 5, 4), manager, departement)

    seniority = rows_by_label(table(departement, drees.orientations_by_seniority))
    counts = {label: values[3] for label, values in seniority.items()}
    assert counts == {
        "Moins de 6 mois": 1,
        "6 mois à moins d'1 an": 2,
        "1 an à moins de 2 ans": 1,
        "2 ans à moins de 5 ans": 0,
        "5 ans à moins de 10 ans": 1,
        "10 ans ou plus": 2,
        "Non renseigné": 1,
        "Ensemble": 8,
    }


def test_education_level_from_the_latest_diagnostic_that_records_it(departement, manager, referent):
    assert drees.install_education_levels() == 5  # le thème et ses 4 niveaux
    assert drees.install_education_levels() == 0  # idempotent
    levels = {s.code: s for s in Situation.objects.filter(theme__code=drees.EDUCATION_THEME)}
    mobility = Situation.objects.filter(theme__code="mobilite").first()
    first, second, third = (born(departement, D(1985, 6, 12)) for _ in range(3))
    accompaniment.save_diagnostic(
        first,
        author=referent,
        can_see_sensitive=True,
        conducted_on=D(2026, 2, 1),
        situations=[levels["niveau-3"]],
    )
    accompaniment.save_diagnostic(  # niveau corrigé au diagnostic suivant : c'est lui qui compte
        first,
        author=referent,
        can_see_sensitive=True,
        conducted_on=D(2026, 4, 1),
        situations=[levels["niveau-4"]],
    )
    accompaniment.save_diagnostic(  # diagnostic plus récent sans niveau : le niveau précédent reste connu
        first, author=referent, can_see_sensitive=True, conducted_on=D(2026, 6, 1), situations=[mobility]
    )
    accompaniment.save_diagnostic(
        second, author=referent, can_see_sensitive=True, conducted_on=D(2026, 2, 1), situations=[mobility]
    )
    for person, pathway in ((first, "emploi"), (second, "social"), (third, "social")):
        decide(person, D(2026, 3, 2), manager, departement, pathway)

    education = rows_by_label(table(departement, drees.orientations_by_education))
    assert education["Baccalauréat ou équivalent (niveau 4, ancien IV)"] == [1, 0, 0, 1, 1 / 3]
    assert education["CAP, BEP ou équivalent (niveau 3, ancien V)"][3] == 0
    assert education["Non renseigné au diagnostic"] == [0, 0, 2, 2, 2 / 3]


def test_education_table_without_the_theme_counts_everyone_as_not_recorded(departement, manager):
    decide(born(departement, D(1985, 6, 12)), D(2026, 3, 2), manager, departement)
    education = rows_by_label(table(departement, drees.orientations_by_education))
    assert education["Non renseigné au diagnostic"][3] == 1
    assert (
        education["Sans diplôme ou niveau inférieur au CAP-BEP (niveaux 1 et 2, anciens VI et V bis)"][3] == 0
    )


def test_delay_to_first_contract_bands_and_boundaries(departement, manager, referent):
    cases = [
        (D(2026, 3, 15), D(2026, 4, 15)),  # 1 mois tout juste : dans le mois
        (D(2026, 1, 31), D(2026, 2, 28)),  # 31/01 + 1 mois = 28/02 : dans le mois
        (D(2026, 3, 15), D(2026, 3, 15)),  # le jour même
        (D(2026, 3, 15), D(2026, 4, 16)),  # 1 mois et 1 jour
        (D(2026, 3, 15), D(2026, 6, 15)),  # 3 mois tout juste
        (D(2026, 3, 15), D(2026, 6, 16)),  # plus de 3 mois
        (D(2026, 3, 15), None),  # pas de contrat
    ]
    for notified_on, signed_on in cases:
        person = born(departement, D(1985, 6, 12))
        decide(person, notified_on, manager, departement)
        if signed_on:
            signed(person, referent, signed_on)
    # Contrat signé avant l'orientation : il ne compte pas pour cette orientation.
    early = born(departement, D(1985, 6, 12))
    signed(early, referent, D(2026, 2, 1))
    decide(early, D(2026, 3, 15), manager, departement)
    # Réorientation suivie d'un contrat 10 jours plus tard.
    again = born(departement, D(1985, 6, 12))
    decide(again, D(2025, 5, 1), manager, departement)
    decide(again, D(2026, 9, 1), manager, departement, "social", again=True, reason="Santé")
    signed(again, referent, D(2026, 9, 11), kind=ContractKind.CONTRAT_ENGAGEMENT)

    delays = rows_by_label(table(departement, drees.contract_delays))
    # premières orientations, réorientations, ensemble, part
    assert delays["1 mois ou moins"] == [3, 1, 4, 4 / 9]
    assert delays["Plus d'1 mois à 3 mois"] == [2, 0, 2, 2 / 9]
    assert delays["Plus de 3 mois"] == [1, 0, 1, 1 / 9]
    assert delays["Pas de contrat signé"] == [2, 0, 2, 2 / 9]
    assert delays["Ensemble"] == [8, 1, 9, 1]
    # Délais en jours des premières orientations : 0, 28, 31, 32, 92, 93 → médiane 31,5 ; réorientation : 10.
    assert delays["Délai médian jusqu'au contrat (jours)"] == [31.5, 10, 31, None]


def test_reorientations_by_direction_reasons_and_requests(departement, manager, france_travail):
    a, b, c, d = (born(departement, D(1985, 6, 12)) for _ in range(4))
    for person in (a, b, c):
        decide(person, D(2026, 1, 5), manager, france_travail, "emploi")
    decide(d, D(2026, 1, 5), manager, departement, "social")
    decide(a, D(2026, 3, 1), manager, departement, "social", again=True, reason="Problème de santé")
    decide(b, D(2026, 4, 1), manager, departement, "social", again=True, reason="  problème de  SANTÉ ")
    request = orientation.request_reorientation(
        d, pathway="emploi", reason="Reprise d'emploi envisagée", author=manager, requested_on=D(2026, 5, 2)
    )
    orientation.decide_reorientation(
        request,
        accept=True,
        author=manager,
        decided_on=D(2026, 5, 10),
        notified_on=D(2026, 5, 11),
        organisation=france_travail,
    )
    refused = orientation.request_reorientation(
        c, pathway="social", reason="Difficultés de logement", author=manager, requested_on=D(2026, 6, 1)
    )
    orientation.decide_reorientation(
        refused, accept=False, author=manager, decided_on=D(2026, 6, 5), reason="Logement pris en charge"
    )
    orientation.request_reorientation(
        c, pathway="socio_professionnel", reason="Garde d'enfant", author=manager, requested_on=D(2026, 7, 1)
    )

    direction = {(r[0], r[1]): r[2] for r in table(departement, drees.reorientations_by_direction).rows}
    assert direction[("Emploi", "Social")] == 2
    assert direction[("Social", "Emploi")] == 1
    assert direction[("Emploi", "Emploi")] == 0
    assert direction[("Ensemble", "")] == 3

    reasons = table(departement, drees.reorientation_reasons)
    assert reasons.rows == [
        ["Problème de santé", 2, 2 / 3],
        ["Reprise d'emploi envisagée", 1, 1 / 3],
        ["Ensemble", 3, 1],
    ]

    requests = rows_by_label(table(departement, drees.reorientation_requests))
    assert requests == {
        "Acceptée": [1, 1 / 3],
        "Refusée": [1, 1 / 3],
        "En attente de décision": [1, 1 / 3],
        "Ensemble": [3, 1],
    }


def test_contracts_by_kind_and_planned_duration(departement, referent):
    people = [born(departement, D(1985, 6, 12)) for _ in range(6)]
    signed(people[0], referent, D(2026, 3, 1), starts_on=D(2026, 3, 1), ends_on=D(2026, 9, 1))  # 6 mois
    signed(people[1], referent, D(2026, 3, 1), starts_on=D(2026, 3, 1), ends_on=D(2026, 9, 2))  # 6 mois + 1 j
    signed(
        people[2], referent, D(2026, 3, 1), ends_on=D(2027, 3, 1), kind=ContractKind.PPAE
    )  # depuis signature
    signed(
        people[3],
        referent,
        D(2026, 4, 1),
        starts_on=D(2026, 4, 1),
        ends_on=D(2027, 4, 2),
        kind=ContractKind.CONTRAT_ENGAGEMENT,
    )
    signed(people[4], referent, D(2026, 5, 1))  # sans fin prévue
    signed(people[5], referent, D(2025, 5, 1), ends_on=D(2025, 8, 1))  # signé l'année précédente
    accompaniment.create_contract(people[5], author=referent, kind=ContractKind.CER)  # brouillon : non compté

    contracts = rows_by_label(table(departement, drees.contracts_by_kind_and_duration))
    # signés, ≤ 6 mois, 6-12 mois, > 12 mois, non renseignée
    assert contracts["Contrat d'engagement"] == [1, 0, 0, 1, 0]
    assert contracts["CER (historique)"] == [3, 1, 1, 0, 1]
    assert contracts["PPAE (historique)"] == [1, 0, 1, 0, 0]
    assert contracts["Ensemble"] == [5, 1, 2, 1, 1]


def test_empty_year_gives_zero_counts_and_empty_rates_and_medians(departement):
    tables = {t.id: t for t in drees.drees_report(departement, 2024)}
    summary = rows_by_label(tables["synthese"])
    assert summary["Premières orientations notifiées"] == [0]
    assert summary["Contrats signés"] == [0]
    assert summary["Part des orientations suivies d'un contrat dans le mois"] == [None]
    assert summary["Délai médian entre l'orientation et le premier contrat (jours)"] == [None]
    ages = rows_by_label(tables["orientations_age"])
    assert ages["Ensemble"] == [0, 0, 0, 0, None]
    assert rows_by_label(tables["delais_premier_contrat"])["Délai médian jusqu'au contrat (jours)"] == [
        None,
        None,
        None,
        None,
    ]


# --- page, fichiers, commande -----------------------------------------------------------------------------


@pytest.fixture
def two_departements(departement, manager, referent):
    """Deux orientations en Ille-et-Vilaine (35), une en Loire-Atlantique (44)."""
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    a, b = born(departement, D(1985, 6, 12)), born(departement, D(2003, 2, 1))
    decide(a, D(2026, 3, 2), manager, departement, "emploi")
    decide(b, D(2026, 3, 20), manager, departement, "social")
    signed(a, referent, D(2026, 3, 30))
    other_manager = MembershipFactory(organisation=other, role=Role.ORIENTATION_MANAGER).user
    decide(born(other, D(1990, 1, 1)), D(2026, 4, 2), other_manager, other, "social")
    return other


def _tables(response):
    return {item["table"].id: item for item in response.context["tables"]}


def test_page_shows_every_table_with_its_definition_on_the_agents_perimeter(
    client, manager, departement, two_departements, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("indicators:drees"), {"departement": departement.pk, "annee": YEAR})
    assert response.status_code == 200
    tables = _tables(response)
    assert list(tables) == ["synthese", *(t.id for t in drees.drees_report(departement, YEAR)[1:])]
    summary = {r[0]: r[1] for r in tables["synthese"]["rows"]}
    assert summary["Premières orientations notifiées"] == 2  # l'orientation du 44 n'est pas comptée
    assert summary["Part des orientations suivies d'un contrat dans le mois"] == "50\u202f%"
    html = response.content.decode()
    assert "au plus tard le même quantième du mois suivant" in html  # définition affichée
    assert 'data-tableau="orientations_age"' in html
    assert reverse("indicators:drees_xlsx") in html
    assert reverse("indicators:annex4_csv") in html  # le chargé d'orientation peut produire l'annexe 4


def test_page_shows_a_dash_for_rates_of_an_empty_population(client, manager, departement):
    client.force_login(manager)
    response = client.get(reverse("indicators:drees"), {"departement": departement.pk, "annee": 2024})
    summary = {r[0]: r[1] for r in _tables(response)["synthese"]["rows"]}
    assert summary["Premières orientations notifiées"] == 0
    assert summary["Part des orientations suivies d'un contrat dans le mois"] == "—"


def test_other_departement_is_refused(client, manager, two_departements):
    client.force_login(manager)
    for name in ("indicators:drees", "indicators:drees_xlsx", "indicators:drees_csv"):
        response = client.get(reverse(name), {"departement": two_departements.pk, "annee": YEAR})
        assert response.status_code == 403, name


def test_users_without_the_right_get_403(client, departement, two_departements):
    outsider = UserFactory(email="sans-organisation@example.org")
    dpo = MembershipFactory(organisation=departement, role=Role.DPO, user__email="dpo@departement35.fr").user
    for user in (outsider, dpo):
        client.force_login(user)
        response = client.get(reverse("indicators:drees"), {"departement": departement.pk, "annee": YEAR})
        assert response.status_code == 403
    client.logout()
    response = client.get(reverse("indicators:drees"))
    assert response.status_code == 302  # vers la connexion


def test_state_services_see_the_whole_departement_but_not_the_annex4_file(
    client, departement, two_departements
):
    etat = OrganisationFactory(
        kind=OrganisationKind.ETAT, name="DDETS d'Ille-et-Vilaine", departement=departement
    )
    agent = MembershipFactory(
        organisation=etat, role=Role.MANAGER, user__email="ddets@ille-et-vilaine.gouv.fr"
    ).user
    client.force_login(agent)
    response = client.get(reverse("indicators:drees"), {"departement": departement.pk, "annee": YEAR})
    assert response.status_code == 200
    summary = {r[0]: r[1] for r in _tables(response)["synthese"]["rows"]}
    assert summary["Premières orientations notifiées"] == 2
    assert reverse("indicators:annex4_csv") not in response.content.decode()


def test_partner_counts_only_the_people_it_follows(
    client, departement, two_departements, france_travail, referent
):
    from tests.factories import FollowUpFactory

    followed = born(departement, D(1980, 1, 1))
    FollowUpFactory(beneficiary=followed, organisation=france_travail)
    decide(followed, D(2026, 5, 5), MembershipFactory(organisation=departement).user, france_travail)
    client.force_login(referent)  # référente de France Travail
    response = client.get(reverse("indicators:drees"), {"departement": departement.pk, "annee": YEAR})
    summary = {r[0]: r[1] for r in _tables(response)["synthese"]["rows"]}
    assert summary["Premières orientations notifiées"] == 1


def test_xlsx_has_one_sheet_per_table_with_french_headers(client, manager, departement, two_departements):
    client.force_login(manager)
    response = client.get(reverse("indicators:drees_xlsx"), {"departement": departement.pk, "annee": YEAR})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="drees-35-2026.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [
        "Présentation",
        "Synthèse",
        "Par organisme",
        "Par type d'organisme",
        "Par âge",
        "Par niveau de formation",
        "Par ancienneté RSA",
        "Délai jusqu'au contrat",
        "Réorientations",
        "Motifs de réorientation",
        "Demandes de réorientation",
        "Contrats",
        "Définitions",
    ]
    ages = workbook["Par âge"]
    assert [c.value for c in ages[4]] == [
        "Âge au 31 décembre",
        "Emploi",
        "Socio-professionnel",
        "Social",
        "Ensemble",
        "Part",
    ]
    values = {row[0].value: [c.value for c in row[1:]] for row in ages.iter_rows(min_row=5)}
    assert values["Moins de 25 ans"] == [0, 0, 1, 1, 0.5]  # né en 2003 : 23 ans
    assert values["40 à 49 ans"] == [1, 0, 0, 1, 0.5]
    delays = {
        row[0].value: [c.value for c in row[1:]]
        for row in workbook["Délai jusqu'au contrat"].iter_rows(min_row=5)
    }
    assert delays["Délai médian jusqu'au contrat (jours)"] == [28, None, 28, None]  # vide, pas 0


def test_csv_lists_every_table(client, manager, departement, two_departements):
    client.force_login(manager)
    response = client.get(reverse("indicators:drees_csv"), {"departement": departement.pk, "annee": YEAR})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert ["Année", "2026"] in rows
    titles = [t.title for t in drees.drees_report(departement, YEAR)]
    assert all([title] in rows for title in titles)
    assert ["Ensemble", "", "1", "0", "1", "2", "0", "2"] in rows  # total du tableau par organisme


def test_invalid_year_is_a_clear_error(client, manager, departement):
    client.force_login(manager)
    response = client.get(reverse("indicators:drees_xlsx"), {"departement": departement.pk, "annee": "vingt"})
    assert response.status_code == 400
    assert "Année" in response.content.decode()


def test_command_writes_the_workbook(tmp_path, departement, two_departements):
    output = tmp_path / "drees.xlsx"
    out = io.StringIO()
    call_command("drees", "--departement", "35", "--annee", "2026", "--sortie", str(output), stdout=out)
    assert "écrits dans" in out.getvalue()
    workbook = load_workbook(output)
    summary = {row[0].value: row[1].value for row in workbook["Synthèse"].iter_rows(min_row=5)}
    assert summary["Premières orientations notifiées"] == 2
    csv_output = tmp_path / "drees.csv"
    call_command("drees", "--departement", "44", "--annee", "2026", "--sortie", str(csv_output), stdout=out)
    assert "Département de Loire-Atlantique (44)" in csv_output.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--departement", "99", "--annee", "2026", "--sortie", "x.xlsx"], "Département « 99 » inconnu"),
        (["--departement", "35", "--annee", "2026", "--sortie", "x.pdf"], "extension .xlsx ou .csv"),
        (["--departement", "35", "--annee", "26", "--sortie", "x.xlsx"], "Année « 26 » invalide"),
    ],
)
def test_command_errors(departement, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("drees", *arguments)


def test_query_count_does_not_grow_with_the_population(departement, manager, django_assert_max_num_queries):
    for index in range(30):
        decide(born(departement, D(1960 + index, 1, 1)), D(2026, 3, 1 + index % 28), manager, departement)
    with django_assert_max_num_queries(16):
        drees.drees_report(departement, YEAR)
