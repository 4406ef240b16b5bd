"""Plafond de la suspension d'un foyer de plus d'une personne (CASF L262-37, R262-68) : les enfants comptent.

Issue : une mère seule avec deux enfants s'était vu décider 60 % (le plafond ne comptait que les adultes, et le
fichier canonique n'importe pas les enfants). La composition du foyer vient des flux et se lit à la date de la
décision."""

import datetime
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from parcours.accompaniment import sanctions
from parcours.accompaniment.models import SanctionStatus
from parcours.beneficiaries.models import Beneficiary
from parcours.intake.services import import_flux
from tests.accompaniment.test_sanctions import case_at, step, team  # noqa: F401
from tests.factories import BeneficiaryFactory, HouseholdCompositionFactory, make_nir

pytestmark = pytest.mark.django_db

D = datetime.date
S = SanctionStatus


def import_single_mother(tmp_path, departement):
    """Fichier canonique : la mère seule (seule ligne du foyer) et ses deux enfants déclarés par les colonnes."""
    header = "organisme;matricule;role;nir;nom;prenom;date_naissance;date_ouverture_droit;etat_droit;"
    header += "soumis_droits_devoirs;nombre_enfants;nombre_personnes_a_charge"
    row = f"CAF;3500777;DEM;{make_nir(77, sex=2)};Le Floch;Soizic;03/05/1990;02/01/2026;2;1;2;2"
    path = tmp_path / "flux.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    report = import_flux(path, organisation=departement, received_on=D(2026, 3, 1))
    assert not report.rejected, report.errors
    return Beneficiary.objects.get(nir=make_nir(77, sex=2))


def test_one_adult_and_two_children_capped_at_50_percent(tmp_path, departement, orientation_manager, team):  # noqa: F811
    mother = import_single_mother(tmp_path, departement)
    assert (
        Beneficiary.objects.filter(household=mother.household).count() == 1
    )  # les enfants ne sont pas des fiches
    assert sanctions.household_of_several(mother, D(2026, 5, 10))

    case = case_at(S.OPINION, mother, orientation_manager, team)
    assert case.household_of_several
    with pytest.raises(ValidationError) as error:
        step(case, S.DECIDED, orientation_manager, team, reduction_percent=60, duration_months=1)
    message = error.value.message_dict["reduction_percent"][0]
    assert "60 % dépasse le plafond de 50 %" in message
    assert "parent isolé, 2 enfants" in message
    case = step(case, S.DECIDED, orientation_manager, team, reduction_percent=50, duration_months=1)
    assert (case.status, case.reduction_percent) == (S.DECIDED, 50)


@pytest.mark.parametrize(
    "children_from,capped",
    [
        (D(2026, 5, 8), True),  # les enfants sont arrivés avant la décision du 10/05
        (D(2026, 5, 11), False),  # après la décision : le foyer d'une personne, pas de plafond
    ],
)
def test_cap_reads_the_composition_at_the_decision_date(
    person,
    orientation_manager,
    team,  # noqa: F811
    children_from,
    capped,
):
    HouseholdCompositionFactory(
        household=person.household, valid_from=D(2026, 1, 31), children=0, dependants=0
    )
    HouseholdCompositionFactory(
        household=person.household, valid_from=children_from, children=2, dependants=2
    )
    case = case_at(S.OPINION, person, orientation_manager, team)
    assert not case.household_of_several  # à l'ouverture (02/03), une personne seule
    if capped:
        with pytest.raises(ValidationError, match="plafond de 50 %"):
            step(case, S.DECIDED, orientation_manager, team, reduction_percent=60, duration_months=1)
    else:
        case = step(case, S.DECIDED, orientation_manager, team, reduction_percent=60, duration_months=1)
        assert case.reduction_percent == 60 and not case.household_of_several


def test_children_gone_before_the_decision_lift_the_cap(person, orientation_manager, team):  # noqa: F811
    """Ouverte pour un foyer de trois personnes, la procédure est décidée quand la personne vit seule."""
    HouseholdCompositionFactory(household=person.household, valid_from=D(2026, 1, 31))
    HouseholdCompositionFactory(
        household=person.household, valid_from=D(2026, 4, 30), children=0, dependants=0
    )
    case = case_at(S.OPINION, person, orientation_manager, team)
    assert case.household_of_several
    case = step(case, S.DECIDED, orientation_manager, team, reduction_percent=60, duration_months=1)
    assert case.reduction_percent == 60
    case.refresh_from_db()
    assert not case.household_of_several  # la décision retient le foyer à sa date


def test_without_composition_the_people_known_in_the_household_count(departement, orientation_manager, team):  # noqa: F811
    person = BeneficiaryFactory(departement=departement)
    BeneficiaryFactory(
        departement=departement, household=person.household, role="ENF", nir=None, is_sdd=False
    )
    assert sanctions.household_of_several(person, D(2026, 5, 10))
    alone = BeneficiaryFactory(departement=departement)
    assert not sanctions.household_of_several(alone, D(2026, 5, 10))


def test_decision_page_refuses_60_percent_for_a_single_parent(client, person, orientation_manager, team):  # noqa: F811
    HouseholdCompositionFactory(household=person.household, valid_from=D(2026, 1, 31))
    case = case_at(S.OPINION, person, orientation_manager, team)
    client.force_login(orientation_manager)
    url = reverse("accompaniment:case_detail", args=[case.pk])
    decision = {
        "to_status": "decided",
        "on": "2026-05-10",
        "reason": "Décision du Président",
        "decision": "suspension",
        "duration_months": "1",
    }
    response = client.post(url, {**decision, "reduction_percent": "60"})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert (
        "60 % dépasse le plafond de 50 % pour un foyer de plus d'une personne (parent isolé, 2 enfants"
        in html
    )
    case.refresh_from_db()
    assert case.status == S.OPINION
    response = client.post(url, {**decision, "reduction_percent": "50"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reduction_percent) == (S.DECIDED, 50)
