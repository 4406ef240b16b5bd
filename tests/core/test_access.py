"""Matrice d'accès : chaque URL enregistrée déclare son accès, et les refus sont vérifiés pour tous.

- une vue sans ``@access`` (ou ``declare``) fait échouer ce test ;
- sans connexion, toute page non publique renvoie vers la connexion et toute opération d'API répond 401 ;
- connecté sans organisation, les pages réservées aux agents et au DPO répondent 403 ;
- pour chaque rôle d'un autre Département, les pages du dossier d'une personne répondent 403 ou 404 et
  rien n'est écrit au journal d'accès ; dans le périmètre, la lecture est journalisée.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from parcours.accounts.models import OrganisationKind, Role
from parcours.api.main import api
from parcours.audit.models import AccessLog
from parcours.core.access import Level, policy_of
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

# Routes servies par des outils qui ont leur propre contrôle d'accès.
DELEGATED_PREFIXES = ("admin/", "api/v1/")
CONVERTER = re.compile(r"<(?:(?P<type>\w+):)?(?P<name>\w+)>")
SAMPLE = {
    "int": "987654",
    "str": "inconnu",
    "slug": "inconnu",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _walk(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _routes():
    return [
        (route, pattern)
        for route, pattern in _walk(get_resolver())
        if not route.startswith(DELEGATED_PREFIXES)
    ]


def _url(route, **values):
    def fill(match):
        name, kind = match.group("name"), match.group("type") or "str"
        return str(values.get(name, SAMPLE.get(kind, "inconnu")))

    return "/" + CONVERTER.sub(fill, route)


ROUTES = _routes()
ROUTE_IDS = [route or "/" for route, _ in ROUTES]


def test_every_registered_view_declares_its_access():
    missing = [
        f"/{route} ({pattern.lookup_str})" for route, pattern in ROUTES if policy_of(pattern.callback) is None
    ]
    assert not missing, "Vues sans déclaration d'accès (@access) :\n" + "\n".join(missing)


@pytest.mark.parametrize(("route", "pattern"), ROUTES, ids=ROUTE_IDS)
def test_anonymous_visitor_is_sent_to_login(client, route, pattern):
    policy = policy_of(pattern.callback)
    if policy is None or policy.level == Level.PUBLIC:
        pytest.skip("page publique")
    for method in ("get", "post"):
        response = getattr(client, method)(_url(route))
        assert response.status_code == 302, f"{method.upper()} /{route} : {response.status_code}"
        assert response.url.startswith("/connexion/")


@pytest.mark.parametrize(("route", "pattern"), ROUTES, ids=ROUTE_IDS)
def test_user_without_organisation_is_refused_agent_pages(client, route, pattern):
    policy = policy_of(pattern.callback)
    if policy is None or policy.level not in (Level.AGENT, Level.DPO):
        pytest.skip("page ouverte à toute personne connectée")
    user = MembershipFactory(is_active=False).user
    client.force_login(user)
    assert client.get(_url(route)).status_code == 403


PERSON_ROUTES = [
    (route, pattern)
    for route, pattern in ROUTES
    if (policy := policy_of(pattern.callback)) is not None and isinstance(policy.person, str)
]
ROLES = [
    (OrganisationKind.DEPARTEMENT, role)
    for role in (Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT, Role.MANAGER)
] + [(OrganisationKind.DEPARTEMENT, Role.DPO), (OrganisationKind.FRANCE_TRAVAIL, Role.REFERENT)]


def test_person_routes_are_found():
    assert len(PERSON_ROUTES) >= 2  # la fiche et le NIR au moins : le parcours ci-dessous n'est pas vide


@pytest.mark.parametrize(("kind", "role"), ROLES, ids=[f"{k}-{r}" for k, r in ROLES])
def test_other_departement_never_reads_a_person_file(client, kind, role):
    person = BeneficiaryFactory()  # Ille-et-Vilaine
    loire = DepartementFactory(departement_code="44", name="Loire-Atlantique")
    organisation = (
        loire if kind == OrganisationKind.DEPARTEMENT else OrganisationFactory(kind=kind, departement=loire)
    )
    client.force_login(MembershipFactory(organisation=organisation, role=role).user)
    checked = 0
    for route, pattern in PERSON_ROUTES:
        url = _url(route, **{policy_of(pattern.callback).person: person.pk})
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            assert status in (403, 404, 405), f"{method.upper()} {url} : {status} pour {kind}/{role}"
            checked += 1
    assert checked == 2 * len(PERSON_ROUTES)
    assert not AccessLog.objects.filter(beneficiary_id=person.pk).exists()


def test_reading_a_person_file_in_scope_is_audit_logged(client):
    person = BeneficiaryFactory()
    membership = MembershipFactory(organisation=person.departement, role=Role.ORIENTATION_MANAGER)
    client.force_login(membership.user)
    response = client.get(f"/beneficiaires/{person.pk}/")
    assert response.status_code == 200
    entry = AccessLog.objects.get(beneficiary_id=person.pk)
    assert entry.user_label == membership.user.email
    assert entry.departement_id == person.departement_id
    assert entry.view == "beneficiary_detail"
    assert entry.action == "read"


def test_the_state_and_the_dpo_do_not_browse_person_files(client):
    # Nom fixé : un nom tiré au hasard pouvait être aussi celui de l'agent connecté (affiché dans l'en-tête).
    person = BeneficiaryFactory(last_name="Kerhervé-Nominoë")
    for organisation, role in (
        (OrganisationFactory(kind=OrganisationKind.ETAT, departement=person.departement), Role.MANAGER),
        (person.departement, Role.DPO),
    ):
        client.force_login(MembershipFactory(organisation=organisation, role=role).user)
        assert client.get(f"/beneficiaires/{person.pk}/").status_code == 404
        assert person.last_name not in client.get("/beneficiaires/").content.decode()


PUBLIC_API_MARK = "x-parcours-acces"
API_OPERATIONS = [
    (path, method.upper(), operation)
    for path, methods in api.get_openapi_schema()["paths"].items()
    for method, operation in methods.items()
    if method in ("get", "post", "put", "patch", "delete")
]
API_IDS = [f"{method} {path}" for path, method, _ in API_OPERATIONS]


def test_api_operations_are_found():
    assert API_OPERATIONS


@pytest.mark.parametrize(("path", "method", "operation"), API_OPERATIONS, ids=API_IDS)
def test_every_api_operation_declares_its_access(path, method, operation):
    """Une opération est authentifiée (``security``) ou déclarée publique (``x-parcours-acces``)."""
    declared_public = operation.get(PUBLIC_API_MARK) == "public"
    assert bool(operation.get("security")) != declared_public, f"{method} {path} : accès non déclaré"


@pytest.mark.parametrize(("path", "method", "operation"), API_OPERATIONS, ids=API_IDS)
def test_api_requires_authentication(client, path, method, operation):
    if operation.get(PUBLIC_API_MARK) == "public":
        pytest.skip("opération publique déclarée (données ouvertes)")
    url = re.sub(r"\{[^}]+\}", "1", path)
    response = client.generic(method, url, data="{}", content_type="application/json")
    assert response.status_code == 401, f"{method} {url} : {response.status_code}"
    assert response.json()["code"] == "authentification_requise"
