"""Sanctions transmises à l'organisme payeur (CAF, MSA) : chaque suspension, réduction, levée et restitution
produit sa ligne dans le fichier mensuel de l'organisme, comparée ici à des lignes calculées à la main ; le
fichier est produit par la commande et par la page, de façon idempotente ; les accusés de réception mettent
à jour les statuts, une erreur en français par ligne refusée."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from parcours.accompaniment import sanction_exchange as exchange
from parcours.accompaniment import sanctions
from parcours.accompaniment.models import NoticeStatus, SanctionNotice, SanctionStatus
from parcours.accounts.models import Role
from parcours.audit.models import AccessLog
from parcours.journal.models import Event, EventKind
from tests.factories import BeneficiaryFactory, HouseholdFactory, MembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
S = SanctionStatus
N = NoticeStatus
APRIL = D(2026, 4, 1)
MAY = D(2026, 5, 1)
HEADER = (
    "reference;organisme;departement;matricule;role;nom;prenom;date_naissance;nature;taux_reduction;"
    "montant_mensuel;montant_restitue;date_debut;date_fin;duree_mois;date_decision;date_notification;date_mesure"
)


def member(departement, organism, matricule, **fields):
    household = HouseholdFactory(departement=departement, organism=organism, matricule=matricule)
    return BeneficiaryFactory(departement=departement, household=household, **fields)


def notified_case(person, actor, *, notified_on, decision="suspension", percent=30, months=2, amount=""):
    """Manquement constaté le 02/03, personne informée le 09/03, décision le 10/04 (après le délai de 30 jours
    laissé pour les observations), notifiée le ``notified_on``."""
    case = sanctions.open_case(
        person, ground="absences", facts="Absente aux rendez-vous de février.", actor=actor, on=D(2026, 3, 2)
    )
    case = sanctions.transition_case(case, S.NOTICE_SENT, actor=actor, on=D(2026, 3, 9), reason="Courrier")
    fields = {"decision": decision}
    if decision != "none":
        fields.update(reduction_percent=percent, duration_months=months, monthly_amount=amount)
    case = sanctions.transition_case(
        case, S.DECIDED, actor=actor, on=D(2026, 4, 10), reason="Aucune observation", **fields
    )
    return sanctions.transition_case(case, S.NOTIFIED, actor=actor, on=notified_on, reason="Notifiée")


@pytest.fixture
def april(departement, orientation_manager):
    """Trois décisions notifiées en avril : deux réductions (CAF), une suspension totale (MSA), et une décision
    « pas de sanction » qui ne produit rien."""
    nadia = member(
        departement, "CAF", "3512345", first_name="Nadia", last_name="Lebreton", birth_date=D(1985, 6, 12)
    )
    julie = member(
        departement,
        "CAF",
        "3598765",
        first_name="Julie",
        last_name="Morel",
        birth_date=D(1990, 1, 30),
        role="CJT",
    )
    marc = member(
        departement,
        "MSA",
        "MSA-770012",
        first_name="Marc",
        last_name="Tanguy",
        birth_date=D(1979, 11, 3),
        civility="M",
    )
    spared = member(departement, "CAF", "3511111", first_name="Léa", last_name="Roux")
    actor = orientation_manager
    return {
        "nadia": notified_case(nadia, actor, notified_on=D(2026, 4, 15), amount="635.71"),
        "julie": notified_case(julie, actor, notified_on=D(2026, 4, 13), percent=50, months=1, amount="400"),
        "marc": notified_case(marc, actor, notified_on=D(2026, 4, 20), percent=100, months=1),
        "spared": notified_case(spared, actor, notified_on=D(2026, 4, 14), decision="none"),
    }


def expected_april_caf(cases):
    julie, nadia = cases["julie"].pk, cases["nadia"].pk
    # Réduction de 50 % pendant 1 mois notifiée le 13/04 : du 13/04 au 12/05 ; 30 % pendant 2 mois notifiée
    # le 15/04 : du 15/04 au 14/06. Triées par date de la mesure.
    return (
        f"{HEADER}\n"
        f"35-{julie:07d}-REDU;CAF;35;3598765;CJT;Morel;Julie;1990-01-30;REDU;50;400.00;;"
        "2026-04-13;2026-05-12;1;2026-04-10;2026-04-13;2026-04-13\n"
        f"35-{nadia:07d}-REDU;CAF;35;3512345;DEM;Lebreton;Nadia;1985-06-12;REDU;30;635.71;;"
        "2026-04-15;2026-06-14;2;2026-04-10;2026-04-15;2026-04-15\n"
    ).encode()


def test_notified_decisions_give_the_april_files_row_by_row(departement, april):
    caf = exchange.month_file(departement, "CAF", APRIL)
    assert caf.name == "sanctions-35-CAF-2026-04.csv"
    assert caf.content == expected_april_caf(april)
    msa = exchange.month_file(departement, "MSA", D(2026, 4, 20))  # n'importe quel jour du mois
    assert msa.content.decode() == (
        f"{HEADER}\n"
        f"35-{april['marc'].pk:07d}-SUSP;MSA;35;MSA-770012;DEM;Tanguy;Marc;1979-11-03;SUSP;100;;;"
        "2026-04-20;2026-05-19;1;2026-04-10;2026-04-20;2026-04-20\n"
    )
    # « Pas de sanction » : aucune mesure à transmettre.
    assert not SanctionNotice.objects.filter(case=april["spared"]).exists()
    assert exchange.month_file(departement, "CAF", MAY).content == f"{HEADER}\n".encode()


def test_each_notice_is_created_with_its_journal_event_in_the_step_transaction(departement, april):
    notice = SanctionNotice.objects.get(case=april["nadia"])
    assert (notice.status, notice.organism, notice.matricule) == (N.TO_SEND, "CAF", "3512345")
    event = Event.objects.get(kind=EventKind.SANCTION_NOTICE, beneficiary=april["nadia"].beneficiary)
    assert event.occurred_on == D(2026, 4, 15)
    assert event.data["measure"] == "reduction" and event.data["status"] == "a_transmettre"
    assert event.data["ends_on"] == "2026-06-14"


def test_transmitting_a_month_twice_gives_the_same_file_and_marks_notices_once(
    departement, april, orientation_manager
):
    first = exchange.transmit_month(departement, "CAF", APRIL, actor=orientation_manager, on=D(2026, 5, 2))
    assert first.newly_sent == 2
    sent = SanctionNotice.objects.filter(organism="CAF", month=APRIL)
    assert {(n.status, n.transmitted_on, n.file_name) for n in sent} == {
        (N.SENT, D(2026, 5, 2), "sanctions-35-CAF-2026-04.csv")
    }
    events = Event.objects.filter(kind=EventKind.SANCTION_NOTICE).count()
    again = exchange.transmit_month(departement, "CAF", APRIL, actor=orientation_manager, on=D(2026, 5, 9))
    assert again.content == first.content == expected_april_caf(april)
    assert again.newly_sent == 0
    assert set(sent.values_list("transmitted_on", flat=True)) == {D(2026, 5, 2)}
    assert Event.objects.filter(kind=EventKind.SANCTION_NOTICE).count() == events
    # La MSA n'est pas touchée par le fichier de la CAF.
    assert SanctionNotice.objects.get(organism="MSA").status == N.TO_SEND


def test_lifting_and_repayment_go_to_the_file_of_the_regularisation_month(
    departement, april, orientation_manager
):
    nadia = sanctions.transition_case(
        april["nadia"],
        S.REGULARISED,
        actor=orientation_manager,
        on=D(2026, 5, 20),
        reason="Reprise des rendez-vous",
        repaid_amount="1271.42",  # 2 mois × 635,71 € effectivement retenus
    )
    may = exchange.month_file(departement, "CAF", MAY)
    assert may.content.decode() == (
        f"{HEADER}\n"
        f"35-{nadia.pk:07d}-LEVE;CAF;35;3512345;DEM;Lebreton;Nadia;1985-06-12;LEVE;30;635.71;;"
        "2026-05-20;;;2026-04-10;2026-04-15;2026-05-20\n"
        f"35-{nadia.pk:07d}-REST;CAF;35;3512345;DEM;Lebreton;Nadia;1985-06-12;REST;;635.71;1271.42;"
        ";;;2026-04-10;2026-04-15;2026-05-20\n"
    )
    # Le fichier d'avril est inchangé.
    assert exchange.month_file(departement, "CAF", APRIL).content == expected_april_caf(april)


def test_regularisation_without_repayment_only_lifts_the_measure(departement, april, orientation_manager):
    sanctions.transition_case(
        april["marc"], S.REGULARISED, actor=orientation_manager, on=D(2026, 5, 4), reason="Reprise"
    )
    assert list(SanctionNotice.objects.filter(case=april["marc"]).values_list("measure", "organism")) == [
        ("suspension", "MSA"),
        ("levee", "MSA"),
    ]


def test_a_person_without_known_household_is_listed_apart(departement, orientation_manager):
    person = BeneficiaryFactory(departement=departement, household=None, last_name="Sans-Foyer")
    notified_case(person, orientation_manager, notified_on=D(2026, 4, 15))
    (row,) = exchange.month_table(departement)
    assert (row.month, row.organism, row.to_send) == (APRIL, "", 1)
    assert exchange.month_file(departement, "CAF", APRIL).notices == []


def test_acknowledgements_update_statuses_with_a_french_error_per_refused_line(
    departement, april, orientation_manager
):
    exchange.transmit_month(departement, "CAF", APRIL, on=D(2026, 5, 2))
    julie, nadia, marc = (f"35-{april[name].pk:07d}" for name in ("julie", "nadia", "marc"))
    content = (
        "reference;statut;motif;date\n"
        f"{julie}-REDU;accuse;;05/05/2026\n"
        f"{nadia}-REDU;rejete;;2026-05-05\n"
        f"{nadia}-REDU;KO;Matricule clos à la CAF;2026-05-05\n"
        f"{marc}-SUSP;OK;;\n"
        "35-9999999-SUSP;OK;;\n"
        f"{julie}-REDU;peut-être;;\n"
    ).encode("cp1252")
    report = exchange.import_acknowledgements(
        content, departement, actor=orientation_manager, today=D(2026, 5, 6)
    )
    assert (report.acknowledged, report.rejected, report.unchanged) == (1, 1, 0)
    assert report.errors == [
        (3, "rejet sans motif : le motif du rejet est obligatoire."),
        (5, f"la mesure {marc}-SUSP n'a pas encore été transmise."),
        (6, "référence « 35-9999999-SUSP » inconnue pour ce Département."),
        (7, "statut « peut-être » inconnu (attendu : accuse ou rejete, OK ou KO)."),
    ]
    notices = {n.case_id: n for n in SanctionNotice.objects.all()}
    assert (notices[april["julie"].pk].status, notices[april["julie"].pk].answered_on) == (
        N.ACKNOWLEDGED,
        D(2026, 5, 5),
    )
    rejected = notices[april["nadia"].pk]
    assert (rejected.status, rejected.rejection_reason) == (N.REJECTED, "Matricule clos à la CAF")
    # Le même fichier une seconde fois : rien ne change.
    again = exchange.import_acknowledgements(content, departement, today=D(2026, 5, 6))
    # Lignes 2 et 4 inchangées ; les lignes refusées le sont de nouveau.
    assert (again.acknowledged, again.rejected, again.unchanged, len(again.errors)) == (0, 0, 2, 4)


def test_an_answer_cannot_precede_the_transmission(departement, april):
    exchange.transmit_month(departement, "CAF", APRIL, on=D(2026, 5, 2))
    content = f"reference;statut\n35-{april['julie'].pk:07d}-REDU;accuse\n"
    report = exchange.import_acknowledgements(content.encode(), departement, today=D(2026, 5, 1))
    assert report.errors == [
        (2, "Date de la réponse : elle ne peut pas précéder la transmission du 02/05/2026.")
    ]


def test_a_rejected_notice_is_resent_in_the_current_month_with_the_corrected_matricule(
    departement, april, orientation_manager
):
    exchange.transmit_month(departement, "CAF", APRIL, on=D(2026, 5, 2))
    notice = SanctionNotice.objects.get(case=april["nadia"])
    exchange.transition_notice(notice, N.REJECTED, actor=None, on=D(2026, 5, 5), reason="Matricule inconnu")
    household = april["nadia"].beneficiary.household
    household.matricule = "3512399"
    household.save()
    notice = exchange.resend(notice, actor=orientation_manager, on=D(2026, 6, 3))
    assert (notice.status, notice.month, notice.matricule) == (N.TO_SEND, D(2026, 6, 1), "3512399")
    june = exchange.month_file(departement, "CAF", D(2026, 6, 1))
    assert [line.split(";")[:4] for line in june.content.decode().splitlines()[1:]] == [
        [notice.reference, "CAF", "35", "3512399"]
    ]


def test_the_command_writes_the_month_files_and_logs_the_export(departement, april, tmp_path, capsys):
    call_command("sanctions-export", "--month", "2026-04", "--departement", "35", "--output", str(tmp_path))
    assert (tmp_path / "sanctions-35-CAF-2026-04.csv").read_bytes() == expected_april_caf(april)
    assert (tmp_path / "sanctions-35-MSA-2026-04.csv").exists()
    assert "2 mesures, dont 2 nouvellement transmises" in capsys.readouterr().out
    assert not SanctionNotice.objects.filter(status=N.TO_SEND).exists()
    logged = AccessLog.objects.filter(view="parcours sanctions-export")
    assert set(logged.values_list("beneficiary_id", flat=True)) == {
        april[name].beneficiary_id for name in ("nadia", "julie", "marc")
    }
    # Relancée : mêmes fichiers, plus rien à transmettre.
    call_command("sanctions-export", "--month", "2026-04", "--organism", "CAF", "--output", str(tmp_path))
    assert (tmp_path / "sanctions-35-CAF-2026-04.csv").read_bytes() == expected_april_caf(april)
    assert "dont 0 nouvellement transmise" in capsys.readouterr().out


def test_the_acknowledgement_command_reports_refused_lines(departement, april, tmp_path, capsys):
    exchange.transmit_month(departement, "CAF", APRIL)
    path = tmp_path / "accuses.csv"
    path.write_text(f"reference,statut\n35-{april['julie'].pk:07d}-REDU,accuse\n35-0000000-REDU,accuse\n")
    with pytest.raises(Exception, match="Des lignes ont été refusées"):
        call_command("sanctions-acks", str(path))
    captured = capsys.readouterr()
    assert "Accusés : 1 ; rejets : 0" in captured.out
    assert "Ligne 3 : référence « 35-0000000-REDU » inconnue pour ce Département." in captured.err


# --- pages ------------------------------------------------------------------------------------------------


def test_the_page_shows_months_by_organism_and_downloads_the_logged_file(
    client, departement, april, orientation_manager
):
    client.force_login(orientation_manager)
    cases = client.get(reverse("accompaniment:cases_in_progress")).content.decode()
    assert reverse("accompaniment:sanction_transmissions") in cases
    page = client.get(reverse("accompaniment:sanction_transmissions"))
    assert page.status_code == 200
    rows = [(r.month, r.organism, r.total, r.to_send) for r in page.context["rows"]]
    assert rows == [(APRIL, "CAF", 2, 2), (APRIL, "MSA", 1, 1)]
    assert "Transmettre et télécharger" in page.content.decode()

    url = reverse("accompaniment:sanction_file", args=[departement.pk, "CAF", "2026-04"])
    assert client.get(url).status_code == 405  # produire le fichier change les statuts : POST seulement
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="sanctions-35-CAF-2026-04.csv"'
    assert response.content == expected_april_caf(april)
    logged = AccessLog.objects.filter(user=orientation_manager, action="export")
    assert set(logged.values_list("beneficiary_id", flat=True)) == {
        april["nadia"].beneficiary_id,
        april["julie"].beneficiary_id,
    }
    page = client.get(reverse("accompaniment:sanction_transmissions"))
    assert [(r.organism, r.sent, r.to_send) for r in page.context["rows"]] == [("CAF", 2, 0), ("MSA", 0, 1)]

    detail = client.get(reverse("accompaniment:sanction_month", args=[departement.pk, "CAF", "2026-04"]))
    assert [n.reference for n in detail.context["notices"]] == [
        f"35-{april['julie'].pk:07d}-REDU",
        f"35-{april['nadia'].pk:07d}-REDU",
    ]


def test_the_page_imports_the_acknowledgements(client, departement, april, orientation_manager):
    exchange.transmit_month(departement, "CAF", APRIL)
    client.force_login(orientation_manager)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "accuses.csv",
        f"reference;statut;motif\n35-{april['nadia'].pk:07d}-REDU;rejete;Matricule inconnu\nX;accuse;\n".encode(),
    )
    response = client.post(reverse("accompaniment:sanction_transmissions"), {"fichier": upload})
    assert response.status_code == 200
    assert response.context["report_errors"] == [(3, "référence « X » inconnue pour ce Département.")]
    assert SanctionNotice.objects.get(case=april["nadia"]).status == N.REJECTED
    assert "Ligne 3 : référence « X » inconnue pour ce Département." in response.content.decode()
    assert "Matricule inconnu" in response.content.decode()  # liste des mesures rejetées

    notice = SanctionNotice.objects.get(case=april["nadia"])
    client.post(reverse("accompaniment:sanction_resend", args=[notice.pk]))
    assert SanctionNotice.objects.get(pk=notice.pk).status == N.TO_SEND


def test_only_departement_wide_orientation_managers_and_admins_transmit(client, departement, april):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    client.force_login(referent)
    assert client.get(reverse("accompaniment:sanction_transmissions")).status_code == 403
    cases = client.get(reverse("accompaniment:cases_in_progress")).content.decode()
    assert reverse("accompaniment:sanction_transmissions") not in cases
    url = reverse("accompaniment:sanction_file", args=[departement.pk, "CAF", "2026-04"])
    assert client.post(url).status_code == 403

    limited = MembershipFactory(
        organisation=departement,
        role=Role.ORIENTATION_MANAGER,
        territory=TerritoryFactory(departement=departement),
    ).user
    client.force_login(limited)
    assert client.post(url).status_code == 404
    assert SanctionNotice.objects.filter(status=N.TO_SEND).count() == 3
    assert Decimal(SanctionNotice.objects.get(case=april["nadia"]).monthly_amount) == Decimal("635.71")


def test_the_case_page_tells_what_was_transmitted(client, departement, april, orientation_manager):
    exchange.transmit_month(departement, "CAF", APRIL, on=D(2026, 5, 2))
    client.force_login(orientation_manager)
    page = client.get(reverse("accompaniment:case_detail", args=[april["nadia"].pk])).content.decode()
    assert "Réduction : suspension partielle du versement (REDU) — CAF : transmis" in page
    assert "sanctions-35-CAF-2026-04.csv, le 02/05/2026" in page


@pytest.mark.parametrize(
    ("decision", "percent", "measure"),
    [
        ("suppression", 100, "suppression"),
        ("suppression", 50, "suppression"),
        ("suspension", 100, "suspension"),
        ("suspension", 99, "reduction"),
        ("suspension", 30, "reduction"),
        ("none", None, None),
    ],
)
def test_the_nature_of_the_measure_follows_the_decision_and_rate(decision, percent, measure):
    from parcours.accompaniment.models import SanctionCase

    assert exchange.measure_of(SanctionCase(decision=decision, reduction_percent=percent)) == measure


def test_the_planned_end_is_the_day_before_the_same_date_months_later():
    from parcours.accompaniment.models import SanctionCase

    # Notifiée le 31/01 pour 1 mois : jusqu'au 27/02 (28/02 moins un jour) ; le 15/11 pour 4 mois : 14/03.
    assert exchange.planned_end(SanctionCase(notified_on=D(2026, 1, 31), duration_months=1)) == D(2026, 2, 27)
    assert exchange.planned_end(SanctionCase(notified_on=D(2026, 11, 15), duration_months=4)) == D(
        2027, 3, 14
    )
