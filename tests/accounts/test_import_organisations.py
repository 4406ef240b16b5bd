"""``parcours import-organisations`` : création, mise à jour, idempotence, tout ou rien, rapport."""

import json

import pytest
from django.core.management import CommandError, call_command

from parcours.accompaniment.models import PersonAccount
from parcours.accounts.models import Membership, Organisation, OrganisationKind, Role, Territory, User
from parcours.accounts.onboarding import import_organisations
from parcours.cli import main as parcours_main
from tests.factories import (
    BeneficiaryFactory,
    DepartementFactory,
    MembershipFactory,
    OrganisationFactory,
    TerritoryFactory,
    UserFactory,
)

from .helpers import (
    HEADER,
    ROWS,
    SIRET_ASSOCIATION,
    SIRET_CCAS,
    SIRET_DEPARTEMENT,
    SIRET_FT_REDON,
    write_csv,
)

pytestmark = pytest.mark.django_db


def run(path, *args):
    """Lance la commande avec --json ; renvoie (code de sortie, rapport)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("import-organisations", str(path), "--json", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    text = out.getvalue()
    assert text.count("\n") <= 1, "--json doit afficher un seul objet JSON"
    return code, json.loads(text)


def snapshot():
    """Tout ce que l'import peut écrire, pour vérifier qu'un second passage ou un refus ne change rien."""
    return (
        sorted(
            Organisation.objects.values_list(
                "pk", "kind", "name", "siret", "code", "departement_id", "territory_id"
            )
        ),
        sorted(User.objects.values_list("pk", "email", "first_name", "last_name", "password")),
        sorted(
            Membership.objects.values_list(
                "pk", "user_id", "organisation_id", "role", "territory_id", "is_active"
            )
        ),
        sorted(Territory.objects.values_list("pk", "departement_id", "code", "name")),
    )


# --- création -------------------------------------------------------------------------------------------


def test_onboarding_creates_departement_partners_agents_and_territory(tmp_path):
    code, report = run(write_csv(tmp_path, *ROWS))
    assert code == 0
    assert report["errors"] == []
    assert report["organisations"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert report["agents"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert report["memberships"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert report["territories"] == {"created": 1}
    assert (report["created"], report["updated"], report["unchanged"]) == (10, 0, 0)

    departement = Organisation.objects.get(kind=OrganisationKind.DEPARTEMENT)
    assert (departement.departement_code, departement.siret) == ("35", SIRET_DEPARTEMENT)
    assert departement.departement is None
    redon = Territory.objects.get()
    assert (redon.departement, redon.name, redon.code) == (departement, "Pays de Redon", "PAYS-DE-REDON")
    ft = Organisation.objects.get(siret=SIRET_FT_REDON)
    assert (ft.kind, ft.departement, ft.territory, ft.departement_code) == (
        "france_travail",
        departement,
        redon,
        "",
    )
    mission_locale = Organisation.objects.get(code="ML-EMERAUDE")
    assert mission_locale.kind == OrganisationKind.MISSION_LOCALE and mission_locale.siret == ""
    assert Organisation.objects.get(siret=SIRET_CCAS).territory == redon

    claire = User.objects.get(email="claire.lebihan@ille-et-vilaine.fr")
    assert (claire.first_name, claire.last_name, claire.is_active) == ("Claire", "Le Bihan", True)
    assert not claire.has_usable_password()
    assert claire.memberships.get().role == Role.ADMIN
    nolwenn = Membership.objects.get(user__email="nolwenn.tanguy@ille-et-vilaine.fr")
    assert (nolwenn.organisation, nolwenn.role, nolwenn.territory) == (departement, Role.REFERENT, redon)
    # Le territoire d'un partenaire est celui de l'organisation, pas une limite de l'agent.
    assert Membership.objects.get(user__email="sophie.hamon@francetravail.fr").territory is None

    [warning] = report["warnings"]
    assert (warning["row"], warning["field"]) == (3, "territoire")
    assert "créé" in warning["message"] and "communes" in warning["message"]


def test_json_report_has_the_contract_keys(tmp_path):
    _, report = run(write_csv(tmp_path, *ROWS))
    assert {"created", "updated", "unchanged", "errors", "warnings"} <= set(report)
    for counter in ("organisations", "agents", "memberships"):
        assert set(report[counter]) == {"created", "updated", "unchanged"}
    assert all(isinstance(report[key], int) for key in ("created", "updated", "unchanged", "rows"))
    assert report["rows"] == len(ROWS) and report["rejected"] is False
    change = report["changes"][0]
    assert set(change) == {"row", "object", "name", "status", "detail"}


def test_text_output_is_a_short_french_summary(tmp_path, capsys):
    call_command("import-organisations", str(write_csv(tmp_path, *ROWS)))
    out = capsys.readouterr().out
    assert "6 lignes lues. Organisations : 5 créées, 0 mise à jour, 0 inchangée." in out
    assert "Agents : 5 créés" in out
    assert "ProConnect" in out
    assert "Avertissement (ligne 3, champ territoire)" in out


# --- idempotence ----------------------------------------------------------------------------------------


def test_second_run_of_the_same_file_changes_nothing(tmp_path):
    path = write_csv(tmp_path, *ROWS)
    run(path)
    before = snapshot()
    code, report = run(path)
    assert code == 0
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 10)
    assert report["memberships"] == {"created": 0, "updated": 0, "unchanged": 5}
    assert report["territories"] == {"created": 0}
    assert report["warnings"] == [] and report["changes"] == []
    assert snapshot() == before


def test_email_is_matched_without_case(tmp_path):
    run(write_csv(tmp_path, *ROWS))
    shouting = [row.replace("sophie.hamon@francetravail.fr", "Sophie.HAMON@FranceTravail.fr") for row in ROWS]
    code, report = run(write_csv(tmp_path, *shouting, name="majuscules.csv"))
    assert code == 0 and report["agents"]["created"] == 0
    assert User.objects.filter(email__iexact="sophie.hamon@francetravail.fr").count() == 1


# --- mise à jour ----------------------------------------------------------------------------------------


def test_yearly_update_renames_adds_agents_and_memberships(tmp_path):
    run(write_csv(tmp_path, *ROWS))
    departement = Organisation.objects.get(kind=OrganisationKind.DEPARTEMENT)
    update = [
        # l'agence est renommée
        f"France Travail Pays de Redon;france_travail;{SIRET_FT_REDON};;35;sophie.hamon@francetravail.fr;Hamon;"
        "Sophie;referent;Pays de Redon",
        # un nouvel agent du Département, limité à un territoire déjà connu (par son nom, casse ignorée)
        "Département d'Ille-et-Vilaine;departement;;35;;erwan.cadiou@ille-et-vilaine.fr;Cadiou;Erwan;referent;"
        "pays de redon",
        # un agent existant rejoint une autre organisation
        f"CCAS de Redon;ccas;{SIRET_CCAS};;35;sophie.hamon@francetravail.fr;Hamon;Sophie;manager;",
        # un rôle change
        "Département d'Ille-et-Vilaine;departement;;35;;nolwenn.tanguy@ille-et-vilaine.fr;Tanguy;Nolwenn;"
        "orientation_manager;",
    ]
    code, report = run(write_csv(tmp_path, *update, name="mise-a-jour.csv"))
    assert code == 0, report["errors"]
    assert report["organisations"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert report["agents"] == {"created": 1, "updated": 2, "unchanged": 0}
    assert report["memberships"] == {"created": 2, "updated": 1, "unchanged": 1}
    assert report["territories"] == {"created": 0}
    assert Organisation.objects.get(siret=SIRET_FT_REDON).name == "France Travail Pays de Redon"
    sophie = User.objects.get(email="sophie.hamon@francetravail.fr")
    assert sorted(sophie.memberships.values_list("organisation__name", "role")) == [
        ("CCAS de Redon", "manager"),
        ("France Travail Pays de Redon", "referent"),
    ]
    nolwenn = Membership.objects.get(user__email="nolwenn.tanguy@ille-et-vilaine.fr")
    # rôle mis à jour ; territoire conservé (une cellule vide n'efface rien)
    assert (nolwenn.role, nolwenn.territory.name) == (Role.ORIENTATION_MANAGER, "Pays de Redon")
    erwan = Membership.objects.get(user__email="erwan.cadiou@ille-et-vilaine.fr")
    assert (erwan.organisation, erwan.territory.name) == (departement, "Pays de Redon")
    # rien n'est supprimé : les organisations et agents absents du second fichier restent
    assert Organisation.objects.count() == 5 and User.objects.count() == 6
    renamed = next(c for c in report["changes"] if c["object"] == "organisation")
    assert (renamed["row"], renamed["status"], renamed["detail"]) == (2, "updated", "nom")


def test_existing_agent_keeps_his_name_and_gets_blank_names_filled(tmp_path):
    departement = DepartementFactory()
    UserFactory(email="claire.lebihan@ille-et-vilaine.fr", first_name="Claire", last_name="Le Bihan-Morvan")
    UserFactory(email="yann.morvan@ille-et-vilaine.fr", first_name="", last_name="")
    rows = [
        "Département d'Ille-et-Vilaine;departement;;35;;claire.lebihan@ille-et-vilaine.fr;Le Bihan;Claire;admin;",
        "Département d'Ille-et-Vilaine;departement;;35;;yann.morvan@ille-et-vilaine.fr;Morvan;Yann;admin;",
    ]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 0
    assert User.objects.get(email="claire.lebihan@ille-et-vilaine.fr").last_name == "Le Bihan-Morvan"
    yann = User.objects.get(email="yann.morvan@ille-et-vilaine.fr")
    assert (yann.first_name, yann.last_name) == ("Yann", "Morvan")
    assert yann.has_usable_password()  # un compte existant garde son mot de passe
    [warning] = report["warnings"]
    assert (warning["row"], warning["field"]) == (2, "agent_nom") and "conservé" in warning["message"]
    assert Membership.objects.filter(organisation=departement, role=Role.ADMIN).count() == 2


def test_organisation_recorded_without_siret_is_recognised_by_name(tmp_path):
    departement = DepartementFactory()
    existing = OrganisationFactory(departement=departement, name="France Travail Redon", siret="")
    row = f"France Travail Redon;france_travail;{SIRET_FT_REDON};;35;;;;;"
    code, report = run(write_csv(tmp_path, row))
    assert code == 0
    assert report["organisations"] == {"created": 0, "updated": 1, "unchanged": 0}
    existing.refresh_from_db()
    assert existing.siret == SIRET_FT_REDON
    assert "reconnue par son nom" in report["warnings"][0]["message"]


def test_code_and_siret_given_together_identify_one_organisation(tmp_path):
    rows = [
        "Département d'Ille-et-Vilaine;departement;;35;;;;;;",
        f"Association Tremplin;association;{SIRET_ASSOCIATION};TREMPLIN;35;;;;;",
        "Association Tremplin;association;;TREMPLIN;35;a.benali@tremplin.fr;Benali;Fatima;referent;",
    ]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 0, report["errors"]
    assert report["organisations"]["created"] == 2
    association = Organisation.objects.get(siret=SIRET_ASSOCIATION)
    assert association.code == "TREMPLIN"
    assert association.memberships.get().user.email == "a.benali@tremplin.fr"


# --- Département par défaut -----------------------------------------------------------------------------


def test_departement_option_is_the_default_for_rows_without_departement(tmp_path):
    DepartementFactory()
    loire = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    header = "structure;type;siret;agent_email;role"
    row = f"France Travail Nantes;france_travail;{SIRET_FT_REDON};paul@francetravail.fr;referent"
    path = write_csv(tmp_path, row, header=header)
    code, report = run(path)  # deux Départements dans la base : il faut le préciser
    assert code == 1
    assert report["errors"][0]["row"] == 2 and report["errors"][0]["field"] == "departement"
    assert Organisation.objects.count() == 2

    code, report = run(path, "--departement", "44")
    assert code == 0, report["errors"]
    assert Organisation.objects.get(siret=SIRET_FT_REDON).departement == loire


def test_departement_declared_in_the_file_is_the_default(tmp_path):
    rows = [
        "Département du Morbihan;departement;;56;;;;;;",
        f"CCAS de Vannes;ccas;{SIRET_CCAS};;;;;;;",
    ]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 0, report["errors"]
    assert Organisation.objects.get(siret=SIRET_CCAS).departement.departement_code == "56"


def test_unknown_or_invalid_departement_option(tmp_path):
    path = write_csv(tmp_path, f"CCAS de Redon;ccas;{SIRET_CCAS};;;;;;;")
    code, report = run(path, "--departement", "22")
    assert code == 1
    assert report["errors"][0]["field"] == "departement" and "22" in report["errors"][0]["message"]
    with pytest.raises(CommandError, match="invalide"):
        call_command("import-organisations", str(path), "--departement", "Bretagne")


# --- tout ou rien ---------------------------------------------------------------------------------------


def test_one_bad_row_writes_nothing_and_names_row_and_field(tmp_path):
    run(write_csv(tmp_path, *ROWS))
    before = snapshot()
    rows = [
        *ROWS,
        "Nouvelle association;association;;ASSO-2;35;nouvel.agent@asso.fr;Agent;Nouvel;referent;",
        f"France Travail Fougères;pole_emploi;{SIRET_ASSOCIATION};;35;;;;;",
    ]
    code, report = run(write_csv(tmp_path, *rows, name="erreur.csv"))
    assert code == 1
    assert report["rejected"] is True
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 0)
    assert report["errors"] == [
        {
            "row": 9,
            "field": "type",
            "message": "Type « pole_emploi » inconnu : attendu departement, france_travail, mission_locale, "
            "cap_emploi, ccas, association, structure, etat.",
        }
    ]
    assert snapshot() == before
    assert not User.objects.filter(email="nouvel.agent@asso.fr").exists()


def test_rejected_file_without_json_exits_with_a_command_error(tmp_path, capsys):
    path = write_csv(tmp_path, "France Travail;france_travail;123;;35;;;;;")
    with pytest.raises(CommandError, match="Fichier refusé : 1 erreur"):
        call_command("import-organisations", str(path))
    assert "Erreur (ligne 2, champ siret)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        (f";ccas;{SIRET_CCAS};;35;;;;;", "structure", "Nom de la structure manquant"),
        (f"CCAS;mairie;{SIRET_CCAS};;35;;;;;", "type", "Type « mairie » inconnu"),
        ("CCAS;ccas;26350234600013;;35;;;;;", "siret", "formule de Luhn"),
        ("CCAS;ccas;2635023460001;;35;;;;;", "siret", "14 chiffres"),
        ("CCAS;ccas;;;35;;;;;", "siret", "SIRET ou code"),
        (f"CCAS;ccas;{SIRET_CCAS};;35;agent@;Nom;Prénom;referent;", "agent_email", "invalide"),
        (f"CCAS;ccas;{SIRET_CCAS};;35;agent@ccas.fr;Nom;Prénom;chef;", "role", "Rôle « chef » inconnu"),
        (f"CCAS;ccas;{SIRET_CCAS};;35;agent@ccas.fr;Nom;Prénom;;", "role", "Rôle de l'agent manquant"),
        (f"CCAS;ccas;{SIRET_CCAS};;35;;Nom;Prénom;referent;", "agent_email", "manquante"),
        (f"CCAS;ccas;{SIRET_CCAS};;22;;;;;", "departement", "Département 22 inconnu"),
        (f"CCAS;ccas;{SIRET_CCAS};;Bretagne;;;;;", "departement", "invalide"),
        ("Département du Finistère;departement;;29;35;;;;;", "departement", "ne peut pas être rattaché"),
        ("Département;departement;;Finistère;;;;;;", "code", "est son numéro"),
    ],
)
def test_each_error_names_its_row_and_field_in_french(tmp_path, row, field, expected):
    DepartementFactory()
    code, report = run(write_csv(tmp_path, row))
    assert code == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, field)], report["errors"]
    assert expected in report["errors"][0]["message"]
    assert Organisation.objects.count() == 1 and User.objects.count() == 0


def test_same_email_with_two_names_is_an_error(tmp_path):
    rows = [
        *ROWS[:1],
        "Département d'Ille-et-Vilaine;departement;;35;;claire.lebihan@ille-et-vilaine.fr;Le Bihan;Claudine;"
        "admin;",
    ]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 1
    [error] = report["errors"]
    assert (error["row"], error["field"]) == (3, "agent_prenom")
    assert "ligne 2" in error["message"] and "Claire" in error["message"]
    assert Organisation.objects.count() == 0


def test_two_roles_for_one_agent_in_one_organisation_is_an_error(tmp_path):
    rows = [*ROWS[:1], ROWS[0].replace(";admin;", ";referent;")]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "role")]


def test_same_siret_with_two_names_is_an_error(tmp_path):
    rows = [*ROWS, f"France Travail Vitré;france_travail;{SIRET_FT_REDON};;35;;;;;"]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 1
    [error] = report["errors"]
    assert (error["row"], error["field"]) == (8, "structure") and "ligne 4" in error["message"]


def test_missing_columns_reject_the_file_on_the_header_line(tmp_path):
    code, report = run(write_csv(tmp_path, "CCAS;35", header="structure;departement"))
    assert code == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(1, "type"), (1, "siret")]


def test_email_of_a_person_space_cannot_become_an_agent(tmp_path):
    DepartementFactory()
    person = BeneficiaryFactory()
    user = UserFactory(email="alice.martin@example.fr")
    PersonAccount.objects.create(user=user, beneficiary=person)
    row = f"CCAS;ccas;{SIRET_CCAS};;35;alice.martin@example.fr;Martin;Alice;referent;"
    code, report = run(write_csv(tmp_path, row))
    assert code == 1
    assert (
        report["errors"][0]["field"] == "agent_email" and "espace personnel" in report["errors"][0]["message"]
    )
    assert not Membership.objects.exists()


# --- fichier --------------------------------------------------------------------------------------------


def test_bom_crlf_and_header_case_are_accepted(tmp_path):
    header = "Structure;Type;SIRET;Code;Département;Agent_Email;Agent_Nom;Agent_Prénom;Rôle;Territoire"
    path = write_csv(tmp_path, *ROWS, header=header, bom=True, newline="\r\n")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    code, report = run(path)
    assert code == 0, report["errors"]
    assert report["organisations"]["created"] == 5
    assert Organisation.objects.filter(name="Département d'Ille-et-Vilaine").exists()


def test_file_not_in_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\nCCAS de Fougères;ccas;{SIRET_CCAS};;35;;;;;\n".encode("cp1252"))
    DepartementFactory()
    code, report = run(path)
    assert code == 1
    assert report["errors"][0]["row"] == 2 and "UTF-8" in report["errors"][0]["message"]


def test_unknown_column_is_a_warning(tmp_path):
    code, report = run(
        write_csv(
            tmp_path, "Département d'Ille-et-Vilaine;departement;35;x", header="structure;type;code;remarque"
        )
    )
    assert code == 0
    assert report["warnings"] == [
        {"row": 1, "field": "remarque", "message": "Colonne « remarque » inconnue : ignorée."}
    ]


def test_existing_territory_is_found_by_code(tmp_path):
    departement = DepartementFactory()
    redon = TerritoryFactory(departement=departement, code="REDON", name="Pays de Redon")
    rows = [
        "Département d'Ille-et-Vilaine;departement;;35;;nolwenn@ille-et-vilaine.fr;Tanguy;Nolwenn;referent;redon"
    ]
    code, report = run(write_csv(tmp_path, *rows))
    assert code == 0 and report["territories"] == {"created": 0} and report["warnings"] == []
    assert Membership.objects.get().territory == redon
    assert Territory.objects.count() == 1


# --- point d'entrée ``parcours`` ------------------------------------------------------------------------


def test_parcours_entry_point_prints_one_line_error_without_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        parcours_main(["parcours", "import-organisations", str(tmp_path / "absent.csv")])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "Fichier introuvable" in err and "Traceback" not in err


def test_parcours_entry_point_imports(tmp_path, capsys):
    parcours_main(["parcours", "import-organisations", str(write_csv(tmp_path, *ROWS)), "--json"])
    assert json.loads(capsys.readouterr().out)["organisations"]["created"] == 5


# --- fonction métier ------------------------------------------------------------------------------------


def test_scope_refuses_rows_of_another_departement():
    ille = DepartementFactory()
    DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    data = "\n".join(
        [
            HEADER,
            f"CCAS de Nantes;ccas;{SIRET_CCAS};;44;;;;;",
            "Département de Loire-Atlantique;departement;;44;;x@loire-atlantique.fr;X;Y;admin;",
        ]
    ).encode()
    report = import_organisations(data, scope=ille)
    assert report.rejected
    assert [(e["row"], e["field"]) for e in report.errors] == [(2, "departement"), (3, "code")]


def test_membership_deactivated_is_not_reactivated(tmp_path):
    departement = DepartementFactory()
    membership = MembershipFactory(
        user__email="claire.lebihan@ille-et-vilaine.fr",
        organisation=departement,
        role=Role.ADMIN,
        is_active=False,
    )
    code, report = run(write_csv(tmp_path, ROWS[0]))
    assert code == 0
    membership.refresh_from_db()
    assert membership.is_active is False
    assert any("désactivée" in w["message"] for w in report["warnings"])
