"""Pages de la relation avec les employeurs : employeurs, offres, import d'offres, et la page « emploi » d'une
personne (offres proches de son projet, immersions, embauches). Les vues lisent la saisie et appellent
``services`` ou ``imports`` ; aucune règle ici."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from parcours.accompaniment.permissions import access_for
from parcours.accounts.models import Organisation
from parcours.accounts.roles import PRESCRIBER
from parcours.beneficiaries.models import Beneficiary
from parcours.core.access import Level, access
from parcours.core.forms import add_validation_errors

from . import services
from .forms import EmployerForm, HiringForm, ImmersionForm, OfferForm, OutcomeForm
from .imports import OfferImportError, import_offers
from .models import Immersion, OfferStatus

PAGE_SIZE = 50


@access(Level.AUTHENTICATED, requires=PRESCRIBER, description="Employeurs du Département")
def employer_list(request):
    query = request.GET.get("q", "").strip()
    employers = services.employers_visible_to(request.user).annotate(
        open_offers=Count("offers", filter=Q(offers__status=OfferStatus.OPEN))
    )
    if query:
        digits = query.replace(" ", "")
        employers = employers.filter(
            Q(name__icontains=query) | Q(siret__startswith=digits) | Q(sector__icontains=query)
        )
    page = Paginator(employers.order_by("name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "employers/employer_list.html", {"title": "Employeurs", "page": page, "query": query}
    )


@access(Level.AUTHENTICATED, requires=PRESCRIBER, description="Nouvel employeur")
def employer_create(request):
    departements = services.departements_of(request.user)
    form = EmployerForm(request.POST or None, departements=departements)
    if request.method == "POST" and form.is_valid():
        employer = form.save(commit=False)
        employer.created_by = request.user
        employer.save()
        messages.success(request, f"Employeur « {employer.name} » enregistré.")
        return redirect("employers:detail", pk=employer.pk)
    return render(request, "employers/employer_form.html", {"title": "Nouvel employeur", "form": form})


@access(
    Level.AUTHENTICATED, requires=PRESCRIBER, description="Employeur : besoins, offres, immersions, embauches"
)
def employer_detail(request, pk):
    employer = get_object_or_404(services.employers_visible_to(request.user), pk=pk)
    form = OfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        offer = form.save(commit=False)
        offer.employer, offer.created_by = employer, request.user
        offer.save()
        messages.success(request, f"Offre « {offer.title} » enregistrée.")
        return redirect("employers:offer", pk=offer.pk)
    people = services.people_of(request.user)
    return render(
        request,
        "employers/employer_detail.html",
        {
            "title": employer.name,
            "employer": employer,
            "offers": employer.offers.annotate(hired=Count("hirings")),
            "immersions": employer.immersions.filter(beneficiary__in=people).select_related("beneficiary"),
            "hirings": employer.hirings.filter(beneficiary__in=people).select_related("beneficiary"),
            "form": form,
        },
    )


@access(Level.AUTHENTICATED, requires=PRESCRIBER, description="Offres d'emploi du Département")
def offer_list(request):
    rome = request.GET.get("rome", "").strip().upper()
    commune = request.GET.get("commune", "").strip()
    offers = (
        services.offers_visible_to(request.user).filter(status=OfferStatus.OPEN).select_related("employer")
    )
    if rome:
        offers = offers.filter(rome_code__startswith=rome)
    if commune:
        offers = offers.filter(Q(commune_name__icontains=commune) | Q(commune_code=commune))
    page = Paginator(offers.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "employers/offer_list.html",
        {"title": "Offres d'emploi", "page": page, "rome": rome, "commune": commune},
    )


@access(
    Level.AUTHENTICATED,
    requires=PRESCRIBER,
    description="Offre d'emploi et personnes dont le projet y répond",
)
def offer_detail(request, pk):
    offer = get_object_or_404(services.offers_visible_to(request.user).select_related("employer"), pk=pk)
    if request.method == "POST" and request.POST.get("status") in OfferStatus.values:
        offer.status = request.POST["status"]
        offer.save(update_fields=["status"])
        messages.success(request, f"Offre : {offer.get_status_display().lower()}.")
        return redirect("employers:offer", pk=offer.pk)
    candidates = services.candidates_for(offer, services.people_of(request.user))
    return render(
        request,
        "employers/offer_detail.html",
        {"title": offer.title, "offer": offer, "candidates": candidates, "statuses": OfferStatus.choices},
    )


@access(Level.AUTHENTICATED, requires=PRESCRIBER, description="Import d'offres d'emploi (CSV)")
def offer_import(request):
    departements = list(Organisation.objects.filter(pk__in=services.departements_of(request.user)))
    report, errors = None, []
    if request.method == "POST":
        departement = next((d for d in departements if str(d.pk) == request.POST.get("departement")), None)
        departement = departement or (departements[0] if len(departements) == 1 else None)
        uploaded = request.FILES.get("fichier")
        if departement is None:
            errors = ["Département : choisissez le Département des offres."]
        elif uploaded is None or uploaded.size == 0:
            errors = ["Fichier : choisissez un fichier CSV non vide."]
        else:
            try:
                text = uploaded.read().decode("utf-8")
            except UnicodeDecodeError:
                errors = ["Fichier : il n'est pas encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »)."]
            else:
                try:
                    report = import_offers(departement, text, author=request.user)
                except OfferImportError as error:
                    errors = error.errors
                else:
                    messages.success(request, report.summary)
    return render(
        request,
        "employers/offer_import.html",
        {
            "title": "Importer des offres d'emploi",
            "departements": departements,
            "report": report,
            "errors": errors[:50],
            "error_count": len(errors),
        },
    )


# --- la page « emploi » d'une personne ---------------------------------------------------------------------


def _person(request, beneficiary_id):
    scope = Beneficiary.objects.visible_to(request.user).select_related("departement")
    return get_object_or_404(scope, pk=beneficiary_id)


@access(
    Level.AUTHENTICATED,
    person="beneficiary_id",
    description="Emploi : offres, immersions, embauches d'une personne",
)
def person_employment(request, beneficiary_id):
    beneficiary = _person(request, beneficiary_id)
    rights = access_for(request.user, beneficiary)
    employers = services.employers_visible_to(request.user).filter(departement_id=beneficiary.departement_id)
    immersion_form = ImmersionForm(prefix="immersion", employers=employers)
    hiring_form = HiringForm(prefix="hiring", employers=employers)
    if request.method == "POST" and rights.can_edit:
        if request.POST.get("form") == "immersion":
            immersion_form = ImmersionForm(request.POST, prefix="immersion", employers=employers)
            if immersion_form.is_valid():
                try:
                    services.record_immersion(beneficiary, author=request.user, **immersion_form.cleaned_data)
                except ValidationError as error:
                    add_validation_errors(immersion_form, error)
                else:
                    messages.success(request, "Immersion enregistrée et ajoutée au plan d'activités.")
                    return redirect("employers:person", beneficiary_id=beneficiary.pk)
        elif request.POST.get("form") == "hiring":
            hiring_form = HiringForm(request.POST, prefix="hiring", employers=employers)
            if hiring_form.is_valid():
                try:
                    services.record_hiring(beneficiary, author=request.user, **hiring_form.cleaned_data)
                except ValidationError as error:
                    add_validation_errors(hiring_form, error)
                else:
                    messages.success(request, "Embauche enregistrée.")
                    return redirect("employers:person", beneficiary_id=beneficiary.pk)
    return render(
        request,
        "employers/person_employment.html",
        {
            "title": f"Emploi — {beneficiary.full_name}",
            "beneficiary": beneficiary,
            "can_edit": rights.can_edit,
            "rome": services.latest_rome(beneficiary),
            "matches": services.offers_for(beneficiary),
            "immersions": beneficiary.immersions.select_related("employer"),
            "hirings": beneficiary.hirings.select_related("employer"),
            "immersion_form": immersion_form,
            "hiring_form": hiring_form,
            "outcome_form": OutcomeForm(initial={"on": timezone.localdate()}),
        },
    )


@access(Level.AUTHENTICATED, person="beneficiary_id", description="Bilan d'une immersion")
@require_POST
def immersion_outcome(request, beneficiary_id, pk):
    beneficiary = _person(request, beneficiary_id)
    immersion = get_object_or_404(Immersion, pk=pk, beneficiary=beneficiary)
    if not access_for(request.user, beneficiary).can_edit:
        messages.error(request, "Votre rôle ne permet pas de modifier le parcours de cette personne.")
        return redirect("employers:person", beneficiary_id=beneficiary.pk)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.record_immersion_outcome(immersion, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, "Bilan de l'immersion enregistré.")
    else:
        for field, errs in form.errors.items():
            for e in errs:
                messages.error(request, f"{form.fields[field].label} : {e}" if field in form.fields else e)
    return redirect("employers:person", beneficiary_id=beneficiary.pk)
