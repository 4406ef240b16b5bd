from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from parcours.api.main import api
from parcours.www.views import core as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("", core_views.home, name="home"),
    path("connexion/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("parcours.www.urls")),
    path("conventions/", include("parcours.conventions.urls")),
    path("catalogue/", include("parcours.catalogue.urls")),
    path("accompagnement/", include("parcours.accompaniment.urls")),
    path("orientation/", include("parcours.orientation.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
