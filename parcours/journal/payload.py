"""La charge (``Event.payload``) de chaque type d'événement : déclarée une fois, ici.

Une **clé** (``Key``) a un nom anglais, un type et un libellé français (affiché par la frise du parcours) ;
c'est une chaîne : on l'écrit telle quelle dans une requête (``KeyTextTransform(Payload.DECISION_ID,
"payload")``, ``payload[Payload.PATHWAY]``). Une clé a le même type et le même sens dans tous les types
d'événements. Une **déclaration** (``Schema``) dit, pour un type, les clés obligatoires et facultatives.

Les écrivains passent par ``parcours.journal.services.record`` (ou ``build``) qui vérifie la charge contre ces
déclarations ; les lecteurs (indicateurs, exports, webhooks, frise) lisent les clés par ces constantes,
jamais par des chaînes recopiées.

Types des valeurs (tels que stockés en JSON) : ``int``, ``str``, ``bool``, ``date`` (chaîne ISO
``AAAA-MM-JJ``), ``datetime`` (chaîne ISO), ``decimal`` (nombre écrit en chaîne, « 15.5 »), ``list[int]``,
``list[str]``.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

from .kinds import EventKind

INT = "int"
STR = "str"
BOOL = "bool"
DATE = "date"
DATETIME = "datetime"
DECIMAL = "decimal"
LIST_INT = "list[int]"
LIST_STR = "list[str]"
TYPES = frozenset({INT, STR, BOOL, DATE, DATETIME, DECIMAL, LIST_INT, LIST_STR})

# Ce que désigne un identifiant (la frise en affiche le nom, une requête par sorte d'objet).
USER = "user"
ORGANISATION = "organisation"


class Key(str):
    """Une clé de charge : son nom (la chaîne elle-même), son type, son libellé français.

    ``ref`` : ``"user"`` ou ``"organisation"`` pour un identifiant dont la frise affiche le nom.
    ``choices`` : valeurs permises (et leur libellé), vérifiées à l'écriture.
    ``values`` : chemin d'un ``TextChoices`` qui donne le libellé des valeurs (affichage seulement ; importé
    à la demande, pour que le journal ne dépende d'aucune application métier).
    ``codes`` : liste de codes CNAF (``parcours.intake.codes``) qui donne le libellé des valeurs.
    """

    def __new__(cls, name, type, label, *, ref=None, choices=None, values=None, codes=None):  # noqa: A002
        if type not in TYPES:
            raise ValueError(f"Clé « {name} » : type inconnu « {type} ».")
        key = super().__new__(cls, name)
        key.type = type
        key.label = label
        key.ref = ref
        key.choices = MappingProxyType(dict(choices)) if choices else None
        key.values = values
        key.codes = codes
        return key

    @property
    def name(self):
        return str.__str__(self)

    def __repr__(self):
        return f"Key({self.name!r}, {self.type!r})"

    def __reduce__(self):
        return (str, (self.name,))


class Payload:
    """Les clés de charge, une constante par clé (noms anglais, une seule langue)."""

    # Droit et flux (import)
    STATE = Key("state", STR, "État du droit", values="parcours.beneficiaries.models.RightState")
    PREVIOUS_STATE = Key(
        "previous_state", STR, "État précédent", values="parcours.beneficiaries.models.RightState"
    )
    SUSPENSION_REASON = Key("suspension_reason", STR, "Motif de suspension", codes="MOTISUSVERSRSA")
    CLOSURE_REASON = Key("closure_reason", STR, "Motif de clôture", codes="MOTICLORSA")
    OPENED_ON = Key("opened_on", DATE, "Droit ouvert le")
    T0 = Key("t0", DATE, "T0")
    REFERENCE_DATE = Key("reference_date", DATE, "Date de référence du flux")
    CNAF_NEW_ENTRANT = Key("cnaf_new_entrant", BOOL, "Nouvel entrant selon la CNAF")
    FIELDS = Key("fields", LIST_STR, "Champs mis à jour")
    # Suivi, organisations, référents
    ORGANISATION_ID = Key("organisation_id", INT, "Organisation", ref=ORGANISATION)
    ORGANISATIONS = Key("organisations", LIST_INT, "Organisations", ref=ORGANISATION)
    REFERENT_ID = Key("referent_id", INT, "Référent", ref=USER)
    PREVIOUS_REFERENT_ID = Key("previous_referent_id", INT, "Référent précédent", ref=USER)
    CAUSE = Key(
        "cause",
        STR,
        "Ouvert par",
        choices={
            "orientation": "Orientation notifiée",
            "referent": "Référent désigné",
            "import": "Reprise d'un autre logiciel",
        },
    )
    END_CAUSE = Key("end_cause", STR, "Cause de la fin", values="parcours.beneficiaries.models.FollowUpEnd")
    ASSIGNMENT_ID = Key("assignment_id", INT, "Désignation")
    TRANSFER = Key("transfer", BOOL, "Transfert")
    OVER_CAP = Key("over_cap", BOOL, "Au-delà du plafond du portefeuille")
    # Génériques
    REASON = Key("reason", STR, "Motif")
    FROM_STATUS = Key("from_status", STR, "Statut précédent")
    TO_STATUS = Key("to_status", STR, "Nouveau statut")
    STATUS = Key("status", STR, "Statut")
    ENDS_ON = Key("ends_on", DATE, "Fin")
    STARTS_ON = Key("starts_on", DATE, "Début")
    DUE_ON = Key("due_on", DATE, "Échéance")
    WEEKLY_HOURS = Key("weekly_hours", DECIMAL, "Heures par semaine")
    WEEKS = Key("weeks", INT, "Nombre de semaines")
    DURATION_MONTHS = Key("duration_months", INT, "Durée (mois)")
    # Invitations et rendez-vous
    INVITATION_ID = Key("invitation_id", INT, "Invitation")
    CHANNEL = Key("channel", STR, "Canal", values="parcours.orientation.models.Channel")
    CONVOCATION = Key("convocation", BOOL, "Convocation")
    REFERENCE = Key("reference", STR, "Référence de l'envoi")
    APPOINTMENT_ID = Key("appointment_id", INT, "Rendez-vous")
    KIND = Key("kind", STR, "Type", values="parcours.orientation.models.AppointmentKind")
    APPOINTMENT_KIND = Key(
        "appointment_kind", STR, "Type de rendez-vous", values="parcours.orientation.models.AppointmentKind"
    )
    STARTS_AT = Key("starts_at", DATETIME, "Le")
    FROM_ATTENDANCE = Key(
        "from_attendance", STR, "Présence précédente", values="parcours.orientation.models.Attendance"
    )
    # Orientation
    DECISION_ID = Key("decision_id", INT, "Décision d'orientation")
    PREVIOUS_DECISION_ID = Key("previous_decision_id", INT, "Décision précédente")
    PATHWAY = Key("pathway", STR, "Parcours", values="parcours.orientation.models.Pathway")
    CODE = Key("code", STR, "Code France Travail")
    DECIDED_ON = Key("decided_on", DATE, "Décidée le")
    REORIENTATION = Key("reorientation", BOOL, "Réorientation")
    EXEMPTION_ID = Key("exemption_id", INT, "Dispense")
    REQUEST_ID = Key("request_id", INT, "Demande de réorientation")
    # Diagnostic et contrat
    VERSION = Key("version", INT, "Version")
    THEMES = Key("themes", LIST_STR, "Thèmes")
    JOINT = Key("joint", BOOL, "Avec le conjoint")
    CONTRACT_ID = Key("contract_id", INT, "Contrat")
    CONTRACT_KIND = Key(
        "contract_kind", STR, "Type de contrat", values="parcours.accompaniment.models.ContractKind"
    )
    INTENSITY = Key("intensity", STR, "Intensité", values="parcours.accompaniment.models.Intensity")
    REVIEW_ON = Key("review_on", DATE, "Révision prévue le")
    # Activités et durée hebdomadaire
    ACTIVITY_ID = Key("activity_id", INT, "Activité")
    ACTIVITY_KIND = Key(
        "activity_kind", STR, "Type d'activité", values="parcours.accompaniment.models.ActivityKind"
    )
    SERVICE_ID = Key("service_id", INT, "Service du catalogue")
    ACTUAL_HOURS = Key("actual_hours", DECIMAL, "Heures réalisées")
    ADJUSTMENT_KIND = Key(
        "adjustment_kind", STR, "Adaptation", values="parcours.accompaniment.models.HoursTargetKind"
    )
    TARGET_HOURS = Key("target_hours", DECIMAL, "Objectif hebdomadaire (heures)")
    # Revues
    REVIEW_ID = Key("review_id", INT, "Revue")
    REVIEW_KIND = Key("review_kind", STR, "Type de revue", values="parcours.accompaniment.models.ReviewKind")
    DECISIONS = Key("decisions", STR, "Décisions")
    # Sanctions
    CASE_ID = Key("case_id", INT, "Procédure")
    GROUND = Key("ground", STR, "Manquement", values="parcours.accompaniment.models.SanctionGround")
    SESSION_ID = Key("session_id", INT, "Séance de l'équipe pluridisciplinaire")
    PROPOSED_DECISION = Key(
        "proposed_decision", STR, "Sanction proposée", values="parcours.accompaniment.models.SanctionDecision"
    )
    DECISION = Key("decision", STR, "Décision", values="parcours.accompaniment.models.SanctionDecision")
    REDUCTION_PERCENT = Key("reduction_percent", INT, "Taux de réduction (%)")
    REPAID_AMOUNT = Key("repaid_amount", DECIMAL, "Sommes restituées (€)")
    FAVOURABLE = Key("favourable", BOOL, "Avis favorable à la sanction envisagée")
    NOTICE_ID = Key("notice_id", INT, "Mesure transmise à l'organisme payeur")
    MEASURE = Key(
        "measure", STR, "Nature de la mesure", values="parcours.accompaniment.models.SanctionMeasure"
    )
    ORGANISM = Key("organism", STR, "Organisme payeur")
    # Sorties et emploi
    EXIT_ID = Key("exit_id", INT, "Sortie")
    CONTRACT_TYPE = Key(
        "contract_type", STR, "Contrat de travail", values="parcours.accompaniment.models.EmploymentContract"
    )
    DURABLE = Key("durable", BOOL, "Emploi durable")
    STILL_EMPLOYED = Key("still_employed", BOOL, "En emploi")
    SIX_MONTH = Key("six_month", BOOL, "Vérification à 6 mois")
    # Prescriptions
    PRESCRIPTION_ID = Key("prescription_id", INT, "Prescription")
    SERVICE_DI_ID = Key("service_di_id", STR, "Identifiant data·inclusion du service")
    SERVICE_NAME = Key("service_name", STR, "Service")
    STRUCTURE_NAME = Key("structure_name", STR, "Structure")


def _declared_keys():
    keys = {}
    for attribute, key in vars(Payload).items():
        if isinstance(key, Key):
            if key in keys:
                raise ValueError(f"Clé « {key} » déclarée deux fois (Payload.{attribute}).")
            keys[key] = key
    return MappingProxyType(keys)


KEYS = _declared_keys()


@dataclass(frozen=True)
class Schema:
    """La charge d'un type d'événement : clés obligatoires, clés facultatives, libellé des valeurs.

    ``values`` : {clé: chemin d'un ``TextChoices``} quand le libellé des valeurs dépend du type d'événement
    (« statut » d'une activité, d'une procédure, d'une prescription…) ; sinon celui de la clé.
    """

    required: tuple = ()
    optional: tuple = ()
    values: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        for key in (*self.required, *self.optional, *self.values):
            if not isinstance(key, Key) or KEYS.get(key) is not key:
                raise ValueError(f"Déclaration de charge : « {key} » n'est pas une clé de ``Payload``.")
        if set(self.required) & set(self.optional):
            raise ValueError("Déclaration de charge : une clé est à la fois obligatoire et facultative.")

    @property
    def keys(self):
        """Toutes les clés permises, dans l'ordre d'affichage (obligatoires puis facultatives)."""
        return (*self.required, *self.optional)

    def key(self, name):
        """La clé ``name`` si elle est déclarée pour ce type, sinon None."""
        return next((key for key in self.keys if key == name), None)

    def values_of(self, key):
        """Chemin du ``TextChoices`` qui donne le libellé des valeurs de ``key`` (ou None)."""
        return self.values.get(key) or key.values


P = Payload
ACCOMPANIMENT = "parcours.accompaniment.models"
ORIENTATION = "parcours.orientation.models"
CATALOGUE = "parcours.catalogue.models"

_RIGHT = Schema(
    required=(P.STATE,),
    optional=(P.PREVIOUS_STATE, P.SUSPENSION_REASON, P.CLOSURE_REASON, P.OPENED_ON),
)
_INVITATION = Schema(
    required=(P.INVITATION_ID, P.CHANNEL),
    optional=(P.CONVOCATION, P.FROM_STATUS, P.REASON),
    values={P.FROM_STATUS: f"{ORIENTATION}.InvitationStatus"},
)
_ATTENDANCE = Schema(required=(P.APPOINTMENT_ID, P.APPOINTMENT_KIND), optional=(P.FROM_ATTENDANCE,))
_ORIENTED = Schema(required=(P.DECISION_ID, P.PATHWAY), optional=(P.CODE, P.DECIDED_ON))
_REORIENTATION_DECIDED = Schema(required=(P.REQUEST_ID,), optional=(P.DECISION_ID, P.REASON))
_CONTRACT = (P.CONTRACT_ID, P.CONTRACT_KIND)
_ACTIVITY_STATUS = Schema(
    required=(P.ACTIVITY_ID, P.FROM_STATUS, P.TO_STATUS),
    optional=(P.ACTUAL_HOURS,),
    values={P.FROM_STATUS: f"{ACCOMPANIMENT}.ActivityStatus", P.TO_STATUS: f"{ACCOMPANIMENT}.ActivityStatus"},
)
_REVIEW = (P.REVIEW_ID, P.REVIEW_KIND)
_PRESCRIPTION = (P.PRESCRIPTION_ID, P.SERVICE_DI_ID, P.SERVICE_NAME, P.STRUCTURE_NAME, P.STATUS)
_PRESCRIPTION_STATUS = {P.STATUS: f"{CATALOGUE}.PrescriptionStatus"}

K = EventKind
SCHEMAS = MappingProxyType(
    {
        # Import des flux CAF/MSA
        K.PERSON_CREATED: Schema(),
        K.RIGHT_OPENED: _RIGHT,
        K.RIGHT_STATE_CHANGED: _RIGHT,
        K.RIGHT_CLOSED: _RIGHT,
        K.BECAME_SDD: Schema(),
        K.LEFT_SDD: Schema(),
        K.NEW_ENTRANT: Schema(required=(P.T0,), optional=(P.REFERENCE_DATE, P.REASON, P.CNAF_NEW_ENTRANT)),
        K.CONTACT_UPDATED: Schema(required=(P.FIELDS,)),
        # Suivi (parcours)
        K.FOLLOW_UP_OPENED: Schema(required=(P.ORGANISATION_ID, P.CAUSE), optional=(P.REFERENT_ID,)),
        K.FOLLOW_UP_CLOSED: Schema(
            required=(P.REASON,), optional=(P.ORGANISATION_ID, P.REFERENT_ID, P.END_CAUSE)
        ),
        # Orientation
        K.INVITATION_CREATED: Schema(required=(P.INVITATION_ID, P.CHANNEL), optional=(P.CONVOCATION,)),
        K.INVITED: _INVITATION,
        K.INVITATION_DELIVERED: _INVITATION,
        K.INVITATION_FAILED: _INVITATION,
        K.INVITATION_ANSWERED: _INVITATION,
        K.INVITATION_EXPIRED: _INVITATION,
        K.INVITATION_REMINDED: Schema(required=(P.INVITATION_ID, P.CHANNEL), optional=(P.REFERENCE,)),
        K.APPOINTMENT_PLANNED: Schema(
            required=(P.APPOINTMENT_ID, P.KIND, P.STARTS_AT), optional=(P.ORGANISATIONS,)
        ),
        K.APPOINTMENT_HELD: _ATTENDANCE,
        K.APPOINTMENT_EXCUSED: _ATTENDANCE,
        K.APPOINTMENT_NO_SHOW: _ATTENDANCE,
        K.APPOINTMENT_CANCELLED: _ATTENDANCE,
        K.APPOINTMENT_ATTENDANCE_CORRECTED: _ATTENDANCE,
        K.ORIENTATION_DECIDED: Schema(
            required=(P.DECISION_ID, P.PATHWAY),
            optional=(P.CODE, P.REORIENTATION, P.PREVIOUS_DECISION_ID),
        ),
        K.ORIENTED: _ORIENTED,
        K.REORIENTED: _ORIENTED,
        K.ORIENTATION_CANCELLED: Schema(required=(P.DECISION_ID, P.REASON)),
        K.ORIENTATION_EXEMPTED: Schema(
            required=(P.EXEMPTION_ID, P.REASON),
            optional=(P.ENDS_ON,),
            values={P.REASON: f"{ORIENTATION}.ExemptionReason"},
        ),
        K.ORIENTATION_EXEMPTION_ENDED: Schema(required=(P.EXEMPTION_ID,)),
        K.REORIENTATION_REQUESTED: Schema(required=(P.REQUEST_ID,), optional=(P.PATHWAY, P.ORGANISATION_ID)),
        K.REORIENTATION_ACCEPTED: _REORIENTATION_DECIDED,
        K.REORIENTATION_REFUSED: _REORIENTATION_DECIDED,
        K.REFERENT_ASSIGNED: Schema(
            required=(P.ASSIGNMENT_ID, P.REFERENT_ID),
            optional=(P.TRANSFER, P.PREVIOUS_REFERENT_ID, P.OVER_CAP),
        ),
        K.REFERENT_ENDED: Schema(required=(P.ASSIGNMENT_ID, P.REFERENT_ID), optional=(P.REASON,)),
        # Diagnostic et contrat
        K.DIAGNOSED: Schema(required=(P.VERSION, P.THEMES, P.JOINT)),
        K.BARRIER_LIFTED: Schema(required=(P.VERSION, P.THEMES)),
        K.CONTRACT_SIGNED: Schema(required=(*_CONTRACT, P.REVIEW_ON), optional=(P.WEEKLY_HOURS, P.INTENSITY)),
        K.CONTRACT_ENDED: Schema(required=(*_CONTRACT, P.REASON)),
        # Accompagnement intensif
        K.ACTIVITY_PLANNED: Schema(
            required=(P.ACTIVITY_ID, P.ACTIVITY_KIND, P.WEEKLY_HOURS, P.WEEKS), optional=(P.SERVICE_ID,)
        ),
        K.ACTIVITY_STARTED: _ACTIVITY_STATUS,
        K.ACTIVITY_STATUS_CHANGED: _ACTIVITY_STATUS,
        K.HOURS_ADJUSTED: Schema(
            required=(P.ADJUSTMENT_KIND, P.TARGET_HOURS, P.ENDS_ON),
            optional=(P.REASON,),
            values={P.REASON: f"{ACCOMPANIMENT}.HoursExemption"},
        ),
        K.REVIEW_PLANNED: Schema(required=(*_REVIEW, P.DUE_ON)),
        K.REVIEW_HELD: Schema(required=_REVIEW, optional=(P.DECISIONS,)),
        K.SANCTION_STEP: Schema(
            required=(P.CASE_ID, P.TO_STATUS, P.REASON),
            optional=(
                P.FROM_STATUS,
                P.GROUND,
                P.SESSION_ID,
                P.PROPOSED_DECISION,
                P.DECISION,
                P.REDUCTION_PERCENT,
                P.DURATION_MONTHS,
                P.REPAID_AMOUNT,
                P.FAVOURABLE,
            ),
            values={
                P.FROM_STATUS: f"{ACCOMPANIMENT}.SanctionStatus",
                P.TO_STATUS: f"{ACCOMPANIMENT}.SanctionStatus",
            },
        ),
        K.SANCTION_NOTICE: Schema(
            required=(P.NOTICE_ID, P.CASE_ID, P.MEASURE, P.STATUS),
            optional=(P.ORGANISM, P.REDUCTION_PERCENT, P.STARTS_ON, P.ENDS_ON, P.REPAID_AMOUNT, P.REASON),
            values={P.STATUS: f"{ACCOMPANIMENT}.NoticeStatus"},
        ),
        # Sorties et emploi
        K.EXITED: Schema(
            required=(P.EXIT_ID, P.REASON),
            optional=(P.CONTRACT_TYPE, P.DURATION_MONTHS, P.DURABLE),
            values={P.REASON: f"{ACCOMPANIMENT}.ExitReason"},
        ),
        K.EMPLOYMENT_CHECKED: Schema(
            required=(P.EXIT_ID, P.STILL_EMPLOYED, P.SIX_MONTH), optional=(P.DURABLE,)
        ),
        # Prescriptions
        K.PRESCRIPTION_SENT: Schema(required=_PRESCRIPTION, values=_PRESCRIPTION_STATUS),
        K.PRESCRIPTION_ACCEPTED: Schema(
            required=_PRESCRIPTION,
            optional=(P.WEEKLY_HOURS, P.WEEKS, P.STARTS_ON),
            values=_PRESCRIPTION_STATUS,
        ),
        K.PRESCRIPTION_REFUSED: Schema(
            required=(*_PRESCRIPTION, P.REASON),
            values={**_PRESCRIPTION_STATUS, P.REASON: f"{CATALOGUE}.RefusalReason"},
        ),
        K.PRESCRIPTION_EXPIRED: Schema(required=_PRESCRIPTION, values=_PRESCRIPTION_STATUS),
    }
)


# --- anciennes clés (en français) ---------------------------------------------------------------------------
# TODO bascule : les écrivains pas encore passés par ``record``/``build`` (import des flux, sorties) écrivent
# encore ces anciens noms ; la migration ``journal.0005`` renomme ceux des événements déjà enregistrés. Les
# lecteurs passent par ``normalise`` / ``queries.payload_text``, qui acceptent les deux le temps de la bascule.
# Quand plus aucun écrivain ne les produit, vider ce dictionnaire (et la lecture de repli disparaît).
_CONTRACT_LEGACY = {
    "contrat": P.CONTRACT_ID,
    "type": P.CONTRACT_KIND,
    "heures_hebdomadaires": P.WEEKLY_HOURS,
    "intensite": P.INTENSITY,
    "revision": P.REVIEW_ON,
    "motif": P.REASON,
}
_RIGHT_LEGACY = {
    "etat": P.STATE,
    "etat_precedent": P.PREVIOUS_STATE,
    "motif_suspension": P.SUSPENSION_REASON,
    "motif_cloture": P.CLOSURE_REASON,
    "date_ouverture": P.OPENED_ON,
}
LEGACY_KEYS = MappingProxyType(
    {
        K.RIGHT_OPENED: _RIGHT_LEGACY,
        K.RIGHT_STATE_CHANGED: _RIGHT_LEGACY,
        K.RIGHT_CLOSED: _RIGHT_LEGACY,
        K.NEW_ENTRANT: {
            "date_reference": P.REFERENCE_DATE,
            "motif": P.REASON,
            "top_cnaf": P.CNAF_NEW_ENTRANT,
        },
        K.FOLLOW_UP_CLOSED: {"organisation": P.ORGANISATION_ID, "motif": P.REASON},
        K.EXITED: {
            "sortie": P.EXIT_ID,
            "motif": P.REASON,
            "contrat": P.CONTRACT_TYPE,
            "duree_mois": P.DURATION_MONTHS,
        },
        K.EMPLOYMENT_CHECKED: {"sortie": P.EXIT_ID, "en_emploi": P.STILL_EMPLOYED, "a_6_mois": P.SIX_MONTH},
    }
)
# Une charge en liste (ancien ``contact_updated`` : la liste des champs) devient ``{clé: liste}``.
LEGACY_LIST_KEYS = MappingProxyType({K.CONTACT_UPDATED: P.FIELDS})


def legacy_names(kind, key):
    """Anciens noms de ``key`` pour le type ``kind`` (lecture de repli pendant la bascule)."""
    return tuple(old for old, new in LEGACY_KEYS.get(kind, {}).items() if new == key)


def normalise(kind, payload):
    """La charge d'un événement lu en base, avec les clés déclarées (anciens noms renommés)."""
    if isinstance(payload, list) and kind in LEGACY_LIST_KEYS:
        return {LEGACY_LIST_KEYS[kind]: payload}
    if not isinstance(payload, dict):
        return {}
    renames = LEGACY_KEYS.get(kind)
    if not renames:
        return payload
    return {renames.get(name, name): value for name, value in payload.items()}


def value(event, key, default=None):
    """Valeur de ``key`` dans la charge de ``event`` (anciens noms acceptés pendant la bascule)."""
    return normalise(event.kind, event.payload).get(key, default)
