"""Règles du diagnostic partagé et du contrat d'engagement : appelées par les vues, l'API et la CLI.

Chaque changement écrit, dans la même transaction, l'état (tables du module) et le journal des parcours
(``parcours.journal.Event``) : ``diagnosed`` (une version du diagnostic), ``contract_signed``,
``contract_ended``.
"""

import datetime
from collections import OrderedDict
from decimal import Decimal, InvalidOperation

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import Beneficiary
from parcours.core.delays import get_delay
from parcours.journal.models import Event, EventKind
from parcours.journal.services import record
from parcours.journal.transitions import Workflow, transition

from .hours import weekly_duration_errors
from .models import (
    Action,
    Contract,
    ContractAction,
    ContractKind,
    ContractStatus,
    ContractStatusChange,
    DiagnosticVersion,
    Objective,
    Situation,
    Theme,
    ThemeKind,
)

# Événements du journal dont la date métier (``occurred_on``) est la notification d'une orientation :
# le délai du contrat court à partir de la plus récente (il recommence après une réorientation).
ORIENTATION_EVENT_KINDS = (EventKind.ORIENTED, EventKind.REORIENTED)


def min_weekly_hours():
    """Durée hebdomadaire minimale d'activité du contrat d'engagement (15 h, Code du travail L5411-6)."""
    return Decimal(str(getattr(settings, "PARCOURS_CONTRACT_MIN_WEEKLY_HOURS", 15)))


MAX_WEEKLY_HOURS = Decimal("35")


# --- référentiel ----------------------------------------------------------------------------------------


def active_themes(*, include_sensitive=True, kinds=None):
    themes = Theme.objects.filter(active=True)
    if not include_sensitive:
        themes = themes.filter(sensitive=False)
    if kinds:
        themes = themes.filter(kind__in=kinds)
    return themes


def _grouped(items):
    groups = OrderedDict()
    for item in items:
        groups.setdefault(item.theme, []).append(item)
    return list(groups.items())


def situations_by_theme(*, include_sensitive=True):
    """[(thème, [situations actives])] pour le formulaire du diagnostic, freins d'abord (une requête)."""
    situations = Situation.objects.filter(active=True, theme__active=True).select_related("theme")
    if not include_sensitive:
        situations = situations.filter(theme__sensitive=False)
    return _grouped(situations.order_by("theme__position", "theme__label", "position", "label"))


def objectives_by_theme():
    objectives = Objective.objects.filter(active=True, theme__active=True).select_related("theme")
    return _grouped(objectives.order_by("theme__position", "theme__label", "position", "label"))


def actions_by_theme():
    actions = Action.objects.filter(active=True, theme__active=True).select_related("theme")
    return _grouped(actions.order_by("theme__position", "theme__label", "position", "label"))


# --- diagnostic -----------------------------------------------------------------------------------------

DIAGNOSTIC_FIELDS = (
    "conducted_on",
    "joint",
    "skills",
    "professional_project",
    "rome_code",
    "available_from",
    "weekly_availability_hours",
    "availability_notes",
    "notes",
)
SENSITIVE_FIELDS = ("health_notes",)


def diagnostic_history(beneficiary):
    """Toutes les versions du diagnostic de la personne, de la plus récente à la plus ancienne."""
    return DiagnosticVersion.objects.filter(beneficiary=beneficiary).select_related("author", "organisation")


def latest_diagnostic(beneficiary):
    return diagnostic_history(beneficiary).first()


def grouped_situations(version, *, can_see_sensitive):
    """[(thème, [situations])] retenues dans une version ; sans le thème sensible si l'agent n'y a pas droit."""
    situations = version.situations.select_related("theme")
    if not can_see_sensitive:
        situations = situations.exclude(theme__sensitive=True)
    return _grouped(situations.order_by("theme__position", "theme__label", "position", "label"))


def hidden_sensitive_count(version):
    """Nombre de situations sensibles masquées (pour signaler qu'il y en a, sans dire lesquelles)."""
    return version.situations.filter(theme__sensitive=True).count()


def known_facts(beneficiary):
    """Ce que le dossier dit déjà de la personne (« dites-le-nous une fois ») : [(libellé, valeur)]."""
    facts = []
    if beneficiary.birth_date:
        today = timezone.localdate()
        age = relativedelta(today, beneficiary.birth_date).years
        facts.append(("Âge", f"{age} ans (né·e le {beneficiary.birth_date:%d/%m/%Y})"))
    address = " ".join(
        part for part in (beneficiary.address, beneficiary.postal_code, beneficiary.city) if part
    )
    if address:
        facts.append(("Adresse", address))
    contact = ", ".join(part for part in (beneficiary.email, beneficiary.phone) if part)
    if contact:
        facts.append(("Coordonnées", contact))
    if beneficiary.household_id:
        others = (
            Beneficiary.objects.filter(household_id=beneficiary.household_id)
            .exclude(pk=beneficiary.pk)
            .values_list("role", flat=True)
        )
        roles = list(others)
        composition = []
        if "CJT" in roles:
            composition.append("vit en couple (conjoint connu de la CAF/MSA)")
        children = roles.count("ENF")
        if children:
            plural = "s" if children > 1 else ""
            composition.append(f"{children} enfant{plural} déclaré{plural} dans le foyer")
        facts.append(("Foyer", "; ".join(composition) if composition else "personne seule selon le flux"))
    if beneficiary.france_travail_id:
        facts.append(("France Travail", f"inscrit·e (identifiant {beneficiary.france_travail_id})"))
    else:
        facts.append(("France Travail", "pas d'identifiant France Travail connu"))
    if beneficiary.new_entrant_t0:
        facts.append(("Nouvel entrant", f"T0 le {beneficiary.new_entrant_t0:%d/%m/%Y}"))
    return facts


def prefill_diagnostic(beneficiary, *, can_see_sensitive):
    """Valeurs initiales du formulaire : la version précédente (sans la santé si l'agent n'y a pas droit).

    Les champs jamais saisis restent vides ; la date d'entretien proposée est aujourd'hui.
    """
    previous = latest_diagnostic(beneficiary)
    initial = {"conducted_on": timezone.localdate()}
    if previous is None:
        return initial, None
    for name in DIAGNOSTIC_FIELDS:
        if name != "conducted_on":
            initial[name] = getattr(previous, name)
    situations = previous.situations.all()
    if not can_see_sensitive:
        situations = situations.exclude(theme__sensitive=True)
    else:
        initial["health_notes"] = previous.health_notes
    initial["situations"] = list(situations.values_list("pk", flat=True))
    return initial, previous


def _clean_situations(situations):
    ids = [s.pk if hasattr(s, "pk") else int(s) for s in situations]
    found = list(Situation.objects.filter(pk__in=ids).select_related("theme"))
    if len(found) != len(set(ids)):
        raise ValidationError({"situations": "Situation inconnue du référentiel."})
    return found


NULLABLE_DIAGNOSTIC_FIELDS = ("available_from", "weekly_availability_hours")


def _blank_if_none(name, value):
    if value is None and name not in NULLABLE_DIAGNOSTIC_FIELDS:
        return False if name == "joint" else ""
    return value


@transaction.atomic
def save_diagnostic(beneficiary, *, author, can_see_sensitive, organisation=None, situations=(), **fields):
    """Enregistre une nouvelle version du diagnostic (les précédentes restent lisibles) et la journalise.

    ``fields`` : champs de ``DIAGNOSTIC_FIELDS`` (+ ``health_notes``). Un agent qui ne voit pas la santé
    ne peut ni la lire ni l'effacer : les situations sensibles et les précisions de santé de la version
    précédente sont reprises telles quelles.
    """
    unknown = set(fields) - set(DIAGNOSTIC_FIELDS) - set(SENSITIVE_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {', '.join(sorted(unknown))}")
    if not fields.get("conducted_on"):
        raise ValidationError({"conducted_on": "Date de l'entretien de diagnostic : champ obligatoire."})
    if fields["conducted_on"] > timezone.localdate():
        raise ValidationError(
            {"conducted_on": "Date de l'entretien de diagnostic : elle ne peut pas être future."}
        )
    # Verrou sur la personne : deux enregistrements simultanés ne prennent pas le même numéro.
    Beneficiary.objects.select_for_update().filter(pk=beneficiary.pk).first()
    chosen = _clean_situations(situations)
    previous = DiagnosticVersion.objects.filter(beneficiary=beneficiary).order_by("-number").first()
    if not can_see_sensitive:
        chosen = [s for s in chosen if not s.theme.sensitive]
        fields.pop("health_notes", None)
        if previous is not None:
            chosen += list(previous.situations.filter(theme__sensitive=True).select_related("theme"))
            fields["health_notes"] = previous.health_notes
    version = DiagnosticVersion.objects.create(
        beneficiary=beneficiary,
        number=(previous.number + 1) if previous else 1,
        author=author,
        organisation=organisation,
        **{k: _blank_if_none(k, v) for k, v in fields.items()},
    )
    version.situations.set(chosen)
    themes = sorted({s.theme.code for s in chosen if not s.theme.sensitive})
    record(
        beneficiary,
        EventKind.DIAGNOSED,
        on=version.conducted_on,
        actor=author,
        organisation=organisation,
        version=version.number,
        themes=themes,
        joint=version.joint,
    )
    lifted = lifted_barriers(previous, chosen)
    if lifted:
        record(
            beneficiary,
            EventKind.BARRIER_LIFTED,
            on=version.conducted_on,
            actor=author,
            organisation=organisation,
            version=version.number,
            themes=lifted,
        )
    return version


def lifted_barriers(previous, chosen):
    """Freins périphériques levés par une nouvelle version du diagnostic (annexe 4 de 002, volet 3 :
    « progression dans l'employabilité … levée de freins périphériques ») : thèmes de nature « frein »
    relevés dans la version précédente et dont la nouvelle version ne garde aucune situation. Le thème
    sensible (santé) n'est jamais écrit au journal, comme pour ``diagnosed``."""
    if previous is None:
        return []
    before = set(
        previous.situations.filter(theme__kind=ThemeKind.BARRIER, theme__sensitive=False).values_list(
            "theme__code", flat=True
        )
    )
    after = {s.theme.code for s in chosen}
    return sorted(before - after)


def diagnostic_dates(beneficiaries=None):
    """Pour les indicateurs : par personne, date du premier et du dernier entretien de diagnostic.

    Renvoie un QuerySet de dicts ``{"beneficiary": id, "first_on": date, "last_on": date, "versions": n}``.
    """
    versions = DiagnosticVersion.objects.all()
    if beneficiaries is not None:
        versions = versions.filter(beneficiary__in=beneficiaries)
    return (
        versions.order_by()
        .values("beneficiary")
        .annotate(first_on=Min("conducted_on"), last_on=Max("conducted_on"), versions=Count("pk"))
    )


# --- contrat d'engagement -------------------------------------------------------------------------------

DEFAULT_RIGHTS_AND_APPEALS = (
    "Vous avez droit à un accompagnement adapté à vos besoins, assuré par votre référent unique. "
    "Les activités prévues par ce contrat tiennent compte de votre situation : la durée hebdomadaire "
    "d'activité peut être adaptée, ou ramenée à zéro, pour raison de santé, de handicap, d'invalidité ou "
    "si vous êtes parent isolé d'un enfant de moins de 12 ans sans solution de garde (article L5411-6 du Code "
    "du travail). Aucune activité ne peut être un travail non rémunéré.\n"
    "Vous pouvez demander à tout moment la révision de ce contrat ou une réorientation à votre référent.\n"
    "Avant toute suspension de votre allocation, les faits reprochés et la sanction envisagée vous sont "
    "notifiés ; vous pouvez présenter vos observations en vous faisant accompagner de la personne de votre "
    "choix.\n"
    "Voies de recours : toute décision relative à votre RSA peut faire l'objet d'un recours administratif "
    "préalable auprès du Président du Conseil départemental dans un délai de deux mois à compter de sa "
    "notification, puis d'un recours devant le tribunal administratif."
)


def default_rights_and_appeals(departement=None):
    """Texte des droits et voies de recours (réglage PARCOURS_CONTRACT_RIGHTS_TEXT par Département)."""
    texts = getattr(settings, "PARCOURS_CONTRACT_RIGHTS_TEXT", {}) or {}
    code = getattr(departement, "departement_code", None)
    return texts.get(code) or texts.get("default") or DEFAULT_RIGHTS_AND_APPEALS


def _decimal(value, field, label):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation as error:
        raise ValidationError({field: f"{label} : nombre d'heures invalide « {value} »."}) from error
    if number < 0:
        raise ValidationError({field: f"{label} : le nombre d'heures ne peut pas être négatif."})
    return number


def validate_weekly_hours(kind, weekly_hours, hours_exemption, *, required=False):
    """Contrat d'engagement : au moins 15 h par semaine, sauf motif d'adaptation ; 0 h seulement pour un motif
    de l'article L5411-6 du Code du travail (CASF L262-35) ; jamais plus de 35 h.

    Appelée à chaque écriture du contrat (création, modification, signature) : pages, API, reprises."""
    hours = _decimal(weekly_hours, "weekly_hours", "Durée hebdomadaire d'activité")
    if hours is None:
        if required and kind == ContractKind.CONTRAT_ENGAGEMENT:
            raise ValidationError(
                {
                    "weekly_hours": "Durée hebdomadaire d'activité : à renseigner avant la signature du contrat."
                }
            )
        return None
    if hours > MAX_WEEKLY_HOURS:
        raise ValidationError(
            {
                "weekly_hours": f"Durée hebdomadaire d'activité : {hours} h dépasse le maximum de {MAX_WEEKLY_HOURS} h."
            }
        )
    # Règle de l'article L5411-6 du Code du travail (``hours.weekly_duration_errors``, la même que pour le
    # plan d'activités) : sous 15 h, un motif d'adaptation ; à 0 h, seulement un motif légal (santé, handicap,
    # invalidité, parent isolé sans solution de garde), jamais la montée en charge progressive. Les CER et
    # PPAE (historique, reprises) n'ont pas de minimum.
    errors = weekly_duration_errors(
        hours,
        hours_exemption,
        minimum=min_weekly_hours() if kind == ContractKind.CONTRAT_ENGAGEMENT else Decimal(0),
        hours_field="weekly_hours",
        hours_label="Durée hebdomadaire d'activité",
        reason_field="hours_exemption",
        reason_label="Motif d'adaptation de la durée",
    )
    if errors:
        raise ValidationError(errors)
    return hours


CONTRACT_FIELDS = (
    "organisation",
    "referent",
    "diagnostic",
    "referent_commitments",
    "person_commitments",
    "intensity",
    "weekly_hours",
    "hours_exemption",
    "hours_exemption_details",
    "rights_and_appeals",
    "imported_from",
    "starts_on",
    "ends_on",
    "review_on",
    "external_reference",
)


def _normalise_actions(actions):
    """Actions du plan : objets Action, identifiants, ou dicts {action, label, weekly_hours}."""
    rows = []
    for position, item in enumerate(actions, start=1):
        if isinstance(item, dict):
            action = item.get("action")
            label = (item.get("label") or "").strip()
            hours = _decimal(item.get("weekly_hours"), "actions", f"Action n°{position}")
        else:
            action, label, hours = item, "", None
        if action is not None and not isinstance(action, Action):
            action = Action.objects.filter(pk=action).first()
            if action is None:
                raise ValidationError({"actions": f"Action n°{position} : action inconnue du référentiel."})
        if not label:
            if action is None:
                raise ValidationError({"actions": f"Action n°{position} : libellé obligatoire."})
            label = action.label
        rows.append(ContractAction(action=action, label=label[:255], weekly_hours=hours, position=position))
    return rows


def _apply(contract, fields, objectives, actions):
    unknown = set(fields) - set(CONTRACT_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(contract, name, value)
    action_rows = _normalise_actions(actions) if actions is not None else None
    if contract.weekly_hours in (None, "") and action_rows:
        hours = [row.weekly_hours for row in action_rows if row.weekly_hours is not None]
        if hours:
            contract.weekly_hours = sum(hours, Decimal(0))
    contract.weekly_hours = validate_weekly_hours(
        contract.kind, contract.weekly_hours, contract.hours_exemption
    )
    if contract.starts_on and contract.ends_on and contract.ends_on < contract.starts_on:
        raise ValidationError({"ends_on": "Fin prévue : elle doit suivre la date de début."})
    contract.save()
    if objectives is not None:
        contract.objectives.set(objectives)
    if action_rows is not None:
        contract.actions.all().delete()
        for row in action_rows:
            row.contract = contract
        ContractAction.objects.bulk_create(action_rows)
    return contract


@transaction.atomic
def create_contract(
    beneficiary, *, author, kind=ContractKind.CONTRAT_ENGAGEMENT, objectives=(), actions=(), **fields
):
    """Crée un contrat en brouillon (statut ``draft``) ; le texte des droits et recours est prérempli."""
    if kind not in ContractKind.values:
        raise ValidationError({"kind": f"Type de contrat inconnu : « {kind} »."})
    contract = Contract(beneficiary=beneficiary, kind=kind, created_by=author)
    fields.setdefault("rights_and_appeals", "")
    if not fields["rights_and_appeals"]:
        fields["rights_and_appeals"] = default_rights_and_appeals(beneficiary.departement)
    if "diagnostic" not in fields:
        fields["diagnostic"] = latest_diagnostic(beneficiary)
    _apply(contract, fields, objectives, actions)
    ContractStatusChange.objects.create(
        contract=contract,
        from_status="",
        to_status=ContractStatus.DRAFT,
        occurred_on=timezone.localdate(),
        actor=author,
        reason="Création",
    )
    return contract


@transaction.atomic
def update_contract(contract, *, author, objectives=None, actions=None, **fields):
    """Modifie un contrat en brouillon (un contrat signé ne se modifie plus : on en signe un nouveau)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if not contract.is_editable:
        raise ValidationError(
            f"Ce contrat est « {contract.get_status_display().lower()} » : il ne peut plus être modifié. "
            "Rédigez un nouveau contrat."
        )
    return _apply(contract, fields, objectives, actions)


CONTRACT_WORKFLOW = Workflow(
    "Contrat",
    ContractStatus,
    {
        ContractStatus.DRAFT: {ContractStatus.SIGNED},
        ContractStatus.SIGNED: {ContractStatus.ENDED},
        ContractStatus.ENDED: set(),
    },
)
TRANSITIONS = CONTRACT_WORKFLOW.transitions
CONTRACT_EVENTS = {
    ContractStatus.SIGNED: EventKind.CONTRACT_SIGNED,
    ContractStatus.ENDED: EventKind.CONTRACT_ENDED,
}


def _check_signable(contract):
    errors = {}
    if contract.imported_from:
        # Signé dans un autre logiciel (reprise) : son contenu y fait foi ; seules les heures, si elles sont
        # connues, obéissent aux règles (L5411-6).
        validate_weekly_hours(contract.kind, contract.weekly_hours, contract.hours_exemption)
        return
    if contract.kind == ContractKind.CONTRAT_ENGAGEMENT:
        if not contract.referent_commitments.strip():
            errors["referent_commitments"] = "Engagements du référent : à renseigner avant la signature."
        if not contract.person_commitments.strip():
            errors["person_commitments"] = "Engagements de la personne : à renseigner avant la signature."
        if not contract.rights_and_appeals.strip():
            errors["rights_and_appeals"] = "Droits et voies de recours : à renseigner avant la signature."
        if not contract.intensity:
            errors["intensity"] = "Intensité de l'accompagnement : à choisir avant la signature."
        if not contract.objectives.exists():
            errors["objectives"] = "Plan d'action : choisissez au moins un objectif avant la signature."
        try:
            validate_weekly_hours(
                contract.kind, contract.weekly_hours, contract.hours_exemption, required=True
            )
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def transition_contract(contract, to_status, *, actor, on, reason=""):
    """Seul chemin de changement de statut : brouillon → signé → terminé, daté, motivé, journalisé.

    À la signature d'un contrat, le contrat signé précédent de la personne est terminé (remplacé).
    """

    def apply(locked):
        if on is None:
            raise ValidationError({"on": "Date : champ obligatoire."})
        if on > timezone.localdate():
            raise ValidationError({"on": "Date : elle ne peut pas être future."})
        if to_status == ContractStatus.SIGNED:
            _check_signable(locked)
            locked.signed_on = on
            if not locked.starts_on:
                locked.starts_on = on
            if not locked.review_on:
                months = get_delay("contract_review_months", locked.beneficiary.departement)
                locked.review_on = on + relativedelta(months=months)
        else:
            if not (reason or "").strip():
                raise ValidationError({"reason": "Motif de fin : champ obligatoire."})
            if locked.signed_on and on < locked.signed_on:
                raise ValidationError({"on": "Date de fin : elle ne peut pas précéder la signature."})
            locked.ended_on = on
            locked.end_reason = reason.strip()[:300]
        ContractStatusChange.objects.create(
            contract=locked,
            from_status=locked.status,
            to_status=to_status,
            occurred_on=on,
            actor=actor,
            reason=reason,
        )

    def payload(locked, _previous):
        if to_status == ContractStatus.SIGNED:
            details = {
                "weekly_hours": locked.weekly_hours,
                "intensity": locked.intensity,
                "review_on": locked.review_on,
            }
        else:
            details = {"reason": locked.end_reason}
        return {"contract_id": locked.pk, "contract_kind": locked.kind, **details}

    contract = transition(
        contract,
        to_status,
        workflow=CONTRACT_WORKFLOW,
        actor=actor,
        on=on,
        event=CONTRACT_EVENTS.get(to_status),
        payload=payload,
        apply=apply,
        organisation=lambda locked: locked.organisation_id,
        queryset=Contract.objects.select_related("beneficiary__departement"),
    )
    if to_status == ContractStatus.SIGNED:
        from .reviews import schedule_reviews  # revues d'étape et revue conjointe (étape 8)

        schedule_reviews(contract, author=actor)
        previous = Contract.objects.filter(
            beneficiary_id=contract.beneficiary_id, status=ContractStatus.SIGNED
        ).exclude(pk=contract.pk)
        for old in previous:
            transition_contract(
                old,
                ContractStatus.ENDED,
                actor=actor,
                on=max(on, old.signed_on or on),
                reason=f"Remplacé par le contrat n°{contract.pk} signé le {on:%d/%m/%Y}",
            )
    return contract


def sign_contract(contract, *, actor, on):
    return transition_contract(contract, ContractStatus.SIGNED, actor=actor, on=on)


def end_contract(contract, *, actor, on, reason):
    return transition_contract(contract, ContractStatus.ENDED, actor=actor, on=on, reason=reason)


def current_contract(beneficiary):
    """Le contrat signé en cours, sinon le brouillon le plus récent, sinon None."""
    contracts = Contract.objects.filter(beneficiary=beneficiary)
    return (
        contracts.filter(status=ContractStatus.SIGNED).order_by("-signed_on", "-pk").first()
        or contracts.filter(status=ContractStatus.DRAFT).order_by("-created_at", "-pk").first()
    )


def contracts_signed_counts(start, end, beneficiaries=None):
    """Pour les indicateurs : contrats signés entre ``start`` et ``end`` inclus, par type (clé = ``kind``)."""
    contracts = Contract.objects.filter(signed_on__gte=start, signed_on__lte=end)
    if beneficiaries is not None:
        contracts = contracts.filter(beneficiary__in=beneficiaries)
    counts = dict(contracts.order_by().values_list("kind").annotate(n=Count("pk")))
    return {
        kind: counts.get(kind, 0)
        for kind in (ContractKind.CER, ContractKind.PPAE, ContractKind.CONTRAT_ENGAGEMENT)
    }


# --- délai légal du contrat -----------------------------------------------------------------------------


def contract_deadline(orientation_notified_on, departement=None):
    """Date limite de signature : notification de l'orientation + ``contract_deadline_months`` (1 mois).

    Le délai est un réglage (PARCOURS_DELAYS), surchargeable par Département. Un mois compté de date à
    date ; le 31 janvier donne le 28 (ou 29) février.
    """
    months = get_delay("contract_deadline_months", departement)
    return orientation_notified_on + relativedelta(months=months)


def _latest_notification_threshold(on, departement):
    """Plus petite date de notification dont l'échéance n'est pas dépassée le jour ``on``."""
    months = get_delay("contract_deadline_months", departement)
    candidate = on - relativedelta(months=months)
    while contract_deadline(candidate - datetime.timedelta(days=1), departement) >= on:
        candidate -= datetime.timedelta(days=1)
    while contract_deadline(candidate, departement) < on:
        candidate += datetime.timedelta(days=1)
    return candidate


def with_orientation_notified_on(beneficiaries):
    """Annote ``orientation_notified_on`` : date de la dernière orientation notifiée (journal)."""
    latest = (
        Event.objects.filter(beneficiary=OuterRef("pk"), kind__in=ORIENTATION_EVENT_KINDS)
        .order_by("-occurred_on", "-pk")
        .values("occurred_on")[:1]
    )
    return beneficiaries.annotate(orientation_notified_on=Subquery(latest))


def late_contracts(beneficiaries, on):
    """Personnes orientées sans contrat signé depuis leur dernière orientation, délai dépassé le jour ``on``.

    ``beneficiaries`` : ensemble de départ (déjà restreint au périmètre de l'agent). Le délai est celui
    du Département de chaque personne. Annotations : ``orientation_notified_on``.
    """
    # Seules les personnes qui ont une orientation au journal (peu nombreuses, index du type d'événement) :
    # la date de la dernière n'est calculée que pour elles, pas pour tout le périmètre.
    oriented = Event.objects.filter(kind__in=ORIENTATION_EVENT_KINDS).order_by().values("beneficiary_id")
    beneficiaries = beneficiaries.filter(pk__in=oriented)
    annotated = with_orientation_notified_on(beneficiaries).filter(orientation_notified_on__isnull=False)
    signed_since = Contract.objects.filter(
        beneficiary=OuterRef("pk"),
        signed_on__isnull=False,
        signed_on__gte=OuterRef("orientation_notified_on"),
    )
    annotated = annotated.filter(~Exists(signed_since))
    # Le seuil de chaque Département (ses délais), une condition par seuil : les Départements de l'installation
    # sont peu nombreux, on les lit tous plutôt que de chercher ceux des personnes (une lecture du périmètre).
    by_threshold = {}
    for departement in Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("pk"):
        by_threshold.setdefault(_latest_notification_threshold(on, departement), []).append(departement.pk)
    scope = Q(pk__in=[])
    for threshold, ids in by_threshold.items():
        scope |= Q(departement_id__in=ids, orientation_notified_on__lt=threshold)
    return annotated.filter(scope)


def contract_deadline_row(person, on):
    """Ligne de l'écran des contrats en retard : (personne, notifiée le, échéance, jours de retard)."""
    deadline = contract_deadline(person.orientation_notified_on, person.departement)
    return (person, person.orientation_notified_on, deadline, (on - deadline).days)


def contract_deadline_rows(beneficiaries, on):
    """Lignes de l'écran des contrats en retard (``contract_deadline_row`` de chaque personne)."""
    return [contract_deadline_row(person, on) for person in beneficiaries]
