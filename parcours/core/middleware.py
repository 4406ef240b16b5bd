"""En-têtes de sécurité communs à toutes les réponses.

La politique de sécurité du contenu (CSP) n'autorise que les scripts servis par Parcours : aucun script
en ligne ni gestionnaire ``onclick`` (voir ``parcours/parcours.js`` pour l'impression et l'envoi
automatique des formulaires). Les styles en ligne restent permis (feuilles d'impression des courriers).
"""

from django.conf import settings

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = getattr(settings, "PARCOURS_CSP", DEFAULT_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        if self.csp and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.csp
        response.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=(), payment=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            # Pages personnelles : jamais en cache partagé ni conservées par le navigateur.
            response.setdefault("Cache-Control", "no-store, private")
        return response
