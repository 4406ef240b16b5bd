"""Rattachement des personnes à une organisation et à un référent, pour calculer les indicateurs par
organisation et par référent (tableau de bord, exports, commande).

Une personne est rattachée à une organisation **pour une période** si, à un moment de cette période :

- l'organisation la suivait (``FollowUp`` ouvert au plus tard le dernier jour de la période et pas clos au
  plus tard le premier : la fin d'un suivi est le premier jour sans lui, ``definitions.follow_up_during``) ;
- ou elle était orientée vers cette organisation : décision d'orientation notifiée (et non annulée) au plus
  tard le dernier jour de la période, et pas remplacée par une autre décision notifiée au plus tard le premier
  jour (la décision remplacée cesse le jour où la suivante est notifiée).

Elle est rattachée à un référent si une désignation de ce référent (``ReferentAssignment``) couvre une partie
de la période, ou si un suivi de la période porte ce référent (suivis repris sans historique de désignation).
Les fins se lisent comme celles des suivis : un transfert ou un changement de référent le premier jour de la
période ne rattache plus la personne à l'organisation ou au référent qu'elle quitte ce jour-là, comme les
personnes suivies du tableau de bord.

Une personne peut donc compter pour plusieurs organisations (ou référents) dans une même période
(réorientation, transfert) : les lignes d'un tableau par organisation ne s'additionnent pas forcément.
Sans période (``start``/``end`` à ``None``), c'est le rattachement en cours qui compte.
"""

from django.db.models import Exists, F, OuterRef, Q

from parcours.beneficiaries.models import FollowUp
from parcours.orientation.models import DecisionStatus, OrientationDecision, ReferentAssignment

from .definitions import follow_up_during


def _overlapping(queryset, start, end):
    """Lignes datées (``started_on``, ``ended_on`` éventuel, premier jour sans la ligne) qui couvrent une partie
    de [start, end] : la règle des suivis (``definitions.follow_up_during``) ; en cours si sans période."""
    if start is None or end is None:
        return queryset.filter(ended_on__isnull=True)
    return queryset.filter(follow_up_during(start, end))


def follow_ups_during(start=None, end=None):
    return _overlapping(FollowUp.objects.all(), start, end)


def orientations_during(start=None, end=None):
    """Décisions notifiées non annulées en vigueur à un moment de la période."""
    notified = OrientationDecision.objects.filter(status=DecisionStatus.NOTIFIED)
    if start is None or end is None:
        return notified.filter(is_current=True)
    replaced = OrientationDecision.objects.filter(
        beneficiary_id=OuterRef("beneficiary_id"),
        status=DecisionStatus.NOTIFIED,
        notified_on__gt=OuterRef("notified_on"),
        notified_on__lte=start,
    )
    return notified.filter(notified_on__lte=end).filter(~Exists(replaced))


def referent_assignments_during(start=None, end=None):
    return _overlapping(ReferentAssignment.objects.all(), start, end)


def organisation_members(organisation, start=None, end=None):
    """Sous-requête : identifiants des personnes rattachées à ``organisation`` pendant la période (suivie ou
    orientée vers elle : ``organisation_member_sources``)."""
    followed, oriented = organisation_member_sources(start, end, [getattr(organisation, "pk", organisation)])
    return Q(pk__in=followed) | Q(pk__in=oriented)


def organisation_member_sources(start, end, organisation_ids):
    """Les personnes rattachées à l'une des ``organisations`` pendant la période : suivies par elle ou orientées
    vers elle. QuerySets d'identifiants ``beneficiary_id`` (suivis, orientations), à unir."""
    return [
        queryset.filter(organisation_id__in=list(organisation_ids)).order_by().values("beneficiary_id")
        for queryset in (follow_ups_during(start, end), orientations_during(start, end))
    ]


def referent_members(referent, start=None, end=None):
    """Sous-requête : identifiants des personnes dont ``referent`` a été le référent pendant la période."""
    assigned = referent_assignments_during(start, end).filter(referent=referent).values("beneficiary_id")
    followed = follow_ups_during(start, end).filter(referent=referent).values("beneficiary_id")
    return Q(pk__in=assigned) | Q(pk__in=followed)


def _of(queryset, scope):
    """Les lignes des personnes de ``scope`` (toutes si ``None``)."""
    return queryset if scope is None else queryset.filter(beneficiary_id__in=scope.order_by().values("pk"))


def organisation_pair_sources(scope, start, end):
    """Les deux sources du rattachement aux organisations (suivis, orientations de la période) : QuerySets de
    couples ``(beneficiary_id, group_id)`` pour les personnes de ``scope`` (toutes si ``None``)."""
    return [
        _of(queryset, scope).order_by().values("beneficiary_id", group_id=F("organisation_id"))
        for queryset in (follow_ups_during(start, end), orientations_during(start, end))
    ]


def referent_pair_sources(scope, start, end, organisation_ids=None):
    """Les deux sources du rattachement aux référents (désignations, suivis de la période) ; ``organisation_ids``
    : seulement les désignations et suivis de ces organisations. QuerySets de couples
    ``(beneficiary_id, group_id)`` pour les personnes de ``scope`` (toutes si ``None``)."""
    sources = []
    for queryset in (
        referent_assignments_during(start, end),
        follow_ups_during(start, end).filter(referent__isnull=False),
    ):
        queryset = _of(queryset, scope)
        if organisation_ids is not None:
            queryset = queryset.filter(organisation_id__in=list(organisation_ids))
        sources.append(queryset.order_by().values("beneficiary_id", group_id=F("referent_id")))
    return sources


def _pairs(sources):
    pairs = {}
    for queryset in sources:
        for row in queryset.distinct():
            pairs.setdefault(row["beneficiary_id"], set()).add(row["group_id"])
    return pairs


def organisation_pairs(scope, start, end):
    """{personne: {organisations}} pour les personnes de ``scope`` (deux requêtes, quel que soit le nombre
    d'organisations)."""
    return _pairs(organisation_pair_sources(scope, start, end))


def referent_pairs(scope, start, end, organisation_ids=None):
    """{personne: {référents}} pour les personnes de ``scope`` ; ``organisation_ids`` : seulement les
    désignations et suivis de ces organisations (deux requêtes)."""
    return _pairs(referent_pair_sources(scope, start, end, organisation_ids))
