import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from parcours.api.main import api
from parcours.interop.models import ApiToken, PartnerSystem


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_command_shows_the_token_once_and_stores_only_its_digest(france_travail):
    output = run(
        "interop-token",
        "France Travail Redon",
        "Logiciel FT",
        "--scopes",
        "personnes:lecture",
        "rendez-vous:ecriture",
        "--json",
    )
    result = json.loads(output)
    token = result["jeton"]
    partner = PartnerSystem.objects.get(pk=result["systeme"])
    assert partner.organisation == france_travail
    assert partner.scopes == ["personnes:lecture", "rendez-vous:ecriture"]
    stored = ApiToken.objects.get(partner=partner)
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.prefix, stored.digest}
    # Son compte technique signe ses écritures dans le journal, sans pouvoir se connecter.
    assert partner.service_user.is_active is False
    assert not partner.service_user.has_usable_password()
    assert str(partner.service_user) == "Logiciel FT (France Travail Redon)"
    # Un second jeton pour le même système : le premier reste valable, aucun n'est relisible.
    second = run("interop-token", str(france_travail.pk), "Logiciel FT")
    assert "il ne sera plus affiché" in second
    assert partner.tokens.count() == 2


def test_command_rejects_unknown_scope_and_organisation(france_travail):
    with pytest.raises(CommandError, match="Portée inconnue : tout:faire"):
        run("interop-token", "France Travail Redon", "X", "--scopes", "tout:faire")
    with pytest.raises(CommandError, match="introuvable"):
        run("interop-token", "Agence inconnue", "X", "--scopes", "personnes:lecture")
    assert not PartnerSystem.objects.exists()


def test_bearer_and_api_key_headers_authenticate(client, departement, make_partner):
    _, token = make_partner(departement, ["personnes:lecture"])
    assert client.get("/api/v1/interop/personnes", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get("/api/v1/interop/personnes", HTTP_X_API_KEY=token).status_code == 200


def test_missing_bad_or_revoked_token_is_refused_in_french(client, departement, make_partner):
    partner, token = make_partner(departement, ["personnes:lecture"])
    response = client.get("/api/v1/interop/personnes")
    assert response.status_code == 401
    assert response.json() == {"code": "authentification_requise", "message": "Authentification requise."}
    assert client.get("/api/v1/interop/personnes", HTTP_X_API_KEY="prc_faux").status_code == 401
    ApiToken.objects.filter(partner=partner).update(revoked_at=timezone.now())
    assert client.get("/api/v1/interop/personnes", HTTP_X_API_KEY=token).status_code == 401


def test_inactive_partner_is_refused(client, departement, make_partner):
    partner, token = make_partner(departement, ["personnes:lecture"])
    partner.active = False
    partner.save()
    assert client.get("/api/v1/interop/personnes", HTTP_X_API_KEY=token).status_code == 401


def test_scope_is_checked_per_operation(client, departement, make_partner):
    _, token = make_partner(departement, ["personnes:lecture"])
    response = client.get("/api/v1/interop/orientations", HTTP_X_API_KEY=token)
    assert response.status_code == 403
    assert response.json()["message"] == "Ce système partenaire n'a pas la portée « orientations:lecture »."


def test_session_of_an_agent_does_not_open_the_partner_api(client, manager):
    client.force_login(manager)
    assert client.get("/api/v1/interop/personnes").status_code == 401


def test_every_interop_operation_declares_token_security_and_french_docs():
    schema = api.get_openapi_schema()
    operations = [
        (path, method, op)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/interop/")
        for method, op in methods.items()
    ]
    # Dont les écritures du parcours (orientations, référents, fins de suivi) et les sanctions (3 lectures).
    assert len(operations) == 27
    for path, method, op in operations:
        assert {"JetonBearer": []} in op["security"], f"{method} {path}"
        assert {"JetonApiKey": []} in op["security"], f"{method} {path}"
        assert op["summary"] and "Portée requise" in op["description"], f"{method} {path}"
    schemes = schema["components"]["securitySchemes"]
    assert schemes["JetonBearer"] == {"type": "http", "scheme": "bearer"}
    assert schemes["JetonApiKey"]["name"] == "X-Api-Key"
    post = schema["paths"]["/api/v1/interop/rendez-vous/{appointment_id}/presence"]["post"]
    header = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] is True and header["in"] == "header"
