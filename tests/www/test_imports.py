import datetime
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary
from parcours.intake.models import ColumnMapping, ImportBatch
from tests.factories import (
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryCommuneFactory,
    UserFactory,
    make_nir,
)
from tests.www.factories_extra import ImportBatchFactory

pytestmark = pytest.mark.django_db

NEW_URL = reverse("import_new")
HEADER = (
    "organisme;matricule;role;nir;civilite;nom;nom_naissance;prenom;date_naissance;email;telephone;"
    "adresse;code_postal;commune;code_insee;date_ouverture_droit;etat_droit;soumis_droits_devoirs;"
    "id_departement;id_france_travail"
)
ALICE = (
    f"CAF;3500001;DEM;{make_nir(1, sex=2)};MME;Martin;Le Goff;Alice;12/06/1985;alice.martin@example.fr;"
    "06 12 34 56 78;3 rue des Douves;35600;Redon;35236;02/01/2026;2;1;IODAS001;"
)
BRUNO = (
    f"CAF;3500001;CJT;{make_nir(2, sex=1)};M;Martin;Martin;Bruno;03/02/1983;;;3 rue des Douves;35600;"
    "Redon;35236;02/01/2026;2;0;IODAS002;"
)
CHLOE = (
    f"MSA;7700002;DEM;{make_nir(3, sex=2)};MME;Bernard;;Chloé;30/11/1990;chloe@example;;;35000;Rennes;;"
    "15/02/2026;2;1;;FT0001"
)


def csv_upload(*rows, name="flux_mars_2026.csv"):
    content = "\n".join([HEADER, *rows]) + "\n"
    return SimpleUploadedFile(name, content.encode("utf-8-sig"), content_type="text/csv")


def login(client, **membership):
    m = MembershipFactory(**membership)
    client.force_login(m.user)
    return m


@pytest.fixture
def manager(client):
    m = login(client, role=Role.ORIENTATION_MANAGER)
    TerritoryCommuneFactory(territory__departement=m.organisation, territory__name="Pays de Redon")
    return m


# --- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "role", "status"),
    [
        (OrganisationKind.DEPARTEMENT, Role.ADMIN, 200),
        (OrganisationKind.DEPARTEMENT, Role.ORIENTATION_MANAGER, 200),
        (OrganisationKind.DEPARTEMENT, Role.REFERENT, 403),
        (OrganisationKind.DEPARTEMENT, Role.MANAGER, 403),
        (OrganisationKind.FRANCE_TRAVAIL, Role.ADMIN, 403),
        (OrganisationKind.ASSOCIATION, Role.ORIENTATION_MANAGER, 403),
    ],
)
def test_only_departement_admins_and_orientation_managers_may_import(client, kind, role, status):
    organisation = (
        DepartementFactory() if kind == OrganisationKind.DEPARTEMENT else OrganisationFactory(kind=kind)
    )
    login(client, organisation=organisation, role=role)
    assert client.get(NEW_URL).status_code == status
    response = client.post(NEW_URL, {"fichier": csv_upload(ALICE), "format": "auto", "recu_le": "2026-03-01"})
    assert response.status_code in {status, 302}
    if status == 403:
        assert ImportBatch.objects.count() == 0


def test_import_pages_require_login(client):
    for url in (reverse("import_list"), NEW_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_upload_form_defaults_reception_date_to_today_and_hides_single_organisation(client, manager):
    ColumnMapping.objects.create(
        organisation=manager.organisation, name="Tableur IODAS", columns={"nom": "NOM"}
    )
    response = client.get(NEW_URL)
    html = response.content.decode()
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in html
    assert 'type="hidden" name="organisation"' in html
    assert "Tableur IODAS" in html
    assert "cnaf-xml" in html


def test_agent_of_several_departements_chooses_the_organisation(client):
    user = UserFactory()
    d35 = DepartementFactory()
    d44 = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    d56 = DepartementFactory(departement_code="56", name="Département du Morbihan")
    MembershipFactory(user=user, organisation=d35, role=Role.ADMIN)
    MembershipFactory(user=user, organisation=d44, role=Role.ORIENTATION_MANAGER)
    MembershipFactory(user=user, organisation=d56, role=Role.REFERENT)
    client.force_login(user)
    form = client.get(NEW_URL).context["form"]
    assert sorted(o.name for o in form.fields["organisation"].queryset) == [
        "Département d'Ille-et-Vilaine",
        "Département de Loire-Atlantique",
    ]
    response = client.post(
        NEW_URL,
        {"fichier": csv_upload(ALICE), "format": "auto", "recu_le": "2026-03-01", "organisation": d56.pk},
    )
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors
    assert ImportBatch.objects.count() == 0


def test_upload_over_the_size_cap_is_refused_in_french(client, manager, settings):
    settings.PARCOURS_IMPORT_MAX_UPLOAD_BYTES = 100
    response = client.post(NEW_URL, {"fichier": csv_upload(ALICE), "format": "auto", "recu_le": "2026-03-01"})
    assert response.status_code == 200
    html = unescape(response.content.decode()).replace("\xa0", " ")
    assert "Le fichier est trop volumineux" in html
    assert "100 octets" in html
    assert ImportBatch.objects.count() == 0


def test_unknown_mapping_is_refused_by_the_form(client, manager):
    other = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    ColumnMapping.objects.create(organisation=other, name="Leur tableur", columns={})
    response = client.post(
        NEW_URL,
        {
            "fichier": csv_upload(ALICE),
            "format": "auto",
            "recu_le": "2026-03-01",
            "correspondance": "Leur tableur",
        },
    )
    assert response.status_code == 200
    assert "correspondance" in response.context["form"].errors
    assert ImportBatch.objects.count() == 0


# --- dépôt et rapport (moteur d'import) -----------------------------------------------------------------


def test_upload_runs_the_import_and_redirects_to_the_report(client, manager):
    response = client.post(
        NEW_URL,
        {"fichier": csv_upload(ALICE, BRUNO, CHLOE), "format": "csv", "recu_le": "2026-03-01"},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("import_detail", args=[batch.pk])
    assert batch.status == "done"
    assert batch.created_by == manager.user
    assert batch.received_on == datetime.date(2026, 3, 1)
    assert (batch.created, batch.new_entrants) == (3, 2)

    page = client.get(response.url)
    html = unescape(page.content.decode())
    assert "Terminé" in html
    assert "flux_mars_2026.csv" in html
    assert "hx-trigger" not in html  # terminé : plus de sondage
    assert "Avertissements (1)" in html  # e-mail invalide de Chloé : importée sans l'adresse
    assert "chloe@example" in html
    assert "Colonnes reconnues" in html and "date_ouverture_droit" in html
    assert f"{reverse('beneficiary_list')}?entrant_depuis=2026-03-01" in html

    listed = client.get(reverse("beneficiary_list"), {"entrant_depuis": "2026-03-01"})
    assert sorted(b.first_name for b in listed.context["page_obj"]) == ["Alice", "Chloé"]
    alice = Beneficiary.objects.get(first_name="Alice")
    file_html = unescape(client.get(reverse("beneficiary_detail", args=[alice.pk])).content.decode())
    assert "Nouvel entrant" in file_html
    assert "flux_mars_2026.csv" in file_html  # fichier d'origine dans l'historique du droit
    assert "Bruno MARTIN" in file_html  # conjoint du foyer


@pytest.mark.django_db(transaction=True)
def test_in_production_an_upload_is_imported_by_the_job_worker(client, manager, settings):
    """Production : le dépôt met l'import en file ; le processus des tâches (ici ou sur un autre serveur)
    l'exécute, et un redémarrage du serveur web ne l'interrompt pas."""
    from django.core.management import call_command

    from parcours.jobs.models import Job

    settings.PARCOURS_IMPORT_IN_BACKGROUND = True
    settings.PARCOURS_IMPORT_RUNNER = "jobs"
    response = client.post(
        NEW_URL,
        {"fichier": csv_upload(ALICE, BRUNO, CHLOE), "format": "csv", "recu_le": "2026-03-01"},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert batch.status == "pending"
    job = Job.objects.get(name="import-flux")
    assert job.params == {"batch": batch.pk} and job.created_by == manager.user
    assert "Le fichier est en attente de traitement" in unescape(client.get(response.url).content.decode())

    call_command("jobs-worker", "--une-fois", "--verbosity", "0")
    batch.refresh_from_db()
    assert batch.status == "done"
    assert (batch.created, batch.new_entrants) == (3, 2)


def test_file_with_row_errors_is_rejected_whole_with_an_error_table(client, manager):
    bad = ALICE.replace(";02/01/2026;2;1;", ";02/01/2026;9;1;")
    response = client.post(
        NEW_URL, {"fichier": csv_upload(bad, CHLOE), "format": "auto", "recu_le": "2026-03-01"}, follow=True
    )
    html = unescape(response.content.decode())
    batch = ImportBatch.objects.get()
    assert batch.status == "rejected"
    assert Beneficiary.objects.count() == 0
    assert "Refusé (rien n'a été écrit)" in html
    assert "Erreurs (1)" in html
    error = batch.report["errors"][0]
    assert f"<td>{error['message']}</td>" in html
    assert str(error["row"]) in html
    assert "Corrigez les lignes ci-dessous" in html


def test_unusable_structure_is_rejected_with_a_french_message(client, manager):
    # un CSV déclaré comme flux XML CNAF : pas le format annoncé, rien n'est écrit
    response = client.post(
        NEW_URL, {"fichier": csv_upload(ALICE), "format": "cnaf-xml", "recu_le": "2026-03-01"}, follow=True
    )
    batch = ImportBatch.objects.get()
    assert batch.status == "rejected"
    html = unescape(response.content.decode())
    assert batch.report["message"] in html
    assert Beneficiary.objects.count() == 0
    # Le fichier entier est refusé : aucune ligne à corriger, la page ne le demande pas.
    assert "Corrigez les lignes ci-dessous" not in html


@pytest.mark.parametrize(
    ("name", "detected", "expected"),
    [
        ("rdv-insertion/fichier_usager_test.xlsx", "spreadsheet", "N° Allocataire"),
        ("carnet-de-bord/caf_flux_RSABEM_mensuel_droit_ouvert.xml", "cnaf-xml", "cnaf-xml"),
    ],
)
def test_reference_files_upload_with_format_detection(
    client, manager, reference_data, name, detected, expected
):
    path = reference_data / name
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    response = client.post(
        NEW_URL, {"fichier": upload, "format": "auto", "recu_le": "2026-03-01"}, follow=True
    )
    batch = ImportBatch.objects.get()
    html = unescape(response.content.decode())
    assert batch.filename == path.name
    assert batch.status == "done", batch.report
    assert batch.detected_format == detected
    assert "Terminé" in html and expected in html
    assert Beneficiary.objects.count() == batch.created > 0
    assert batch.report["message"] in html


def test_report_shows_counters_errors_warnings_disagreements_and_columns(client, manager):
    batch = ImportBatchFactory(
        organisation=manager.organisation,
        filename="RSABEM_mensuel.xml",
        created=12,
        updated=30,
        unchanged=1200,
        new_entrants=7,
        report={
            "created": 12,
            "updated": 30,
            "unchanged": 1200,
            "new_entrants": 7,
            "message": "1 242 lignes lues : 12 personnes créées.",
            "errors": [],
            "warnings": [{"row": 18, "field": "telephone", "message": "Téléphone « 12 » invalide : ignoré"}],
            "warnings_omitted": 4,
            "disagreements": [
                {
                    "row": 44,
                    "person": "Alice Martin",
                    "matricule": "3500001",
                    "cnaf": True,
                    "regle": False,
                    "message": "TOPPERSENTDRODEVORSA = 1 mais la règle de l'annexe 4 dit pas nouvel entrant",
                }
            ],
            "columns": {"NOM": "nom", "Prénom": "prenom", "N° CAF": "matricule"},
        },
    )
    html = unescape(client.get(reverse("import_detail", args=[batch.pk])).content.decode())
    html = html.replace("\u202f", " ").replace("\xa0", " ")
    for expected in [
        "1 200",  # inchangés, avec séparateur de milliers
        "1 242 lignes lues",
        "Avertissements (5)",
        "Seul le premier est listé.",
        "Téléphone « 12 » invalide : ignoré",
        "Écarts entre le top CNAF et la règle de l'annexe 4 (1)",
        "Alice Martin",
        "Règle de l'annexe 4",
        "N° CAF",
        "matricule",
    ]:
        assert expected in html, expected


def test_progress_fragment_polls_while_running_then_returns_the_report(client, manager):
    batch = ImportBatchFactory(organisation=manager.organisation, status="running", report={})
    # Progression écrite par le processus qui importe, lue sur la ligne du lot par n'importe quel processus web.
    ImportBatch.objects.filter(pk=batch.pk).update(progress_done=40, progress_total=200)
    page = client.get(reverse("import_detail", args=[batch.pk])).content.decode()
    assert f'hx-get="{reverse("import_progress", args=[batch.pk])}"' in page
    assert 'hx-trigger="every 1s"' in page
    fragment = client.get(reverse("import_progress", args=[batch.pk]), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert 'value="20"' in html and "40 lignes traitées sur 200" in html

    batch.status = "done"
    batch.save()
    html = unescape(client.get(reverse("import_progress", args=[batch.pk])).content.decode())
    assert "hx-trigger" not in html
    assert "Terminé" in html and "nouveaux entrants" in html


# --- historique et cloisonnement ------------------------------------------------------------------------


def test_history_lists_only_imports_of_the_agent_organisations(client, manager):
    ImportBatchFactory(organisation=manager.organisation, filename="mine.xml")
    other = ImportBatchFactory(
        organisation=DepartementFactory(departement_code="44", name="Loire-Atlantique"), filename="theirs.xml"
    )
    html = client.get(reverse("import_list")).content.decode()
    assert "mine.xml" in html
    assert "theirs.xml" not in html
    assert reverse("import_new") in html
    assert client.get(reverse("import_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("import_progress", args=[other.pk])).status_code == 404


def test_referent_sees_history_but_no_upload_button(client):
    m = login(client, role=Role.REFERENT)
    ImportBatchFactory(organisation=m.organisation, filename="flux.xml")
    html = client.get(reverse("import_list")).content.decode()
    assert "flux.xml" in html
    assert reverse("import_new") not in html


def test_history_query_count_is_constant(client, manager):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("import_list")).status_code == 200
        return len(ctx.captured_queries)

    ImportBatchFactory.create_batch(2, organisation=manager.organisation, created_by=manager.user)
    few = count()
    ImportBatchFactory.create_batch(20, organisation=manager.organisation, created_by=UserFactory())
    assert count() == few
