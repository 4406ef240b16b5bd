"""Questionnaires de satisfaction (annexe 4 de la convention 002, volet 3 : « Taux de satisfaction des
personnes accompagnées et des professionnels »).

**La personne** répond à un court questionnaire (note de 1 à 5, se sent-elle écoutée, commentaire libre)
à deux moments (occasions) :

- après chaque **entretien d'orientation** honoré (événement ``appointment_held`` d'un rendez-vous
  d'orientation : la date de l'entretien est l'échéance) ;
- après **3 mois d'accompagnement** (réglage ``satisfaction_survey_months``) : trois mois après l'ouverture
  d'un suivi encore en cours ce jour-là.

Elle y répond depuis son espace ou par un **lien signé** (``django.core.signing``), utilisable sans
compte, qui expire (réglage ``satisfaction_link_days``). Une occasion reste ouverte
``satisfaction_answer_window_days`` jours ; une seule réponse par occasion. La personne peut aussi donner
son avis à tout moment (occasion « à son initiative »), ce qui ne compte pas dans le taux de réponse.

**Les professionnels** (référents, chargés d'orientation, administrateurs d'une organisation qui
accompagne) répondent chaque trimestre civil : une réponse par agent et par trimestre.

Le commentaire libre n'est lu que par les pages de la personne ; aucun export ne le contient.
"""

import datetime

from dateutil.relativedelta import relativedelta
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import EDITING, memberships_of
from parcours.core.delays import get_delay
from parcours.journal.models import Event, EventKind
from parcours.journal.payload import Payload as P
from parcours.journal.queries import payload_text
from parcours.orientation.models import AppointmentKind

from .models import ProfessionalSurveyAnswer, SatisfactionAnswer, SurveyChannel, SurveyOccasion

TOKEN_SALT = "parcours.accompaniment.surveys.person"
SATISFIED_SCORES = (4, 5)
SCORES = (1, 2, 3, 4, 5)


# --- occasions de la personne ---------------------------------------------------------------------------


def shift_months(day, months):
    """Le même quantième ``months`` mois plus tard (fin de mois ramenée au dernier jour)."""
    return day + relativedelta(months=months)


def orientation_interviews():
    """Événements « rendez-vous honoré » d'un rendez-vous d'orientation (l'entretien d'orientation)."""
    return (
        Event.objects.filter(kind=EventKind.APPOINTMENT_HELD)
        .annotate(
            appointment_kind=Cast(
                payload_text(EventKind.APPOINTMENT_HELD, P.APPOINTMENT_KIND), output_field=CharField()
            )
        )
        .filter(appointment_kind=AppointmentKind.ORIENTATION)
    )


def occasions_of(beneficiary, today=None):
    """Occasions échues de la personne, ``[(occasion, échéance)]`` du plus récent au plus ancien : chaque
    entretien d'orientation honoré, et les 3 mois de chaque suivi encore en cours à cette date."""
    today = today or timezone.localdate()
    months = get_delay("satisfaction_survey_months", beneficiary.departement)
    found = {
        (SurveyOccasion.ORIENTATION, day)
        for day in orientation_interviews()
        .filter(beneficiary=beneficiary, occurred_on__lte=today)
        .values_list("occurred_on", flat=True)
    }
    for started_on, ended_on in beneficiary.follow_ups.values_list("started_on", "ended_on"):
        due = shift_months(started_on, months)
        if due <= today and (ended_on is None or ended_on > due):
            found.add((SurveyOccasion.THREE_MONTHS, due))
    return sorted(found, key=lambda o: (o[1], o[0]), reverse=True)


def open_occasions(beneficiary, today=None):
    """Questionnaires que la personne peut remplir aujourd'hui : occasions échues depuis moins de
    ``satisfaction_answer_window_days`` jours et sans réponse, la plus récente d'abord."""
    today = today or timezone.localdate()
    window = get_delay("satisfaction_answer_window_days", beneficiary.departement)
    answered = set(
        beneficiary.satisfaction_answers.exclude(occasion=SurveyOccasion.SPONTANEOUS).values_list(
            "occasion", "due_on"
        )
    )
    return [
        (occasion, due)
        for occasion, due in occasions_of(beneficiary, today)
        if (occasion, due) not in answered and (today - due).days <= window
    ]


def occasion_label(occasion, due_on):
    label = SurveyOccasion(occasion).label
    return f"{label} du {due_on:%d/%m/%Y}" if due_on else label


# --- lien signé -------------------------------------------------------------------------------------------


def make_token(beneficiary, occasion, due_on):
    """Jeton signé (personne, occasion, échéance) du lien envoyé à la personne ; il expire après
    ``satisfaction_link_days`` jours (vérifié à la lecture, ``read_token``)."""
    return signing.dumps(
        {"b": beneficiary.pk, "o": str(occasion), "d": due_on.isoformat()}, salt=TOKEN_SALT, compress=True
    )


def survey_url(beneficiary, occasion, due_on):
    return reverse("accompaniment:survey_by_link", args=[make_token(beneficiary, occasion, due_on)])


def read_token(token):
    """``(personne, occasion, échéance)`` d'un jeton valide ; ``LookupError`` (message pour la personne)
    s'il est altéré ou plus vieux que ``satisfaction_link_days`` jours (réglage du Département de la
    personne)."""
    from parcours.beneficiaries.models import Beneficiary

    expired = "Ce lien a expiré. Vous pouvez donner votre avis depuis votre espace."
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
        beneficiary = Beneficiary.objects.select_related("departement").get(pk=data["b"])
        occasion = SurveyOccasion(data["o"])
        due_on = datetime.date.fromisoformat(data["d"])
        days = get_delay("satisfaction_link_days", beneficiary.departement)
        signing.loads(token, salt=TOKEN_SALT, max_age=datetime.timedelta(days=days))
    except signing.SignatureExpired as error:
        raise LookupError(expired) from error
    except (signing.BadSignature, KeyError, TypeError, ValueError, Beneficiary.DoesNotExist) as error:
        raise LookupError("Ce lien n'est pas valide.") from error
    return beneficiary, occasion, due_on


# --- réponses de la personne ------------------------------------------------------------------------------


def _score(value):
    try:
        score = int(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({"score": "Choisissez une note de 1 à 5."}) from error
    if score not in SCORES:
        raise ValidationError({"score": "Choisissez une note de 1 à 5."})
    return score


def answer_person_survey(
    beneficiary,
    *,
    score,
    listened_to,
    comment="",
    occasion=SurveyOccasion.SPONTANEOUS,
    due_on=None,
    channel=SurveyChannel.SPACE,
    today=None,
):
    """Enregistre la réponse de la personne. Pour une occasion (entretien d'orientation, 3 mois), elle doit
    être ouverte (``open_occasions``) : une seule réponse par occasion."""
    today = today or timezone.localdate()
    score = _score(score)
    occasion = SurveyOccasion(occasion)
    if occasion == SurveyOccasion.SPONTANEOUS:
        due_on = None
    elif (occasion, due_on) not in open_occasions(beneficiary, today):
        answered = beneficiary.satisfaction_answers.filter(occasion=occasion, due_on=due_on).exists()
        raise ValidationError(
            "Vous avez déjà répondu à ce questionnaire. Merci !"
            if answered
            else "Ce questionnaire n'est plus ouvert. Vous pouvez donner votre avis depuis votre espace."
        )
    try:
        with transaction.atomic():
            return SatisfactionAnswer.objects.create(
                beneficiary=beneficiary,
                answered_on=today,
                occasion=occasion,
                due_on=due_on,
                channel=channel,
                score=score,
                listened_to=bool(listened_to),
                comment=(comment or "").strip()[:2000],
            )
    except IntegrityError as error:  # deux envois simultanés
        raise ValidationError("Vous avez déjà répondu à ce questionnaire. Merci !") from error


# --- questionnaire des professionnels ---------------------------------------------------------------------


def quarter_of(day):
    """Premier jour du trimestre civil de ``day``."""
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_label(quarter):
    return f"{(quarter.month - 1) // 3 + 1}{'er' if quarter.month == 1 else 'e'} trimestre {quarter.year}"


def _departement_of(organisation):
    if organisation.kind == OrganisationKind.DEPARTEMENT:
        return organisation
    return organisation.departement


def surveyed_memberships(user):
    """Appartenances de l'agent qui le font répondre au questionnaire des professionnels : un rôle qui
    accompagne (référent, chargé d'orientation, administrateur) dans une organisation d'un Département,
    hors services de l'État."""
    return [
        m
        for m in memberships_of(user)
        if m.role in EDITING
        and m.organisation.kind != OrganisationKind.ETAT
        and _departement_of(m.organisation) is not None
    ]


def professional_survey_due(user, today=None):
    """Vrai si l'agent est concerné et n'a pas encore répondu ce trimestre (rappel sur l'accueil)."""
    today = today or timezone.localdate()
    if not surveyed_memberships(user):
        return False
    return not ProfessionalSurveyAnswer.objects.filter(user=user, quarter=quarter_of(today)).exists()


@transaction.atomic
def answer_professional_survey(user, *, score, tools_help, offer_sufficient, comment="", today=None):
    """Réponse trimestrielle d'un professionnel, rattachée à sa première organisation concernée et à son
    Département ; une seule par trimestre."""
    today = today or timezone.localdate()
    memberships = surveyed_memberships(user)
    if not memberships:
        raise ValidationError(
            "Ce questionnaire s'adresse aux professionnels de l'orientation et de l'accompagnement."
        )
    score = _score(score)
    quarter = quarter_of(today)
    if ProfessionalSurveyAnswer.objects.filter(user=user, quarter=quarter).exists():
        raise ValidationError(f"Vous avez déjà répondu pour le {quarter_label(quarter)}. Merci !")
    organisation = memberships[0].organisation
    try:
        with transaction.atomic():
            return ProfessionalSurveyAnswer.objects.create(
                user=user,
                organisation=organisation,
                departement=_departement_of(organisation),
                quarter=quarter,
                answered_on=today,
                score=score,
                tools_help=bool(tools_help),
                offer_sufficient=bool(offer_sufficient),
                comment=(comment or "").strip()[:2000],
            )
    except IntegrityError as error:
        raise ValidationError(f"Vous avez déjà répondu pour le {quarter_label(quarter)}. Merci !") from error
