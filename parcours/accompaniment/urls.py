from django.urls import path

from . import views

app_name = "accompaniment"

urlpatterns = [
    path("beneficiaires/<int:pk>/diagnostic/", views.diagnostic_detail, name="diagnostic"),
    path(
        "beneficiaires/<int:pk>/diagnostic/version-<int:number>/",
        views.diagnostic_detail,
        name="diagnostic_version",
    ),
    path("beneficiaires/<int:pk>/diagnostic/modifier/", views.diagnostic_edit, name="diagnostic_edit"),
    path("beneficiaires/<int:pk>/contrats/", views.contract_list, name="contract_list"),
    path("beneficiaires/<int:pk>/contrats/nouveau/", views.contract_new, name="contract_new"),
    path("contrats/en-retard/", views.late_contracts, name="late_contracts"),
    path("contrats/<int:contract_pk>/", views.contract_detail, name="contract_detail"),
    path("contrats/<int:contract_pk>/modifier/", views.contract_edit, name="contract_edit"),
    path("contrats/<int:contract_pk>/statut/", views.contract_transition, name="contract_transition"),
    path("contrats/<int:contract_pk>/imprimer/", views.contract_print, name="contract_print"),
]
