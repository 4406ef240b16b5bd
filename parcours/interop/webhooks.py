"""Événements sortants : webhooks signés (HMAC-SHA256), essais avec attente exponentielle, rejeu.

Chaque fait du journal des parcours qui intéresse les partenaires (``EVENT_TYPES``) crée, dans la même
transaction que le changement d'état, une livraison par abonnement concerné ; ``parcours interop-deliver``
envoie les livraisons dues. Tous les abonnés reçoivent le même identifiant d'événement (``id``), de
sorte qu'un récepteur écarte les doublons (rejeu, nouvel essai après une réponse perdue).

Signature : en-tête ``X-Parcours-Signature: t=<horodatage unix>,v1=<hex>`` où ``<hex>`` est
``HMAC-SHA256(secret, "<horodatage>.<corps brut>")``.
"""

import datetime
import hashlib
import hmac
import json
import secrets
import time
import uuid

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from parcours.journal.models import EventKind
from parcours.journal.payload import Payload as P

from . import services
from .models import Delivery, DeliveryStatus, EventType, WebhookSubscription

# Fait du journal → type d'événement publié.
EVENT_TYPES = {
    EventKind.ORIENTATION_DECIDED: EventType.ORIENTATION_DECIDED,
    EventKind.APPOINTMENT_PLANNED: EventType.APPOINTMENT_CREATED,
    EventKind.APPOINTMENT_CANCELLED: EventType.APPOINTMENT_UPDATED,
    EventKind.APPOINTMENT_ATTENDANCE_CORRECTED: EventType.APPOINTMENT_UPDATED,
    EventKind.APPOINTMENT_HELD: EventType.APPOINTMENT_ATTENDANCE,
    EventKind.APPOINTMENT_EXCUSED: EventType.APPOINTMENT_ATTENDANCE,
    EventKind.APPOINTMENT_NO_SHOW: EventType.APPOINTMENT_ATTENDANCE,
    EventKind.CONTRACT_SIGNED: EventType.CONTRACT_SIGNED,
    EventKind.EXITED: EventType.EXITED,
    EventKind.SANCTION_STEP: EventType.SANCTION_STEP,
    EventKind.SANCTION_NOTICE: EventType.SANCTION_NOTICE,
}
# Clés déclarées de la charge du journal (``parcours.journal.payload``) → nom publié dans ``donnees``, par
# fait. Les noms publiés sont le contrat de l'API partenaires : ils ne changent pas quand le journal renomme
# ses clés. Pour une sortie, « contrat_travail » est le type de contrat de travail (cdi, cdd…).
_ATTENDANCE = {P.APPOINTMENT_ID: "rendez_vous", P.APPOINTMENT_KIND: "appointment_kind"}
PUBLISHED_FIELDS = {
    EventKind.ORIENTATION_DECIDED: {P.DECISION_ID: "orientation", P.PATHWAY: "pathway", P.CODE: "code"},
    EventKind.APPOINTMENT_PLANNED: {
        P.APPOINTMENT_ID: "rendez_vous",
        P.KIND: "kind",
        P.STARTS_AT: "starts_at",
    },
    EventKind.APPOINTMENT_CANCELLED: _ATTENDANCE,
    EventKind.APPOINTMENT_ATTENDANCE_CORRECTED: _ATTENDANCE,
    EventKind.APPOINTMENT_HELD: _ATTENDANCE,
    EventKind.APPOINTMENT_EXCUSED: _ATTENDANCE,
    EventKind.APPOINTMENT_NO_SHOW: _ATTENDANCE,
    EventKind.CONTRACT_SIGNED: {P.CONTRACT_ID: "contrat", P.CONTRACT_KIND: "type"},
    EventKind.EXITED: {P.EXIT_ID: "sortie", P.REASON: "motif", P.CONTRACT_TYPE: "contrat_travail"},
    # Sanctions (annexe 5 de la convention : échanges sur les manquements et les sanctions) : jamais le motif
    # rédigé de l'étape ni les faits (texte libre).
    EventKind.SANCTION_STEP: {
        P.CASE_ID: "procedure",
        P.TO_STATUS: "etape",
        P.FROM_STATUS: "etape_precedente",
        P.GROUND: "manquement",
        P.PROPOSED_DECISION: "sanction_proposee",
        P.DECISION: "decision",
        P.REDUCTION_PERCENT: "taux_reduction",
        P.DURATION_MONTHS: "duree_mois",
        P.REPAID_AMOUNT: "sommes_restituees",
    },
    EventKind.SANCTION_NOTICE: {
        P.NOTICE_ID: "mesure",
        P.CASE_ID: "procedure",
        P.MEASURE: "nature",
        P.STATUS: "statut",
        P.ORGANISM: "organisme",
        P.REDUCTION_PERCENT: "taux_reduction",
        P.STARTS_ON: "debut",
        P.ENDS_ON: "fin",
        P.REPAID_AMOUNT: "montant_restitue",
        P.REASON: "motif_rejet",
    },
}

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Parcours-Signature"


def new_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def subscribe(partner, url, event_types, secret=None):
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown:
        raise ValidationError(
            f"Type d'événement inconnu : {', '.join(unknown)} (types possibles : {', '.join(EventType.values)})."
        )
    return WebhookSubscription.objects.create(
        partner=partner, url=url, secret=secret or new_secret(), event_types=sorted(set(event_types))
    )


def build_payload(event, event_type, event_id):
    values = event.data
    data = {
        name: values[key]
        for key, name in PUBLISHED_FIELDS.get(event.kind, {}).items()
        if values.get(key) is not None
    }
    return {
        "id": str(event_id),
        "type": event_type,
        "fait": event.kind,
        "date": event.occurred_on.isoformat(),
        "enregistre_le": (event.recorded_at or timezone.now()).isoformat(),
        "personne": event.beneficiary_id,
        "organisation": event.organisation_id,
        "donnees": data,
    }


def enqueue_for_event(event):
    """Crée les livraisons d'un fait du journal (appelé à l'enregistrement de l'événement)."""
    event_type = EVENT_TYPES.get(event.kind)
    if event_type is None:
        return []
    subscriptions = WebhookSubscription.objects.filter(active=True, partner__active=True).select_related(
        "partner__organisation"
    )
    event_id = uuid.uuid4()
    payload = None
    created = []
    now = timezone.now()
    for subscription in subscriptions:
        if event_type not in (subscription.event_types or []):
            continue
        if not services.is_visible(subscription.partner, event.beneficiary_id, event.organisation_id):
            continue
        payload = payload or build_payload(event, event_type, event_id)
        created.append(
            Delivery(
                subscription=subscription,
                event_id=event_id,
                event_type=event_type,
                journal_event=event,
                payload=payload,
                next_try_at=now,
            )
        )
    return Delivery.objects.bulk_create(created)


def body_bytes(payload):
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret, body, timestamp):
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret, body, header, tolerance=300, now=None):
    """Vérification côté récepteur (fournie pour les tests et comme exemple de référence)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), parts.get("v1", ""))


def backoff(attempts):
    """Attente avant l'essai suivant : 1 min, 2 min, 4 min… plafonnée à 6 h."""
    return datetime.timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


def new_session():
    return requests.Session()


def send(delivery, session=None):
    """Un essai de livraison ; met à jour le journal des livraisons et renvoie ``True`` si livré."""
    session = session or new_session()
    body = body_bytes(delivery.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Parcours-Webhooks/1",
        SIGNATURE_HEADER: f"t={timestamp},v1={sign(delivery.subscription.secret, body, timestamp)}",
        "X-Parcours-Event-Id": str(delivery.event_id),
        "X-Parcours-Event-Type": delivery.event_type,
    }
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        response = session.post(
            delivery.subscription.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
        delivery.response_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = "" if ok else f"Réponse HTTP {response.status_code}"
    except requests.RequestException as exc:
        delivery.response_code = None
        delivery.last_error = f"{type(exc).__name__} : {exc}"[:500]
        ok = False
    if ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_try_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_try_at = None
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_try_at = now + backoff(delivery.attempts)
    delivery.save()
    return ok


def due_deliveries(now=None):
    now = now or timezone.now()
    return (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_try_at__lte=now) | Q(next_try_at__isnull=True))
        .select_related("subscription")
        .order_by("next_try_at", "pk")
    )


def deliver_due(limit=500, session=None, now=None):
    """Envoie les livraisons dues ; renvoie ``{"livrees": n, "en_echec": n}``."""
    session = session or new_session()
    counts = {"livrees": 0, "en_echec": 0}
    for delivery in list(due_deliveries(now)[:limit]):
        with transaction.atomic():
            locked = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
                .select_related("subscription")
                .first()
            )
            if locked is None:
                continue
            counts["livrees" if send(locked, session) else "en_echec"] += 1
    return counts


def replay(delivery, session=None):
    """Renvoie une livraison (même identifiant d'événement, nouvelle signature), quel que soit son statut."""
    delivery.status = DeliveryStatus.PENDING
    return send(delivery, session)
