"""Pages des rendez-vous : la page publique de prise de rendez-vous (lien signé ``/rdv/<jeton>``, sans compte)
et, pour les agents, l'agenda par agent et par organisation (jour, semaine, export iCalendar) et la gestion
des plages d'ouverture et des fermetures."""

import datetime

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.accounts.roles import BOOKING_MANAGER, PEOPLE_READER, TEAM, memberships_of
from parcours.audit.services import record_export
from parcours.core.access import Level, access
from parcours.orientation.permissions import visible_agents

from . import links, services
from .forms import ClosureForm, OpeningForm
from .models import Closure, OpeningPattern
from .slots import parse_key

# --- page publique : le lien de l'invitation ---------------------------------------------------------------

DAYS_SHOWN = 5


def _link_error(request, error):
    phone = ""
    if error.invitation is not None:
        phone = services.contact_phone(error.invitation.beneficiary)
    return render(
        request,
        "booking/link_error.html",
        {"title": "Lien de rendez-vous", "error": error, "phone": phone},
        status=403,
    )


@access(Level.PUBLIC, description="Prise de rendez-vous par la personne (lien signé vérifié par la vue)")
@require_http_methods(["GET", "POST"])
def booking_link(request, token):
    """La personne, sans compte, choisit, déplace ou annule son rendez-vous depuis le lien de son invitation."""
    try:
        invitation = links.read_token(token)
    except links.LinkError as error:
        return _link_error(request, error)
    if request.method == "POST":
        return _booking_action(request, token, invitation)
    person = invitation.beneficiary
    now = timezone.now()
    current = services.active_bookings(invitation, now=now).first()
    changing = (
        current is not None and request.GET.get("changer") == "1" and services.can_change(current, now=now)
    )
    context = {
        "title": "Prendre rendez-vous",
        "person": person,
        "invitation": invitation,
        "token": token,
        "current": current,
        "changing": changing,
        "can_change": current is not None and services.can_change(current, now=now),
        "deadline": services.change_deadline(current) if current else None,
        "confirm_cancel": current is not None and request.GET.get("annuler") == "1",
    }
    if current is None or changing:
        offer = services.offer(person, now=now, organisation_id=_int(request.GET.get("lieu")))
        selected = _selected_group(offer.groups)
        first_day = _date(request.GET.get("a_partir"))
        days = selected["days"] if selected else []
        if first_day:
            days = [(day, slots) for day, slots in days if day >= first_day]
        context.update(
            offer=offer,
            selected=selected,
            days=days[:DAYS_SHOWN],
            next_day=days[DAYS_SHOWN][0] if len(days) > DAYS_SHOWN else None,
            phone=offer.phone,
        )
    else:
        context["phone"] = services.contact_phone(person)
    return render(request, "booking/book.html", context)


def _selected_group(groups):
    """L'organisation choisie (``?lieu=``), sinon la plus proche qui a des créneaux."""
    for group in groups:
        if group["selected"]:
            return group
    return next((group for group in groups if group["days"]), None)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value):
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        return None


def _booking_action(request, token, invitation):
    url = reverse("booking_link", args=[token])
    action = request.POST.get("action")
    current = services.active_bookings(invitation).first()
    try:
        if action == "cancel" and current is not None:
            services.cancel(current)
            messages.success(request, "Votre rendez-vous est annulé.")
            return redirect(url)
        parsed = parse_key(request.POST.get("creneau"))
        if parsed is None:
            messages.error(request, "Choisissez un créneau dans la liste.")
            return redirect(url + ("?changer=1" if current else ""))
        if action == "move" and current is not None:
            booking = services.move(current, *parsed)
            messages.success(request, f"Votre rendez-vous est déplacé au {_when(booking)}.")
        elif action == "book":
            booking = services.book(invitation, *parsed)
            messages.success(request, f"Votre rendez-vous est pris le {_when(booking)}.")
        else:
            messages.error(request, "Cette action n'est pas possible. Rechargez la page.")
    except services.BookingError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(url + ("?changer=1" if current else ""))
    return redirect(url)


def _when(booking):
    moment = timezone.localtime(booking.starts_at)
    return f"{moment:%d/%m/%Y à %H:%M}"


# --- agenda des agents -------------------------------------------------------------------------------------


def agenda_organisations(user):
    """Organisations dont l'agent voit l'agenda : les siennes ; pour l'équipe d'un Département, aussi ses
    partenaires."""
    if user.is_superuser:
        return Organisation.objects.exclude(kind=OrganisationKind.ETAT)
    own = Q(pk__in=[])
    for membership in memberships_of(user):
        if membership.organisation.kind == OrganisationKind.ETAT:
            continue
        own |= Q(pk=membership.organisation_id)
        if membership.role in TEAM and membership.organisation.kind == OrganisationKind.DEPARTEMENT:
            own |= Q(departement_id=membership.organisation_id)
    return Organisation.objects.filter(own)


def managed_organisations(user):
    """Organisations dont l'agent gère les plages et les fermetures (capacité ``BOOKING_MANAGER``)."""
    if user.is_superuser:
        return Organisation.objects.exclude(kind=OrganisationKind.ETAT)
    return Organisation.objects.filter(pk__in=[m.organisation_id for m in BOOKING_MANAGER.memberships(user)])


def _agenda_scope(request):
    """(titre, organisation, agent) demandés par ``?organisation=`` ou ``?agent=`` (par défaut : l'agent)."""
    organisation_id, agent_id = _int(request.GET.get("organisation")), _int(request.GET.get("agent"))
    if organisation_id:
        organisation = get_object_or_404(agenda_organisations(request.user), pk=organisation_id)
        return organisation.name, organisation, None
    agent = request.user
    if agent_id and agent_id != request.user.pk:
        agent = get_object_or_404(visible_agents(request.user), pk=agent_id)
    return agent.get_full_name() or agent.email, None, agent


def _period(request):
    view = "jour" if request.GET.get("vue") == "jour" else "semaine"
    day = _date(request.GET.get("date")) or timezone.localdate()
    if view == "jour":
        return view, day, day, datetime.timedelta(days=1)
    monday, sunday = services.week_bounds(day)
    return view, monday, sunday, datetime.timedelta(days=7)


def _query(request, **changes):
    params = {key: request.GET.get(key) for key in ("vue", "date", "organisation", "agent")}
    params.update(changes)
    from urllib.parse import urlencode

    return urlencode({key: value for key, value in params.items() if value})


@access(
    Level.AGENT, requires=PEOPLE_READER, description="Agenda des rendez-vous par agent et par organisation"
)
@require_GET
def agenda(request):
    """Agenda d'un agent ou d'une organisation, par jour ou par semaine : rendez-vous et créneaux publiés."""
    name, organisation, agent = _agenda_scope(request)
    view, start, end, step = _period(request)
    appointments = list(services.agenda_appointments(start, end, organisation=organisation, agent=agent))
    slots = services.agenda_openings(start, end, organisation=organisation, agent=agent)
    days = []
    day = start
    while day <= end:
        days.append(
            {
                "day": day,
                "appointments": [a for a in appointments if timezone.localdate(a.starts_at) == day],
                "slots": [s for s in slots if timezone.localdate(s.starts_at) == day],
            }
        )
        day += datetime.timedelta(days=1)
    context = {
        "title": f"Agenda — {name}",
        "name": name,
        "view": view,
        "start": start,
        "end": end,
        "days": days,
        "count": len(appointments),
        "organisations": agenda_organisations(request.user).order_by("name"),
        "agents": visible_agents(request.user).order_by("last_name", "first_name")[:200],
        "organisation": organisation,
        "agent": agent,
        "previous": _query(request, date=(start - step).isoformat()),
        "next": _query(request, date=(start + step).isoformat()),
        "as_day": _query(request, vue="jour", date=start.isoformat()),
        "as_week": _query(request, vue="semaine", date=start.isoformat()),
        "ics": _query(request),
        "can_manage": BOOKING_MANAGER.allows(request.user),
    }
    return render(request, "booking/agenda.html", context)


@access(
    Level.AGENT,
    requires=PEOPLE_READER,
    description="Export iCalendar de l'agenda (export nominatif journalisé)",
)
@require_GET
def agenda_ics(request):
    """Agenda en iCalendar (.ics) : la période affichée, export nominatif inscrit au journal d'accès."""
    name, organisation, agent = _agenda_scope(request)
    view, start, end, _step = _period(request)
    appointments = list(services.agenda_appointments(start, end, organisation=organisation, agent=agent))
    record_export(
        request,
        [(a.beneficiary_id, a.beneficiary.departement_id) for a in appointments],
        reason=f"Export iCalendar de l'agenda de {name} ({start:%d/%m/%Y} au {end:%d/%m/%Y})",
    )
    body = services.ics_calendar(appointments, name=f"Rendez-vous — {name}", host=request.get_host())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="agenda-{start:%Y-%m-%d}.ics"'
    return response


# --- plages d'ouverture et fermetures ----------------------------------------------------------------------


@access(Level.AGENT, requires=BOOKING_MANAGER, description="Plages de rendez-vous et fermetures")
@require_http_methods(["GET", "POST"])
def openings(request):
    """Plages d'ouverture et fermetures des organisations de l'agent : liste, ajout."""
    organisations = managed_organisations(request.user)
    opening_form = OpeningForm(
        request.POST if request.POST.get("form") == "opening" else None,
        organisations=organisations,
        initial={"valid_from": timezone.localdate()},
    )
    closure_form = ClosureForm(
        request.POST if request.POST.get("form") == "closure" else None, organisations=organisations
    )
    if request.method == "POST":
        form = opening_form if request.POST.get("form") == "opening" else closure_form
        if form.is_valid():
            form.save()
            messages.success(request, "Plage publiée." if form is opening_form else "Fermeture enregistrée.")
            return redirect("booking:openings")
    context = {
        "title": "Plages de rendez-vous",
        "openings": OpeningPattern.objects.filter(organisation__in=organisations)
        .select_related("organisation", "agent")
        .order_by("organisation__name", "-is_active", "weekday", "start_time"),
        "closures": Closure.objects.filter(
            organisation__in=organisations, ends_on__gte=timezone.localdate()
        ).select_related("organisation", "agent"),
        "opening_form": opening_form,
        "closure_form": closure_form,
    }
    return render(request, "booking/openings.html", context)


@access(Level.AGENT, requires=BOOKING_MANAGER, description="Retrait ou republication d'une plage")
@require_POST
def opening_toggle(request, pk):
    opening = get_object_or_404(OpeningPattern, pk=pk, organisation__in=managed_organisations(request.user))
    opening.is_active = not opening.is_active
    opening.save(update_fields=["is_active"])
    messages.success(
        request,
        "Plage publiée."
        if opening.is_active
        else "Plage retirée : les rendez-vous déjà pris sont maintenus.",
    )
    return redirect("booking:openings")


@access(Level.AGENT, requires=BOOKING_MANAGER, description="Suppression d'une fermeture")
@require_POST
def closure_delete(request, pk):
    closure = get_object_or_404(Closure, pk=pk, organisation__in=managed_organisations(request.user))
    closure.delete()
    messages.success(request, "Fermeture supprimée.")
    return redirect("booking:openings")
