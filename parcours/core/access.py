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

Capacité : ``@access(Level.AGENT, requires=ORIENTATION_TEAM)`` — une ``Capability`` déclarée dans
``parcours.accounts.roles`` (l'un de ces rôles dans une organisation de tel type) ; vérifiée ici, avant la vue
(403 avec le message de la capacité). Le menu (``context_processors.navigation``) lit les mêmes déclarations
(``allows``) : il n'affiche que les pages que l'agent peut ouvrir.

Les appartenances de l'agent sont lues une fois par requête (``parcours.accounts.roles.memberships_of``).
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
    requires: object = None  # capacité exigée (``parcours.accounts.roles.Capability``) ou None

    def allows(self, user):
        """Vrai si ``user`` passe cette déclaration (niveau et capacité), sans requête au-delà des appartenances
        gardées pour la requête. Sert au menu : aucune entrée ne mène à un refus."""
        if self.level == Level.PUBLIC:
            return True
        if user is None or not user.is_authenticated:
            return False
        if self.level == Level.AGENT and not has_active_membership(user):
            return False
        if self.level == Level.DPO and not is_dpo(user):
            return False
        return self.requires is None or self.requires.allows(user)

    def person_id(self, kwargs):
        if self.person is None:
            return None
        if callable(self.person):
            return self.person(kwargs)
        return kwargs.get(self.person)


def has_active_membership(user):
    from parcours.accounts.roles import memberships_of

    return user.is_superuser or bool(memberships_of(user))


def is_dpo(user):
    from parcours.accounts.roles import DATA_PROTECTION, memberships_of

    return user.is_superuser or any(m.role in DATA_PROTECTION for m in memberships_of(user))


def check_level(request, level, requires=None):
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
    if requires is not None and not requires.allows(user):
        raise PermissionDenied(requires.message)
    return None


def access(level, *, person=None, description="", requires=None):
    """Déclare et applique le niveau d'accès d'une vue (et la capacité exigée, ``requires``) ; journalise la
    lecture du dossier d'une personne."""
    policy = AccessPolicy(Level(level), person, description, requires)

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            refusal = check_level(request, policy.level, policy.requires)
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
