"""Règles de l'interopérabilité : jetons, périmètre d'un système partenaire, idempotence des écritures.

Appelées par l'API (``api.py``) et la ligne de commande ; les changements d'état métier passent toujours
par les services des applications propriétaires (ex. ``orientation.services.record_attendance``), qui
écrivent le journal des parcours.
"""

import hashlib
import json
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind, User
from parcours.beneficiaries.models import Beneficiary, FollowUp

from .models import ApiToken, IdempotencyRecord, PartnerSystem, Scope

TOKEN_PREFIX = "prc_"


def digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def find_organisation(text):
    """Organisation désignée par son identifiant, son code de Département ou son nom exact."""
    text = (text or "").strip()
    query = Q(name__iexact=text) | Q(departement_code=text, kind=OrganisationKind.DEPARTEMENT)
    if text.isdigit():
        query |= Q(pk=int(text))
    found = list(Organisation.objects.filter(query)[:2])
    if len(found) != 1:
        raise ValidationError(
            f"Organisation « {text} » : {'introuvable' if not found else 'ambiguë (précisez son identifiant)'}."
        )
    return found[0]


def clean_scopes(scopes):
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            f"Portée inconnue : {', '.join(unknown)} (portées possibles : {', '.join(Scope.values)})."
        )
    return sorted(set(scopes))


@transaction.atomic
def issue_token(organisation, name, scopes):
    """Crée (ou met à jour) le système partenaire et lui délivre un nouveau jeton, renvoyé en clair une fois."""
    scopes = clean_scopes(scopes)
    partner, created = PartnerSystem.objects.get_or_create(
        organisation=organisation, name=name.strip(), defaults={"scopes": scopes}
    )
    if not created and scopes:
        partner.scopes = scopes
        partner.save(update_fields=["scopes"])
    ensure_service_user(partner)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(partner=partner, prefix=token[:12], digest=digest(token))
    return partner, token


def ensure_service_user(partner):
    """Compte technique du système (sans mot de passe, inactif : il ne se connecte jamais) qui signe ses
    écritures dans le journal des parcours."""
    if partner.service_user_id is None:
        partner.service_user = User.objects.create(
            email=f"systeme-{partner.pk}@interop.parcours.invalid",
            first_name=partner.name[:150],
            last_name=f"({partner.organisation.name})"[:150],
            is_active=False,
        )
        partner.service_user.set_unusable_password()
        partner.service_user.save(update_fields=["password"])
        partner.save(update_fields=["service_user"])
    return partner.service_user


def authenticate(token):
    """Le système partenaire actif qui porte ce jeton (ou ``None``)."""
    if not token or len(token) > 200:
        return None
    api_token = (
        ApiToken.objects.filter(digest=digest(token), revoked_at__isnull=True, partner__active=True)
        .select_related("partner__organisation__departement", "partner__service_user")
        .first()
    )
    if api_token is None:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.partner


# --- périmètre -----------------------------------------------------------------------------------------------


def people_q(partner, prefix=""):
    """Filtre des personnes que voit le système : son Département entier, ou les personnes que suit
    (``FollowUp`` en cours) l'organisation partenaire — comme ``Beneficiary.objects.visible_to``."""
    org = partner.organisation
    if org.kind == OrganisationKind.DEPARTEMENT:
        return Q(**{f"{prefix}departement_id": org.pk})
    if org.kind == OrganisationKind.ETAT:
        return Q(pk__in=[])  # l'État ne voit que des agrégats
    followed = FollowUp.objects.following(org).values("beneficiary")
    return Q(**{f"{prefix}pk__in": followed})


def visible_people(partner):
    return Beneficiary.objects.filter(people_q(partner))


def visible_person(partner, beneficiary_id):
    """La personne ``beneficiary_id`` si elle est dans le périmètre du système, sinon None."""
    return visible_people(partner).filter(pk=beneficiary_id).first()


def sees_nir(partner):
    """Seul le système du Département reçoit le NIR."""
    return partner.organisation.kind == OrganisationKind.DEPARTEMENT


def is_visible(partner, beneficiary_id, organisation_id=None):
    if organisation_id is not None and organisation_id == partner.organisation_id:
        return True
    return visible_people(partner).filter(pk=beneficiary_id).exists()


def orientations_q(partner):
    """Décisions des personnes du périmètre, et celles qui orientent vers l'organisation du système."""
    return people_q(partner, "beneficiary__") | Q(organisation_id=partner.organisation_id)


def appointments_q(partner, model):
    """Rendez-vous des personnes du périmètre, et ceux où l'organisation du système est présente."""
    through = model.organisations.through
    present = Exists(
        through.objects.filter(appointment_id=OuterRef("pk"), organisation_id=partner.organisation_id)
    )
    return people_q(partner, "beneficiary__") | Q(present)


def rights_q(partner):
    """Droits RSA des foyers dont une personne au moins est dans le périmètre."""
    return Q(household__in=visible_people(partner).order_by().values("household"))


def prescriptions_q(partner):
    """Prescriptions des personnes du périmètre, et celles reçues par les structures du catalogue
    rattachées à l'organisation du système (comme l'espace structure des agents)."""
    return people_q(partner, "beneficiary__") | Q(structure__organisation_id=partner.organisation_id)


def indicator_departement(partner):
    """Le Département dont relève l'organisation du système (lui-même pour un Département)."""
    return partner.organisation.home_departement


def countable_people(partner):
    """Personnes que le système peut compter dans des agrégats (jamais de liste) — comme
    ``Beneficiary.objects.countable_by`` : son périmètre, et tout son Département pour les services de
    l'État qui lui sont rattachés."""
    org = partner.organisation
    if org.kind == OrganisationKind.ETAT:
        if org.departement_id is None:
            return Beneficiary.objects.none()
        return Beneficiary.objects.filter(departement_id=org.departement_id)
    return visible_people(partner)


# --- idempotence ----------------------------------------------------------------------------------------------


class IdempotencyConflict(Exception):
    pass


def request_hash(method, path, body):
    canonical = json.dumps({"m": method, "p": path, "b": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(partner, key, fingerprint, perform):
    """Exécute ``perform()`` (qui renvoie ``(statut, corps)``) une seule fois par clé.

    Même clé et même requête : la réponse mémorisée est renvoyée sans rien refaire (``rejouee=True``) ;
    même clé et requête différente : ``IdempotencyConflict``.
    """
    record = IdempotencyRecord.objects.filter(partner=partner, key=key).first()
    if record is None:
        try:
            with transaction.atomic():
                status, body = perform()
                if status >= 500:
                    return status, body, False
                IdempotencyRecord.objects.create(
                    partner=partner, key=key, request_hash=fingerprint, status_code=status, response=body
                )
                return status, body, False
        except IntegrityError:
            # Requête concurrente avec la même clé : elle a gagné, on rejoue sa réponse.
            record = IdempotencyRecord.objects.filter(partner=partner, key=key).first()
            if record is None:
                raise
    if record.request_hash != fingerprint:
        raise IdempotencyConflict()
    return record.status_code, record.response, True
