"""Indicateurs par organisation et par référent : scénario construit à la main par les services (flux,
orientation, référent, contrat), filtre « organisation » du tableau de bord, exports, nombre de requêtes."""

import csv
import io

import pytest
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from parcours.indicators.breakdowns import organisation_breakdown, referent_breakdown
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from tests.factories import DepartementFactory, MembershipFactory, OrganisationFactory

from .conftest import D, person, row
from .scenarios import scenario  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

MARCH = (D(2026, 3, 1), D(2026, 3, 31))
MARCH_QUERY = {"debut": "2026-03-01", "fin": "2026-03-31"}


def by_label(rows):
    return {r.label: r.values for r in rows}


@pytest.mark.usefixtures("scenario")
def test_one_row_per_organisation_with_the_numbers_of_its_people(departement, france_travail):
    rows = by_label(organisation_breakdown(beneficiary_scope(departement=departement), *MARCH))

    ft = rows["France Travail Redon"]
    assert ft["nouveaux_entrants"] == 2  # Alice, Chloé
    assert ft["nouveaux_entrants_orientes_15j"] == 2
    assert ft["taux_orientation_15j"] == 1
    assert ft["delai_median_t0_orientation_jours"] == 6.5  # 9 et 4 jours
    assert ft["part_nouveaux_entrants_avec_referent"] == 0.5
    assert ft["part_nouveaux_entrants_avec_contrat"] == 0.5
    assert ft["delai_median_orientation_contrat_jours"] == 10  # 10/03 → 20/03
    # Alice et Chloé : une orientation notifiée ouvre le suivi, avec ou sans référent (annexe 4)
    assert ft["beneficiaires_suivis"] == 2

    dep = rows[departement.name]
    assert dep["nouveaux_entrants"] == 2  # Bruno, Emma
    assert dep["nouveaux_entrants_orientes_15j"] == 1
    assert dep["taux_orientation_15j"] == 0.5
    assert dep["part_nouveaux_entrants_avec_referent"] == 0
    assert dep["delai_median_orientation_contrat_jours"] is None  # personne sous contrat : vide, pas 0

    loose = rows["Aucune organisation dans la période"]
    assert loose["nouveaux_entrants"] == 1  # David
    assert loose["taux_orientation_15j"] == 0
    assert rows["Ensemble du périmètre"]["nouveaux_entrants"] == 5


@pytest.mark.usefixtures("scenario")
def test_an_organisation_row_equals_the_dashboard_filtered_on_it(departement, france_travail):
    rows = organisation_breakdown(beneficiary_scope(departement=departement), *MARCH)
    ft_row = next(r for r in rows if r.organisation_id == france_travail.pk)
    filtered = compute_indicators(
        beneficiary_scope(departement=departement, organisation=france_travail, period=MARCH), *MARCH
    )
    for key, value in ft_row.values.items():
        assert filtered[key] == value, key
    total = next(r for r in rows if r.kind == "total")
    everything = compute_indicators(beneficiary_scope(departement=departement), *MARCH)
    for key, value in total.values.items():
        assert everything[key] == value, key


@pytest.mark.usefixtures("scenario")
def test_organisation_membership_follows_the_period(departement, france_travail, orient):
    # Chloé est réorientée vers le Département le 10/04 : en avril elle compte pour les deux organisations
    # (la décision France Travail court jusqu'au 10/04), en mai pour le Département seulement.
    orient(person("chloe"), D(2026, 4, 10), "social")
    scope = beneficiary_scope(departement=departement)
    april = beneficiary_scope(base=scope, organisation=france_travail, period=(D(2026, 4, 1), D(2026, 4, 30)))
    may = beneficiary_scope(base=scope, organisation=france_travail, period=(D(2026, 5, 1), D(2026, 5, 31)))
    assert set(april.values_list("first_name", flat=True)) == {"Alice", "Chloé"}
    assert set(may.values_list("first_name", flat=True)) == {"Alice"}  # toujours suivie par France Travail


@pytest.mark.usefixtures("scenario")
def test_a_transfer_on_the_first_day_of_the_period_leaves_the_previous_organisation(
    departement, france_travail, orient
):
    """La fin d'un suivi est le premier jour sans lui (comme les personnes suivies du tableau de bord) : Chloé,
    réorientée vers le Département le 1er avril, n'est plus rattachée à France Travail en avril (ni par son
    suivi, clos ce jour-là, ni par la décision remplacée ce jour-là) ; en mars, elle l'était encore."""
    orient(person("chloe"), D(2026, 4, 1), "social")
    scope = beneficiary_scope(departement=departement)
    april = (D(2026, 4, 1), D(2026, 4, 30))
    march_ft = beneficiary_scope(base=scope, organisation=france_travail, period=MARCH)
    april_ft = beneficiary_scope(base=scope, organisation=france_travail, period=april)
    april_dep = beneficiary_scope(base=scope, organisation=departement, period=april)
    assert set(march_ft.values_list("first_name", flat=True)) == {"Alice", "Chloé"}
    assert set(april_ft.values_list("first_name", flat=True)) == {"Alice"}
    assert "Chloé" in set(april_dep.values_list("first_name", flat=True))
    # Le tableau par organisation suit la même règle, comme les personnes suivies le dernier jour.
    rows = by_label(organisation_breakdown(scope, *april))
    assert rows["France Travail Redon"]["beneficiaires_suivis"] == 1  # Alice
    assert (
        rows["France Travail Redon"]["beneficiaires_suivis"]
        == compute_indicators(april_ft, *april)["beneficiaires_suivis"]
    )


@pytest.mark.usefixtures("scenario")
def test_a_referent_replaced_on_the_first_day_of_the_period_no_longer_counts(
    departement, france_travail, referent, manager
):
    """Alice change de référent le 1er avril : en avril, sa ligne est celle de la nouvelle référente seule."""
    from parcours.orientation.referents import assign_referent

    newcomer = MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__first_name="Yuna", user__last_name="Le Bihan"
    ).user
    assign_referent(
        person("alice"),
        referent=newcomer,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 4, 1),
    )
    scope = beneficiary_scope(departement=departement)
    values = {
        r.referent_id: r.values
        for r in referent_breakdown(scope, D(2026, 4, 1), D(2026, 4, 30), [france_travail])
        if r.kind == "group"
    }
    assert values[newcomer.pk]["beneficiaires_suivis"] == 1
    assert values[referent.pk]["beneficiaires_suivis"] == 0
    march = {r.referent_id: r.values for r in referent_breakdown(scope, *MARCH, [france_travail])}
    assert march[referent.pk]["beneficiaires_suivis"] == 1


@pytest.mark.usefixtures("scenario")
def test_one_row_per_referent_of_the_organisation(departement, france_travail, referent):
    idle = MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__first_name="Yves", user__last_name="Nédélec"
    ).user
    rows = referent_breakdown(beneficiary_scope(departement=departement), *MARCH, [france_travail])
    values = {r.referent_id: r.values for r in rows if r.kind == "group"}
    assert values[referent.pk]["nouveaux_entrants"] == 1  # Alice
    assert values[referent.pk]["part_nouveaux_entrants_avec_contrat"] == 1
    assert values[referent.pk]["beneficiaires_suivis"] == 1
    assert values[idle.pk]["nouveaux_entrants"] == 0  # référent sans personne : une ligne à zéro
    assert values[idle.pk]["taux_orientation_15j"] is None
    loose = next(r for r in rows if r.kind == "none")
    assert loose.values["nouveaux_entrants"] == 1  # Chloé, orientée France Travail sans référent
    total = next(r for r in rows if r.kind == "total")
    assert total.values["nouveaux_entrants"] == 2


@pytest.mark.usefixtures("scenario")
def test_dashboard_organisation_filter_and_tables(client, manager, departement, france_travail, referent):
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), {**MARCH_QUERY, "organisation": france_travail.pk})
    assert response.status_code == 200
    assert response.context["organisation"] == france_travail
    figures = {f["definition"].id: f["value"] for f in response.context["figures"]}
    assert figures["nouveaux_entrants"] == 2
    assert figures["taux_orientation_15j"] == 1
    # Les tableaux arrivent après les chiffres : la page les demande (htmx) avec les mêmes filtres.
    html = response.content.decode()
    tables_url = f"{reverse('indicators:dashboard_tables')}?"
    assert f'hx-get="{tables_url}' in html and 'data-tableau="organisations"' not in html
    response = client.get(
        reverse("indicators:dashboard_tables"),
        {**MARCH_QUERY, "organisation": france_travail.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-tableau="organisations"' in html and 'data-tableau="referents"' in html
    assert "<html" not in html  # fragment remplaçant l'attente sur la page
    # Sans JavaScript : la même chose sur une page entière, avec le retour au tableau de bord.
    page = client.get(
        reverse("indicators:dashboard_tables"), {**MARCH_QUERY, "organisation": france_travail.pk}
    )
    assert "<html" in page.content.decode() and "Retour au tableau de bord" in page.content.decode()
    # Le tableau par organisation garde toutes les organisations ; celui par référent détaille France Travail.
    labels = [r.label for r in response.context["by_organisation"]]
    assert labels == [
        *sorted([departement.name, "France Travail Redon"]),
        "Aucune organisation dans la période",
        "Ensemble du périmètre",
    ]
    assert [r.referent_id for r in response.context["by_referent"] if r.kind == "group"] == [referent.pk]


@pytest.mark.usefixtures("scenario")
def test_organisation_filter_cannot_reach_another_departement(client, manager, departement):
    other = DepartementFactory(departement_code="44", name="Département de Loire-Atlantique")
    foreign = OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Nantes", departement=other
    )
    client.force_login(manager)
    response = client.get(reverse("indicators:dashboard"), {**MARCH_QUERY, "organisation": foreign.pk})
    assert response.status_code == 200
    form = response.context["form"]
    assert "organisation" in form.errors
    assert foreign not in form.fields["organisation"].queryset
    assert response.context["organisation"] is None
    assert "France Travail Nantes" not in response.content.decode()
    text = client.get(
        reverse("indicators:export_organisations"), {**MARCH_QUERY, "organisation": foreign.pk}
    ).content
    assert "Nantes" not in text.decode("utf-8-sig")


@pytest.mark.usefixtures("scenario")
def test_a_partner_is_offered_only_its_own_organisation(client, departement, france_travail, referent):
    OrganisationFactory(kind=OrganisationKind.CCAS, name="CCAS de Redon", departement=departement)
    client.force_login(referent)
    response = client.get(reverse("indicators:dashboard"), MARCH_QUERY)
    assert list(response.context["form"].fields["organisation"].queryset) == [france_travail]
    response = client.get(reverse("indicators:dashboard"), {**MARCH_QUERY, "organisation": departement.pk})
    assert "organisation" in response.context["form"].errors


@pytest.mark.usefixtures("scenario")
def test_organisation_and_referent_csv_exports(client, manager, france_travail, referent):
    client.force_login(manager)
    response = client.get(reverse("indicators:export_organisations"), MARCH_QUERY)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="indicateurs-organisations-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = {r["organisation"]: r for r in csv.DictReader(io.StringIO(text), delimiter=";")}
    assert rows["France Travail Redon"]["nouveaux_entrants"] == "2"
    assert rows["France Travail Redon"]["taux_orientation_15j"] == "1.0"
    assert rows["Aucune organisation dans la période"]["delai_median_t0_orientation_jours"] == ""
    assert "Martin" not in text and "Alice" not in text  # aucune donnée personnelle

    response = client.get(
        reverse("indicators:export_referents"), {**MARCH_QUERY, "organisation": france_travail.pk}
    )
    rows = {
        r["référent"]: r
        for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    }
    assert rows[str(referent)]["nouveaux_entrants"] == "1"
    assert rows["Sans référent dans la période"]["nouveaux_entrants"] == "1"


def test_dashboard_query_count_does_not_grow_with_people(client, manager, flux, orient, france_travail):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        # La page et ses tableaux (chargés ensuite par la page) : chacune en un nombre fixe de requêtes.
        counts = []
        for name in ("indicators:dashboard", "indicators:dashboard_tables"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse(name), MARCH_QUERY)
            assert response.status_code == 200
            counts.append(len(queries))
        return counts

    client.force_login(manager)
    # Chaque ligne (France Travail, Département, sans organisation) a déjà une personne.
    flux(D(2026, 3, 1), row("alice"), row("bruno"), row("chloe"))
    orient(person("alice"), D(2026, 3, 5), organisation=france_travail)
    orient(person("bruno"), D(2026, 3, 5))
    small = count()
    flux(D(2026, 3, 2), row("david"), row("emma"), row("farid"))
    orient(person("david"), D(2026, 3, 6), organisation=france_travail)
    orient(person("emma"), D(2026, 3, 6))
    assert count() == small
    # Plafonds (PostgreSQL ; SQLite en fait moins) : la page (deux organisations, la lecture des embauches sans
    # sortie du volet 3) et ses tableaux (session, agent, rattachements, puis les deux tableaux en une
    # requête) ; une requête de plus signale une régression.
    page, tables = small
    assert page <= 43 and tables <= 12


@pytest.mark.usefixtures("scenario")
def test_dashboard_computes_both_tables_in_one_query_with_the_same_rows(
    client, manager, departement, france_travail, referent
):
    """Le tableau de bord lit les deux tableaux en une requête (``dashboard_breakdowns``) : mêmes lignes que
    ``organisation_breakdown`` et ``referent_breakdown`` calculés chacun de leur côté (et que les exports)."""
    from parcours.indicators.breakdowns import dashboard_breakdowns

    def values(rows):
        return [(r.label, r.kind, r.organisation_id, r.referent_id, r.values) for r in rows]

    scope = beneficiary_scope(departement=departement)
    for organisation in (None, france_travail, departement):
        referent_organisations = [organisation or france_travail]
        page_scope = beneficiary_scope(base=scope, organisation=organisation, period=MARCH)
        by_organisation, by_referent = dashboard_breakdowns(
            scope, *MARCH, organisations=None, referent_organisations=referent_organisations
        )
        assert values(by_organisation) == values(organisation_breakdown(scope, *MARCH))
        assert values(by_referent) == values(referent_breakdown(page_scope, *MARCH, referent_organisations))
    by_organisation, by_referent = dashboard_breakdowns(
        scope, *MARCH, organisations=None, referent_organisations=[]
    )
    assert values(by_organisation) == values(organisation_breakdown(scope, *MARCH)) and by_referent == []

    client.force_login(manager)
    for query in (MARCH_QUERY, {**MARCH_QUERY, "organisation": france_travail.pk}):
        page = client.get(reverse("indicators:dashboard_tables"), query).context
        export = client.get(reverse("indicators:export_referents"), query).content.decode("utf-8-sig")
        exported = [r["référent"] for r in csv.DictReader(io.StringIO(export), delimiter=";")]
        assert [r.label for r in page["by_referent"]] == exported
        by_label = {r.label: r.values for r in page["by_referent"]}
        for r in csv.DictReader(io.StringIO(export), delimiter=";"):
            assert str(by_label[r["référent"]]["nouveaux_entrants"]) == r["nouveaux_entrants"]
