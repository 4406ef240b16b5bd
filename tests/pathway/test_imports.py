"""Import des événements du parcours enregistrés dans un autre logiciel (``parcours import-parcours``).

Les personnes viennent d'un flux CAF importé (``flux``) ; chaque événement importé doit avoir les effets de la
même saisie dans les pages : suivi en cours, files de travail, journal, contrat signé."""

import datetime
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from parcours.accompaniment.models import Contract, ContractKind, ContractStatus
from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary, FollowUp
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from parcours.orientation.models import OrientationDecision, ReferentAssignment
from parcours.pathway import services as pathway
from parcours.pathway.imports import import_pathway
from parcours.pathway.models import ImportedEvent, PathwayImport
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.indicators.conftest import PEOPLE, D, person, row

HEADER = "nir;organisme;matricule;role;id_departement;evenement;date;parcours;structure;referent;type_contrat;source;reference"
FT_EMAIL = "conseillere@francetravail.fr"


def nir(name):
    return PEOPLE[name][1]


def line(
    who="alice",
    event="orientation",
    on="10/03/2026",
    *,
    pathway="",
    structure="",
    email="",
    contract="",
    source="",
    reference="",
    key="nir",
):
    matricule = PEOPLE[who][0]
    keys = {
        "nir": (nir(who), "", "", "", ""),
        "foyer": ("", "CAF", matricule, "DEM", ""),
        "id": ("", "", "", "", f"ID-{who}"),
    }[key]
    return ";".join([*keys, event, on, pathway, structure, email, contract, source, reference])


@pytest.fixture
def people(flux):
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"))
    return {name: person(name) for name in ("alice", "bruno", "chloe")}


@pytest.fixture
def write(tmp_path):
    counter = {"n": 0}

    def run(*lines, header=HEADER, encoding="utf-8"):
        counter["n"] += 1
        path = tmp_path / f"parcours-{counter['n']}.csv"
        path.write_text("\n".join([header, *lines]) + "\n", encoding=encoding)
        return path

    return run


def run_import(path, departement, **kwargs):
    return import_pathway(path, departement=departement, **kwargs)


def scope(departement):
    return Beneficiary.objects.filter(departement=departement)


def kinds(beneficiary):
    return list(
        Event.objects.filter(beneficiary=beneficiary)
        .order_by("occurred_on", "pk")
        .values_list("kind", flat=True)
    )


def written_state():
    """Ce qu'un import peut écrire : comptes des tables touchées."""
    return (
        OrientationDecision.objects.count(),
        ReferentAssignment.objects.count(),
        Contract.objects.count(),
        FollowUp.objects.count(),
        Event.objects.count(),
        ImportedEvent.objects.count(),
    )


# --- chaque événement et ses effets ---------------------------------------------------------------------


def test_orientation_opens_the_follow_up_and_leaves_the_queue(people, departement, france_travail, write):
    alice = people["alice"]
    assert alice in orientation.people_to_orient(scope(departement), D(2026, 3, 5))
    report = run_import(
        write(line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon")),
        departement,
    )
    assert not report.rejected, report.errors
    assert (report.created, report.unchanged, report.errors) == (1, 0, [])
    assert pathway.follow_up_in_progress(alice, D(2026, 3, 10))
    assert not pathway.follow_up_in_progress(alice, D(2026, 3, 9))
    assert pathway.in_charge(alice, D(2026, 4, 1)).organisation == france_travail
    assert alice not in orientation.people_to_orient(scope(departement), D(2026, 3, 20))
    decision = orientation.current_orientation(alice)
    assert (decision.pathway, decision.notified_on, decision.decided_by) == ("emploi", D(2026, 3, 10), None)
    assert kinds(alice)[-3:] == ["orientation_decided", "oriented", "follow_up_opened"]
    oriented = Event.objects.get(beneficiary=alice, kind="oriented")
    assert oriented.occurred_on == D(2026, 3, 10) and oriented.actor is None
    imported = ImportedEvent.objects.get()
    assert (imported.kind, imported.object_id, imported.batch) == ("orientation", decision.pk, report.batch)


def test_referent_designation_opens_the_follow_up_with_its_referent(
    people, departement, france_travail, referent, write
):
    bruno = people["bruno"]
    report = run_import(
        write(
            line("bruno", "referent", "2026-03-12", structure="France Travail Redon", email=FT_EMAIL.upper())
        ),
        departement,
    )
    assert not report.rejected, report.errors
    assignment = orientation.current_referent(bruno)
    assert (assignment.referent, assignment.organisation, assignment.started_on) == (
        referent,
        france_travail,
        D(2026, 3, 12),
    )
    charge = pathway.in_charge(bruno, D(2026, 3, 12))
    assert charge.organisation == france_travail and charge.referent == referent
    assert "referent_assigned" in kinds(bruno) and "follow_up_opened" in kinds(bruno)
    assert bruno not in orientation.people_to_orient(scope(departement), D(2026, 3, 20))


def test_contracts_are_signed_with_their_kind(people, departement, france_travail, referent, write):
    alice, bruno = people["alice"], people["bruno"]
    report = run_import(
        write(
            line("alice", "orientation", "10/03/2026", pathway="social", structure="France Travail Redon"),
            line("alice", "referent", "11/03/2026", structure="France Travail Redon", email=FT_EMAIL),
            line("alice", "contrat", "20/03/2026", contract="ppae", source="FT", reference="PPAE-1"),
            line("bruno", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("bruno", "contrat", "25/03/2026", contract="contrat_engagement"),
        ),
        departement,
    )
    assert not report.rejected, report.errors
    ppae = Contract.objects.get(beneficiary=alice)
    assert (ppae.kind, ppae.status, ppae.signed_on) == (
        ContractKind.PPAE,
        ContractStatus.SIGNED,
        D(2026, 3, 20),
    )
    assert (ppae.organisation, ppae.referent, ppae.external_reference) == (
        france_travail,
        referent,
        "FT:PPAE-1",
    )
    signed = Event.objects.get(beneficiary=alice, kind="contract_signed")
    assert signed.occurred_on == D(2026, 3, 20)
    engagement = Contract.objects.get(beneficiary=bruno)
    assert (engagement.kind, engagement.status) == (ContractKind.CONTRAT_ENGAGEMENT, ContractStatus.SIGNED)
    # repris sans contenu : marqué « repris de », rien d'inventé (ni durée, ni objectif, ni engagements)
    assert ppae.imported_from == "FT" and engagement.imported_from
    assert engagement.weekly_hours is None and not engagement.objectives.exists()
    assert not engagement.referent_commitments
    assert Event.objects.filter(beneficiary=bruno, kind="contract_signed").count() == 1
    assert any("d'engagement repris sans durée hebdomadaire" in w["message"] for w in report.warnings)
    assert report.events["contrat"] == {"created": 2, "unchanged": 0}


def test_end_of_follow_up_closes_it(people, departement, france_travail, write):
    chloe = people["chloe"]
    report = run_import(
        write(
            # Dans le désordre : les événements sont appliqués par date.
            line("chloe", "fin_suivi", "30/04/2026"),
            line(
                "chloe",
                "orientation",
                "10/03/2026",
                pathway="socio_professionnel",
                structure="France Travail Redon",
            ),
        ),
        departement,
    )
    assert not report.rejected, report.errors
    assert pathway.follow_up_in_progress(chloe, D(2026, 4, 29))
    assert not pathway.follow_up_in_progress(chloe, D(2026, 4, 30))
    closed = Event.objects.get(beneficiary=chloe, kind="follow_up_closed")
    assert closed.occurred_on == D(2026, 4, 30) and "Fin de suivi reprise" in closed.payload["reason"]


def test_person_found_by_household_or_internal_id(people, departement, france_travail, write):
    Beneficiary.objects.filter(pk=people["chloe"].pk).update(departement_internal_id="ID-chloe")
    report = run_import(
        write(
            line(
                "bruno",
                "orientation",
                "10/03/2026",
                pathway="emploi",
                structure="France Travail Redon",
                key="foyer",
            ),
            line(
                "chloe",
                "orientation",
                "11/03/2026",
                pathway="social",
                structure="France Travail Redon",
                key="id",
            ),
        ),
        departement,
    )
    assert not report.rejected, report.errors
    assert orientation.current_orientation(people["bruno"]).pathway == "emploi"
    assert orientation.current_orientation(people["chloe"]).pathway == "social"


def test_structure_by_siret_or_code_and_french_or_iso_dates_with_bom(people, departement, write):
    OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE,
        name="Mission locale",
        siret="13002526500013",
        departement=departement,
    )
    OrganisationFactory(
        kind=OrganisationKind.CCAS, name="CCAS de Redon", code="CCAS-REDON", departement=departement
    )
    path = write(
        line(
            "alice", "orientation", "2026-03-10", pathway="socio professionnel", structure="130 025 265 00013"
        ),
        line("bruno", "orientation", "10/03/2026", pathway="SOCIAL", structure="ccas-redon"),
        line("chloe", "orientation", "10/03/2026", pathway="emploi", structure=departement.name),
        encoding="utf-8-sig",
    )
    report = run_import(path, departement)
    assert not report.rejected, report.errors
    assert orientation.current_orientation(people["alice"]).organisation.name == "Mission locale"
    assert orientation.current_orientation(people["bruno"]).organisation.name == "CCAS de Redon"
    assert orientation.current_orientation(people["chloe"]).organisation == departement


# --- tout ou rien et erreurs ------------------------------------------------------------------------------


def test_one_bad_row_writes_nothing(people, departement, france_travail, write):
    before = written_state()
    report = run_import(
        write(
            line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("bruno", "orientation", "10/03/2026", pathway="intensif", structure="France Travail Redon"),
        ),
        departement,
    )
    assert report.rejected and report.created == 0
    assert report.errors == [
        {"row": 3, "field": "parcours", "message": report.errors[0]["message"]},
    ]
    assert "intensif" in report.errors[0]["message"]
    assert written_state() == before
    assert PathwayImport.objects.get().status == "rejected"


@pytest.mark.parametrize(
    ("bad_line", "field", "words"),
    [
        (
            line("david", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            "nir",
            "Personne inconnue",
        ),
        (
            line("alice", "orientation", "10/03/2026", pathway="emploi", structure="Pôle inconnu"),
            "structure",
            "inconnue",
        ),
        (
            line(
                "alice",
                "referent",
                "10/03/2026",
                structure="France Travail Redon",
                email="personne@nulle.part",
            ),
            "referent",
            "Référent inconnu",
        ),
        (
            line(
                "alice",
                "referent",
                "10/03/2026",
                structure="France Travail Redon",
                email="pilotage@departement35.fr",
            ),
            "referent",
            "pas agent actif",
        ),
        (line("alice", "rendez_vous", "10/03/2026"), "evenement", "inconnu"),
        (
            line("alice", "orientation", "31/02/2026", pathway="emploi", structure="France Travail Redon"),
            "date",
            "impossible",
        ),
        (
            line("alice", "orientation", "10/03/2099", pathway="emploi", structure="France Travail Redon"),
            "date",
            "future",
        ),
        (
            line("alice", "orientation", "10/03/2026", structure="France Travail Redon"),
            "parcours",
            "obligatoire",
        ),
        (line("alice", "contrat", "10/03/2026", contract="cdi"), "type_contrat", "inconnu"),
        (line("alice", "fin_suivi", "10/03/2026"), "evenement", "pas de suivi en cours"),
    ],
)
def test_errors_name_row_and_field(
    people, departement, france_travail, referent, manager, write, bad_line, field, words
):
    before = written_state()
    report = run_import(
        write(
            line("bruno", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            bad_line,
        ),
        departement,
    )
    assert report.rejected
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, field)], report.errors
    assert words in report.errors[0]["message"]
    assert written_state() == before


def test_rule_refused_by_a_service_is_an_error_of_its_row(
    people, departement, france_travail, referent, write
):
    """Désignation dans une autre organisation datée d'avant le suivi en cours : refusée par le service."""
    other = OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale", departement=departement
    )
    MembershipFactory(organisation=other, role=Role.REFERENT, user__email="ml@mission-locale.fr")
    before = written_state()
    report = run_import(
        write(
            line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("bruno", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("bruno", "referent", "10/03/2026", structure="Mission locale", email="ml@mission-locale.fr"),
            line("chloe", "fin_suivi", "12/03/2026"),
        ),
        departement,
    )
    assert report.rejected
    rows = {(e["row"], e["field"]) for e in report.errors}
    assert (5, "evenement") in rows  # chloé n'a pas de suivi en cours
    assert written_state() == before


def test_file_without_required_columns_is_refused(people, departement, write):
    report = run_import(write(f"{nir('alice')};10/03/2026", header="nir;jour"), departement)
    assert report.rejected
    assert {
        "row": 1,
        "field": "evenement",
        "message": "Colonne obligatoire « evenement » absente.",
    } in report.errors


# --- idempotence ---------------------------------------------------------------------------------------


def test_second_run_is_all_unchanged(people, departement, france_travail, referent, write):
    path = write(
        line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
        line("alice", "referent", "11/03/2026", structure="France Travail Redon", email=FT_EMAIL),
        line("alice", "contrat", "20/03/2026", contract="ppae", source="FT", reference="PPAE-1"),
        line(
            "bruno",
            "orientation",
            "10/03/2026",
            pathway="social",
            structure="France Travail Redon",
            source="WEBRSA",
            reference="O-2",
        ),
        line("bruno", "fin_suivi", "30/04/2026", source="WEBRSA", reference="F-2"),
    )
    first = run_import(path, departement)
    assert (first.created, first.unchanged) == (5, 0), first.errors
    state = written_state()
    second = run_import(path, departement)
    assert not second.rejected
    assert (second.created, second.unchanged, second.errors) == (0, 5, [])
    assert second.as_json()["unchanged"] == 5
    assert written_state() == state


def test_event_already_recorded_in_the_pages_is_unchanged(
    people, departement, france_travail, manager, write
):
    orientation.decide_orientation(
        people["alice"],
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    state = written_state()
    report = run_import(
        write(line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon")),
        departement,
    )
    assert (report.created, report.unchanged) == (0, 1), report.errors
    assert OrientationDecision.objects.filter(beneficiary=people["alice"]).count() == 1
    assert written_state()[:5] == state[:5]  # seule la trace de l'import est ajoutée


def test_known_reference_with_other_content_is_an_error(people, departement, france_travail, write):
    run_import(
        write(
            line(
                "alice",
                "orientation",
                "10/03/2026",
                pathway="emploi",
                structure="France Travail Redon",
                source="WEBRSA",
                reference="O-1",
            )
        ),
        departement,
    )
    state = written_state()
    report = run_import(
        write(
            line(
                "alice",
                "orientation",
                "12/03/2026",
                pathway="emploi",
                structure="France Travail Redon",
                source="WEBRSA",
                reference="O-1",
            )
        ),
        departement,
    )
    assert report.rejected
    assert [(e["row"], e["field"]) for e in report.errors] == [(2, "reference")]
    assert "déjà importée avec un contenu différent" in report.errors[0]["message"]
    assert written_state() == state


# --- formats, ligne de commande, page ----------------------------------------------------------------------


def test_xlsx_file(people, departement, france_travail, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Événement", "Date", "NIR", "Parcours", "Structure"])
    ws.append(
        [
            "orientation",
            datetime.datetime(2026, 3, 10),
            int(nir("alice")[:13]),
            "Emploi",
            "France Travail Redon",
        ]
    )
    ws.append(["Fin de suivi", "30/04/2026", nir("alice"), None, None])
    path = tmp_path / "parcours.xlsx"
    wb.save(path)
    report = run_import(path, departement)
    assert not report.rejected, report.errors
    assert report.format == "xlsx" and report.created == 2
    assert not pathway.follow_up_in_progress(people["alice"], D(2026, 4, 30))
    assert pathway.follow_up_in_progress(people["alice"], D(2026, 4, 29))


def test_command_json_report(people, departement, france_travail, write):
    path = write(
        line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon")
    )
    out = io.StringIO()
    call_command("import-parcours", str(path), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert {
        k: data[k] for k in ("created", "updated", "unchanged", "new_entrants", "errors", "warnings")
    } == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "new_entrants": 0,
        "errors": [],
        "warnings": [],
    }
    out = io.StringIO()
    call_command("import-parcours", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["unchanged"] == 1


def test_command_refused_file_exits_non_zero(people, departement, write):
    path = write(line("alice", "orientation", "10/03/2026", pathway="emploi", structure="Nulle part"))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import-parcours", str(path), "--json", stdout=out)
    assert exit_info.value.code == 1
    data = json.loads(out.getvalue())
    assert data["errors"][0]["row"] == 2 and data["errors"][0]["field"] == "structure"
    with pytest.raises(CommandError, match="Fichier refusé"):
        call_command("import-parcours", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="introuvable"):
        call_command("import-parcours", "/nulle/part.csv", stdout=io.StringIO())


def test_page_for_the_departement_admin(client, people, departement, france_travail):
    admin = MembershipFactory(
        organisation=departement, role=Role.ADMIN, user__email="admin@departement35.fr"
    ).user
    content = "\n".join(
        [
            HEADER,
            line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
        ]
    )
    client.force_login(admin)
    url = reverse("pathway_import")
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"fichier": SimpleUploadedFile("parcours.csv", content.encode()), "format": "auto"}
    )
    assert response.status_code == 200
    assert response.context["report"].created == 1
    assert "Fichier importé" in response.content.decode()
    decision = orientation.current_orientation(people["alice"])
    assert decision.decided_by == admin
    assert Event.objects.get(beneficiary=people["alice"], kind="oriented").actor == admin
    # Fichier en erreur : le rapport nomme la ligne et le champ, rien n'est écrit.
    bad = "\n".join(
        [HEADER, line("bruno", "orientation", "10/03/2026", pathway="emploi", structure="Nulle part")]
    )
    response = client.post(
        url, {"fichier": SimpleUploadedFile("parcours.csv", bad.encode()), "format": "auto"}
    )
    assert response.context["report"].rejected
    assert "Fichier refusé" in response.content.decode()
    assert orientation.current_orientation(people["bruno"]) is None


def test_page_is_refused_to_other_agents(client, departement, manager):
    client.force_login(manager)  # chargé d'orientation, pas administrateur
    assert client.get(reverse("pathway_import")).status_code == 403
    client.force_login(UserFactory())
    assert client.get(reverse("pathway_import")).status_code == 403


def test_date_before_the_follow_up_recorded_in_the_pages_is_an_error(
    people, departement, france_travail, manager, write
):
    orientation.decide_orientation(
        people["alice"],
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 20),
        notified_on=D(2026, 3, 20),
    )
    state = written_state()
    report = run_import(
        write(
            line("bruno", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("alice", "fin_suivi", "15/03/2026"),
        ),
        departement,
    )
    assert report.rejected
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "date")]
    assert "antérieure à son début (20/03/2026)" in report.errors[0]["message"]
    assert written_state() == state


def test_excel_separator_line_and_duplicate_rows(people, departement, france_travail, write):
    orientation_row = line(
        "alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon"
    )
    path = write(HEADER, orientation_row, orientation_row, header="sep=;")
    report = run_import(path, departement)
    assert not report.rejected, report.errors
    assert (report.created, report.unchanged) == (1, 1)
    assert report.warnings == [
        {"row": 4, "field": None, "message": "Même événement que la ligne 3 : ignoré."}
    ]
    assert OrientationDecision.objects.filter(beneficiary=people["alice"]).count() == 1


def test_same_reference_for_two_events_in_the_file_is_an_error(people, departement, france_travail, write):
    report = run_import(
        write(
            line(
                "alice",
                "orientation",
                "10/03/2026",
                pathway="emploi",
                structure="France Travail Redon",
                reference="X",
            ),
            line(
                "bruno",
                "orientation",
                "10/03/2026",
                pathway="emploi",
                structure="France Travail Redon",
                reference="X",
            ),
        ),
        departement,
    )
    assert report.rejected
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "reference")]


def test_dry_run_checks_without_writing(people, departement, france_travail, write):
    good = write(
        line("alice", "orientation", "10/03/2026", pathway="emploi", structure="France Travail Redon")
    )
    state = written_state()
    out = io.StringIO()
    call_command("import-parcours", str(good), "--dry-run", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert (data["dry_run"], data["pending"], data["created"], data["errors"]) == (True, 1, 0, [])
    assert written_state() == state
    bad = write(line("alice", "orientation", "10/03/2026", pathway="emploi", structure="Nulle part"))
    with pytest.raises(CommandError, match="Fichier refusé"):
        call_command("import-parcours", str(bad), "--dry-run", stdout=io.StringIO())
    assert written_state() == state


def test_imported_contract_without_hours_is_left_out_of_the_intensive_share(
    people, departement, france_travail, write
):
    from parcours.indicators.definitions import compute_indicators

    report = run_import(
        write(
            line("alice", "orientation", "05/03/2026", pathway="emploi", structure="France Travail Redon"),
            line("alice", "contrat", "20/03/2026", contract="contrat_engagement", source="WEBRSA"),
        ),
        departement,
    )
    assert not report.rejected, report.errors
    scope = Beneficiary.objects.filter(pk=people["alice"].pk)
    values = compute_indicators(scope, D(2026, 3, 1), D(2026, 3, 31))
    assert values["contrats_signes"]["contrat_engagement"] == 1
    assert values["part_accompagnement_intensif"] is None  # durée inconnue : ni intensif, ni non intensif
