"""Comités : qui les voit, qui les tient, et le cycle de vie d'une réunion (prévue, tenue, procès-verbal
arrêté, annulée). Les pages, la démonstration et les tests appellent ces fonctions ; aucune règle dans les vues.

Lecture : administrateurs et responsables du Département, et ceux des services de l'État qui lui sont rattachés
(mêmes lecteurs que les conventions, dont le comité de pilotage suit la mise en œuvre). Écriture (secrétariat du
comité) : administrateurs du Département. Un procès-verbal arrêté ne se modifie plus."""

import dataclasses
import datetime
from types import MappingProxyType

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from parcours.accounts.roles import ADMINISTERING
from parcours.conventions.models import departements_for, readable_departements
from parcours.indicators.definitions import DEFINITIONS, beneficiary_scope, compute_indicators
from parcours.journal.transitions import Workflow, transition

from .models import Committee, Decision, FrozenFigures, Meeting, MeetingStatus

S = MeetingStatus
MEETING_WORKFLOW = Workflow(
    what="Réunion",
    choices=MeetingStatus,
    transitions=MappingProxyType(
        {
            S.PLANNED: {S.HELD, S.CANCELLED},
            S.HELD: {S.CLOSED},
            S.CLOSED: set(),
            S.CANCELLED: set(),
        }
    ),
)


class GovernanceError(ValidationError):
    """Action refusée sur un comité ou une réunion (message en français, affiché tel quel)."""


# --- périmètre --------------------------------------------------------------------------------------------


def committees_visible_to(user):
    if not user.is_authenticated:
        return Committee.objects.none()
    if user.is_superuser:
        return Committee.objects.all()
    return Committee.objects.filter(departement_id__in=readable_departements(user))


def editable_departements(user):
    """Départements dont l'agent tient les comités (administrateur du Département ; le responsable, en lecture
    seule, les lit)."""
    return departements_for(user, ADMINISTERING)


def can_edit(user, committee):
    return user.is_superuser or committee.departement_id in editable_departements(user)


# --- comités et réunions ----------------------------------------------------------------------------------


def plan_meeting(committee, *, held_on, starts_at=None, place="", agenda=()):
    """Prévoit une réunion avec son ordre du jour (``agenda`` : suite de (point, présenté par))."""
    with transaction.atomic():
        meeting = Meeting.objects.create(
            committee=committee, held_on=held_on, starts_at=starts_at, place=place
        )
        meeting.agenda.bulk_create(
            [
                meeting.agenda.model(meeting=meeting, position=index, title=title, presenter=presenter)
                for index, (title, presenter) in enumerate(agenda, start=1)
                if title.strip()
            ]
        )
    return meeting


def _editable(meeting):
    if not meeting.is_editable:
        raise GovernanceError(
            f"La réunion du {meeting.held_on:%d/%m/%Y} est {meeting.get_status_display().lower()} : "
            "elle ne se modifie plus."
        )


def add_agenda_item(meeting, *, title, presenter=""):
    _editable(meeting)
    if not title.strip():
        raise GovernanceError("Point de l'ordre du jour : indiquez son intitulé.")
    position = (meeting.agenda.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    return meeting.agenda.create(position=position, title=title.strip(), presenter=presenter.strip())


def record_presence(meeting, member_ids):
    """Les membres présents (les autres sont absents) ; seuls les membres du comité sont acceptés."""
    _editable(meeting)
    members = list(meeting.committee.members.filter(pk__in=member_ids))
    if len(members) != len(set(member_ids)):
        raise GovernanceError("Présents : un des membres cochés n'appartient pas à ce comité.")
    meeting.present.set(members)


def add_decision(meeting, *, text, owner="", due_on=None):
    _editable(meeting)
    if not text.strip():
        raise GovernanceError("Décision : indiquez son contenu.")
    if due_on is not None and due_on < meeting.held_on:
        raise GovernanceError("Décision : l'échéance ne peut pas précéder la réunion.")
    return Decision.objects.create(meeting=meeting, text=text.strip(), owner=owner.strip(), due_on=due_on)


def set_decision_status(decision, status):
    """Le suivi d'une décision continue après l'arrêt du procès-verbal (c'est son but)."""
    decision.status = status
    decision.save(update_fields=["status"])
    return decision


def hold_meeting(meeting, *, actor, minutes="", today=None):
    today = today or timezone.localdate()

    def apply(locked):
        if locked.held_on > today:
            raise GovernanceError(
                f"La réunion est prévue le {locked.held_on:%d/%m/%Y} : elle ne peut pas être déclarée tenue avant."
            )
        if minutes:
            locked.minutes = minutes

    return transition(meeting, S.HELD, workflow=MEETING_WORKFLOW, actor=actor, on=today, apply=apply)


def save_minutes(meeting, minutes):
    _editable(meeting)
    meeting.minutes = minutes
    meeting.save(update_fields=["minutes"])


def close_minutes(meeting, *, actor, today=None):
    """Arrête le procès-verbal : relevé des échanges écrit, présents indiqués, chiffres figés (figés à la date
    de la réunion s'ils ne l'ont pas été)."""
    today = today or timezone.localdate()

    def apply(locked):
        missing = []
        if not locked.minutes.strip():
            missing.append("le relevé des échanges")
        if not locked.present.exists():
            missing.append("les présents")
        if missing:
            raise GovernanceError("Pour arrêter le procès-verbal, indiquez " + " et ".join(missing) + ".")
        locked.closed_on = today
        if not FrozenFigures.objects.filter(meeting=locked).exists():
            freeze_figures(locked, actor=actor)

    return transition(meeting, S.CLOSED, workflow=MEETING_WORKFLOW, actor=actor, on=today, apply=apply)


def cancel_meeting(meeting, *, actor, today=None):
    today = today or timezone.localdate()
    return transition(meeting, S.CANCELLED, workflow=MEETING_WORKFLOW, actor=actor, on=today)


# --- chiffres figés ---------------------------------------------------------------------------------------


def default_period(meeting):
    """Depuis le 1er janvier de l'année de la réunion jusqu'à la veille de la réunion incluse (le dernier
    jour complet connu le jour de la réunion)."""
    end = meeting.held_on - datetime.timedelta(days=1)
    return min(datetime.date(meeting.held_on.year, 1, 1), end), end


def freeze_figures(meeting, *, actor, start=None, end=None):
    """Calcule les indicateurs du tableau de bord sur le périmètre du comité (Département, ou son territoire)
    et les garde avec la réunion ; un nouveau calcul remplace l'ancien tant que le procès-verbal n'est pas
    arrêté."""
    _editable(meeting)
    default_start, default_end = default_period(meeting)
    start, end = start or default_start, end or default_end
    if end >= meeting.held_on:
        raise GovernanceError(
            f"Chiffres figés : la période doit finir avant la réunion du {meeting.held_on:%d/%m/%Y} "
            "(ce que le comité peut connaître ce jour-là)."
        )
    if start > end:
        raise GovernanceError("Chiffres figés : le début de la période doit précéder sa fin.")
    committee = meeting.committee
    scope = beneficiary_scope(departement=committee.departement, territory=committee.territory)
    values = compute_indicators(scope, start, end)
    label = committee.territory.name if committee.territory_id else committee.departement.name
    figures, _ = FrozenFigures.objects.update_or_create(
        meeting=meeting,
        defaults={
            "period_start": start,
            "period_end": end,
            "scope_label": label,
            "values": values,
            "computed_at": timezone.now(),
            "computed_by": actor,
        },
    )
    return figures


def _breakdown_labels():
    from parcours.accompaniment.models import EmploymentContract, ExitReason
    from parcours.indicators.cohort_figures import PATHWAY_LABELS
    from parcours.indicators.definitions import DELAY_BUCKET_LABELS, EMPLOYABILITY_LABELS
    from parcours.indicators.formatting import CONTRACT_LABELS

    return {
        **dict(EmploymentContract.choices),
        **dict(ExitReason.choices),
        **PATHWAY_LABELS,
        **DELAY_BUCKET_LABELS,
        **EMPLOYABILITY_LABELS,
        **CONTRACT_LABELS,
    }


def figure_rows(figures):
    """(libellé, valeur lisible) de chaque indicateur figé, dans l'ordre des définitions ; une répartition est
    écrite « catégorie : nombre » (ou « catégorie : taux » quand elle répartit des taux)."""
    from parcours.indicators.formatting import display

    labels = _breakdown_labels()
    rows = []
    for definition in DEFINITIONS:
        if definition.id not in figures.values:
            continue
        value = figures.values[definition.id]
        if isinstance(value, dict):
            parts = []
            for key, count in value.items():
                shown = (
                    display(dataclasses.replace(definition, kind="rate"), count)
                    if isinstance(count, float)
                    else count
                )
                parts.append(f"{labels.get(key, key)} : {shown}")
            text = " ; ".join(parts) or "—"
        else:
            text = display(definition, value)
        rows.append((definition.label, text))
    return rows
