"""Fabriques de données de test réalistes."""

import datetime

import factory
from factory.django import DjangoModelFactory

from parcours.accounts.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    Territory,
    TerritoryCommune,
    User,
)
from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, HouseholdComposition, RsaRight
from parcours.beneficiaries.nir import compute_key


class DepartementFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("departement_code",)

    kind = OrganisationKind.DEPARTEMENT
    name = "Département d'Ille-et-Vilaine"
    departement_code = "35"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrganisationKind.FRANCE_TRAVAIL
    name = factory.Sequence(lambda n: f"Agence France Travail n°{n}")
    departement = factory.SubFactory(DepartementFactory)


class TerritoryFactory(DjangoModelFactory):
    class Meta:
        model = Territory

    departement = factory.SubFactory(DepartementFactory)
    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.Sequence(lambda n: f"Territoire d'action sociale {n}")


class TerritoryCommuneFactory(DjangoModelFactory):
    class Meta:
        model = TerritoryCommune

    territory = factory.SubFactory(TerritoryFactory)
    insee_code = "35236"
    postal_code = "35600"
    name = "Redon"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"agent{n}@departement35.fr")
    username = factory.SelfAttribute("email")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.django.Password("motdepasse-solide-2026")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(DepartementFactory)
    role = Role.ORIENTATION_MANAGER


class HouseholdFactory(DjangoModelFactory):
    class Meta:
        model = Household
        skip_postgeneration_save = True  # le droit est créé après le foyer : rien à réenregistrer

    departement = factory.SubFactory(DepartementFactory)
    organism = "CAF"
    matricule = factory.Sequence(lambda n: f"{3500000 + n}")
    right = factory.RelatedFactory("tests.factories.RsaRightFactory", factory_related_name="household")


class RsaRightFactory(DjangoModelFactory):
    class Meta:
        model = RsaRight

    household = None
    opened_on = datetime.date(2026, 1, 15)
    state = "2"


class HouseholdCompositionFactory(DjangoModelFactory):
    """Composition du foyer dite par un flux (par défaut : une mère seule et ses deux enfants)."""

    class Meta:
        model = HouseholdComposition

    household = factory.SubFactory(HouseholdFactory)
    valid_from = datetime.date(2026, 1, 31)
    adults = 1
    partner = False
    children = 2
    others = 0
    dependants = 2


def make_nir(n, sex=1, year=85, month=6, dep="35"):
    body = f"{sex}{year:02d}{month:02d}{dep}{236:03d}{n % 1000:03d}"
    body = body[:13]
    return f"{body}{compute_key(body):02d}"


class BeneficiaryFactory(DjangoModelFactory):
    class Meta:
        model = Beneficiary

    departement = factory.SubFactory(DepartementFactory)
    household = factory.SubFactory(HouseholdFactory, departement=factory.SelfAttribute("..departement"))
    role = "DEM"
    civility = "MME"
    last_name = factory.Faker("last_name", locale="fr_FR")
    first_name = factory.Faker("first_name_female", locale="fr_FR")
    birth_date = datetime.date(1985, 6, 12)
    nir = factory.Sequence(lambda n: make_nir(n, sex=2))
    rsa_state = "2"
    is_sdd = True


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUp

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    started_on = datetime.date(2026, 2, 1)
