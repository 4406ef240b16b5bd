"""Pages des convocations et des rappels : convocation en nombre des personnes sans réponse (ou absentes à leur
rendez-vous d'orientation), relance d'une invitation, rappel d'un rendez-vous, relance en nombre depuis la file
des invitations en cours. Les règles sont dans ``convocations.py``, ``appointment_messages.py`` et
``invitations.py`` ; ces vues lisent le formulaire, vérifient le périmètre et appellent une fonction."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from parcours.accounts.roles import ORIENTATION_TEAM
from parcours.core.access import Level, access
from parcours.core.forms import add_validation_errors
from parcours.core.pagination import AFTER, BEFORE
from parcours.core.text import plural

from . import appointment_messages, permissions, queues
from . import convocations as convocation_service
from .forms import DATETIME, INPUT
from .invitations import remind_invitation
from .models import Appointment, Channel, Invitation
from .views import _ids


class ConvocationForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Date et heure du rendez-vous", widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"]
    )
    duration_minutes = forms.IntegerField(
        label="Durée (minutes)",
        initial=60,
        min_value=5,
        max_value=480,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )
    spacing_minutes = forms.IntegerField(
        label="Écart entre deux personnes (minutes)",
        initial=0,
        min_value=0,
        max_value=240,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
        help_text="0 : toutes au même créneau (réunion d'information collective) ; 30 : créneaux successifs.",
    )
    place = forms.CharField(label="Lieu", max_length=300, widget=INPUT)
    channels = forms.MultipleChoiceField(
        label="Envoyer par",
        choices=[(Channel.POSTAL, "Courrier"), (Channel.SMS, "SMS"), (Channel.EMAIL, "Courriel")],
        initial=[Channel.POSTAL, Channel.SMS, Channel.EMAIL],
        widget=forms.CheckboxSelectMultiple,
    )


def _next_morning():
    day = timezone.localdate() + datetime.timedelta(days=7)
    return datetime.datetime.combine(day, datetime.time(9, 30)).strftime("%Y-%m-%dT%H:%M")


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Convocations en nombre")
@require_http_methods(["GET", "POST"])
def convocations(request):
    """Personnes à convoquer (invitation expirée sans réponse, rendez-vous d'orientation manqué), cochées puis
    convoquées en une action ; compte rendu en français et lien vers les courriers à imprimer (PDF)."""
    scope = permissions.team_scope(request.user)
    form = ConvocationForm(request.POST or None, initial={"starts_at": _next_morning()})
    if request.method == "POST":
        ids = _ids(request.POST.getlist("people"))
        if not ids:
            form.add_error(None, "Cochez au moins une personne à convoquer.")
        elif form.is_valid():
            people = (
                scope.filter(pk__in=ids)
                .select_related("departement")
                .order_by("last_name", "first_name", "pk")
            )
            data = form.cleaned_data
            try:
                report = convocation_service.convoke(
                    people,
                    starts_at=data["starts_at"],
                    place=data["place"],
                    author=request.user,
                    channels=data["channels"],
                    duration_minutes=data["duration_minutes"],
                    spacing_minutes=data["spacing_minutes"],
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                (messages.success if report.convoked else messages.warning)(request, report.summary)
                for _person, reason in report.skipped:
                    messages.warning(request, reason)
                for person, channel, reason in report.failed:
                    messages.error(request, f"{person.full_name} ({Channel(channel).label}) : {reason}")
                target = reverse("orientation:convocations")
                if report.letters:
                    target += "?courriers=" + ",".join(str(i.pk) for i in report.letters)
                return redirect(target)
    page = queues.queue_page(
        "expirees", scope, timezone.localdate(), after=request.GET.get(AFTER), before=request.GET.get(BEFORE)
    )
    page.count = queues.queue_counts(scope, timezone.localdate(), names=("expirees",))["expirees"]
    letters = _ids(request.GET.getlist("courriers"))
    context = {
        "title": "Orientation — convocations",
        "page_obj": page,
        "form": form,
        "letters_query": ",".join(str(i) for i in letters),
        "letters_count": len(letters),
        "selected": set(_ids(request.POST.getlist("people"))),
        "window": appointment_messages.window(),
    }
    return render(request, "orientation/convocations/list.html", context, status=400 if form.errors else 200)


def _panel(beneficiary_id):
    return redirect(reverse("orientation:panel", args=[beneficiary_id]))


def _outside_window(request):
    """Aucun envoi entre 20 h et 8 h : un envoi immédiat demandé la nuit est refusé avec l'heure d'ouverture."""
    if appointment_messages.within_window(timezone.now()):
        return False
    start, end = appointment_messages.window()
    messages.error(
        request, f"Aucun message n'est envoyé entre {end} h et {start} h : relancez à partir de {start} h."
    )
    return True


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Relance d'une invitation")
@require_POST
def remind_invitation_view(request, pk):
    """Bouton « Relancer » d'une invitation envoyée par courriel ou SMS, restée sans réponse (une relance)."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("beneficiary__departement", "appointment"),
        pk=pk,
        beneficiary__in=permissions.team_scope(request.user).values("pk"),
    )
    if _outside_window(request):
        return _panel(invitation.beneficiary_id)
    try:
        remind_invitation(invitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Relance envoyée ({invitation.get_channel_display().lower()}).")
    return _panel(invitation.beneficiary_id)


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Relance des invitations en nombre")
@require_POST
def remind_invitations(request):
    """Relance en nombre des invitations cochées dans la file « invitations en cours »."""
    back = reverse("orientation:queues") + "?file=invitations"
    ids = _ids(request.POST.getlist("invitations"))
    if not ids:
        messages.error(request, "Cochez au moins une invitation à relancer.")
        return redirect(back)
    if _outside_window(request):
        return redirect(back)
    selected = Invitation.objects.filter(
        pk__in=ids, beneficiary__in=permissions.team_scope(request.user).values("pk")
    ).select_related("beneficiary__departement", "appointment")
    reminded, refused = 0, []
    for invitation in selected:
        try:
            remind_invitation(invitation, actor=request.user)
        except ValidationError as error:
            refused.append(f"{invitation.beneficiary.full_name} : {' '.join(error.messages)}")
        else:
            reminded += 1
    summary = plural(reminded, "invitation relancée", "invitations relancées")
    if refused:
        summary += f", {plural(len(refused), 'non relancée', 'non relancées')}"
    (messages.success if reminded else messages.warning)(request, summary + ".")
    for reason in refused:
        messages.warning(request, reason)
    return redirect(back)


@access(Level.AUTHENTICATED, description="Rappel d'un rendez-vous")
@require_POST
def remind_appointment(request, pk):
    """Bouton « Envoyer un rappel » d'un rendez-vous à venir (courriel et SMS ; un rappel manuel par jour).
    Équipe d'orientation de la personne, ou professionnel du rendez-vous."""
    appointment = get_object_or_404(
        Appointment.objects.select_related("beneficiary__departement"),
        pk=pk,
        beneficiary__in=permissions.panel_scope(request.user).values("pk"),
    )
    if not (
        permissions.can_manage(request.user, appointment.beneficiary)
        or appointment.professionals.filter(pk=request.user.pk).exists()
    ):
        messages.error(
            request, "Seuls l'équipe d'orientation et les professionnels du rendez-vous le rappellent."
        )
        return _panel(appointment.beneficiary_id)
    if _outside_window(request):
        return _panel(appointment.beneficiary_id)
    try:
        sent = appointment_messages.remind(appointment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        channels = " et ".join(Channel(m.channel).label.lower() for m in sent)
        messages.success(request, f"Rappel du rendez-vous envoyé ({channels}).")
    return _panel(appointment.beneficiary_id)
