"""L'unique écrivain du journal des parcours : ``record`` (un événement) et ``build`` (pour ``bulk_create``).

Chaque événement est vérifié contre sa déclaration (``payload.SCHEMAS``) : type déclaré, clés déclarées,
clés obligatoires présentes, valeurs du bon type. Les valeurs vides (``None``, ``""``) sont écartées, les
dates et les nombres décimaux écrits en chaînes (ISO, « 15.5 »). Une charge non conforme est une erreur de
programmation (``JournalError``), pas une erreur de saisie : elle n'est jamais montrée à l'agent comme un
champ de formulaire.

Usage : ``from parcours.journal.services import record`` puis
``record(personne, EventKind.ORIENTED, on=date, actor=agent, decision_id=..., pathway=...)``.
"""

import datetime
from decimal import Decimal, InvalidOperation

from parcours.core.text import plural_form

from .kinds import EventKind
from .payload import (
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    LIST_INT,
    LIST_STR,
    SCHEMAS,
    STR,
)

# Valeurs déclarées, lues une fois : ``EventKind.values`` reconstruit sa liste à chaque appel (les imports de flux
# vérifient des centaines de milliers d'événements).
DECLARED_KINDS = frozenset(EventKind.values)


class JournalError(Exception):
    """Écriture refusée par le journal (type ou charge non déclarés) : une erreur de programmation."""


class UndeclaredEvent(JournalError):
    """Type d'événement absent de ``EventKind`` ou sans déclaration de charge."""


class InvalidPayload(JournalError):
    """Charge non conforme à sa déclaration : clé inconnue, clé obligatoire absente, valeur du mauvais type."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _convert(kind, key, value):
    """La valeur telle qu'écrite en JSON, ou ``InvalidPayload``."""

    def wrong(expected):
        return InvalidPayload(
            f"Événement « {kind} » : la clé « {key} » attend {expected}, reçu {value!r} ({type(value).__name__})."
        )

    kind_of_value = key.type
    if kind_of_value == INT:
        if not _is_int(value):
            raise wrong("un entier")
        converted = int(value)
    elif kind_of_value == STR:
        if not isinstance(value, str):
            raise wrong("une chaîne")
        converted = str(value)
    elif kind_of_value == BOOL:
        if not isinstance(value, bool):
            raise wrong("un booléen")
        converted = value
    elif kind_of_value == DATE:
        if isinstance(value, datetime.datetime):
            raise wrong("une date (pas une date et heure)")
        if isinstance(value, datetime.date):
            converted = value.isoformat()
        elif isinstance(value, str):
            try:
                converted = datetime.date.fromisoformat(value).isoformat()
            except ValueError:
                raise wrong("une date ISO (AAAA-MM-JJ)") from None
        else:
            raise wrong("une date")
    elif kind_of_value == DATETIME:
        if isinstance(value, datetime.datetime):
            converted = value.isoformat()
        elif isinstance(value, str):
            try:
                datetime.datetime.fromisoformat(value)
            except ValueError:
                raise wrong("une date et heure ISO") from None
            converted = value
        else:
            raise wrong("une date et heure")
    elif kind_of_value == DECIMAL:
        if isinstance(value, bool):
            raise wrong("un nombre")
        if isinstance(value, float):
            converted = str(int(value)) if value.is_integer() else repr(value)
        elif isinstance(value, Decimal | int):
            converted = str(value)
        elif isinstance(value, str):
            try:
                Decimal(value)
            except InvalidOperation:
                raise wrong("un nombre") from None
            converted = value
        else:
            raise wrong("un nombre")
    elif kind_of_value == LIST_INT:
        if not isinstance(value, list | tuple) or not all(_is_int(item) for item in value):
            raise wrong("une liste d'entiers")
        converted = [int(item) for item in value]
    elif kind_of_value == LIST_STR:
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise wrong("une liste de chaînes")
        converted = [str(item) for item in value]
    else:  # pragma: no cover - les types sont vérifiés à la déclaration de la clé
        raise InvalidPayload(f"Clé « {key} » : type « {kind_of_value} » inconnu.")
    if key.choices is not None and converted not in key.choices:
        raise InvalidPayload(
            f"Événement « {kind} » : « {converted} » n'est pas une valeur permise pour « {key} » "
            f"({', '.join(key.choices)})."
        )
    return converted


def schema_for(kind):
    """La déclaration du type ``kind``, ou ``UndeclaredEvent``."""
    if kind not in DECLARED_KINDS:
        raise UndeclaredEvent(f"Type d'événement non déclaré dans EventKind : « {kind} ».")
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise UndeclaredEvent(f"Type d'événement « {kind} » sans déclaration de charge (payload.SCHEMAS).")
    return schema


def validate(kind, payload):
    """La charge ``payload`` vérifiée et convertie (valeurs vides écartées), ou ``JournalError``."""
    schema = schema_for(kind)
    clean = {}
    for name, raw in payload.items():
        if raw is None or raw == "":
            continue
        key = schema.key(name)
        if key is None:
            allowed = ", ".join(schema.keys) or "aucune"
            raise InvalidPayload(
                f"Événement « {kind} » : clé « {name} » non déclarée (clés permises : {allowed})."
            )
        clean[key.name] = _convert(kind, key, raw)
    missing = [key.name for key in schema.required if key.name not in clean]
    if missing:
        raise InvalidPayload(
            f"Événement « {kind} » : "
            f"{plural_form(len(missing), 'clé obligatoire absente', 'clés obligatoires absentes')} : "
            f"{', '.join(missing)}."
        )
    return clean


def _set_related(event, name, obj):
    """Renseigne ``event.<name>`` : un objet enregistré ou son identifiant ; un compte anonyme ou un objet
    non enregistré n'est pas un auteur (écarté)."""
    if _is_int(obj):
        setattr(event, f"{name}_id", obj)
    elif getattr(obj, "pk", None):
        setattr(event, name, obj)


def build(beneficiary, kind, /, *, on, actor=None, organisation=None, batch=None, **payload):
    """Un événement vérifié, **non enregistré** (pour ``Event.objects.bulk_create``).

    ``beneficiary`` : la personne (éventuellement pas encore enregistrée : son identifiant est relu par
    ``bulk_create``) ou son identifiant. ``on`` : la date métier. ``actor``, ``organisation``, ``batch`` : un
    objet ou son identifiant (un compte anonyme est écarté). ``payload`` : les clés déclarées pour ``kind``
    (``payload.SCHEMAS``).
    """
    from .models import Event

    if not isinstance(on, datetime.date) or isinstance(on, datetime.datetime):
        raise InvalidPayload(f"Événement « {kind} » : date métier (on) obligatoire, reçu {on!r}.")
    clean = validate(kind, payload)
    event = Event(kind=str(kind), occurred_on=on, payload=clean)
    if _is_int(beneficiary):
        event.beneficiary_id = beneficiary
    else:
        event.beneficiary = beneficiary
    _set_related(event, "actor", actor)
    _set_related(event, "organisation", organisation)
    _set_related(event, "batch", batch)
    return event


def record(beneficiary, kind, /, *, on, actor=None, organisation=None, batch=None, **payload):
    """Écrit un événement vérifié dans le journal et le renvoie (dans la transaction de l'appelant).

    Mêmes paramètres que ``build``. Lève ``UndeclaredEvent`` (type inconnu) ou ``InvalidPayload`` (clé
    non déclarée, clé obligatoire absente, valeur du mauvais type).
    """
    event = build(beneficiary, kind, on=on, actor=actor, organisation=organisation, batch=batch, **payload)
    event.save()
    return event


EVENT_COLUMNS = (
    "beneficiary",
    "kind",
    "occurred_on",
    "payload",
    "recorded_at",
    "actor",
    "organisation",
    "batch",
)


def record_many(rows, *, recorded_at, actor=None, organisation=None, batch=None):
    """Écrit en masse des événements **déjà vérifiés** (``validate``) : ``rows`` = ``(identifiant de la personne,
    type, date, charge)``. Chemin rapide des imports de flux (``COPY`` sur PostgreSQL, ``bulk_create`` ailleurs) ;
    ``actor``, ``organisation``, ``batch`` : identifiants communs à toutes les lignes."""
    from parcours.core.bulk import insert_rows

    from .models import Event

    insert_rows(
        Event,
        EVENT_COLUMNS,
        (
            (beneficiary_id, str(kind), on, payload, recorded_at, actor, organisation, batch)
            for beneficiary_id, kind, on, payload in rows
        ),
    )
