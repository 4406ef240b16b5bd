"""Pages du catalogue : recherche, fiche service, prescription, réponse par lien signé, espace structure.

Les vues lisent la requête, vérifient la permission (``permissions``), appellent une fonction métier et
affichent le résultat.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from parcours.accounts.roles import DEPARTEMENT_ADMIN, PRESCRIBER
from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access
from parcours.pathway import worklists

from . import permissions as perms
from . import prescriptions as rx
from . import referentiels as ref
from .display import opening_hours, zone_labels
from .forms import (
    AnswerForm,
    LocalDataForm,
    PrescriptionFilterForm,
    PrescriptionForm,
    ServiceForm,
    StructureForm,
)
from .models import Prescription, PrescriptionStatus, Service, ServiceLocalData
from .search import SearchParams, map_points, search
from .services import save_local_service, save_local_structure

PAGE_SIZE = 25


def _search_context(params):
    return {
        "thematique_groups": [
            {
                "value": categorie,
                "label": ref.label("Categorie", categorie),
                "checked": categorie in params.thematiques,
                "leaves": [
                    {"value": t, "label": ref.label("Thematique", t), "checked": t in params.thematiques}
                    for t in leaves
                ],
                "open": categorie in params.thematiques or any(t in params.thematiques for t in leaves),
            }
            for categorie, leaves in ref.thematiques_by_categorie().items()
            if leaves
        ],
        "public_choices": [(v, lbl, v in params.publics) for v, lbl in ref.PUBLIC_CHOICES],
        "type_choices": [(v, lbl, v in params.types) for v, lbl in ref.TYPE_CHOICES],
        "frais_choices": [(v, lbl, v in params.frais) for v, lbl in ref.FRAIS_CHOICES],
    }


@perms.catalogue_required
def search_view(request):
    params = SearchParams.from_query(request.GET)
    beneficiary = _beneficiary_from_query(request)
    outcome = search(params, departements=perms.departement_codes(request.user))
    context = {
        "title": "Catalogue de l'offre",
        "params": params,
        "outcome": outcome,
        "map": map_points(outcome),
        "share_query": params.to_query(page=""),
        "previous_query": params.to_query(page=outcome.page - 1),
        "next_query": params.to_query(page=outcome.page + 1),
        "beneficiary": beneficiary,
        "can_prescribe": rx.can_prescribe(request.user),
        **_search_context(params),
    }
    template = "catalogue/_results.html" if request.htmx else "catalogue/search.html"
    return render(request, template, context)


def _beneficiary_from_query(request):
    pk = request.GET.get("personne")
    if not pk or not str(pk).isdigit():
        return None
    return Beneficiary.objects.visible_to(request.user).filter(pk=pk).first()


@perms.catalogue_required
def service_detail(request, pk):
    service = get_object_or_404(Service.objects.select_related("structure"), pk=pk)
    local_data = None
    if perms.can_view_local_data(request.user):
        deps = perms.departement_memberships(request.user)
        local_data = ServiceLocalData.objects.filter(
            service=service, departement__in=[m.organisation for m in deps]
        ).first()
    can_edit = perms.can_edit_service(request.user, service)
    show_quality = perms.can_see_quality(request.user) or can_edit
    context = {
        "title": service.nom,
        "service": service,
        "local_data": local_data,
        "can_view_local_data": perms.can_view_local_data(request.user),
        "can_edit_local_data": bool(perms.local_data_departements(request.user)),
        "can_edit": can_edit,
        "can_prescribe": rx.can_prescribe(request.user) and service.is_active,
        "beneficiary": _beneficiary_from_query(request),
        "zone_labels": zone_labels(service.zone_eligibilite),
        "opening_hours": opening_hours(service.horaires_accueil),
        "show_quality": show_quality,
        "quality_labels": _quality_rows(service) if show_quality else [],
    }
    return render(request, "catalogue/service_detail.html", context)


def _quality_rows(service):
    from .schema import QUALITY_CRITERIA_LABELS

    return [
        (QUALITY_CRITERIA_LABELS.get(name, name), value)
        for name, value in (service.quality_details or {}).items()
        if value is not None
    ]


@perms.catalogue_required(
    requires=DEPARTEMENT_ADMIN, description="Données internes d'un service (Département)"
)
@require_http_methods(["GET", "POST"])
def local_data_edit(request, pk):
    service = get_object_or_404(Service, pk=pk)
    departements = perms.local_data_departements(request.user)
    if not departements:
        raise PermissionDenied("Réservé aux administrateurs du Département.")
    departement = departements[0]
    instance = ServiceLocalData.objects.filter(service=service, departement=departement).first()
    form = LocalDataForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = form.save(commit=False)
        data.service, data.departement, data.updated_by = service, departement, request.user
        data.save()
        messages.success(request, "Données internes enregistrées (elles ne sont jamais publiées).")
        return redirect("catalogue:service_detail", pk=service.pk)
    return render(
        request,
        "catalogue/local_data_form.html",
        {
            "title": "Données internes du Département",
            "service": service,
            "form": form,
            "departement": departement,
        },
    )


# --------------------------------------------------------------------------------------------------
# Prescription


@perms.catalogue_required(requires=PRESCRIBER, description="Prescrire un service (rôles prescripteurs)")
@require_http_methods(["GET", "POST"])
def prescribe(request, pk):
    service = get_object_or_404(Service.objects.active().select_related("structure"), pk=pk)
    beneficiary = _beneficiary_from_query(request) if request.method == "GET" else None
    if request.method == "POST":
        pk_person = request.POST.get("personne", "")
        beneficiary = (
            Beneficiary.objects.visible_to(request.user).filter(pk=pk_person).first()
            if pk_person.isdigit()
            else None
        )
    if beneficiary is None:
        query = request.GET.get("q", "")
        candidates = Beneficiary.objects.visible_to(request.user).search(query)[:20] if query else []
        return render(
            request,
            "catalogue/prescribe_choose.html",
            {"title": "Prescrire", "service": service, "query": query, "candidates": candidates},
        )
    form = PrescriptionForm(request.POST or None, prefill=rx.prefill(beneficiary))
    if request.method == "POST" and form.is_valid():
        values, selected = form.shared_values()
        try:
            prescription = rx.create_prescription(
                user=request.user,
                beneficiary=beneficiary,
                service=service,
                shared_data=rx.build_shared_data(values, selected),
                message=form.cleaned_data["message"],
                consent=form.cleaned_data["consent"],
                request=request,
            )
        except rx.PrescriptionError as exc:
            form.add_error(None, exc.message)
        else:
            if prescription.sent_at:
                messages.success(request, f"Prescription envoyée à {prescription.recipient_email}.")
            else:
                messages.warning(
                    request,
                    "Prescription enregistrée, mais aucun courriel n'a pu être envoyé : transmettez le lien de "
                    "réponse à la structure.",
                )
            return redirect("catalogue:prescription_detail", pk=prescription.pk)
    return render(
        request,
        "catalogue/prescribe.html",
        {"title": "Prescrire", "service": service, "beneficiary": beneficiary, "form": form},
    )


PRESCRIPTION_WHO_CHOICES = ((worklists.MINE, "Mes prescriptions"), (worklists.ALL, "Tout mon périmètre"))
PRESCRIPTION_HEADER = [
    *worklists.PERSON_HEADER,
    "Service",
    "Structure",
    "Prescripteur",
    "Prescrite le",
    "Statut",
    "Réponse attendue avant le",
    "Réponse le",
    "Heures par semaine",
    "Nombre de semaines",
]
# Échéance de la réponse : les prescriptions en attente d'abord, la plus proche de l'expiration en tête ; les
# autres ensuite, la plus récente d'abord.
PRESCRIPTION_ORDERS = {
    PrescriptionFilterForm.BY_DEADLINE: (
        Case(When(status=PrescriptionStatus.OPEN, then=Value(0)), default=Value(1)),
        Case(When(status=PrescriptionStatus.OPEN, then=F("expires_on"))).asc(nulls_last=True),
        "-created_at",
        "-pk",
    ),
    PrescriptionFilterForm.BY_DATE: ("-created_at", "-pk"),
}


def _hours(value):
    return "" if value is None else f"{value:g}".replace(".", ",")


def _prescription_row(prescription):
    return [
        *worklists.person_cells(prescription.beneficiary, prescription.referent_name),
        prescription.service.nom,
        prescription.structure.nom,
        str(prescription.prescriber or ""),
        worklists.csv_date(timezone.localtime(prescription.created_at)),
        prescription.get_status_display(),
        worklists.csv_date(prescription.expires_on) if prescription.is_open else "",
        worklists.csv_date(prescription.answered_at and timezone.localtime(prescription.answered_at)),
        _hours(prescription.volume_horaire_hebdomadaire),
        prescription.nombre_semaines or "",
    ]


@perms.catalogue_required
def prescription_list(request):
    """Prescriptions, liste de travail : par défaut celles que l'agent a faites ou celles des personnes dont il
    est le référent, tout son périmètre sur demande ; statut, recherche, tri par échéance de la réponse ou par
    date, colonne du référent, export CSV journalisé."""
    form = PrescriptionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status, order = data.get("statut", ""), data.get("tri") or PrescriptionFilterForm.BY_DEADLINE
    mine = Q(prescriber=request.user)
    work_filter = worklists.read_filter(request.user, request.GET, own=Prescription.objects.filter(mine))
    qs = worklists.objects(rx.visible_prescriptions(request.user), request.user, work_filter, own=mine)
    if status:
        qs = qs.filter(status=status)
    person = request.GET.get("personne", "")
    if person.isdigit():
        qs = qs.filter(beneficiary_id=person)
    prescriptions = (
        worklists.with_referent_name(qs, "beneficiary_id")
        .select_related("beneficiary", "beneficiary__territory", "service", "structure", "prescriber")
        .order_by(*PRESCRIPTION_ORDERS[order])
    )
    if worklists.wants_csv(request):
        return worklists.export_work_list(
            request,
            prescriptions,
            people=qs.values_list("beneficiary_id", "beneficiary__departement_id"),
            header=PRESCRIPTION_HEADER,
            row=_prescription_row,
            filename="prescriptions",
            reason="Export CSV des prescriptions",
        )
    page = Paginator(prescriptions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalogue/prescription_list.html",
        {
            "title": "Prescriptions",
            "form": form if form.is_bound else PrescriptionFilterForm(initial={"tri": order}),
            "today": timezone.localdate(),
            **worklists.work_list_context(
                work_filter,
                page,
                who_choices=PRESCRIPTION_WHO_CHOICES,
                statut=status,
                tri=order,
                personne=person if person.isdigit() else "",
            ),
        },
    )


@perms.catalogue_required
@require_http_methods(["GET", "POST"])
def prescription_detail(request, pk):
    prescription = get_object_or_404(
        rx.visible_prescriptions(request.user).select_related("beneficiary", "service", "structure"), pk=pk
    )
    if request.method == "POST" and request.POST.get("action") == "renew":
        try:
            sent = rx.renew_link(prescription, actor=request.user, request=request)
        except rx.PrescriptionError as exc:
            messages.error(request, exc.message)
        else:
            if sent:
                messages.success(request, "Un nouveau lien de réponse a été envoyé à la structure.")
            else:
                messages.warning(
                    request, "Aucun courriel envoyé : transmettez le lien ci-dessous à la structure."
                )
        return redirect("catalogue:prescription_detail", pk=prescription.pk)
    return render(
        request,
        "catalogue/prescription_detail.html",
        {
            "title": f"Prescription n°{prescription.pk}",
            "prescription": prescription,
            "shared": rx.shared_data_display(prescription),
            "logs": prescription.logs.select_related("actor"),
            "answer_url": rx.answer_url(prescription, request) if prescription.is_open else "",
        },
    )


@access(Level.PUBLIC, description="Réponse d'une structure par lien signé (jeton vérifié par la vue)")
@require_http_methods(["GET", "POST"])
def answer(request, token):
    """Réponse de la structure depuis le lien signé reçu par courriel, sans compte."""
    try:
        prescription = rx.read_token(token)
    except rx.LinkError as exc:
        return render(
            request,
            "catalogue/answer.html",
            {
                "title": "Réponse à une orientation",
                "link_error": exc.message,
                "prescription": exc.prescription,
            },
            status=403 if exc.code == "lien_invalide" else 410,
        )
    form = AnswerForm(request.POST or None)
    if (
        request.method == "POST"
        and prescription.is_open
        and form.is_valid()
        and _apply_answer(
            request, prescription, form, actor=None, actor_label=form.cleaned_data["answerer_name"]
        )
    ):
        return redirect("catalogue:answer", token=token)
    return render(
        request,
        "catalogue/answer.html",
        {
            "title": "Réponse à une orientation",
            "prescription": prescription,
            "shared": rx.shared_data_display(prescription),
            "form": form,
        },
    )


def _apply_answer(request, prescription, form, actor, actor_label=""):
    data = form.cleaned_data
    try:
        if data["decision"] == AnswerForm.ACCEPT:
            rx.accept(
                prescription,
                actor=actor,
                actor_label=actor_label,
                start_on=data.get("start_on"),
                comment=data["comment"],
            )
            messages.success(request, "Merci : l'orientation est acceptée. Le prescripteur en est informé.")
        else:
            rx.refuse(
                prescription,
                reason=data["refusal_reason"],
                comment=data["comment"],
                actor=actor,
                actor_label=actor_label,
            )
            messages.success(request, "Votre refus est enregistré. Le prescripteur en est informé.")
    except rx.PrescriptionError as exc:
        form.add_error(None, exc.message)
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Espace structure


@perms.catalogue_required
def structure_space(request):
    structures = (perms.space_structures(request.user) | perms.editable_structures(request.user)).distinct()
    structures = structures.annotate(
        open_count=Count("prescriptions", filter=Q(prescriptions__status=PrescriptionStatus.OPEN))
    ).order_by("nom")
    received = rx.received_prescriptions(request.user).select_related("service", "structure")
    status = request.GET.get("statut", PrescriptionStatus.OPEN)
    if status in PrescriptionStatus.values:
        received = received.filter(status=status)
    return render(
        request,
        "catalogue/structure_space.html",
        {
            "title": "Espace structure",
            "structures": structures,
            "received": Paginator(received, 25).get_page(request.GET.get("page")),
            "status": status,
            "status_choices": PrescriptionStatus.choices,
            "can_create_structure": bool(perms.local_data_departements(request.user))
            or request.user.is_superuser,
        },
    )


@perms.catalogue_required
@require_http_methods(["GET", "POST"])
def received_prescription(request, pk):
    prescription = get_object_or_404(
        rx.received_prescriptions(request.user).select_related("service", "structure"), pk=pk
    )
    form = AnswerForm(request.POST or None, with_name=False)
    if (
        request.method == "POST"
        and prescription.is_open
        and form.is_valid()
        and _apply_answer(request, prescription, form, actor=request.user)
    ):
        return redirect("catalogue:received_prescription", pk=prescription.pk)
    return render(
        request,
        "catalogue/received_prescription.html",
        {
            "title": f"Orientation reçue n°{prescription.pk}",
            "prescription": prescription,
            "shared": rx.shared_data_display(prescription),
            "form": form,
            "logs": prescription.logs.all(),
        },
    )


@perms.catalogue_required
@require_http_methods(["GET", "POST"])
def structure_edit(request, pk=None):
    structure = None
    if pk is not None:
        structure = get_object_or_404(perms.editable_structures(request.user), pk=pk)
    else:
        deps = perms.local_data_departements(request.user)
        if not deps and not request.user.is_superuser:
            raise PermissionDenied("Réservé aux administrateurs du Département.")
    form = StructureForm(request.POST or None, instance=structure)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        if obj.pk is None:
            deps = perms.local_data_departements(request.user)
            obj.departement = deps[0] if deps else None
        save_local_structure(obj, request.user)
        messages.success(request, "Structure enregistrée.")
        return redirect("catalogue:structure_space")
    return render(
        request,
        "catalogue/structure_form.html",
        {"title": "Structure", "form": form, "structure": structure},
    )


@perms.catalogue_required
@require_http_methods(["GET", "POST"])
def service_edit(request, pk=None, structure_pk=None):
    if pk is not None:
        service = get_object_or_404(Service.objects.select_related("structure"), pk=pk)
        if not perms.can_edit_service(request.user, service):
            if not service.is_local:
                messages.info(request, "Ce service est importé : il se modifie chez son producteur.")
                return redirect("catalogue:service_detail", pk=service.pk)
            raise PermissionDenied("Vous ne pouvez pas modifier ce service.")
        structure = service.structure
    else:
        structure = get_object_or_404(perms.editable_structures(request.user), pk=structure_pk)
        service = Service(structure=structure)
    form = ServiceForm(request.POST or None, instance=service, structure=structure)
    if request.method == "POST" and form.is_valid():
        obj = save_local_service(form.save(commit=False), request.user)
        if obj.validation_warnings:
            messages.warning(
                request, "Service enregistré, avec des avertissements du schéma : voir ci-dessous."
            )
        else:
            score = f" (score de qualité : {obj.quality_score:.0%})" if obj.quality_score is not None else ""
            messages.success(request, f"Service enregistré{score}.")
        return redirect("catalogue:service_detail", pk=obj.pk)
    return render(
        request,
        "catalogue/service_form.html",
        {
            "title": "Modifier le service" if service.pk else "Nouveau service",
            "form": form,
            "service": service,
            "structure": structure,
            "cancel_url": reverse("catalogue:service_detail", args=[service.pk])
            if service.pk
            else reverse("catalogue:structure_space"),
        },
    )
