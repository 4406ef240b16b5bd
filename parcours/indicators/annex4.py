"""Fichier de partage de données de l'annexe 4 (convention 002, volet 3) : les données que le Département
s'engage à transmettre à France Travail pour produire les indicateurs partagés.

Une ligne par entrée de la cohorte de la période (nouvel entrant dont le T0 tombe dans la période, comme
pour les indicateurs : ``definitions.new_entrant_cohort``), avec ses identifiants, ses dates (ouverture
du droit, T0, entrée dans les droits et devoirs, rendez-vous d'orientation, orientation, référent, contrat),
les freins relevés au diagnostic, le parcours, les dates des rendez-vous d'accompagnement et les
prestations (activités planifiées et prescriptions acceptées) avec leurs dates et durées.

Données personnelles : le fichier ne porte que sur les personnes que l'utilisateur a le droit de voir
(``Beneficiary.objects.visible_to(user)``) ; chaque export est inscrit au journal d'accès, une entrée par
personne (``audit.services.record_many``). Ni NIR, ni nom, ni coordonnées : les identifiants suffisent au
rapprochement (identifiant Département, identifiant France Travail, organisme et matricule CAF/MSA).
Nombre de requêtes borné, quelle que soit la taille de la cohorte (requêtes groupées, pas de N+1).
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from parcours.accompaniment.models import (
    ActivityKind,
    ActivityStatus,
    DiagnosticVersion,
    Exit,
    PlannedActivity,
    Theme,
    ThemeKind,
)
from parcours.accounts.models import OrganisationKind, Role
from parcours.beneficiaries.models import Beneficiary
from parcours.catalogue.models import Prescription, PrescriptionStatus
from parcours.core.delays import get_delay
from parcours.journal.models import Event, EventKind
from parcours.journal.payload import Payload as P
from parcours.journal.queries import payload_text
from parcours.orientation.models import (
    FRANCE_TRAVAIL_CODES,
    Appointment,
    AppointmentKind,
    Attendance,
)

from .definitions import (
    ACTIVITY_STEPS,
    EMPLOYABILITY_EXIT_REASONS,
    STARTED_ACTIVITY,
    analytics_session,
    beneficiary_scope,
    check_period,
    exit_step,
    hiring_step,
    hirings_without_exit,
    new_entrant_cohort,
)

COLUMNS = [
    ("identifiant_departement", "Identifiant de la personne dans le système du Département"),
    ("identifiant_france_travail", "Identifiant France Travail (s'il est connu)"),
    ("organisme_payeur", "CAF ou MSA"),
    ("matricule", "Matricule du foyer à la CAF ou à la MSA (identifiant RSA)"),
    ("role_foyer", "DEM (demandeur) ou CJT (conjoint)"),
    ("numero_demande_rsa", "Numéro de la demande RSA, s'il est connu"),
    ("date_ouverture_droit", "Date d'ouverture du droit RSA"),
    ("date_t0", "Date de réception par le Département de la notification CAF/MSA (T0)"),
    ("date_entree_droits_devoirs", "Date d'entrée dans les droits et devoirs (date de référence du flux)"),
    ("date_rdv_orientation", "Premier rendez-vous d'orientation depuis T0 (hors rendez-vous annulé)"),
    ("presence_rdv_orientation", "Présence à ce rendez-vous"),
    ("date_orientation", "Notification de la première orientation depuis T0 (non annulée)"),
    ("type_parcours", "emploi, socio_professionnel ou social"),
    ("code_parcours_france_travail", "PED, PSP ou PSO"),
    ("date_designation_referent", "Première désignation d'un référent depuis T0"),
    ("date_signature_contrat", "Premier contrat signé depuis T0"),
    ("date_diagnostic", "Entretien du diagnostic le plus récent"),
    ("freins", "Freins périphériques relevés à ce diagnostic (hors santé, donnée sensible)"),
    ("codes_contraintes_france_travail", "Codes « contrainte » France Travail de ces freins"),
    ("dates_rdv_accompagnement", "Dates des rendez-vous d'accompagnement honorés depuis T0"),
    ("prestations", "Prestations depuis T0 : date de début, intitulé, nature, heures par semaine × semaines"),
    ("nombre_prestations", "Nombre de prestations"),
    ("heures_prestations", "Total des heures prévues (heures par semaine × semaines)"),
    # Progression dans l'employabilité depuis T0 (volet 3), mêmes règles que l'indicateur
    ("immersions", "Immersions en entreprise (PMSMP) commencées depuis T0"),
    ("formations", "Formations commencées et sorties vers une formation qualifiante depuis T0"),
    (
        "contrats_courts",
        "Contrats de travail de courte durée depuis T0 (contrat IAE, emploi de moins de 6 mois)",
    ),
    ("freins_leves", "Freins périphériques levés au diagnostic depuis T0 (hors santé, donnée sensible)"),
]
HEADER = [name for name, _ in COLUMNS]
SEPARATOR = " | "
ACTIVITY_LABELS = dict(ActivityKind.choices)
ATTENDANCE_LABELS = dict(Attendance.choices)
PATHWAY_CODES = {str(k): v for k, v in FRANCE_TRAVAIL_CODES.items()}


def _day(value):
    return value.isoformat() if value else ""


def _as_date(value):
    """Date (jour local pour un horodatage) d'une valeur lue en base."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _hours(value):
    if value is None:
        return ""
    value = Decimal(str(value)).normalize()
    return format(value, "f").replace(".", ",")


def departements_for_people(user, memberships):
    """Départements pour lesquels l'utilisateur peut produire le fichier : ceux où il voit des personnes
    (pas le délégué à la protection des données, pas les services de l'État, qui ne voient que des
    agrégats). ``None`` : tous (super-utilisateur)."""
    if user.is_superuser:
        return None
    ids = set()
    for membership in memberships:
        org = membership.organisation
        if membership.role == Role.DPO or org.kind == OrganisationKind.ETAT:
            continue
        home = org.home_departement
        if home is not None:
            ids.add(home.pk)
    return ids


def cohort_people(scope, start, end):
    """Sous-requête : les personnes du périmètre dont une entrée (T0) tombe dans la période."""
    return (
        Event.objects.filter(
            kind=EventKind.NEW_ENTRANT,
            occurred_on__gte=start,
            occurred_on__lte=end,
            beneficiary__in=scope.order_by().values("pk"),
        )
        .order_by()
        .values("beneficiary_id")
    )


def _group(rows):
    grouped = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


class Annex4Export:
    """Le fichier d'une période : ``people`` (identifiants des personnes, pour le journal d'accès) est connu
    dès la construction ; ``rows()`` produit les lignes (en-tête compris) à la demande."""

    def __init__(self, scope, start, end):
        check_period(start, end)
        self.start, self.end = start, end
        with analytics_session():
            self._load(scope, start, end)

    def _load(self, scope, start, end):
        self.entries = sorted(new_entrant_cohort(scope, start, end), key=lambda e: (e.t0, e.beneficiary_id))
        people = cohort_people(scope, start, end)
        self.people = {
            r[0]: r
            for r in Beneficiary.objects.filter(pk__in=people)
            .order_by()
            .values_list(
                "pk",
                "departement_id",
                "departement_internal_id",
                "france_travail_id",
                "household__organism",
                "household__matricule",
                "role",
                "household__right__rsa_number",
            )
        }
        self.entry_dates = {
            (b, _as_date(t0)): _as_date(reference) if reference else None
            for b, t0, reference in Event.objects.filter(
                kind=EventKind.NEW_ENTRANT,
                occurred_on__gte=start,
                occurred_on__lte=end,
                beneficiary__in=people,
            )
            .order_by()
            .annotate(reference=payload_text(EventKind.NEW_ENTRANT, P.REFERENCE_DATE))
            .values_list("beneficiary_id", "occurred_on", "reference")
        }
        self.appointments = _group(
            Appointment.objects.filter(beneficiary__in=people)
            .exclude(attendance=Attendance.CANCELLED)
            .order_by("beneficiary_id", "starts_at", "pk")
            .values_list("beneficiary_id", "kind", "starts_at", "attendance")
        )
        latest = {}
        for b, number, conducted_on in (
            DiagnosticVersion.objects.filter(beneficiary__in=people)
            .order_by("beneficiary_id", "number")
            .values_list("beneficiary_id", "number", "conducted_on")
        ):
            latest[b] = (number, conducted_on)
        self.diagnostics = latest
        barriers = {}
        for b, number, label, code in (
            DiagnosticVersion.situations.through.objects.filter(
                diagnosticversion__beneficiary__in=people,
                situation__theme__kind=ThemeKind.BARRIER,
                situation__theme__sensitive=False,
            )
            .order_by("situation__theme__position", "situation__theme__label")
            .values_list(
                "diagnosticversion__beneficiary_id",
                "diagnosticversion__number",
                "situation__theme__label",
                "situation__theme__france_travail_code",
            )
        ):
            if latest.get(b, (None,))[0] != number:
                continue
            themes = barriers.setdefault(b, {})
            themes.setdefault(label, code)
        self.barriers = barriers
        self.activities = _group(
            # Une activité venue d'une prescription acceptée est déjà comptée par sa prescription.
            PlannedActivity.objects.filter(beneficiary__in=people, prescription__isnull=True)
            .exclude(status=ActivityStatus.ABANDONED)
            .order_by("beneficiary_id", "starts_on", "pk")
            .values_list("beneficiary_id", "starts_on", "label", "kind", "weekly_hours", "weeks")
        )
        self.prescriptions = _group(
            Prescription.objects.filter(beneficiary__in=people, status=PrescriptionStatus.ACCEPTED)
            .order_by("beneficiary_id", "start_on", "pk")
            .values_list(
                "beneficiary_id",
                "start_on",
                "answered_at",
                "service__nom",
                "volume_horaire_hebdomadaire",
                "nombre_semaines",
            )
        )

        self._load_employability(people)

    def _load_employability(self, people):
        """Étapes de la progression dans l'employabilité (``definitions.employability``), par personne :
        ``[(date, étape)]`` ; freins levés : ``[(date, thèmes)]``."""
        steps = _group(
            PlannedActivity.objects.filter(
                beneficiary__in=people, kind__in=list(ACTIVITY_STEPS), status__in=STARTED_ACTIVITY
            )
            .order_by("beneficiary_id", "starts_on", "pk")
            .values_list("beneficiary_id", "starts_on", "kind")
        )
        self.steps = {b: [(day, ACTIVITY_STEPS[kind]) for day, kind in rows] for b, rows in steps.items()}
        short_months = get_delay("employment_durable_min_contract_months")
        for b, day, reason, contract, months in (
            Exit.objects.filter(beneficiary__in=people, reason__in=EMPLOYABILITY_EXIT_REASONS)
            .order_by("beneficiary_id", "exited_on", "pk")
            .values_list("beneficiary_id", "exited_on", "reason", "contract_type", "contract_months")
        ):
            step = exit_step(reason, contract, months, short_months)
            if step:
                self.steps.setdefault(b, []).append((day, step))
        for b, day, contract, months in (
            hirings_without_exit(people)
            .order_by("beneficiary_id", "starts_on", "pk")
            .values_list("beneficiary_id", "starts_on", "contract_type", "contract_months")
        ):
            step = hiring_step(contract, months, short_months)
            if step:
                self.steps.setdefault(b, []).append((day, step))
        labels = dict(Theme.objects.values_list("code", "label"))
        self.lifted = _group(
            (b, day, [labels.get(code, code) for code in (payload or {}).get(P.THEMES, [])])
            for b, day, payload in Event.objects.filter(beneficiary__in=people, kind=EventKind.BARRIER_LIFTED)
            .order_by("beneficiary_id", "occurred_on", "pk")
            .values_list("beneficiary_id", "occurred_on", "payload")
        )

    def _employability(self, beneficiary_id, t0):
        counts = dict.fromkeys(("immersion", "formation", "contrat_court"), 0)
        for day, step in self.steps.get(beneficiary_id, []):
            if day >= t0:
                counts[step] += 1
        lifted = []
        for day, themes in self.lifted.get(beneficiary_id, []):
            if day >= t0:
                lifted.extend(t for t in themes if t not in lifted)
        return [counts["immersion"], counts["formation"], counts["contrat_court"], SEPARATOR.join(lifted)]

    @property
    def person_ids(self):
        return sorted({e.beneficiary_id for e in self.entries})

    def audit_entries(self):
        """Une entrée du journal d'accès par personne exportée (pour ``record_many``)."""
        departements = {pk: row[1] for pk, row in self.people.items()}
        return [
            {"beneficiary_id": pk, "departement_id": departements.get(pk), "action": "export"}
            for pk in self.person_ids
        ]

    def _services(self, beneficiary_id, t0):
        kinds = ACTIVITY_LABELS
        items = []
        for starts_on, label, kind, weekly, weeks in self.activities.get(beneficiary_id, []):
            if starts_on >= t0:
                items.append((starts_on, label, kinds.get(kind, kind).lower(), weekly, weeks))
        for start_on, answered_at, name, weekly, weeks in self.prescriptions.get(beneficiary_id, []):
            day = start_on or _as_date(answered_at)
            if day and day >= t0:
                items.append((day, name, "prescription acceptée", weekly, weeks))
        items.sort(key=lambda item: (item[0], item[1]))
        texts, total = [], Decimal(0)
        for day, label, nature, weekly, weeks in items:
            duration = ""
            if weekly is not None and weeks:
                duration = f", {_hours(weekly)} h/sem. × {weeks} sem."
                total += Decimal(str(weekly)) * weeks
            texts.append(f"{day.isoformat()} : {label} ({nature}{duration})")
        return SEPARATOR.join(texts), len(items), _hours(total) if items else ""

    def rows(self):
        yield HEADER
        attendances = ATTENDANCE_LABELS
        for e in self.entries:
            person = self.people.get(e.beneficiary_id)
            if person is None:
                continue
            appointments = [
                (kind, _as_date(starts_at), attendance)
                for kind, starts_at, attendance in self.appointments.get(e.beneficiary_id, [])
            ]
            orientation_rdv = next(
                (
                    (day, att)
                    for kind, day, att in appointments
                    if kind == AppointmentKind.ORIENTATION and day >= e.t0
                ),
                (None, ""),
            )
            accompaniment_days = [
                day.isoformat()
                for kind, day, att in appointments
                if kind == AppointmentKind.ACCOMPANIMENT and day >= e.t0 and att == Attendance.SEEN
            ]
            number_on = self.diagnostics.get(e.beneficiary_id)
            barriers = self.barriers.get(e.beneficiary_id, {})
            services, count, hours = self._services(e.beneficiary_id, e.t0)
            yield [
                person[2],
                person[3],
                person[4] or "",
                person[5] or "",
                person[6],
                person[7] or "",
                _day(e.right_opened_on),
                _day(e.t0),
                _day(self.entry_dates.get((e.beneficiary_id, e.t0))),
                _day(orientation_rdv[0]),
                attendances.get(orientation_rdv[1], ""),
                _day(e.oriented_on),
                e.pathway or "",
                PATHWAY_CODES.get(e.pathway, "") if e.oriented_on else "",
                _day(e.referent_on),
                _day(e.contract_on),
                _day(number_on[1]) if number_on else "",
                SEPARATOR.join(barriers),
                SEPARATOR.join(code for code in barriers.values() if code),
                SEPARATOR.join(accompaniment_days),
                services,
                count,
                hours,
                *self._employability(e.beneficiary_id, e.t0),
            ]


def annex4_export(departement, start, end, *, base=None):
    """Le fichier de la période pour ``departement`` ; ``base`` : les personnes que l'utilisateur voit."""
    return Annex4Export(beneficiary_scope(departement=departement, base=base), start, end)


def record_export(export, *, user=None, view="", departement=None, request=None):
    """Inscrit l'export au journal d'accès : une entrée par personne (avec l'adresse IP et la page de
    ``request`` pour un téléchargement). Renvoie le nombre d'entrées."""
    from parcours.audit.services import record_many

    where = f" ({departement.name})" if departement is not None else ""
    return record_many(
        export.audit_entries(),
        user=user,
        view=view,
        request=request,
        reason=(
            f"Fichier de partage de données annexe 4 (France Travail){where}, "
            f"cohorte du {export.start:%d/%m/%Y} au {export.end:%d/%m/%Y}."
        ),
    )
