"""Page « Importer les organisations et les agents » : administrateurs d'un Département seulement."""

from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from tests.factories import DepartementFactory, MembershipFactory, OrganisationFactory, UserFactory

from .helpers import ROWS, SIRET_CCAS, SIRET_FT_REDON, csv_text

pytestmark = pytest.mark.django_db

URL = reverse("organisation_import")


def upload(*rows, bom=True, name="organisations.csv"):
    return SimpleUploadedFile(name, csv_text(*rows).encode("utf-8-sig" if bom else "utf-8"), "text/csv")


def html(response):
    return unescape(response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def admin(client):
    membership = MembershipFactory(organisation=DepartementFactory(), role=Role.ADMIN)
    client.force_login(membership.user)
    return membership


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrganisationKind.DEPARTEMENT, Role.ORIENTATION_MANAGER),
        (OrganisationKind.DEPARTEMENT, Role.REFERENT),
        (OrganisationKind.DEPARTEMENT, Role.MANAGER),
        (OrganisationKind.DEPARTEMENT, Role.DPO),
        (OrganisationKind.FRANCE_TRAVAIL, Role.ADMIN),
    ],
)
def test_non_admins_are_refused(client, kind, role):
    organisation = (
        DepartementFactory() if kind == OrganisationKind.DEPARTEMENT else OrganisationFactory(kind=kind)
    )
    client.force_login(MembershipFactory(organisation=organisation, role=role).user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"fichier": upload(*ROWS)}).status_code == 403
    assert not User.objects.filter(email="claire.lebihan@ille-et-vilaine.fr").exists()


def test_inactive_admin_membership_is_refused(client):
    client.force_login(
        MembershipFactory(organisation=DepartementFactory(), role=Role.ADMIN, is_active=False).user
    )
    assert client.get(URL).status_code == 403


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_admin_sees_the_form(client, admin):
    response = client.get(URL)
    assert response.status_code == 200
    page = html(response)
    assert "Importer les organisations et les agents" in page
    assert 'type="hidden" name="departement"' in page
    assert "agent_email" in page


def test_admin_imports_and_sees_the_report(client, admin):
    response = client.post(URL, {"fichier": upload(*ROWS)})
    assert response.status_code == 200
    page = html(response)
    assert "Fichier importé" in page
    assert "Organisations : 4 créées, 1 mise à jour, 0 inchangée." in page  # SIRET du Département ajouté
    assert "Pays de Redon" in page and "Avertissements (1)" in page
    assert "France Travail Redon" in page  # tableau des créations
    assert Organisation.objects.get(siret=SIRET_FT_REDON).departement == admin.organisation
    assert not User.objects.get(email="sophie.hamon@francetravail.fr").has_usable_password()
    entry = LogEntry.objects.get()
    assert entry.user_id == admin.user_id and "Import du fichier des organisations" in entry.change_message

    again = html(client.post(URL, {"fichier": upload(*ROWS)}))
    assert "Organisations : 0 créée, 0 mise à jour, 5 inchangées." in again
    assert "Créations et modifications" not in again


def test_rejected_file_shows_row_and_field_and_writes_nothing(client, admin):
    rows = [*ROWS, f"CCAS de Vitré;ccas;{SIRET_CCAS[:-1]}9;;35;;;;;"]
    response = client.post(URL, {"fichier": upload(*rows)})
    assert response.status_code == 200
    page = html(response)
    assert "Fichier refusé : rien n'a été écrit" in page
    assert "Erreurs (1)" in page
    assert '<td class="parcours-num">8</td><td>siret</td>' in page
    assert Organisation.objects.count() == 1 and Membership.objects.count() == 1
    assert not LogEntry.objects.exists()


def test_admin_cannot_import_for_another_departement(client, admin):
    DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    response = client.post(URL, {"fichier": upload(f"CCAS de Nantes;ccas;{SIRET_CCAS};;44;;;;;")})
    page = html(response)
    assert "vous ne pouvez importer que les organisations du Département 35" in page
    assert not Organisation.objects.filter(siret=SIRET_CCAS).exists()


def test_admin_cannot_remove_his_own_admin_role(client, admin):
    row = f"Département d'Ille-et-Vilaine;departement;;35;;{admin.user.email};;;referent;"
    page = html(client.post(URL, {"fichier": upload(row)}))
    assert "propre rôle d'administrateur" in page
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_superuser_chooses_the_departement(client):
    DepartementFactory()
    loire = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    form = client.get(URL).context["form"]
    assert form.fields["departement"].queryset.count() == 2
    row = f"CCAS de Nantes;ccas;{SIRET_CCAS};;44;;;;;"
    response = client.post(URL, {"fichier": upload(row), "departement": loire.pk})
    assert "Fichier importé" in html(response)
    assert Organisation.objects.get(siret=SIRET_CCAS).departement == loire


def test_empty_upload_is_a_form_error(client, admin):
    response = client.post(URL, {"fichier": SimpleUploadedFile("vide.csv", b"", "text/csv")})
    assert response.status_code == 200
    assert response.context["form"].errors["fichier"]
    assert response.context["report"] is None


def test_django_admin_organisation_list_links_to_the_page(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.get(reverse("admin:accounts_organisation_changelist"))
    assert URL in response.content.decode()
