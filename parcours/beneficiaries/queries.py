"""Lectures des bénéficiaires pour les écrans : filtres de liste, périmètre de l'agent, compteurs.

Fonctions en lecture seule, appelées par les vues ; elles partent toujours d'un ensemble déjà restreint
au périmètre de l'agent (``Beneficiary.objects.visible_to(user)``).
"""

import datetime

from django.db.models import F
from django.utils import timezone

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import TEAM, memberships_of
from parcours.core.pagination import PER_PAGE, CappedCount, capped_count, capped_counts, keyset_page

from .models import Beneficiary

# Relations lues par la liste et l'export : une seule requête quel que soit le nombre de lignes.
LIST_RELATED = ("household", "territory")

# Rôles du Département autorisés à voir le NIR en clair et à importer des flux.
PRIVILEGED_ROLES = TEAM

NEW_ENTRANTS_WINDOW_DAYS = 30


def active_memberships(user):
    """Les appartenances actives de l'agent, avec leur organisation (lues une fois par requête)."""
    return memberships_of(user)


def departement_ids(memberships):
    """Identifiants des Départements dont relèvent les organisations de l'agent."""
    ids = set()
    for membership in memberships:
        home = membership.organisation.home_departement
        if home is not None:
            ids.add(home.pk)
    return ids


def privileged_departement_ids(user, memberships):
    """Départements où l'agent est administrateur ou chargé d'orientation (None : tous, super-utilisateur)."""
    if user.is_superuser:
        return None
    return {
        m.organisation_id
        for m in memberships
        if m.organisation.kind == OrganisationKind.DEPARTEMENT and m.role in PRIVILEGED_ROLES
    }


def can_reveal_nir(user, memberships, beneficiary):
    allowed = privileged_departement_ids(user, memberships)
    return allowed is None or beneficiary.departement_id in allowed


def filter_beneficiaries(
    queryset,
    *,
    text="",
    territory=None,
    state="",
    sdd=None,
    new_entrant_since=None,
    organism="",
):
    """Applique les critères de la liste (tous facultatifs) à un ensemble de bénéficiaires."""
    queryset = queryset.search(text)
    if territory is not None:
        queryset = queryset.filter(territory=territory)
    if state:
        queryset = queryset.filter(rsa_state=state)
    if sdd is not None:
        queryset = queryset.filter(is_sdd=sdd)
    if new_entrant_since is not None:
        queryset = queryset.filter(new_entrant_t0__gte=new_entrant_since)
    if organism:
        queryset = queryset.filter(household__organism=organism)
    return queryset


def for_list(queryset):
    return queryset.select_related(*LIST_RELATED)


# Ordre de la liste (celui du modèle, terminé par l'identifiant) : servi par l'index (Département, nom, prénom)
# pour une équipe du Département, (nom, prénom, identifiant) pour un partenaire.
LIST_ORDERING = ("last_name", "first_name", "pk")


def _list_ordering(queryset):
    """Ordre de la liste : la pertinence d'abord quand la recherche la calcule (``search_rank``), puis le nom."""
    if "search_rank" in queryset.query.annotations and tuple(queryset.query.order_by[:1]) == (
        "-search_rank",
    ):
        return queryset.annotate(list_rank=F("search_rank")), ["-list_rank", *LIST_ORDERING]
    return queryset, list(LIST_ORDERING)


def list_page(queryset, *, after=None, before=None, per_page=PER_PAGE):
    """Une page de la liste après (ou avant) un curseur, et son total plafonné (« plus de 1 000 ») : une
    requête pour la page, une pour le total quand la liste dépasse une page ; ni ``COUNT`` ni tri de tout
    le périmètre."""
    ordered, ordering = _list_ordering(queryset)
    page = keyset_page(ordered, ordering, after=after, before=before, per_page=per_page)
    if page.is_first and not page.has_next:
        page.count = CappedCount(len(page))  # la liste tient sur une page : son total est connu
    else:
        page.count = capped_count(queryset)
    return page


def household_members(beneficiary, scope):
    """Les autres personnes du foyer que l'agent a le droit de voir."""
    if beneficiary.household_id is None:
        return Beneficiary.objects.none()
    return (
        scope.filter(household_id=beneficiary.household_id)
        .exclude(pk=beneficiary.pk)
        .order_by("role", "last_name", "first_name", "pk")
    )


# Plafond des compteurs de l'accueil : exacts jusqu'à 10 000, « plus de 10 000 » au-delà (les effectifs exacts
# d'un grand Département sont au tableau de bord de pilotage).
DASHBOARD_CAP = 10_000


def dashboard_counts(scope, today=None, *, cap=None):
    """Compteurs de l'accueil pour un périmètre : personnes suivies, soumises, nouveaux entrants récents.

    Totaux plafonnés (``CappedCount`` : exacts jusqu'à ``cap``, « plus de … » au-delà), lus en une requête :
    chacun s'arrête à ``cap + 1`` lignes au lieu de compter tout le Département à chaque affichage."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=NEW_ENTRANTS_WINDOW_DAYS)
    counts = capped_counts(
        {
            "beneficiaries": scope,
            "new_entrants": scope.filter(new_entrant_t0__gte=since),
            "sdd": scope.filter(is_sdd=True),
        },
        cap=cap or DASHBOARD_CAP,
    )
    return {**counts, "new_entrants_since": since}
