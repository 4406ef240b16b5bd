"""Droits, diagnostics, activités, prescriptions et sorties par l'API des systèmes partenaires : périmètre,
portées, synchronisation (curseur, ``updated_after``), nombre de requêtes, données sensibles jamais publiées."""

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from parcours.accompaniment import activities, exits
from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import Exit, Situation
from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import RsaRight
from parcours.catalogue import prescriptions as rx
from parcours.intake.services import import_flux
from tests.catalogue.conftest import make_service, make_structure
from tests.factories import BeneficiaryFactory, MembershipFactory, OrganisationFactory, make_nir

from .conftest import D, follow

TODAY = timezone.localdate()
JOB_START = TODAY - datetime.timedelta(days=200)


@pytest.fixture
def referent(departement):
    return MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__email="referente@departement35.fr"
    ).user


@pytest.fixture
def mobility():
    return Situation.objects.filter(theme__code="mobilite").order_by("pk").first()


@pytest.fixture
def health():
    return Situation.objects.filter(theme__sensitive=True).order_by("pk").first()


def accompany(person, referent, mobility, health, service):
    """Le parcours d'une personne : diagnostic, activité, prescription, sortie en emploi suivie à 6 mois."""
    diagnostic = accompaniment.save_diagnostic(
        person,
        author=referent,
        can_see_sensitive=True,
        organisation=person.departement,
        situations=[mobility, health],
        conducted_on=TODAY - datetime.timedelta(days=300),
        rome_code="K2204",
        weekly_availability_hours=20,
        notes="Observations confidentielles du référent.",
        health_notes="Suivi psychiatrique en cours.",
        skills="Permis B en cours, aime le contact.",
    )
    activity = activities.plan_activity(
        person,
        author=referent,
        kind="formation",
        label="Titre professionnel agent de propreté",
        weekly_hours="20",
        weeks=12,
        starts_on=TODAY - datetime.timedelta(days=250),
        provider="AFPA Rennes",
    )
    prescription = rx.create_prescription(
        user=referent,
        beneficiary=person,
        service=service,
        shared_data=rx.build_shared_data(rx.prefill(person), {"phone"}),
        message="Besoin d'un moyen de transport pour la formation.",
        consent=True,
    )
    exit_ = exits.record_exit(
        person,
        author=referent,
        reason="emploi",
        exited_on=JOB_START,
        details="Trouvé grâce au job dating.",
        employer="Boulangerie Le Fournil",
        job_title="Vendeuse",
        contract_type="cdd",
        contract_months=8,
        weekly_hours=Decimal("28"),
        job_started_on=JOB_START,
    )
    return diagnostic, activity, prescription, exit_


@pytest.fixture
def service(departement):
    structure = make_structure(nom="Association Mobilité 35", siret="12345678900012")
    return make_service(
        structure, nom="Atelier mobilité — permis accompagné", courriel="contact@mobilite35.fr"
    )


@pytest.fixture
def scenario(departement, france_travail, person, referent, mobility, health, service):
    """Nadia (suivie par France Travail) et une voisine du même Département (non suivie), chacune avec son
    parcours complet ; une personne d'un autre Département."""
    follow(person, france_travail)
    stranger = BeneficiaryFactory(departement=departement, first_name="Inès", last_name="Morvan")
    mine = accompany(person, referent, mobility, health, service)
    theirs = accompany(stranger, referent, mobility, health, service)
    other_dep = BeneficiaryFactory(departement__departement_code="56", departement__name="Morbihan")
    return {"mine": mine, "theirs": theirs, "stranger": stranger, "other": other_dep}


ENDPOINTS = {
    "droits": "droits:lecture",
    "diagnostics": "diagnostics:lecture",
    "activites": "activites:lecture",
    "prescriptions": "prescriptions:lecture",
    "sorties": "sorties:lecture",
}


def test_partner_reads_only_the_people_it_follows(scenario, france_travail, person, make_partner, api_client):
    diagnostic, activity, prescription, exit_ = scenario["mine"]
    _, token = make_partner(france_travail)
    client = api_client(token)
    expected = {
        "droits": [person.household.right.pk],
        "diagnostics": [diagnostic.pk],
        "activites": [activity.pk],
        "prescriptions": [prescription.pk],
        "sorties": [exit_.pk],
    }
    for path, ids in expected.items():
        items, _ = client.pull_all(path)
        assert [item["id"] for item in items] == ids, path
        # Le détail se lit aussi un par un ; hors périmètre, 404 comme une ressource inexistante.
        assert client.get(f"{path}/{ids[0]}").json() == items[0]
    theirs = dict(
        zip(["diagnostics", "activites", "prescriptions", "sorties"], scenario["theirs"], strict=True)
    )
    for path, obj in theirs.items():
        response = client.get(f"{path}/{obj.pk}")
        assert response.status_code == 404 and response.json()["code"] == "introuvable", path
    assert client.get(f"droits/{scenario['stranger'].household.right.pk}").status_code == 404


def test_departement_system_reads_its_whole_departement_only(scenario, departement, make_partner, api_client):
    _, token = make_partner(departement)
    client = api_client(token)
    mine, theirs = scenario["mine"], scenario["theirs"]
    for path, index in (("diagnostics", 0), ("activites", 1), ("prescriptions", 2), ("sorties", 3)):
        items, _ = client.pull_all(path)
        assert sorted(i["id"] for i in items) == sorted([mine[index].pk, theirs[index].pk]), path
    rights, _ = client.pull_all("droits")
    assert scenario["other"].household.right.pk not in {r["id"] for r in rights}
    assert len(rights) == 2


def test_each_resource_requires_its_scope(scenario, france_travail, make_partner, api_client):
    _, token = make_partner(france_travail, scopes=["personnes:lecture", "contrats:lecture"])
    client = api_client(token)
    for path, scope in ENDPOINTS.items():
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json() == {
            "code": "acces_refuse",
            "message": f"Ce système partenaire n'a pas la portée « {scope} ».",
        }
        assert client.get(f"{path}/1").status_code == 403
    assert api_client("prc_jeton-inconnu").get("sorties").status_code == 401


def test_rights_give_identifiers_to_the_departement_only(
    scenario, departement, france_travail, person, make_partner, api_client
):
    _, ft_token = make_partner(france_travail)
    (right,) = api_client(ft_token).get("droits").json()["elements"]
    assert right["personnes"] == [person.pk]
    assert right["organisme"] == "CAF" and right["etat"] == "2"
    assert right["etat_libelle"] == "Droit ouvert et versable" and right["ouvert_le"] == "2026-01-15"
    assert right["matricule"] is None and right["numero_demande"] is None
    _, dep_token = make_partner(departement, name="Logiciel social du Département")
    page = api_client(dep_token).get("droits", personne=person.pk).json()
    assert [r["matricule"] for r in page["elements"]] == [person.household.matricule]


def test_diagnostic_exposes_barriers_never_free_text_nor_health(
    scenario, france_travail, departement, mobility, make_partner, api_client
):
    _, token = make_partner(france_travail)
    (item,) = api_client(token).get("diagnostics").json()["elements"]
    assert item["version"] == 1 and item["conjoint"] is False
    assert item["code_rome"] == "K2204" and item["disponibilite_hebdomadaire_heures"] == 20
    assert item["organisation"] == {"id": departement.pk, "nom": departement.name, "type": "departement"}
    assert item["themes"] == [
        {
            "code": "mobilite",
            "libelle": mobility.theme.label,
            "nature": "frein",
            "code_france_travail": mobility.theme.france_travail_code,
            "situations": [{"code": mobility.code, "libelle": mobility.label}],
        }
    ]
    text = json.dumps(item, ensure_ascii=False)
    for secret in ("confidentielles", "psychiatrique", "Permis B", "sante", "referente@"):
        assert secret not in text


def test_exit_with_employment_and_six_month_check(
    scenario, france_travail, referent, make_partner, api_client
):
    exit_ = scenario["mine"][3]
    _, token = make_partner(france_travail)
    client = api_client(token)
    items, cursor = client.pull_all("sorties")
    assert items[0]["motif"] == "emploi" and items[0]["sortie_le"] == JOB_START.isoformat()
    assert items[0]["emploi"] == {
        "employeur": "Boulangerie Le Fournil",
        "poste": "Vendeuse",
        "type_contrat": "cdd",
        "duree_mois": 8,
        "heures_hebdomadaires": 28.0,
        "prise_de_poste_le": JOB_START.isoformat(),
    }
    assert items[0]["suivis"] == [] and "job dating" not in json.dumps(items[0])
    # La vérification à 6 mois fait revenir la sortie dans la synchronisation, avec son suivi.
    exits.record_employment_check(
        Exit.objects.get(pk=exit_.pk),
        author=referent,
        on=TODAY,
        still_employed=True,
        contract_type="cdi",
        six_month=True,
        notes="Embauchée en CDI.",
    )
    resumed, _ = client.pull_all("sorties", curseur=cursor)
    assert [i["id"] for i in resumed] == [exit_.pk]
    assert resumed[0]["suivis"] == [
        {
            "verifie_le": TODAY.isoformat(),
            "en_emploi": True,
            "type_contrat": "cdi",
            "duree_mois": None,
            "a_6_mois": True,
            "durable": True,
        }
    ]


def test_activity_and_prescription_changes_come_back_with_the_cursor(
    scenario, france_travail, referent, make_partner, api_client
):
    _, activity, prescription, _ = scenario["mine"]
    _, token = make_partner(france_travail)
    client = api_client(token)
    acts, act_cursor = client.pull_all("activites")
    # la sortie en emploi a clos le plan : l'activité prévue est abandonnée
    assert acts[0]["statut"] == "abandoned" and acts[0]["heures_hebdomadaires"] == 20.0
    assert acts[0]["prestataire"] == "AFPA Rennes" and acts[0]["semaines"] == 12
    rxs, rx_cursor = client.pull_all("prescriptions")
    assert rxs[0]["statut"] == "open" and rxs[0]["structure"]["siret"] == "12345678900012"
    assert rxs[0]["service"]["nom"] == "Atelier mobilité — permis accompagné"
    assert "transport" not in json.dumps(rxs[0])  # motif rédigé par le prescripteur : jamais transmis
    # suivi dans l'emploi : une formation prévue après la sortie revient par le curseur, puis son début
    training = activities.plan_activity(
        activity.beneficiary,
        author=referent,
        kind="formation",
        label="Habilitation électrique",
        weekly_hours="10",
        weeks=2,
        starts_on=TODAY,
    )
    activities.set_activity_status(training, "in_progress", actor=referent, on=TODAY)
    rx.accept(prescription, actor_label="Accueil de l'association", start_on=TODAY)
    assert [(a["id"], a["statut"]) for a in client.pull_all("activites", curseur=act_cursor)[0]] == [
        (training.pk, "in_progress")
    ]
    (accepted,) = client.pull_all("prescriptions", curseur=rx_cursor)[0]
    assert accepted["statut"] == "accepted" and accepted["repondue_le"] == TODAY.isoformat()
    assert accepted["debut_prevu"] == TODAY.isoformat()


def test_prescriptions_received_by_the_partner_structure(
    departement, referent, service, make_partner, api_client
):
    """Une structure du catalogue rattachée à l'organisation du système reçoit ses prescriptions, même pour
    des personnes qu'elle ne suit pas (comme l'espace structure des agents)."""
    association = OrganisationFactory(
        kind=OrganisationKind.STRUCTURE, name="Association Mobilité 35", departement=departement
    )
    service.structure.organisation = association
    service.structure.save()
    person = BeneficiaryFactory(departement=departement)
    received = rx.create_prescription(
        user=referent,
        beneficiary=person,
        service=service,
        shared_data=rx.build_shared_data(rx.prefill(person), set()),
        consent=True,
    )
    _, token = make_partner(association)
    client = api_client(token)
    assert [p["id"] for p in client.pull_all("prescriptions")[0]] == [received.pk]
    assert client.pull_all("sorties")[0] == []  # la personne n'est pas dans son périmètre pour le reste


def test_updated_after_and_person_filter(scenario, departement, person, make_partner, api_client):
    _, token = make_partner(departement)
    client = api_client(token)
    long_ago = timezone.now() - datetime.timedelta(days=3)
    Exit.objects.filter(beneficiary=person).update(updated_at=long_ago)
    RsaRight.objects.filter(household=person.household).update(updated_at=long_ago)
    since = (long_ago + datetime.timedelta(days=1)).isoformat()
    assert [e["personne"] for e in client.pull_all("sorties", updated_after=since)[0]] == [
        scenario["stranger"].pk
    ]
    assert [r["personnes"] for r in client.pull_all("droits", updated_after=since)[0]] == [
        [scenario["stranger"].pk]
    ]
    for path in ("diagnostics", "activites", "prescriptions", "sorties"):
        items, _ = client.pull_all(path, personne=person.pk)
        assert {i["personne"] for i in items} == {person.pk}, path
    assert [r["personnes"] for r in client.pull_all("droits", personne=person.pk)[0]] == [[person.pk]]


def test_cursor_pages_cover_every_diagnostic_version_once(
    departement, referent, mobility, make_partner, api_client
):
    people = BeneficiaryFactory.create_batch(3, departement=departement)
    versions = [
        accompaniment.save_diagnostic(
            p, author=referent, can_see_sensitive=False, situations=[mobility], conducted_on=D(2026, 3, day)
        )
        for day in (2, 9)
        for p in people
    ]
    _, token = make_partner(departement)
    client = api_client(token)
    first = client.get("diagnostics", limite=4).json()
    assert len(first["elements"]) == 4 and first["fin"] is False
    items, cursor = client.pull_all("diagnostics", limite=4)
    assert sorted(i["id"] for i in items) == sorted(v.pk for v in versions)
    assert client.get("diagnostics", curseur=cursor).json()["elements"] == []
    newer = accompaniment.save_diagnostic(
        people[0], author=referent, can_see_sensitive=False, conducted_on=D(2026, 3, 16)
    )
    assert [(i["id"], i["version"]) for i in client.pull_all("diagnostics", curseur=cursor)[0]] == [
        (newer.pk, 3)
    ]


def test_list_query_count_does_not_grow_with_page_size(
    departement, referent, mobility, health, service, make_partner, api_client, django_assert_max_num_queries
):
    for index, person in enumerate(BeneficiaryFactory.create_batch(4, departement=departement)):
        _, _, _, exit_ = accompany(person, referent, mobility, health, make_service(make_structure()))
        exits.record_employment_check(
            exit_, author=referent, on=TODAY, still_employed=bool(index % 2), contract_type="cdi"
        )
    _, token = make_partner(departement)
    client = api_client(token)
    client.get("personnes")  # première utilisation du jeton (date de dernière utilisation écrite)
    for path in ENDPOINTS:
        # Dont 3 ou 4 pour le journal d'accès (transaction, verrou PostgreSQL, chaînage, insertion) et 1 pour le
        # compteur de débit de l'API, commun à tous les serveurs (parcours.core.throttle).
        with django_assert_max_num_queries(9):
            page = client.get(path, limite=50).json()
        assert len(page["elements"]) == 4, path


def test_a_flux_that_changes_the_right_brings_it_back(tmp_path, departement, make_partner, api_client):
    header = (
        "organisme;matricule;role;nir;civilite;nom;prenom;date_naissance;code_postal;commune;code_insee;"
        "date_ouverture_droit;etat_droit;soumis_droits_devoirs"
    )

    def flux(name, state):
        path = tmp_path / name
        row = f"CAF;3512345;DEM;{make_nir(77, sex=2)};MME;Le Goff;Maëlle;12/06/1985;35600;Redon;35236;02/01/2026"
        path.write_text(f"{header}\n{row};{state};1\n", encoding="utf-8")
        return path

    import_flux(flux("janvier.csv", "2"), organisation=departement, received_on=D(2026, 1, 5))
    _, token = make_partner(departement)
    client = api_client(token)
    (right,), cursor = client.pull_all("droits")
    assert right["etat"] == "2" and right["numero_demande"] == ""
    # Le même état au flux suivant : rien ne revient.
    import_flux(flux("fevrier.csv", "2"), organisation=departement, received_on=D(2026, 2, 5))
    assert client.pull_all("droits", curseur=cursor)[0] == []
    # Droit suspendu : le droit revient avec son nouvel état.
    import_flux(flux("mars.csv", "3"), organisation=departement, received_on=D(2026, 3, 5))
    (changed,), _ = client.pull_all("droits", curseur=cursor)
    assert (changed["id"], changed["etat"], changed["etat_depuis"]) == (right["id"], "3", "2026-03-05")
