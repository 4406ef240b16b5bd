from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.http import require_GET, require_http_methods

from parcours.accounts import oidc
from parcours.accounts.views import ThrottledLoginView, admin_login, person_link_login, person_link_request
from parcours.api.main import api
from parcours.booking import views as booking_views
from parcours.core.access import Level, declare
from parcours.www.views import core as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("", core_views.home, name="home"),
    path("accueil/perimetre/", core_views.home_scope, name="home_scope"),
    path(
        "connexion/",
        declare(ThrottledLoginView.as_view(), Level.PUBLIC, "Connexion (tentatives limitées)"),
        name="login",
    ),
    path(
        "connexion/personne/",
        declare(
            require_http_methods(["GET", "POST"])(person_link_request), Level.PUBLIC, "Lien de connexion"
        ),
        name="person_link",
    ),
    path(
        "connexion/personne/<str:token>/",
        declare(require_GET(person_link_login), Level.PUBLIC, "Connexion par lien (jeton signé)"),
        name="person_link_login",
    ),
    path("connexion/proconnect/", oidc.oidc_login, name="oidc_login"),
    path("connexion/proconnect/retour/", oidc.oidc_callback, name="oidc_callback"),
    path(
        "deconnexion/", declare(auth_views.LogoutView.as_view(), Level.PUBLIC, "Déconnexion"), name="logout"
    ),
    path("", include("parcours.www.urls")),
    path("conventions/", include("parcours.conventions.urls")),
    path("comites/", include("parcours.governance.urls")),
    path("employeurs/", include("parcours.employers.urls")),
    path("catalogue/", include("parcours.catalogue.urls")),
    path("accompagnement/", include("parcours.accompaniment.urls")),
    path("orientation/", include("parcours.orientation.urls")),
    path("rendez-vous/", include("parcours.booking.urls")),
    path("rdv/<str:token>", booking_views.booking_link, name="booking_link"),
    path("pilotage/", include("parcours.indicators.urls")),
    path("journal-acces/", include("parcours.audit.urls")),
    path("api/v1/", api.urls),
    # La connexion de l'administration passe par la page commune (tentatives limitées, ProConnect).
    path(
        "admin/login/",
        declare(require_GET(admin_login), Level.PUBLIC, "Connexion à l'administration (renvoi)"),
        name="admin_login",
    ),
    path("admin/", admin.site.urls),
]
