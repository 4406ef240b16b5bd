from django.urls import path

from . import views

app_name = "employers"

urlpatterns = [
    path("", views.employer_list, name="list"),
    path("nouveau/", views.employer_create, name="create"),
    path("<int:pk>/", views.employer_detail, name="detail"),
    path("offres/", views.offer_list, name="offers"),
    path("offres/importer/", views.offer_import, name="offer_import"),
    path("offres/<int:pk>/", views.offer_detail, name="offer"),
    path("personnes/<int:beneficiary_id>/", views.person_employment, name="person"),
    path(
        "personnes/<int:beneficiary_id>/immersions/<int:pk>/bilan/",
        views.immersion_outcome,
        name="immersion_outcome",
    ),
]
