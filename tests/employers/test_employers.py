"""Relation avec les employeurs : employeurs (SIRET contrôlé), import d'offres tout ou rien et idempotent,
immersions (PMSMP) au plan d'activités avec leurs limites légales, embauches qui sont des sorties en emploi,
rapprochement projet professionnel / offres, droits d'accès et journal des lectures."""

import datetime
from decimal import Decimal
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parcours.accompaniment.models import ActivityKind, ActivityStatus, DiagnosticVersion, Exit, ExitReason
from parcours.accounts.models import OrganisationKind, Role
from parcours.audit.models import AccessLog
from parcours.catalogue.models import Commune
from parcours.employers import services
from parcours.employers.imports import OfferImportError, import_offers
from parcours.employers.models import Employer, ImmersionOutcome, JobOffer, OfferStatus
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = datetime.date.today()
VALID_SIRET = "13000548100010"  # France Travail (SIRET public, clé de Luhn juste)
OTHER_SIRET = "35600000000048"  # établissement de La Poste (somme des chiffres multiple de 5)
HEADER = "reference;siret;raison_sociale;intitule;code_rome;code_insee;commune;type_contrat;duree_mois;heures_hebdo;debut;postes"


def page(response):
    return unescape(response.content.decode())


@pytest.fixture
def departement():
    return DepartementFactory()


@pytest.fixture
def referent(departement):
    return MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__email="referent@cd35.fr"
    ).user


@pytest.fixture
def communes():
    Commune.objects.bulk_create(
        [
            Commune(code="35236", nom="Redon", departement="35", latitude=47.6517, longitude=-2.0843),
            Commune(code="35238", nom="Rennes", departement="35", latitude=48.1113, longitude=-1.6800),
            Commune(code="35288", nom="Saint-Malo", departement="35", latitude=48.6493, longitude=-2.0257),
        ]
    )


@pytest.fixture
def employer(departement):
    return Employer.objects.create(
        departement=departement, siret=VALID_SIRET, name="Boulangerie du Port", commune_code="35288"
    )


def person(departement, rome="", insee="35236", **extra):
    beneficiary = BeneficiaryFactory(departement=departement, insee_code=insee, **extra)
    if rome:
        DiagnosticVersion.objects.create(
            beneficiary=beneficiary, number=1, conducted_on=D(2026, 10, 1), rome_code=rome
        )
    return beneficiary


def offer(employer, rome, insee, title="Vendeur en boulangerie", **extra):
    return JobOffer.objects.create(
        employer=employer, title=title, rome_code=rome, commune_code=insee, contract_type="cdi", **extra
    )


def test_an_invalid_or_duplicate_siret_is_refused_in_french(client, referent, employer):
    client.force_login(referent)
    response = client.post(reverse("employers:create"), {"siret": "130 005 481 00011", "name": "X"})
    assert "la clé de contrôle (formule de Luhn) est fausse" in page(response)
    response = client.post(reverse("employers:create"), {"siret": "130 005 481 00010", "name": "Autre"})
    assert "Cet employeur est déjà enregistré dans le Département." in page(response)
    response = client.post(reverse("employers:create"), {"siret": OTHER_SIRET, "name": "La Poste Redon"})
    created = Employer.objects.get(siret=OTHER_SIRET)
    assert response.url == reverse("employers:detail", args=[created.pk])
    assert created.departement == employer.departement


def test_offer_import_is_all_or_nothing_and_idempotent(client, departement, referent, employer):
    good = "\n".join(
        [
            HEADER,
            f"BP-1;{VALID_SIRET};;Vendeur en boulangerie;D1106;35288;Saint-Malo;CDI;;35;2027-01-04;2",
            f"EH-7;{OTHER_SIRET};La Poste Redon;Agent de tri;N1103;35236;Redon;cdd;6;24,5;;",
        ]
    )
    report = import_offers(departement, good, author=referent)
    assert (report.created, report.updated, report.unchanged, report.employers_created) == (2, 0, 0, 1)
    sorting = JobOffer.objects.get(reference="EH-7")
    assert (sorting.employer.name, sorting.contract_type, sorting.contract_months, sorting.weekly_hours) == (
        "La Poste Redon",
        "cdd",
        6,
        Decimal("24.5"),
    )
    again = import_offers(departement, good, author=referent)
    assert (again.created, again.updated, again.unchanged, again.employers_created) == (0, 0, 2, 0)
    changed = import_offers(departement, good.replace(";2027-01-04;2", ";2027-01-04;3"), author=referent)
    assert (changed.created, changed.updated) == (0, 1)
    assert JobOffer.objects.get(reference="BP-1").positions == 3
    bad = "\n".join(
        [
            HEADER,
            f"BP-9;{VALID_SIRET};;Pâtissier;D1104;35288;Saint-Malo;CDI;;;;",
            f"X-1;{VALID_SIRET};;Plongeur;G16;35288;Saint-Malo;stage;;;04/01/2027;",
        ]
    )
    client.force_login(referent)
    upload = SimpleUploadedFile("offres.csv", bad.encode(), content_type="text/csv")
    text = page(client.post(reverse("employers:offer_import"), {"fichier": upload}))
    assert "rien n'a été importé" in text
    assert "Ligne 3, colonne « code_rome » : Code ROME « G16 » invalide" in text
    assert "Ligne 3, colonne « type_contrat » : « stage » inconnu" in text
    assert "Ligne 3, colonne « debut » : « 04/01/2027 » : attendu une date AAAA-MM-JJ." in text
    assert JobOffer.objects.count() == 2 and not JobOffer.objects.filter(reference="BP-9").exists()
    with pytest.raises(
        OfferImportError, match="Ligne 2, colonne « raison_sociale » : employeur 13000548100010 inconnu"
    ):
        import_offers(
            DepartementFactory(departement_code="44", name="Loire-Atlantique"), good, author=referent
        )


def test_an_immersion_enters_the_activity_plan_and_respects_the_legal_limits(departement, referent, employer):
    beneficiary = person(departement, rome="D1106")
    immersion = services.record_immersion(
        beneficiary,
        employer=employer,
        author=referent,
        objective="confirmer",
        starts_on=D(2026, 11, 2),
        ends_on=D(2026, 11, 13),
        weekly_hours=Decimal("20"),
        tutor_name="Mme Le Bihan",
    )
    activity = immersion.activity
    assert (activity.kind, activity.weekly_hours, activity.weeks, activity.provider) == (
        ActivityKind.IMMERSION,
        Decimal("20.0"),
        2,
        "Boulangerie du Port",
    )
    # Un mois de date à date au plus : du 2 novembre au 1er décembre inclus.
    with pytest.raises(ValidationError, match="soit jusqu'au 01/12/2026"):
        services.record_immersion(
            beneficiary,
            employer=employer,
            author=referent,
            objective="confirmer",
            starts_on=D(2026, 11, 2),
            ends_on=D(2026, 12, 2),
            weekly_hours=20,
            tutor_name="Mme Le Bihan",
        )
    services.record_immersion(
        beneficiary,
        employer=employer,
        author=referent,
        objective="confirmer",
        starts_on=D(2026, 11, 16),
        ends_on=D(2026, 12, 15),
        weekly_hours=20,
        tutor_name="Mme Le Bihan",
    )
    with pytest.raises(ValidationError, match="ne se renouvelle qu'une fois"):
        services.record_immersion(
            beneficiary,
            employer=employer,
            author=referent,
            objective="recruter",
            starts_on=D(2026, 12, 16),
            ends_on=D(2026, 12, 20),
            weekly_hours=20,
            tutor_name="Mme Le Bihan",
        )
    with pytest.raises(ValidationError, match="indiquez pourquoi l'immersion a été interrompue"):
        services.record_immersion_outcome(
            immersion, outcome=ImmersionOutcome.INTERRUPTED, actor=referent, on=TODAY
        )
    services.record_immersion_outcome(immersion, outcome=ImmersionOutcome.CONFIRMED, actor=referent, on=TODAY)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.DONE


def test_a_hiring_on_an_offer_is_the_exit_into_employment_and_fills_the_offer(
    departement, referent, employer
):
    beneficiary = person(departement, rome="D1106")
    job = offer(employer, "D1106", "35288")
    hiring = services.record_hiring(
        beneficiary,
        employer=employer,
        offer=job,
        author=referent,
        job_title="Vendeur",
        contract_type="cdd",
        contract_months=8,
        weekly_hours=Decimal("30"),
        starts_on=TODAY,
    )
    exit_ = Exit.objects.get(beneficiary=beneficiary)
    assert hiring.exit == exit_
    assert (exit_.reason, exit_.employer, exit_.contract_months) == (
        ExitReason.EMPLOYMENT,
        "Boulangerie du Port",
        8,
    )
    job.refresh_from_db()
    assert job.status == OfferStatus.FILLED
    # Un contrat court pendant l'accompagnement n'est pas une sortie.
    other = person(departement)
    services.record_hiring(
        other,
        employer=employer,
        author=referent,
        job_title="Saisonnier",
        contract_type="cdd",
        contract_months=1,
        starts_on=TODAY,
        close_pathway=False,
    )
    assert not Exit.objects.filter(beneficiary=other).exists()


def test_offers_near_the_project_come_first_and_candidates_stay_in_scope(
    departement, referent, employer, communes
):
    beneficiary = person(departement, rome="D1106", insee="35236", last_name="Redonnais")
    near_same_family = offer(employer, "D1101", "35236", title="Boucher")
    far_same_job = offer(employer, "D1106", "35288", title="Vendeur Saint-Malo")
    near_same_job = offer(employer, "D1106", "35238", title="Vendeur Rennes")
    offer(employer, "N1103", "35236", title="Cariste")
    offer(employer, "D1106", "35236", title="Offre close", status=OfferStatus.CLOSED)
    titles = [m.item.title for m in services.offers_for(beneficiary)]
    assert titles == [near_same_job.title, far_same_job.title, near_same_family.title]
    exited = person(departement, rome="D1106")
    Exit.objects.create(beneficiary=exited, reason=ExitReason.EMPLOYMENT, exited_on=TODAY)
    elsewhere = person(DepartementFactory(departement_code="44", name="Loire-Atlantique"), rome="D1106")
    people = services.people_of(referent)
    candidates = services.candidates_for(far_same_job, people)
    assert [m.item.pk for m in candidates] == [beneficiary.pk]
    assert candidates[0].distance_km == pytest.approx(111, abs=3)
    assert elsewhere.pk not in [m.item.pk for m in candidates]


def test_person_page_is_audit_logged_and_scoped(client, departement, referent, employer):
    beneficiary = person(departement, rome="D1106")
    offer(employer, "D1106", "35288")
    client.force_login(referent)
    response = client.get(reverse("employers:person", args=[beneficiary.pk]))
    assert response.status_code == 200
    assert "Vendeur en boulangerie" in page(response)
    assert AccessLog.objects.filter(beneficiary_id=beneficiary.pk, user=referent).exists()
    stranger = person(DepartementFactory(departement_code="44", name="Loire-Atlantique"))
    assert client.get(reverse("employers:person", args=[stranger.pk])).status_code == 404
    response = client.post(
        reverse("employers:person", args=[beneficiary.pk]),
        {
            "form": "immersion",
            "immersion-employer": employer.pk,
            "immersion-objective": "decouvrir",
            "immersion-starts_on": "2026-11-02",
            "immersion-ends_on": "2026-12-05",
            "immersion-weekly_hours": "20",
            "immersion-tutor_name": "M. Tanguy",
        },
    )
    assert "une immersion dure au plus un mois de date à date" in page(response)


def test_state_services_do_not_manage_employers(client, departement):
    ddets = OrganisationFactory(kind=OrganisationKind.ETAT, name="DDETS", departement=departement)
    agent = MembershipFactory(organisation=ddets, role=Role.MANAGER).user
    client.force_login(agent)
    assert client.get(reverse("employers:list")).status_code == 403


def test_employer_list_query_count_does_not_grow(
    client, departement, referent, django_assert_max_num_queries
):
    for n in range(8):
        emp = Employer.objects.create(departement=departement, siret=f"{n:014d}", name=f"Entreprise {n}")
        offer(emp, "D1106", "35288")
    client.force_login(referent)
    client.get(reverse("employers:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("employers:list"))
    assert page(response).count("Entreprise ") == 8
