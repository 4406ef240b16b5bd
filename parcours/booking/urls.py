from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("agenda/", views.agenda, name="agenda"),
    path("agenda.ics", views.agenda_ics, name="agenda_ics"),
    path("plages/", views.openings, name="openings"),
    path("plages/<int:pk>/publication/", views.opening_toggle, name="opening_toggle"),
    path("fermetures/<int:pk>/suppression/", views.closure_delete, name="closure_delete"),
]
