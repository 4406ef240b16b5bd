"""Pages de l'accompagnement intensif, des revues, des procédures de suspension-remobilisation et des
sorties (étapes 7 à 10). Mêmes permissions que le diagnostic et le contrat (``permissions.access_for``) :
lecture dans le périmètre de l'agent (404 sinon), modification par un référent, chargé d'orientation ou
administrateur d'une organisation qui suit la personne (403 sinon) ; l'avis, la décision et la
notification d'une sanction sont réservés au Département.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access, person_of
from parcours.core.forms import add_validation_errors
from parcours.pathway import worklists

from . import activities, exits, reviews, sanctions
from .forms import (
    ActivityForm,
    ActivityStatusForm,
    AdjustmentForm,
    CaseStepForm,
    EmploymentCheckForm,
    ExitForm,
    OpenCaseForm,
    ReviewHoldForm,
    ReviewPlanForm,
)
from .models import Exit, PlannedActivity, Review, SanctionCase, SanctionStatus, TeamSession
from .permissions import SANCTION_TRANSMITTER, TEAM_SESSION_MANAGER, access_for, is_departement_agent
from .views import (
    PAGE_SIZE,
    PERSON_HEADER,
    _beneficiary,
    _require_edit,
    csv_date,
    export_work_list,
    person_cells,
    wants_csv,
    work_list,
    work_list_context,
)


def _flash_errors(request, error):
    for message in error.messages:
        messages.error(request, message)


def _submit(request, form, *, invalid, action, success):
    """Formulaire posté : message ``invalid`` s'il est invalide, sinon ``action(données)`` (un service
    métier) ; ses refus (``ValidationError``) sont affichés, sinon le message ``success``."""
    if not form.is_valid():
        messages.error(request, invalid)
        return
    try:
        action(form.cleaned_data)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, success)


def _context(beneficiary, access, tab, title, **extra):
    return {
        "beneficiary": beneficiary,
        "access": access,
        "tab": tab,
        "title": f"{title} — {beneficiary.full_name}",
        **extra,
    }


def _with_forms(objects, form_class, prefix):
    """Un formulaire par ligne (``obj.line_form``), dont les identifiants sont propres à la ligne : les
    étiquettes désignent le bon champ quand la page en montre plusieurs."""
    today = timezone.localdate()
    for obj in objects:
        obj.line_form = form_class(initial={"on": today}, auto_id=f"{prefix}-{obj.pk}-%s")
    return objects


def _date_param(request, name):
    try:
        return datetime.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return timezone.localdate()


# --- plan d'activités -----------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Plan d'activités")
def activity_plan(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    form = ActivityForm(initial={"starts_on": timezone.localdate()})
    adjustment_form = AdjustmentForm()
    found_services = None
    if request.method == "POST":
        _require_edit(access)
        if request.POST.get("chercher") is not None:
            # Sans JavaScript : le bouton « Rechercher » réaffiche le formulaire saisi avec les services trouvés.
            form = ActivityForm(request.POST)
            query = request.POST.get("service_q", "")
            found_services = activities.find_services(query) if query.strip() else None
        elif request.POST.get("form") == "adaptation":
            adjustment_form = AdjustmentForm(request.POST)
            if adjustment_form.is_valid():
                try:
                    activities.adjust_hours(beneficiary, author=request.user, **adjustment_form.cleaned_data)
                except ValidationError as error:
                    add_validation_errors(adjustment_form, error)
                else:
                    messages.success(request, "Adaptation de la durée hebdomadaire enregistrée.")
                    return redirect("accompaniment:activity_plan", pk=beneficiary.pk)
        else:
            form = ActivityForm(request.POST)
            if form.is_valid():
                try:
                    activities.plan_activity(beneficiary, author=request.user, **form.service_fields())
                except ValidationError as error:
                    add_validation_errors(form, error)
                else:
                    messages.success(request, "Activité ajoutée au plan.")
                    return redirect("accompaniment:activity_plan", pk=beneficiary.pk)
    start = _date_param(request, "semaine")
    plan = activities.activity_plan(beneficiary)
    adjustments = list(beneficiary.hours_adjustments.all())
    if access.can_edit:
        today = timezone.localdate()
        for activity in plan:
            activity.status_form = ActivityStatusForm(activity=activity, initial={"on": today})
    context = _context(
        beneficiary,
        access,
        "activites",
        "Plan d'activités",
        weeks=activities.weekly_plan(beneficiary, start, weeks=4, activities=plan, adjustments=adjustments),
        plan=plan,
        adjustments=adjustments,
        form=form,
        adjustment_form=adjustment_form,
        found_services=found_services,
        selected_service=form.selected_service(),
        previous_week=(activities.week_start(start) - datetime.timedelta(weeks=4)).isoformat(),
        next_week=(activities.week_start(start) + datetime.timedelta(weeks=4)).isoformat(),
    )
    return render(request, "accompaniment/activity_plan.html", context)


@access(Level.AGENT, description="Recherche d'un service du catalogue pour le plan d'activités")
@require_GET
def service_search(request):
    """Services du catalogue trouvés (fragment de la page du plan, appelé en htmx pendant la saisie)."""
    query = request.GET.get("service_q", "")
    found = activities.find_services(query) if query.strip() else None
    context = {"found_services": found, "query": query}
    return render(request, "accompaniment/_service_choices.html", context)


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.PlannedActivity", "activity_pk"),
    description="Statut d'une activité",
)
@require_POST
def activity_status(request, activity_pk):
    activity = get_object_or_404(PlannedActivity, pk=activity_pk)
    beneficiary = _beneficiary(request, activity.beneficiary_id)
    _require_edit(access_for(request.user, beneficiary))
    _submit(
        request,
        ActivityStatusForm(request.POST, activity=activity),
        invalid="Statut ou date invalide.",
        action=lambda data: activities.set_activity_status(
            activity,
            data["status"],
            actor=request.user,
            on=data["on"],
            actual_hours=data["actual_hours"],
            outcome=data["outcome"],
        ),
        success="Activité mise à jour.",
    )
    return redirect("accompaniment:activity_plan", pk=beneficiary.pk)


# --- revues ---------------------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Revues d'une personne")
def review_list(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    form = ReviewPlanForm(departement=beneficiary.departement)
    if request.method == "POST":
        _require_edit(access)
        form = ReviewPlanForm(request.POST, departement=beneficiary.departement)
        if form.is_valid():
            try:
                reviews.plan_review(beneficiary, author=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Revue prévue.")
                return redirect("accompaniment:review_list", pk=beneficiary.pk)
    context = _context(
        beneficiary,
        access,
        "revues",
        "Revues",
        reviews=_with_forms(
            list(beneficiary.reviews.select_related("held_by").order_by("due_on", "pk")),
            ReviewHoldForm,
            "revue",
        ),
        form=form,
    )
    return render(request, "accompaniment/review_list.html", context)


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.Review", "review_pk"),
    description="Tenue d'une revue",
)
@require_POST
def review_hold(request, review_pk):
    review = get_object_or_404(Review, pk=review_pk)
    beneficiary = _beneficiary(request, review.beneficiary_id)
    _require_edit(access_for(request.user, beneficiary))
    _submit(
        request,
        ReviewHoldForm(request.POST),
        invalid="Date et compte rendu : obligatoires.",
        action=lambda data: reviews.hold_review(review, actor=request.user, **data),
        success="Revue enregistrée.",
    )
    return redirect("accompaniment:review_list", pk=beneficiary.pk)


@access(Level.AUTHENTICATED, description="Revues à tenir du périmètre")
@require_GET
def reviews_due(request):
    on = _date_param(request, "on")
    work_filter, people = work_list(request)
    due = reviews.reviews_due(people, on, horizon_days=30)
    if wants_csv(request):
        return export_work_list(
            request,
            worklists.with_referent_name(due, "beneficiary_id"),
            people=due.values_list("beneficiary_id", "beneficiary__departement_id"),
            header=[*PERSON_HEADER, "Type de revue", "Échéance", "En retard"],
            row=lambda review: [
                *person_cells(review.beneficiary, review.referent_name),
                review.get_kind_display(),
                csv_date(review.due_on),
                "Oui" if review.due_on < on else "Non",
            ],
            filename="revues-a-tenir",
            reason="Export CSV des revues à tenir",
        )
    page = Paginator(worklists.with_referent_name(due, "beneficiary_id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # « Mes personnes » : les désignations en cours de l'agent (les mêmes personnes, lues par son portefeuille).
    referent = request.user if work_filter.mine else None
    context = {
        "title": "Revues à tenir",
        "on": on,
        "second_year": reviews.second_year_candidates(people, on, referent=referent)[:PAGE_SIZE],
        "global_proposals": reviews.global_proposal_candidates(people, on, referent=referent)[:PAGE_SIZE],
        **work_list_context(work_filter, page, on=on.isoformat()),
    }
    return render(request, "accompaniment/reviews_due.html", context)


# --- procédures de suspension-remobilisation ------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Procédures de sanction d'une personne")
def case_list(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    form = OpenCaseForm(initial={"on": timezone.localdate()})
    if request.method == "POST":
        _require_edit(access)
        form = OpenCaseForm(request.POST)
        if form.is_valid():
            try:
                case = sanctions.open_case(beneficiary, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Procédure ouverte.")
                return redirect("accompaniment:case_detail", case_pk=case.pk)
    context = _context(
        beneficiary,
        access,
        "procedures",
        "Devoirs et sanctions",
        cases=list(beneficiary.sanction_cases.select_related("session")),
        form=form,
    )
    return render(request, "accompaniment/case_list.html", context)


def _case(request, case_pk):
    case = get_object_or_404(SanctionCase.objects.select_related("session", "opened_by"), pk=case_pk)
    beneficiary = _beneficiary(request, case.beneficiary_id)
    case.beneficiary = beneficiary
    return case, beneficiary


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.SanctionCase", "case_pk"),
    description="Procédure de sanction",
)
def case_detail(request, case_pk):
    case, beneficiary = _case(request, case_pk)
    access = access_for(request.user, beneficiary)
    departement_agent = access.can_edit and is_departement_agent(request.user, beneficiary)
    allowed = [
        s
        for s in sanctions.TRANSITIONS[case.status]
        if (departement_agent or s not in sanctions.DEPARTEMENT_STEPS)
        # Le retrait de l'ordre du jour passe par la séance (``sessions.withdraw_case``).
        and not (case.status == SanctionStatus.REFERRED and s in sanctions.WITHDRAWAL)
    ]
    allowed.sort(key=list(SanctionStatus.values).index)
    form = CaseStepForm(
        departement=beneficiary.departement, allowed=allowed, initial={"on": timezone.localdate()}
    )
    if request.method == "POST":
        _require_edit(access)
        form = CaseStepForm(request.POST, departement=beneficiary.departement, allowed=allowed)
        target = request.POST.get("to_status")
        if target in sanctions.DEPARTEMENT_STEPS and not departement_agent:
            raise PermissionDenied(
                "L'avis, la décision et la notification d'une sanction relèvent du Département."
            )
        if form.is_valid():
            try:
                sanctions.transition_case(
                    case,
                    form.cleaned_data["to_status"],
                    actor=request.user,
                    on=form.cleaned_data["on"],
                    reason=form.cleaned_data["reason"],
                    **form.service_data(),
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Étape enregistrée.")
                return redirect("accompaniment:case_detail", case_pk=case.pk)
    context = _context(
        beneficiary,
        access,
        "procedures",
        "Procédure de suspension-remobilisation",
        case=case,
        steps=list(case.steps.select_related("actor")),
        deadline=sanctions.step_deadline(case),
        form=form if access.can_edit and allowed else None,
        letter=sanctions.letter(case),
        **_session_context(request, case),
    )
    return render(request, "accompaniment/case_detail.html", context)


def _session_context(request, case):
    """Séance de la procédure (lien, convocation, retrait) et séances à venir où l'inscrire, pour un agent qui
    gère les séances de l'équipe pluridisciplinaire."""
    from . import sessions

    if not TEAM_SESSION_MANAGER.allows(request.user):
        return {"manages_sessions": False}
    managed = (
        case.session_id and sessions.sessions_visible_to(request.user).filter(pk=case.session_id).exists()
    )
    ready = case.status in sessions.AGENDA_READY
    return {
        "manages_sessions": True,
        "session_managed": bool(managed),
        "next_sessions": list(sessions.next_sessions_for(case, request.user)[:20]) if ready else [],
        "agenda_ready": ready,
    }


@access(
    Level.AUTHENTICATED,
    person=person_of("accompaniment.SanctionCase", "case_pk"),
    description="Courrier de procédure",
)
@require_GET
def case_letter(request, case_pk):
    case, beneficiary = _case(request, case_pk)
    letter = sanctions.letter(case)
    context = {
        "title": letter[0] if letter else "Courrier",
        "case": case,
        "beneficiary": beneficiary,
        "letter": letter,
    }
    context["printed_on"] = timezone.localdate()
    return render(request, "accompaniment/case_letter.html", context)


@access(Level.AUTHENTICATED, description="Procédures en cours du périmètre")
@require_GET
def cases_in_progress(request):
    on = _date_param(request, "on")
    work_filter, people = work_list(request)
    cases = sanctions.cases_in_progress(people)
    if wants_csv(request):
        return export_work_list(
            request,
            worklists.with_referent_name(cases, "beneficiary_id"),
            people=cases.values_list("beneficiary_id", "beneficiary__departement_id"),
            header=[*PERSON_HEADER, "Manquement", "Étape", "Depuis le", "Échéance"],
            row=lambda case: [
                *person_cells(case.beneficiary, case.referent_name),
                case.get_ground_display(),
                case.get_status_display(),
                csv_date(case.status_since),
                csv_date(sanctions.step_deadline(case)),
            ],
            filename="procedures-en-cours",
            reason="Export CSV des procédures de suspension-remobilisation en cours",
        )
    page = Paginator(worklists.with_referent_name(cases, "beneficiary_id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(case, sanctions.step_deadline(case)) for case in page.object_list]
    context = {
        "title": "Procédures de suspension-remobilisation en cours",
        "on": on,
        "rows": rows,
        "proposals": sanctions.absence_proposals(people, on)[:PAGE_SIZE],
        "manages_sessions": TEAM_SESSION_MANAGER.allows(request.user),
        "transmits_sanctions": SANCTION_TRANSMITTER.allows(request.user),
        **work_list_context(work_filter, page, on=on.isoformat()),
    }
    return render(request, "accompaniment/cases_in_progress.html", context)


@access(Level.AUTHENTICATED, description="Synthèse anonymisée d'une équipe pluridisciplinaire")
@require_GET
def session_summary(request, session_pk):
    """Fiche de synthèse anonymisée d'une séance (imprimable) : dossiers du périmètre de l'agent."""
    session = get_object_or_404(TeamSession.objects.select_related("departement"), pk=session_pk)
    from . import sessions

    scope = Beneficiary.objects.visible_to(request.user)
    cases, situations = sessions.minutes_rows(session, scope)
    if not cases and not situations and not scope.filter(departement=session.departement).exists():
        raise PermissionDenied
    rows = [(sanctions.anonymised_label(case), case) for case in cases]
    situation_rows = [(reviews.anonymised_label(review), review) for review in situations]
    context = {
        "title": str(session),
        "session": session,
        "rows": rows,
        "situation_rows": situation_rows,
        "members": list(session.members.all()),
        "present": set(session.present.values_list("pk", flat=True)),
    }
    return render(request, "accompaniment/session_summary.html", context)


# --- sorties et suivi dans l'emploi ---------------------------------------------------------------------


@access(Level.AUTHENTICATED, person="pk", description="Sorties et emploi d'une personne")
def exit_list(request, pk):
    beneficiary = _beneficiary(request, pk)
    access = access_for(request.user, beneficiary)
    form = ExitForm(initial={"exited_on": timezone.localdate()}, auto_id="sortie-%s")
    if request.method == "POST":
        _require_edit(access)
        form = ExitForm(request.POST, auto_id="sortie-%s")
        if form.is_valid():
            try:
                exits.record_exit(beneficiary, author=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, "Sortie enregistrée.")
                return redirect("accompaniment:exit_list", pk=beneficiary.pk)
    context = _context(
        beneficiary,
        access,
        "sorties",
        "Sorties et emploi",
        exits=_with_forms(exits.employment_history(beneficiary), EmploymentCheckForm, "suivi"),
        form=form,
        closing=exits.closing_summary(beneficiary) if access.can_edit else [],
    )
    return render(request, "accompaniment/exit_list.html", context)


@access(
    Level.AUTHENTICATED, person=person_of("accompaniment.Exit", "exit_pk"), description="Suivi dans l'emploi"
)
@require_POST
def employment_check(request, exit_pk):
    exit_ = get_object_or_404(Exit, pk=exit_pk)
    beneficiary = _beneficiary(request, exit_.beneficiary_id)
    _require_edit(access_for(request.user, beneficiary))
    exit_.beneficiary = beneficiary
    _submit(
        request,
        EmploymentCheckForm(request.POST),
        invalid="Date invalide.",
        action=lambda data: exits.record_employment_check(exit_, author=request.user, **data),
        success="Suivi dans l'emploi enregistré.",
    )
    return redirect("accompaniment:exit_list", pk=beneficiary.pk)


@access(Level.AUTHENTICATED, description="Vérifications à 6 mois du périmètre")
@require_GET
def durable_checks_due(request):
    on = _date_param(request, "on")
    work_filter, people = work_list(request, former=True)
    due = exits.durable_checks_due_queryset(people, on)
    if wants_csv(request):
        return export_work_list(
            request,
            worklists.with_referent_name(due, "beneficiary_id", former=True),
            people=due.values_list("beneficiary_id", "beneficiary__departement_id"),
            header=[*PERSON_HEADER, "Emploi", "Type de contrat", "Prise de poste", "À vérifier depuis"],
            row=lambda exit_: [
                *person_cells(exit_.beneficiary, exit_.referent_name),
                exit_.employer or exit_.get_reason_display(),
                exit_.get_contract_type_display() if exit_.contract_type else "",
                csv_date(exit_.job_started_on),
                csv_date(exits.durable_check_due_on(exit_)),
            ],
            filename="verifications-6-mois",
            reason="Export CSV des vérifications de l'emploi durable à faire",
        )
    page = Paginator(worklists.with_referent_name(due, "beneficiary_id", former=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(e, exits.durable_check_due_on(e)) for e in page.object_list]
    context = {
        "title": "Vérifications de l'emploi durable à faire",
        "on": on,
        "rows": rows,
        **work_list_context(work_filter, page, on=on.isoformat()),
    }
    return render(request, "accompaniment/durable_checks_due.html", context)


# --- espace de la personne ------------------------------------------------------------------------------


def _person(request):
    from . import person_space

    person = person_space.person_for(request.user)
    if person is None:
        raise Http404("Espace réservé aux personnes accompagnées.")
    return person


@access(Level.AUTHENTICATED, description="Espace de la personne (ses seules données)")
@require_GET
def my_space(request):
    from . import person_space

    person = _person(request)
    context = {"title": "Mon accompagnement", "person": person, **person_space.summary(person)}
    return render(request, "accompaniment/my_space.html", context)


@access(
    Level.AUTHENTICATED, description="Téléchargement par la personne de toutes ses données (droit d'accès)"
)
@require_GET
def my_data(request):
    import json

    from django.http import HttpResponse

    from parcours.audit.models import AccessAction
    from parcours.audit.services import record_person_access
    from parcours.beneficiaries.access_request import export_person_data

    person = _person(request)
    payload = json.dumps(export_person_data(person), ensure_ascii=False, indent=2, default=str)
    record_person_access(
        request, person.pk, action=AccessAction.RIGHT_OF_ACCESS, reason="Téléchargement par la personne"
    )
    response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mes-donnees-parcours.json"'
    return response


@access(Level.AUTHENTICATED, description="Réponse de la personne à un rendez-vous")
@require_POST
def my_appointment_reply(request, appointment_pk):
    from . import person_space

    person = _person(request)
    try:
        person_space.reply_to_appointment(
            person, appointment_pk, answer=request.POST.get("answer"), reason=request.POST.get("reason", "")
        )
    except LookupError as error:
        raise Http404(str(error)) from error
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, "Merci, votre réponse a été transmise à votre référent.")
    return redirect("accompaniment:my_space")
