"""Lectures des bénéficiaires pour les écrans : filtres de liste, périmètre de l'agent, compteurs.

Fonctions en lecture seule, appelées par les vues ; elles partent toujours d'un ensemble déjà restreint
au périmètre de l'agent (``Beneficiary.objects.visible_to(user)``).
"""

import datetime

from django.db.models import Count, F, Window
from django.utils import timezone

from parcours.accounts.models import OrganisationKind
from parcours.accounts.roles import TEAM, memberships_of
from parcours.core.pagination import (
    PER_PAGE,
    CappedCount,
    capped,
    capped_count,
    capped_counts,
    keyset_page,
)

from .models import Beneficiary, FollowUp

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


def _ranked(queryset):
    """La recherche classe par pertinence (``search_rank``, PostgreSQL) : un ordre qu'aucun index ne sert."""
    return "search_rank" in queryset.query.annotations and tuple(queryset.query.order_by[:1]) == (
        "-search_rank",
    )


def _list_ordering(queryset):
    """Ordre de la liste : la pertinence d'abord quand la recherche la calcule (``search_rank``), puis le nom."""
    if _ranked(queryset):
        return queryset.annotate(list_rank=F("search_rank")), ["-list_rank", *LIST_ORDERING]
    return queryset, list(LIST_ORDERING)


def _households_after_sort(queryset):
    """Liste classée par pertinence : les foyers lus après le tri, pour les seules lignes de la page (une
    requête), plutôt que joints à toutes les personnes trouvées avant le tri — la base parcourait alors toute
    la table des foyers (jointure par hachage) pour une recherche de quelques centaines de personnes."""
    related = queryset.query.select_related
    if not isinstance(related, dict) or "household" not in related:
        return queryset
    kept = [name for name in related if name != "household"]
    queryset = queryset.select_related(None)
    if kept:
        queryset = queryset.select_related(*kept)
    return queryset.prefetch_related("household")


def followed_people(partners):
    """Les personnes suivies par ces organisations partenaires (``scope.followed_only``), lues dans la table des
    suivis : identifiants distincts, par l'index des suivis de l'organisation — le même ensemble que leur
    périmètre ``visible_to``, compté sans parcourir la table des personnes."""
    return FollowUp.objects.following_any(partners).values("beneficiary_id").distinct()


def list_page(queryset, *, after=None, before=None, per_page=PER_PAGE, counted_as=None):
    """Une page de la liste après (ou avant) un curseur, et son total plafonné (« plus de 1 000 ») : une
    requête pour la page, une pour le total quand la liste dépasse une page ; ni ``COUNT`` ni tri de tout
    le périmètre.

    Première page d'une recherche classée par pertinence : la base lit et trie déjà toutes les personnes
    trouvées pour en garder 51 ; elle les compte dans la même requête (``COUNT(*) OVER ()``) au lieu de
    refaire la recherche pour le total.

    ``counted_as`` : un ensemble de même total, plus rapide à compter (liste sans filtre d'un partenaire :
    ``followed_people``)."""
    ordered, ordering = _list_ordering(queryset)
    ranked = _ranked(queryset)
    counted = ranked and not after and not before
    if ranked:
        ordered = _households_after_sort(ordered)
    if counted:
        ordered = ordered.annotate(list_total=Window(Count("pk")))
    page = keyset_page(ordered, ordering, after=after, before=before, per_page=per_page)
    if page.is_first and not page.has_next:
        page.count = CappedCount(len(page))  # la liste tient sur une page : son total est connu
    elif counted and page.is_first:
        page.count = capped(page[0].list_total)
    else:
        page.count = capped_count(queryset if counted_as is None else counted_as)
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


def dashboard_counts(scope, today=None, *, cap=None, partners=None):
    """Compteurs de l'accueil pour un périmètre : personnes suivies, soumises, nouveaux entrants récents.

    Totaux plafonnés (``CappedCount`` : exacts jusqu'à ``cap``, « plus de … » au-delà), lus en une requête :
    chacun s'arrête à ``cap + 1`` lignes au lieu de compter tout le Département à chaque affichage.

    ``partners`` (``scope.followed_only``) : le périmètre n'est fait que des suivis de ces organisations ; ses
    personnes se comptent depuis leurs suivis (identifiants distincts, index des suivis de l'organisation),
    sans parcourir la table des personnes jusqu'à en trouver ``cap + 1`` suivies (88 000 lues pour 10 001
    trouvées à 150 000 personnes)."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=NEW_ENTRANTS_WINDOW_DAYS)
    people = followed_people(partners) if partners else scope
    counts = capped_counts(
        {
            "beneficiaries": people,
            "new_entrants": scope.filter(new_entrant_t0__gte=since),
            "sdd": scope.filter(is_sdd=True),
        },
        cap=cap or DASHBOARD_CAP,
    )
    return {**counts, "new_entrants_since": since}
