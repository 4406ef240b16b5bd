import datetime

from django.utils import timezone

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind
from parcours.beneficiaries.models import Beneficiary
from parcours.orientation import services as orientation
from parcours.orientation.models import OrientationDecision
from tests.factories import BeneficiaryFactory

from .conftest import follow, past


def test_departement_system_sees_its_whole_departement_with_nir(
    departement, person, make_partner, api_client
):
    BeneficiaryFactory()  # même Département (fabrique get_or_create)
    other = BeneficiaryFactory(departement__departement_code="56", departement__name="Morbihan")
    _, token = make_partner(departement)
    items, _ = api_client(token).pull_all("personnes")
    ids = {item["id"] for item in items}
    assert person.pk in ids and other.pk not in ids
    mine = next(item for item in items if item["id"] == person.pk)
    assert mine["nir"] == person.nir
    assert mine["nom"] == "Lebreton" and mine["droit"]["etat"] == "2"
    assert mine["droit"]["etat_libelle"] == "Droit ouvert et versable"


def test_partner_sees_only_people_it_follows_and_never_the_nir(
    departement, france_travail, mission_locale, person, make_partner, api_client
):
    followed_elsewhere = BeneficiaryFactory(departement=departement)
    follow(person, france_travail)
    follow(followed_elsewhere, mission_locale)
    _, token = make_partner(france_travail)
    client = api_client(token)
    items, _ = client.pull_all("personnes")
    assert [item["id"] for item in items] == [person.pk]
    assert items[0]["nir"] is None
    assert items[0]["identifiant_france_travail"] == "FT0012345"
    assert client.get(f"personnes/{followed_elsewhere.pk}").status_code == 404
    detail = client.get(f"personnes/{person.pk}").json()
    assert detail["nir"] is None and detail["email"] == "nadia.lebreton@example.org"


def test_cursor_pages_cover_everything_once_and_resume_later(departement, make_partner, api_client):
    people = BeneficiaryFactory.create_batch(7, departement=departement)
    _, token = make_partner(departement)
    client = api_client(token)
    first = client.get("personnes", limite=3).json()
    assert len(first["elements"]) == 3 and first["fin"] is False
    items, cursor = client.pull_all("personnes", limite=3)
    assert sorted(item["id"] for item in items) == sorted(p.pk for p in people)
    # Rien de neuf : la reprise au dernier curseur est vide.
    resumed = client.get("personnes", curseur=cursor).json()
    assert resumed["elements"] == [] and resumed["fin"] is True and resumed["curseur_suivant"] == cursor
    # Une modification : la reprise ne renvoie qu'elle.
    changed = Beneficiary.objects.get(pk=people[2].pk)
    changed.phone = "07 00 00 00 00"
    changed.save()
    resumed = client.get("personnes", curseur=cursor).json()
    assert [item["id"] for item in resumed["elements"]] == [changed.pk]


def test_updated_after_filters_changes(departement, make_partner, api_client):
    old, recent = BeneficiaryFactory.create_batch(2, departement=departement)
    long_ago = timezone.now() - datetime.timedelta(days=3)
    Beneficiary.objects.filter(pk=old.pk).update(updated_at=long_ago)
    _, token = make_partner(departement)
    since = (long_ago + datetime.timedelta(days=1)).isoformat()
    items, _ = api_client(token).pull_all("personnes", updated_after=since)
    assert [item["id"] for item in items] == [recent.pk]


def test_invalid_cursor_is_a_french_400(departement, make_partner, api_client):
    _, token = make_partner(departement)
    response = api_client(token).get("personnes", curseur="n'importe-quoi")
    assert response.status_code == 400
    assert response.json()["code"] == "requete_invalide"
    assert "Curseur invalide" in response.json()["message"]


def test_list_query_count_does_not_grow_with_page_size(
    departement, manager, make_partner, api_client, django_assert_max_num_queries
):
    for person in BeneficiaryFactory.create_batch(6, departement=departement):
        orientation.schedule_appointment(
            person, starts_at=past(), place="Espace social de Redon", author=manager
        )
        orientation.decide_orientation(person, pathway="emploi", organisation=departement, author=manager)
    _, token = make_partner(departement)
    client = api_client(token)
    for path in ("personnes", "orientations", "rendez-vous", "contrats"):
        # Dont 3 ou 4 pour le journal d'accès : transaction, verrou (PostgreSQL), chaînage, insertion.
        with django_assert_max_num_queries(9):
            assert client.get(path, limite=50).status_code == 200


def test_orientations_include_those_towards_the_partner(
    departement, france_travail, person, manager, make_partner, api_client
):
    decision = orientation.decide_orientation(
        person, pathway="emploi", organisation=france_travail, author=manager
    )
    _, token = make_partner(france_travail)
    items, cursor = api_client(token).pull_all("orientations")
    assert [(i["id"], i["code_france_travail"], i["statut"]) for i in items] == [
        (decision.pk, "PED", "decided")
    ]
    assert items[0]["organisation"] == {
        "id": france_travail.pk,
        "nom": "France Travail Redon",
        "type": "france_travail",
    }
    # Notification (``save(update_fields=…)`` dans le service) : la décision revient dans la synchronisation.
    orientation.notify_orientation(decision, author=manager)
    items, _ = api_client(token).pull_all("orientations", curseur=cursor)
    assert [(i["id"], i["statut"]) for i in items] == [(decision.pk, "notified")]


def test_appointments_and_contracts_of_followed_people(
    departement, france_travail, person, manager, make_partner, api_client
):
    follow(person, france_travail)
    stranger = BeneficiaryFactory(departement=departement)
    appointment = orientation.schedule_appointment(
        person,
        starts_at=past(),
        place="Agence France Travail de Redon",
        author=manager,
        organisations=[france_travail],
    )
    orientation.schedule_appointment(stranger, starts_at=past(), place="Espace social", author=manager)
    contract = accompaniment.create_contract(person, author=manager, kind=ContractKind.CER)
    _, token = make_partner(france_travail)
    client = api_client(token)
    appointments, _ = client.pull_all("rendez-vous")
    assert [(a["id"], a["presence"], a["organisations"]) for a in appointments] == [
        (appointment.pk, "prevu", [france_travail.pk])
    ]
    contracts, _ = client.pull_all("contrats")
    assert [(c["id"], c["type"], c["statut"]) for c in contracts] == [(contract.pk, "cer", "draft")]


def test_orientation_update_fields_save_bumps_updated_at(person, departement, manager):
    decision = orientation.decide_orientation(
        person, pathway="social", organisation=departement, author=manager
    )
    before = OrientationDecision.objects.get(pk=decision.pk).updated_at
    OrientationDecision.objects.filter(pk=decision.pk).update(updated_at=before - datetime.timedelta(hours=1))
    decision.refresh_from_db()
    orientation.notify_orientation(decision, author=manager)
    assert OrientationDecision.objects.get(pk=decision.pk).updated_at >= before


def test_person_entering_the_scope_is_synchronised_with_its_history(
    departement, france_travail, person, manager, make_partner, api_client
):
    appointment = orientation.schedule_appointment(
        person, starts_at=past(), place="Espace social", author=manager
    )
    _, token = make_partner(france_travail)
    client = api_client(token)
    people, cursor = client.pull_all("personnes")
    assert people == []
    follow(person, france_travail)
    # La personne entre dans le périmètre : elle revient à la reprise…
    people, _ = client.pull_all("personnes", curseur=cursor)
    assert [p["id"] for p in people] == [person.pk]
    # … et son historique se lit par le filtre ``personne``.
    history, _ = client.pull_all("rendez-vous", personne=person.pk)
    assert [a["id"] for a in history] == [appointment.pk]


def test_partner_reads_are_written_to_the_access_log(
    departement, france_travail, person, make_partner, api_client
):
    """Chaque personne lue par un système partenaire (liste ou fiche, y compris ses contrats, rendez-vous…)
    laisse une entrée dans le journal d'accès, au nom du compte technique du système."""
    from parcours.audit.models import AccessLog

    follow(person, france_travail)
    partner, token = make_partner(france_travail)
    client = api_client(token)
    client.pull_all("personnes")
    entries = list(AccessLog.objects.filter(beneficiary_id=person.pk))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.action == "read" and entry.departement_id == departement.pk
    assert entry.reason == f"API des partenaires : {partner.name}"
    assert entry.path.startswith("/api/v1/interop/personnes")
    assert entry.user_id == partner.service_user_id
    client.pull_all("contrats")  # aucun contrat : rien de lu, rien de journalisé
    assert AccessLog.objects.filter(beneficiary_id=person.pk).count() == 1
