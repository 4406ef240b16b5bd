"""Pages des agents, regroupées par fonctionnalité."""

from django.urls import path

from parcours.www.views import beneficiaries, imports, onboarding, pathway_imports

urlpatterns = [
    path("beneficiaires/", beneficiaries.beneficiary_list, name="beneficiary_list"),
    path("beneficiaires/export.csv", beneficiaries.beneficiary_export, name="beneficiary_export"),
    path("beneficiaires/<int:pk>/", beneficiaries.beneficiary_detail, name="beneficiary_detail"),
    path("beneficiaires/<int:pk>/nir/", beneficiaries.beneficiary_nir, name="beneficiary_nir"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/nouveau/", imports.import_new, name="import_new"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/progression/", imports.import_progress, name="import_progress"),
    path("imports/parcours/", pathway_imports.pathway_import, name="pathway_import"),
    path("organisations/importer/", onboarding.organisation_import, name="organisation_import"),
]
