from django.urls import path

from . import views, views_campaigns
from . import views_convocations as convocations
from . import views_documents as documents
from . import views_grid as grid

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
    # Notifications d'orientation en PDF : liste à imprimer, sélection en un PDF, une décision
    path("notifications/a-imprimer/", documents.notification_list, name="notification_list"),
    path("notifications/a-imprimer/pdf/", documents.notifications_pdf, name="notifications_pdf"),
    path("decisions/<int:decision_pk>/notification.pdf", documents.decision_pdf, name="decision_pdf"),
    path("agenda/", views.agenda, name="agenda"),
    # Convocations en nombre, relances d'invitations, rappels de rendez-vous
    path("convocations/", convocations.convocations, name="convocations"),
    path("invitations/relancer/", convocations.remind_invitations, name="remind_invitations"),
    path("invitations/<int:pk>/relancer/", convocations.remind_invitation_view, name="remind_invitation"),
    path("rendez-vous/<int:pk>/rappel/", convocations.remind_appointment, name="remind_appointment"),
    path("campagnes/", views_campaigns.campaign_list, name="campaign_list"),
    path("campagnes/nouvelle/", views_campaigns.campaign_new, name="campaign_new"),
    path("campagnes/resultats.csv", views_campaigns.campaign_results_export, name="campaign_results_export"),
    path("campagnes/<int:pk>/", views_campaigns.campaign_detail, name="campaign_detail"),
    path("campagnes/<int:pk>/inviter/", views_campaigns.campaign_invite, name="campaign_invite"),
    path("campagnes/<int:pk>/export.csv", views_campaigns.campaign_export, name="campaign_export"),
    # Grille d'orientation du Département (administrateurs)
    path("grille/", grid.grid_view, name="grid"),
    path("grille/<int:departement_pk>/", grid.grid_view, name="grid_of"),
    path("grille/<int:departement_pk>/nouvelle-regle/", grid.rule_create, name="grid_rule_create"),
    path("grille/<int:departement_pk>/grille-par-defaut/", grid.adopt_defaults, name="grid_adopt_defaults"),
    path("grille/<int:departement_pk>/apercu/", grid.preview, name="grid_preview"),
    path("grille/regles/<int:pk>/", grid.rule_edit, name="grid_rule_edit"),
    path("grille/regles/<int:pk>/<str:action>/", grid.rule_action, name="grid_rule_action"),
]
