"""Rôles et capacités : définis une fois, lus par toutes les applications.

- **ensembles de rôles**, nommés par capacité (``EDITING``, ``SENSITIVE``, ``PRESCRIBING``, ``TEAM``…) : un
  module qui vérifie un droit importe l'ensemble d'ici, jamais une copie ;
- **appartenances de l'agent** : ``memberships_of(user)`` les lit une fois (organisation et Département de
  rattachement compris) et les garde sur l'objet ``user`` — qui vit le temps d'une requête ; toutes les
  vérifications de la requête (décorateur ``@access``, menu, permissions de l'orientation, de
  l'accompagnement, du catalogue, périmètre ``visible_to``) relisent cette liste sans requête ;
- **capacités des pages** (``Capability``) : « l'agent a l'un de ces rôles dans une organisation de tel
  type », déclarées ici et passées à ``@access(..., requires=...)`` ; le décorateur refuse (403, message
  en français) avant la vue, et le menu n'affiche que les pages dont l'agent passe la déclaration.

Le périmètre (quelles personnes une organisation suit) n'est pas ici : ``parcours.beneficiaries.scope``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models.signals import post_delete, post_save

from .models import Membership, Organisation, OrganisationKind, Role

# --- ensembles de rôles (une capacité = un nom) ------------------------------------------------------------

#: administrer un Département (reprises, données internes du catalogue, conventions en écriture)
ADMINISTERING = frozenset({Role.ADMIN})
#: équipe d'orientation : files, décisions, désignation du référent ; au Département, NIR en clair et imports
TEAM = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER})
#: modifier le dossier d'une personne suivie (diagnostic, contrat, activités, sanctions)
EDITING = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT})
#: voir les données de santé du diagnostic
SENSITIVE = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT})
#: prescrire un service du catalogue
PRESCRIBING = frozenset({Role.ADMIN, Role.ORIENTATION_MANAGER, Role.REFERENT})
#: lecture seule (responsable) : voit son périmètre, ne modifie rien, ne voit pas la santé
READ_ONLY = frozenset({Role.MANAGER})
#: lire les conventions (le Département, ou l'État rattaché) ; ``ADMINISTERING`` les modifie
CONVENTION_READING = frozenset({Role.ADMIN, Role.MANAGER})
#: contrôler le journal d'accès (aucun dossier)
DATA_PROTECTION = frozenset({Role.DPO})
#: rôles qui donnent un périmètre de personnes (le DPO n'en a pas)
WITH_PEOPLE = frozenset(Role) - DATA_PROTECTION


# --- appartenances de l'agent, lues une fois par requête ---------------------------------------------------

_CACHE = "_parcours_memberships"


def memberships_of(user):
    """Les appartenances actives de l'agent, avec organisation et Département de rattachement (une requête par
    objet ``user``, donc par requête HTTP ; liste vide sans connexion)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return []
    # getattr/setattr (et non __dict__) : passent aussi par ``request.user``, objet paresseux.
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user_id=user.pk, is_active=True)
            .select_related("organisation", "organisation__departement")
            .order_by("pk")
        )
        setattr(user, _CACHE, cached)
    return cached


def forget_memberships(user):
    """Oublie les appartenances gardées sur ``user`` (après un changement dans la même requête)."""
    if user is not None and getattr(user, _CACHE, None) is not None:
        delattr(user, _CACHE)


def _forget_on_change(sender, instance, **kwargs):
    forget_memberships(instance._state.fields_cache.get("user"))


post_save.connect(_forget_on_change, sender=Membership, dispatch_uid="roles.forget_memberships.save")
post_delete.connect(_forget_on_change, sender=Membership, dispatch_uid="roles.forget_memberships.delete")


def with_roles(user, roles, kinds=None, *, exclude_kinds=()):
    """Appartenances de l'agent qui ont l'un des ``roles`` dans une organisation de l'un des ``kinds``."""
    return [
        m
        for m in memberships_of(user)
        if m.role in roles
        and (kinds is None or m.organisation.kind in kinds)
        and m.organisation.kind not in exclude_kinds
    ]


def has_membership(user):
    return bool(getattr(user, "is_superuser", False) or memberships_of(user))


# --- capacités des pages -----------------------------------------------------------------------------------

DEPARTEMENT = frozenset({OrganisationKind.DEPARTEMENT})
NOT_ETAT = frozenset(OrganisationKind) - {OrganisationKind.ETAT}


@dataclass(frozen=True)
class Capability:
    """Ce qu'une page exige : l'un des ``roles`` dans une organisation de l'un des ``kinds`` (et, le cas
    échéant, ``match`` vrai pour l'appartenance). Le super-utilisateur a toutes les capacités."""

    name: str
    roles: frozenset
    message: str
    kinds: frozenset | None = None
    match: Callable | None = field(default=None, compare=False)

    def grants(self, membership):
        return (
            membership.role in self.roles
            and (self.kinds is None or membership.organisation.kind in self.kinds)
            and (self.match is None or self.match(membership))
        )

    def memberships(self, user):
        return [m for m in memberships_of(user) if self.grants(m)]

    def allows(self, user):
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_superuser or any(self.grants(m) for m in memberships_of(user))


ORIENTATION_TEAM = Capability(
    "équipe d'orientation du Département",
    TEAM,
    "Les files d'orientation sont réservées aux chargés d'orientation et administrateurs du Département.",
    kinds=DEPARTEMENT,
)
PRESCRIBER = Capability(
    "prescripteur",
    PRESCRIBING,
    "Votre rôle ne permet pas de prescrire.",
    kinds=NOT_ETAT,
)
DEPARTEMENT_ADMIN = Capability(
    "administrateur du Département",
    ADMINISTERING,
    "Réservé aux administrateurs du Département.",
    kinds=DEPARTEMENT,
)
FLUX_IMPORTER = Capability(
    "dépôt des flux",
    TEAM,
    "Le dépôt d'un flux est réservé aux administrateurs et chargés d'orientation du Département.",
    kinds=DEPARTEMENT,
)
CONVENTION_READER = Capability(
    "lecteur des conventions",
    CONVENTION_READING,
    "Les conventions sont réservées aux administrateurs et responsables du Département "
    "et aux services de l'État qui lui sont rattachés.",
    kinds=frozenset({OrganisationKind.DEPARTEMENT, OrganisationKind.ETAT}),
    match=lambda m: m.organisation.kind == OrganisationKind.DEPARTEMENT or m.organisation.departement_id,
)
BOOKING_MANAGER = Capability(
    "gestion des plages de rendez-vous",
    TEAM,
    "Les plages de rendez-vous et les fermetures sont gérées par les administrateurs et chargés d'orientation "
    "de l'organisation.",
    kinds=NOT_ETAT,
)
PEOPLE_READER = Capability(
    "agent qui voit des personnes",
    WITH_PEOPLE,
    "Votre accès est limité aux indicateurs agrégés.",
    kinds=NOT_ETAT,
)
#: agent qui suit des personnes (compteurs « Votre périmètre » et listes de travail de l'accueil) : qui voit des
#: personnes, hors structures du catalogue (elles reçoivent des prescriptions, pas un portefeuille de suivis)
PEOPLE_FOLLOWER = Capability(
    "agent qui suit des personnes",
    WITH_PEOPLE,
    "Les compteurs du périmètre sont réservés aux agents qui suivent des personnes.",
    kinds=NOT_ETAT - {OrganisationKind.STRUCTURE},
)
#: cartographie parcours–offre (places financées, coûts, financeurs) : les agents du Département ; ses
#: administrateurs (``DEPARTEMENT_ADMIN``) saisissent les financements
OFFER_MAP_READER = Capability(
    "lecteur de la cartographie de l'offre",
    WITH_PEOPLE,
    "La cartographie de l'offre financée est réservée aux agents du Département.",
    kinds=DEPARTEMENT,
)
# Questionnaire trimestriel de satisfaction des professionnels (annexe 4 de 002, volet 3).
SURVEYED_PROFESSIONAL = Capability(
    "professionnel de l'orientation et de l'accompagnement",
    EDITING,
    "Ce questionnaire s'adresse aux référents, chargés d'orientation et administrateurs.",
    kinds=NOT_ETAT,
)


def administered_departements(user):
    """Les Départements dont l'agent est administrateur (pages de reprise : organisations et agents, événements
    du parcours), par code ; tous pour un super-utilisateur. Lus dans ``memberships_of`` (aucune requête de
    plus pour les appartenances)."""
    if not getattr(user, "is_authenticated", False):
        return []
    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("departement_code")
    if user.is_superuser:
        return list(departements)
    ids = {m.organisation_id for m in DEPARTEMENT_ADMIN.memberships(user)}
    return list(departements.filter(pk__in=ids)) if ids else []
