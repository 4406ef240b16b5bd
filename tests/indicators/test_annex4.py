"""Fichier de partage de données de l'annexe 4 : colonnes et valeurs pour une personne connue, périmètre,
droits, journal d'accès, nombre de requêtes, commande."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accompaniment import activities
from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind, Situation
from parcours.accounts.models import OrganisationKind, Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.beneficiaries.models import Beneficiary
from parcours.catalogue import prescriptions as rx
from parcours.indicators import annex4
from parcours.intake.services import import_flux
from parcours.orientation import services as orientation
from tests.catalogue.conftest import make_service, make_structure
from tests.factories import DepartementFactory, MembershipFactory, OrganisationFactory, UserFactory

from .conftest import HEADER, D, person, row

pytestmark = pytest.mark.django_db

MARCH = {"debut": "2026-03-01", "fin": "2026-03-31"}


@pytest.fixture(autouse=True)
def _mail_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _at(day, hour=10):
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour))


def situation(theme):
    return Situation.objects.filter(theme__code=theme).order_by("position").first()


@pytest.fixture
def alice_pathway(departement, flux, orient, france_travail, referent, manager, held_appointment):
    """Alice et Bruno entrent le 01/03/2026 (T0) ; Alice fait tout le parcours, Bruno rien encore."""
    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    flux(D(2026, 5, 4), row("alice"), row("bruno"), row("chloe"))  # Chloé : T0 en mai, hors période
    alice = person("alice")
    Beneficiary.objects.filter(pk=alice.pk).update(
        france_travail_id="FT00123456", departement_internal_id="DEP35-000417"
    )
    held_appointment(alice, D(2026, 3, 10))
    orient(alice, D(2026, 3, 12), "socio_professionnel", organisation=france_travail)
    orientation.assign_referent(
        alice, referent=referent, organisation=france_travail, author=manager, started_on=D(2026, 3, 13)
    )
    accompaniment.save_diagnostic(
        alice,
        author=referent,
        can_see_sensitive=True,
        conducted_on=D(2026, 3, 10),
        situations=[situation("mobilite"), situation("sante"), situation("logement")],
    )
    contract = accompaniment.create_contract(
        alice, author=referent, kind=ContractKind.CER, weekly_hours=Decimal(15)
    )
    accompaniment.sign_contract(contract, actor=referent, on=D(2026, 3, 25))
    seen = orientation.schedule_appointment(
        alice, starts_at=_at(D(2026, 4, 2)), place="Agence de Redon", author=referent, kind="accompaniment"
    )
    orientation.record_attendance(seen, "seen", author=referent, on=D(2026, 4, 2))
    missed = orientation.schedule_appointment(
        alice, starts_at=_at(D(2026, 4, 16)), place="Agence de Redon", author=referent, kind="accompaniment"
    )
    orientation.record_attendance(missed, "no_show", author=referent, on=D(2026, 4, 16))
    activities.plan_activity(
        alice,
        author=referent,
        kind="atelier",
        starts_on=D(2026, 4, 6),
        label="Atelier CV",
        weekly_hours=Decimal("4"),
        weeks=6,
    )
    structure = make_structure(nom="Atelier vélo solidaire", courriel="contact@atelier-velo.fr")
    service = make_service(
        structure, nom="Atelier de réparation de vélos", volume_horaire_hebdomadaire=6.5, nombre_semaines=8
    )
    prescription = rx.create_prescription(
        user=referent,
        beneficiary=alice,
        service=service,
        shared_data={"first_name": "Alice", "last_name": "Martin"},
        consent=True,
    )
    rx.accept(prescription, actor_label="Accueil de l'atelier", start_on=D(2026, 4, 13))
    return alice


def _rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _get(client, departement, **params):
    return client.get(reverse("indicators:annex4_csv"), {"departement": departement.pk, **MARCH, **params})


def test_file_has_one_row_per_new_entrant_with_the_annex4_data(client, manager, departement, alice_pathway):
    client.force_login(manager)
    response = _get(client, departement)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="annexe4-35-2026-03-01-2026-03-31.csv"'
    header, *rows = _rows(response)
    assert header == annex4.HEADER
    assert len(rows) == 2  # Alice et Bruno ; Chloé est entrée en mai
    alice = dict(zip(header, rows[0], strict=True))
    assert alice == {
        "identifiant_departement": "DEP35-000417",
        "identifiant_france_travail": "FT00123456",
        "organisme_payeur": "CAF",
        "matricule": "3500001",
        "role_foyer": "DEM",
        "numero_demande_rsa": "",
        "date_ouverture_droit": "2026-02-08",
        "date_t0": "2026-03-01",
        "date_entree_droits_devoirs": "2026-03-01",  # date de référence du flux (ici, sa réception)
        "date_rdv_orientation": "2026-03-10",
        "presence_rdv_orientation": "Venu",
        "date_orientation": "2026-03-12",
        "type_parcours": "socio_professionnel",
        "code_parcours_france_travail": "PSP",
        "date_designation_referent": "2026-03-13",
        "date_signature_contrat": "2026-03-25",
        "date_diagnostic": "2026-03-10",
        "freins": "Mobilité | Logement",  # la santé (donnée sensible) n'est pas transmise
        "codes_contraintes_france_travail": "23 | 27",
        "dates_rdv_accompagnement": "2026-04-02",  # l'absence du 16/04 n'est pas un rendez-vous tenu
        "prestations": "2026-04-06 : Atelier CV (atelier collectif, 4 h/sem. × 6 sem.) | "
        "2026-04-13 : Atelier de réparation de vélos (prescription acceptée, 6,5 h/sem. × 8 sem.)",
        "nombre_prestations": "2",
        "heures_prestations": "76",  # 4 × 6 + 6,5 × 8
        # Progression dans l'employabilité depuis T0 (tests/indicators/test_employability.py)
        "immersions": "0",
        "formations": "0",
        "contrats_courts": "0",
        "freins_leves": "",
    }
    assert "Martin" not in response_text(rows)  # ni nom ni NIR
    bruno = dict(zip(header, rows[1], strict=True))
    assert bruno["matricule"] == "3500002"
    assert bruno["identifiant_france_travail"] == ""
    assert bruno["date_orientation"] == bruno["type_parcours"] == bruno["prestations"] == ""
    assert bruno["nombre_prestations"] == "0"


def response_text(rows):
    return "\n".join(";".join(r) for r in rows)


def test_each_exported_person_is_written_to_the_access_log(client, manager, departement, alice_pathway):
    client.force_login(manager)
    before = AccessLog.objects.count()
    _rows(_get(client, departement))

    entries = AccessLog.objects.order_by("pk")[before:]
    assert {e.beneficiary_id for e in entries} == {person("alice").pk, person("bruno").pk}
    assert {(e.action, e.user_id, e.departement_id) for e in entries} == {
        (AccessAction.EXPORT, manager.pk, departement.pk)
    }
    assert "annexe 4" in entries[0].reason and "01/03/2026" in entries[0].reason


def test_other_departements_people_are_excluded_and_refused(
    client, manager, departement, alice_pathway, tmp_path
):
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    path = tmp_path / "flux-44.csv"
    path.write_text(";".join(HEADER) + "\n" + row("david") + "\n", encoding="utf-8")
    import_flux(path, organisation=other, received_on=D(2026, 3, 2))
    assert Beneficiary.objects.filter(departement=other).count() == 1

    client.force_login(manager)
    _header, *rows = _rows(_get(client, departement))
    assert [r[3] for r in rows] == ["3500001", "3500002"]  # pas David (44)
    assert _get(client, other).status_code == 403


def test_users_who_cannot_see_people_get_403(client, departement, alice_pathway):
    etat = OrganisationFactory(kind=OrganisationKind.ETAT, name="DDETS", departement=departement)
    state_agent = MembershipFactory(organisation=etat, role=Role.MANAGER, user__email="ddets@gouv.fr").user
    dpo = MembershipFactory(organisation=departement, role=Role.DPO, user__email="dpo@departement35.fr").user
    outsider = UserFactory(email="personne@example.org")
    for user in (state_agent, dpo, outsider):
        client.force_login(user)
        assert _get(client, departement).status_code == 403
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_partner_only_gets_the_people_it_follows(client, referent, departement, alice_pathway):
    client.force_login(referent)  # référente France Travail : suit Alice, pas Bruno
    _header, *rows = _rows(_get(client, departement))
    assert [r[3] for r in rows] == ["3500001"]


def test_bad_period_is_a_clear_error(client, manager, departement):
    client.force_login(manager)
    response = _get(client, departement, debut="2026-03-31", fin="2026-03-01")
    assert response.status_code == 400
    assert "La date de fin précède la date de début" in response.content.decode()
    response = _get(client, departement, debut="mars")
    assert response.status_code == 400
    assert "Du" in response.content.decode()


def test_query_count_does_not_grow_with_the_cohort(
    client, manager, departement, flux, orient, held_appointment
):
    def queries_for_export():
        with CaptureQueriesContext(connection) as queries:
            rows = _rows(_get(client, departement))
        return len(queries), len(rows) - 1

    flux(D(2026, 3, 1), row("alice"), row("bruno"))
    client.force_login(manager)
    small, people = queries_for_export()
    assert people == 2
    names = ["chloe", "david", "emma", "farid"]
    flux(D(2026, 3, 2), *(row(n) for n in names))
    for name in ["alice", "bruno", *names]:
        orient(person(name), D(2026, 3, 5))
        held_appointment(person(name), D(2026, 3, 4))
    large, people = queries_for_export()
    assert people == 6
    assert large == small <= 30  # session, droits, ~10 lectures groupées, journal d'accès (+ PostgreSQL)


def test_command_writes_the_file_and_the_access_log(tmp_path, departement, alice_pathway):
    output = tmp_path / "annexe4.csv"
    out = io.StringIO()
    call_command(
        "export-annexe4",
        "--departement",
        "35",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--sortie",
        str(output),
        stdout=out,
    )
    assert "2 lignes écrites" in out.getvalue()
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0] == annex4.HEADER
    assert rows[1][1] == "FT00123456"
    entries = AccessLog.objects.filter(action=AccessAction.EXPORT)
    assert entries.count() == 2
    assert {e.user_label for e in entries} == {"système"}
    assert {e.view for e in entries} == {"parcours export-annexe4"}


def test_command_errors(departement):
    with pytest.raises(CommandError, match="Département « 99 » inconnu"):
        call_command(
            "export-annexe4",
            "--departement",
            "99",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--sortie",
            "x.csv",
        )
    with pytest.raises(CommandError, match="la date de fin précède"):
        call_command(
            "export-annexe4",
            "--departement",
            "35",
            "--from",
            "2026-03-31",
            "--to",
            "2026-03-01",
            "--sortie",
            "x.csv",
        )
