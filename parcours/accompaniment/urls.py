from django.urls import path

from . import views
from . import views_documents as documents
from . import views_exchange as exchange
from . import views_intensive as intensive
from . import views_sessions as team
from . import views_surveys as surveys

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
    # Documents en PDF : contrats (un, ou une sélection de la liste), courriers de procédure
    path("contrats/", documents.contract_index, name="contract_index"),
    path("contrats/pdf/", documents.contracts_pdf, name="contracts_pdf"),
    path("contrats/<int:contract_pk>/contrat.pdf", documents.contract_pdf, name="contract_pdf"),
    path("procedures/<int:case_pk>/courrier.pdf", documents.case_pdf, name="case_pdf"),
    path("procedures/courriers/pdf/", documents.cases_pdf, name="cases_pdf"),
    # Accompagnement intensif, revues, devoirs et sanctions, sorties (étapes 7 à 10)
    path("beneficiaires/<int:pk>/activites/", intensive.activity_plan, name="activity_plan"),
    path("activites/<int:activity_pk>/statut/", intensive.activity_status, name="activity_status"),
    path("activites/services/", intensive.service_search, name="service_search"),
    path("beneficiaires/<int:pk>/revues/", intensive.review_list, name="review_list"),
    path("revues/<int:review_pk>/tenue/", intensive.review_hold, name="review_hold"),
    path("revues/", intensive.reviews_due, name="reviews_due"),
    path("beneficiaires/<int:pk>/procedures/", intensive.case_list, name="case_list"),
    path("procedures/", intensive.cases_in_progress, name="cases_in_progress"),
    path("procedures/<int:case_pk>/", intensive.case_detail, name="case_detail"),
    path("procedures/<int:case_pk>/courrier/", intensive.case_letter, name="case_letter"),
    path("equipes/<int:session_pk>/synthese/", intensive.session_summary, name="session_summary"),
    # Séances de l'équipe pluridisciplinaire : calendrier, composition, ordre du jour, avis, documents
    path("equipes/", team.session_list, name="session_list"),
    path("equipes/nouvelle/", team.session_new, name="session_new"),
    path("equipes/<int:session_pk>/", team.session_detail, name="session_detail"),
    path("equipes/<int:session_pk>/modifier/", team.session_edit, name="session_edit"),
    path("equipes/<int:session_pk>/membres/", team.session_guest, name="session_guest"),
    path("equipes/<int:session_pk>/presence/", team.session_presence, name="session_presence"),
    path("equipes/<int:session_pk>/ordre-du-jour/", team.session_agenda, name="session_agenda"),
    path(
        "equipes/<int:session_pk>/procedures/<int:case_pk>/avis/",
        team.session_opinion,
        name="session_opinion",
    ),
    path("equipes/<int:session_pk>/convocations/", team.session_convocations, name="session_convocations"),
    path("equipes/<int:session_pk>/proces-verbal.pdf", team.session_minutes, name="session_minutes"),
    path("procedures/<int:case_pk>/seance/", team.case_agenda, name="case_agenda"),
    path("procedures/<int:case_pk>/convocation/", team.case_convocation, name="case_convocation"),
    # Sanctions transmises à l'organisme payeur (CAF, MSA)
    path("sanctions/transmissions/", exchange.transmissions, name="sanction_transmissions"),
    path(
        "sanctions/transmissions/<int:departement_pk>/<str:organism>/<str:month>/",
        exchange.month_detail,
        name="sanction_month",
    ),
    path(
        "sanctions/transmissions/<int:departement_pk>/<str:organism>/<str:month>/fichier/",
        exchange.month_file,
        name="sanction_file",
    ),
    path("sanctions/mesures/<int:notice_pk>/renvoyer/", exchange.notice_resend, name="sanction_resend"),
    path("beneficiaires/<int:pk>/sorties/", intensive.exit_list, name="exit_list"),
    path("sorties/<int:exit_pk>/suivi/", intensive.employment_check, name="employment_check"),
    path("sorties/verifications-6-mois/", intensive.durable_checks_due, name="durable_checks_due"),
    # Espace de la personne accompagnée
    path("mon-espace/", intensive.my_space, name="my_space"),
    path("mon-espace/mes-donnees.json", intensive.my_data, name="my_data"),
    path(
        "mon-espace/rendez-vous/<int:appointment_pk>/",
        intensive.my_appointment_reply,
        name="my_appointment_reply",
    ),
    path("mon-espace/votre-avis/", surveys.my_survey, name="my_survey"),
    # Questionnaires de satisfaction (volet 3) : lien signé sans compte, liens préparés par l'agent,
    # questionnaire trimestriel des professionnels
    path("avis/<str:token>/", surveys.survey_by_link, name="survey_by_link"),
    path("beneficiaires/<int:pk>/avis/", surveys.person_survey_links, name="person_survey_links"),
    path("questionnaire-professionnels/", surveys.professional_survey, name="professional_survey"),
]
