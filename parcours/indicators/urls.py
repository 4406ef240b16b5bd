from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("indicateurs.csv", views.export_csv, name="export_csv"),
    path("indicateurs.xlsx", views.export_xlsx, name="export_xlsx"),
    path("territoires.csv", views.export_territories, name="export_territories"),
]
