from django.urls import path

from . import views, views_map

app_name = "catalogue"

urlpatterns = [
    path("", views.search_view, name="search"),
    path("services/<int:pk>/", views.service_detail, name="service_detail"),
    path("services/<int:pk>/modifier/", views.service_edit, name="service_edit"),
    path("services/<int:pk>/donnees-internes/", views.local_data_edit, name="local_data_edit"),
    path("services/<int:pk>/prescrire/", views.prescribe, name="prescribe"),
    path("services/<int:pk>/financements/", views_map.service_financings, name="service_financings"),
    path(
        "services/<int:pk>/financements/<int:financing_pk>/",
        views_map.service_financings,
        name="service_financing_edit",
    ),
    path("financements/<int:pk>/supprimer/", views_map.financing_delete, name="financing_delete"),
    path("cartographie/", views_map.offer_table, name="offer_map"),
    path("cartographie/carte/", views_map.offer_svg_map, name="offer_svg_map"),
    path("cartographie/export.<str:fmt>", views_map.offer_export, name="offer_export"),
    path("structures/nouvelle/", views.structure_edit, name="structure_create"),
    path("structures/<int:pk>/modifier/", views.structure_edit, name="structure_edit"),
    path("structures/<int:structure_pk>/services/nouveau/", views.service_edit, name="service_create"),
    path("prescriptions/", views.prescription_list, name="prescription_list"),
    path("prescriptions/<int:pk>/", views.prescription_detail, name="prescription_detail"),
    path("reponse/<str:token>/", views.answer, name="answer"),
    path("espace-structure/", views.structure_space, name="structure_space"),
    path(
        "espace-structure/prescriptions/<int:pk>/", views.received_prescription, name="received_prescription"
    ),
]
