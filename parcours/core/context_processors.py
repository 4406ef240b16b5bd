from types import SimpleNamespace

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

_SITE = SimpleNamespace(
    site_title=settings.SITE_TITLE,
    site_tagline=settings.SITE_TAGLINE,
    header_brand_html="République<br />française",
    footer_brand_html="République<br />française",
    beta_tag=True,
    mourning=False,
    notice_title="",
    notice_description="",
    footer_description="Parcours — système d'information de l'accompagnement des allocataires du RSA.",
)


def site(request):
    """Configuration DSFR statique (évite une requête SQL par page, contrairement au modèle DsfrConfig)."""
    return {"SITE_CONFIG": _SITE}


# Navigation principale : (libellé, nom de l'URL). Une page ajoutée au site s'inscrit ici.
MAIN_NAV = [
    ("Accueil", "home"),
    ("Bénéficiaires", "beneficiary_list"),
    ("Imports de flux", "import_list"),
    ("Orientation", "orientation:queues"),
    ("Catalogue", "catalogue:search"),
    ("Pilotage", "indicators:dashboard"),
    ("Conventions", "conventions:list"),
]


def navigation(request):
    """Menu principal de base.html : liste de {label, url, active} (aucune requête SQL)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"main_nav": []}
    path = request.path
    items = []
    for label, name in MAIN_NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return {"main_nav": items}


def home_dashboard(request):
    """Compteurs et derniers imports de la page d'accueil, calculés seulement si la page les affiche."""
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or match.url_name != "home" or user is None or not user.is_authenticated:
        return {}
    from parcours.www.views.beneficiaries import dashboard_context

    return {"dashboard": SimpleLazyObject(lambda: dashboard_context(request))}
