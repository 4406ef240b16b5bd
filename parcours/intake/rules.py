"""Règle du « nouvel entrant » de l'annexe 4 de la convention (seed 002), écrite une seule fois.

Trois critères cumulatifs :
1. avoir un droit **versable** (ETATDOSRSA = 2) ;
2. être soumis aux droits et devoirs maintenant **et ne pas l'avoir été en M-1** (au flux précédent,
   avec un droit versable : une personne suspendue n'est pas dans le public des droits et devoirs) ;
3. **pas de suivi en cours** (ni orientation connue ni référent désigné), sachant que l'accompagnement
   est clos pour les personnes radiées (droit clos) et pour celles suspendues depuis plus de 12 mois.

Inclus de ce fait : primo-demandeurs, radiés qui reviennent, personnes qui emménagent dans le
Département ou rejoignent un foyer au RSA (absentes du flux précédent), personnes qui passent sous le
seuil de 500 € de revenus d'activité (redeviennent soumises), suspendues depuis plus de 12 mois.
Exclus : non soumis (au-dessus du seuil), allers-retours autour du top « droits et devoirs » dont
l'accompagnement est seulement mis en veille (suivi en cours), suspendus depuis moins de 12 mois qui
reprennent avec leur référent (suivi en cours).

La file d'attente d'orientation, l'import et les indicateurs appellent cette fonction ; aucun ne la
réécrit.
"""

import calendar
import datetime
from dataclasses import dataclass

from parcours.beneficiaries.models import CLOSED_STATES, PAYABLE_STATES, SUSPENDED_STATES


@dataclass(frozen=True)
class PreviousState:
    """Ce que disait le flux précédent de la personne (M-1)."""

    state: str
    sdd: bool
    suspended_since: datetime.date | None = None


@dataclass(frozen=True)
class Decision:
    is_new_entrant: bool
    reason: str
    close_follow_up_reason: str | None = None


def add_months(day, months):
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def suspension_exceeds(suspended_since, reference_date, limit_months):
    """Vrai si la suspension commencée le ``suspended_since`` dure depuis plus de ``limit_months`` mois."""
    return suspended_since is not None and add_months(suspended_since, limit_months) < reference_date


def evaluate_new_entrant(
    *, state, sdd, previous, follow_up_in_progress, reference_date, suspension_limit_months=12
):
    """Décide si la personne entre dans le public des nouveaux entrants à cette date de référence.

    ``previous`` est l'état du flux précédent (None si la personne n'y figurait pas). Renvoie aussi, le
    cas échéant, le motif pour lequel le suivi en cours doit être clos (radiation, suspension > 12 mois).
    """
    close_reason = None
    if state in CLOSED_STATES:
        close_reason = "Droit clos : accompagnement clos (radiation)"
    elif (
        previous is not None
        and previous.state in SUSPENDED_STATES
        and state not in SUSPENDED_STATES
        and suspension_exceeds(previous.suspended_since, reference_date, suspension_limit_months)
    ):
        close_reason = f"Suspension de plus de {suspension_limit_months} mois : accompagnement clos"
    follow_up = follow_up_in_progress and close_reason is None

    if state not in PAYABLE_STATES:
        return Decision(False, "droit non versable", close_reason)
    if not sdd:
        return Decision(False, "non soumis aux droits et devoirs", close_reason)
    if previous is not None and previous.sdd and previous.state in PAYABLE_STATES:
        return Decision(False, "déjà soumis aux droits et devoirs au flux précédent", close_reason)
    if follow_up:
        return Decision(False, "suivi en cours (orientation connue ou référent désigné)", close_reason)

    if previous is None:
        reason = "absent du flux précédent (première demande, arrivée dans le Département ou dans un foyer)"
    elif previous.state in CLOSED_STATES:
        reason = "retour après radiation"
    elif previous.state in SUSPENDED_STATES:
        reason = (
            f"retour après une suspension de plus de {suspension_limit_months} mois"
            if close_reason
            else "retour de suspension sans suivi en cours"
        )
    elif not previous.sdd:
        reason = "devient soumis aux droits et devoirs (passage sous le seuil de revenus d'activité)"
    else:
        reason = "droit redevenu versable et soumis aux droits et devoirs"
    return Decision(True, reason, close_reason)


def next_suspended_since(*, state, previous, row_suspended_since, reference_date):
    """Date de début de la suspension en cours (None si le droit n'est pas suspendu)."""
    if state not in SUSPENDED_STATES:
        return None
    if previous is not None and previous.state in SUSPENDED_STATES and previous.suspended_since:
        return previous.suspended_since
    return row_suspended_since or reference_date
