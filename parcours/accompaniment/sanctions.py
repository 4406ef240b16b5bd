"""Devoirs et sanctions : procédure de suspension-remobilisation (étape 9 ; CASF L262-37, R262-68 et suivants).

Une seule fonction change l'étape d'une procédure : ``transition_case`` (par ``journal.transitions``). Elle
vérifie que le passage est permis, que l'auteur relève du Département pour l'avis, la décision et la
notification, et que les conditions légales sont réunies (réglages ``PARCOURS_DELAYS``, par Département), met à
jour la procédure, écrit une étape datée et motivée avec son auteur (``SanctionStep``) et un événement
``sanction_step`` du journal. Rien n'arrive à une personne sans décision humaine : les absences
répétées *proposent* une procédure (``absence_proposals``), un agent l'ouvre.

Étapes : manquement constaté → personne informée (faits et sanction envisagée) → observations reçues →
inscrite en équipe pluridisciplinaire (séance) → avis de l'équipe → décision du Président → notifiée →
régularisée (reprise) → close ; « abandonnée » avant la décision.
"""

import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, DateField, ExpressionWrapper, F, Max, When
from django.utils import timezone

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import EDITING, with_roles
from parcours.beneficiaries.household import composition_on, household_capped
from parcours.beneficiaries.models import Beneficiary
from parcours.core.delays import get_delay
from parcours.core.text import plural
from parcours.journal.models import EventKind
from parcours.journal.services import record
from parcours.journal.transitions import Workflow, transition

from . import sanction_exchange
from .models import (
    SanctionCase,
    SanctionDecision,
    SanctionGround,
    SanctionStatus,
    SanctionStep,
    TeamSession,
)

S = SanctionStatus

SANCTION_WORKFLOW = Workflow(
    "Procédure",
    SanctionStatus,
    {
        S.OPENED: {S.NOTICE_SENT, S.DROPPED},
        S.NOTICE_SENT: {S.OBSERVATIONS, S.REFERRED, S.DECIDED, S.DROPPED},
        S.OBSERVATIONS: {S.REFERRED, S.DECIDED, S.DROPPED},
        # Retrait de l'ordre du jour de la séance : retour à l'étape d'avant l'inscription (``WITHDRAWAL``).
        S.REFERRED: {S.OPINION, S.DROPPED, S.NOTICE_SENT, S.OBSERVATIONS},
        S.OPINION: {S.DECIDED},
        S.DECIDED: {S.NOTIFIED},
        S.NOTIFIED: {S.REGULARISED, S.CLOSED},
        S.REGULARISED: {S.CLOSED},
        S.CLOSED: set(),
        S.DROPPED: set(),
    },
)
TRANSITIONS = SANCTION_WORKFLOW.transitions
FINAL = (S.CLOSED, S.DROPPED)
# Étapes qui relèvent du Département de la personne (CASF L262-37 : le Président du Conseil départemental
# décide, après avis de l'équipe pluridisciplinaire) : un autre organisme ne peut pas les enregistrer, quelle
# que soit la voie (page, API, connecteur).
DEPARTEMENT_STEPS = frozenset({S.OPINION, S.DECIDED, S.NOTIFIED})
# Étapes où revient une procédure retirée de l'ordre du jour d'une séance (``sessions.withdraw_case``) : ce ne
# sont pas des étapes « suivantes » à proposer dans le formulaire de la procédure.
WITHDRAWAL = frozenset({S.NOTICE_SENT, S.OBSERVATIONS})

# Délai légal de chaque étape (réglage), compté depuis l'entrée dans l'étape.
STEP_DEADLINES = {
    S.OPENED: "sanction_notice_days",
    S.NOTICE_SENT: "sanction_observation_days",
    S.OBSERVATIONS: "sanction_referral_days",
    S.OPINION: "sanction_decision_days",
    S.DECIDED: "sanction_notification_days",
}

LABELS = dict(SanctionStatus.choices)


def _err(message, field=None):
    return ValidationError({field: message} if field else message)


def household_of_several(beneficiary, on=None):
    """Foyer dont la suspension est plafonnée (réglage ``sanction_household_cap_percent``, 50 %) à la date ``on`` :
    foyer de plus d'une personne — enfants et autres personnes à charge compris — ou parent isolé, selon la
    composition du foyer que disent les flux CAF/MSA à cette date (``beneficiaries.household``) ; sans
    composition connue, selon les personnes du foyer connues de Parcours (CASF L262-37, R262-68)."""
    return household_capped(beneficiary, on)


def is_repeat(beneficiary):
    """Persistance ou réitération : une procédure antérieure a abouti à une sanction notifiée."""
    return SanctionCase.objects.filter(
        beneficiary=beneficiary,
        decision__in=[SanctionDecision.SUSPENSION, SanctionDecision.SUPPRESSION],
        notified_on__isnull=False,
    ).exists()


def acts_for_departement(actor, beneficiary):
    """Vrai si ``actor`` agit pour le Département de la personne : administrateur de la plateforme, ou rôle
    référent, chargé d'orientation ou administrateur dans ce Département (le périmètre fin — territoire — est
    celui des pages)."""
    if getattr(actor, "is_superuser", False):
        return True
    if not getattr(actor, "pk", None):
        return False
    return any(
        m.organisation_id == beneficiary.departement_id
        for m in with_roles(actor, EDITING, kinds={OrganisationKind.DEPARTEMENT})
    )


def _step(case, from_status, to_status, *, actor, on, reason):
    SanctionStep.objects.create(
        case=case, from_status=from_status, to_status=to_status, occurred_on=on, reason=reason, actor=actor
    )


def _payload(case, from_status, to_status, reason, **details):
    return {
        "case_id": case.pk,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason[:300],
        **details,
    }


def _check_date(on, not_before=None, label="la date de l'étape précédente"):
    if on is None:
        raise _err("Date : champ obligatoire.", "on")
    if on > timezone.localdate():
        raise _err("Date : elle ne peut pas être future.", "on")
    if not_before and on < not_before:
        raise _err(f"Date : elle ne peut pas précéder {label} ({not_before:%d/%m/%Y}).", "on")


@transaction.atomic
def open_case(beneficiary, *, ground, facts, actor, on, household_several=None):
    """Ouvre une procédure (manquement constaté) ; seulement pour une personne soumise aux droits et devoirs."""
    if beneficiary.is_sdd is not True:
        raise _err(
            "Seules les personnes soumises aux droits et devoirs peuvent faire l'objet d'une procédure de "
            "suspension-remobilisation."
        )
    if ground not in SanctionGround.values:
        raise _err(f"Manquement inconnu : « {ground} ».", "ground")
    if not (facts or "").strip():
        raise _err("Faits reprochés : champ obligatoire (dates, rendez-vous manqués, engagements).", "facts")
    _check_date(on)
    if SanctionCase.objects.filter(beneficiary=beneficiary).exclude(status__in=FINAL).exists():
        raise _err("Une procédure est déjà en cours pour cette personne.")
    case = SanctionCase.objects.create(
        beneficiary=beneficiary,
        ground=ground,
        facts=facts.strip(),
        opened_on=on,
        status_since=on,
        is_repeat=is_repeat(beneficiary),
        household_of_several=household_of_several(beneficiary, on)
        if household_several is None
        else household_several,
        opened_by=actor,
    )
    reason = case.get_ground_display()
    _step(case, "", S.OPENED, actor=actor, on=on, reason=reason)
    record(
        case.beneficiary_id,
        EventKind.SANCTION_STEP,
        on=on,
        actor=actor,
        **_payload(case, "", S.OPENED, reason, ground=ground),
    )
    return case


def _percent(value):
    if value in (None, ""):
        return None
    try:
        return int(Decimal(str(value).replace(",", ".")))
    except (InvalidOperation, ValueError) as error:
        raise _err(f"Taux de réduction invalide : « {value} ».", "reduction_percent") from error


def _check_decision(case, data, departement, came_from, on=None):
    """Règles de la décision du Président (barème : réglages), renvoie les champs à enregistrer.

    Le plafond du foyer se lit à la date de la décision ``on`` : la composition du foyer que disent alors les flux
    (``household_of_several``) ; sans composition connue à cette date, ce qui a été retenu à l'ouverture de la
    procédure (``case.household_of_several``)."""
    decision = data.get("decision")
    if decision not in SanctionDecision.values:
        raise _err("Décision : choisissez pas de sanction, suspension ou suppression.", "decision")
    if decision == SanctionDecision.NONE:
        return {
            "decision": decision,
            "reduction_percent": None,
            "duration_months": None,
            "monthly_amount": None,
        }
    if decision == SanctionDecision.SUPPRESSION:
        if came_from != S.OPINION:
            raise _err(
                "Suppression : l'avis de l'équipe pluridisciplinaire est obligatoire avant toute suppression.",
                "decision",
            )
        if not case.is_repeat:
            raise _err(
                "Suppression : seulement en cas de persistance ou de réitération du manquement ; "
                "pour un premier manquement, la sanction est une suspension.",
                "decision",
            )
    percent = _percent(data.get("reduction_percent"))
    if percent is None and decision == SanctionDecision.SUPPRESSION:
        percent = 100
    minimum = get_delay("sanction_min_percent", departement)
    if percent is None or not minimum <= percent <= 100:
        raise _err(f"Taux de réduction : entre {minimum} % et 100 %.", "reduction_percent")
    cap = get_delay("sanction_household_cap_percent", departement)
    composition = composition_on(case.beneficiary.household_id, on) if on else None
    several = composition.capped if composition is not None else case.household_of_several
    if several and percent > cap:
        detail = f" ({composition.summary})" if composition is not None else ""
        raise _err(
            f"Taux de réduction : {percent} % dépasse le plafond de {cap} % pour un foyer de plus d'une personne"
            f"{detail}.",
            "reduction_percent",
        )
    try:
        months = int(data.get("duration_months"))
    except (TypeError, ValueError) as error:
        raise _err("Durée : nombre de mois obligatoire.", "duration_months") from error
    low = get_delay("sanction_first_min_months", departement)
    high = get_delay(
        "sanction_repeat_max_months" if case.is_repeat else "sanction_first_max_months", departement
    )
    if not low <= months <= high:
        context = (
            "en cas de persistance ou de réitération" if case.is_repeat else "pour un premier manquement"
        )
        raise _err(f"Durée : de {low} à {high} mois {context}.", "duration_months")
    amount = _monthly_amount(data.get("monthly_amount"))
    return {
        "decision": decision,
        "reduction_percent": percent,
        "duration_months": months,
        "monthly_amount": amount,
        "household_of_several": several,
    }


def observation_deadline(case):
    """Fin du délai laissé à la personne pour présenter ses observations."""
    if not case.notice_sent_on:
        return None
    days = get_delay("sanction_observation_days", case.beneficiary.departement)
    return case.notice_sent_on + datetime.timedelta(days=days)


def _monthly_amount(value):
    """Montant mensuel retenu saisi (``Decimal``), ``None`` s'il est vide ; jamais négatif."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "."))
    except InvalidOperation as error:
        raise _err("Montant mensuel retenu : nombre invalide.", "monthly_amount") from error
    if not amount.is_finite() or amount < 0:
        raise _err("Montant mensuel retenu : il ne peut pas être négatif.", "monthly_amount")
    return amount


def suspended_months(case, on=None):
    """Mois de suspension effectivement appliqués à la date ``on`` (la régularisation) : mois commencés depuis la
    notification (la mesure court « à compter de la notification », voir ``letter``), au plus la durée
    décidée ; sans ``on`` ou sans date de notification, la durée décidée."""
    months = case.duration_months or 0
    if on is None or case.notified_on is None:
        return months
    started = 0
    while started < months and case.notified_on + relativedelta(months=started) <= on:
        started += 1
    return started


def repayment_cap(case, on=None):
    """Plafond des sommes restituées à la reprise (régularisation d'une suspension), ``None`` si le montant
    mensuel retenu est inconnu.

    CASF L262-37 : la suspension prend fin dès que la personne se conforme à ses obligations, et les sommes
    retenues lui sont restituées. On ne restitue que ce qui a été retenu : jamais plus que les sommes
    **effectivement suspendues** (montant mensuel retenu × mois de suspension appliqués à la date ``on``,
    ``suspended_months``), et dans la limite du réglage ``sanction_repayment_cap_months`` (montant mensuel ×
    ce nombre de mois), le plus petit des deux."""
    if case.monthly_amount is None:
        return None
    return _cap(case, case.monthly_amount, on)


def _cap(case, monthly_amount, on):
    setting = get_delay("sanction_repayment_cap_months", case.beneficiary.departement)
    return monthly_amount * min(suspended_months(case, on), setting)


def check_repayment(case, repaid, *, on, monthly_amount=None):
    """Sommes restituées à la régularisation d'une suspension (règle de ``repayment_cap``) : renvoie
    ``(sommes restituées, montant mensuel retenu)`` en ``Decimal``, ou ``ValidationError``.

    Sans montant mensuel retenu connu (ni dans la décision, ni saisi avec la régularisation), des sommes
    restituées ne peuvent pas être validées : on ne saurait pas ce qui a été retenu."""
    try:
        repaid = Decimal(str(repaid).replace(",", "."))
    except InvalidOperation as error:
        raise _err("Sommes restituées : montant invalide.", "repaid_amount") from error
    if not repaid.is_finite() or repaid < 0:
        raise _err("Sommes restituées : le montant ne peut pas être négatif.", "repaid_amount")
    entered = _monthly_amount(monthly_amount)
    if case.monthly_amount is not None and entered is not None and entered != case.monthly_amount:
        raise _err(
            f"Montant mensuel retenu : la décision l'a fixé à {case.monthly_amount} € ; laissez ce champ vide.",
            "monthly_amount",
        )
    amount = case.monthly_amount if case.monthly_amount is not None else entered
    if amount is None:
        raise _err(
            "Montant mensuel retenu : à renseigner pour valider des sommes restituées (elles ne peuvent pas "
            "dépasser les sommes effectivement retenues, calculées à partir de ce montant).",
            "monthly_amount",
        )
    cap = _cap(case, amount, on)
    if repaid > cap:
        months = suspended_months(case, on)
        setting = get_delay("sanction_repayment_cap_months", case.beneficiary.departement)
        why = (
            f"plafond de restitution de {setting} mois"
            if setting < months
            else f"sommes effectivement retenues : {amount} € × {months} mois de suspension"
        )
        raise _err(f"Sommes restituées : au plus {cap} € ({why}).", "repaid_amount")
    return repaid, amount


def transition_case(case, to_status, *, actor, on, reason, **data):
    """Seul chemin de changement d'étape : vérifie le passage et ses conditions, date, motive, journalise.

    ``data`` selon l'étape : ``observations``/``assisted_by`` (observations), ``session`` (inscription),
    ``team_opinion``/``proposed_decision`` (avis), ``decision``/``reduction_percent``/``duration_months``/
    ``monthly_amount`` (décision), ``repaid_amount`` (régularisation, plafonnée par ``repayment_cap`` ; avec
    ``monthly_amount`` si la décision ne l'a pas fixé).

    L'avis, la décision et la notification (``DEPARTEMENT_STEPS``) ne sont enregistrés que par un agent du
    Département de la personne (``PermissionDenied`` sinon).
    """
    reason = (reason or "").strip()
    details = {}

    def apply(case):
        current = case.status
        if to_status in DEPARTEMENT_STEPS and not acts_for_departement(actor, case.beneficiary):
            raise PermissionDenied(
                "L'avis, la décision et la notification d'une sanction relèvent du Département de la personne."
            )
        if not reason:
            raise _err("Motif : chaque étape de la procédure est motivée.", "reason")
        _check_date(on, case.status_since)
        departement = case.beneficiary.departement
        status_since = on

        if current == S.REFERRED and to_status in WITHDRAWAL:
            # Retrait de l'ordre du jour : la procédure retrouve son étape et sa date d'entrée dans l'étape.
            details["session_id"] = case.session_id
            case.session = None
            entered = case.steps.filter(to_status=to_status).order_by("-occurred_on", "-pk").first()
            status_since = entered.occurred_on if entered else on
        elif to_status == S.NOTICE_SENT:
            case.notice_sent_on = on
        elif to_status == S.OBSERVATIONS:
            observations = (data.get("observations") or "").strip()
            if not observations:
                raise _err("Observations de la personne : champ obligatoire.", "observations")
            case.observations = observations
            case.assisted_by = (data.get("assisted_by") or "").strip()[:200]
        elif to_status in (S.REFERRED, S.DECIDED) and current == S.NOTICE_SENT:
            deadline = observation_deadline(case)
            if on <= deadline:
                raise _err(
                    f"La personne a jusqu'au {deadline:%d/%m/%Y} pour présenter ses observations : "
                    "attendez ses observations ou la fin du délai."
                )

        if to_status == S.REFERRED:
            session = data.get("session")
            if not isinstance(session, TeamSession):
                raise _err("Séance de l'équipe pluridisciplinaire : à choisir.", "session")
            if session.departement_id != case.beneficiary.departement_id:
                raise _err("Séance : elle doit être une séance du Département de la personne.", "session")
            if session.held_on < on:
                raise _err("Séance : choisissez une séance à venir.", "session")
            case.session = session
            details["session_id"] = session.pk
        elif to_status == S.OPINION:
            session = case.session
            if on < session.held_on:
                raise _err(f"Avis : la séance du {session.held_on:%d/%m/%Y} n'a pas encore eu lieu.", "on")
            quorum = get_delay("team_session_quorum", departement)
            present = session.present_count()
            if present < quorum:
                raise _err(
                    f"Avis : le quorum n'est pas atteint "
                    f"({plural(present, 'membre présent', 'membres présents')} sur {quorum} requis) ; "
                    "l'avis ne peut pas être enregistré."
                )
            opinion = (data.get("team_opinion") or "").strip()
            proposed = data.get("proposed_decision")
            if not opinion:
                raise _err("Avis de l'équipe : champ obligatoire.", "team_opinion")
            if proposed not in SanctionDecision.values:
                raise _err("Sanction proposée par l'équipe : à choisir.", "proposed_decision")
            case.team_opinion = opinion
            case.proposed_decision = proposed
            details["proposed_decision"] = proposed
            favourable = data.get("favourable")
            if favourable is not None:
                case.opinion_favourable = bool(favourable)
                details["favourable"] = bool(favourable)
        elif to_status == S.DECIDED:
            fields = _check_decision(case, data, departement, current, on)
            for name, value in fields.items():
                setattr(case, name, value)
            case.decided_on = on
            details.update(
                decision=case.decision,
                reduction_percent=case.reduction_percent,
                duration_months=case.duration_months,
            )
        elif to_status == S.NOTIFIED:
            case.notified_on = on
        elif to_status == S.REGULARISED:
            if case.decision == SanctionDecision.NONE:
                raise _err("Régularisation : aucune sanction n'a été décidée ; clôturez la procédure.")
            repaid = data.get("repaid_amount")
            if repaid not in (None, ""):
                if case.decision != SanctionDecision.SUSPENSION:
                    raise _err("Sommes restituées : seulement après une suspension.", "repaid_amount")
                repaid, case.monthly_amount = check_repayment(
                    case, repaid, on=on, monthly_amount=data.get("monthly_amount")
                )
                case.repaid_amount = repaid
                details["repaid_amount"] = repaid
            case.regularised_on = on
        case.status_since = status_since
        _step(case, current, to_status, actor=actor, on=on, reason=reason)
        # Mesure à transmettre à l'organisme payeur (notification, levée, restitution) : même transaction.
        sanction_exchange.on_case_step(case, current, to_status, actor=actor, on=on)

    return transition(
        case,
        to_status,
        workflow=SANCTION_WORKFLOW,
        actor=actor,
        on=on,
        event=EventKind.SANCTION_STEP,
        payload=lambda case, previous: _payload(case, previous, to_status, reason, **details),
        apply=apply,
        queryset=SanctionCase.objects.select_related("beneficiary__departement", "session"),
    )


# --- listes et échéances --------------------------------------------------------------------------------


def step_deadline(case):
    """Échéance légale de l'étape en cours (None si l'étape n'a pas de délai)."""
    name = STEP_DEADLINES.get(case.status)
    if case.status == S.REFERRED and case.session_id:
        return case.session.held_on
    if name is None:
        return None
    return case.status_since + datetime.timedelta(days=get_delay(name, case.beneficiary.departement))


def cases_in_progress(scope):
    """Procédures en cours des personnes du périmètre (pour la liste des agents), l'échéance de l'étape en
    cours la plus proche d'abord (celle de ``step_deadline``, calculée par la base : alias ``deadline``), les
    étapes sans délai à la fin.

    Délais par Département : une requête lit les Départements des procédures en cours (peu nombreux).
    """
    from parcours.accounts.models import Organisation

    cases = SanctionCase.objects.filter(beneficiary__in=scope).exclude(status__in=FINAL)
    departements = Organisation.objects.filter(pk__in=cases.order_by().values("beneficiary__departement_id"))
    deadlines = [When(status=S.REFERRED, session__isnull=False, then=F("session__held_on"))]
    for departement in departements:
        for status, name in STEP_DEADLINES.items():
            days = datetime.timedelta(days=get_delay(name, departement))
            deadlines.append(
                When(
                    status=status,
                    beneficiary__departement_id=departement.pk,
                    then=ExpressionWrapper(F("status_since") + days, output_field=DateField()),
                )
            )
    return (
        cases.alias(deadline=Case(*deadlines, default=None, output_field=DateField()))
        .select_related("beneficiary__departement", "beneficiary__territory", "session")
        .order_by(F("deadline").asc(nulls_last=True), "status_since", "pk")
    )


def absence_proposals(scope, on):
    """Personnes soumises aux droits et devoirs dont les absences non excusées atteignent le seuil.

    Seuil par type de rendez-vous (``sanction_absences_<type>``, par Département), absences comptées depuis
    la dernière procédure ouverte ; aucune procédure n'est ouverte ici. Renvoie
    ``[(personne, type, nombre)]``.
    """
    from parcours.orientation.models import Appointment, Attendance

    people = scope.filter(is_sdd=True)
    busy = set(
        SanctionCase.objects.filter(beneficiary__in=people)
        .exclude(status__in=FINAL)
        .values_list("beneficiary_id", flat=True)
    )
    last_opened = dict(
        SanctionCase.objects.filter(beneficiary__in=people)
        .order_by()
        .values("beneficiary_id")
        .annotate(last=Max("opened_on"))
        .values_list("beneficiary_id", "last")
    )
    counts = defaultdict(int)
    rows = Appointment.objects.filter(
        beneficiary__in=people, attendance=Attendance.NO_SHOW, starts_at__date__lte=on
    ).values_list("beneficiary_id", "kind", "starts_at")
    for beneficiary_id, kind, starts_at in rows:
        if beneficiary_id in busy:
            continue
        since = last_opened.get(beneficiary_id)
        if since and timezone.localdate(starts_at) <= since:
            continue
        counts[(beneficiary_id, kind)] += 1
    if not counts:
        return []
    persons = {
        b.pk: b
        for b in Beneficiary.objects.filter(pk__in={k[0] for k in counts}).select_related(
            "departement", "territory"
        )
    }
    proposals = []
    for (beneficiary_id, kind), number in counts.items():
        person = persons[beneficiary_id]
        if number >= get_delay(f"sanction_absences_{kind}", person.departement):
            proposals.append((person, kind, number))
    return sorted(proposals, key=lambda row: (row[0].last_name, row[0].pk, row[1]))


# --- courriers et fiches --------------------------------------------------------------------------------


def letter(case):
    """Courrier de l'étape : information préalable (faits, sanction envisagée, délai) ou décision."""
    person = case.beneficiary
    if case.status in (S.NOTICE_SENT, S.OBSERVATIONS) or (case.notice_sent_on and not case.decided_on):
        deadline = observation_deadline(case)
        minimum = get_delay("sanction_min_percent", person.departement)
        return (
            "Information préalable à une éventuelle réduction ou suspension de votre RSA",
            [
                f"{person.salutation},",
                f"Nous avons constaté le manquement suivant : {case.get_ground_display().lower()}. {case.facts}",
                f"Le Président du Conseil départemental envisage une suspension d'au moins {minimum} % de votre "
                "allocation pendant un à deux mois, qui prendra fin dès que vous reprendrez vos engagements.",
                f"Vous pouvez présenter vos observations, par écrit ou lors d'un entretien, jusqu'au "
                f"{deadline:%d/%m/%Y}, accompagné{person.accorde} de la personne de votre choix.",
            ],
        )
    if case.decided_on:
        if case.decision == SanctionDecision.NONE:
            detail = "Après examen de votre situation, aucune sanction n'est prise."
        else:
            detail = (
                f"Votre RSA est {case.get_decision_display().lower()} à hauteur de {case.reduction_percent} % "
                f"pendant {case.duration_months} mois à compter de la notification. La mesure prend fin dès "
                "que vous reprenez vos engagements ; les sommes retenues vous sont alors restituées dans la "
                "limite prévue."
            )
        return (
            "Décision du Président du Conseil départemental",
            [
                f"{person.salutation},",
                detail,
                "Voies de recours : recours administratif préalable auprès du Président du Conseil "
                "départemental dans un délai de deux mois à compter de la notification, puis recours devant "
                "le tribunal administratif.",
            ],
        )
    return None


def anonymised_label(case):
    """Libellé anonymisé d'un dossier pour les fiches de synthèse de l'équipe pluridisciplinaire."""
    person = case.beneficiary
    initials = f"{person.first_name[:1]}. {person.last_name[:1]}.".upper()
    return f"Dossier n°{case.pk} — {initials}"
