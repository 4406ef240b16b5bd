"""Portefeuille, liste de travail : l'étape du parcours et la prochaine échéance de chaque personne (la règle de
la fiche, ``www.story``, sans seconde écriture), triées par échéance ou par nom ; recherche sans accents ; export
CSV journalisé ; nombre de requêtes constant."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.audit.models import AccessAction, AccessLog
from parcours.orientation import services
from parcours.www import story
from tests.factories import BeneficiaryFactory, TerritoryFactory
from tests.orientation.conftest import make_referent
from tests.pathway.helpers import page, read_csv, table_rows

pytestmark = pytest.mark.django_db

D = datetime.date
URL = "orientation:portfolio"


@pytest.fixture
def portfolio(departement, manager, france_travail, frozen):
    """Au 16/03/2026 : Rousseau orientée et notifiée le 10/03 (contrat à signer) ; Guérin, nouvel entrant du
    01/03 (délai d'orientation) ; Lefèvre, un rendez-vous le 18/03 ; Bernard chez un collègue."""
    frozen(2026, 3, 16)
    territory = TerritoryFactory(departement=departement, name="Pays de Redon")
    referent = make_referent(france_travail)
    colleague = make_referent(france_travail)

    def person(last_name, referent_=referent, **extra):
        someone = BeneficiaryFactory(
            departement=departement, territory=territory, last_name=last_name, first_name="Anne", **extra
        )
        services.assign_referent(someone, referent=referent_, organisation=france_travail, author=manager)
        return someone

    rousseau = person("Rousseau")
    services.decide_orientation(
        rousseau,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        decided_on=D(2026, 3, 10),
        notified_on=D(2026, 3, 10),
    )
    guerin = person("Guérin", new_entrant_t0=D(2026, 3, 1))
    lefevre = person("Lefèvre")
    services.schedule_appointment(
        lefevre,
        starts_at=timezone.make_aware(datetime.datetime(2026, 3, 18, 10)),
        place="Agence",
        author=manager,
        professionals=[referent],
    )
    person("Bernard", colleague)
    return referent, [guerin, lefevre, rousseau]


def test_portfolio_shows_stage_and_next_deadline_of_the_person_file(client, portfolio):
    referent, people = portfolio
    client.force_login(referent)
    html = page(client.get(reverse(URL)))
    rows = table_rows(html)
    assert len(rows) == 3 and "BERNARD" not in html
    # Prochaine échéance la plus proche d'abord ; étape et échéance sont celles de la fiche racontée.
    expected = sorted(people, key=lambda p: story.situation(p).next.on)
    for row, person in zip(rows, expected, strict=True):
        situation = story.situation(person)
        assert person.full_name in row
        assert f"<td>{situation.stage}</td>" in row
        assert situation.next.on.strftime("%d/%m/%Y") in row
        assert situation.next.label[:1].upper() + situation.next.label[1:] in row
    assert "Contrat d'engagement à signer" not in html  # (détail, pas l'étape)
    assert "Nouvel entrant à orienter" in html
    # Par nom.
    html = page(client.get(reverse(URL), {"tri": "nom"}))
    assert [p.last_name for row in table_rows(html) for p in people if p.full_name in row] == [
        "Guérin",
        "Lefèvre",
        "Rousseau",
    ]


def test_portfolio_beyond_the_size_limit_is_sorted_by_name_with_each_page_read(client, portfolio, settings):
    """Un portefeuille hors de proportion (au-delà de PARCOURS_SITUATIONS_MAX) n'est pas trié par échéance :
    l'agent en est averti, la page est triée par nom et chaque ligne garde l'étape et l'échéance de la fiche."""
    referent, people = portfolio
    settings.PARCOURS_SITUATIONS_MAX = 2
    client.force_login(referent)
    html = page(client.get(reverse(URL)))
    assert "trop de personnes pour être trié par échéance" in html
    rows = table_rows(html)
    assert [p.last_name for row in rows for p in people if p.full_name in row] == [
        "Guérin",
        "Lefèvre",
        "Rousseau",
    ]
    for row, person in zip(rows, sorted(people, key=lambda p: p.last_name), strict=True):
        assert f"<td>{story.situation(person).stage}</td>" in row
    settings.PARCOURS_SITUATIONS_MAX = 3
    assert "trop de personnes" not in page(client.get(reverse(URL)))


def test_portfolio_search_is_accent_insensitive(client, portfolio):
    referent, _people = portfolio
    client.force_login(referent)
    html = page(client.get(reverse(URL), {"q": "LEFEVRE"}))
    assert len(table_rows(html)) == 1 and "Anne LEFÈVRE" in html
    assert "<strong>1</strong> personne suivie dans votre portefeuille" in " ".join(html.split())
    html = page(client.get(reverse(URL), {"q": "bernard"}))
    assert table_rows(html) == [] and "Aucune personne dans ce portefeuille pour cette recherche" in html


def test_portfolio_csv_export_is_audited(client, portfolio):
    referent, people = portfolio
    client.force_login(referent)
    rows = read_csv(client.get(reverse(URL), {"tri": "nom", "format": "csv"}))
    assert rows[0] == [
        "Nom",
        "Prénom",
        "Territoire",
        "Référent",
        "Organisation",
        "Référent depuis le",
        "Parcours",
        "Orientation notifiée le",
        "Étape du parcours",
        "Prochaine échéance",
        "Date de l'échéance",
    ]
    rousseau = rows[3]
    situation = story.situation(people[2])
    assert rousseau[:5] == ["Rousseau", "Anne", "Pays de Redon", str(referent), "France Travail Redon"]
    assert rousseau[6:] == [
        "Emploi",
        "10/03/2026",
        situation.stage,
        "signature du contrat d'engagement",
        situation.next.on.strftime("%d/%m/%Y"),
    ]
    entries = AccessLog.objects.filter(action=AccessAction.EXPORT, user=referent)
    assert sorted(entries.values_list("beneficiary_id", flat=True)) == sorted(p.pk for p in people)
    assert entries[0].reason.startswith("Export CSV du portefeuille")
    assert [row[0] for row in read_csv(client.get(reverse(URL), {"q": "guerin", "format": "csv"}))[1:]] == [
        "Guérin"
    ]


def test_portfolio_query_count_does_not_grow_with_rows(
    client, departement, manager, france_travail, frozen, django_assert_num_queries
):
    frozen(2026, 3, 16)
    referent = make_referent(france_travail)
    counter = iter(range(100))

    def add(n):
        for _ in range(n):
            number = next(counter)
            person = BeneficiaryFactory(
                departement=departement,
                territory=TerritoryFactory(departement=departement),
                last_name=f"Suivi{number:02d}",
                new_entrant_t0=D(2026, 3, 1) if number % 2 else None,
            )
            if not number % 2:
                services.decide_orientation(
                    person,
                    pathway="emploi",
                    organisation=france_travail,
                    author=manager,
                    decided_on=D(2026, 3, 10),
                    notified_on=D(2026, 3, 10),
                )
            services.assign_referent(person, referent=referent, organisation=france_travail, author=manager)

    client.force_login(referent)
    add(2)
    with CaptureQueriesContext(connection) as few:
        page(client.get(reverse(URL)))
    with CaptureQueriesContext(connection) as csv_few:
        read_csv(client.get(reverse(URL), {"format": "csv"}))
    add(18)
    with django_assert_num_queries(len(few)):
        html = page(client.get(reverse(URL)))
    assert html.count("<tr>") == 21  # en-tête + 20 lignes
    with django_assert_num_queries(len(csv_few)):
        assert len(read_csv(client.get(reverse(URL), {"format": "csv"}))) == 21
