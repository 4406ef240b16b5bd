"""Le parcours d'une personne raconté : la frise du journal écrite en phrases, l'étape du parcours et la
prochaine échéance, pour l'en-tête de la fiche.

Les phrases sont déclarées une fois par type d'événement (``SENTENCES``) avec les clés déclarées de leur charge
(``parcours.journal.payload``) : ``{clé}`` est remplacé par la valeur lisible de la clé (libellé, date
française, nom de l'agent ou de l'organisation) ; un passage entre crochets ``[ … ]`` n'est écrit que si toutes
ses clés ont une valeur. Les clés de la charge que la phrase ne dit pas restent en détail sous la phrase
(identifiants internes exclus). Les noms (agents, organisations, organisation d'une décision d'orientation) sont
lus en une requête par sorte pour toute la frise.

Ce module lit plusieurs applications métier (journal, orientation, accompagnement) : il vit dans la couche web,
qu'aucune application n'importe, et n'écrit rien.
"""

import datetime
import functools
import re
import string
from dataclasses import dataclass

from django.db import connections
from django.db.models import CharField, F, Value
from django.utils import timezone
from django.utils.module_loading import import_string

from parcours.accounts.models import Membership, Organisation, User
from parcours.core.text import lower_first
from parcours.journal.kinds import EventKind
from parcours.journal.payload import DATE, DATETIME, ORGANISATION, SCHEMAS, USER, Payload

K = EventKind
P = Payload

# Organisation d'une décision d'orientation (lue dans la décision, absente de la charge).
DECISION_ORGANISATION = "decision_organisation"

SENTENCES = {
    K.PERSON_CREATED: "Dossier créé",
    K.RIGHT_OPENED: "Droit RSA ouvert[ le {opened_on}][ ({state})]",
    K.RIGHT_STATE_CHANGED: "{state}[ (auparavant : {previous_state})]",
    K.RIGHT_CLOSED: "Droit RSA clos[ ({closure_reason})]",
    K.BECAME_SDD: "Soumis aux droits et devoirs",
    K.LEFT_SDD: "N'est plus soumis aux droits et devoirs",
    K.NEW_ENTRANT: "Nouvel entrant dans le RSA : début du délai d'orientation (T0) le {t0}",
    K.CONTACT_UPDATED: "Coordonnées mises à jour[ : {fields}]",
    K.FOLLOW_UP_OPENED: "Suivi ouvert par {organisation_id}[ avec {referent_id} pour référent]",
    K.FOLLOW_UP_CLOSED: "Suivi clos[ par {organisation_id}] : {reason}",
    K.INVITATION_CREATED: "Invitation préparée[ (convocation : {convocation})] — {channel}",
    K.INVITED: "Invitation envoyée — {channel}[ (convocation : {convocation})]",
    K.INVITATION_REMINDED: "Relance de l'invitation envoyée — {channel}",
    K.INVITATION_DELIVERED: "Invitation distribuée — {channel}",
    K.INVITATION_FAILED: "Échec de l'envoi de l'invitation — {channel}[ : {reason}]",
    K.INVITATION_ANSWERED: "Rendez-vous pris en réponse à l'invitation — {channel}",
    K.INVITATION_EXPIRED: "Invitation expirée sans réponse — {channel}",
    K.APPOINTMENT_PLANNED: "Rendez-vous fixé le {starts_at} : {kind}[ avec {organisations}]",
    K.APPOINTMENT_HELD: "Rendez-vous honoré : {appointment_kind}",
    K.APPOINTMENT_EXCUSED: "Absence excusée au rendez-vous : {appointment_kind}",
    K.APPOINTMENT_NO_SHOW: "Absence non excusée au rendez-vous : {appointment_kind}",
    K.APPOINTMENT_CANCELLED: "Rendez-vous annulé : {appointment_kind}",
    K.APPOINTMENT_ATTENDANCE_CORRECTED: "Présence corrigée au rendez-vous : {appointment_kind}",
    K.ORIENTATION_DECIDED: "Orientation décidée[ vers {decision_organisation}] (parcours {pathway})",
    K.ORIENTED: "Orientation[ vers {decision_organisation}] (parcours {pathway}) notifiée",
    K.REORIENTED: "Réorientation[ vers {decision_organisation}] (parcours {pathway}) notifiée",
    K.ORIENTATION_CANCELLED: "Orientation annulée : {reason}",
    K.ORIENTATION_EXEMPTED: "Dispense d'orientation[ jusqu'au {ends_on}] : {reason}",
    K.ORIENTATION_EXEMPTION_ENDED: "Fin de la dispense d'orientation",
    K.REORIENTATION_REQUESTED: "Réorientation demandée[ vers {organisation_id}][ (parcours {pathway})]",
    K.REORIENTATION_ACCEPTED: "Demande de réorientation acceptée[ : {reason}]",
    K.REORIENTATION_REFUSED: "Demande de réorientation refusée[ : {reason}]",
    K.REFERENT_ASSIGNED: "Référent désigné : {referent_id}[ (à la suite de {previous_referent_id})]",
    K.REFERENT_ENDED: "Fin de la désignation de {referent_id} comme référent[ : {reason}]",
    K.DIAGNOSED: "Diagnostic partagé enregistré (version {version})[ — thèmes : {themes}]",
    K.BARRIER_LIFTED: "Frein périphérique levé au diagnostic (version {version}) : {themes}",
    K.CONTRACT_SIGNED: "{contract_kind} signé[ : {weekly_hours} h par semaine][, révision le {review_on}]",
    K.CONTRACT_ENDED: "{contract_kind} terminé : {reason}",
    K.ACTIVITY_PLANNED: "Activité planifiée : {activity_kind}, {weekly_hours} h par semaine pendant {weeks} semaines",
    K.ACTIVITY_STARTED: "Activité commencée[ ({actual_hours} h réalisées)]",
    K.ACTIVITY_STATUS_CHANGED: "Activité : {from_status} → {to_status}[ ({actual_hours} h réalisées)]",
    K.HOURS_ADJUSTED: "Durée hebdomadaire adaptée : {adjustment_kind}, objectif {target_hours} h jusqu'au {ends_on}",
    K.REVIEW_PLANNED: "{review_kind} prévue pour le {due_on}",
    K.REVIEW_HELD: "{review_kind} tenue",
    K.SANCTION_STEP: "Procédure de suspension-remobilisation : {to_status}[ — {reason}]",
    K.SANCTION_NOTICE: "Mesure pour l'organisme payeur[ ({organism})] : {measure} — {status}[ : {reason}]",
    K.EXITED: "Sortie de l'accompagnement : {reason}",
    K.EMPLOYMENT_CHECKED: "Suivi dans l'emploi vérifié",
    K.PRESCRIPTION_SENT: "Prescription envoyée vers « {service_name} » ({structure_name})",
    K.PRESCRIPTION_ACCEPTED: "Prescription vers « {service_name} » ({structure_name}) acceptée",
    K.PRESCRIPTION_REFUSED: "Prescription vers « {service_name} » ({structure_name}) refusée : {reason}",
    K.PRESCRIPTION_EXPIRED: "Prescription vers « {service_name} » ({structure_name}) expirée sans réponse",
}

_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def placeholders(template):
    """Les clés citées par une phrase (``{clé}``)."""
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


# --- valeurs lisibles -----------------------------------------------------------------------------------


def code_label(list_name, code):
    """Libellé d'un code CNAF (motif de suspension, de clôture…), ou le code seul s'il est inconnu."""
    if not code:
        return ""
    try:
        from parcours.intake.codes import label
    except ImportError:
        return code
    try:
        text = label(list_name, code)
    except (LookupError, ValueError):
        return code
    return f"{text} ({code})" if text and text != code else code


@functools.cache
def _choice_labels(path):
    """{valeur: libellé} d'un ``TextChoices`` désigné par son chemin (déclaration de la clé)."""
    try:
        return dict(import_string(path).choices)
    except (ImportError, AttributeError):
        return {}


def fr_value(key, value, values_path, names):
    """Valeur d'une clé déclarée, lisible : oui/non, date française, libellé, nom d'un agent ou d'une
    organisation (``names`` : {sorte: {id: nom}})."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(fr_value(key, item, values_path, names) for item in value)
    if key.ref is not None and isinstance(value, int):
        return names.get(key.ref, {}).get(value, f"n° {value}")
    if key.name.endswith("_id") and isinstance(value, int):
        return f"n° {value}"
    text = str(value)
    if key.choices is not None:
        return key.choices.get(text, text)
    if values_path:
        return _choice_labels(values_path).get(text, text)
    if key.codes:
        return code_label(key.codes, text)
    if key.type == DATE and ISO_DATE.match(text):
        return datetime.date.fromisoformat(text).strftime("%d/%m/%Y")
    if key.type == DATETIME:
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return text
        return f"{moment:%d/%m/%Y à %H:%M}"
    if key.type == "decimal":
        return text.replace(".", ",").removesuffix(",0")
    return text


def _referenced_ids(events):
    """{sorte: {identifiants}} des agents et organisations cités par les charges (clés ``ref``), et les
    décisions d'orientation citées."""
    ids = {USER: set(), ORGANISATION: set(), DECISION_ORGANISATION: set()}
    for event in events:
        schema = SCHEMAS.get(event.kind)
        if schema is None:
            continue
        data = event.data
        for key in schema.keys:
            if data.get(key) is None:
                continue
            if key == P.DECISION_ID and isinstance(data[key], int):
                ids[DECISION_ORGANISATION].add(data[key])
            if key.ref is None:
                continue
            values = data[key] if isinstance(data[key], list) else [data[key]]
            ids[key.ref].update(v for v in values if isinstance(v, int))
    return ids


def referenced_names(events):
    """Noms des agents, des organisations et des organisations des décisions d'orientation cités par les
    événements : une requête au plus (l'union des trois sortes), quel que soit le nombre de sortes citées."""
    from parcours.orientation.models import OrientationDecision

    ids = _referenced_ids(events)
    names = {USER: {}, ORGANISATION: {}, DECISION_ORGANISATION: {}}

    def text(value):
        return Value(value, output_field=CharField())

    # Chaque partie rend (sorte, identifiant, trois textes) ; un agent est nommé par ``User.__str__``.
    sources = {
        USER: User.objects.annotate(ref_a=F("first_name"), ref_b=F("last_name"), ref_c=F("email")),
        ORGANISATION: Organisation.objects.annotate(ref_a=F("name"), ref_b=text(""), ref_c=text("")),
        DECISION_ORGANISATION: OrientationDecision.objects.filter(organisation__isnull=False).annotate(
            ref_a=F("organisation__name"), ref_b=text(""), ref_c=text("")
        ),
    }
    parts = [
        queryset.filter(pk__in=ids[kind])
        .annotate(ref_kind=text(kind), ref_id=F("pk"))
        .values_list("ref_kind", "ref_id", "ref_a", "ref_b", "ref_c")
        .order_by()
        for kind, queryset in sources.items()
        if ids[kind]
    ]
    if not parts:
        return names
    for kind, pk, a, b, c in parts[0].union(*parts[1:], all=True):
        names[kind][pk] = str(User(first_name=a, last_name=b, email=c)) if kind == USER else a
    return names


# --- phrases --------------------------------------------------------------------------------------------


def _values(event, names):
    """{clé: valeur lisible} des clés renseignées de la charge, et l'organisation de la décision citée."""
    schema = SCHEMAS.get(event.kind)
    data = event.data
    values = {}
    if schema is not None:
        for key in schema.keys:
            if data.get(key) is None or data.get(key) == "":
                continue
            values[key.name] = fr_value(key, data[key], schema.values_of(key), names)
    decision = data.get(P.DECISION_ID)
    organisation = names.get(DECISION_ORGANISATION, {}).get(decision)
    if organisation:
        values[DECISION_ORGANISATION] = organisation
    return values


def _fill(template, values):
    """La phrase, ses passages facultatifs écrits seulement si toutes leurs clés ont une valeur."""

    def optional(match):
        part = match.group(1)
        return part if placeholders(part) <= values.keys() else ""

    text = _OPTIONAL.sub(optional, template)
    missing = placeholders(text) - values.keys()
    filled = {**dict.fromkeys(missing, "—"), **values}
    sentence = text.format(**filled)
    return sentence[:1].upper() + sentence[1:]


def sentence(event, names=None):
    """La phrase d'un événement (« Orientation vers France Travail Redon (parcours emploi) notifiée »), ou son
    libellé si aucune phrase n'est déclarée."""
    template = SENTENCES.get(event.kind)
    if template is None:
        return event.get_kind_display()
    values = _values(event, names or {})
    # Au milieu d'une phrase, les libellés de valeurs (listes de choix) s'écrivent en minuscule (« parcours
    # emploi ») ; les noms propres (agents, organisations) et les textes libres restent tels quels.
    schema = SCHEMAS.get(event.kind)
    labelled = {key.name for key in schema.keys if key.choices or schema.values_of(key)} if schema else set()
    mid = {
        name: lower_first(value) if name in labelled and not template.startswith("{" + name + "}") else value
        for name, value in values.items()
    }
    return _fill(template, mid)


def _labelled(event, names, shown):
    """« Libellé : valeur » des clés déclarées de la charge que ``shown(clé, valeur)`` retient, dans l'ordre de
    la déclaration, puis les clés non déclarées d'un événement ancien, telles quelles."""
    data = event.data
    schema = SCHEMAS.get(event.kind)
    declared = schema.keys if schema else ()
    for key in declared:
        if data.get(key) is not None and shown(key, data[key]):
            yield f"{key.label} : {fr_value(key, data[key], schema.values_of(key), names)}"
    for name, value in data.items():
        if name not in declared and value not in (None, ""):
            yield f"{name.replace('_', ' ')} : {value}"


def details(event, names=None):
    """Les clés de la charge que la phrase ne dit pas (« Motif : … · Canal : … »), identifiants internes
    exclus (numéros sans rien à lire pour l'agent) ; les clés non déclarées d'un événement ancien sont montrées
    telles quelles."""
    said = placeholders(SENTENCES.get(event.kind, ""))

    def shown(key, value):
        internal = key.name.endswith("_id") and key.ref is None
        return value != "" and key.name not in said and not internal

    return " · ".join(_labelled(event, names or {}, shown))


@dataclass
class Line:
    """Une ligne de la frise."""

    event: object
    sentence: str
    details: str
    author: str  # « par Yann Morvan (France Travail Redon) », « import « flux.csv » », ou vide


def _author(event, members):
    """« par Yann Morvan (Département …) » : l'organisation de l'événement n'est dite après l'agent que s'il en
    est membre — sur une orientation ou une désignation, c'est l'organisation visée, non celle de l'agent."""
    if event.actor_id:
        who = f"par {event.actor}"
        if event.organisation_id and (event.actor_id, event.organisation_id) in members:
            who += f" ({event.organisation.name})"
        return who
    if event.batch_id:
        return f"par l'import du flux « {event.batch.filename} »"
    if event.organisation_id:
        return f"par {event.organisation.name}"
    return ""


def timeline(events):
    """La frise d'une personne : une ``Line`` par événement, dans l'ordre reçu. Les événements doivent avoir
    ``actor``, ``organisation`` et ``batch`` chargés (``select_related``) ; les noms cités sont lus en une
    requête par sorte."""
    events = list(events)
    names = referenced_names(events)
    pairs = {(e.actor_id, e.organisation_id) for e in events if e.actor_id and e.organisation_id}
    members = set()
    if pairs:
        members = set(
            Membership.objects.filter(
                user_id__in={a for a, _ in pairs}, organisation_id__in={o for _, o in pairs}
            ).values_list("user_id", "organisation_id")
        )
    return [
        Line(event, sentence(event, names), details(event, names), _author(event, members))
        for event in events
    ]


# --- étape du parcours et prochaine échéance --------------------------------------------------------------


@dataclass
class Deadline:
    on: datetime.date
    label: str
    overdue: bool = False  # passée au jour de la situation (``situation(…, today)``)


@dataclass
class Situation:
    """En-tête de la fiche : où en est la personne, et ce qui vient ensuite."""

    stage: str
    detail: str
    deadlines: list  # ``Deadline``, la plus proche d'abord

    @property
    def next(self):
        return self.deadlines[0] if self.deadlines else None


def situation(beneficiary, today=None):
    """L'étape du parcours lue dans les tables d'état (droit, orientation, contrat, sortie) et les échéances
    à venir (délai d'orientation, signature du contrat, révision, revue, rendez-vous). Cinq requêtes au plus
    (celles de ``situations`` pour une personne)."""
    return situations([beneficiary], today)[beneficiary.pk]


def _first_by_person(queryset, ids):
    """{identifiant de la personne: première ligne de ``queryset`` (dans son ordre, qui commence par la
    personne)} pour les personnes ``ids`` (une requête pour toutes). PostgreSQL ne renvoie que cette première
    ligne (``DISTINCT ON``) : un portefeuille de 400 personnes lisait sinon toutes leurs revues, décisions et
    sorties passées pour n'en garder qu'une."""
    queryset = queryset.filter(beneficiary_id__in=ids)
    if connections[queryset.db].features.can_distinct_on_fields:
        queryset = queryset.distinct("beneficiary_id")
    found = {}
    for row in queryset:
        found.setdefault(row.beneficiary_id, row)
    return found


# Ce que ``situations`` lit sur chaque personne et son Département (``_situation_of`` : état du droit, T0, délais
# du Département) ; une liste qui ne montre que le nom peut ne charger que cela (``people_for_situations``).
SITUATION_FIELDS = ("rsa_state", "new_entrant_t0", "departement__delay_overrides")


def people_for_situations(people):
    """``people`` avec son Département, réduit au nom et à ``SITUATION_FIELDS`` : une liste de quelques centaines
    de personnes sans leurs autres colonnes (adresse, coordonnées, NIR chiffré…)."""
    return people.select_related("departement").only("first_name", "last_name", *SITUATION_FIELDS)


def situations(beneficiaries, today=None):
    """``{identifiant: Situation}`` de plusieurs personnes (la règle de ``situation``, écrite une fois) : cinq
    requêtes quel que soit leur nombre (décisions, contrats, sorties, revues, rendez-vous), pour les listes
    (« mes personnes » de l'accueil). Le Département de chaque personne doit être chargé (``select_related``)
    pour ne pas coûter une requête par personne."""
    from parcours.accompaniment.models import Contract, ContractStatus, Exit, Review, ReviewStatus
    from parcours.orientation.models import Appointment, Attendance, DecisionStatus, OrientationDecision

    today = today or timezone.localdate()
    people = list(beneficiaries)
    if not people:
        return {}
    ids = sorted({person.pk for person in people})
    decisions = _first_by_person(
        OrientationDecision.objects.filter(is_current=True)
        .exclude(status=DecisionStatus.CANCELLED)
        .select_related("organisation")
        .order_by("beneficiary_id", "-decided_on", "-pk"),
        ids,
    )
    contracts = _first_by_person(
        Contract.objects.filter(status=ContractStatus.SIGNED).order_by("beneficiary_id", "-signed_on", "-pk"),
        ids,
    )
    exits = _first_by_person(Exit.objects.order_by("beneficiary_id", "-exited_on", "-pk"), ids)
    reviews = _first_by_person(
        Review.objects.filter(status=ReviewStatus.PLANNED).order_by("beneficiary_id", "due_on", "pk"), ids
    )
    appointments = _first_by_person(
        Appointment.objects.filter(attendance=Attendance.PLANNED, starts_at__date__gte=today).order_by(
            "beneficiary_id", "starts_at", "pk"
        ),
        ids,
    )
    return {
        person.pk: _situation_of(
            person,
            today,
            decision=decisions.get(person.pk),
            contract=contracts.get(person.pk),
            last_exit=exits.get(person.pk),
            review=reviews.get(person.pk),
            appointment=appointments.get(person.pk),
        )
        for person in people
    }


def _situation_of(beneficiary, today, *, decision, contract, last_exit, review, appointment):
    """La situation d'une personne à partir de ses lignes d'état déjà lues (aucune requête)."""
    from parcours.accompaniment.services import contract_deadline
    from parcours.beneficiaries.models import CLOSED_STATES
    from parcours.orientation.models import DecisionStatus
    from parcours.orientation.queues import deadlines as orientation_deadlines

    departement = beneficiary.departement
    t0 = beneficiary.new_entrant_t0
    found = []
    oriented_since_t0 = (
        decision is not None
        and decision.status == DecisionStatus.NOTIFIED
        and (t0 is None or decision.decided_on >= t0)
    )
    where = f" vers {decision.organisation.name}" if decision and decision.organisation_id else ""

    if beneficiary.rsa_state in CLOSED_STATES:
        stage, detail = "Droit RSA clos", "Plus d'orientation ni d'accompagnement à mener au titre du RSA."
    elif last_exit and (
        contract is None or (contract.signed_on or last_exit.exited_on) <= last_exit.exited_on
    ):
        stage = "Sorti de l'accompagnement"
        detail = f"{last_exit.get_reason_display()} le {last_exit.exited_on:%d/%m/%Y}."
    elif contract is not None:
        stage = "Contrat d'engagement signé"
        hours = (
            f", {fr_value(P.WEEKLY_HOURS, str(contract.weekly_hours), None, {})} h par semaine"
            if contract.weekly_hours is not None
            else ""
        )
        detail = (
            f"{contract.get_kind_display()} signé le {contract.signed_on:%d/%m/%Y}{hours}."
            if contract.signed_on
            else contract.get_kind_display()
        )
        if contract.review_on:
            found.append(Deadline(contract.review_on, "révision du contrat"))
    elif oriented_since_t0:
        stage = f"Orienté{where} (parcours {lower_first(decision.get_pathway_display())})"
        notified = decision.notified_on or decision.decided_on
        detail = f"Orientation notifiée le {notified:%d/%m/%Y} ; contrat d'engagement à signer."
        found.append(Deadline(contract_deadline(notified, departement), "signature du contrat d'engagement"))
    elif decision is not None and decision.status == DecisionStatus.DECIDED:
        stage = f"Orientation décidée{where}, à notifier"
        detail = f"Décidée le {decision.decided_on:%d/%m/%Y} (parcours {lower_first(decision.get_pathway_display())})."
    elif t0 is not None:
        stage = "Nouvel entrant à orienter"
        detail = f"Entré dans le RSA (T0) le {t0:%d/%m/%Y}."
    else:
        stage, detail = "Allocataire du RSA", "Aucune orientation en cours depuis l'ouverture du droit."

    if t0 is not None and not oriented_since_t0 and beneficiary.rsa_state not in CLOSED_STATES:
        target, legal = orientation_deadlines(t0, departement)
        if target >= today:
            found.append(Deadline(target, "orientation dans l'objectif de 15 jours"))
        found.append(Deadline(legal, "délai légal d'orientation"))
    if review is not None:
        found.append(Deadline(review.due_on, review.get_kind_display().lower()))
    if appointment is not None:
        moment = timezone.localtime(appointment.starts_at)
        found.append(
            Deadline(
                moment.date(),
                f"rendez-vous ({lower_first(appointment.get_kind_display())}) à {moment:%H:%M}",
            )
        )
    for deadline in found:
        deadline.overdue = deadline.on < today
    found.sort(key=lambda deadline: deadline.on)
    return Situation(stage, detail, found)


# --- le foyer ---------------------------------------------------------------------------------------------------


@dataclass
class HouseholdStory:
    """Le bloc « Foyer » de la fiche : la composition en vigueur selon les flux, le plafond des sanctions et les
    changements de composition (les plus récents d'abord)."""

    view: object  # beneficiaries.household.HouseholdView
    changes: list
    cap_percent: int


def household(beneficiary, today=None):
    """La composition du foyer de la personne aujourd'hui (``beneficiaries.household``) et son historique ; deux
    requêtes au plus, quel que soit le nombre de personnes ou de changements (au plus 12 affichés)."""
    from parcours.beneficiaries.household import HouseholdView, history
    from parcours.core.delays import get_delay

    today = today or timezone.localdate()
    changes = history(beneficiary.household_id)
    current = next((c for c in changes if c.valid_from <= today), None)
    members = 1
    if current is None and beneficiary.household_id:
        members = beneficiary.household.members.count()
    return HouseholdStory(
        view=HouseholdView(composition=current, members=members, on=today),
        changes=changes,
        cap_percent=get_delay("sanction_household_cap_percent", beneficiary.departement),
    )
