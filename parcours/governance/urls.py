from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("", views.committee_list, name="list"),
    path("<int:pk>/", views.committee_detail, name="committee"),
    path("reunions/<int:pk>/", views.meeting_detail, name="meeting"),
    path("reunions/<int:pk>/ordre-du-jour/", views.agenda_add, name="agenda_add"),
    path("reunions/<int:pk>/presents/", views.presence, name="presence"),
    path("reunions/<int:pk>/decisions/", views.decision_add, name="decision_add"),
    path("reunions/<int:pk>/decisions/<int:decision_pk>/", views.decision_status, name="decision_status"),
    path("reunions/<int:pk>/releve/", views.minutes, name="minutes"),
    path("reunions/<int:pk>/chiffres/", views.freeze, name="freeze"),
    path("reunions/<int:pk>/statut/", views.status, name="status"),
    path("reunions/<int:pk>/proces-verbal.pdf", views.minutes_pdf_view, name="minutes_pdf"),
]
