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


# --- Personnes accompagnées : connexion par lien envoyé par courriel -------------------------------------

PERSON_LINK_SALT = "parcours.connexion-personne"
LINK_SENT = (
    "Si un espace personnel existe pour cette adresse, un lien de connexion vient de lui être envoyé. "
    "Il est valable {minutes} minutes et ne sert qu'une fois."
)
LINK_INVALID = (
    "Ce lien de connexion n'est plus valable (déjà utilisé ou trop ancien). Demandez-en un nouveau."
)


def _link_minutes():
    return int(getattr(settings, "PARCOURS_PERSON_LINK_MINUTES", 15))


def _link_state(user):
    # Le lien ne vaut plus rien dès que la personne s'est connectée (last_login change) : usage unique.
    return f"{user.pk}:{int(user.last_login.timestamp()) if user.last_login else 0}"


def make_person_link_token(user):
    from django.core import signing

    return signing.TimestampSigner(salt=PERSON_LINK_SALT).sign(_link_state(user))


def user_from_person_link(token):
    from django.contrib.auth import get_user_model
    from django.core import signing

    try:
        state = signing.TimestampSigner(salt=PERSON_LINK_SALT).unsign(token, max_age=_link_minutes() * 60)
    except signing.BadSignature:
        return None
    user = get_user_model().objects.filter(pk=state.split(":", 1)[0], is_active=True).first()
    if user is None or _link_state(user) != state or not hasattr(user, "person_account"):
        return None
    return user


def person_link_request(request):
    """Formulaire « Recevoir un lien de connexion » : même réponse que l'adresse soit connue ou non."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail
    from django.shortcuts import render
    from django.urls import reverse

    context = {"title": "Connexion à mon espace", "minutes": _link_minutes()}
    if request.method == "POST":
        email = (request.POST.get("email") or "").strip()
        if is_locked(request, email):
            _, lock_seconds = _limits()
            context["error"] = LOCKED_MESSAGE.format(minutes=lock_seconds // 60)
            return render(request, "registration/person_link.html", context, status=429)
        record_failure(request, email)  # chaque demande compte : pas d'envoi de courriels en rafale
        user = (
            get_user_model()
            .objects.filter(email__iexact=email, is_active=True, person_account__isnull=False)
            .first()
        )
        if user is not None:
            link = request.build_absolute_uri(
                reverse("person_link_login", args=[make_person_link_token(user)])
            )
            send_mail(
                "Votre lien de connexion à Parcours",
                f"Bonjour,\n\nPour ouvrir votre espace personnel, suivez ce lien (valable {_link_minutes()} "
                f"minutes, une seule fois) :\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message.",
                None,
                [user.email],
            )
        context["sent"] = LINK_SENT.format(minutes=_link_minutes())
    return render(request, "registration/person_link.html", context)


def person_link_login(request, token):
    from django.contrib.auth import login
    from django.shortcuts import redirect, render

    user = user_from_person_link(token)
    if user is None:
        return render(
            request,
            "registration/person_link.html",
            {"title": "Connexion à mon espace", "error": LINK_INVALID, "minutes": _link_minutes()},
            status=400,
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("accompaniment:my_space")
