"""Connecteur France Travail « Offres d'emploi v2 » : offres enregistrées (fixtures/francetravail_offres/,
Ille-et-Vilaine), lues par tranches (206 + Content-Range) et appliquées par les règles de l'import des offres."""

import datetime
import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone
from responses import matchers

from parcours.connectors.francetravail_offers import commune_name, contract_months, sync, weekly_hours
from parcours.connectors.http import ConnectorError
from parcours.connectors.models import Connector, ConnectorRun
from parcours.employers.imports import import_offers
from parcours.employers.models import Employer, JobOffer, OfferSource
from tests.factories import UserFactory

from .conftest import FT_TOKEN_URL, fixture_json

pytestmark = pytest.mark.django_db

OFFERS_URL = "https://api.ft.example.test/partenaire/offresdemploi/v2"
SEARCH = f"{OFFERS_URL}/offres/search"
ADMR_SIRET = "77561234400033"


@pytest.fixture(autouse=True)
def _offers_settings(settings):
    settings.PARCOURS_CONNECTORS = {
        **settings.PARCOURS_CONNECTORS,
        "francetravail_offres": {
            "base_url": OFFERS_URL,
            "token_url": FT_TOKEN_URL,
            "client_id": "PAR_parcours_offres_cd35",
            "client_secret": "secret-de-test",
            "page_size": 3,
        },
    }


@pytest.fixture
def admr(departement):
    """Employeur déjà connu dans Parcours (saisi par un chargé de relation entreprises)."""
    return Employer.objects.create(
        departement=departement, siret=ADMR_SIRET, name="ADMR du Pays de Redon", commune_code="35236"
    )


def token(mock, status=200, fixture="token.json"):
    mock.add(
        responses.POST, FT_TOKEN_URL, json=fixture_json(f"francetravail_offres/{fixture}"), status=status
    )


def tranche(mock, start, end, fixture, *, status=206, total=7, extra=None):
    headers = {"Content-Range": f"offres {start}-{min(end, total - 1)}/{total}"} if status == 206 else None
    mock.add(
        responses.GET,
        SEARCH,
        json=fixture_json(f"francetravail_offres/{fixture}"),
        status=status,
        headers=headers,
        match=[
            matchers.query_param_matcher({"departement": "35", "range": f"{start}-{end}", **(extra or {})})
        ],
    )


def register(mock, first="offres-0-2.json", extra=None):
    token(mock)
    tranche(mock, 0, 2, first, extra=extra)
    tranche(mock, 3, 5, "offres-3-5.json", extra=extra)
    tranche(mock, 6, 8, "offres-6-8.json", extra=extra)


def searches(mock):
    return [c for c in mock.calls if c.request.url.startswith(SEARCH)]


def test_offers_of_the_departement_are_read_by_slices_and_applied(mocked, departement, admr):
    register(mocked)

    report = sync(departement, full=True)

    assert (report["read"], report["created"], report["updated"], report["unchanged"]) == (7, 4, 0, 0)
    assert report["employers_created"] == 3  # l'ADMR existait déjà
    assert report["skipped"] == {
        "sans_siret": 1,
        "hors_departement": 1,
        "contrat": 1,
        "employeur_sans_nom": 0,
        "invalide": 0,
    }
    (warning,) = report["warnings"]
    assert warning["id"] == "201KXWH"
    assert warning["message"] == (
        "Offre 201KXWH : type de contrat « LIB » (Profession libérale) non repris "
        "(seuls CDI, CDD, MIS et SAI le sont)."
    )
    # Trois tranches de 3 (206 + Content-Range), jeton « client credentials » au scope de l'API offres.
    assert len(searches(mocked)) == 3
    (token_call,) = [c for c in mocked.calls if c.request.url == FT_TOKEN_URL]
    form = parse_qs(token_call.request.body)
    assert form["scope"] == ["api_offresdemploiv2 o2dsoffre"]
    assert form["client_id"] == ["PAR_parcours_offres_cd35"]
    assert all(c.request.headers["Authorization"] == "Bearer enregistre-jeton-0001" for c in searches(mocked))

    offers = {o.reference: o for o in JobOffer.objects.select_related("employer")}
    assert set(offers) == {"201KXQB", "201KXRC", "201KXSD", "201KXTF"}
    cleaning = offers["201KXQB"]
    assert (cleaning.employer.siret, cleaning.employer.name) == ("81234567600017", "NET'ARMOR PROPRETE")
    assert (cleaning.contract_type, cleaning.contract_months, cleaning.weekly_hours) == ("cdi", None, 24)
    assert (cleaning.rome_code, cleaning.commune_code, cleaning.commune_name) == ("K2204", "35238", "Rennes")
    assert cleaning.source == OfferSource.IMPORT
    interim = offers["201KXRC"]
    assert (interim.contract_type, interim.contract_months, interim.weekly_hours, interim.positions) == (
        "interim",
        3,
        35,
        2,
    )
    assert offers["201KXSD"].employer == admr
    assert (offers["201KXSD"].contract_type, offers["201KXSD"].contract_months) == ("cdd", 6)
    seasonal = offers["201KXTF"]  # saisonnier de 45 jours : CDD de 2 mois, 17 h 30 le week-end
    assert (seasonal.contract_type, seasonal.contract_months, seasonal.weekly_hours) == (
        "cdd",
        2,
        Decimal("17.5"),
    )
    assert (seasonal.commune_code, seasonal.commune_name, seasonal.positions) == (
        "35125",
        "La Guerche-de-Bretagne",
        6,
    )
    # Aucun employeur inventé pour l'offre sans SIRET, ni créé pour les offres laissées de côté.
    assert not Employer.objects.filter(siret__in=["38945612000028", "90112233300015"]).exists()
    assert Employer.objects.filter(departement=departement).count() == 4
    run = ConnectorRun.objects.get(pk=report["run_id"])
    assert (run.connector, run.status) == (Connector.FRANCE_TRAVAIL_OFFERS, ConnectorRun.Status.PARTIAL)


def test_second_run_with_the_same_offers_changes_nothing(mocked, departement, admr):
    register(mocked)
    sync(departement, full=True)

    again = sync(departement, full=True)

    assert (again["created"], again["updated"], again["unchanged"], again["employers_created"]) == (
        0,
        0,
        4,
        0,
    )
    assert JobOffer.objects.count() == 4 and Employer.objects.count() == 4


def test_offer_changed_at_france_travail_is_updated(mocked, departement, admr):
    register(mocked)
    sync(departement, full=True)
    mocked.replace(
        responses.GET,
        SEARCH,
        json=fixture_json("francetravail_offres/offres-0-2-v2.json"),
        status=206,
        headers={"Content-Range": "offres 0-2/7"},
        match=[matchers.query_param_matcher({"departement": "35", "range": "0-2"})],
    )

    report = sync(departement, full=True)

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 3)
    cleaning = JobOffer.objects.get(reference="201KXQB")
    assert (cleaning.positions, cleaning.weekly_hours) == (2, 30)


def test_offer_first_imported_from_csv_is_recognised_by_its_reference(mocked, departement, admr):
    import_offers(
        departement,
        "reference;siret;intitule;code_rome;type_contrat;duree_mois;heures_hebdo;code_insee;commune\n"
        f"201KXSD;{ADMR_SIRET};Aide à domicile (H/F);K1302;cdd;6;28;35236;Redon\n",
        author=UserFactory(),
    )
    register(mocked)

    report = sync(departement, full=True)

    assert (report["created"], report["unchanged"]) == (3, 1)
    assert JobOffer.objects.filter(reference="201KXSD").count() == 1


def test_single_slice_answered_200_is_read_once(mocked, departement):
    token(mocked)
    tranche(mocked, 0, 2, "offres-6-8.json", status=200)

    report = sync(departement, full=True)

    assert len(searches(mocked)) == 1
    assert report["read"] == 1 and report["skipped"]["hors_departement"] == 1


def test_no_offer_204(mocked, departement):
    token(mocked)
    mocked.add(responses.GET, SEARCH, status=204)

    report = sync(departement, full=True)

    assert (report["read"], report["created"]) == (0, 0)


def test_since_filters_on_creation_date_and_defaults_to_the_day_before_the_last_run(
    mocked, departement, admr
):
    now = datetime.datetime(2026, 12, 3, 6, 30, tzinfo=datetime.UTC)
    window = {"minCreationDate": "2026-12-01T00:00:00Z", "maxCreationDate": "2026-12-03T06:30:00Z"}
    register(mocked, extra=window)

    report = sync(departement, since=datetime.date(2026, 12, 1), now=now)

    assert report["since"] == "2026-12-01" and report["created"] == 4
    # Sans --since : veille de la dernière exécution réussie (aujourd'hui ici).
    mocked.add(responses.GET, SEARCH, status=204)
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert sync(departement, now=now)["since"] == yesterday
    last = searches(mocked)[-1].request.url
    assert f"minCreationDate={yesterday}T00%3A00%3A00Z" in last


def test_api_index_limit_is_reported(mocked, departement, admr, settings):
    settings.PARCOURS_CONNECTORS["francetravail_offres"]["max_index"] = 5
    register(mocked)

    report = sync(departement, full=True)

    assert len(searches(mocked)) == 2
    assert report["warnings"][0]["message"] == (
        "L'API ne sert que les 6 premières offres sur 7 : les suivantes ne sont pas lues. "
        "Réduisez la période (--since)."
    )


def test_invalid_offer_is_skipped_with_its_reason_others_applied(mocked, departement):
    page = fixture_json("francetravail_offres/offres-0-2.json")
    page["resultats"][1]["romeCode"] = "Z9999"
    page["resultats"][2]["entreprise"] = {"siret": "77561234400033"}  # employeur inconnu, sans nom
    token(mocked)
    mocked.add(responses.GET, SEARCH, json=page, status=200)

    report = sync(departement, full=True)

    assert report["created"] == 1
    assert report["skipped"]["invalide"] == 1 and report["skipped"]["employeur_sans_nom"] == 1
    messages = [w["message"] for w in report["warnings"]]
    assert messages == [
        "Offre 201KXRC, champ « romeCode » : Code ROME « Z9999 » invalide : une lettre de A à N puis quatre "
        "chiffres (ex. : N1103).",
        "Offre 201KXSD : employeur 77561234400033 inconnu dans Parcours et sans raison sociale chez "
        "France Travail.",
    ]


def test_server_error_mid_way_writes_nothing(mocked, departement, admr):
    token(mocked)
    tranche(mocked, 0, 2, "offres-0-2.json")
    mocked.add(
        responses.GET,
        SEARCH,
        json=fixture_json("francetravail_offres/error-500.json"),
        status=500,
        match=[matchers.query_param_matcher({"departement": "35", "range": "3-5"})],
    )

    with pytest.raises(ConnectorError) as exc:
        sync(departement, full=True)

    assert exc.value.message == (
        "France Travail (offres d'emploi) : le service est en erreur (500) après 2 nouvelles tentatives. "
        "Réessayez plus tard ; si l'erreur persiste, prévenez l'éditeur du service."
    )
    assert "range=0-2" in searches(mocked)[0].request.url  # la première tranche avait été lue
    assert not JobOffer.objects.exists() and Employer.objects.count() == 1
    run = ConnectorRun.objects.get(connector=Connector.FRANCE_TRAVAIL_OFFERS)
    assert run.status == ConnectorRun.Status.FAILED and "500" in run.report["error"]


def test_access_refused_after_token_renewal_is_reported_in_french(mocked, departement):
    token(mocked)
    mocked.add(responses.GET, SEARCH, json=fixture_json("francetravail_offres/error-401.json"), status=401)

    with pytest.raises(
        ConnectorError, match=r"France Travail \(offres d'emploi\) : accès refusé \(401\)"
    ) as exc:
        sync(departement, full=True)

    assert "PARCOURS_FT_OFFRES_CLIENT_ID" in exc.value.message
    assert len([c for c in mocked.calls if c.request.url == FT_TOKEN_URL]) == 2  # un seul renouvellement
    assert not JobOffer.objects.exists()


def test_refused_client_credentials(mocked, departement):
    mocked.add(
        responses.POST, FT_TOKEN_URL, json=fixture_json("francetravail/token-invalid-client.json"), status=401
    )

    with pytest.raises(
        ConnectorError, match=r"demande de jeton refusée \(401\) : Client authentication failed"
    ):
        sync(departement, full=True)

    assert not searches(mocked)


def test_command_prints_a_french_summary_or_json(mocked, departement, admr, capsys):
    register(mocked)

    call_command("connector-francetravail-offres", "--departement", "35", "--full")

    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "Offres France Travail : 7 lues, 4 créées, 0 mise à jour, 0 inchangée ; 3 employeurs créés."
    )
    assert out[1] == "Laissées de côté : 1 sans SIRET, 1 hors du Département, 1 type de contrat non repris."
    assert out[2].startswith("Avertissement — Offre 201KXWH : type de contrat « LIB »")

    call_command("connector-francetravail-offres", "--departement", "35", "--full", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["created"], report["unchanged"]) == (0, 4)


def test_command_turns_connector_errors_into_command_errors(mocked, departement):
    mocked.add(
        responses.POST, FT_TOKEN_URL, json=fixture_json("francetravail/token-invalid-client.json"), status=401
    )

    with pytest.raises(CommandError, match="demande de jeton refusée"):
        call_command("connector-francetravail-offres", "--departement", "35")


@pytest.mark.parametrize(
    ("libelle", "expected"),
    [("35H Horaires normaux", "35"), ("17H30 Travail samedi et dimanche", "17.5"), ("Temps partiel", "")],
)
def test_weekly_hours(libelle, expected):
    assert weekly_hours(libelle) == expected


@pytest.mark.parametrize(
    ("libelle", "expected"),
    [
        ("Contrat à durée déterminée - 6 Mois", "6"),
        ("Travail saisonnier - 45 Jour(s)", "2"),
        ("Mission intérimaire - 10 Jour(s)", "1"),
        ("Contrat à durée indéterminée", ""),
    ],
)
def test_contract_months(libelle, expected):
    assert contract_months(libelle) == expected


def test_commune_name():
    assert commune_name("35 - SAINT-AUBIN-DU-CORMIER") == "Saint-Aubin-du-Cormier"
    assert commune_name("35 - Rennes") == "Rennes"
