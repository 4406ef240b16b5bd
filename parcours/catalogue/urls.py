from django.urls import path

from . import views

app_name = "catalogue"

urlpatterns = [
    path("", views.search_view, name="search"),
    path("services/<int:pk>/", views.service_detail, name="service_detail"),
    path("services/<int:pk>/modifier/", views.service_edit, name="service_edit"),
    path("services/<int:pk>/donnees-internes/", views.local_data_edit, name="local_data_edit"),
    path("services/<int:pk>/prescrire/", views.prescribe, name="prescribe"),
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
