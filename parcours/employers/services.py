"""Relation avec les employeurs : qui voit quoi, immersions (PMSMP) et embauches reliées au parcours, et
rapprochement du projet professionnel des personnes (code ROME du diagnostic) avec les offres proches d'elles.

Une immersion entre au plan d'activités de la personne (``accompaniment.activities.plan_activity``, type
« immersion ») : ses heures comptent dans les 15 à 20 heures, et les indicateurs de progression vers l'emploi la
lisent comme toute activité. Une embauche qui clôt l'accompagnement passe par la sortie en emploi
(``accompaniment.exits.record_exit``) : contrat, activités, référent et suivi sont clos au même endroit."""

import datetime
import math
import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from parcours.accompaniment.activities import plan_activity, set_activity_status
from parcours.accompaniment.exits import record_exit
from parcours.accompaniment.models import ActivityKind, ActivityStatus, DiagnosticVersion, ExitReason
from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import PRESCRIBING, with_roles
from parcours.beneficiaries.models import Beneficiary
from parcours.catalogue.geo import haversine_km, valid_coordinates
from parcours.catalogue.models import Commune

from .models import Employer, Hiring, Immersion, ImmersionOutcome, JobOffer, OfferStatus

ROME = re.compile(r"^[A-N]\d{4}$")
# Art. D5135-3 du code du travail : une PMSMP dure au plus un mois de date à date ; elle peut être renouvelée
# une fois pour le même objet : au plus deux périodes chez le même employeur sur douze mois.
IMMERSION_MAX_MONTHS = 1
IMMERSION_MAX_PER_EMPLOYER_12_MONTHS = 2
MATCH_LIMIT = 30


def rome_problem(code):
    if not ROME.fullmatch(code or ""):
        return f"Code ROME « {code} » invalide : une lettre de A à N puis quatre chiffres (ex. : N1103)."
    return None


# --- périmètre --------------------------------------------------------------------------------------------


def departements_of(user):
    """Départements où l'agent travaille avec les employeurs (référent, chargé d'orientation, administrateur
    d'une organisation du Département ou partenaire)."""
    return sorted(
        {
            m.organisation_id
            if m.organisation.kind == OrganisationKind.DEPARTEMENT
            else m.organisation.departement_id
            for m in with_roles(user, PRESCRIBING)
        }
        - {None}
    )


def employers_visible_to(user):
    if not user.is_authenticated:
        return Employer.objects.none()
    if user.is_superuser:
        return Employer.objects.all()
    return Employer.objects.filter(departement_id__in=departements_of(user))


def offers_visible_to(user):
    return JobOffer.objects.filter(employer__in=employers_visible_to(user))


# --- immersions et embauches ------------------------------------------------------------------------------


def immersion_max_end(starts_on):
    return starts_on + relativedelta(months=IMMERSION_MAX_MONTHS) - datetime.timedelta(days=1)


@transaction.atomic
def record_immersion(
    beneficiary,
    *,
    employer,
    author,
    objective,
    starts_on,
    ends_on,
    weekly_hours,
    tutor_name,
    tutor_phone="",
    offer=None,
):
    """Enregistre une PMSMP et l'ajoute au plan d'activités de la personne."""
    errors = {}
    if employer.departement_id != beneficiary.departement_id:
        errors["employer"] = "Employeur : il n'est pas enregistré dans le Département de la personne."
    if offer is not None and offer.employer_id != employer.pk:
        errors["offer"] = "Offre : elle n'est pas de cet employeur."
    if not (tutor_name or "").strip():
        errors["tutor_name"] = "Tuteur : champ obligatoire (la personne est accueillie par un tuteur)."
    if starts_on and ends_on:
        if ends_on < starts_on:
            errors["ends_on"] = "Fin : elle ne peut pas précéder le début."
        elif ends_on > immersion_max_end(starts_on):
            errors["ends_on"] = (
                f"Fin : une immersion dure au plus un mois de date à date (art. D5135-3 du code du travail), "
                f"soit jusqu'au {immersion_max_end(starts_on):%d/%m/%Y}."
            )
        else:
            year_before = starts_on - relativedelta(months=12)
            earlier = Immersion.objects.filter(
                beneficiary=beneficiary, employer=employer, starts_on__gt=year_before, starts_on__lte=ends_on
            ).count()
            if earlier >= IMMERSION_MAX_PER_EMPLOYER_12_MONTHS:
                errors["starts_on"] = (
                    f"Début : {beneficiary.full_name} a déjà fait {earlier} immersions chez {employer.name} sur les "
                    "douze derniers mois ; une immersion ne se renouvelle qu'une fois (art. D5135-3 du code du "
                    "travail)."
                )
    if errors:
        raise ValidationError(errors)
    days = (ends_on - starts_on).days + 1
    activity = plan_activity(
        beneficiary,
        author=author,
        kind=ActivityKind.IMMERSION,
        starts_on=starts_on,
        label=f"Immersion (PMSMP) — {employer.name}",
        weekly_hours=weekly_hours,
        weeks=max(1, math.ceil(days / 7)),
        provider=employer.name,
    )
    return Immersion.objects.create(
        beneficiary=beneficiary,
        employer=employer,
        offer=offer,
        activity=activity,
        objective=objective,
        starts_on=starts_on,
        ends_on=ends_on,
        weekly_hours=activity.weekly_hours,
        tutor_name=tutor_name.strip(),
        tutor_phone=(tutor_phone or "").strip(),
        created_by=author,
    )


@transaction.atomic
def record_immersion_outcome(immersion, *, outcome, actor, on, notes=""):
    """Le bilan d'une immersion ; son activité du plan passe à « réalisée » (ou « abandonnée » si elle a été
    interrompue, avec le motif)."""
    if outcome not in ImmersionOutcome.values or outcome == ImmersionOutcome.PENDING:
        raise ValidationError({"outcome": "Bilan : choisissez l'issue de l'immersion."})
    if on < immersion.starts_on:
        raise ValidationError({"on": "Date du bilan : pas avant le début de l'immersion."})
    if outcome == ImmersionOutcome.INTERRUPTED and not (notes or "").strip():
        raise ValidationError({"notes": "Précisions : indiquez pourquoi l'immersion a été interrompue."})
    activity = immersion.activity
    if activity is not None and activity.status in (ActivityStatus.PLANNED, ActivityStatus.IN_PROGRESS):
        target = ActivityStatus.ABANDONED if outcome == ImmersionOutcome.INTERRUPTED else ActivityStatus.DONE
        label = ImmersionOutcome(outcome).label
        set_activity_status(activity, target, actor=actor, on=on, outcome=f"{label}. {notes}".strip())
    immersion.outcome, immersion.outcome_notes = outcome, (notes or "").strip()
    immersion.save(update_fields=["outcome", "outcome_notes"])
    return immersion


@transaction.atomic
def record_hiring(
    beneficiary,
    *,
    employer,
    author,
    job_title,
    contract_type,
    starts_on,
    contract_months=None,
    weekly_hours=None,
    offer=None,
    close_pathway=True,
):
    """Enregistre une embauche ; ``close_pathway`` : c'est aussi la sortie en emploi de l'accompagnement
    (contrôles et clôtures de ``record_exit``). L'offre est pourvue quand tous ses postes le sont."""
    if employer.departement_id != beneficiary.departement_id:
        raise ValidationError(
            {"employer": "Employeur : il n'est pas enregistré dans le Département de la personne."}
        )
    if offer is not None and offer.employer_id != employer.pk:
        raise ValidationError({"offer": "Offre : elle n'est pas de cet employeur."})
    if not (job_title or "").strip():
        raise ValidationError({"job_title": "Poste : champ obligatoire."})
    exit_ = None
    if close_pathway:
        exit_ = record_exit(
            beneficiary,
            author=author,
            reason=ExitReason.EMPLOYMENT,
            exited_on=starts_on,
            employer=employer.name,
            job_title=job_title,
            contract_type=contract_type,
            contract_months=contract_months,
            weekly_hours=weekly_hours,
            job_started_on=starts_on,
        )
    hiring = Hiring.objects.create(
        beneficiary=beneficiary,
        employer=employer,
        offer=offer,
        exit=exit_,
        job_title=job_title.strip(),
        contract_type=contract_type,
        contract_months=contract_months,
        weekly_hours=weekly_hours,
        starts_on=starts_on,
        created_by=author,
    )
    if offer is not None:
        locked = JobOffer.objects.select_for_update().get(pk=offer.pk)
        if locked.status == OfferStatus.OPEN and locked.hirings.count() >= locked.positions:
            locked.status = OfferStatus.FILLED
            locked.save(update_fields=["status"])
    return hiring


# --- rapprochement projet professionnel / offres ---------------------------------------------------------


@dataclass
class Match:
    item: object  # offre ou personne
    exact: bool  # même code ROME (sinon même domaine professionnel : trois premiers caractères)
    distance_km: float | None

    @property
    def label(self):
        return "même métier" if self.exact else "même domaine professionnel"


def _centres(codes):
    return {
        c.code: (c.latitude, c.longitude)
        for c in Commune.objects.filter(code__in=set(codes) - {""})
        if valid_coordinates(c.latitude, c.longitude)
    }


def _distance(centres, a, b):
    if a in centres and b in centres:
        return round(haversine_km(*centres[a], *centres[b]), 1)
    return None


def _order(matches):
    return sorted(matches, key=lambda m: (not m.exact, m.distance_km if m.distance_km is not None else 1e9))


def latest_rome(beneficiary):
    diagnostic = beneficiary.diagnostics.exclude(rome_code="").order_by("-number").first()
    return diagnostic.rome_code if diagnostic else ""


def offers_for(beneficiary, *, rome=None, limit=MATCH_LIMIT):
    """Offres ouvertes du Département de la personne pour son métier recherché (code ROME de son dernier
    diagnostic) : même métier d'abord, puis même domaine professionnel, les plus proches de chez elle d'abord."""
    rome = rome if rome is not None else latest_rome(beneficiary)
    if not rome:
        return []
    offers = list(
        JobOffer.objects.filter(
            employer__departement_id=beneficiary.departement_id,
            status=OfferStatus.OPEN,
            rome_code__startswith=rome[:3],
        ).select_related("employer")[:500]
    )
    centres = _centres([beneficiary.insee_code, *(o.commune_code for o in offers)])
    matches = [
        Match(o, o.rome_code == rome, _distance(centres, beneficiary.insee_code, o.commune_code))
        for o in offers
    ]
    return _order(matches)[:limit]


def candidates_for(offer, people, *, limit=MATCH_LIMIT):
    """Personnes de ``people`` (périmètre de l'agent) dont le dernier diagnostic vise le métier de l'offre ou
    son domaine professionnel, sans sortie en emploi enregistrée, les plus proches du lieu de travail d'abord."""
    last_rome = Subquery(
        DiagnosticVersion.objects.filter(beneficiary=OuterRef("pk"))
        .exclude(rome_code="")
        .order_by("-number")
        .values("rome_code")[:1]
    )
    rows = list(
        people.filter(departement_id=offer.employer.departement_id)
        .annotate(project_rome=last_rome)
        .filter(project_rome__startswith=offer.rome_code[:3])
        .exclude(Q(exits__reason=ExitReason.EMPLOYMENT))
        .only("pk", "first_name", "last_name", "insee_code", "city", "departement_id")[:500]
    )
    centres = _centres([offer.commune_code, *(p.insee_code for p in rows)])
    matches = [
        Match(p, p.project_rome == offer.rome_code, _distance(centres, offer.commune_code, p.insee_code))
        for p in rows
    ]
    return _order(matches)[:limit]


def people_of(user):
    return Beneficiary.objects.visible_to(user)
