"""Scénarios des indicateurs, construits par les services publics : flux CAF (import), orientation,
référent, rendez-vous, diagnostic, contrat."""

import datetime

import pytest
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary
from parcours.intake.services import import_flux
from parcours.orientation import services as orientation
from tests.factories import (
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryCommuneFactory,
    make_nir,
)

D = datetime.date

HEADER = [
    "organisme",
    "matricule",
    "role",
    "nir",
    "civilite",
    "nom",
    "prenom",
    "date_naissance",
    "code_postal",
    "commune",
    "code_insee",
    "date_ouverture_droit",
    "etat_droit",
    "soumis_droits_devoirs",
]

PEOPLE = {
    "alice": ("3500001", make_nir(1, sex=2), "MME", "Martin", "Alice", "12/06/1985"),
    "bruno": ("3500002", make_nir(2, sex=1), "M", "Le Goff", "Bruno", "03/02/1983"),
    "chloe": ("3500003", make_nir(3, sex=2), "MME", "Guérin", "Chloé", "21/09/1990"),
    "david": ("3500004", make_nir(4, sex=1), "M", "Robin", "David", "14/11/1979"),
    "emma": ("3500005", make_nir(5, sex=2), "MME", "Hamon", "Emma", "30/01/1995"),
    "farid": ("3500006", make_nir(6, sex=1), "M", "Benali", "Farid", "08/07/1988"),
}

COMMUNES = {
    "redon": ("35236", "35600", "Redon"),
    "vitre": ("35360", "35500", "Vitré"),
}


def row(name, *, opened="08/02/2026", state="2", sdd="1", commune="redon"):
    matricule, nir, civility, last, first, birth = PEOPLE[name]
    insee, postal, city = COMMUNES[commune]
    values = [
        "CAF",
        matricule,
        "DEM",
        nir,
        civility,
        last,
        first,
        birth,
        postal,
        city,
        insee,
        opened,
        state,
        sdd,
    ]
    return ";".join(values)


@pytest.fixture
def departement(db):
    dep = DepartementFactory()
    TerritoryCommuneFactory(
        territory__departement=dep,
        territory__code="REDON",
        territory__name="Pays de Redon",
        insee_code="35236",
    )
    TerritoryCommuneFactory(
        territory__departement=dep,
        territory__code="VITRE",
        territory__name="Pays de Vitré",
        insee_code="35360",
        postal_code="35500",
        name="Vitré",
    )
    return dep


@pytest.fixture
def flux(tmp_path, departement):
    """``flux(date_de_reception, row("alice"), …)`` : importe un flux CAF canonique reçu ce jour-là."""
    counter = {"n": 0}

    def run(received_on, *rows):
        counter["n"] += 1
        path = tmp_path / f"flux-{counter['n']}.csv"
        path.write_text("\n".join([";".join(HEADER), *rows]) + "\n", encoding="utf-8")
        report = import_flux(path, organisation=departement, received_on=received_on)
        assert not report.rejected, report.message
        return report

    return run


def person(name):
    return Beneficiary.objects.get(nir=PEOPLE[name][1])


@pytest.fixture
def france_travail(departement):
    return OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )


@pytest.fixture
def manager(departement):
    return MembershipFactory(
        organisation=departement, role=Role.ORIENTATION_MANAGER, user__email="pilotage@departement35.fr"
    ).user


@pytest.fixture
def referent(france_travail):
    return MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__email="conseillere@francetravail.fr"
    ).user


@pytest.fixture
def orient(manager, departement):
    """``orient(personne, notifiée_le, parcours="emploi")`` : décision notifiée par le service d'orientation."""

    def run(beneficiary, notified_on, pathway="emploi", organisation=None):
        return orientation.decide_orientation(
            beneficiary,
            pathway=pathway,
            organisation=organisation or departement,
            author=manager,
            decided_on=notified_on,
            notified_on=notified_on,
        )

    return run


@pytest.fixture
def held_appointment(manager):
    """Rendez-vous d'orientation honoré le jour donné (10 h)."""

    def run(beneficiary, on):
        starts_at = timezone.make_aware(datetime.datetime(on.year, on.month, on.day, 10))
        appointment = orientation.schedule_appointment(
            beneficiary, starts_at=starts_at, place="Espace social de Redon", author=manager
        )
        return orientation.record_attendance(appointment, "seen", author=manager, on=on)

    return run


@pytest.fixture
def employer(departement):
    """Un employeur du Département (relation avec les employeurs), pour enregistrer des embauches."""
    from parcours.employers.models import Employer

    return Employer.objects.create(
        departement=departement, siret="13000548100010", name="Entrepôt de Redon", commune_code="35236"
    )


@pytest.fixture
def hire(employer, referent):
    """``hire(personne, prise_de_poste, contrat, mois=None, sortie=False)`` : embauche enregistrée par le
    service des employeurs ; ``sortie`` : c'est aussi la sortie en emploi de l'accompagnement."""
    from parcours.employers.services import record_hiring

    def run(beneficiary, starts_on, contract_type, months=None, exit=False):
        return record_hiring(
            beneficiary,
            employer=employer,
            author=referent,
            job_title="Préparateur de commandes",
            contract_type=contract_type,
            contract_months=months,
            starts_on=starts_on,
            close_pathway=exit,
        )

    return run
