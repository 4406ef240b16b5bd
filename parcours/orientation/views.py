"""Pages de l'orientation : files de travail, volet orientation d'une personne, portefeuille, écran par lot,
courriers imprimables, agenda.

Permissions (``permissions.py``) : les files, l'écran par lot et les actions d'orientation sont réservés à
l'équipe d'orientation du Département (403 sinon) ; un référent n'ouvre que les personnes de son
portefeuille (404 sinon), y saisit la présence à ses rendez-vous et peut demander une réorientation.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.accounts.models import Organisation, User
from parcours.accounts.roles import ORIENTATION_TEAM
from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access
from parcours.core.forms import add_validation_errors
from parcours.core.pagination import AFTER, BEFORE
from parcours.core.text import plural, plural_form
from parcours.pathway import services as pathway
from parcours.pathway import worklists

from . import forms, permissions, services
from .models import (
    Appointment,
    Attendance,
    Channel,
    DecisionStatus,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    Pathway,
    ReorientationRequest,
    RequestStatus,
)

PAGE_SIZE = 50

QUEUES = [
    ("a_inviter", "Nouveaux entrants à inviter"),
    ("invitations", "Invitations en cours"),
    ("expirees", "Invitations expirées : à convoquer"),
    ("rendez_vous", "Rendez-vous à saisir"),
    ("a_orienter", "Personnes à orienter"),
]


def _ids(values):
    ids = []
    for value in values:
        for part in str(value).split(","):
            if part.strip().isdigit():
                ids.append(int(part))
    return ids


# --- files de travail -------------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Files de travail de l'orientation")
@require_GET
def queues(request):
    scope = permissions.team_scope(request.user)
    today = timezone.localdate()
    current = request.GET.get("file")
    if current not in dict(QUEUES):
        current = "a_inviter"
    counts = services.queue_counts(scope, today)
    page = services.queue_page(
        current, scope, today, after=request.GET.get(AFTER), before=request.GET.get(BEFORE)
    )
    page.count = counts[current]
    context = {
        "title": "Orientation — files de travail",
        "queues": [(key, label, counts[key]) for key, label in QUEUES],
        "current": current,
        "current_label": dict(QUEUES)[current],
        "page_obj": page,
        "today": today,
        "channels": Channel.choices,
        "pending_requests": services.pending_reorientation_requests(scope)[:20],
    }
    template = "orientation/_queue.html" if request.htmx else "orientation/queues.html"
    return render(request, template, context)


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Invitations groupées")
@require_POST
def invite_bulk(request):
    """Invitation en nombre depuis la file « à inviter » (ou une campagne de re-contact)."""
    form = forms.BulkInviteForm(request.POST)
    ids = _ids(request.POST.getlist("people"))
    if not form.is_valid() or not ids:
        messages.error(request, "Cochez au moins une personne et choisissez un canal.")
        return redirect(reverse("orientation:queues"))
    people = permissions.team_scope(request.user).filter(pk__in=ids).select_related("departement")
    report = services.invite_many(people, channel=form.cleaned_data["channel"], author=request.user)
    messages.success(request, report.summary)
    for _person, reason in report.skipped:
        messages.warning(request, reason)
    for invitation, reason in report.failed:
        messages.error(request, f"{invitation.beneficiary.full_name} : {reason}")
    if form.cleaned_data["channel"] == Channel.POSTAL and report.sent:
        return redirect(reverse("orientation:letters") + "?ids=" + ",".join(str(i.pk) for i in report.sent))
    return redirect(reverse("orientation:queues"))


# --- volet orientation d'une personne ---------------------------------------------------------------------


def _panel_forms(beneficiary, data=None, action=None, designating=None):
    """Formulaires du volet ; seul celui de l'action soumise est lié aux données."""

    def bound(name):
        return data if action == name else None

    proposal = services.propose_orientation(beneficiary)
    decision_initial = {}
    if proposal:
        decision_initial = {
            "pathway": proposal.pathway,
            "organisation": proposal.organisation.pk,
            "proposal_rule": proposal.recorded_rule,
        }
    return proposal, {
        "invite": forms.InviteForm(bound("invite"), auto_id="invite-%s", beneficiary=beneficiary),
        "appointment": forms.AppointmentForm(
            bound("appointment"),
            auto_id="appointment-%s",
            beneficiary=beneficiary,
            initial={"organisations": [beneficiary.departement_id]},
        ),
        "decide": forms.DecisionForm(
            bound("decide"), auto_id="decide-%s", beneficiary=beneficiary, initial=decision_initial
        ),
        "notify": forms.NotifyForm(
            bound("notify"), auto_id="notify-%s", initial={"notified_on": timezone.localdate()}
        ),
        "cancel": forms.CancelDecisionForm(bound("cancel"), auto_id="cancel-%s"),
        "end_follow_up": forms.EndFollowUpForm(
            bound("end_follow_up"), auto_id="end_follow_up-%s", initial={"ended_on": timezone.localdate()}
        ),
        "referent": forms.AssignReferentForm(
            bound("referent"), auto_id="referent-%s", beneficiary=beneficiary, organisations=designating
        ),
        "exemption": forms.ExemptionForm(
            bound("exemption"), auto_id="exemption-%s", initial={"starts_on": timezone.localdate()}
        ),
        "reorientation": forms.ReorientationRequestForm(
            bound("reorientation"), auto_id="reorientation-%s", beneficiary=beneficiary
        ),
        "reorientation_decision": forms.ReorientationDecisionForm(
            bound("reorientation_decision"), auto_id="reorientation_decision-%s", beneficiary=beneficiary
        ),
    }


REFERENT_ACTIONS = {"attendance", "reorientation"}


def _handle(action, request, beneficiary, form):
    """Exécute l'action soumise ; renvoie le message de succès (lève ValidationError sinon)."""
    user = request.user
    if action == "invite":
        appointment = form.cleaned_data["appointment"]
        invitation = services.invite(
            beneficiary,
            channel=form.cleaned_data["channel"],
            author=user,
            is_convocation=appointment is not None,
            appointment=appointment,
        )
        if invitation.status == InvitationStatus.FAILED:
            raise ValidationError(invitation.failure_reason)
        kind = "Convocation" if invitation.is_convocation else "Invitation"
        return f"{kind} envoyée ({invitation.get_channel_display().lower()})."
    if action == "appointment":
        data = form.cleaned_data
        services.schedule_appointment(
            beneficiary,
            kind=data["kind"],
            starts_at=data["starts_at"],
            duration_minutes=data["duration_minutes"],
            place=data["place"],
            organisations=list(data["organisations"]),
            professionals=list(data["professionals"]),
            author=user,
        )
        return "Rendez-vous enregistré."
    if action == "decide":
        data = form.cleaned_data
        services.decide_orientation(
            beneficiary,
            pathway=data["pathway"],
            organisation=data["organisation"],
            decided_on=data["decided_on"],
            notified_on=data["notified_on"],
            reason=data["reason"],
            proposal_rule=data["proposal_rule"],
            author=user,
        )
        return "Orientation enregistrée."
    if action == "notify":
        decision = services.current_orientation(beneficiary)
        if decision is None:
            raise ValidationError("Aucune orientation à notifier.")
        services.notify_orientation(decision, author=user, notified_on=form.cleaned_data["notified_on"])
        return "Notification de l'orientation enregistrée."
    if action == "cancel":
        decision = services.current_orientation(beneficiary)
        if decision is None:
            raise ValidationError("Aucune orientation à annuler.")
        services.cancel_orientation(decision, author=user, reason=form.cleaned_data["reason"])
        return "Orientation annulée."
    if action == "referent":
        organisation_id, user_id = form.referent_ids()
        result = services.assign_referent(
            beneficiary,
            referent=get_object_or_404(User, pk=user_id),
            organisation=get_object_or_404(Organisation, pk=organisation_id),
            author=user,
            started_on=form.cleaned_data["started_on"],
            reason=form.cleaned_data["reason"],
        )
        for warning in result.warnings:
            messages.warning(request, warning)
        return f"Référent désigné : {result.assignment.referent}."
    if action == "end_follow_up":
        pathway.end_follow_up(
            beneficiary, on=form.cleaned_data["ended_on"], reason=form.cleaned_data["reason"], author=user
        )
        return "Fin du suivi enregistrée : la désignation du référent est terminée."
    if action == "exemption":
        data = form.cleaned_data
        services.add_exemption(
            beneficiary,
            reason=data["reason"],
            details=data["details"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            author=user,
        )
        return "Dispense enregistrée."
    if action == "reorientation":
        data = form.cleaned_data
        services.request_reorientation(
            beneficiary,
            pathway=data["pathway"],
            organisation=data["organisation"],
            reason=data["reason"],
            author=user,
        )
        return "Demande de réorientation transmise à l'équipe d'orientation."
    if action == "reorientation_decision":
        data = form.cleaned_data
        request_obj = get_object_or_404(
            ReorientationRequest, pk=data["request_id"], beneficiary=beneficiary, status=RequestStatus.PENDING
        )
        services.decide_reorientation(
            request_obj,
            accept=data["accept"],
            organisation=data["organisation"],
            notified_on=data["notified_on"],
            reason=data["reason"],
            author=user,
        )
        return "Réorientation acceptée." if data["accept"] else "Demande de réorientation refusée."
    raise ValidationError("Action inconnue.")


@access(Level.AUTHENTICATED, person="pk", description="Orientation d'une personne")
@require_http_methods(["GET", "POST"])
def panel(request, pk):
    beneficiary = get_object_or_404(
        permissions.panel_scope(request.user).select_related("departement", "territory"), pk=pk
    )
    manage = permissions.can_manage(request.user, beneficiary)
    action = request.POST.get("action") if request.method == "POST" else None
    attendance_form = None
    if action == "attendance":
        attendance_form = forms.AttendanceForm(request.POST)
        if attendance_form.is_valid():
            appointment = get_object_or_404(
                Appointment, pk=attendance_form.cleaned_data["appointment"], beneficiary=beneficiary
            )
            if not manage and not appointment.professionals.filter(pk=request.user.pk).exists():
                raise PermissionDenied("Vous ne participez pas à ce rendez-vous.")
            try:
                services.record_attendance(
                    appointment,
                    attendance_form.cleaned_data["attendance"],
                    author=request.user,
                    notes=attendance_form.cleaned_data["notes"] or None,
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(request, "Présence enregistrée.")
                if appointment.attendance == Attendance.CANCELLED and appointment.starts_at > timezone.now():
                    from .appointment_messages import notify  # la personne est prévenue de l'annulation

                    if notify(appointment, "cancelled", actor=request.user):
                        messages.info(request, "La personne est prévenue de l'annulation (courriel, SMS).")
            return redirect(reverse("orientation:panel", args=[beneficiary.pk]))
        messages.error(request, "Présence : choisissez une valeur.")
        return redirect(reverse("orientation:panel", args=[beneficiary.pk]))

    # L'organisation qui a la personne en charge (ex. France Travail) désigne le référent parmi ses agents.
    designating = None if manage else permissions.designating_organisations(request.user, beneficiary)
    proposal, panel_forms = _panel_forms(beneficiary, request.POST if action else None, action, designating)
    if action:
        if action not in panel_forms:
            raise PermissionDenied("Action inconnue.")
        if not manage and action not in REFERENT_ACTIONS and not (action == "referent" and designating):
            raise PermissionDenied("Cette action est réservée à l'équipe d'orientation du Département.")
        form = panel_forms[action]
        if form.is_valid():
            try:
                message = _handle(action, request, beneficiary, form)
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, message)
                return redirect(reverse("orientation:panel", args=[beneficiary.pk]))
    target, legal = services.deadlines(beneficiary.new_entrant_t0, beneficiary.departement)
    today = timezone.localdate()
    appointments = list(
        beneficiary.appointments.prefetch_related("professionals", "organisations", "messages").order_by(
            "-starts_at", "-pk"
        )
    )
    current = services.current_orientation(beneficiary)
    context = {
        "title": f"Orientation — {beneficiary.full_name}",
        "beneficiary": beneficiary,
        "manage": manage,
        "can_designate": manage or bool(designating),
        "today": today,
        "target_deadline": target,
        "legal_deadline": legal,
        "days_left_target": (target - today).days if target else None,
        "days_left_legal": (legal - today).days if legal else None,
        "current": current,
        "history": services.orientation_history(beneficiary),
        "proposal": proposal if manage else None,
        "invitations": beneficiary.invitations.select_related("sent_by", "appointment").order_by(
            "-created_on", "-pk"
        ),
        "appointments": appointments,
        "referent": services.current_referent(beneficiary),
        "follow_up": pathway.current_follow_up(beneficiary),
        "referent_history": services.referent_history(beneficiary),
        "exemption": services.active_exemption(beneficiary),
        "exemptions": beneficiary.orientation_exemptions.all(),
        "requests": beneficiary.reorientation_requests.select_related(
            "requested_by", "requested_organisation", "decided_by"
        ),
        "forms": panel_forms,
        "open_action": action,
        "attendance_choices": Attendance.choices,
        "user_is_professional": {a.pk for a in appointments if request.user in a.professionals.all()},
        "decision_status": DecisionStatus,
    }
    status = 400 if action else 200
    return render(request, "orientation/panel.html", context, status=status)


# --- portefeuille d'un référent ---------------------------------------------------------------------------


PORTFOLIO_HEADER = [
    *worklists.PERSON_HEADER,
    "Organisation",
    "Référent depuis le",
    "Parcours",
    "Orientation notifiée le",
    "Étape du parcours",
    "Prochaine échéance",
    "Date de l'échéance",
]


def _portfolio_row(assignment):
    person, situation = assignment.beneficiary, assignment.situation
    deadline = situation.next
    return [
        *worklists.person_cells(person, str(assignment.referent)),
        assignment.organisation.name,
        worklists.csv_date(assignment.started_on),
        Pathway(assignment.pathway).label if assignment.pathway else "",
        worklists.csv_date(assignment.notified_on),
        situation.stage,
        deadline.label if deadline else "",
        worklists.csv_date(deadline.on if deadline else None),
    ]


@access(Level.AUTHENTICATED, description="Portefeuille d'un référent")
@require_GET
def portfolio(request, user_pk=None):
    """Portefeuille d'un référent, liste de travail : l'étape du parcours et la prochaine échéance de chaque
    personne (celles de la fiche, ``www.story.situations``, en un nombre fixe de requêtes), la plus proche
    d'abord ou par nom ; recherche ; export CSV journalisé."""
    from parcours.www.story import situations  # la règle de la fiche racontée (couche des pages)

    # Un compte hors de ceux que l'agent peut voir répond comme un compte inexistant (404) : les identifiants
    # ne se parcourent pas (``permissions.visible_agents``).
    if user_pk is None:
        referent = request.user
    else:
        referent = get_object_or_404(permissions.visible_agents(request.user), pk=user_pk)
    own = referent == request.user
    form = forms.PortfolioForm(request.GET or None)
    order = (form.is_valid() and form.cleaned_data["tri"]) or forms.PortfolioForm.BY_DEADLINE
    query = worklists.read_query(request.GET)
    rows = services.portfolio(referent)
    if not own:
        rows = rows.filter(beneficiary__in=permissions.panel_scope(request.user).values("pk"))
    if query:
        people = Beneficiary.objects.filter(pk__in=rows.values("beneficiary_id"))
        rows = rows.filter(beneficiary__in=worklists.matching(people, query).values("pk"))
    rows = rows.select_related("beneficiary__departement", "referent").order_by(
        "beneficiary__last_name", "beneficiary__first_name", "beneficiary_id"
    )
    # L'étape et l'échéance de tout le portefeuille (tri par échéance, export) jusqu'à PARCOURS_SITUATIONS_MAX
    # personnes ; au-delà, la page est triée par nom et seules ses lignes sont lues (nombre fixe de requêtes).
    too_many = order == forms.PortfolioForm.BY_DEADLINE and rows.count() > settings.PARCOURS_SITUATIONS_MAX
    if too_many:
        order = forms.PortfolioForm.BY_NAME
    everyone = worklists.wants_csv(request) or order == forms.PortfolioForm.BY_DEADLINE

    def attach(assignments):
        found = situations([row.beneficiary for row in assignments])
        for row in assignments:
            row.situation = found[row.beneficiary_id]
        return assignments

    if everyone:
        rows = attach(list(rows))
        if order == forms.PortfolioForm.BY_DEADLINE:
            rows.sort(key=_by_next_deadline)
    if worklists.wants_csv(request):
        return worklists.export_work_list(
            request,
            rows,
            people=[(row.beneficiary_id, row.beneficiary.departement_id) for row in rows],
            header=PORTFOLIO_HEADER,
            row=_portfolio_row,
            filename="portefeuille",
            reason="Export CSV du portefeuille" if own else f"Export CSV du portefeuille de {referent}",
        )
    # Le portefeuille est une liste de travail sans choix « mes personnes / tout le périmètre ».
    work_filter = worklists.WorkListFilter(who=worklists.MINE, query=query, has_portfolio=False)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    if not everyone:
        page.object_list = attach(list(page.object_list))
    context = {
        "title": "Portefeuille" if own else f"Portefeuille de {referent}",
        "referent": referent,
        "own": own,
        "too_many": too_many,
        "form": form if form.is_bound else forms.PortfolioForm(initial={"tri": order}),
        **worklists.work_list_context(work_filter, page, tri=order),
    }
    return render(request, "orientation/portfolio.html", context)


def _by_next_deadline(assignment):
    """La prochaine échéance la plus proche d'abord ; les personnes sans échéance ensuite, par nom."""
    deadline = assignment.situation.next
    person = assignment.beneficiary
    return (deadline.on if deadline else datetime.date.max, person.last_name, person.first_name, person.pk)


# --- écran par lot ----------------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Traitement par lot")
@require_http_methods(["GET", "POST"])
def batch(request):
    """Proposer, valider et notifier les orientations d'une liste de personnes à la fois."""
    scope = permissions.team_scope(request.user)
    today = timezone.localdate()
    if request.method == "POST":
        return _batch_validate(request, scope, today)
    page = services.queue_page(
        "a_orienter", scope, today, after=request.GET.get(AFTER), before=request.GET.get(BEFORE)
    )
    people = list(page.object_list)
    proposers, proposals = {}, {}
    for person in people:
        if person.departement_id not in proposers:
            proposer = proposers[person.departement_id] = services.Proposer(person.departement)
            # Diagnostic partagé de toutes les personnes de la page lu en deux requêtes par Département.
            proposals.update(
                proposer.propose_many(
                    [p for p in people if p.departement_id == person.departement_id], today=today
                )
            )
    rows = [
        (person, proposals[person.pk], proposers[person.departement_id].organisations) for person in people
    ]
    context = {
        "title": "Orientation par lot",
        "page_obj": page,
        "rows": rows,
        "pathways": Pathway.choices,
        "today": today,
    }
    return render(request, "orientation/batch.html", context)


def _batch_validate(request, scope, today):
    ids = _ids(request.POST.getlist("people"))
    if not ids:
        messages.error(request, "Cochez au moins une personne à orienter.")
        return redirect(reverse("orientation:batch"))
    people = {p.pk: p for p in scope.filter(pk__in=ids).select_related("departement")}
    items, errors = [], []
    organisations = {}
    for pk in ids:
        person = people.get(pk)
        if person is None:
            continue
        if person.departement_id not in organisations:
            organisations[person.departement_id] = {
                o.pk: o for o in services.orientation_organisations(person.departement)
            }
        pathway = request.POST.get(f"pathway-{pk}", "")
        organisation = organisations[person.departement_id].get(
            int(request.POST.get(f"organisation-{pk}") or 0)
        )
        if pathway not in Pathway.values or organisation is None:
            errors.append(f"{person.full_name} : parcours ou organisme manquant.")
            continue
        items.append((person, pathway, organisation, request.POST.get(f"rule-{pk}", "")[:200]))
    notify = request.POST.get("notify") == "1"
    result = services.validate_orientations(
        items, author=request.user, decided_on=today, notified_on=today if notify else None
    )
    errors += [f"{person.full_name} : {reason}" for person, reason in result.errors]
    messages.success(
        request,
        plural(len(result.decided), "orientation enregistrée", "orientations enregistrées")
        + (plural_form(len(result.decided), " et notifiée.", " et notifiées.") if notify else "."),
    )
    for error in errors:
        messages.error(request, error)
    if notify and result.decided:
        return redirect(
            reverse("orientation:decision_letters") + "?ids=" + ",".join(str(d.pk) for d in result.decided)
        )
    return redirect(reverse("orientation:batch"))


# --- courriers imprimables --------------------------------------------------------------------------------


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Courriers d'invitation")
@require_GET
def letters(request):
    """Courriers d'invitation ou de convocation à imprimer (un par page), pour une ou plusieurs invitations."""
    ids = _ids(request.GET.getlist("ids"))
    invitations = (
        Invitation.objects.filter(
            pk__in=ids, beneficiary__in=permissions.team_scope(request.user).values("pk")
        )
        .select_related("beneficiary", "beneficiary__departement", "appointment")
        .order_by("beneficiary__last_name", "pk")
    )
    pages = [(inv.beneficiary, services.render_message(inv, "letter")) for inv in invitations]
    _record_letters(request, pages, "Courriers d'invitation")
    if request.GET.get("format") == "pdf":
        return _pdf_response(pages, "Courriers d'invitation", "courriers-invitation")
    return render(request, "orientation/letters.html", {"title": "Courriers d'invitation", "pages": pages})


def _record_letters(request, pages, title):
    """Journal d'accès : une entrée par personne dont le courrier est produit (PDF ou page imprimable)."""
    from parcours.audit.services import record_export

    kind = "PDF" if request.GET.get("format") == "pdf" else "page imprimable"
    record_export(
        request, [(person.pk, person.departement_id) for person, _ in pages], reason=f"{title} ({kind})"
    )


def _pdf_response(pages, title, stem):
    from django.http import HttpResponse
    from django.utils import timezone

    from parcours.core.pdf import letters_pdf

    response = HttpResponse(letters_pdf(pages, title=title), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{timezone.localdate():%Y-%m-%d}.pdf"'
    return response


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Notifications d'orientation")
@require_GET
def decision_letters(request):
    """Courriers de notification des orientations (impression en nombre)."""
    ids = _ids(request.GET.getlist("ids"))
    decisions = (
        OrientationDecision.objects.filter(
            pk__in=ids, beneficiary__in=permissions.team_scope(request.user).values("pk")
        )
        .select_related("beneficiary", "beneficiary__departement", "organisation")
        .order_by("beneficiary__last_name", "pk")
    )
    pages = [(d.beneficiary, services.render_decision_letter(d)) for d in decisions]
    _record_letters(request, pages, "Notifications d'orientation")
    if request.GET.get("format") == "pdf":
        from parcours.core.pdf import pdf_response

        from .documents import decisions_pdf  # mise en page des notifications : référence, en-tête

        return pdf_response(decisions_pdf(decisions), "notifications-orientation")
    return render(
        request, "orientation/letters.html", {"title": "Notifications d'orientation", "pages": pages}
    )


# --- agenda -----------------------------------------------------------------------------------------------


AGENDA_WHO_CHOICES = ((worklists.MINE, "Mes rendez-vous"), (worklists.ALL, "Tout mon périmètre"))
AGENDA_HEADER = [*worklists.PERSON_HEADER, "Date", "Heure", "Type", "Lieu", "Professionnels", "Présence"]


def _professionals(appointment):
    return ", ".join(str(user) for user in appointment.professionals.all())


@access(Level.AUTHENTICATED, description="Agenda des rendez-vous")
@require_GET
def agenda(request):
    """Agenda de la semaine, liste de travail : par défaut les rendez-vous que l'agent tient ou ceux des
    personnes dont il est le référent (« mes rendez-vous »), tout son périmètre sur demande ; recherche,
    colonne du référent, export CSV journalisé."""
    form = forms.AgendaForm(request.GET or None)
    day = timezone.localdate()
    if form.is_bound and form.is_valid() and form.cleaned_data["semaine"]:
        day = form.cleaned_data["semaine"]
    monday = day - datetime.timedelta(days=day.weekday())
    sunday = monday + datetime.timedelta(days=6)
    if not form.is_bound or form.is_valid():
        form = forms.AgendaForm({"semaine": monday.isoformat()})
    work_filter = worklists.read_filter(
        request.user, request.GET, own=Appointment.objects.filter(professionals=request.user)
    )
    week = worklists.objects(
        services.appointments_between(monday, sunday),
        request.user,
        work_filter,
        own=services.held_by(request.user),
    )
    appointments = (
        worklists.with_referent_name(week, "beneficiary_id")
        .select_related("beneficiary", "beneficiary__territory")
        .prefetch_related("professionals", "organisations")
    )
    if worklists.wants_csv(request):
        return worklists.export_work_list(
            request,
            appointments,
            people=week.values_list("beneficiary_id", "beneficiary__departement_id"),
            header=AGENDA_HEADER,
            row=lambda appointment: [
                *worklists.person_cells(appointment.beneficiary, appointment.referent_name),
                worklists.csv_date(timezone.localtime(appointment.starts_at)),
                f"{timezone.localtime(appointment.starts_at):%H:%M}",
                appointment.get_kind_display(),
                appointment.place,
                _professionals(appointment),
                appointment.get_attendance_display(),
            ],
            filename="agenda",
            reason=f"Export CSV de l'agenda (semaine du {monday:%d/%m/%Y})",
        )
    panel = permissions.panel_scope(request.user).filter(pk=OuterRef("beneficiary_id"))
    page = Paginator(appointments.annotate(opens_panel=Exists(panel)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "title": "Agenda",
        "form": form,
        "monday": monday,
        "sunday": sunday,
        "previous": urlencode(work_filter.params(semaine=(monday - datetime.timedelta(days=7)).isoformat())),
        "next": urlencode(work_filter.params(semaine=(monday + datetime.timedelta(days=7)).isoformat())),
        "this_week": urlencode(work_filter.params()),
        **worklists.work_list_context(
            work_filter, page, who_choices=AGENDA_WHO_CHOICES, semaine=monday.isoformat()
        ),
    }
    return render(request, "orientation/agenda.html", context)
