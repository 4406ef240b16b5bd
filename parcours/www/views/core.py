from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parcours.accounts.roles import PEOPLE_FOLLOWER, memberships_of
from parcours.core import metrics as core_metrics
from parcours.core.access import Level, access


@access(Level.PUBLIC, description="Sonde de disponibilité")
@require_GET
@never_cache
def healthz(request):
    """Sonde de disponibilité : base, clé des NIR, file des tâches de fond (parcours.www.health)."""
    from parcours.www.health import health

    status, report = health()
    return JsonResponse(report, status=status, json_dumps_params={"ensure_ascii": False})


@access(Level.PUBLIC, description="Mesures Prometheus (jeton PARCOURS_METRICS_TOKEN exigé)")
@require_GET
@never_cache
def metrics(request):
    """Mesures au format Prometheus, derrière le jeton ``PARCOURS_METRICS_TOKEN`` (absent : 404)."""
    refused = core_metrics.token_status(request, settings.PARCOURS_METRICS_TOKEN)
    if refused == 404:
        return HttpResponse("Page introuvable.\n", status=404, content_type="text/plain; charset=utf-8")
    if refused is not None:
        response = HttpResponse(
            "Jeton d'accès aux mesures absent ou incorrect.\n",
            status=refused,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from parcours.www.health import DatabaseCollector

    return HttpResponse(core_metrics.render([DatabaseCollector()]), content_type=core_metrics.CONTENT_TYPE)


@access(Level.AUTHENTICATED, description="Accueil")
def home(request):
    from parcours.accompaniment.person_space import person_for
    from parcours.www.home import home_blocks, roles_of

    if person_for(request.user) is not None:
        return redirect("accompaniment:my_space")  # une personne accompagnée : son espace
    # La journée de l'agent, bloc par rôle (``parcours.www.home``). Les compteurs du périmètre, pour qui voit
    # des personnes, viennent après la page (``home_scope``, chargé par htmx) : la journée s'affiche sans
    # attendre les comptes de tout le périmètre.
    memberships = memberships_of(request.user)
    context = {
        "title": "Accueil",
        "blocks": home_blocks(request.user),
        "memberships": memberships,
        "no_scope": not memberships and not request.user.is_superuser,
        "show_scope": roles_of(request.user).people,
    }
    return render(request, "www/home.html", context)


@access(Level.AGENT, requires=PEOPLE_FOLLOWER, description="Accueil : compteurs du périmètre")
@require_GET
def home_scope(request):
    """Le bloc « Votre périmètre » de l'accueil (fragment chargé par la page ; page à part sans JavaScript)."""
    from parcours.www.home import scope_tiles

    counts, tiles = scope_tiles(request.user)
    context = {"title": "Votre périmètre", "counts": counts, "tiles": tiles}
    template = "www/home/_scope.html" if request.htmx else "www/home_scope.html"
    return render(request, template, context)
