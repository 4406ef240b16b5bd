"""Agenda, liste de travail : par défaut les rendez-vous que l'agent tient ou ceux des personnes dont il est le
référent, tout son périmètre sur demande (jamais au-delà) ; recherche sans accents ; colonne du référent ;
semaine choisie ; export CSV journalisé ; nombre de requêtes constant."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import Role
from parcours.audit.models import AccessAction, AccessLog
from parcours.orientation import services
from parcours.orientation.models import Appointment
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, TerritoryFactory
from tests.pathway.helpers import page, read_csv, table_rows

pytestmark = pytest.mark.django_db

WEEK = "2026-03-09"  # lundi
URL = "orientation:agenda"


def at(day, hour=9, minute=0):
    return timezone.make_aware(datetime.datetime(2026, 3, day, hour, minute))


def _appointment(person, author, professional, starts_at, place="Maison du Département"):
    return services.schedule_appointment(
        person, starts_at=starts_at, place=place, author=author, professionals=[professional]
    )


@pytest.fixture
def team(departement, manager):
    """Yann Le Goff, référent de Lefèvre et Guérin ; Claire Martin, référente de Bernard et Dubois ; une
    conseillère (équipe d'orientation, sans portefeuille) tient le rendez-vous de Lefèvre, Yann celui de Guérin
    et celui de Bernard (personne de sa collègue), Claire celui de Dubois ; un rendez-vous hors Département."""
    referent = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Yann", user__last_name="Le Goff"
    ).user
    colleague = MembershipFactory(
        organisation=departement, role=Role.REFERENT, user__first_name="Claire", user__last_name="Martin"
    ).user
    counsellor = MembershipFactory(
        organisation=departement,
        role=Role.ORIENTATION_MANAGER,
        user__first_name="Inès",
        user__last_name="Perrin",
    ).user
    territory = TerritoryFactory(departement=departement, name="Pays de Redon")

    def person(last_name, first_name, referent_):
        someone = BeneficiaryFactory(
            departement=departement, territory=territory, last_name=last_name, first_name=first_name
        )
        services.assign_referent(someone, referent=referent_, organisation=departement, author=manager)
        return someone

    lefevre = person("Lefèvre", "Anne", referent)
    guerin = person("Guérin", "Anne", referent)
    bernard = person("Bernard", "Paul", colleague)
    dubois = person("Dubois", "Paul", colleague)
    _appointment(lefevre, manager, counsellor, at(10, 9))
    _appointment(guerin, manager, referent, at(12, 14, 30), place="Agence de Redon")
    _appointment(bernard, manager, referent, at(11, 10))
    _appointment(dubois, manager, colleague, at(9, 8))
    _appointment(lefevre, manager, referent, at(17, 9))  # semaine suivante
    stranger = BeneficiaryFactory(departement=DepartementFactory(departement_code="44"), last_name="Nantais")
    held = Appointment.objects.create(beneficiary=stranger, starts_at=at(10, 11), place="Nantes")
    held.professionals.set([referent])
    return {
        "referent": referent,
        "colleague": colleague,
        "counsellor": counsellor,
        "manager": manager,
        "people": [lefevre, guerin, bernard, dubois],
    }


def _names(html, team):
    return [p.last_name for p in team["people"] if p.full_name in html]


def test_referent_sees_appointments_of_own_people_and_those_held_by_default(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse(URL), {"semaine": WEEK}))
    assert set(_names(html, team)) == {"Lefèvre", "Guérin", "Bernard"}
    assert "NANTAIS" not in html  # tenu par l'agent, mais hors de son périmètre
    assert 'id="qui-moi"' in html and "checked" in html.split('id="qui-moi"')[1].split(">")[0]
    assert "<strong>3</strong> rendez-vous parmi vos rendez-vous et ceux des personnes" in " ".join(
        html.split()
    )
    # Le plus proche d'abord ; la colonne du référent donne le référent en cours de chaque personne.
    rows = table_rows(html)
    assert [next(n for n in ("LEFÈVRE", "BERNARD", "GUÉRIN") if n in row) for row in rows] == [
        "LEFÈVRE",
        "BERNARD",
        "GUÉRIN",
    ]
    assert "<td>Yann Le Goff</td>" in rows[0] and "<td>Claire Martin</td>" in rows[1]
    assert "Inès Perrin" in rows[0] and "mar 10/03 à 09:00" in rows[0]
    # Sa personne : le volet orientation ; celle de sa collègue : la fiche (le volet lui est fermé).
    lefevre, _guerin, bernard, _dubois = team["people"]
    assert reverse("orientation:panel", args=[lefevre.pk]) in rows[0]
    assert reverse("beneficiary_detail", args=[bernard.pk]) in rows[1]
    assert client.get(reverse("beneficiary_detail", args=[bernard.pk])).status_code == 200


def test_whole_scope_on_demand_never_beyond(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse(URL), {"semaine": WEEK, "qui": "tous"}))
    assert _names(html, team) == ["Lefèvre", "Guérin", "Bernard", "Dubois"]
    assert "NANTAIS" not in html and "dans votre périmètre" in html
    assert "<td>Claire Martin</td>" in html


def test_default_follows_who_holds_appointments(client, team):
    # Conseillère sans portefeuille qui tient des rendez-vous : les siens par défaut, le choix lui est offert.
    client.force_login(team["counsellor"])
    html = page(client.get(reverse(URL), {"semaine": WEEK}))
    assert _names(html, team) == ["Lefèvre"] and 'id="qui-moi"' in html
    # Chargée d'orientation sans portefeuille ni rendez-vous : tout son périmètre, sans choix.
    client.force_login(team["manager"])
    html = page(client.get(reverse(URL), {"semaine": WEEK}))
    assert set(_names(html, team)) == {"Lefèvre", "Guérin", "Bernard", "Dubois"}
    assert 'id="qui-moi"' not in html
    assert _names(page(client.get(reverse(URL), {"semaine": WEEK, "qui": "moi"})), team) == []


def test_week_navigation_keeps_the_filter(client, team):
    client.force_login(team["referent"])
    html = page(client.get(reverse(URL), {"semaine": "2026-03-18", "q": "lefevre"}))  # un mercredi
    assert "semaine du 16/03/2026 au 22/03/2026" in html
    assert _names(html, team) == ["Lefèvre"] and "mar 17/03 à 09:00" in html
    assert 'href="?qui=moi&q=lefevre&semaine=2026-03-09"' in html  # semaine précédente
    assert 'href="?qui=moi&q=lefevre&semaine=2026-03-23"' in html  # semaine suivante
    assert "?qui=moi&q=lefevre&semaine=2026-03-16&format=csv" in html
    html = page(client.get(reverse(URL), {"semaine": "pas une date"}))
    assert "Saisissez une date valide" in html  # semaine du jour, erreur affichée


def test_search_is_accent_and_case_insensitive(client, team):
    client.force_login(team["referent"])
    assert _names(page(client.get(reverse(URL), {"semaine": WEEK, "q": "GUERIN"})), team) == ["Guérin"]
    assert _names(page(client.get(reverse(URL), {"semaine": WEEK, "q": "dubois"})), team) == []
    html = page(client.get(reverse(URL), {"semaine": WEEK, "q": "dubois", "qui": "tous"}))
    assert _names(html, team) == ["Dubois"]
    assert "NANTAIS" not in page(client.get(reverse(URL), {"semaine": WEEK, "q": "nantais", "qui": "tous"}))


def test_csv_export_of_the_filtered_week_is_audited(client, team):
    client.force_login(team["referent"])
    rows = read_csv(client.get(reverse(URL), {"semaine": WEEK, "format": "csv"}))
    assert rows[0] == [
        "Nom",
        "Prénom",
        "Territoire",
        "Référent",
        "Date",
        "Heure",
        "Type",
        "Lieu",
        "Professionnels",
        "Présence",
    ]
    assert rows[1] == [
        "Lefèvre",
        "Anne",
        "Pays de Redon",
        "Yann Le Goff",
        "10/03/2026",
        "09:00",
        "Rendez-vous d'orientation",
        "Maison du Département",
        "Inès Perrin",
        "Prévu",
    ]
    assert [row[0] for row in rows[1:]] == ["Lefèvre", "Bernard", "Guérin"]
    entries = AccessLog.objects.filter(action=AccessAction.EXPORT, user=team["referent"])
    assert sorted(entries.values_list("beneficiary_id", flat=True)) == sorted(
        p.pk for p in team["people"][:3]
    )
    assert all(entry.path == reverse(URL) for entry in entries)
    assert entries[0].reason.startswith("Export CSV de l'agenda (semaine du 09/03/2026)")
    rows = read_csv(
        client.get(reverse(URL), {"semaine": WEEK, "qui": "tous", "q": "dubois", "format": "csv"})
    )
    assert [row[:2] + row[3:4] for row in rows[1:]] == [["Dubois", "Paul", "Claire Martin"]]


def test_agenda_query_count_does_not_grow_with_rows(client, departement, manager, django_assert_num_queries):
    referent = MembershipFactory(organisation=departement, role=Role.REFERENT).user
    counter = iter(range(100))

    def add(n):
        for _ in range(n):
            person = BeneficiaryFactory(
                departement=departement,
                territory=TerritoryFactory(departement=departement),
                last_name=f"Rendezvous{next(counter):02d}",
            )
            services.assign_referent(person, referent=referent, organisation=departement, author=manager)
            appointment = services.schedule_appointment(
                person,
                starts_at=at(10, 9),
                place="Redon",
                author=manager,
                professionals=[referent, manager],
                organisations=[departement],
            )
            assert appointment.professionals.count() == 2

    client.force_login(referent)
    add(2)
    with CaptureQueriesContext(connection) as few:
        page(client.get(reverse(URL), {"semaine": WEEK}))
    with CaptureQueriesContext(connection) as csv_few:
        read_csv(client.get(reverse(URL), {"semaine": WEEK, "format": "csv"}))
    add(18)
    with django_assert_num_queries(len(few)):
        html = page(client.get(reverse(URL), {"semaine": WEEK}))
    assert html.count("<tr>") == 21  # en-tête + 20 lignes
    with django_assert_num_queries(len(csv_few)):
        assert len(read_csv(client.get(reverse(URL), {"semaine": WEEK, "format": "csv"}))) == 21
