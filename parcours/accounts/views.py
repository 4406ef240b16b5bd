"""Connexion des agents, avec limitation des tentatives.

Chaque tentative est comptée **avant** le contrôle du mot de passe, par un compteur en base partagé par
tous les processus et serveurs (``parcours.core.throttle`` : incrément atomique, puis refus au-delà de la
limite) : N mots de passe envoyés en parallèle ne sont jamais tous essayés, seuls les premiers jusqu'à la
limite le sont. Deux compteurs séparés :

- **par compte** (adresse électronique saisie) : au plus ``PARCOURS_LOGIN_MAX_ATTEMPTS`` (5) tentatives
  par fenêtre de ``PARCOURS_LOGIN_LOCK_SECONDS`` (15 min) ; une connexion réussie remet le compteur à zéro ;
- **par adresse IP** du client (``parcours.core.clientip``) : ``PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS``
  (50), limite haute car les agents d'un même site sortent souvent par une seule adresse ; une connexion
  réussie rend sa tentative. Cette limite ne freine que l'adresse concernée.

Au-delà, la connexion est refusée (429, message en français, sans dire si le compte existe), même avec le
bon mot de passe. Une tentative refusée par la limite du compte ne compte pas contre l'adresse.

Compromis assumé : quelqu'un qui essaie des mots de passe sur le compte A bloque la connexion par mot de
passe **de ce seul compte** pendant la fenêtre, d'où qu'elle vienne (c'est ce qui protège le compte d'une
attaque répartie sur de nombreuses adresses) ; le compte B, depuis une autre adresse, n'est jamais gêné,
et l'agent A peut toujours se connecter par ProConnect. Le lien de connexion des personnes accompagnées a
ses propres compteurs : il ne bloque jamais la connexion des agents.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views

from parcours.core import throttle
from parcours.core.clientip import client_ip

LOCKED_MESSAGE = (
    "Trop de tentatives de connexion échouées. Pour protéger les comptes, la connexion est bloquée "
    "pendant {minutes} minutes. Réessayez plus tard ou contactez votre administrateur."
)
LOGIN_ACCOUNT = "login:account"
LOGIN_ADDRESS = "login:address"
LINK_ACCOUNT = "person-link:account"
LINK_ADDRESS = "person-link:address"


def _account(username):
    return (username or "").strip().lower()


def _address(request):
    return client_ip(request) or "inconnue"


def _limits():
    return (
        int(getattr(settings, "PARCOURS_LOGIN_MAX_ATTEMPTS", 5)),
        int(getattr(settings, "PARCOURS_LOGIN_LOCK_SECONDS", 900)),
    )


def _address_limit():
    return int(getattr(settings, "PARCOURS_LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 50))


def reserve_attempt(request, username, *, account_scope=LOGIN_ACCOUNT, address_scope=LOGIN_ADDRESS):
    """Compte une tentative pour l'adresse puis pour le compte ; renvoie le ``Hit`` refusé, ou ``None``
    si la tentative peut être faite. Refusée par le compte, la tentative est rendue à l'adresse."""
    max_attempts, window = _limits()
    address = throttle.hit(address_scope, _address(request), limit=_address_limit(), window=window)
    if not address.allowed:
        return address
    account = throttle.hit(account_scope, _account(username), limit=max_attempts, window=window)
    if not account.allowed:
        throttle.release(address_scope, _address(request))
        return account
    return None


def login_succeeded(request, username):
    throttle.reset(LOGIN_ACCOUNT, _account(username))
    throttle.release(LOGIN_ADDRESS, _address(request))


def _locked_message():
    _, window = _limits()
    return LOCKED_MESSAGE.format(minutes=max(1, window // 60))


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from parcours.accounts.oidc import oidc_enabled

        return super().get_context_data(oidc_enabled=oidc_enabled(), **kwargs)

    def post(self, request, *args, **kwargs):
        refused = reserve_attempt(request, request.POST.get("username", ""))
        if refused is not None:
            # Formulaire non lié : un formulaire lié vérifierait le mot de passe en calculant ses erreurs.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            response = self.render_to_response(
                self.get_context_data(form=form, locked_message=_locked_message()), status=429
            )
            response["Retry-After"] = str(refused.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        login_succeeded(self.request, self.request.POST.get("username", ""))
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


def admin_login(request):
    """L'administration de Django n'a pas sa propre connexion : renvoi vers la page commune, dont les
    tentatives sont limitées (sa propre page ne l'était pas), en gardant la page demandée."""
    from django.shortcuts import redirect
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme, urlencode

    target = request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/admin/"
    return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


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
        # Chaque demande compte (pas d'envoi de courriels en rafale), dans des compteurs propres au lien :
        # ils ne bloquent jamais la connexion des agents.
        refused = reserve_attempt(request, email, account_scope=LINK_ACCOUNT, address_scope=LINK_ADDRESS)
        if refused is not None:
            context["error"] = _locked_message()
            response = render(request, "registration/person_link.html", context, status=429)
            response["Retry-After"] = str(refused.retry_after)
            return response
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
