"""Le parcours d'une personne, possédé par un seul module : le suivi en cours et qui en a la charge.

**Suivi en cours** (annexe 4 de la convention, seed 002 : « pas de suivi en cours (pas d'orientation connue
ou de référent identifié) ») : il est **ouvert** par une orientation notifiée ou par la désignation d'un
référent, selon ce qui vient en premier ; il survit à une suspension courte ou à un aller-retour du top
« droits et devoirs » (l'accompagnement est seulement mis en veille) ; il est **clos** par une sortie, une
radiation (droit clos), une suspension de plus de 12 mois ou une fin de suivi explicite.

Une personne a au plus un suivi en cours (contrainte en base) : celui de l'organisation qui en a la
charge, avec son référent quand il est désigné. Une réorientation ou une désignation dans une autre
organisation clôt le suivi de la précédente et ouvre celui de la nouvelle ; c'est ce suivi qui rend la
personne visible de l'organisation (``Beneficiary.objects.visible_to``).

Un suivi couvre les jours ``started_on <= D < ended_on`` : clos le jour D, il n'est plus en cours ce jour-là
(un suivi ouvert puis clos le même jour — orientation annulée — n'a jamais été en cours).

Toutes les voies (pages, écrans par lot, API, connecteurs, imports, démonstration) passent par les fonctions
de ce module ou par celles de l'orientation et de l'accompagnement qui les appellent ; aucune n'écrit
``FollowUp`` ni ne ferme une désignation de référent elle-même.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from parcours.beneficiaries.models import Beneficiary, FollowUp, FollowUpCause, FollowUpEnd
from parcours.journal.models import EventKind
from parcours.journal.payload import Payload
from parcours.journal.services import record
from parcours.orientation.models import ReferentAssignment


class PathwayError(ValidationError):
    """Règle du parcours refusée (message en français, destiné à l'agent)."""


def _today(on=None):
    return on or timezone.localdate()


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _log(beneficiary, kind, *, on, actor=None, organisation=None, batch=None, **payload):
    return record(
        beneficiary, kind, on=on, actor=_actor(actor), organisation=organisation, batch=batch, **payload
    )


def lock(beneficiary):
    """Verrouille la ligne de la personne jusqu'à la fin de la transaction : deux changements de son parcours
    (page, API, import, connecteur) s'exécutent l'un après l'autre. À appeler dans ``transaction.atomic``."""
    Beneficiary.objects.select_for_update().filter(pk=beneficiary.pk).values_list("pk", flat=True).first()


# --- lecture ---------------------------------------------------------------------------------------------


def covering(queryset, on):
    """Lignes datées (``started_on`` / ``ended_on``) qui couvrent le jour ``on``."""
    return queryset.filter(started_on__lte=on).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))


def current_follow_up(beneficiary):
    return (
        FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True)
        .select_related("organisation", "referent")
        .first()
    )


def follow_up_in_progress(beneficiary, on=None):
    """Vrai si un suivi est en cours le jour ``on`` (défaut : aujourd'hui)."""
    return covering(FollowUp.objects.filter(beneficiary=beneficiary), _today(on)).exists()


@dataclass(frozen=True)
class InCharge:
    """Qui a la charge de la personne un jour donné."""

    follow_up: FollowUp | None
    organisation: object | None
    referent: object | None
    assignment: ReferentAssignment | None

    @property
    def in_progress(self):
        return self.follow_up is not None


def in_charge(beneficiary, on=None):
    """L'organisation (suivi en cours) et le référent (désignation en cours) le jour ``on``."""
    on = _today(on)
    follow_up = (
        covering(FollowUp.objects.filter(beneficiary=beneficiary), on)
        .select_related("organisation", "referent")
        .order_by("-started_on", "-pk")
        .first()
    )
    assignment = (
        covering(ReferentAssignment.objects.filter(beneficiary=beneficiary), on)
        .select_related("referent", "organisation")
        .order_by("-started_on", "-pk")
        .first()
    )
    return InCharge(
        follow_up=follow_up,
        organisation=follow_up.organisation if follow_up else None,
        referent=assignment.referent if assignment else None,
        assignment=assignment,
    )


def followed_on(beneficiaries, on):
    """Sous-requête : identifiants des personnes de ``beneficiaries`` ayant un suivi en cours le jour ``on``."""
    return (
        covering(FollowUp.objects.filter(beneficiary__in=beneficiaries.order_by().values("pk")), on)
        .order_by()
        .values_list("beneficiary_id", flat=True)
        .distinct()
    )


# --- écriture ---------------------------------------------------------------------------------------------


def _end_assignment_fields(assignment, on, reason):
    """Termine la désignation en mémoire ; renvoie la charge de l'événement ``referent_ended``."""
    assignment.ended_on = on
    assignment.end_reason = (reason or "").strip()[:300]
    return {
        Payload.ASSIGNMENT_ID: assignment.pk,
        Payload.REFERENT_ID: assignment.referent_id,
        Payload.REASON: assignment.end_reason,
    }


def _close_fields(follow_up, on, reason, end_cause):
    """Clôt le suivi en mémoire ; renvoie la charge de l'événement ``follow_up_closed``."""
    follow_up.ended_on = on
    follow_up.end_reason = reason[:200]
    follow_up.end_cause = end_cause
    return {
        Payload.ORGANISATION_ID: follow_up.organisation_id,
        Payload.REFERENT_ID: follow_up.referent_id,
        Payload.REASON: follow_up.end_reason,
        Payload.END_CAUSE: end_cause,
    }


def end_assignment(assignment, *, on, reason, actor=None, batch=None):
    """Termine une désignation de référent (journalisée). Les contrôles métier sont faits par l'appelant."""
    payload = _end_assignment_fields(assignment, on, reason)
    assignment.save(update_fields=["ended_on", "end_reason"])
    _log(
        assignment.beneficiary,
        EventKind.REFERENT_ENDED,
        on=on,
        actor=actor,
        organisation=assignment.organisation,
        batch=batch,
        **payload,
    )
    return assignment


def _close(follow_up, *, on, reason, end_cause, actor=None, batch=None):
    payload = _close_fields(follow_up, on, reason, end_cause)
    follow_up.save(update_fields=["ended_on", "end_reason", "end_cause"])
    _log(
        follow_up.beneficiary,
        EventKind.FOLLOW_UP_CLOSED,
        on=on,
        actor=actor,
        organisation=follow_up.organisation,
        batch=batch,
        **payload,
    )
    return follow_up


@transaction.atomic
def open_follow_up(beneficiary, *, organisation, on, cause, actor=None, referent=None, batch=None):
    """Ouvre (ou reprend) le suivi de la personne par ``organisation`` à la date ``on``.

    Même organisation déjà en charge : le suivi continue (le référent est mis à jour s'il est donné).
    Autre organisation : son suivi est clos ce jour-là (et la désignation de son référent terminée), celui de
    la nouvelle ouvert.
    """
    if cause not in FollowUpCause.values:
        raise PathwayError(f"Ouverture du suivi : cause inconnue « {cause} ».")
    lock(beneficiary)
    current = FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True).first()
    if current is not None and current.organisation_id == organisation.pk:
        if referent is not None and current.referent_id != referent.pk:
            current.referent = referent
            current.save(update_fields=["referent"])
        return current
    if current is not None:
        if on < current.started_on:
            raise PathwayError(
                f"Date : antérieure au début du suivi en cours ({current.started_on:%d/%m/%Y}, "
                f"{current.organisation})."
            )
        reason = f"Prise en charge par {organisation}"
        for assignment in ReferentAssignment.objects.filter(
            beneficiary=beneficiary, ended_on__isnull=True
        ).exclude(organisation=organisation):
            end_assignment(assignment, on=on, reason=reason, actor=actor, batch=batch)
        _close(current, on=on, reason=reason, end_cause=FollowUpEnd.TRANSFER, actor=actor, batch=batch)
    follow_up = FollowUp.objects.create(
        beneficiary=beneficiary,
        organisation=organisation,
        referent=referent,
        started_on=on,
        cause=cause,
    )
    _log(
        beneficiary,
        EventKind.FOLLOW_UP_OPENED,
        on=on,
        actor=actor,
        organisation=organisation,
        batch=batch,
        organisation_id=organisation.pk,
        referent_id=referent.pk if referent else None,
        cause=cause,
    )
    return follow_up


@transaction.atomic
def close_follow_up(beneficiary, *, on, reason, end_cause, actor=None, batch=None):
    """Clôt le suivi en cours (et la désignation du référent) : sortie, radiation, suspension de plus de
    12 mois, fin explicite (``end_cause`` : ``FollowUpEnd``). Sans suivi en cours, ne fait rien et renvoie
    None."""
    if end_cause not in FollowUpEnd.values:
        raise PathwayError(f"Fin du suivi : cause inconnue « {end_cause} ».")
    lock(beneficiary)
    for assignment in ReferentAssignment.objects.filter(beneficiary=beneficiary, ended_on__isnull=True):
        end_assignment(assignment, on=max(on, assignment.started_on), reason=reason, actor=actor, batch=batch)
    current = FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True).first()
    if current is None:
        return None
    return _close(
        current, on=max(on, current.started_on), reason=reason, end_cause=end_cause, actor=actor, batch=batch
    )


def end_follow_up(beneficiary, *, on, reason, author, batch=None):
    """Fin de suivi explicite (décision de l'organisation en charge, reprise d'un autre logiciel)."""
    reason = (reason or "").strip()
    errors = {}
    if on is None:
        errors["on"] = "Date de fin du suivi : obligatoire."
    elif on > timezone.localdate():
        errors["on"] = "Date de fin du suivi : elle ne peut pas être future."
    if not reason:
        errors["reason"] = "Motif de fin du suivi : obligatoire."
    if errors:
        raise PathwayError(errors)
    from parcours.orientation.permissions import require_follower

    require_follower(author, beneficiary, "Fin du suivi")
    with transaction.atomic():
        lock(beneficiary)
        current = FollowUp.objects.filter(beneficiary=beneficiary, ended_on__isnull=True).first()
        if current is None:
            raise PathwayError(f"{beneficiary.full_name} n'a pas de suivi en cours.")
        if on < current.started_on:
            raise PathwayError(
                {"on": f"Date de fin du suivi : antérieure à son début ({current.started_on:%d/%m/%Y})."}
            )
        return close_follow_up(
            beneficiary, on=on, reason=reason, end_cause=FollowUpEnd.EXPLICIT, actor=author, batch=batch
        )


@transaction.atomic
def undo_orientation_follow_up(decision, *, on, actor=None):
    """Orientation annulée : le suivi qu'elle avait ouvert (sans référent désigné depuis) n'a jamais existé —
    il est clos le jour même de son ouverture, et le suivi précédent n'est pas rouvert (l'orientation
    précédente, si elle redevient en vigueur, est reprise par ``open_follow_up``)."""
    lock(decision.beneficiary)
    follow_up = FollowUp.objects.filter(
        beneficiary=decision.beneficiary,
        organisation=decision.organisation,
        ended_on__isnull=True,
        cause=FollowUpCause.ORIENTATION,
        referent__isnull=True,
        started_on=decision.notified_on,
    ).first()
    if follow_up is None:
        return None
    _close(
        follow_up,
        on=follow_up.started_on,
        reason="Orientation annulée",
        end_cause=FollowUpEnd.CANCELLED,
        actor=actor,
    )
    transferred = (
        FollowUp.objects.filter(
            beneficiary=decision.beneficiary, end_cause=FollowUpEnd.TRANSFER, ended_on=follow_up.started_on
        )
        .order_by("-pk")
        .first()
    )
    if transferred is not None:
        transfer_reason = transferred.end_reason
        transferred.ended_on, transferred.end_reason, transferred.end_cause = None, "", ""
        transferred.save(update_fields=["ended_on", "end_reason", "end_cause"])
        _log(
            decision.beneficiary,
            EventKind.FOLLOW_UP_OPENED,
            on=on,
            actor=actor,
            organisation=transferred.organisation,
            organisation_id=transferred.organisation_id,
            referent_id=transferred.referent_id,
            cause=transferred.cause,
        )
        for assignment in ReferentAssignment.objects.filter(
            beneficiary=decision.beneficiary,
            organisation=transferred.organisation,
            ended_on=follow_up.started_on,
            end_reason=transfer_reason[:300],
        ):
            assignment.ended_on, assignment.end_reason = None, ""
            assignment.save(update_fields=["ended_on", "end_reason"])
            _log(
                decision.beneficiary,
                EventKind.REFERENT_ASSIGNED,
                on=on,
                actor=actor,
                organisation=assignment.organisation,
                assignment_id=assignment.pk,
                referent_id=assignment.referent_id,
            )
    return follow_up


def close_in_bulk(closings):
    """Clôture en masse, pour l'import d'un flux (radiations, suspensions de plus de 12 mois) : ``closings`` est
    une liste de ``(personne, date, motif, cause)``. Les suivis en cours et les désignations de référent de ces
    personnes sont clos (lignes verrouillées) ; renvoie les événements du journal à écrire, en tuples
    ``(personne, type, date, données)`` que l'import écrit avec les siens."""
    if not closings:
        return []
    by_person = {person.pk: (person, on, reason, cause) for person, on, reason, cause in closings}
    events = []
    assignments = list(
        ReferentAssignment.objects.select_for_update()
        .filter(beneficiary_id__in=by_person, ended_on__isnull=True)
        .order_by("pk")
    )
    for assignment in assignments:
        person, on, reason, _cause = by_person[assignment.beneficiary_id]
        on = max(on, assignment.started_on)
        events.append((person, EventKind.REFERENT_ENDED, on, _end_assignment_fields(assignment, on, reason)))
    follow_ups = list(
        FollowUp.objects.select_for_update()
        .filter(beneficiary_id__in=by_person, ended_on__isnull=True)
        .order_by("pk")
    )
    for follow_up in follow_ups:
        person, on, reason, cause = by_person[follow_up.beneficiary_id]
        on = max(on, follow_up.started_on)
        events.append((person, EventKind.FOLLOW_UP_CLOSED, on, _close_fields(follow_up, on, reason, cause)))
    ReferentAssignment.objects.bulk_update(assignments, ["ended_on", "end_reason"], batch_size=1000)
    FollowUp.objects.bulk_update(follow_ups, ["ended_on", "end_reason", "end_cause"], batch_size=1000)
    return events
