"""Pages des questionnaires de satisfaction (``surveys.py``) : la personne depuis son espace ou par le lien
signé reçu (sans compte), l'agent qui prépare le lien d'une personne qu'il accompagne, le professionnel
qui répond au questionnaire du trimestre. Aucune règle ici : les vues appellent ``surveys``."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from parcours.accounts.roles import SURVEYED_PROFESSIONAL
from parcours.core.access import Level, access

from . import surveys
from .models import SurveyChannel, SurveyOccasion
from .views import _beneficiary
from .views_intensive import _person


def _answer(request, beneficiary, occasion, due_on, channel):
    """Enregistre la réponse postée ; renvoie le message d'erreur ou None."""
    try:
        surveys.answer_person_survey(
            beneficiary,
            score=request.POST.get("score"),
            listened_to=request.POST.get("listened_to") == "oui",
            comment=request.POST.get("comment", ""),
            occasion=occasion,
            due_on=due_on,
            channel=channel,
        )
    except ValidationError as exc:
        return exc.messages[0]
    return None


def _chosen_occasion(request, opened):
    """L'occasion demandée (``occasion`` et ``echeance`` dans l'adresse ou le formulaire) si elle est
    ouverte, sinon la plus récente ouverte, sinon « à son initiative »."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        asked = (SurveyOccasion(data.get("occasion")), datetime.date.fromisoformat(data.get("echeance", "")))
    except (ValueError, TypeError):
        asked = None
    if asked in opened:
        return asked
    if data.get("occasion") == SurveyOccasion.SPONTANEOUS:
        return SurveyOccasion.SPONTANEOUS, None
    return opened[0] if opened else (SurveyOccasion.SPONTANEOUS, None)


@access(Level.AUTHENTICATED, description="Avis de la personne (questionnaire de satisfaction)")
@require_http_methods(["GET", "POST"])
def my_survey(request):
    person = _person(request)
    opened = surveys.open_occasions(person)
    occasion, due_on = _chosen_occasion(request, opened)
    error = None
    if request.method == "POST":
        error = _answer(request, person, occasion, due_on, SurveyChannel.SPACE)
        if error is None:
            messages.success(request, "Merci pour votre réponse.")
            return redirect("accompaniment:my_space")
    context = {
        "title": "Votre avis",
        "error": error,
        "occasion": occasion,
        "due_on": due_on,
        "occasion_label": surveys.occasion_label(occasion, due_on),
        "opened": [(o, d, surveys.occasion_label(o, d)) for o, d in opened],
    }
    return render(request, "accompaniment/my_survey.html", context)


@access(Level.PUBLIC, description="Questionnaire de satisfaction par lien signé (jeton vérifié par la vue)")
@require_http_methods(["GET", "POST"])
def survey_by_link(request, token):
    """La personne répond par le lien reçu, sans compte ; seul le prénom est affiché."""
    try:
        person, occasion, due_on = surveys.read_token(token)
    except LookupError as exc:
        return render(
            request,
            "accompaniment/surveys/link.html",
            {"title": "Votre avis", "link_error": str(exc)},
            status=410,
        )
    answered = person.satisfaction_answers.filter(occasion=occasion, due_on=due_on).exists()
    error = None
    if request.method == "POST" and not answered:
        error = _answer(request, person, occasion, due_on, SurveyChannel.LINK)
        if error is None:
            return render(request, "accompaniment/surveys/link.html", {"title": "Votre avis", "thanks": True})
    context = {
        "title": "Votre avis",
        "first_name": person.first_name,
        "answered": answered,
        "error": error,
        "occasion_label": surveys.occasion_label(occasion, due_on),
    }
    return render(request, "accompaniment/surveys/link.html", context)


@access(Level.AUTHENTICATED, person="pk", description="Questionnaires de satisfaction d'une personne (liens)")
@require_GET
def person_survey_links(request, pk):
    """Pour l'agent qui accompagne la personne : les questionnaires ouverts et leur lien à lui envoyer.
    Les réponses elles-mêmes (notes, commentaire) ne sont pas montrées aux agents."""
    from .permissions import access_for

    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    links = [
        {
            "label": surveys.occasion_label(occasion, due_on),
            "url": request.build_absolute_uri(surveys.survey_url(beneficiary, occasion, due_on)),
        }
        for occasion, due_on in surveys.open_occasions(beneficiary)
    ]
    answered = beneficiary.satisfaction_answers.exclude(occasion=SurveyOccasion.SPONTANEOUS).count()
    context = {
        "beneficiary": beneficiary,
        "access": access,
        "tab": "avis",
        "title": f"Questionnaires de satisfaction — {beneficiary.full_name}",
        "links": links,
        "answered": answered,
        "link_days": surveys.get_delay("satisfaction_link_days", beneficiary.departement),
    }
    return render(request, "accompaniment/surveys/person_links.html", context)


@access(
    Level.AGENT,
    requires=SURVEYED_PROFESSIONAL,
    description="Questionnaire trimestriel de satisfaction des professionnels",
)
@require_http_methods(["GET", "POST"])
def professional_survey(request):
    today = timezone.localdate()
    quarter = surveys.quarter_of(today)
    error = None
    if request.method == "POST":
        try:
            surveys.answer_professional_survey(
                request.user,
                score=request.POST.get("score"),
                tools_help=request.POST.get("tools_help") == "oui",
                offer_sufficient=request.POST.get("offer_sufficient") == "oui",
                comment=request.POST.get("comment", ""),
                today=today,
            )
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, "Merci pour votre réponse.")
            return redirect("accompaniment:professional_survey")
    context = {
        "title": "Questionnaire des professionnels",
        "quarter_label": surveys.quarter_label(quarter),
        "due": surveys.professional_survey_due(request.user, today),
        "error": error,
    }
    return render(request, "accompaniment/surveys/professional.html", context)
