"""Déclaration d'accès des vues : un seul mécanisme, utilisé par toutes les pages.

Chaque vue enregistrée dans les URL porte ``@access(...)`` : le niveau minimal d'accès (vérifié ici,
avant la vue), et, pour les pages qui montrent le dossier d'une personne, comment retrouver cette
personne pour journaliser la lecture (``parcours.audit``). Le périmètre fin (organisation, territoire,
portefeuille) reste vérifié par la vue à partir des ensembles restreints
(``Beneficiary.objects.visible_to(user)`` et équivalents) : une personne hors périmètre donne 404.

Le test ``tests/core/test_access.py`` parcourt toutes les URL : une vue sans déclaration le fait échouer.

Niveaux :
- ``PUBLIC`` : sans connexion (santé, connexion, lien signé vérifié par la vue) ;
- ``AUTHENTICATED`` : toute personne connectée (agent ou bénéficiaire) ;
- ``AGENT`` : agent ayant au moins une appartenance active à une organisation (ou super-utilisateur) ;
- ``DPO`` : délégué à la protection des données (rôle ``dpo``) ou super-utilisateur.
"""

import functools
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


class Level(StrEnum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    AGENT = "agent"
    DPO = "dpo"


@dataclass(frozen=True)
class AccessPolicy:
    level: Level
    person: object = None  # nom du paramètre d'URL (identifiant du bénéficiaire) ou fonction(kwargs) -> id
    description: str = ""

    def person_id(self, kwargs):
        if self.person is None:
            return None
        if callable(self.person):
            return self.person(kwargs)
        return kwargs.get(self.person)


def has_active_membership(user):
    from parcours.accounts.models import Membership

    return user.is_superuser or Membership.objects.filter(user=user, is_active=True).exists()


def is_dpo(user):
    from parcours.accounts.models import Membership, Role

    return user.is_superuser or Membership.objects.filter(user=user, is_active=True, role=Role.DPO).exists()


def check_level(request, level):
    """Renvoie une réponse de refus (redirection vers la connexion) ou None ; lève PermissionDenied."""
    if level == Level.PUBLIC:
        return None
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if level == Level.AGENT and not has_active_membership(user):
        raise PermissionDenied("Accès réservé aux agents rattachés à une organisation.")
    if level == Level.DPO and not is_dpo(user):
        raise PermissionDenied("Accès réservé au délégué à la protection des données.")
    return None


def access(level, *, person=None, description=""):
    """Déclare et applique le niveau d'accès d'une vue ; journalise la lecture du dossier d'une personne."""
    policy = AccessPolicy(Level(level), person, description)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            refusal = check_level(request, policy.level)
            if refusal is not None:
                return refusal
            response = view(request, *args, **kwargs)
            if policy.person is not None and response.status_code < 400:
                person_id = policy.person_id(kwargs)
                if person_id is not None:
                    from parcours.audit.services import record_person_access

                    record_person_access(request, person_id)
            return response

        wrapped.access_policy = policy
        return wrapped

    return decorator


def declare(view, level, description=""):
    """Déclare l'accès d'une vue tierce (vues génériques de Django) ; le contrôle reste le sien."""
    view.access_policy = AccessPolicy(Level(level), None, description)
    return view


def policy_of(callback):
    """La déclaration d'accès d'une vue résolue, ou None."""
    seen = set()
    while callback is not None and id(callback) not in seen:
        seen.add(id(callback))
        policy = getattr(callback, "access_policy", None)
        if policy is not None:
            return policy
        callback = getattr(callback, "view_class", None) or getattr(callback, "__wrapped__", None)
    return None


def person_of(model_label, kwarg, field="beneficiary_id"):
    """Pour ``access(person=…)`` : la personne d'un objet désigné par l'URL (ex. un contrat)."""

    def resolve(kwargs):
        from django.apps import apps

        if kwarg not in kwargs:
            return None
        model = apps.get_model(model_label)
        return model._default_manager.filter(pk=kwargs[kwarg]).values_list(field, flat=True).first()

    resolve.__name__ = f"person_of_{model_label.replace('.', '_')}"
    return resolve
