"""API HTTP de Parcours, versionnée sous ``/api/v1/`` (document OpenAPI : ``/api/v1/openapi.json``).

Authentification par session Django pour l'instant (``django_auth``). Toute erreur est renvoyée en JSON
``{"code": "…", "message": "…"}`` : ``code`` est stable et lisible par une machine, ``message`` est en
français. Chaque domaine ajoute son routeur ici.
"""

import threading

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.security import django_auth
from ninja.throttling import SimpleRateThrottle

from parcours.core import throttle
from parcours.core.clientip import client_ip


class _SharedRate(SimpleRateThrottle):
    """Débit lu dans les réglages à chaque requête (PARCOURS_API_RATES, modifiable sans redémarrer),
    compté en base (``parcours.core.throttle``, incrément atomique) : tous les processus et serveurs web
    comptent ensemble, contrairement au cache local de django-ninja. Fenêtre fixe par clé, qui commence
    à la première requête. L'adresse est celle du client derrière le mandataire (``client_ip``)."""

    _last = threading.local()  # une instance sert toutes les requêtes : le dernier refus, par fil

    def __init__(self):
        pass  # débit lu à chaque requête

    def key(self, request):
        raise NotImplementedError

    def allow_request(self, request):
        value = self.key(request)
        if value is None:
            return True
        self.num_requests, self.duration = self.parse_rate(settings.PARCOURS_API_RATES[self.scope])
        hit = throttle.hit(f"api:{self.scope}", value, limit=self.num_requests, window=self.duration)
        self._last.hit = hit
        return hit.allowed

    def wait(self):
        hit = getattr(self._last, "hit", None)
        return float(hit.retry_after) if hit is not None else None


def _auth_ident(request):
    auth = getattr(request, "auth", None)
    if auth is None:
        return None
    return f"{type(auth).__name__}:{getattr(auth, 'pk', None) or auth}"


class AnonymousRate(_SharedRate):
    """Appels anonymes : par adresse IP."""

    scope = "anon"

    def key(self, request):
        return None if _auth_ident(request) is not None else f"ip:{client_ip(request)}"


class AuthenticatedRate(_SharedRate):
    """Appels authentifiés : par session ou jeton (par adresse IP pour un appel anonyme)."""

    scope = "auth"

    def key(self, request):
        return _auth_ident(request) or f"ip:{client_ip(request)}"


api = NinjaAPI(
    title="API Parcours",
    version="1",
    description="Accompagnement rénové des allocataires du RSA. Erreurs : {code, message} en français.",
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=django_auth,
    throttle=[AnonymousRate(), AuthenticatedRate()],
)

_CODES = {
    400: "requete_invalide",
    401: "authentification_requise",
    403: "acces_refuse",
    404: "introuvable",
    405: "methode_non_autorisee",
    409: "conflit",
    422: "parametres_invalides",
}


def error_response(request, status, code, message, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    details = [
        {"champ": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors
    ]
    return error_response(request, 422, "parametres_invalides", "Paramètres invalides.", details=details)


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(request, 401, "authentification_requise", "Authentification requise.")


@api.exception_handler(AuthorizationError)
def _authorization_error(request, exc):
    return error_response(request, 403, "acces_refuse", "Accès refusé.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "introuvable", "Ressource introuvable.")


@api.exception_handler(Throttled)
def _throttled(request, exc):
    response = error_response(
        request,
        429,
        "trop_de_requetes",
        "Trop de requêtes : le débit autorisé est dépassé, réessayez dans quelques instants.",
    )
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


@api.exception_handler(HttpError)
def _http_error(request, exc):
    status = exc.status_code
    return error_response(request, status, _CODES.get(status, "erreur"), str(exc))


from parcours.catalogue.api import router as catalogue_router  # noqa: E402

api.add_router("/catalogue/", catalogue_router)

from parcours.interop.api import router as interop_router  # noqa: E402

api.add_router("/interop/", interop_router)
