"""Connexion des agents par ProConnect (fédération d'identité de l'État, OpenID Connect).

Activée dès que ``OIDC_RP_CLIENT_ID`` est fourni (variables d'environnement, voir ``settings.py``).
Aucun compte n'est créé à la volée : l'agent doit avoir été déclaré par un administrateur (adresse
électronique identique à celle que renvoie ProConnect) ; sinon la connexion est refusée avec un message.
Les comptes locaux (mot de passe) restent possibles pour les petits partenaires.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from parcours.core.access import Level, declare

UNKNOWN_AGENT = (
    "Votre identité ProConnect est valide, mais aucun compte Parcours n'est ouvert pour l'adresse {email}. "
    "Demandez à l'administrateur de votre organisation de vous déclarer."
)


def oidc_enabled():
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


class AgentOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims):
        email = (claims.get("email") or "").strip()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email, is_active=True)

    def create_user(self, claims):
        if self.request is not None:
            messages.error(self.request, UNKNOWN_AGENT.format(email=claims.get("email", "?")))
        return None

    def update_user(self, user, claims):
        changed = []
        for field, claim in (("first_name", "given_name"), ("last_name", "usual_name")):
            value = (claims.get(claim) or "").strip()
            if value and getattr(user, field) != value:
                setattr(user, field, value)
                changed.append(field)
        if changed:
            user.save(update_fields=changed)
        return user


def _only_when_enabled(view):
    def wrapped(request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404("Connexion ProConnect non configurée.")
        return view(request, *args, **kwargs)

    return wrapped


oidc_login = declare(
    _only_when_enabled(OIDCAuthenticationRequestView.as_view()), Level.PUBLIC, "Redirection vers ProConnect"
)
oidc_callback = declare(
    _only_when_enabled(OIDCAuthenticationCallbackView.as_view()), Level.PUBLIC, "Retour de ProConnect"
)
