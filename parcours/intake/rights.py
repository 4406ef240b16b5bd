"""Ce que dit un flux d'une personne : droit du foyer, historique mois par mois (``RightSnapshot``), top
« droits et devoirs », nouvel entrant (règle de l'annexe 4, ``rules.evaluate_new_entrant``) et clôture du suivi
en cas de radiation ou de suspension de plus de 12 mois (par le module du parcours). Un sujet de l'import, à part
du moteur qui lit, rapproche et écrit les paquets.
"""

from dataclasses import dataclass

from parcours.beneficiaries.models import CLOSED_STATES, FollowUpEnd, RightSnapshot, RsaRight
from parcours.journal.models import EventKind
from parcours.journal.payload import Payload

from .rules import PreviousState, evaluate_new_entrant, next_suspended_since


@dataclass
class PendingSnapshot:
    snapshot: RightSnapshot
    is_new: bool


class RightsRecorder:
    """Consigne les droits et situations d'un paquet de lignes ; le moteur d'import écrit ensuite en masse.

    ``event(personne, type, date, charge)`` construit un événement du journal (vérifié), ``reference_date(ligne)``
    donne la date de référence d'une ligne, ``warn(ligne, champ, message)`` écrit dans le rapport."""

    def __init__(self, *, batch, initial_stock, suspension_limit, report, warn, reference_date, event):
        self.batch = batch
        self.initial_stock = initial_stock
        self.suspension_limit = suspension_limit
        self.report = report
        self.warn = warn
        self.reference_date = reference_date
        self.event = event

    def collect_right(self, household, row, to_create, to_update):
        key = id(household)
        if key in to_create or (household.pk and household.pk in to_update):
            return
        ref_date = self.reference_date(row)
        right = getattr(household, "right", None) if household.pk else None
        if right is None:
            right = RsaRight()
            to_create[key] = (household, right)
        elif right.last_reference_date and right.last_reference_date > ref_date:
            return  # flux plus ancien que le dernier connu : l'état courant ne change pas
        before = (
            right.rsa_number,
            right.requested_on,
            right.opened_on,
            right.state,
            right.suspension_reason,
            right.closure_reason,
            right.closed_on,
            right.last_reference_date,
        )
        if right.state != row.right_state:
            right.state_since = ref_date
        right.state = row.right_state
        right.rsa_number = row.rsa_number or right.rsa_number
        right.requested_on = row.requested_on or right.requested_on
        right.opened_on = row.opened_on or right.opened_on
        right.suspension_reason = row.suspension_reason or ""
        right.closure_reason = row.closure_reason or ""
        right.closed_on = row.closed_on
        right.last_reference_date = ref_date
        after = (
            right.rsa_number,
            right.requested_on,
            right.opened_on,
            right.state,
            right.suspension_reason,
            right.closure_reason,
            right.closed_on,
            right.last_reference_date,
        )
        if right.pk and before != after:
            to_update[household.pk] = right

    # ---- situation de la personne, historique et nouvel entrant

    def apply_right(self, person, row, snapshots_at, pending, open_follow_ups, to_close, events):
        """Consigne ce que dit le flux. Renvoie "changed" (état, top SDD ou nouvel entrant), "recorded"
        (historique complété, état inchangé) ou None (rien de nouveau)."""
        ref_date = self.reference_date(row)
        received_on = self.batch.received_on
        values = {
            "state": row.right_state,
            "sdd": row.sdd,
            "cnaf_new_entrant": row.cnaf_new_entrant,
            "activity_income": row.activity_income,
            "requested_on": row.requested_on,
            "opened_on": row.opened_on,
            "suspension_reason": row.suspension_reason or "",
            "suspended_since": row.suspended_since,
            "closure_reason": row.closure_reason or "",
            "closed_on": row.closed_on,
        }
        key = (id(person), ref_date)
        if key in pending:  # la même personne deux fois dans le fichier, à la même date
            # Comme si la première ligne était déjà en base (paquet précédent) : la dernière ligne l'emporte, pour
            # l'historique comme pour l'état courant ; le résultat ne dépend pas du découpage en paquets.
            snap = pending[key].snapshot
            if all(getattr(snap, name) == value for name, value in values.items()):
                return None
            for name, value in values.items():
                setattr(snap, name, value)
            if person.last_flux_on and person.last_flux_on > ref_date:
                return "recorded"
            person.rsa_state, person.is_sdd = row.right_state, row.sdd
            return "changed"
        existing = snapshots_at.get((person.pk, ref_date)) if person.pk else None
        if existing is not None:
            if all(getattr(existing, name) == value for name, value in values.items()):
                return None  # déjà importé : rien ne change
            for name, value in values.items():
                setattr(existing, name, value)
            existing.batch = self.batch
            existing.received_on = received_on
            pending[key] = PendingSnapshot(existing, is_new=False)
            if person.last_flux_on and person.last_flux_on > ref_date:
                return "recorded"
            person.rsa_state, person.is_sdd = row.right_state, row.sdd
            return "changed"

        if person.last_flux_on and person.last_flux_on > ref_date:
            # Flux plus ancien que le dernier importé : on complète l'historique sans toucher à l'état courant.
            pending[key] = PendingSnapshot(
                RightSnapshot(
                    beneficiary=person,
                    batch=self.batch,
                    reference_date=ref_date,
                    received_on=received_on,
                    **values,
                ),
                is_new=True,
            )
            self.warn(
                row.row,
                "date_reference",
                "Flux antérieur au dernier flux importé pour cette personne : historique complété, état courant "
                "inchangé.",
            )
            return "recorded"

        previous = None
        if person.pk and person.last_flux_on and person.rsa_state:
            previous = PreviousState(person.rsa_state, bool(person.is_sdd), person.suspended_since)
            latest = snapshots_at.get((person.pk, person.last_flux_on))
            if (
                latest is not None
                and latest.reference_date.replace(day=1) == ref_date.replace(day=1)
                and all(getattr(latest, name) == value for name, value in values.items())
            ):
                return None  # même mois, même contenu : rien de nouveau à consigner

        follow_ups = open_follow_ups.get(person.pk, []) if person.pk else []
        decision = evaluate_new_entrant(
            state=row.right_state,
            sdd=row.sdd,
            previous=previous,
            follow_up_in_progress=bool(follow_ups),
            reference_date=ref_date,
            suspension_limit_months=self.suspension_limit,
        )
        is_new_entrant = decision.is_new_entrant and not self.initial_stock
        pending[key] = PendingSnapshot(
            RightSnapshot(
                beneficiary=person,
                batch=self.batch,
                reference_date=ref_date,
                received_on=received_on,
                **values,
            ),
            is_new=True,
        )

        if decision.close_follow_up_reason and follow_ups:
            # Radiation ou suspension de plus de 12 mois : le suivi et la désignation du référent sont clos par le
            # module du parcours, en masse à la fin du paquet.
            end_cause = FollowUpEnd.RADIATION if row.right_state in CLOSED_STATES else FollowUpEnd.SUSPENSION
            to_close.append((person, ref_date, decision.close_follow_up_reason, end_cause))
            open_follow_ups[person.pk] = []

        prev_state = previous.state if previous else None
        if prev_state != row.right_state:
            if row.right_state in CLOSED_STATES:
                kind = EventKind.RIGHT_CLOSED
            elif prev_state is None or prev_state in CLOSED_STATES:
                kind = EventKind.RIGHT_OPENED
            else:
                kind = EventKind.RIGHT_STATE_CHANGED
            payload = {
                Payload.STATE: row.right_state,
                Payload.PREVIOUS_STATE: prev_state,
                Payload.SUSPENSION_REASON: row.suspension_reason,
                Payload.CLOSURE_REASON: row.closure_reason,
                Payload.OPENED_ON: row.opened_on,
            }
            events.append(self.event(person, kind, ref_date, payload))
        prev_sdd = previous.sdd if previous else None
        if row.sdd and not prev_sdd:
            events.append(self.event(person, EventKind.BECAME_SDD, ref_date, {}))
        elif not row.sdd and prev_sdd:
            events.append(self.event(person, EventKind.LEFT_SDD, ref_date, {}))

        if is_new_entrant:
            person.new_entrant_t0 = received_on
            self.report.new_entrants += 1
            events.append(
                self.event(
                    person,
                    EventKind.NEW_ENTRANT,
                    received_on,
                    {
                        Payload.T0: received_on,
                        Payload.REFERENCE_DATE: ref_date,
                        Payload.REASON: decision.reason,
                        Payload.CNAF_NEW_ENTRANT: row.cnaf_new_entrant,
                    },
                )
            )
        if (
            row.cnaf_new_entrant is not None
            and not self.initial_stock
            and row.cnaf_new_entrant != is_new_entrant
        ):
            self.report.disagreements.append(
                {
                    "row": row.row,
                    "person": f"{row.first_name or ''} {row.last_name or ''}".strip(),
                    "matricule": row.matricule,
                    "cnaf": row.cnaf_new_entrant,
                    "regle": is_new_entrant,
                    "message": (
                        f"TOPPERSENTDRODEVORSA = {int(row.cnaf_new_entrant)} mais la règle de l'annexe 4 dit "
                        f"{'nouvel entrant' if is_new_entrant else 'pas nouvel entrant'} : {decision.reason}."
                    ),
                }
            )

        person.suspended_since = next_suspended_since(
            state=row.right_state,
            previous=previous,
            row_suspended_since=row.suspended_since,
            reference_date=ref_date,
        )
        person.rsa_state = row.right_state
        person.is_sdd = row.sdd
        person.last_flux_on = ref_date
        if prev_state != row.right_state or prev_sdd != row.sdd or is_new_entrant:
            return "changed"
        return "recorded"
