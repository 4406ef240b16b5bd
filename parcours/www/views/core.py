from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parcours.core.access import Level, access


@access(Level.PUBLIC, description="Sonde de disponibilité")
@require_GET
@never_cache
def healthz(request):
    """Sonde de disponibilité : l'application répond et la base de données aussi."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - la sonde doit répondre même si la base est tombée
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@access(Level.AUTHENTICATED, description="Accueil")
def home(request):
    from parcours.accompaniment.person_space import person_for

    if person_for(request.user) is not None:
        return redirect("accompaniment:my_space")  # une personne accompagnée : son espace
    return render(request, "www/home.html", {"title": "Accueil"})
