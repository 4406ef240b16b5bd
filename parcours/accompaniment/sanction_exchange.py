"""Sanctions transmises à l'organisme payeur (CAF ou MSA) : la mesure, le fichier mensuel, l'accusé de réception.

Le Président du Conseil départemental décide la sanction (CASF L262-37, R262-68 et suivants) ; c'est
l'organisme payeur du RSA (CAF ou MSA, CASF L262-16) qui l'applique au versement. Sans transmission, aucune
sanction n'est appliquée. Chaque étape de la procédure qui change le versement produit ici, **dans la même
transaction** que l'étape (``on_case_step``, appelé par ``sanctions.transition_case`` : page, API, import,
toutes les voies), une mesure à transmettre (``SanctionNotice``) :

- **notification** d'une suspension (taux 100 % : ``SUSP``), d'une réduction (suspension partielle,
  taux < 100 % : ``REDU``) ou d'une suppression (``SUPP``) : la mesure court à compter de la notification
  (voir ``sanctions.letter``), pendant la durée décidée ;
- **régularisation** (la personne se conforme à ses obligations) : levée de la mesure (``LEVE``) et, pour
  une suspension, restitution des sommes retenues (``REST``, montant plafonné par
  ``sanctions.repayment_cap``).

Une décision « pas de sanction » ne produit rien ; une mesure allée à son terme non plus (la date de fin
prévue est dans la ligne transmise).

**Fichier mensuel** (``month_file``) : un fichier CSV par Département, organisme et mois (mois de la date de
la mesure), colonnes ``COLUMNS`` (docs/accompagnement.md) ; la même demande donne toujours le même fichier
(lignes triées, aucune date de production dans le fichier). ``transmit_month`` le produit et fait passer les
mesures « à transmettre » à « transmises ». L'organisme répond par un **fichier d'accusés**
(``import_acknowledgements`` : référence, statut, motif, date), une erreur en français par ligne refusée.

Les statuts d'une mesure passent par ``NOTICE_WORKFLOW`` (``journal.transitions``), chaque passage écrit un
événement ``sanction_notice`` du journal (publié aux partenaires abonnés : ``sanction.mesure``).
"""

import csv
import datetime
import io
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from parcours.core.text import plural
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.journal.transitions import Workflow, transition

from .models import (
    NoticeStatus,
    SanctionDecision,
    SanctionMeasure,
    SanctionNotice,
    SanctionStatus,
)

N = NoticeStatus
M = SanctionMeasure

NOTICE_WORKFLOW = Workflow(
    "Mesure transmise",
    NoticeStatus,
    {
        N.TO_SEND: {N.SENT},
        N.SENT: {N.ACKNOWLEDGED, N.REJECTED},
        # Après correction (matricule, organisme), une mesure rejetée est transmise de nouveau.
        N.REJECTED: {N.TO_SEND},
        N.ACKNOWLEDGED: set(),
    },
)

# Code de la nature de la mesure dans le fichier.
CODES = {
    M.SUSPENSION: "SUSP",
    M.REDUCTION: "REDU",
    M.SUPPRESSION: "SUPP",
    M.LIFTING: "LEVE",
    M.REPAYMENT: "REST",
}
ORGANISMS = ("CAF", "MSA")

# Colonnes du fichier mensuel (ordre fixe ; description dans docs/accompagnement.md).
COLUMNS = [
    "reference",
    "organisme",
    "departement",
    "matricule",
    "role",
    "nom",
    "prenom",
    "date_naissance",
    "nature",
    "taux_reduction",
    "montant_mensuel",
    "montant_restitue",
    "date_debut",
    "date_fin",
    "duree_mois",
    "date_decision",
    "date_notification",
    "date_mesure",
]


def first_of_month(day):
    return day.replace(day=1)


def parse_month(text):
    """« AAAA-MM » → premier jour du mois ; ``ValidationError`` en français sinon."""
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        return datetime.date(year, month, 1)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"Mois « {text} » invalide : format attendu AAAA-MM.") from error


# --- création des mesures (dans la transaction de l'étape) -----------------------------------------------------


def _payload(notice, **extra):
    return {
        "notice_id": notice.pk,
        "case_id": notice.case_id,
        "measure": notice.measure,
        "status": notice.status,
        "organism": notice.organism,
        "reduction_percent": notice.reduction_percent,
        "starts_on": notice.starts_on,
        "ends_on": notice.ends_on,
        "repaid_amount": notice.amount,
        **extra,
    }


def _payer(beneficiary):
    """Organisme payeur (CAF ou MSA) et matricule du foyer, tels que les dit le flux ; vides si inconnus."""
    household = beneficiary.household
    if household is None:
        return "", ""
    return household.organism, household.matricule


def _reference(case, measure):
    departement = case.beneficiary.departement
    prefix = departement.departement_code or str(departement.pk)
    return f"{prefix}-{case.pk:07d}-{CODES[measure]}"


def _create(case, measure, *, on, actor, **values):
    organism, matricule = _payer(case.beneficiary)
    notice = SanctionNotice.objects.create(
        case=case,
        beneficiary_id=case.beneficiary_id,
        departement_id=case.beneficiary.departement_id,
        measure=measure,
        reference=_reference(case, measure),
        organism=organism,
        matricule=matricule,
        month=first_of_month(on),
        effective_on=on,
        decided_on=case.decided_on,
        notified_on=case.notified_on,
        **values,
    )
    record(notice.beneficiary_id, EventKind.SANCTION_NOTICE, on=on, actor=actor, **_payload(notice))
    return notice


def measure_of(case):
    """Nature de la mesure notifiée : suppression, suspension totale (taux 100 %) ou réduction (taux < 100 %) ;
    ``None`` pour « pas de sanction »."""
    if case.decision == SanctionDecision.SUPPRESSION:
        return M.SUPPRESSION
    if case.decision == SanctionDecision.SUSPENSION:
        return M.SUSPENSION if (case.reduction_percent or 0) >= 100 else M.REDUCTION
    return None


def planned_end(case):
    """Fin prévue de la mesure : la veille du même jour, ``durée`` mois après la notification (la mesure court
    à compter de la notification)."""
    if not case.notified_on or not case.duration_months:
        return None
    return case.notified_on + relativedelta(months=case.duration_months) - datetime.timedelta(days=1)


def on_case_step(case, from_status, to_status, *, actor, on):
    """Appelé par ``sanctions.transition_case`` dans la transaction de l'étape (la procédure porte déjà les
    champs de l'étape) : crée les mesures à transmettre à l'organisme payeur ; renvoie la liste créée."""
    created = []
    if to_status == SanctionStatus.NOTIFIED:
        measure = measure_of(case)
        if measure is not None:
            created.append(
                _create(
                    case,
                    measure,
                    on=on,
                    actor=actor,
                    starts_on=on,
                    ends_on=planned_end(case),
                    reduction_percent=case.reduction_percent,
                    duration_months=case.duration_months,
                    monthly_amount=case.monthly_amount,
                )
            )
    elif to_status == SanctionStatus.REGULARISED and from_status == SanctionStatus.NOTIFIED:
        if measure_of(case) is not None:
            created.append(
                _create(
                    case,
                    M.LIFTING,
                    on=on,
                    actor=actor,
                    starts_on=on,
                    reduction_percent=case.reduction_percent,
                    monthly_amount=case.monthly_amount,
                )
            )
        if case.repaid_amount:
            created.append(
                _create(
                    case,
                    M.REPAYMENT,
                    on=on,
                    actor=actor,
                    amount=case.repaid_amount,
                    monthly_amount=case.monthly_amount,
                )
            )
    return created


# --- statuts --------------------------------------------------------------------------------------------------


def transition_notice(notice, to_status, *, actor, on, reason="", **fields):
    """Seul chemin de changement de statut d'une mesure (table ``NOTICE_WORKFLOW``, événement du journal)."""

    def apply(locked):
        answered = to_status in (N.ACKNOWLEDGED, N.REJECTED)
        if answered and locked.transmitted_on and on < locked.transmitted_on:
            raise ValidationError(
                f"Date de la réponse : elle ne peut pas précéder la transmission du "
                f"{locked.transmitted_on:%d/%m/%Y}."
            )
        if to_status == N.SENT:
            locked.transmitted_on = on
            locked.file_name = fields.get("file_name", "")
        elif to_status == N.ACKNOWLEDGED:
            locked.answered_on = on
            locked.rejection_reason = ""
        elif to_status == N.REJECTED:
            if not reason:
                raise ValidationError("Rejet : le motif donné par l'organisme est obligatoire.")
            locked.answered_on = on
            locked.rejection_reason = reason[:300]
        elif to_status == N.TO_SEND:
            # Nouvelle transmission après un rejet : organisme et matricule relus dans le foyer (corrigés par
            # le dernier flux), dans le fichier du mois en cours.
            locked.organism, locked.matricule = _payer(locked.beneficiary)
            locked.month = first_of_month(on)
            locked.transmitted_on = None
            locked.answered_on = None
            locked.file_name = ""

    return transition(
        notice,
        to_status,
        workflow=NOTICE_WORKFLOW,
        actor=actor,
        on=on,
        event=EventKind.SANCTION_NOTICE,
        payload=lambda locked, previous: _payload(locked, reason=reason[:300]),
        apply=apply,
        queryset=SanctionNotice.objects.select_related("beneficiary__household"),
    )


def resend(notice, *, actor, on=None):
    """Une mesure rejetée redevient « à transmettre », dans le fichier du mois en cours."""
    return transition_notice(notice, N.TO_SEND, actor=actor, on=on or timezone.localdate())


# --- fichier mensuel ------------------------------------------------------------------------------------------


def notices_of(departement, organism, month):
    return (
        SanctionNotice.objects.filter(departement=departement, organism=organism, month=first_of_month(month))
        .select_related("beneficiary")
        .order_by("effective_on", "reference")
    )


def file_name(departement, organism, month):
    code = departement.departement_code or departement.pk
    return f"sanctions-{code}-{organism}-{month:%Y-%m}.csv"


def _day(value):
    return value.isoformat() if value else ""


def _money(value):
    return f"{value:.2f}" if value is not None else ""


def notice_row(notice):
    """Une ligne du fichier mensuel (chaînes, dans l'ordre de ``COLUMNS``)."""
    person = notice.beneficiary
    departement = notice.departement
    return [
        notice.reference,
        notice.organism,
        departement.departement_code,
        notice.matricule,
        person.role,
        person.last_name,
        person.first_name,
        _day(person.birth_date),
        CODES[notice.measure],
        "" if notice.reduction_percent is None else str(notice.reduction_percent),
        _money(notice.monthly_amount),
        _money(notice.amount),
        _day(notice.starts_on),
        _day(notice.ends_on),
        "" if notice.duration_months is None else str(notice.duration_months),
        _day(notice.decided_on),
        _day(notice.notified_on),
        _day(notice.effective_on),
    ]


def render_file(notices):
    """Le contenu du fichier : UTF-8 sans BOM, séparateur « ; », fin de ligne ``\\n``, en-tête ``COLUMNS``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for notice in notices:
        writer.writerow(notice_row(notice))
    return buffer.getvalue().encode("utf-8")


@dataclass
class MonthFile:
    name: str
    content: bytes
    notices: list
    newly_sent: int = 0

    @property
    def people(self):
        return sorted({n.beneficiary_id for n in self.notices})


def _check_organism(organism):
    if organism not in ORGANISMS:
        raise ValidationError(f"Organisme « {organism} » inconnu : CAF ou MSA.")


def month_file(departement, organism, month):
    """Le fichier des mesures d'un mois pour un organisme (toutes les mesures du mois, quel que soit leur
    statut) : le même à chaque demande tant qu'aucune mesure n'est ajoutée ou corrigée."""
    _check_organism(organism)
    month = first_of_month(month)
    notices = list(notices_of(departement, organism, month))
    for notice in notices:
        notice.departement = departement
    return MonthFile(file_name(departement, organism, month), render_file(notices), notices)


def transmit_month(departement, organism, month, *, actor=None, on=None):
    """Produit le fichier du mois (``month_file``) et fait passer ses mesures « à transmettre » à
    « transmises » (date du jour, nom du fichier). Idempotent : produire de nouveau le même mois redonne le
    même fichier et ne change plus aucun statut. L'appelant journalise le téléchargement (journal d'accès)."""
    on = on or timezone.localdate()
    produced = month_file(departement, organism, month)
    for notice in produced.notices:
        if notice.status == N.TO_SEND:
            transition_notice(notice, N.SENT, actor=actor, on=on, file_name=produced.name)
            produced.newly_sent += 1
    return produced


def audit_file(produced, departement, *, user=None, request=None, view=""):
    """Journal d'accès : une entrée par personne du fichier (export nominatif)."""
    from parcours.audit.models import AccessAction
    from parcours.audit.services import record_export, record_many

    reason = f"Fichier des sanctions pour l'organisme payeur : {produced.name}"
    people = [(pk, departement.pk) for pk in produced.people]
    if request is not None:
        return record_export(request, people, reason=reason)
    return record_many(
        [{"beneficiary_id": pk, "departement_id": dep, "action": AccessAction.EXPORT} for pk, dep in people],
        user=user,
        view=view,
        reason=f"{reason} : {plural(len(people), 'personne')}.",
    )


# --- tableau des mois -----------------------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: datetime.date
    organism: str
    counts: dict = field(default_factory=dict)

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def to_send(self):
        return self.counts.get(N.TO_SEND, 0)

    @property
    def sent(self):
        return self.counts.get(N.SENT, 0)

    @property
    def acknowledged(self):
        return self.counts.get(N.ACKNOWLEDGED, 0)

    @property
    def rejected(self):
        return self.counts.get(N.REJECTED, 0)


def month_table(departement):
    """Mois × organismes du Département, le plus récent d'abord, avec le nombre de mesures par statut (une
    requête). Les mesures sans organisme payeur connu ont l'organisme « » : elles ne peuvent pas être
    transmises tant que le flux n'a pas donné le foyer de la personne."""
    rows = {}
    counts = (
        SanctionNotice.objects.filter(departement=departement)
        .order_by()
        .values_list("month", "organism", "status")
        .annotate(number=Count("pk"))
    )
    for month, organism, status, number in counts:
        rows.setdefault((month, organism), MonthRow(month, organism)).counts[status] = number
    return sorted(rows.values(), key=lambda row: (-row.month.toordinal(), row.organism))


# --- accusés de réception -------------------------------------------------------------------------------------

ACK_VALUES = {
    "accuse": N.ACKNOWLEDGED,
    "accusé": N.ACKNOWLEDGED,
    "accepte": N.ACKNOWLEDGED,
    "accepté": N.ACKNOWLEDGED,
    "ok": N.ACKNOWLEDGED,
    "a": N.ACKNOWLEDGED,
    "rejete": N.REJECTED,
    "rejeté": N.REJECTED,
    "rejet": N.REJECTED,
    "ko": N.REJECTED,
    "r": N.REJECTED,
}
ACK_COLUMNS = {
    "reference": ("reference", "référence", "ref"),
    "statut": ("statut", "status", "etat", "état"),
    "motif": ("motif", "motif_rejet", "motif du rejet", "raison"),
    "date": ("date", "date_reponse", "date de réponse", "traite_le"),
}


@dataclass
class AckReport:
    acknowledged: int = 0
    rejected: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # [(ligne, message)]

    @property
    def lines(self):
        return self.acknowledged + self.rejected + self.unchanged + len(self.errors)


def _decode(content):
    if isinstance(content, str):
        return content
    for codec in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            continue
    raise ValidationError("Fichier d'accusés illisible : encodage non reconnu (UTF-8 ou Windows-1252).")


def _ack_date(text, today):
    text = (text or "").strip()
    if not text:
        return today
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if day > today:
            raise ValueError(f"date « {text} » dans le futur")
        return day
    raise ValueError(f"date « {text} » invalide (AAAA-MM-JJ ou JJ/MM/AAAA)")


def _header(cells):
    names = {}
    for index, cell in enumerate(cells):
        key = cell.strip().lower()
        for name, synonyms in ACK_COLUMNS.items():
            if key in synonyms and name not in names:
                names[name] = index
    missing = [name for name in ("reference", "statut") if name not in names]
    if missing:
        raise ValidationError(
            f"Fichier d'accusés : colonne{'s' if len(missing) > 1 else ''} {', '.join(missing)} absente"
            f"{'s' if len(missing) > 1 else ''} (colonnes attendues : reference ; statut ; motif ; date)."
        )
    return names


def import_acknowledgements(content, departement, *, actor=None, today=None):
    """Applique le fichier d'accusés de l'organisme payeur : une ligne par mesure (référence, statut
    ``accuse``/``rejete`` — aussi ``OK``/``KO`` —, motif obligatoire pour un rejet, date facultative).

    Chaque ligne valide est appliquée ; chaque ligne refusée a son erreur en français (numéro de ligne du
    fichier). Réimporter le même fichier ne change rien (lignes « inchangées »)."""
    today = today or timezone.localdate()
    text = _decode(content)
    lines = text.splitlines()
    if not lines:
        raise ValidationError("Fichier d'accusés vide.")
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    columns = _header(rows[0])
    report = AckReport()
    references = {
        row[columns["reference"]].strip()
        for row in rows[1:]
        if len(row) > columns["reference"] and row[columns["reference"]].strip()
    }
    notices = {
        n.reference: n
        for n in SanctionNotice.objects.filter(departement=departement, reference__in=references).only(
            "pk", "reference", "status"
        )
    }

    def cell(row, name):
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        reference = cell(row, "reference")
        status_text = cell(row, "statut")
        reason = cell(row, "motif")
        if not reference:
            report.errors.append((number, "référence manquante."))
            continue
        notice = notices.get(reference)
        if notice is None:
            report.errors.append((number, f"référence « {reference} » inconnue pour ce Département."))
            continue
        target = ACK_VALUES.get(status_text.lower())
        if target is None:
            report.errors.append(
                (number, f"statut « {status_text} » inconnu (attendu : accuse ou rejete, OK ou KO).")
            )
            continue
        if target == N.REJECTED and not reason:
            report.errors.append((number, "rejet sans motif : le motif du rejet est obligatoire."))
            continue
        try:
            on = _ack_date(cell(row, "date"), today)
        except ValueError as error:
            report.errors.append((number, f"{error}."))
            continue
        if notice.status == target:
            report.unchanged += 1
            continue
        if notice.status == N.TO_SEND:
            report.errors.append((number, f"la mesure {reference} n'a pas encore été transmise."))
            continue
        if notice.status != N.SENT:
            label = NOTICE_WORKFLOW.label(notice.status)
            report.errors.append((number, f"la mesure {reference} est déjà « {label} »."))
            continue
        try:
            notice = transition_notice(notice, target, actor=actor, on=on, reason=reason)
        except ValidationError as error:
            report.errors.append((number, " ".join(error.messages)))
            continue
        notices[reference] = notice
        if target == N.ACKNOWLEDGED:
            report.acknowledged += 1
        else:
            report.rejected += 1
    return report
