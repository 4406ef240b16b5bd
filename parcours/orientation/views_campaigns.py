"""Pages des campagnes de reprise de contact du stock (équipe d'orientation du Département).

Les règles (qui est dans le stock, quels critères, liste figée, invitation, résultats) sont dans
``campaigns.py`` ; les pages lisent les critères, montrent l'aperçu et appellent une fonction.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parcours.accounts.models import Territory
from parcours.accounts.roles import ORIENTATION_TEAM
from parcours.audit.services import record_export
from parcours.core.access import Level, access
from parcours.core.csv_export import streaming_csv_response

from . import campaigns
from .forms_campaigns import CampaignInviteForm, CampaignNameForm, CriteriaForm
from .models import Channel, Pathway

PAGE_SIZE = 50


def _query_without_page(request):
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _campaign_or_404(request, pk):
    return get_object_or_404(
        campaigns.visible_campaigns(request.user).select_related("departement", "created_by"), pk=pk
    )


def _territory_names(campaign_list):
    ids = {campaigns.criteria_of(c).territory_id for c in campaign_list} - {None}
    return dict(Territory.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


@access(
    Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Campagnes de reprise de contact du stock"
)
@require_GET
def campaign_list(request):
    rows = list(campaigns.visible_campaigns(request.user).select_related("departement", "created_by")[:200])
    figures = campaigns.results(rows)
    names = _territory_names(rows)
    items = [
        {
            "campaign": c,
            "criteria": campaigns.criteria_of(c).describe(names),
            "members": figures[c.pk]["members"],
            "results": campaigns.result_rows(figures[c.pk]),
        }
        for c in rows
    ]
    return render(
        request,
        "orientation/campaigns/list.html",
        {
            "title": "Campagnes de reprise de contact du stock",
            "items": items,
            "result_labels": [label for _key, label, _kinds in campaigns.RESULTS],
        },
    )


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Nouvelle campagne : critères et aperçu")
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    """Critères (GET) → nombre de personnes et échantillon paginé ; « Créer la campagne » (POST) fige la liste."""
    departements = campaigns.campaign_departements(request.user)
    if not departements:
        raise Http404("Aucun Département")
    form = CriteriaForm(request.GET or None, departements=departements)
    name_form = CampaignNameForm(request.POST or None)
    preview = None
    if form.is_bound and form.is_valid():
        today = timezone.localdate()
        people = campaigns.select(
            campaigns.campaign_scope(request.user, form.selected_departement), form.criteria, today
        )
        if request.method == "POST" and name_form.is_valid():
            try:
                campaign = campaigns.create_campaign(
                    user=request.user,
                    departement=form.selected_departement,
                    name=name_form.cleaned_data["name"],
                    criteria=form.criteria,
                    today=today,
                )
            except ValidationError as error:
                for message in error.messages:
                    name_form.add_error(None, message)
            else:
                messages.success(
                    request,
                    f"Campagne « {campaign.name} » créée : liste de {campaign.members.count()} personne(s) figée.",
                )
                return redirect("orientation:campaign_detail", pk=campaign.pk)
        page = Paginator(campaigns.with_situation(people), PAGE_SIZE).get_page(request.GET.get("page"))
        preview = {"page": page, "criteria": form.criteria.describe()}
    return render(
        request,
        "orientation/campaigns/new.html",
        {
            "title": "Nouvelle campagne de reprise de contact",
            "form": form,
            "name_form": name_form,
            "preview": preview,
            "query": _query_without_page(request),
            "pathway_labels": dict(Pathway.choices),
        },
    )


@access(
    Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Campagne de reprise de contact : résultats"
)
@require_GET
def campaign_detail(request, pk):
    campaign = _campaign_or_404(request, pk)
    figures = campaigns.results([campaign])[campaign.pk]
    members = Paginator(campaigns.members_with_results(campaign), PAGE_SIZE).get_page(request.GET.get("page"))
    for member in members:
        member.flags = campaigns.member_flags(member)
    return render(
        request,
        "orientation/campaigns/detail.html",
        {
            "title": f"Campagne « {campaign.name} »",
            "campaign": campaign,
            "criteria": campaigns.criteria_of(campaign).describe(),
            "members": figures["members"],
            "results": campaigns.result_rows(figures),
            "result_labels": [label for _key, label, _kinds in campaigns.RESULTS],
            "gaps": campaigns.contact_gaps(campaign),
            "to_invite": campaigns.to_invite(campaign, request.user).count(),
            "invite_form": CampaignInviteForm(),
            "page": members,
            "query": _query_without_page(request),
        },
    )


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Campagne : invitation en nombre")
@require_POST
def campaign_invite(request, pk):
    campaign = _campaign_or_404(request, pk)
    form = CampaignInviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choisissez un canal d'invitation.")
        return redirect("orientation:campaign_detail", pk=campaign.pk)
    channel = form.cleaned_data["channel"]
    outcome = campaigns.invite_campaign(campaign, channel=channel, user=request.user)
    messages.success(request, outcome.summary)
    if outcome.missing_sample:
        names = ", ".join(p.full_name for p in outcome.missing_sample)
        more = outcome.missing - len(outcome.missing_sample)
        suffix = f" et {more} autre(s)" if more > 0 else ""
        messages.warning(
            request, f"Sans coordonnée pour le canal « {Channel(channel).label} » : {names}{suffix}."
        )
    for _person, reason in outcome.report.skipped:
        messages.warning(request, reason)
    for invitation, reason in outcome.report.failed:
        messages.error(request, f"{invitation.beneficiary.full_name} : {reason}")
    if channel == Channel.POSTAL and outcome.report.sent:
        ids = ",".join(str(i.pk) for i in outcome.report.sent)
        return redirect(reverse("orientation:letters") + "?ids=" + ids)
    return redirect("orientation:campaign_detail", pk=campaign.pk)


@access(
    Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Campagne : export nominatif (journalisé)"
)
@require_GET
def campaign_export(request, pk):
    """Liste nominative de la campagne et résultats de chaque personne (CSV) ; inscrite au journal d'accès."""
    campaign = _campaign_or_404(request, pk)
    members = campaigns.members_with_results(campaign)
    record_export(
        request,
        members.values_list("beneficiary_id", "beneficiary__departement_id"),
        reason=f"Export de la campagne de reprise de contact « {campaign.name} »",
    )
    header = ["nom", "prénom", "identifiant Département", "territoire", "courriel", "téléphone"]
    header += [label for _key, label, _kinds in campaigns.RESULTS]
    # Colonnes seules, lues en flux : une campagne sur le stock compte des dizaines de milliers de personnes.
    person = ["last_name", "first_name", "departement_internal_id", "territory__name", "email", "phone"]
    columns = members.values_list(
        *(f"beneficiary__{name}" for name in person), *(key for key, _label, _kinds in campaigns.RESULTS)
    )

    def rows():
        yield header
        for values in columns.iterator(chunk_size=2000):
            yield [*values[: len(person)], *("oui" if flag else "non" for flag in values[len(person) :])]

    return streaming_csv_response(rows(), f"campagne-{campaign.pk}.csv")


@access(Level.AUTHENTICATED, requires=ORIENTATION_TEAM, description="Résultats des campagnes (CSV agrégé)")
@require_GET
def campaign_results_export(request):
    """Résultats agrégés de chaque campagne (aucune ligne par personne)."""
    rows_ = list(campaigns.visible_campaigns(request.user).select_related("departement"))
    figures = campaigns.results(rows_)
    names = _territory_names(rows_)

    def rows():
        yield [
            "campagne",
            "Département",
            "créée le",
            "critères",
            "personnes",
            *(label for _key, label, _kinds in campaigns.RESULTS),
        ]
        for c in rows_:
            result = figures[c.pk]
            yield [
                c.name,
                c.departement.name,
                c.created_on.isoformat(),
                " ; ".join(campaigns.criteria_of(c).describe(names)),
                result["members"],
                *(result[key] for key, _label, _kinds in campaigns.RESULTS),
            ]

    return streaming_csv_response(rows(), "campagnes-reprise-de-contact.csv")
