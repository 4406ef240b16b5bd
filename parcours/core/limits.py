"""Taille des requêtes, vérifiée sur l'en-tête ``Content-Length`` avant toute lecture du corps.

Sans ce contrôle, Django écrit le corps d'un envoi de fichiers sur disque (``/tmp``) avant que la vue ne
refuse quoi que ce soit : un envoi anonyme de 600 Mo sur ``/connexion/`` remplissait le disque. Le
middleware ``RequestSizeLimitMiddleware`` (placé juste après ``SecurityMiddleware``) répond 413 sans lire
le corps :

- toute route : au plus ``PARCOURS_MAX_REQUEST_BYTES`` (1 Mo par défaut) ;
- les seules pages de dépôt de fichier, déclarées dans ``PARCOURS_UPLOAD_ROUTES`` (nom de route, avec
  son espace de noms, → plafond en octets ou nom du réglage qui le donne, ex.
  ``PARCOURS_IMPORT_MAX_UPLOAD_BYTES``) : leur plafond, **pour un utilisateur connecté seulement** (un
  envoi anonyme garde le plafond commun : aucun fichier n'est écrit sur disque pour un inconnu) ;
- un corps « chunked » sans ``Content-Length`` est refusé (411) : Django ne le lirait pas de toute façon.

Réponse en JSON ``{code, message}`` pour ``/api/`` et ``/interop/``, en page HTML sinon ; message en
français. Servi en ASGI, le corps serait lu par le serveur avant Django : Parcours est servi en WSGI.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils.html import escape

DEFAULT_MAX_BYTES = 1024 * 1024
JSON_PREFIXES = ("/api/", "/interop/")

TOO_LARGE = (
    "La requête est trop volumineuse ({size}) : {limit} au plus sur cette page. Les fichiers ne peuvent "
    "être déposés que sur les pages d'import, par un agent connecté."
)
LENGTH_REQUIRED = "La requête doit indiquer sa taille (en-tête Content-Length) : envoi par morceaux refusé."


def default_limit():
    return int(getattr(settings, "PARCOURS_MAX_REQUEST_BYTES", DEFAULT_MAX_BYTES))


def _cap(value):
    if isinstance(value, str):
        value = getattr(settings, value)
    return int(value)


def upload_limit(view_name):
    """Plafond déclaré d'une page de dépôt (``None`` si la route n'accepte pas de fichiers)."""
    routes = getattr(settings, "PARCOURS_UPLOAD_ROUTES", {}) or {}
    return _cap(routes[view_name]) if view_name in routes else None


def _view_name(request):
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None)).view_name
    except Resolver404:
        return None


def content_length(request):
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except (TypeError, ValueError):
        return 0


def _refuse(request, status, message, code):
    if request.path_info.startswith(JSON_PREFIXES):
        response = JsonResponse({"code": code, "message": message}, status=status)
    else:
        title = "Requête trop volumineuse" if status == 413 else "Taille de la requête requise"
        response = HttpResponse(
            f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><main><h1>{title}</h1><p>{escape(message)}</p></main></body></html>",
            status=status,
            content_type="text/html; charset=utf-8",
        )
    response["Connection"] = "close"  # le reste du corps n'est pas lu
    return response


def too_large(request, size, limit):
    message = TOO_LARGE.format(size=filesizeformat(size), limit=filesizeformat(limit))
    return _refuse(request, 413, message, "requete_trop_volumineuse")


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        size = content_length(request)
        if not request.META.get("CONTENT_LENGTH") and "chunked" in (
            request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            return _refuse(request, 411, LENGTH_REQUIRED, "longueur_requise")
        limit = default_limit()
        if size > limit:
            upload = upload_limit(_view_name(request))
            if upload is None or size > max(upload, limit):
                return too_large(request, size, max(upload or 0, limit))
            request._parcours_upload_size = size  # plafond de dépôt : vérifié après l'authentification
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Appelé après l'authentification et avant CsrfViewMiddleware (qui lirait le corps).
        size = getattr(request, "_parcours_upload_size", None)
        if size is not None and not getattr(getattr(request, "user", None), "is_authenticated", False):
            return too_large(request, size, default_limit())
        return None
