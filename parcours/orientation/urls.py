from django.urls import path

from . import views

app_name = "orientation"

urlpatterns = [
    path("", views.queues, name="queues"),
    path("inviter/", views.invite_bulk, name="invite_bulk"),
    path("beneficiaires/<int:pk>/", views.panel, name="panel"),
    path("portefeuille/", views.portfolio, name="portfolio"),
    path("portefeuille/<int:user_pk>/", views.portfolio, name="portfolio_of"),
    path("lot/", views.batch, name="batch"),
    path("courriers/", views.letters, name="letters"),
    path("notifications/", views.decision_letters, name="decision_letters"),
    path("agenda/", views.agenda, name="agenda"),
]
