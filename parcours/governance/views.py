"""Pages des comités : lecture pour les lecteurs des conventions (Département, État rattaché), secrétariat pour
les administrateurs du Département. Chaque action est une adresse ; la vue lit la saisie et
appelle un service de ``services.py``."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from parcours.accounts.roles import CONVENTION_READER
from parcours.core.access import Level, access

from . import services
from .documents import minutes_pdf
from .forms import (
    AgendaItemForm,
    CommitteeForm,
    DecisionForm,
    DecisionStatusForm,
    FreezeForm,
    MeetingForm,
    MemberForm,
    MinutesForm,
)
from .models import Decision, DecisionStatus, Meeting

EDIT_DENIED = "Seuls les administrateurs du Département tiennent ses comités."


def _messages(request, error):
    for message in error.messages:
        messages.error(request, message)


def _form_errors(request, form):
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label} : {error}" if label else error)


@access(
    Level.AUTHENTICATED,
    requires=CONVENTION_READER,
    description="Comités des Départements lisibles par l'agent",
)
def committee_list(request):
    departements = [] if request.user.is_superuser else services.editable_departements(request.user)
    form = CommitteeForm(request.POST or None, departements=departements) if departements else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(EDIT_DENIED)
        if form.is_valid():
            committee = form.save()
            messages.success(request, f"Comité « {committee.name} » créé.")
            return redirect("governance:committee", pk=committee.pk)
    committees = (
        services.committees_visible_to(request.user)
        .select_related("departement", "territory")
        .annotate(
            meeting_count=Count("meetings", distinct=True),
            open_decisions=Count(
                "meetings__decisions", filter=Q(meetings__decisions__status=DecisionStatus.OPEN)
            ),
        )
    )
    return render(
        request,
        "governance/committee_list.html",
        {"title": "Comités de pilotage et de suivi", "committees": committees, "form": form},
    )


def _committee(request, pk):
    committee = get_object_or_404(
        services.committees_visible_to(request.user).select_related("departement", "territory"), pk=pk
    )
    return committee, services.can_edit(request.user, committee)


@access(Level.AUTHENTICATED, requires=CONVENTION_READER, description="Comité : membres et réunions")
def committee_detail(request, pk):
    committee, can_edit = _committee(request, pk)
    member_form, meeting_form = MemberForm(prefix="member"), MeetingForm(prefix="meeting")
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(EDIT_DENIED)
        if "member-name" in request.POST:
            member_form = MemberForm(request.POST, prefix="member")
            if member_form.is_valid():
                member = member_form.save(commit=False)
                member.committee = committee
                member.save()
                messages.success(request, f"{member.name} ajouté(e) aux membres.")
                return redirect("governance:committee", pk=committee.pk)
        else:
            meeting_form = MeetingForm(request.POST, prefix="meeting")
            if meeting_form.is_valid():
                data = meeting_form.cleaned_data
                meeting = services.plan_meeting(
                    committee,
                    held_on=data["held_on"],
                    starts_at=data["starts_at"],
                    place=data["place"],
                    agenda=meeting_form.agenda_items(),
                )
                messages.success(request, f"Réunion du {meeting.held_on:%d/%m/%Y} prévue.")
                return redirect("governance:meeting", pk=meeting.pk)
    meetings = committee.meetings.annotate(
        decision_count=Count("decisions", distinct=True), present_count=Count("present", distinct=True)
    ).order_by("-held_on", "-pk")
    return render(
        request,
        "governance/committee_detail.html",
        {
            "title": committee.name,
            "committee": committee,
            "can_edit": can_edit,
            "members": committee.members.all(),
            "meetings": meetings,
            "member_form": member_form,
            "meeting_form": meeting_form,
        },
    )


def meeting_view(edit=False):
    def decorator(view):
        @access(Level.AUTHENTICATED, requires=CONVENTION_READER, description="Réunion d'un comité visible")
        @wraps(view)
        def wrapper(request, pk, *args, **kwargs):
            meeting = get_object_or_404(
                Meeting.objects.filter(
                    committee__in=services.committees_visible_to(request.user)
                ).select_related("committee__departement", "committee__territory"),
                pk=pk,
            )
            request.can_edit_committee = services.can_edit(request.user, meeting.committee)
            if edit and not request.can_edit_committee:
                raise PermissionDenied(EDIT_DENIED)
            return view(request, meeting, *args, **kwargs)

        return wrapper

    return decorator


@meeting_view()
@require_GET
def meeting_detail(request, meeting):
    figures = getattr(meeting, "figures", None)
    start, end = services.default_period(meeting)
    if figures is not None:
        start, end = figures.period_start, figures.period_end
    return render(
        request,
        "governance/meeting_detail.html",
        {
            "title": str(meeting),
            "meeting": meeting,
            "committee": meeting.committee,
            "can_edit": request.can_edit_committee and meeting.is_editable,
            "can_follow": request.can_edit_committee,
            "members": meeting.committee.members.all(),
            "present_ids": set(meeting.present.values_list("pk", flat=True)),
            "agenda": meeting.agenda.all(),
            "decisions": meeting.decisions.all(),
            "figures": figures,
            "figure_rows": services.figure_rows(figures) if figures else [],
            "agenda_form": AgendaItemForm(),
            "decision_form": DecisionForm(),
            "minutes_form": MinutesForm(initial={"minutes": meeting.minutes}),
            "freeze_form": FreezeForm(initial={"start": start, "end": end}),
            "status_choices": DecisionStatus.choices,
        },
    )


def _action(request, meeting, run):
    try:
        message = run()
    except ValidationError as error:
        _messages(request, error)
    else:
        if message:
            messages.success(request, message)
    return redirect("governance:meeting", pk=meeting.pk)


def _with_form(request, meeting, form, run):
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("governance:meeting", pk=meeting.pk)
    return _action(request, meeting, lambda: run(form.cleaned_data))


@meeting_view(edit=True)
@require_POST
def agenda_add(request, meeting):
    return _with_form(
        request,
        meeting,
        AgendaItemForm(request.POST),
        lambda d: services.add_agenda_item(meeting, **d) and "Point ajouté à l'ordre du jour.",
    )


@meeting_view(edit=True)
@require_POST
def presence(request, meeting):
    ids = [int(v) for v in request.POST.getlist("present") if v.isdigit()]
    return _action(
        request, meeting, lambda: services.record_presence(meeting, ids) or f"{len(ids)} présent(s)."
    )


@meeting_view(edit=True)
@require_POST
def decision_add(request, meeting):
    return _with_form(
        request,
        meeting,
        DecisionForm(request.POST),
        lambda d: services.add_decision(meeting, **d) and "Décision enregistrée.",
    )


@meeting_view(edit=True)
@require_POST
def decision_status(request, meeting, decision_pk):
    decision = get_object_or_404(Decision, pk=decision_pk, meeting=meeting)
    return _with_form(
        request,
        meeting,
        DecisionStatusForm(request.POST),
        lambda d: services.set_decision_status(decision, d["status"]) and "Suivi de la décision mis à jour.",
    )


@meeting_view(edit=True)
@require_POST
def minutes(request, meeting):
    return _with_form(
        request,
        meeting,
        MinutesForm(request.POST),
        lambda d: services.save_minutes(meeting, d["minutes"]) or "Relevé des échanges enregistré.",
    )


@meeting_view(edit=True)
@require_POST
def freeze(request, meeting):
    return _with_form(
        request,
        meeting,
        FreezeForm(request.POST),
        lambda d: (
            services.freeze_figures(meeting, actor=request.user, **d)
            and "Chiffres du tableau de bord figés pour cette réunion."
        ),
    )


@meeting_view(edit=True)
@require_POST
def status(request, meeting):
    actions = {
        "hold": (lambda: services.hold_meeting(meeting, actor=request.user), "Réunion déclarée tenue."),
        "close": (lambda: services.close_minutes(meeting, actor=request.user), "Procès-verbal arrêté."),
        "cancel": (lambda: services.cancel_meeting(meeting, actor=request.user), "Réunion annulée."),
    }
    run, message = actions.get(request.POST.get("action"), (None, ""))
    if run is None:
        messages.error(request, "Action inconnue.")
        return redirect("governance:meeting", pk=meeting.pk)
    return _action(request, meeting, lambda: run() and message)


@meeting_view()
@require_GET
def minutes_pdf_view(request, meeting):
    figures = getattr(meeting, "figures", None)
    content = minutes_pdf(meeting, rows=services.figure_rows(figures) if figures else [])
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="proces-verbal-{meeting.held_on:%Y-%m-%d}.pdf"'
    return response
