"""Connexion des agents, avec limitation des tentatives.

Après ``PARCOURS_LOGIN_MAX_ATTEMPTS`` échecs pour une même adresse électronique (ou depuis une même
adresse IP), la connexion est refusée pendant ``PARCOURS_LOGIN_LOCK_SECONDS`` secondes, même avec le bon
mot de passe : un message en français l'explique sans dire si le compte existe.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache

LOCKED_MESSAGE = (
    "Trop de tentatives de connexion échouées. Pour protéger les comptes, la connexion est bloquée "
    "pendant {minutes} minutes. Réessayez plus tard ou contactez votre administrateur."
)


def _keys(request, username):
    ip = request.META.get("REMOTE_ADDR") or "inconnue"
    digest = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    return [f"parcours:login:user:{digest}", f"parcours:login:ip:{ip}"]


def _limits():
    return (
        int(getattr(settings, "PARCOURS_LOGIN_MAX_ATTEMPTS", 5)),
        int(getattr(settings, "PARCOURS_LOGIN_LOCK_SECONDS", 900)),
    )


def is_locked(request, username):
    max_attempts, _ = _limits()
    user_key, ip_key = _keys(request, username)
    return cache.get(user_key, 0) >= max_attempts or cache.get(ip_key, 0) >= max_attempts * 4


def record_failure(request, username):
    _, lock_seconds = _limits()
    for key in _keys(request, username):
        if cache.add(key, 1, lock_seconds):
            continue
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, lock_seconds)


def clear_failures(request, username):
    cache.delete(_keys(request, username)[0])


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from parcours.accounts.oidc import oidc_enabled

        return super().get_context_data(oidc_enabled=oidc_enabled(), **kwargs)

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if is_locked(request, username):
            form = self.get_form()
            form.errors.clear()
            _, lock_seconds = _limits()
            return self.render_to_response(
                self.get_context_data(
                    form=form, locked_message=LOCKED_MESSAGE.format(minutes=lock_seconds // 60)
                ),
                status=429,
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        clear_failures(self.request, self.request.POST.get("username", ""))
        return super().form_valid(form)
