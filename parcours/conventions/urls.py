from django.urls import path

from . import views

app_name = "conventions"

urlpatterns = [
    path("", views.convention_list, name="list"),
    path("<int:pk>/", views.convention_detail, name="detail"),
    path("<int:pk>/fiches/<int:number>/", views.action_sheet_detail, name="action_sheet"),
    path("<int:pk>/depenses/ajouter/", views.expense_create, name="expense_create"),
    path("<int:pk>/depenses/<int:expense_pk>/supprimer/", views.expense_delete, name="expense_delete"),
    path("<int:pk>/depenses/<int:expense_pk>/justificatif/", views.expense_document, name="expense_document"),
    path("<int:pk>/versements/ajouter/", views.payment_create, name="payment_create"),
    path("<int:pk>/bilans/<int:deadline_pk>/transmis/", views.report_submitted, name="report_submitted"),
    path("<int:pk>/indicateurs-volet-1/", views.volet1_indicators, name="volet1_indicators"),
    path("<int:pk>/bilan-financier/", views.financial_report_view, name="financial_report"),
    path("<int:pk>/bilan-financier.xlsx", views.financial_report_xlsx_view, name="financial_report_xlsx"),
    path("<int:pk>/bilan-financier.pdf", views.financial_report_pdf_view, name="financial_report_pdf"),
    path("<int:pk>/bilan-mise-en-oeuvre/", views.implementation_report_view, name="implementation_report"),
]
