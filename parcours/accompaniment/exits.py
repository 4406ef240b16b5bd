"""Sorties et suivi dans l'emploi (étape 10).

Une sortie est qualifiée (motif, et pour un emploi : employeur, poste, type et durée du contrat, prise de
poste). Le référent suit la personne dans l'emploi ; 6 mois après la prise de poste (réglage
``employment_durable_check_months``), la vérification de l'emploi durable note si la personne est
toujours en emploi et avec quel contrat. **Emploi durable** : CDI, indépendant, ou contrat d'au moins
6 mois (réglage ``employment_durable_min_contract_months``, définition de la DARES).
"""

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parcours.beneficiaries.models import FollowUpEnd
from parcours.core.delays import get_delay
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.orientation.models import ReferentAssignment
from parcours.pathway import services as pathway

from . import activities, services
from .models import (
    ActivityStatus,
    ContractStatus,
    EmploymentCheck,
    EmploymentContract,
    Exit,
    ExitReason,
    PlannedActivity,
)

JOB_REASONS = frozenset({ExitReason.EMPLOYMENT})
OPEN_ENDED = frozenset({EmploymentContract.CDI, EmploymentContract.SELF_EMPLOYED})


def is_durable(contract_type, contract_months, departement=None):
    """CDI ou indépendant, ou contrat d'au moins 6 mois (réglage)."""
    if contract_type in OPEN_ENDED:
        return True
    if not contract_type or contract_months is None:
        return False
    return contract_months >= get_delay("employment_durable_min_contract_months", departement)


def _check_day(on):
    if on is None:
        raise ValidationError({"on": "Date : champ obligatoire."})
    if on > timezone.localdate():
        raise ValidationError({"on": "Date : elle ne peut pas être future."})


def _open_activities(beneficiary):
    return PlannedActivity.objects.filter(
        beneficiary=beneficiary, status__in=[ActivityStatus.PLANNED, ActivityStatus.IN_PROGRESS]
    ).order_by("starts_on", "pk")


def closing_summary(beneficiary):
    """Ce qu'une sortie va clore, en phrases, pour la confirmation de l'agent : suivi, référent, contrat,
    activités prévues ou en cours."""
    lines = []
    follow_up = pathway.current_follow_up(beneficiary)
    if follow_up:
        lines.append(f"le suivi par {follow_up.organisation} (depuis le {follow_up.started_on:%d/%m/%Y})")
    for assignment in ReferentAssignment.objects.filter(
        beneficiary=beneficiary, ended_on__isnull=True
    ).select_related("referent"):
        lines.append(f"la désignation de {assignment.referent} comme référent unique")
    for contract in beneficiary.contracts.filter(status=ContractStatus.SIGNED):
        lines.append(f"le contrat d'engagement signé le {contract.signed_on:%d/%m/%Y}")
    count = _open_activities(beneficiary).count()
    if count:
        lines.append(
            f"{count} activité{'s' if count > 1 else ''} prévue{'s' if count > 1 else ''} ou en cours"
        )
    return lines


def _close_pathway(beneficiary, exit_, *, author):
    """Une sortie termine l'accompagnement : contrat signé terminé, activités prévues ou en cours abandonnées,
    désignation du référent et suivi clos (la personne quitte le portefeuille du référent)."""
    on = exit_.exited_on
    reason = f"Sortie : {exit_.get_reason_display()}"
    for contract in beneficiary.contracts.filter(status=ContractStatus.SIGNED):
        services.end_contract(contract, actor=author, on=max(on, contract.signed_on or on), reason=reason)
    for activity in _open_activities(beneficiary):
        activities.set_activity_status(
            activity, ActivityStatus.ABANDONED, actor=author, on=min(on, timezone.localdate()), outcome=reason
        )
    pathway.close_follow_up(beneficiary, on=on, reason=reason, end_cause=FollowUpEnd.EXIT, actor=author)


@transaction.atomic
def record_exit(
    beneficiary,
    *,
    author,
    reason,
    exited_on,
    details="",
    employer="",
    job_title="",
    contract_type="",
    contract_months=None,
    weekly_hours=None,
    job_started_on=None,
):
    """Enregistre une sortie qualifiée ; pour un emploi, l'employeur, le contrat et la prise de poste.

    La sortie clôt ce qu'elle doit (voir ``closing_summary``) dans la même transaction."""
    if reason not in ExitReason.values:
        raise ValidationError({"reason": f"Motif de sortie inconnu : « {reason} »."})
    errors = {}
    if exited_on is None or exited_on > timezone.localdate():
        errors["exited_on"] = "Date de sortie : obligatoire et non future."
    if reason in JOB_REASONS:
        if not (employer or "").strip():
            errors["employer"] = "Employeur : champ obligatoire pour une sortie en emploi."
        if contract_type not in EmploymentContract.values:
            errors["contract_type"] = "Type de contrat : à choisir pour une sortie en emploi."
        elif contract_type not in OPEN_ENDED and not contract_months:
            errors["contract_months"] = (
                "Durée du contrat (mois) : obligatoire pour un contrat à durée limitée."
            )
        if job_started_on is None:
            errors["job_started_on"] = "Prise de poste : date obligatoire pour une sortie en emploi."
    elif reason == ExitReason.OTHER and not (details or "").strip():
        errors["details"] = "Précisions : obligatoires pour un autre motif."
    if errors:
        raise ValidationError(errors)
    if reason not in JOB_REASONS:
        employer, job_title, contract_type, contract_months, weekly_hours = "", "", "", None, None
        job_started_on = job_started_on if reason == ExitReason.BUSINESS else None
    exit_ = Exit.objects.create(
        beneficiary=beneficiary,
        reason=reason,
        exited_on=exited_on,
        details=(details or "").strip(),
        employer=(employer or "").strip()[:255],
        job_title=(job_title or "").strip()[:255],
        contract_type=contract_type or "",
        contract_months=contract_months,
        weekly_hours=weekly_hours,
        job_started_on=job_started_on,
        recorded_by=author,
    )
    record(
        beneficiary,
        EventKind.EXITED,
        on=exited_on,
        actor=author,
        exit_id=exit_.pk,
        reason=reason,
        contract_type=contract_type or None,
        duration_months=contract_months,
        durable=is_durable(contract_type, contract_months, beneficiary.departement)
        if reason in JOB_REASONS
        else None,
    )
    _close_pathway(beneficiary, exit_, author=author)
    return exit_


def durable_check_due_on(exit_):
    """Date de la vérification de l'emploi durable : prise de poste + 6 mois (réglage)."""
    start = exit_.job_started_on
    if start is None:
        return None
    return start + relativedelta(
        months=get_delay("employment_durable_check_months", exit_.beneficiary.departement)
    )


@transaction.atomic
def record_employment_check(
    exit_, *, author, on, still_employed, contract_type="", contract_months=None, notes="", six_month=False
):
    """Suivi dans l'emploi ; ``six_month=True`` : vérification de l'emploi durable, à partir de l'échéance."""
    _check_day(on)
    if exit_.job_started_on is None:
        raise ValidationError(
            "Suivi dans l'emploi : seulement après une sortie en emploi ou une création d'entreprise."
        )
    if on < exit_.job_started_on:
        raise ValidationError({"on": "Date : elle ne peut pas précéder la prise de poste."})
    durable = None
    if six_month:
        due = durable_check_due_on(exit_)
        if on < due:
            raise ValidationError(
                {
                    "on": f"Vérification à 6 mois : possible à partir du {due:%d/%m/%Y} (prise de poste + 6 mois)."
                }
            )
        if exit_.checks.filter(is_six_month=True).exists():
            raise ValidationError("La vérification à 6 mois a déjà été enregistrée.")
    if still_employed:
        if contract_type not in EmploymentContract.values:
            raise ValidationError(
                {"contract_type": "Type de contrat : à choisir si la personne est en emploi."}
            )
        if six_month:
            durable = is_durable(contract_type, contract_months, exit_.beneficiary.departement)
    else:
        contract_type, contract_months = "", None
        if six_month:
            durable = False
    check = EmploymentCheck.objects.create(
        exit=exit_,
        checked_on=on,
        still_employed=still_employed,
        contract_type=contract_type,
        contract_months=contract_months,
        is_six_month=six_month,
        durable=durable,
        notes=(notes or "").strip(),
        checked_by=author,
    )
    record(
        exit_.beneficiary_id,
        EventKind.EMPLOYMENT_CHECKED,
        on=on,
        actor=author,
        exit_id=exit_.pk,
        still_employed=still_employed,
        six_month=six_month,
        durable=durable,
    )
    return check


def durable_checks_due(scope, on):
    """Sorties en emploi dont la vérification à 6 mois est due le jour ``on`` et pas encore faite (liste)."""
    return list(durable_checks_due_queryset(scope, on))


def durable_checks_due_queryset(scope, on):
    """Les mêmes sorties en requête, par prise de poste (la plus ancienne d'abord : la plus en retard).

    Le délai est celui du Département de chaque personne (une requête pour lire les Départements présents) ;
    la liste elle-même est une seule requête, paginée et comptée par la base.
    """
    from parcours.accounts.models import Organisation

    done = EmploymentCheck.objects.filter(exit=OuterRef("pk"), is_six_month=True)
    exits = Exit.objects.filter(beneficiary__in=scope, job_started_on__isnull=False).filter(~Exists(done))
    departement_ids = exits.order_by().values("beneficiary__departement_id")
    due = Q(pk__in=[])
    for departement in Organisation.objects.filter(pk__in=departement_ids):
        threshold = on - relativedelta(months=get_delay("employment_durable_check_months", departement))
        due |= Q(beneficiary__departement_id=departement.pk, job_started_on__lte=threshold)
    return (
        exits.filter(due)
        .select_related("beneficiary__departement", "beneficiary__territory")
        .order_by("job_started_on", "pk")
    )


def exit_counts(start, end, beneficiaries=None):
    """Pour les indicateurs : sorties entre ``start`` et ``end`` par motif, et emploi par type de contrat."""
    exits = Exit.objects.filter(exited_on__gte=start, exited_on__lte=end)
    if beneficiaries is not None:
        exits = exits.filter(beneficiary__in=beneficiaries)
    by_reason = {}
    by_contract = {}
    for reason, contract_type in exits.values_list("reason", "contract_type"):
        by_reason[reason] = by_reason.get(reason, 0) + 1
        if contract_type:
            by_contract[contract_type] = by_contract.get(contract_type, 0) + 1
    return {"par_motif": by_reason, "emploi_par_contrat": by_contract}


def durable_employment_rate(start, end, beneficiaries=None):
    """Taux de retour à l'emploi durable à 6 mois : parmi les prises de poste entre ``start`` et ``end``
    dont la vérification à 6 mois est faite, part en emploi durable. Renvoie ``(durables, vérifiées)``."""
    checks = EmploymentCheck.objects.filter(
        is_six_month=True, exit__job_started_on__gte=start, exit__job_started_on__lte=end
    )
    if beneficiaries is not None:
        checks = checks.filter(exit__beneficiary__in=beneficiaries)
    values = list(checks.values_list("durable", flat=True))
    return sum(1 for v in values if v), len(values)


def employment_history(beneficiary):
    """Sorties de la personne avec leurs suivis (deux requêtes)."""
    exits = list(
        Exit.objects.filter(beneficiary=beneficiary).select_related("recorded_by").prefetch_related("checks")
    )
    for exit_ in exits:
        exit_.beneficiary = beneficiary
        exit_.durable_check_on = durable_check_due_on(exit_) if exit_.job_started_on else None
        exit_.six_month_check = next((c for c in exit_.checks.all() if c.is_six_month), None)
    return exits
