"""Identifiant de requête, journal d'accès et mesures de chaque requête (premier intergiciel).

L'identifiant vient de l'en-tête ``X-Request-ID`` posé par le mandataire inverse s'il est un jeton sain
(lettres, chiffres, ``.``, ``_``, ``:``, ``-`` ; 128 caractères au plus), sinon il est tiré au hasard. Il est
renvoyé dans la réponse et porté par chaque ligne de journal écrite pendant la requête.

Le journal d'accès (``parcours.access``, niveau INFO) écrit une ligne par requête : méthode, chemin sans
paramètres, statut, durée, identifiant de requête et numéro de l'utilisateur s'il est connu — jamais un
nom, un paramètre de recherche ni un NIR.
"""

import logging
import re
import time
import uuid

from django.core.signals import request_finished
from django.utils.functional import empty

from . import metrics
from .logs import request_id_var

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

access_logger = logging.getLogger("parcours.access")


def incoming_request_id(request):
    value = request.headers.get(HEADER, "").strip()
    return value if _SANE.fullmatch(value) else uuid.uuid4().hex


def _user_id(request):
    """Numéro de l'utilisateur si la requête l'a déjà chargé (pas de requête en base de plus)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


def route_of(request):
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    from django.conf import settings

    static_url = "/" + settings.STATIC_URL.lstrip("/") if settings.STATIC_URL else None
    if static_url and request.path.startswith(static_url):
        return "static"
    return "unmatched"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = incoming_request_id(request)
        request.request_id = request_id
        # Effacé à la fin de la réponse (signal request_finished) et non au retour de l'intergiciel : les
        # avertissements de Django sur la réponse (« Not Found: … ») portent encore l'identifiant.
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response[HEADER] = request_id
            return response
        finally:
            duration = time.perf_counter() - started
            route = route_of(request)
            metrics.observe_request(route, status, duration)
            access_logger.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                status,
                duration * 1000,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                    "user_id": _user_id(request),
                },
            )


def _forget_request_id(**kwargs):
    request_id_var.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="parcours.core.requestid")
