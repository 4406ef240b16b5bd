from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tableaux/", views.dashboard_tables, name="dashboard_tables"),
    path("indicateurs.csv", views.export_csv, name="export_csv"),
    path("indicateurs.xlsx", views.export_xlsx, name="export_xlsx"),
    path("territoires.csv", views.export_territories, name="export_territories"),
    path("organisations.csv", views.export_organisations, name="export_organisations"),
    path("referents.csv", views.export_referents, name="export_referents"),
    path("graphiques/<slug:chart>.svg", views.chart_svg, name="chart_svg"),
    path("graphiques/<slug:chart>.csv", views.chart_csv, name="chart_csv"),
    path("personnes/", views.people, name="people"),
]

from . import views_reports  # noqa: E402

urlpatterns += [
    path("drees/", views_reports.drees_page, name="drees"),
    path("drees.xlsx", views_reports.drees_xlsx, name="drees_xlsx"),
    path("drees.csv", views_reports.drees_csv, name="drees_csv"),
    path("annexe4.csv", views_reports.annex4_csv, name="annex4_csv"),
]
