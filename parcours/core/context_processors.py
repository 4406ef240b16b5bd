from types import SimpleNamespace

from django.conf import settings
from django.urls import NoReverseMatch, resolve, reverse

from .access import policy_of

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


# Navigation principale : (libellé, nom de l'URL). Une page ajoutée au site s'inscrit ici ; le menu ne montre
# à l'agent que les pages dont il passe la déclaration d'accès (``@access``, niveau et capacité) : aucune
# entrée ne mène à un refus. Sans appartenance active (personne accompagnée, compte sans organisation), le
# menu se réduit à l'accueil (``AGENT_PAGES`` : pages de travail des agents).
MAIN_NAV = [
    ("Accueil", "home"),
    ("Bénéficiaires", "beneficiary_list"),
    ("Imports de flux", "import_list"),
    ("Orientation", "orientation:queues"),
    ("Catalogue", "catalogue:search"),
    ("Employeurs", "employers:list"),
    ("Pilotage", "indicators:dashboard"),
    ("Conventions", "conventions:list"),
    ("Comités", "governance:list"),
    ("Journal d'accès", "audit:list"),
]
PUBLIC_PAGES = frozenset({"home"})
# Pages qui font partie de l'accueil (l'entrée « Accueil » du menu y est marquée).
HOME_PAGES = frozenset({"home", "home_scope"})


def _entries():
    """(libellé, nom, adresse, déclaration d'accès) de chaque entrée du menu (résolues une fois)."""
    entries = []
    for label, name in MAIN_NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        entries.append((label, name, url, policy_of(resolve(url).func)))
    return entries


def nav_entries_for(user):
    """Les entrées du menu que ``user`` peut ouvrir : (libellé, adresse)."""
    from .access import has_active_membership

    if user is None or not user.is_authenticated:
        return []
    agent = has_active_membership(user)
    return [
        (label, url)
        for label, name, url, policy in _entries()
        if (agent or name in PUBLIC_PAGES) and policy is not None and policy.allows(user)
    ]


def navigation(request):
    """Menu principal de base.html : liste de {label, url, active} (appartenances gardées pour la requête,
    aucune autre requête SQL)."""
    user = getattr(request, "user", None)
    path = request.path
    page = getattr(getattr(request, "resolver_match", None), "url_name", None)
    items = []
    for label, url in nav_entries_for(user):
        active = (path == url or page in HOME_PAGES) if url == "/" else path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return {"main_nav": items}
