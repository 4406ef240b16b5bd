"""Charge des événements déjà enregistrés : les anciennes clés françaises prennent le nom anglais déclaré
(``parcours.journal.payload``), les valeurs vides disparaissent (comme à l'écriture par ``record``), les
heures et montants sont écrits en chaînes, l'ancienne liste de ``contact_updated`` devient ``{"fields": …}``.

Copie figée des renommages (une migration ne lit pas le code vivant). Boucle Python par paquets : identique
sur SQLite et PostgreSQL. Réversible (les clés reprennent leur ancien nom).
"""

from django.db import migrations

CHUNK = 2000

_CONTRACT = {
    "contrat": "contract_id",
    "type": "contract_kind",
    "heures_hebdomadaires": "weekly_hours",
    "intensite": "intensity",
    "revision": "review_on",
    "motif": "reason",
}
_RIGHT = {
    "etat": "state",
    "etat_precedent": "previous_state",
    "motif_suspension": "suspension_reason",
    "motif_cloture": "closure_reason",
    "date_ouverture": "opened_on",
}
_ACTIVITY_STATUS = {
    "activite": "activity_id",
    "de": "from_status",
    "vers": "to_status",
    "heures_realisees": "actual_hours",
}
_REVIEW = {"revue": "review_id", "type": "review_kind", "echeance": "due_on"}
_PRESCRIPTION = {
    "service_id": "service_di_id",
    "service": "service_name",
    "structure": "structure_name",
    "volume_horaire_hebdomadaire": "weekly_hours",
    "nombre_semaines": "weeks",
    "start_on": "starts_on",
}
RENAMES = {
    "right_opened": _RIGHT,
    "right_state_changed": _RIGHT,
    "right_closed": _RIGHT,
    "new_entrant": {"date_reference": "reference_date", "motif": "reason", "top_cnaf": "cnaf_new_entrant"},
    "follow_up_closed": {"organisation": "organisation_id", "motif": "reason"},
    "diagnosed": {"conjoint": "joint"},
    "contract_signed": _CONTRACT,
    "contract_ended": _CONTRACT,
    "activity_planned": {
        "activite": "activity_id",
        "type": "activity_kind",
        "heures_hebdomadaires": "weekly_hours",
        "semaines": "weeks",
        "service": "service_id",
    },
    "activity_status_changed": _ACTIVITY_STATUS,
    "hours_adjusted": {"adaptation": "adjustment_kind", "objectif": "target_hours", "fin": "ends_on"},
    "review_planned": _REVIEW,
    "review_held": _REVIEW,
    "sanction_step": {
        "procedure": "case_id",
        "de": "from_status",
        "vers": "to_status",
        "motif": "reason",
        "manquement": "ground",
        "seance": "session_id",
        "avis": "proposed_decision",
        "taux": "reduction_percent",
        "mois": "duration_months",
        "restitue": "repaid_amount",
    },
    "exited": {"sortie": "exit_id", "motif": "reason", "contrat": "contract_type", "duree_mois": "duration_months"},
    "employment_checked": {"sortie": "exit_id", "en_emploi": "still_employed", "a_6_mois": "six_month"},
    "prescription_sent": _PRESCRIPTION,
    "prescription_accepted": _PRESCRIPTION,
    "prescription_refused": _PRESCRIPTION,
    "prescription_expired": _PRESCRIPTION,
}
LIST_PAYLOADS = {"contact_updated": "fields"}
DECIMAL_KEYS = {"weekly_hours", "actual_hours", "target_hours", "repaid_amount"}


def _forward(kind, payload):
    if isinstance(payload, list) and kind in LIST_PAYLOADS:
        return {LIST_PAYLOADS[kind]: payload}
    if not isinstance(payload, dict):
        return payload
    renames = RENAMES.get(kind, {})
    result = {}
    for name, value in payload.items():
        if value is None or value == "":
            continue
        new = renames.get(name, name)
        if new in DECIMAL_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(int(value)) if float(value).is_integer() else repr(value)
        result[new] = value
    return result


def _backward(kind, payload):
    if kind in LIST_PAYLOADS and isinstance(payload, dict) and set(payload) == {LIST_PAYLOADS[kind]}:
        return payload[LIST_PAYLOADS[kind]]
    if not isinstance(payload, dict):
        return payload
    inverse = {new: old for old, new in RENAMES.get(kind, {}).items()}
    return {inverse.get(name, name): value for name, value in payload.items()}


def _convert(apps, convert):
    Event = apps.get_model("journal", "Event")
    kinds = set(RENAMES) | set(LIST_PAYLOADS)
    last = 0
    while True:
        chunk = list(
            Event.objects.filter(kind__in=kinds, pk__gt=last).order_by("pk").only("pk", "kind", "payload")[:CHUNK]
        )
        if not chunk:
            return
        last = chunk[-1].pk
        changed = []
        for event in chunk:
            payload = convert(event.kind, event.payload)
            if payload != event.payload:
                event.payload = payload
                changed.append(event)
        if changed:
            Event.objects.bulk_update(changed, ["payload"])


def forward(apps, schema_editor):
    _convert(apps, _forward)


def backward(apps, schema_editor):
    _convert(apps, _backward)


class Migration(migrations.Migration):
    dependencies = [("journal", "0004_event_kinds_declared")]

    operations = [migrations.RunPython(forward, backward)]
