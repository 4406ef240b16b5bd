"""Décision d'orientation : décision, notification (qui ouvre le suivi), annulation, écran par lot ;
dispenses d'orientation ; demandes et décisions de réorientation."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Q,
)
from django.template.loader import select_template

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.journal.models import EventKind
from parcours.journal.transitions import Workflow, transition
from parcours.pathway import services as pathways

from . import permissions
from .common import copy_back, default_today, log_event
from .models import (
    DECISION_TRANSITIONS,
    DecisionStatus,
    ExemptionReason,
    OrientationDecision,
    OrientationExemption,
    Pathway,
    ReorientationRequest,
    RequestStatus,
)

# --- décision d'orientation -------------------------------------------------------------------------------


def orientation_organisations(departement):
    """Organismes vers lesquels le Département peut orienter (lui-même et ses partenaires)."""
    return Organisation.objects.filter(Q(pk=departement.pk) | Q(departement=departement)).exclude(
        kind__in=[OrganisationKind.ETAT, OrganisationKind.STRUCTURE]
    )


def current_orientation(beneficiary):
    return beneficiary.orientation_decisions.filter(is_current=True).select_related("organisation").first()


DECISION_WORKFLOW = Workflow("Orientation", DecisionStatus, DECISION_TRANSITIONS)


@transaction.atomic
def transition_decision(decision, to_status, *, actor, on, reason=""):
    """Seule fonction qui change le statut d'une décision : notification (qui ouvre le suivi) ou annulation.

    Passage par ``journal.transitions`` : personne et décision verrouillées, table des passages, événement du
    journal dans la même transaction."""
    permissions.require_team(actor, decision.beneficiary, "Orientation")
    beneficiary = decision.beneficiary
    pathways.lock(beneficiary)
    before = {}

    def apply(locked):
        before["notified"] = locked.status == DecisionStatus.NOTIFIED
        before["current"] = locked.is_current
        if to_status == DecisionStatus.NOTIFIED:
            if on < locked.decided_on:
                raise ValidationError({"notified_on": "Date de notification : antérieure à la décision."})
            locked.notified_on = on
        else:
            if not reason:
                raise ValidationError({"reason": "Motif de l'annulation : obligatoire."})
            locked.is_current = False

    if to_status == DecisionStatus.NOTIFIED:
        event = EventKind.REORIENTED if decision.is_reorientation else EventKind.ORIENTED

        def payload(locked, _previous):
            return {
                "decision_id": locked.pk,
                "pathway": locked.pathway,
                "code": locked.france_travail_code,
                "decided_on": locked.decided_on,
            }

        organisation = decision.organisation
    else:
        event = EventKind.ORIENTATION_CANCELLED

        def payload(locked, _previous):
            return {"decision_id": locked.pk, "reason": reason}

        organisation = None
    locked = transition(
        decision,
        to_status,
        workflow=DECISION_WORKFLOW,
        actor=actor if getattr(actor, "pk", None) else None,
        on=on,
        event=event,
        payload=payload,
        apply=apply,
        organisation=organisation,
    )
    copy_back(decision, locked)
    if to_status == DecisionStatus.NOTIFIED:
        # Annexe 4 : une orientation notifiée ouvre le suivi (l'organisation d'orientation en a la charge).
        pathways.open_follow_up(
            beneficiary, organisation=decision.organisation, on=on, cause="orientation", actor=actor
        )
        return decision
    if before["current"]:
        previous = (
            beneficiary.orientation_decisions.exclude(status=DecisionStatus.CANCELLED)
            .exclude(pk=decision.pk)
            .order_by("-decided_on", "-pk")
            .first()
        )
        if previous:
            previous.is_current = True
            previous.save(update_fields=["is_current"])
    if before["notified"]:
        pathways.undo_orientation_follow_up(decision, on=on, actor=actor)
    return decision


@transaction.atomic
def decide_orientation(
    beneficiary,
    *,
    pathway,
    organisation,
    author,
    decided_on=None,
    notified_on=None,
    reason="",
    proposal_rule="",
    is_reorientation=None,
):
    """Décision d'orientation (elle devient l'orientation en vigueur ; l'ancienne reste dans l'historique).

    ``notified_on`` : date d'envoi du courrier de notification (ou de désignation du référent) ; sans elle,
    la décision attend d'être notifiée (``notify_orientation``). C'est la date de notification qui compte
    pour l'objectif des 15 jours et fait courir le délai du contrat d'engagement.
    """
    permissions.require_team(author, beneficiary, "Orientation")
    decided_on = default_today(decided_on)
    if pathway not in Pathway.values:
        raise ValidationError({"pathway": f"Parcours : « {pathway} » n'est pas un parcours connu."})
    if organisation is None:
        raise ValidationError({"organisation": "Organisme d'orientation : obligatoire."})
    departement_id = beneficiary.departement_id
    if organisation.pk != departement_id and organisation.departement_id != departement_id:
        raise ValidationError(
            {
                "organisation": f"Organisme d'orientation : {organisation} ne relève pas du Département de la personne."
            }
        )
    pathways.lock(beneficiary)
    previous = current_orientation(beneficiary)
    if is_reorientation is None:
        t0 = beneficiary.new_entrant_t0
        is_reorientation = bool(
            previous
            and previous.status == DecisionStatus.NOTIFIED
            and (t0 is None or previous.decided_on >= t0)
        )
    if previous:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
        if previous.status == DecisionStatus.DECIDED:
            # Décision jamais notifiée, remplacée : elle ne prendra jamais effet.
            previous.status = DecisionStatus.CANCELLED
            previous.save(update_fields=["status"])
            log_event(
                beneficiary,
                EventKind.ORIENTATION_CANCELLED,
                on=decided_on,
                actor=author,
                decision_id=previous.pk,
                reason="Remplacée par une nouvelle décision avant sa notification",
            )
    decision = OrientationDecision.objects.create(
        beneficiary=beneficiary,
        pathway=pathway,
        organisation=organisation,
        decided_on=decided_on,
        reason=reason,
        proposal_rule=proposal_rule,
        decided_by=author,
        is_reorientation=is_reorientation,
    )
    log_event(
        beneficiary,
        EventKind.ORIENTATION_DECIDED,
        on=decided_on,
        actor=author,
        organisation=organisation,
        decision_id=decision.pk,
        pathway=pathway,
        code=decision.france_travail_code,
        reorientation=is_reorientation or None,
        previous_decision_id=previous.pk if previous else None,
    )
    if notified_on:
        transition_decision(decision, DecisionStatus.NOTIFIED, actor=author, on=notified_on)
    return decision


def notify_orientation(decision, *, author, notified_on=None):
    return transition_decision(decision, DecisionStatus.NOTIFIED, actor=author, on=default_today(notified_on))


def cancel_orientation(decision, *, author, reason, on=None):
    return transition_decision(
        decision, DecisionStatus.CANCELLED, actor=author, on=default_today(on), reason=reason
    )


def render_decision_letter(decision):
    """Courrier de notification d'une orientation (gabarit par Département, sinon gabarit commun)."""
    person = decision.beneficiary
    code = person.departement.departement_code if person.departement else ""
    names = [f"orientation/messages/{code}/decision_letter.html"] if code else []
    template = select_template([*names, "orientation/messages/decision_letter.html"])
    return template.render(
        {"decision": decision, "person": person, "departement": person.departement}
    ).strip()


def orientation_history(beneficiary):
    return beneficiary.orientation_decisions.select_related("organisation", "decided_by").order_by(
        "-decided_on", "-pk"
    )


# --- dispenses --------------------------------------------------------------------------------------------


@transaction.atomic
def add_exemption(beneficiary, *, reason, author, starts_on=None, ends_on=None, details=""):
    permissions.require_team(author, beneficiary, "Dispense")
    starts_on = default_today(starts_on)
    if reason not in ExemptionReason.values:
        raise ValidationError({"reason": "Motif de dispense : choisissez un motif de la liste."})
    if reason == ExemptionReason.OTHER and not details.strip():
        raise ValidationError({"details": "Précisions : obligatoires pour un autre motif."})
    if ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": "Fin de la dispense : antérieure à son début."})
    exemption = OrientationExemption.objects.create(
        beneficiary=beneficiary,
        reason=reason,
        details=details.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        decided_by=author,
    )
    log_event(
        beneficiary,
        EventKind.ORIENTATION_EXEMPTED,
        on=starts_on,
        actor=author,
        exemption_id=exemption.pk,
        reason=reason,
        ends_on=ends_on.isoformat() if ends_on else None,
    )
    return exemption


@transaction.atomic
def end_exemption(exemption, *, author, ended_on=None):
    permissions.require_team(author, exemption.beneficiary, "Dispense")
    ended_on = default_today(ended_on)
    if exemption.ends_on and exemption.ends_on < ended_on:
        raise ValidationError("Cette dispense est déjà terminée.")
    exemption.ends_on = ended_on
    exemption.save(update_fields=["ends_on"])
    log_event(
        exemption.beneficiary,
        EventKind.ORIENTATION_EXEMPTION_ENDED,
        on=ended_on,
        actor=author,
        exemption_id=exemption.pk,
    )
    return exemption


def active_exemption(beneficiary, today=None):
    today = default_today(today)
    return (
        beneficiary.orientation_exemptions.filter(starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .first()
    )


# --- réorientation ----------------------------------------------------------------------------------------


@transaction.atomic
def request_reorientation(beneficiary, *, pathway, reason, author, requested_on=None, organisation=None):
    """Demande de réorientation (référent ou personne) : à décider par un chargé d'orientation."""
    requested_on = default_today(requested_on)
    if current_orientation(beneficiary) is None:
        raise ValidationError("Réorientation impossible : la personne n'a pas encore d'orientation.")
    if pathway not in Pathway.values:
        raise ValidationError({"pathway": "Parcours demandé : choisissez un parcours."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Motif de la demande : obligatoire."})
    if beneficiary.reorientation_requests.filter(status=RequestStatus.PENDING).exists():
        raise ValidationError("Une demande de réorientation est déjà en attente pour cette personne.")
    request = ReorientationRequest.objects.create(
        beneficiary=beneficiary,
        requested_pathway=pathway,
        requested_organisation=organisation,
        reason=reason.strip(),
        requested_on=requested_on,
        requested_by=author,
    )
    log_event(
        beneficiary,
        EventKind.REORIENTATION_REQUESTED,
        on=requested_on,
        actor=author,
        request_id=request.pk,
        pathway=pathway,
        organisation_id=organisation.pk if organisation else None,
    )
    return request


@transaction.atomic
def decide_reorientation(
    request, *, accept, author, decided_on=None, reason="", organisation=None, pathway=None, notified_on=None
):
    """Décision d'un chargé d'orientation (ou administrateur) du Département sur une demande de réorientation."""
    decided_on = default_today(decided_on)
    beneficiary = request.beneficiary
    if not permissions.can_manage(author, beneficiary):
        raise ValidationError(
            "Seul un chargé d'orientation du Département de la personne décide d'une réorientation."
        )
    if request.status != RequestStatus.PENDING:
        raise ValidationError("Cette demande de réorientation a déjà été décidée.")
    if not accept and not (reason or "").strip():
        raise ValidationError({"reason": "Motif du refus : obligatoire."})
    decision = None
    if accept:
        organisation = organisation or request.requested_organisation
        if organisation is None:
            raise ValidationError({"organisation": "Organisme d'orientation : obligatoire."})
        decision = decide_orientation(
            beneficiary,
            pathway=pathway or request.requested_pathway,
            organisation=organisation,
            author=author,
            decided_on=decided_on,
            notified_on=notified_on,
            reason=reason or request.reason,
            is_reorientation=True,
        )
    request.status = RequestStatus.ACCEPTED if accept else RequestStatus.REFUSED
    request.decided_on = decided_on
    request.decided_by = author
    request.decision_reason = (reason or "").strip()
    request.resulting_decision = decision
    request.save()
    log_event(
        beneficiary,
        EventKind.REORIENTATION_ACCEPTED if accept else EventKind.REORIENTATION_REFUSED,
        on=decided_on,
        actor=author,
        request_id=request.pk,
        decision_id=decision.pk if decision else None,
        reason=request.decision_reason,
    )
    return request


def pending_reorientation_requests(scope):
    return (
        ReorientationRequest.objects.filter(beneficiary__in=scope.values("pk"), status=RequestStatus.PENDING)
        .select_related("beneficiary", "requested_by", "requested_organisation")
        .order_by("requested_on", "pk")
    )


@dataclass
class BatchResult:
    decided: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # (personne, motif)


def validate_orientations(items, *, author, decided_on=None, notified_on=None):
    """Écran par lot : ``items`` = [(personne, parcours, organisme, critère)], une décision par personne."""
    result = BatchResult()
    for person, chosen_pathway, organisation, rule in items:
        if not permissions.can_manage(author, person):
            result.errors.append((person, "hors de votre périmètre"))
            continue
        pending = current_orientation(person)
        try:
            if (
                pending is not None
                and pending.status == DecisionStatus.DECIDED
                and pending.pathway == chosen_pathway
                and organisation is not None
                and pending.organisation_id == organisation.pk
            ):
                # La décision en attente est celle que l'écran propose : elle est notifiée, pas refaite.
                if notified_on:
                    notify_orientation(pending, author=author, notified_on=notified_on)
                result.decided.append(pending)
                continue
            result.decided.append(
                decide_orientation(
                    person,
                    pathway=chosen_pathway,
                    organisation=organisation,
                    author=author,
                    decided_on=decided_on,
                    notified_on=notified_on,
                    proposal_rule=rule or "",
                )
            )
        except ValidationError as error:
            result.errors.append((person, " ".join(error.messages)))
    return result
