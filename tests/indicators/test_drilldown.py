"""Des chiffres du tableau de bord aux personnes : la liste contient exactement les personnes comptées,
selon les mêmes définitions ; réservée aux agents qui voient des personnes (403 pour les services de
l'État, qui ne voient que des agrégats) ; paginée ; lien vers la fiche de chaque personne."""

import pytest
from django.urls import reverse

from parcours.accounts.models import OrganisationKind, Role
from parcours.indicators import views
from parcours.indicators.cohort_figures import FIGURES
from parcours.indicators.definitions import beneficiary_scope, compute_indicators
from tests.factories import MembershipFactory, OrganisationFactory

from .conftest import D, person, row
from .scenarios import scenario  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scenario")]

MARCH = {"debut": "2026-03-01", "fin": "2026-03-31"}


def listed(client, figure, **params):
    response = client.get(reverse("indicators:people"), {**MARCH, "figure": figure, **params})
    assert response.status_code == 200, response.status_code
    return response, sorted(r["person"].first_name for r in response.context["rows"])


@pytest.mark.parametrize(
    ("figure", "names"),
    [
        ("nouveaux_entrants", ["Alice", "Bruno", "Chloé", "David", "Emma"]),
        ("orientes_15j", ["Alice", "Chloé", "Emma"]),
        ("orientes_en_retard", ["Bruno"]),
        ("delai_legal", ["Bruno"]),
        ("non_orientes", ["David"]),
        ("parcours_emploi", ["Alice", "Emma"]),
        ("parcours_socio_professionnel", ["Chloé"]),
        ("parcours_social", ["Bruno"]),
        ("avec_referent", ["Alice"]),
        ("avec_contrat", ["Alice"]),
        ("au_dela", []),
    ],
)
def test_the_list_is_exactly_the_people_behind_the_figure(client, manager, figure, names):
    client.force_login(manager)
    response, people = listed(client, figure)
    assert people == names
    html = response.content.decode()
    for r in response.context["rows"]:
        assert reverse("beneficiary_detail", args=[r["person"].pk]) in html


def test_each_list_has_as_many_people_as_the_indicator_says(client, manager, departement):
    values = compute_indicators(beneficiary_scope(departement=departement), D(2026, 3, 1), D(2026, 3, 31))
    expected = {
        "nouveaux_entrants": values["nouveaux_entrants"],
        "orientes_15j": values["nouveaux_entrants_orientes_15j"],
        "non_orientes": values["repartition_parcours"]["non_oriente"],
        "delai_legal": values["distribution_delai_t0_orientation"]["delai_legal"],
        "au_dela": values["distribution_delai_t0_orientation"]["au_dela"],
        "parcours_emploi": values["repartition_parcours"]["emploi"],
        "parcours_social": values["repartition_parcours"]["social"],
        "parcours_socio_professionnel": values["repartition_parcours"]["socio_professionnel"],
        "avec_referent": round(values["part_nouveaux_entrants_avec_referent"] * values["nouveaux_entrants"]),
        "avec_contrat": round(values["part_nouveaux_entrants_avec_contrat"] * values["nouveaux_entrants"]),
    }
    client.force_login(manager)
    for figure, count in expected.items():
        response, _ = listed(client, figure)
        assert response.context["page_obj"].paginator.count == count, figure
    assert {f.key for f in FIGURES} >= set(expected)


def test_dashboard_links_figures_to_their_lists(client, manager):
    client.force_login(manager)
    html = client.get(reverse("indicators:dashboard"), MARCH).content.decode()
    assert 'data-personnes="non_orientes"' in html
    assert 'data-personnes="parcours_emploi"' in html
    assert "Voir les personnes" in html
    assert (
        f"{reverse('indicators:people')}?debut=2026-03-01&amp;fin=2026-03-31&amp;figure=orientes_15j" in html
    )


def test_the_list_keeps_the_territory_and_organisation_filters(client, manager, france_travail):
    from parcours.accounts.models import Territory

    client.force_login(manager)
    vitre = Territory.objects.get(code="VITRE")
    assert listed(client, "nouveaux_entrants", territoire=vitre.pk)[1] == ["Chloé", "David"]
    assert listed(client, "nouveaux_entrants", organisation=france_travail.pk)[1] == ["Alice", "Chloé"]


def test_a_partner_lists_only_the_people_it_follows(client, referent):
    client.force_login(referent)  # France Travail : suit Alice (référent désigné) et Chloé (orientée)
    assert listed(client, "nouveaux_entrants")[1] == ["Alice", "Chloé"]


def test_state_services_get_no_link_and_403(client, departement):
    ddets = OrganisationFactory(kind=OrganisationKind.ETAT, name="DDETS", departement=departement)
    client.force_login(MembershipFactory(organisation=ddets, role=Role.MANAGER).user)
    response = client.get(reverse("indicators:dashboard"), MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("indicators:people") not in html
    assert "Voir les personnes" not in html
    response = client.get(reverse("indicators:people"), {**MARCH, "figure": "non_orientes"})
    assert response.status_code == 403


def test_unknown_figure_is_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("indicators:people"), {**MARCH, "figure": "tout"}).status_code == 404


def test_pagination(client, manager, monkeypatch):
    monkeypatch.setattr(views, "PEOPLE_PAGE_SIZE", 2)
    client.force_login(manager)
    first, names = listed(client, "nouveaux_entrants")
    assert "<strong>5</strong> nouveaux entrants" in first.content.decode()
    assert first.context["page_obj"].paginator.num_pages == 3
    assert len(names) == 2
    last, last_names = listed(client, "nouveaux_entrants", page=3)
    assert len(last_names) == 1
    assert "figure=nouveaux_entrants" in last.content.decode()  # les liens de page gardent le chiffre


def test_query_count_does_not_grow_with_people(client, manager, flux, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)

    def count():
        with CaptureQueriesContext(connection) as queries:
            listed(client, "nouveaux_entrants")
        return len(queries)

    small = count()
    flux(D(2026, 3, 2), row("farid"))
    assert person("farid").new_entrant_t0 == D(2026, 3, 2)
    assert count() == small
    with django_assert_max_num_queries(16):  # PostgreSQL : transaction et réglages de la session d'analyse
        listed(client, "nouveaux_entrants")
