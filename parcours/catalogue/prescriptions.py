"""Prescriptions : orienter une personne vers un service, et la réponse de la structure.

Cycle de vie (référence DORA) : ``open`` → ``accepted`` / ``refused`` (motif obligatoire) / ``expired``
(sans réponse après ``prescription_expiry_days``). La structure répond depuis un lien signé, valable
``answer_link_days`` jours, sans compte ; elle est relancée tous les ``prescription_reminder_days``
jours tant qu'elle n'a pas répondu. Chaque changement écrit une ligne ``PrescriptionLog`` et un
événement du journal du parcours, dans la même transaction. À l'acceptation, le volume horaire
hebdomadaire et le nombre de semaines du service sont copiés sur la prescription : c'est ainsi que les
heures comptent dans les 15-20 h d'activité hebdomadaire.
"""

import contextlib
import datetime
import logging
import secrets

from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.roles import PRESCRIBER, PRESCRIBING, memberships_of
from parcours.beneficiaries.models import Beneficiary
from parcours.core.text import plural
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.journal.transitions import TransitionError, Workflow, transition

from . import conf
from .models import Prescription, PrescriptionLog, PrescriptionStatus, RefusalReason, Service

logger = logging.getLogger(__name__)

# Types d'événements du journal écrits par le catalogue (déclarés par le journal).
EVENT_PRESCRIPTION_SENT = EventKind.PRESCRIPTION_SENT
EVENT_PRESCRIPTION_ACCEPTED = EventKind.PRESCRIPTION_ACCEPTED
EVENT_PRESCRIPTION_REFUSED = EventKind.PRESCRIPTION_REFUSED
EVENT_PRESCRIPTION_EXPIRED = EventKind.PRESCRIPTION_EXPIRED

# Cycle de vie : en attente → acceptée, refusée ou expirée (états finals).
PRESCRIPTION_WORKFLOW = Workflow(
    "Prescription",
    PrescriptionStatus,
    {
        PrescriptionStatus.OPEN: {
            PrescriptionStatus.ACCEPTED,
            PrescriptionStatus.REFUSED,
            PrescriptionStatus.EXPIRED,
        },
        PrescriptionStatus.ACCEPTED: set(),
        PrescriptionStatus.REFUSED: set(),
        PrescriptionStatus.EXPIRED: set(),
    },
)

PRESCRIBING_ROLES = PRESCRIBING  # nom d'avant l'unification (``parcours.accounts.roles``)
_SALT = "parcours.catalogue.prescription"

# Données du dossier qui peuvent être transmises à la structure (jamais le NIR).
SHAREABLE_FIELDS = [
    ("first_name", "Prénom", True),
    ("last_name", "Nom", True),
    ("birth_date", "Date de naissance", False),
    ("phone", "Téléphone", False),
    ("email", "Adresse électronique", False),
    ("address", "Adresse", False),
    ("postal_code", "Code postal", False),
    ("city", "Commune", False),
    ("france_travail_id", "Identifiant France Travail", False),
]
SHAREABLE_LABELS = {name: label for name, label, _ in SHAREABLE_FIELDS}


class PrescriptionError(Exception):
    """Règle métier non respectée. ``code`` est stable (API), ``message`` est en français."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class LinkError(PrescriptionError):
    def __init__(self, code, message, prescription=None):
        super().__init__(code, message)
        self.prescription = prescription


# --------------------------------------------------------------------------------------------------
# Qui peut faire quoi


def prescribing_memberships(user):
    return PRESCRIBER.memberships(user)


def can_prescribe(user):
    return PRESCRIBER.allows(user)


def visible_prescriptions(user):
    """Prescriptions des personnes que l'agent peut voir."""
    return Prescription.objects.filter(beneficiary__in=Beneficiary.objects.visible_to(user))


def received_prescriptions(user):
    """Prescriptions reçues par les structures rattachées aux organisations de l'agent (espace structure)."""
    if not user.is_authenticated:
        return Prescription.objects.none()
    orgs = sorted({m.organisation_id for m in memberships_of(user)})
    return Prescription.objects.filter(structure__organisation__in=orgs)


def can_answer(user, prescription):
    return received_prescriptions(user).filter(pk=prescription.pk).exists()


def _prescriber_organisation(user, beneficiary):
    memberships = prescribing_memberships(user)
    following = set(
        beneficiary.follow_ups.filter(ended_on__isnull=True).values_list("organisation_id", flat=True)
    )
    for membership in memberships:
        if (
            membership.organisation_id == beneficiary.departement_id
            or membership.organisation_id in following
        ):
            return membership.organisation
    return memberships[0].organisation if memberships else None


# --------------------------------------------------------------------------------------------------
# Formulaire pré-rempli


def prefill(beneficiary):
    """Valeurs du dossier proposées au référent ; il coche ce qui est nécessaire à la structure."""
    values = {}
    for name, _label, _required in SHAREABLE_FIELDS:
        value = getattr(beneficiary, name, "") or ""
        values[name] = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return values


def build_shared_data(values, selected):
    """Ne garde que les champs cochés (prénom et nom toujours) et non vides."""
    shared = {}
    for name, _label, required in SHAREABLE_FIELDS:
        value = (values.get(name) or "").strip()
        if value and (required or name in selected):
            shared[name] = value
    return shared


def shared_data_display(prescription):
    rows = []
    for name, label, _ in SHAREABLE_FIELDS:
        value = prescription.shared_data.get(name)
        if value:
            if name == "birth_date":
                with contextlib.suppress(ValueError):
                    value = datetime.date.fromisoformat(value).strftime("%d/%m/%Y")
            rows.append((label, value))
    return rows


# --------------------------------------------------------------------------------------------------
# Lien signé


def make_token(prescription):
    return signing.TimestampSigner(salt=_SALT).sign(f"{prescription.pk}:{prescription.link_nonce}")


def answer_url(prescription, request=None):
    path = reverse("catalogue:answer", args=[make_token(prescription)])
    if request is not None:
        return request.build_absolute_uri(path)
    return conf.get("site_url").rstrip("/") + path


def read_token(token):
    """Prescription désignée par le lien ; lève ``LinkError`` si le lien est altéré ou expiré."""
    signer = signing.TimestampSigner(salt=_SALT)
    max_age = datetime.timedelta(days=conf.get("answer_link_days"))
    try:
        value = signer.unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        value = signer.unsign(token)
        prescription = _from_value(value)
        raise LinkError(
            "lien_expire",
            "Ce lien de réponse a expiré. Demandez un nouveau lien au prescripteur.",
            prescription,
        ) from None
    except signing.BadSignature:
        raise LinkError("lien_invalide", "Ce lien de réponse n'est pas valide.") from None
    prescription = _from_value(value)
    if prescription is None:
        raise LinkError("lien_invalide", "Ce lien de réponse n'est plus valide.")
    return prescription


def _from_value(value):
    pk, _, nonce = value.partition(":")
    prescription = (
        Prescription.objects.select_related("service", "structure", "beneficiary").filter(pk=pk).first()
    )
    if prescription is None or not secrets.compare_digest(prescription.link_nonce, nonce):
        return None
    return prescription


# --------------------------------------------------------------------------------------------------
# Journal


def _log(prescription, action, from_status="", actor=None, actor_label="", comment=""):
    return PrescriptionLog.objects.create(
        prescription=prescription,
        action=action,
        from_status=from_status,
        to_status=prescription.status,
        actor=actor if actor and actor.is_authenticated else None,
        actor_label=actor_label or (str(actor) if actor and actor.is_authenticated else ""),
        comment=comment,
    )


def _payload(prescription, **details):
    return {
        "prescription_id": prescription.pk,
        "service_di_id": prescription.service.di_id,
        "service_name": prescription.service.nom,
        "structure_name": prescription.structure.nom,
        "status": prescription.status,
        **details,
    }


def _answer(prescription, to_status, *, kind, on, actor=None, apply=None, details=None):
    """Passage d'une prescription en attente à ``to_status`` (ligne verrouillée, journal). Une prescription
    qui n'attend plus de réponse lève ``PrescriptionError("deja_traitee")`` (code stable de l'API).

    ``details`` : compléments de la charge de l'événement (que ``apply`` peut remplir)."""
    details = {} if details is None else details
    try:
        return transition(
            prescription,
            to_status,
            workflow=PRESCRIPTION_WORKFLOW,
            actor=actor,
            on=on,
            event=kind,
            payload=lambda locked, _previous: _payload(locked, **details),
            apply=apply,
            organisation=lambda locked: locked.prescriber_organisation_id,
            queryset=Prescription.objects.select_related("service", "structure"),
        )
    except TransitionError as error:
        raise PrescriptionError(
            "deja_traitee",
            f"Cette prescription n'attend plus de réponse ({PRESCRIPTION_WORKFLOW.label(error.current).lower()}).",
        ) from error


# --------------------------------------------------------------------------------------------------
# Courriels


def _send(prescription, subject, body, action_on_failure=True):
    recipient = prescription.recipient_email
    if not recipient:
        return False
    try:
        send_mail(subject, body, conf.get("from_email"), [recipient])
    except Exception as exc:  # noqa: BLE001 - un serveur de courriel indisponible ne doit pas perdre la prescription
        logger.warning("Envoi du courriel de prescription %s impossible : %s", prescription.pk, exc)
        if action_on_failure:
            _log(
                prescription, PrescriptionLog.Action.EMAIL_FAILED, prescription.status, comment=str(exc)[:500]
            )
        return False
    return True


def _notification_body(prescription, url, reminder=False):
    days = conf.get("answer_link_days")
    intro = (
        "Rappel : une orientation vers votre service attend toujours votre réponse."
        if reminder
        else "Une personne accompagnée au titre du RSA vous est orientée."
    )
    lines = [
        "Bonjour,",
        "",
        intro,
        "",
        f"Service : {prescription.service.nom}",
        f"Structure : {prescription.structure.nom}",
        f"Orientée par : {prescription.prescriber or 'un agent'}"
        + (f" ({prescription.prescriber_organisation})" if prescription.prescriber_organisation else ""),
        "",
        f"Pour consulter la demande et y répondre (accepter ou refuser), suivez ce lien, valable {plural(days, 'jour')} :",
        url,
        "",
        f"Sans réponse, la demande expirera le {prescription.expires_on:%d/%m/%Y}.",
        "",
        "Ce message contient un lien personnel : ne le transférez pas.",
    ]
    return "\n".join(lines)


def notify(prescription, request=None, reminder=False):
    subject = ("Relance — " if reminder else "") + f"Nouvelle orientation vers « {prescription.service.nom} »"
    return _send(
        prescription, subject, _notification_body(prescription, answer_url(prescription, request), reminder)
    )


# --------------------------------------------------------------------------------------------------
# Transitions


def create_prescription(
    *, user, beneficiary, service, shared_data, message="", consent=False, request=None, now=None
):
    """Crée et envoie une prescription. Lève ``PrescriptionError`` si une règle n'est pas respectée."""
    now = now or timezone.now()
    if not consent:
        raise PrescriptionError(
            "consentement_requis",
            "La personne doit avoir été informée et avoir consenti à la transmission de ses informations.",
        )
    if not can_prescribe(user):
        raise PrescriptionError("interdit", "Votre rôle ne permet pas de prescrire.")
    if not Beneficiary.objects.visible_to(user).filter(pk=beneficiary.pk).exists():
        raise PrescriptionError("interdit", "Cette personne ne fait pas partie de votre périmètre.")
    if not Service.objects.active().filter(pk=service.pk).exists():
        raise PrescriptionError("service_inactif", "Ce service n'est plus proposé.")
    duplicate = Prescription.objects.filter(
        beneficiary=beneficiary, service=service, status=PrescriptionStatus.OPEN
    ).exists()
    if duplicate:
        raise PrescriptionError(
            "doublon", "Une prescription vers ce service attend déjà une réponse pour cette personne."
        )
    if not shared_data.get("first_name") or not shared_data.get("last_name"):
        raise PrescriptionError("donnees_requises", "Le nom et le prénom de la personne sont nécessaires.")
    with transaction.atomic():
        prescription = Prescription.objects.create(
            beneficiary=beneficiary,
            service=service,
            structure=service.structure,
            prescriber=user,
            prescriber_organisation=_prescriber_organisation(user, beneficiary),
            message=message.strip(),
            shared_data=shared_data,
            consent_at=now,
            recipient_email=service.contact_email or "",
            expires_on=timezone.localdate(now)
            + datetime.timedelta(days=conf.get("prescription_expiry_days")),
            link_nonce=secrets.token_hex(8),
        )
        comment = (
            f"Envoyée à {prescription.recipient_email}"
            if prescription.recipient_email
            else ("Aucune adresse électronique connue : transmettez le lien de réponse à la structure.")
        )
        _log(prescription, PrescriptionLog.Action.SENT, "", actor=user, comment=comment)
        record(
            prescription.beneficiary,
            EventKind.PRESCRIPTION_SENT,
            on=timezone.localdate(now),
            actor=user,
            organisation=prescription.prescriber_organisation,
            **_payload(prescription),
        )
    if notify(prescription, request):
        prescription.sent_at = now
        prescription.save(update_fields=["sent_at"])
    return prescription


def _check_open(prescription):
    if prescription.status != PrescriptionStatus.OPEN:
        raise PrescriptionError(
            "deja_traitee",
            f"Cette prescription n'attend plus de réponse ({prescription.get_status_display().lower()}).",
        )


def accept(prescription, *, actor=None, actor_label="", start_on=None, comment="", now=None):
    """La structure accepte : les heures du service sont copiées sur la prescription."""
    now = now or timezone.now()
    details = {}

    def apply(locked):
        locked.answered_at = now
        locked.answered_by = actor if actor and actor.is_authenticated else None
        locked.answerer_name = actor_label or (str(actor) if actor and actor.is_authenticated else "")
        locked.answer_comment = comment.strip()
        locked.start_on = start_on
        locked.volume_horaire_hebdomadaire = locked.service.volume_horaire_hebdomadaire
        locked.nombre_semaines = locked.service.nombre_semaines
        details.update(
            weekly_hours=locked.volume_horaire_hebdomadaire, weeks=locked.nombre_semaines, starts_on=start_on
        )

    with transaction.atomic():
        prescription = _answer(
            prescription,
            PrescriptionStatus.ACCEPTED,
            kind=EventKind.PRESCRIPTION_ACCEPTED,
            on=timezone.localdate(now),
            actor=actor,
            apply=apply,
            details=details,
        )
        _log(
            prescription,
            PrescriptionLog.Action.ACCEPTED,
            PrescriptionStatus.OPEN,
            actor,
            prescription.answerer_name,
            comment,
        )
        # Les heures du service entrent au plan d'activités de la personne (même transaction, journal).
        from parcours.accompaniment.activities import plan_prescription

        plan_prescription(prescription, actor=actor)
    return prescription


def refuse(prescription, *, reason, comment="", actor=None, actor_label="", now=None):
    """La structure refuse : le motif est obligatoire (et précisé pour « autre motif »)."""
    now = now or timezone.now()
    if reason not in RefusalReason.values:
        raise PrescriptionError("motif_requis", "Le motif du refus est obligatoire.")
    if reason == RefusalReason.OTHER and not comment.strip():
        raise PrescriptionError("motif_requis", "Précisez le motif du refus.")

    def apply(locked):
        locked.answered_at = now
        locked.answered_by = actor if actor and actor.is_authenticated else None
        locked.answerer_name = actor_label or (str(actor) if actor and actor.is_authenticated else "")
        locked.refusal_reason = reason
        locked.answer_comment = comment.strip()

    with transaction.atomic():
        prescription = _answer(
            prescription,
            PrescriptionStatus.REFUSED,
            kind=EventKind.PRESCRIPTION_REFUSED,
            on=timezone.localdate(now),
            actor=actor,
            apply=apply,
            details={"reason": reason},
        )
        _log(
            prescription,
            PrescriptionLog.Action.REFUSED,
            PrescriptionStatus.OPEN,
            actor,
            prescription.answerer_name,
            f"{prescription.get_refusal_reason_display()}{' — ' + comment.strip() if comment.strip() else ''}",
        )
    return prescription


def renew_link(prescription, *, actor=None, request=None):
    """Renvoie le lien de réponse à la structure (nouveau lien valable ``answer_link_days`` jours)."""
    _check_open(prescription)
    _log(prescription, PrescriptionLog.Action.LINK_RENEWED, prescription.status, actor)
    return notify(prescription, request)


def process_due(now=None):
    """Tâche quotidienne : relances, expirations, anonymisation. Renvoie les nombres traités."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"expired": 0, "reminded": 0, "anonymised": 0}
    for prescription in Prescription.objects.filter(
        status=PrescriptionStatus.OPEN, expires_on__lte=today
    ).select_related("service", "structure", "beneficiary"):
        with transaction.atomic():
            try:
                prescription = _answer(
                    prescription,
                    PrescriptionStatus.EXPIRED,
                    kind=EventKind.PRESCRIPTION_EXPIRED,
                    on=prescription.expires_on,
                )
            except PrescriptionError:
                continue  # la structure a répondu entre-temps
            _log(
                prescription,
                PrescriptionLog.Action.EXPIRED,
                PrescriptionStatus.OPEN,
                actor_label="Parcours (sans réponse dans le délai)",
            )
        counts["expired"] += 1
    interval = datetime.timedelta(days=conf.get("prescription_reminder_days"))
    due = Prescription.objects.filter(status=PrescriptionStatus.OPEN).filter(
        Q(last_reminder_at__isnull=True, created_at__lte=now - interval)
        | Q(last_reminder_at__lte=now - interval)
    )
    for prescription in due.select_related("service", "structure"):
        prescription.reminder_count += 1
        prescription.last_reminder_at = now
        prescription.save(update_fields=["reminder_count", "last_reminder_at", "updated_at"])
        _log(
            prescription,
            PrescriptionLog.Action.REMINDED,
            prescription.status,
            actor_label="Parcours (relance)",
        )
        notify(prescription, reminder=True)
        counts["reminded"] += 1
    limit = now - datetime.timedelta(days=conf.get("prescription_anonymise_days"))
    old = Prescription.objects.filter(anonymised_at__isnull=True, created_at__lte=limit)
    for prescription in old:
        prescription.shared_data = {}
        prescription.message = ""
        prescription.answer_comment = ""
        prescription.answerer_name = ""
        prescription.recipient_email = ""
        prescription.link_nonce = secrets.token_hex(8)  # invalide tout lien encore en circulation
        prescription.anonymised_at = now
        prescription.save()
        _log(prescription, PrescriptionLog.Action.ANONYMISED, prescription.status, actor_label="Parcours")
        counts["anonymised"] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# Heures d'activité


def accepted_activities(beneficiary, on=None):
    """Prescriptions acceptées en cours à la date ``on`` (début prévu, sinon date d'acceptation)."""
    on = on or timezone.localdate()
    current = []
    for prescription in beneficiary.prescriptions.filter(status=PrescriptionStatus.ACCEPTED).select_related(
        "service"
    ):
        start = prescription.start_on or timezone.localdate(prescription.answered_at)
        if start > on:
            continue
        if prescription.nombre_semaines:
            end = start + datetime.timedelta(weeks=prescription.nombre_semaines)
            if on >= end:
                continue
        current.append(prescription)
    return current


def weekly_hours(beneficiary, on=None):
    """Heures hebdomadaires apportées par les prescriptions acceptées en cours (vers les 15-20 h)."""
    return sum(p.volume_horaire_hebdomadaire or 0 for p in accepted_activities(beneficiary, on))
