"""Pages du catalogue par HTTP : recherche, fiche, prescription, lien signé de réponse, espace structure."""

import datetime
import re
import time
from html import unescape

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from parcours.catalogue import prescriptions as rx
from parcours.catalogue.models import PrescriptionLog, PrescriptionStatus, Service, ServiceLocalData
from tests.factories import BeneficiaryFactory, MembershipFactory, OrganisationFactory

from .conftest import LILLE, ROUBAIX, make_service, make_structure

pytestmark = pytest.mark.django_db


def page(response):
    return unescape(response.content.decode())


def text(html):
    """Texte visible, balises retirées, espaces simplifiés."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def prescribe(referent, person, service):
    return rx.create_prescription(
        user=referent,
        beneficiary=person,
        service=service,
        shared_data=rx.build_shared_data(rx.prefill(person), {"phone"}),
        consent=True,
    )


@pytest.fixture
def open_prescription(referent, person, bike_service):
    return prescribe(referent, person, bike_service)


def token_of(prescription):
    return rx.make_token(prescription)


# --- recherche -------------------------------------------------------------------------------------------


def test_search_requires_an_organisation(client, communes):
    url = reverse("catalogue:search")
    assert client.get(url).status_code == 302  # vers la connexion
    loner = MembershipFactory(is_active=False).user
    client.force_login(loner)
    assert client.get(url).status_code == 403


def test_search_page_shows_ranked_results_map_and_share_link(client, referent, communes, bike_service):
    make_service(at=ROUBAIX, nom="Auto-école sociale", thematiques=["mobilite--preparer-un-permis"])
    make_service(at=LILLE, nom="Garde d'enfants", thematiques=["famille--garde-denfants"])
    client.force_login(referent)

    html = page(
        client.get(
            reverse("catalogue:search"), {"commune": "59350", "rayon": "20", "thematiques": "mobilite"}
        )
    )

    assert html.index("1. Atelier de réparation de vélos") < html.index("2. Auto-école sociale")
    assert "Garde d'enfants" not in html
    assert "2 services pour Lille (59350) : 2 en présentiel dans un rayon de 20 km" in text(html)
    assert "/catalogue/?commune=59350&rayon=20&thematiques=mobilite" in html
    assert "<svg" in html


def test_search_page_query_count_does_not_grow_with_results(
    client, referent, communes, django_assert_max_num_queries
):
    for n in range(30):
        make_service(make_structure(), at=(LILLE[0] + n * 0.001, LILLE[1]), nom=f"Service n°{n}")
    for n in range(10):
        make_service(nom=f"À distance n°{n}")
    client.force_login(referent)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalogue:search"), {"commune": "Lille", "rayon": "10"})
    assert response.status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("catalogue:search")).status_code == 200


def test_htmx_search_returns_only_results(client, referent, communes, bike_service):
    client.force_login(referent)
    response = client.get(reverse("catalogue:search"), {"commune": "59350"}, HTTP_HX_REQUEST="true")
    html = page(response)
    assert html.lstrip().startswith('<div id="resultats">')
    assert "Atelier de réparation de vélos" in html


def test_search_summary_wording(client, referent, communes, bike_service):
    client.force_login(referent)
    one = text(page(client.get(reverse("catalogue:search"), {"q": "vélos"})))
    assert "1 service." in one and "service ." not in one and "services" not in one.split("service.")[0][-12:]
    none = text(page(client.get(reverse("catalogue:search"), {"q": "introuvable"})))
    assert "Aucun service." in none and "0 service" not in none
    around = text(page(client.get(reverse("catalogue:search"), {"commune": "Lille", "rayon": "5"})))
    assert "1 service pour Lille (59350) : 1 en présentiel dans un rayon de 5 km." in around
    make_service(nom="Atelier en visio")
    far = text(page(client.get(reverse("catalogue:search"), {"commune": "Roubaix", "rayon": "1"})))
    assert (
        "1 service pour Roubaix (59512) : aucun en présentiel dans un rayon de 1 km, puis 1 à distance."
        in far
    )


def test_result_cards_show_address_distance_and_remote_label(client, referent, communes, bike_service):
    bike_service.adresse, bike_service.code_postal, bike_service.commune = (
        "12 rue Nationale",
        "59000",
        "Lille",
    )
    bike_service.save()
    make_service(nom="Permanence en visio", quality_score=0.97)
    client.force_login(referent)
    html = text(page(client.get(reverse("catalogue:search"), {"commune": "lille"})))
    assert "12 rue Nationale, 59000 Lille" in html
    assert "à moins de 1 km" in html
    assert html.index("Permanence en visio") < html.index("À distance", html.index("Permanence en visio"))


def test_quality_score_hidden_from_agents(client, referent, dep_admin, communes, bike_service):
    bike_service.quality_score, bike_service.quality_details = 0.97, {"au_moins_une_thematique": 1.0}
    bike_service.save()
    client.force_login(referent)
    results = page(client.get(reverse("catalogue:search"), {"commune": "lille"}))
    detail = page(client.get(reverse("catalogue:service_detail", args=[bike_service.pk])))
    for html in (results, detail):
        assert "qualité" not in html.lower() and "0,97" not in html and "0.97" not in html
    client.force_login(dep_admin)
    detail = page(client.get(reverse("catalogue:service_detail", args=[bike_service.pk])))
    assert "Score de qualité : 0,97" in detail or "Score de qualité : 0.97" in detail


def test_themes_of_one_category_shown_once(client, referent, communes):
    service = make_service(
        at=LILLE,
        nom="Point logement",
        thematiques=[
            "logement-hebergement",
            "logement-hebergement--louer-un-logement",
            "logement-hebergement--changer-de-logement",
            "logement-hebergement--louer-un-logement",
            "mobilite--preparer-un-permis",
        ],
    )
    assert service.thematiques_display == [
        "Logement et hébergement : changer de logement, louer un logement",
        "Mobilité : préparer un permis",
    ]
    client.force_login(referent)
    for response in (
        # Résultats seuls (la page complète liste aussi les catégories du filtre).
        client.get(reverse("catalogue:search"), {"commune": "lille"}, HTTP_HX_REQUEST="true"),
        client.get(reverse("catalogue:service_detail", args=[service.pk])),
    ):
        assert text(page(response)).count("Logement et hébergement") == 1


def test_service_page_shows_zone_and_opening_hours_in_french(client, referent, communes, bike_service):
    bike_service.zone_eligibilite = ["59350", "59", "france"]
    bike_service.horaires_accueil = "Mo-Fr 08:30-12:30; PH off"
    bike_service.save()
    client.force_login(referent)
    html = text(page(client.get(reverse("catalogue:service_detail", args=[bike_service.pk]))))
    assert "Lille (59350), Département 59, France entière" in html
    assert "lun.-ven. 8 h 30 – 12 h 30 ; fermé les jours fériés" in html


# --- fiche service et données internes ---------------------------------------------------------------------


def test_local_data_visible_to_departement_only(
    client, referent, partner_agent, dep_admin, departement, bike_service
):
    ServiceLocalData.objects.create(service=bike_service, departement=departement, funder="FSE+", capacity=10)
    url = reverse("catalogue:service_detail", args=[bike_service.pk])
    client.force_login(referent)
    assert "FSE+" in page(client.get(url))
    client.force_login(partner_agent)
    assert "FSE+" not in page(client.get(url))
    assert client.get(reverse("catalogue:local_data_edit", args=[bike_service.pk])).status_code == 403
    client.force_login(referent)
    assert client.get(reverse("catalogue:local_data_edit", args=[bike_service.pk])).status_code == 403
    client.force_login(dep_admin)
    response = client.post(
        reverse("catalogue:local_data_edit", args=[bike_service.pk]),
        {"funder": "Département du Nord", "capacity": "12", "places_available": "3"},
    )
    assert response.status_code == 302
    assert ServiceLocalData.objects.get(service=bike_service).capacity == 12


# --- prescrire ---------------------------------------------------------------------------------------------


def test_prescribe_form_prefilled_and_consent_required(client, referent, person, bike_service):
    client.force_login(referent)
    url = reverse("catalogue:prescribe", args=[bike_service.pk])
    html = page(client.get(url, {"personne": person.pk}))
    assert 'value="Nadia"' in html and 'value="0612345678"' in html
    assert "RGPD" in html

    form = {
        "personne": person.pk,
        "data_first_name": "Nadia",
        "data_last_name": "Lebreton",
        "share_phone": "on",
    }
    form["data_phone"] = "0612345678"
    refused = client.post(url, form)
    assert "Le consentement de la personne est obligatoire pour prescrire." in page(refused)
    assert not person.prescriptions.exists()

    response = client.post(
        url, {**form, "consent": "on", "message": "Besoin d'un vélo pour aller travailler."}
    )

    prescription = person.prescriptions.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:prescription_detail", args=[prescription.pk])
    assert prescription.shared_data == {"first_name": "Nadia", "last_name": "Lebreton", "phone": "0612345678"}
    assert len(mail.outbox) == 1


def test_prescribe_forbidden_for_read_only_role(client, manager_ro, person, bike_service):
    client.force_login(manager_ro)
    assert (
        client.get(
            reverse("catalogue:prescribe", args=[bike_service.pk]), {"personne": person.pk}
        ).status_code
        == 403
    )


def test_prescription_list_scoped_and_query_count(
    client, referent, departement, partner_structure, django_assert_max_num_queries
):
    services = [make_service(partner_structure, at=LILLE, nom=f"Atelier n°{n}") for n in range(3)]
    for n in range(12):
        prescribe(referent, BeneficiaryFactory(departement=departement), services[n % 3])
    other_dep = OrganisationFactory(
        kind="departement", departement_code="62", name="Pas-de-Calais", departement=None
    )
    outsider = MembershipFactory(organisation=other_dep, role="referent").user
    client.force_login(referent)
    with django_assert_max_num_queries(10):
        html = page(client.get(reverse("catalogue:prescription_list")))
    assert html.count("Atelier n°") >= 12
    client.force_login(outsider)
    assert "Atelier n°" not in page(client.get(reverse("catalogue:prescription_list")))


def test_prescription_detail_shows_dated_log_and_renews_link(client, referent, open_prescription):
    client.force_login(referent)
    url = reverse("catalogue:prescription_detail", args=[open_prescription.pk])
    html = page(client.get(url))
    assert "Envoyée" in html and timezone.localdate().strftime("%d/%m/%Y") in html
    assert str(referent) in html  # auteur de la ligne d'historique
    assert "/catalogue/reponse/" in html
    mail.outbox.clear()
    client.post(url, {"action": "renew"})
    assert len(mail.outbox) == 1
    assert open_prescription.logs.filter(action=PrescriptionLog.Action.LINK_RENEWED, actor=referent).exists()


def test_prescription_detail_hidden_outside_perimeter(client, partner_agent, open_prescription):
    client.force_login(partner_agent)
    assert (
        client.get(reverse("catalogue:prescription_detail", args=[open_prescription.pk])).status_code == 404
    )


# --- lien signé de réponse ---------------------------------------------------------------------------------


def test_signed_link_answer_without_account(client, open_prescription, person):
    url = reverse("catalogue:answer", args=[token_of(open_prescription)])
    html = page(client.get(url))
    assert "Nadia" in html and "0612345678" in html
    assert "Envoyer ma réponse" in html

    response = client.post(
        url, {"decision": "accept", "answerer_name": "Paul Martin", "start_on": "2026-12-07", "comment": ""}
    )

    assert response.status_code == 302
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.ACCEPTED
    assert open_prescription.start_on == datetime.date(2026, 12, 7)
    log = open_prescription.logs.get(action="accepted")
    assert (log.actor, log.actor_label, log.from_status, log.to_status) == (
        None,
        "Paul Martin",
        "open",
        "accepted",
    )
    assert rx.weekly_hours(person, on=datetime.date(2026, 12, 8)) == 6
    # Le lien ne permet plus de changer la réponse.
    again = client.post(url, {"decision": "refuse", "answerer_name": "X", "refusal_reason": "no_place"})
    assert "n'attend plus de réponse (acceptée)" in page(again)
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.ACCEPTED


def test_signed_link_refusal_requires_reason(client, open_prescription):
    url = reverse("catalogue:answer", args=[token_of(open_prescription)])
    html = page(client.post(url, {"decision": "refuse", "answerer_name": "Paul Martin"}))
    assert "Le motif du refus est obligatoire." in html
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.OPEN
    client.post(url, {"decision": "refuse", "answerer_name": "Paul Martin", "refusal_reason": "no_place"})
    open_prescription.refresh_from_db()
    assert (open_prescription.status, open_prescription.refusal_reason) == ("refused", "no_place")


def test_forged_links_refused(client, open_prescription, bike_service, referent):
    token = token_of(open_prescription)
    other = prescribe(
        referent, BeneficiaryFactory(departement=open_prescription.beneficiary.departement), bike_service
    )
    value, _, signature = token.partition(":")[2].partition(":")
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature altérée
        token.replace(f"{open_prescription.pk}:", f"{other.pk}:", 1),  # autre prescription, même signature
        signing.TimestampSigner(salt="autre-sel").sign(
            f"{open_prescription.pk}:{open_prescription.link_nonce}"
        ),
        signing.TimestampSigner(salt=rx._SALT).sign(
            f"{open_prescription.pk}:0000000000000000"
        ),  # mauvais nonce
        "n-importe-quoi",
    ]
    for bad in forged:
        response = client.get(reverse("catalogue:answer", args=[bad]))
        assert response.status_code == 403, bad
        assert "Ce lien de réponse n'est pas valide." in page(response) or "plus valide" in page(response)
        post = client.post(
            reverse("catalogue:answer", args=[bad]), {"decision": "accept", "answerer_name": "X"}
        )
        assert post.status_code == 403
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.OPEN
    assert value and signature


def test_expired_link_refused(client, open_prescription, monkeypatch):
    nine_days_ago = time.time() - 9 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: nine_days_ago)
    old_token = token_of(open_prescription)
    monkeypatch.undo()

    response = client.post(
        reverse("catalogue:answer", args=[old_token]), {"decision": "accept", "answerer_name": "Paul Martin"}
    )

    assert response.status_code == 410
    assert "Ce lien de réponse a expiré. Demandez un nouveau lien au prescripteur." in page(response)
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.OPEN
    # Un nouveau lien fonctionne.
    assert client.get(reverse("catalogue:answer", args=[token_of(open_prescription)])).status_code == 200


def test_link_invalid_after_anonymisation(client, open_prescription):
    token = token_of(open_prescription)
    rx.process_due(now=timezone.now() + datetime.timedelta(days=731))
    assert client.get(reverse("catalogue:answer", args=[token])).status_code == 403


# --- espace structure --------------------------------------------------------------------------------------


def test_structure_space_lists_received_prescriptions(
    client, partner_agent, referent, departement, bike_service, django_assert_max_num_queries
):
    for _ in range(15):
        prescribe(referent, BeneficiaryFactory(departement=departement), bike_service)
    client.force_login(partner_agent)
    with django_assert_max_num_queries(12):
        html = page(client.get(reverse("catalogue:structure_space")))
    assert "Atelier vélo solidaire" in html
    assert html.count("Atelier de réparation de vélos") >= 15


def test_prescribe_starts_by_choosing_the_person(client, referent, person, bike_service):
    client.force_login(referent)
    url = reverse("catalogue:prescribe", args=[bike_service.pk])
    html = page(client.get(url, {"q": "Lebreton"}))
    assert "Lebreton" in html
    assert f"personne={person.pk}" in html or f'value="{person.pk}"' in html


def test_structure_answers_from_its_space(client, partner_agent, open_prescription):
    client.force_login(partner_agent)
    url = reverse("catalogue:received_prescription", args=[open_prescription.pk])
    assert "Nadia" in page(client.get(url))
    client.post(url, {"decision": "refuse", "refusal_reason": "not_eligible", "comment": ""})
    open_prescription.refresh_from_db()
    assert open_prescription.status == PrescriptionStatus.REFUSED
    log = open_prescription.logs.get(action="refused")
    assert log.actor == partner_agent


def test_other_structure_cannot_see_received_prescription(client, departement, open_prescription):
    other_org = OrganisationFactory(kind="structure", name="Autre structure", departement=departement)
    make_structure(organisation=other_org)
    agent = MembershipFactory(organisation=other_org, role="referent").user
    client.force_login(agent)
    assert (
        client.get(reverse("catalogue:received_prescription", args=[open_prescription.pk])).status_code == 404
    )


def test_partner_edits_only_its_own_local_services(client, partner_agent, partner_org, departement, referent):
    structure = make_structure(
        origin="local", source="parcours", organisation=partner_org, nom="Atelier local"
    )
    own = make_service(structure, at=LILLE, nom="Réparation accompagnée")
    imported = make_service(at=LILLE, nom="Service importé")
    client.force_login(partner_agent)
    form = {
        "nom": "Réparation accompagnée de vélos",
        "description": "Atelier de réparation de vélos encadré par un mécanicien, pour garder son moyen de transport.",
        "thematiques": ["mobilite--entretenir-reparer-son-vehicule"],
        "modes_accueil": ["en-presentiel"],
        "code_insee": "59350",
        "commune": "Lille",
        "code_postal": "59000",
        "zone_eligibilite": "59350, 59512",
        "courriel": "velo@atelier.fr",
        "volume_horaire_hebdomadaire": "3",
        "nombre_semaines": "10",
        "is_published": "on",
    }
    response = client.post(reverse("catalogue:service_edit", args=[own.pk]), form)
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.nom == "Réparation accompagnée de vélos"
    assert own.zone_eligibilite == ["59350", "59512"]
    assert own.schema_valid and own.date_maj == timezone.localdate()

    invalid = client.post(
        reverse("catalogue:service_edit", args=[own.pk]), {**form, "courriel": "pas un courriel"}
    )
    assert "La valeur n'est pas un courriel valide." in page(invalid)

    redirected = client.get(reverse("catalogue:service_edit", args=[imported.pk]))
    assert redirected.status_code == 302  # importé : se modifie chez son producteur
    client.force_login(referent)
    assert client.get(reverse("catalogue:service_edit", args=[own.pk])).status_code == 403
    assert Service.objects.get(pk=own.pk).nom == "Réparation accompagnée de vélos"


def test_departement_admin_creates_structure_then_service(
    client, dep_admin, referent, partner_org, departement
):
    client.force_login(referent)
    assert client.get(reverse("catalogue:structure_create")).status_code == 403
    client.force_login(dep_admin)
    response = client.post(
        reverse("catalogue:structure_create"),
        {
            "nom": "Maison de l'emploi de Lille",
            "description": "Accueil et accompagnement vers l'emploi des habitants de la métropole lilloise.",
            "code_insee": "59350",
            "commune": "Lille",
            "code_postal": "59000",
            "courriel": "contact@mde-lille.fr",
            "organisation": partner_org.pk,
        },
    )
    assert response.status_code == 302
    structure = partner_org.catalogue_structures.get()
    assert (structure.origin, structure.source, structure.departement) == ("local", "parcours", departement)
    assert structure.di_id.startswith("parcours--") and structure.schema_valid

    response = client.post(
        reverse("catalogue:service_create", args=[structure.pk]),
        {
            "nom": "Atelier CV et lettre de motivation",
            "description": "Atelier collectif pour rédiger son CV et préparer ses candidatures, chaque mardi.",
            "type": "atelier",
            "thematiques": ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"],
            "frais": "gratuit",
            "publics": ["beneficiaires-des-minimas-sociaux"],
            "modes_accueil": ["en-presentiel"],
            "code_insee": "59350",
            "commune": "Lille",
            "code_postal": "59000",
            "adresse": "1 place de la République",
            "zone_eligibilite": "200093201",
            "courriel": "ateliers@mde-lille.fr",
            "modes_mobilisation": ["envoyer-un-courriel"],
            "mobilisable_par": ["professionnels"],
            "volume_horaire_hebdomadaire": "3",
            "nombre_semaines": "4",
            "is_published": "on",
        },
    )
    service = structure.services.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:service_detail", args=[service.pk])
    assert service.schema_valid and service.quality_score is not None
    assert service.zone_eligibilite == ["200093201"]
    detail = page(client.get(response["Location"]))
    assert "Atelier CV et lettre de motivation" in detail
    assert client.get("/api/v1/catalogue/services").json()["items"][0]["id"] == service.di_id


def test_service_page_shows_schema_issues_and_quality_score(client, dep_admin, communes, di_files):
    """Le score de qualité data·inclusion est montré aux administrateurs du Département (pas aux agents)."""
    from parcours.catalogue.importers import import_catalogue

    import_catalogue([di_files / "api" / "valideur-sample-dataset.xlsx"])
    service = Service.objects.get(di_id="53669028-8862-4f42-a80c-d3f269456edc")
    client.force_login(dep_admin)
    html = page(client.get(reverse("catalogue:service_detail", args=[service.pk])))
    assert "Score de qualité : 0,89" in html or "Score de qualité : 0.89" in html
    assert "nombre_semaines : La valeur doit être un nombre entier. Valeur ignorée." in html
    assert "(valeur : « beaucoup »)" in html
