import datetime
import json

import pytest
import requests
from django.utils import timezone

from parcours.accounts.models import OrganisationKind, Role
from parcours.interop import services, webhooks
from parcours.interop.models import Scope
from parcours.orientation import sms
from parcours.pathway import services as pathway
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

D = datetime.date
ALL_SCOPES = list(Scope.values)


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def departement(db):
    return DepartementFactory()


@pytest.fixture
def france_travail(departement):
    return OrganisationFactory(
        kind=OrganisationKind.FRANCE_TRAVAIL, name="France Travail Redon", departement=departement
    )


@pytest.fixture
def mission_locale(departement):
    return OrganisationFactory(
        kind=OrganisationKind.MISSION_LOCALE, name="Mission locale du Pays de Redon", departement=departement
    )


@pytest.fixture
def manager(departement):
    return MembershipFactory(
        organisation=departement,
        role=Role.ORIENTATION_MANAGER,
        user__email="charge.orientation@departement35.fr",
    ).user


@pytest.fixture
def person(departement):
    return BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        email="nadia.lebreton@example.org",
        phone="06 12 34 56 78",
        postal_code="35600",
        city="Redon",
        insee_code="35236",
        france_travail_id="FT0012345",
        birth_date=D(1988, 4, 2),
        new_entrant_t0=D(2026, 3, 1),
    )


def follow(person, organisation):
    """Suivi repris d'un autre logiciel (par le module du parcours, comme ``import-parcours``)."""
    return pathway.open_follow_up(person, organisation=organisation, on=D(2026, 3, 2), cause="import")


@pytest.fixture
def make_partner():
    """``make_partner(organisation, scopes)`` → (système, jeton en clair)."""

    def make(organisation, scopes=ALL_SCOPES, name="Logiciel partenaire"):
        return services.issue_token(organisation, name, scopes)

    return make


class Api:
    """Le client HTTP d'un système partenaire (jeton en ``Authorization: Bearer``)."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def get(self, path, **params):
        return self.client.get(f"/api/v1/interop/{path}", params, HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def post(self, path, body, key=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return self.client.post(
            f"/api/v1/interop/{path}", json.dumps(body), content_type="application/json", **headers
        )

    def pull_all(self, path, **params):
        """Lit toutes les pages ; renvoie (éléments, dernier curseur)."""
        items, cursor = [], params.pop("curseur", None)
        while True:
            query = dict(params, **({"curseur": cursor} if cursor else {}))
            page = self.get(path, **query).json()
            items += page["elements"]
            cursor = page["curseur_suivant"] or cursor
            if page["fin"]:
                return items, cursor


@pytest.fixture
def api_client(client):
    return lambda token: Api(client, token)


class FakeReceiver(requests.adapters.BaseAdapter):
    """Le serveur de webhooks d'un partenaire, branché comme transport de ``requests`` (aucun réseau).

    Vérifie la signature, écarte les doublons par identifiant d'événement ; ``fail_next`` simule des pannes.
    """

    def __init__(self, secret=None):
        super().__init__()
        self.secret = secret
        self.requests = []
        self.events = {}
        self.fail_next = 0
        self.status_when_failing = 503

    def send(self, request, **kwargs):
        self.requests.append(request)
        response = requests.Response()
        response.request = request
        response.url = request.url
        if self.fail_next:
            self.fail_next -= 1
            response.status_code = self.status_when_failing
            response._content = b"indisponible"
            return response
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        if self.secret and not webhooks.verify(self.secret, body, request.headers["X-Parcours-Signature"]):
            response.status_code = 401
            response._content = b"signature invalide"
            return response
        event = json.loads(body)
        assert event["id"] == request.headers["X-Parcours-Event-Id"]
        self.events.setdefault(event["id"], event)  # déduplication par identifiant d'événement
        response.status_code = 200
        response._content = b"ok"
        return response

    def close(self):
        pass


@pytest.fixture
def receiver(monkeypatch):
    """Transport factice pour toute session ouverte par les webhooks (https://partenaire.example/)."""
    fake = FakeReceiver()

    def new_session():
        session = requests.Session()
        session.mount("https://partenaire.example/", fake)
        return session

    monkeypatch.setattr(webhooks, "new_session", new_session)
    return fake


def past(hours=2):
    return timezone.now() - datetime.timedelta(hours=hours)
