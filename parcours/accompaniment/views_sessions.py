"""Pages des séances de l'équipe pluridisciplinaire : calendrier, séance (composition, présence, quorum,
ordre du jour, avis), convocations imprimables et procès-verbal (PDF).

Réservées aux agents du Département qui conduisent les procédures de sanction
(``permissions.TEAM_SESSION_MANAGER`` : 403 sinon) ; une séance hors de leur Département ou de leur territoire
donne 404 (``sessions.sessions_visible_to``), une procédure d'une personne hors de leur périmètre aussi
(``Beneficiary.objects.visible_to``). Les règles sont dans ``sessions.py`` ; les vues lisent et renvoient.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from parcours.accounts.models import User
from parcours.audit.services import record_export
from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access, person_of
from parcours.core.forms import add_validation_errors

from . import sessions
from .models import Review, SanctionCase, SanctionStatus
from .permissions import TEAM_SESSION_MANAGER
from .session_forms import GuestForm, OpinionForm, SessionForm
from .views import PAGE_SIZE

MANAGE = {"requires": TEAM_SESSION_MANAGER}


def _session(request, session_pk):
    queryset = sessions.sessions_visible_to(request.user).select_related("departement", "territory")
    return get_object_or_404(queryset, pk=session_pk)


def _scope(request):
    return Beneficiary.objects.visible_to(request.user)


def _case(request, case_pk, **filters):
    queryset = SanctionCase.objects.filter(beneficiary__in=_scope(request), **filters).select_related(
        "beneficiary__departement", "beneficiary__territory", "session"
    )
    return get_object_or_404(queryset, pk=case_pk)


def _flash(request, error):
    for message in error.messages:
        messages.error(request, message)


def _session_form(request, data=None, initial=None):
    departements = sessions.departements_for(request.user)
    members = None
    for departement in departements:
        users = sessions.member_choices(departement)
        members = users if members is None else members | users
    return SessionForm(
        data,
        initial=initial,
        departements=departements,
        territories=sessions.territories_for(request.user),
        members=(members.distinct() if members is not None else User.objects.none()),
    )


# --- calendrier -----------------------------------------------------------------------------------------


@access(Level.AGENT, description="Calendrier des séances de l'équipe pluridisciplinaire", **MANAGE)
@require_GET
def session_list(request):
    past = request.GET.get("periode") == "passees"
    territories = list(sessions.territories_for(request.user))
    territory = None
    if request.GET.get("territoire"):
        territory = next((t for t in territories if str(t.pk) == request.GET["territoire"]), None)
    listing = sessions.calendar(request.user, upcoming=not past, territory=territory)
    page = Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        (
            session,
            sessions.quorum_from_prefetch(session),
            len(session.members.all()) + len(session.guests.all()),
        )
        for session in page.object_list
    ]
    context = {
        "title": "Séances de l'équipe pluridisciplinaire",
        "past": past,
        "territories": territories,
        "territory": territory,
        "page": page,
        "rows": rows,
    }
    return render(request, "accompaniment/sessions/session_list.html", context)


@access(Level.AGENT, description="Nouvelle séance de l'équipe pluridisciplinaire", **MANAGE)
def session_new(request):
    return _edit(request, None)


@access(Level.AGENT, description="Modification d'une séance de l'équipe pluridisciplinaire", **MANAGE)
def session_edit(request, session_pk):
    return _edit(request, _session(request, session_pk))


def _edit(request, session):
    initial = SessionForm.initial_for(session) if session else {"level": 1}
    form = _session_form(request, initial=initial)
    if request.method == "POST":
        form = _session_form(request, request.POST)
        if form.is_valid():
            try:
                saved = sessions.save_session(session, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Séance modifiée." if session else "Séance créée.")
                return redirect("accompaniment:session_detail", session_pk=saved.pk)
    context = {
        "title": "Modifier la séance" if session else "Nouvelle séance de l'équipe pluridisciplinaire",
        "session": session,
        "form": form,
    }
    return render(request, "accompaniment/sessions/session_form.html", context)


# --- séance ---------------------------------------------------------------------------------------------


@access(Level.AGENT, description="Séance de l'équipe pluridisciplinaire", **MANAGE)
@require_GET
def session_detail(request, session_pk):
    session = _session(request, session_pk)
    scope = _scope(request)
    cases, reviews = sessions.minutes_rows(session, scope)
    today = timezone.localdate()
    for case in cases:
        if case.status == SanctionStatus.REFERRED:
            case.opinion_form = OpinionForm(initial={"on": session.held_on}, auto_id=f"avis-{case.pk}-%s")
        case.opinion_label = sessions.opinion_label(case)
    members = list(session.members.order_by("last_name", "first_name", "pk"))
    present_ids = set(session.present.values_list("pk", flat=True))
    context = {
        "title": str(session),
        "session": session,
        "cases": cases,
        "reviews": reviews,
        "members": members,
        "present_ids": present_ids,
        "guests": list(session.guests.all()),
        "quorum": sessions.quorum(session),
        "guest_form": GuestForm(),
        "eligible_cases": list(sessions.eligible_cases(session, scope)[:PAGE_SIZE])
        if session.held_on >= today
        else [],
        "eligible_reviews": list(sessions.eligible_reviews(session, scope)[:PAGE_SIZE])
        if session.held_on >= today
        else [],
        "is_upcoming": session.held_on >= today,
        "is_held": session.held_on <= today,
    }
    return render(request, "accompaniment/sessions/session_detail.html", context)


@access(Level.AGENT, description="Membres extérieurs d'une séance", **MANAGE)
@require_POST
def session_guest(request, session_pk):
    session = _session(request, session_pk)
    try:
        if request.POST.get("retirer"):
            sessions.remove_guest(session, request.POST["retirer"])
            messages.success(request, "Membre retiré.")
        else:
            form = GuestForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Membre extérieur : nom et qualité obligatoires.")
            else:
                sessions.add_guest(session, **form.cleaned_data)
                messages.success(request, "Membre ajouté.")
    except ValidationError as error:
        _flash(request, error)
    return redirect("accompaniment:session_detail", session_pk=session.pk)


@access(Level.AGENT, description="Présence des membres d'une séance", **MANAGE)
@require_POST
def session_presence(request, session_pk):
    session = _session(request, session_pk)
    try:
        sessions.record_presence(
            session,
            present_members=request.POST.getlist("membres"),
            present_guests=request.POST.getlist("exterieurs"),
        )
    except (ValidationError, ValueError) as error:
        _flash(
            request, error if isinstance(error, ValidationError) else ValidationError("Présence invalide.")
        )
    else:
        messages.success(request, sessions.quorum(session).sentence)
    return redirect("accompaniment:session_detail", session_pk=session.pk)


@access(Level.AGENT, description="Ordre du jour d'une séance", **MANAGE)
@require_POST
def session_agenda(request, session_pk):
    """Inscrit ou retire une procédure (``procedure``) ou une revue (``revue``) ; ``action`` : ajouter, retirer."""
    session = _session(request, session_pk)
    action = request.POST.get("action")
    try:
        if request.POST.get("revue"):
            review = get_object_or_404(
                Review.objects.filter(
                    beneficiary__in=_scope(request), beneficiary__departement=session.departement
                ),
                pk=request.POST["revue"],
            )
            if action == "retirer":
                sessions.remove_review(session, review)
                messages.success(request, "Revue retirée de l'ordre du jour.")
            else:
                sessions.add_review(session, review)
                messages.success(request, "Revue inscrite à l'ordre du jour.")
        else:
            case = _case(request, request.POST.get("procedure"))
            if action == "retirer":
                if case.session_id != session.pk:
                    raise ValidationError("Cette procédure n'est pas inscrite à cette séance.")
                sessions.withdraw_case(case, actor=request.user)
                messages.success(request, "Procédure retirée de l'ordre du jour.")
            else:
                sessions.add_case(session, case, actor=request.user)
                messages.success(request, "Procédure inscrite à l'ordre du jour.")
    except ValidationError as error:
        _flash(request, error)
    return redirect("accompaniment:session_detail", session_pk=session.pk)


@access(
    Level.AGENT,
    person=person_of("accompaniment.SanctionCase", "case_pk"),
    description="Avis de l'équipe pluridisciplinaire sur une procédure",
    **MANAGE,
)
@require_POST
def session_opinion(request, session_pk, case_pk):
    session = _session(request, session_pk)
    case = _case(request, case_pk, session=session)
    form = OpinionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Avis : date, sens de l'avis, sanction proposée et motivation sont obligatoires."
        )
    else:
        try:
            sessions.record_opinion(case, actor=request.user, **form.service_data())
        except ValidationError as error:
            _flash(request, error)
        else:
            messages.success(request, f"Avis enregistré pour le dossier n° {case.pk}.")
    return redirect("accompaniment:session_detail", session_pk=session.pk)


# --- depuis la page de la procédure ---------------------------------------------------------------------


@access(
    Level.AGENT,
    person=person_of("accompaniment.SanctionCase", "case_pk"),
    description="Inscription d'une procédure à une séance",
    **MANAGE,
)
@require_POST
def case_agenda(request, case_pk):
    case = _case(request, case_pk)
    try:
        if request.POST.get("action") == "retirer":
            if (
                case.session_id is None
                or not sessions.sessions_visible_to(request.user).filter(pk=case.session_id).exists()
            ):
                raise ValidationError("Cette procédure n'est inscrite à aucune de vos séances.")
            sessions.withdraw_case(case, actor=request.user)
            messages.success(request, "Procédure retirée de l'ordre du jour.")
        else:
            session = get_object_or_404(
                sessions.next_sessions_for(case, request.user), pk=request.POST.get("seance") or 0
            )
            sessions.add_case(session, case, actor=request.user)
            messages.success(request, "Procédure inscrite à l'ordre du jour.")
    except ValidationError as error:
        _flash(request, error)
    return redirect("accompaniment:case_detail", case_pk=case.pk)


# --- documents ------------------------------------------------------------------------------------------


def _convocation_pages(request, cases):
    pages = [(case, sessions.convocation(case)) for case in cases]
    record_export(
        request,
        [(case.beneficiary_id, case.beneficiary.departement_id) for case, _letter in pages],
        reason="Convocations à l'équipe pluridisciplinaire (page imprimable)",
    )
    context = {
        "title": "Convocation à l'équipe pluridisciplinaire",
        "pages": pages,
        "printed_on": timezone.localdate(),
    }
    return render(request, "accompaniment/sessions/convocation.html", context)


@access(
    Level.AGENT,
    person=person_of("accompaniment.SanctionCase", "case_pk"),
    description="Convocation de la personne à l'équipe pluridisciplinaire",
    **MANAGE,
)
@require_GET
def case_convocation(request, case_pk):
    case = _case(request, case_pk, session__isnull=False)
    get_object_or_404(sessions.sessions_visible_to(request.user), pk=case.session_id)
    return _convocation_pages(request, [case])


@access(Level.AGENT, description="Convocations des personnes inscrites à une séance", **MANAGE)
@require_GET
def session_convocations(request, session_pk):
    session = _session(request, session_pk)
    cases = (
        SanctionCase.objects.filter(
            session=session, status=SanctionStatus.REFERRED, beneficiary__in=_scope(request)
        )
        .select_related("beneficiary__departement", "session")
        .order_by("beneficiary__last_name", "pk")
    )
    return _convocation_pages(request, list(cases))


@access(Level.AGENT, description="Procès-verbal d'une séance de l'équipe pluridisciplinaire (PDF)", **MANAGE)
@require_GET
def session_minutes(request, session_pk):
    session = _session(request, session_pk)
    cases, reviews = sessions.minutes_rows(session, _scope(request))
    pdf = sessions.minutes_pdf(
        session,
        cases=cases,
        reviews=reviews,
        members=list(session.members.order_by("last_name", "first_name", "pk")),
        present_ids=set(session.present.values_list("pk", flat=True)),
        guests=list(session.guests.all()),
    )
    people = {(c.beneficiary_id, c.beneficiary.departement_id) for c in cases}
    people |= {(r.beneficiary_id, r.beneficiary.departement_id) for r in reviews}
    if people:
        record_export(request, sorted(people), reason="Procès-verbal de l'équipe pluridisciplinaire (PDF)")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="proces-verbal-ep-{session.held_on:%Y-%m-%d}.pdf"'
    )
    return response
