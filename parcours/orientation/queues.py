"""Délais d'orientation et files de travail de l'équipe d'orientation (à inviter, invitations en cours,
expirées, rendez-vous à saisir, à orienter, stock sans orientation)."""

from django.conf import settings
from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import IsNull
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import CLOSED_STATES, FollowUp
from parcours.core.delays import get_delay
from parcours.core.pagination import PER_PAGE, Key, capped_counts, keyset_page

from .common import default_today
from .delays import deadlines, legal_last_day_offset, target_last_day_offset  # noqa: F401 - deadlines : services
from .models import (
    MISSED_ATTENDANCES,
    OPEN_INVITATION_STATUSES,
    Appointment,
    AppointmentKind,
    Attendance,
    DecisionStatus,
    Invitation,
    InvitationStatus,
    OrientationDecision,
    OrientationExemption,
    ReferentAssignment,
)

# --- délais et files de travail ---------------------------------------------------------------------------


class DaysBetween(Func):
    """Nombre de jours de ``start`` à ``end`` (dates), en SQL portable (SQLite et PostgreSQL)."""

    output_field = IntegerField()

    def __init__(self, start, end):
        super().__init__(start, end)

    def as_sql(self, compiler, connection, **extra):
        start, end = self.source_expressions
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        if connection.vendor == "sqlite":
            sql = f"CAST(ROUND(julianday({end_sql}) - julianday({start_sql})) AS INTEGER)"
        else:
            sql = f"(CAST({end_sql} AS date) - CAST({start_sql} AS date))"
        return sql, (*end_params, *start_params)


def _delay_expressions(names, departement_field):
    """Pour chaque délai de ``names``, la valeur de chaque ligne selon son Département (CASE WHEN sur les
    seuls Départements qui le surchargent ; une requête sur les Départements)."""
    departements = list(
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        .exclude(delay_overrides={})
        .only("pk", "delay_overrides")
    )
    expressions = {}
    for name in names:
        default = int(settings.PARCOURS_DELAYS[name])
        whens = [
            When(**{departement_field: d.pk}, then=Value(get_delay(name, d)))
            for d in departements
            if get_delay(name, d) != default
        ]
        expressions[name] = (
            Case(*whens, default=Value(default), output_field=IntegerField())
            if whens
            else Value(default, output_field=IntegerField())
        )
    return expressions


def _delays(prefix=""):
    """Expressions des délais d'orientation (objectif, délai légal) selon le Département de chaque ligne."""
    return _delay_expressions(
        ("orientation_target_days", "orientation_legal_days"), f"{prefix}departement_id"
    )


def with_days_left(queryset, today=None, *, prefix="", delays=None):
    """Annote ``days_left_target`` et ``days_left_legal`` (0 = dernier jour dans les temps, < 0 = en retard).

    Règles de ``orientation.delays`` : l'objectif de 15 jours est tenu jusqu'à T0 + 14 inclus (T0 = jour 1),
    le délai légal de 6 semaines jusqu'à T0 + 42 inclus (Code de procédure civile, art. 641). Les délais sont
    ceux du Département de la personne. ``prefix`` : chemin vers le bénéficiaire (ex. ``"beneficiary__"``
    pour des invitations).
    """
    today = default_today(today)
    elapsed = DaysBetween(F(f"{prefix}new_entrant_t0"), Value(today, output_field=DateField()))
    delays = delays or _delays(prefix)
    return queryset.annotate(
        days_elapsed=elapsed,
        days_left_target=target_last_day_offset(delays["orientation_target_days"]) - elapsed,
        days_left_legal=legal_last_day_offset(delays["orientation_legal_days"]) - elapsed,
    )


def _urgency(delays, prefix=""):
    """Clé de tri « les plus urgents d'abord » (jours restants avant l'objectif, croissants).

    Quand l'objectif est le même pour tous les Départements, trier par jours restants revient à trier par T0 :
    on trie alors par la colonne T0, que l'index des files sert (la base lit la page sans trier la file).
    Sinon, par l'expression des jours restants (exacte, sans index)."""
    if isinstance(delays["orientation_target_days"], Value):
        return f"{prefix}new_entrant_t0"
    return "days_left_target"


def _since_t0(field="new_entrant_t0", t0="new_entrant_t0"):
    """Condition « depuis le T0 de la personne » pour un sous-ensemble lié (tout, si pas de T0).

    Le T0 est lu sur la ligne extérieure (``OuterRef``), sans rejoindre la personne dans la sous-requête :
    la base vérifie chaque personne par l'index de la table liée, sans lire toute cette table."""
    return Q(**{f"{field}__gte": OuterRef(t0)}) | Q(IsNull(OuterRef(t0), True))


def _notified_since_t0():
    return Exists(
        OrientationDecision.objects.filter(
            beneficiary=OuterRef("pk"), status=DecisionStatus.NOTIFIED, is_current=True
        ).filter(_since_t0("decided_on"))
    )


def _invited_since_t0():
    return Exists(
        Invitation.objects.filter(beneficiary=OuterRef("pk"))
        .exclude(status=InvitationStatus.FAILED)
        .filter(_since_t0("created_on"))
    )


def _exempted(today):
    return Exists(
        OrientationExemption.objects.filter(beneficiary=OuterRef("pk"), starts_on__lte=today).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today)
        )
    )


def _followed():
    """Suivi en cours (orientation connue par un flux ou un import, ou référent désigné) : la personne n'est
    plus à inviter ni à orienter (critère « pas de suivi en cours » des nouveaux entrants)."""
    return Exists(FollowUp.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True))


def _appointment_since_t0(attendances):
    return Exists(
        Appointment.objects.filter(
            beneficiary=OuterRef("pk"), kind=AppointmentKind.ORIENTATION, attendance__in=attendances
        ).filter(_since_t0("starts_at__date"))
    )


def _seen_since_t0():
    """Personnes vues en rendez-vous d'orientation depuis leur T0 (identifiants, sous-requête non corrélée) :
    la section « vues » de la file à orienter part des rendez-vous honorés (index partiel
    ``appt_orientation_seen_idx``, peu de lignes) au lieu de parcourir toute la file."""
    return Appointment.objects.filter(
        kind=AppointmentKind.ORIENTATION,
        attendance=Attendance.SEEN,
        starts_at__date__gte=F("beneficiary__new_entrant_t0"),
    ).values("beneficiary_id")


# États du droit fermés, dans un ordre fixe (texte SQL identique d'une exécution à l'autre).
_CLOSED = sorted(CLOSED_STATES)


def _new_entrants(scope, today):
    """Nouveaux entrants dont l'orientation est à mener : T0 passé, droit ouvert, soumis aux droits et devoirs
    (ou inconnu). Mêmes conditions que l'index partiel ``benef_queue_idx`` : la base lit les files dans
    l'ordre de cet index (Département, T0, nom, identifiant), sans lire la ligne de la personne.

    ``new_entrant_t0 <= today`` exclut déjà les T0 inconnus : pas de ``IS NOT NULL`` en plus, que
    PostgreSQL compterait deux fois (estimation trois fois trop basse, plan qui lit toute la file)."""
    return (
        scope.filter(new_entrant_t0__lte=today)
        .exclude(rsa_state__in=_CLOSED)
        .exclude(is_sdd=False)  # n'est plus soumis aux droits et devoirs : plus d'orientation à mener
    )


def _to_invite(scope, today):
    return (
        _new_entrants(scope, today)
        .filter(~_followed(), ~_invited_since_t0(), ~_notified_since_t0(), ~_exempted(today))
        .filter(~_appointment_since_t0([Attendance.PLANNED, Attendance.SEEN]))
    )


def _open_invitations(scope):
    return Invitation.objects.filter(beneficiary__in=scope.values("pk"), status__in=OPEN_INVITATION_STATUSES)


def _expired_invitations(scope):
    newer = Invitation.objects.filter(beneficiary=OuterRef("beneficiary"), pk__gt=OuterRef("pk")).exclude(
        status=InvitationStatus.FAILED
    )
    oriented = OrientationDecision.objects.filter(
        beneficiary=OuterRef("beneficiary"), status=DecisionStatus.NOTIFIED, is_current=True
    ).filter(_since_t0("decided_on", t0="beneficiary__new_entrant_t0"))
    booked = Appointment.objects.filter(
        Q(created_at__gte=OuterRef("created_at")) | Q(pk=OuterRef("appointment_id")),
        beneficiary=OuterRef("beneficiary"),
        attendance__in=[Attendance.PLANNED, Attendance.SEEN],
    )
    return Invitation.objects.filter(
        Q(status=InvitationStatus.EXPIRED)
        | (Q(status=InvitationStatus.ANSWERED) & Q(Exists(_missed_after()))),
        beneficiary__in=scope.values("pk"),
    ).filter(~Exists(newer), ~Exists(oriented), ~Exists(booked))


def _missed_after():
    """Rendez-vous d'orientation manqué (absence, excusée ou non, annulation) fixé après l'invitation : la
    personne qui avait répondu revient, sans rien à saisir, dans la file « à convoquer »."""
    return Appointment.objects.filter(
        beneficiary=OuterRef("beneficiary"),
        kind=AppointmentKind.ORIENTATION,
        attendance__in=MISSED_ATTENDANCES,
        created_at__gte=OuterRef("created_at"),
    )


def _appointments_to_record(scope, now):
    return Appointment.objects.filter(
        beneficiary__in=scope.values("pk"), attendance=Attendance.PLANNED, starts_at__lt=now
    )


def _to_orient(scope, today):
    return _new_entrants(scope, today).filter(~_followed(), ~_notified_since_t0(), ~_exempted(today))


def _with_situation(people):
    """Annote ``seen`` (rendez-vous d'orientation honoré depuis le T0) et ``pending_pathway`` (orientation
    décidée, pas encore notifiée)."""
    pending = OrientationDecision.objects.filter(
        beneficiary=OuterRef("pk"), status=DecisionStatus.DECIDED, is_current=True
    ).values("pathway")[:1]
    return people.annotate(seen=_appointment_since_t0([Attendance.SEEN]), pending_pathway=Subquery(pending))


def new_entrants_to_invite(scope, today=None):
    """Nouveaux entrants ni invités, ni orientés, ni dispensés depuis leur T0 ; les plus urgents d'abord."""
    queryset, ordering = _invite_queue(scope, default_today(today))
    return queryset.order_by(*_order(ordering))


def _invite_queue(scope, today):
    delays = _delays()
    people = with_days_left(_to_invite(scope, today), today, delays=delays)
    return people, [Key(_urgency(delays)), "last_name", "pk"]


def pending_invitations(scope, today=None):
    """Invitations en cours (créées, envoyées, distribuées), avec les jours restants de la personne."""
    queryset, ordering = _pending_queue(scope, today)
    return queryset.order_by(*_order(ordering))


def _pending_queue(scope, today):
    delays = _delays("beneficiary__")
    invitations = _open_invitations(scope).select_related("beneficiary", "beneficiary__territory")
    invitations = with_days_left(invitations, today, prefix="beneficiary__", delays=delays)
    urgency = Key(_urgency(delays, "beneficiary__"), nullable=True)  # T0 inconnu : en fin de file
    return invitations, [Key("expires_on", nullable=True), urgency, "pk"]


def expired_invitations(scope, today=None):
    """Invitations expirées sans réponse ni invitation plus récente, personne toujours à orienter :
    à relancer par une convocation."""
    queryset, ordering = _expired_queue(scope, today)
    return queryset.order_by(*_order(ordering))


def _expired_queue(scope, today):
    delays = _delays("beneficiary__")
    invitations = _expired_invitations(scope).select_related("beneficiary", "beneficiary__territory")
    missed = _missed_after().order_by("-starts_at")
    invitations = invitations.annotate(
        missed_at=Subquery(missed.values("starts_at")[:1]),
        missed_attendance=Subquery(missed.values("attendance")[:1]),
    )
    invitations = with_days_left(invitations, today, prefix="beneficiary__", delays=delays)
    return invitations, [Key(_urgency(delays, "beneficiary__"), nullable=True), "pk"]


def appointments_to_record(scope, now=None):
    """Rendez-vous passés dont la présence n'a pas été saisie (les plus anciens d'abord)."""
    queryset, ordering = _appointments_queue(scope, now)
    return queryset.order_by(*_order(ordering))


def _appointments_queue(scope, now):
    now = now or timezone.now()
    appointments = (
        _appointments_to_record(scope, now)
        .select_related("beneficiary", "beneficiary__territory")
        .prefetch_related("professionals", "organisations")
    )
    appointments = with_days_left(appointments, timezone.localdate(now), prefix="beneficiary__")
    return appointments, ["starts_at", "pk"]


def people_to_orient(scope, today=None):
    """Nouveaux entrants sans orientation notifiée depuis leur T0 (ni dispense en cours) : les personnes vues
    en rendez-vous d'abord, puis les plus urgentes.

    Annotations : ``days_left_target`` / ``days_left_legal``, ``seen`` (rendez-vous d'orientation honoré),
    ``pending_pathway`` (orientation décidée, pas encore notifiée).
    """
    queryset, ordering = _orient_queue(scope, default_today(today))
    return queryset.order_by("-seen", *_order(ordering))


def _orient_queue(scope, today):
    delays = _delays()
    people = with_days_left(_with_situation(_to_orient(scope, today)), today, delays=delays)
    return people, [Key(_urgency(delays)), "last_name", "pk"]


def _order(ordering):
    return [item.order() if isinstance(item, Key) else item for item in ordering]


# --- pages et totaux des files ----------------------------------------------------------------------------

QUEUE_NAMES = ("a_inviter", "invitations", "expirees", "rendez_vous", "a_orienter")
_INDEX_ORDER = ("new_entrant_t0", "last_name", "pk")  # ordre de l'index partiel benef_queue_idx


def queue_counts(scope, today=None, now=None, *, cap=None, names=None):
    """Nombre de lignes de chaque file (de celles de ``names`` si donné), exact jusqu'à 1 000
    (``CappedCount`` : « plus de 1 000 » au-delà).

    Une seule requête pour toutes les files ; chaque total s'arrête à la 1 001e ligne, si bien qu'une file
    de 50 000 personnes ne coûte pas plus qu'une file de 1 000 (pas de parcours du Département entier).
    Les files de personnes sont comptées dans l'ordre de l'index de la file (``benef_queue_idx``) : la base
    le descend en vérifiant chaque personne par les index des tables liées et s'arrête au plafond, au lieu
    de lire en entier les suivis, invitations et décisions du Département."""
    today = default_today(today)
    now = now or timezone.now()
    queues = {
        "a_inviter": lambda: _to_invite(scope, today).order_by(*_INDEX_ORDER),
        "invitations": lambda: _open_invitations(scope),
        "expirees": lambda: _expired_invitations(scope),
        "rendez_vous": lambda: _appointments_to_record(scope, now),
        "a_orienter": lambda: _to_orient(scope, today).order_by(*_INDEX_ORDER),
    }
    return capped_counts(
        {name: queue() for name, queue in queues.items() if names is None or name in names},
        cap=cap,
        ordered=("a_inviter", "a_orienter"),
    )


def queue_page(name, scope, today=None, *, after=None, before=None, per_page=PER_PAGE):
    """Une page de la file ``name`` après (ou avant) un curseur (``core.pagination.keyset_page``) : mêmes
    lignes, même ordre que la fonction de la file ; la base descend l'index de la file dans l'ordre de sa
    clé, sans trier ni compter la file entière."""
    today = default_today(today)
    if name == "a_orienter":
        people, ordering = _orient_queue(scope, today)
        people = people.select_related("departement", "territory")
        # Vues en rendez-vous d'abord : deux sections de même clé. Les personnes vues sont lues à partir de
        # leurs rendez-vous honorés (peu nombreux) ; les autres, dans l'ordre de l'index de la file.
        sections = [people.filter(pk__in=_seen_since_t0()), people.filter(seen=False)]
    elif name == "invitations":
        queryset, ordering = _pending_queue(scope, today)
        sections = [queryset]
    elif name == "expirees":
        queryset, ordering = _expired_queue(scope, today)
        sections = [queryset]
    elif name == "rendez_vous":
        queryset, ordering = _appointments_queue(scope, None)
        sections = [queryset]
    else:
        queryset, ordering = _invite_queue(scope, today)
        sections = [queryset.select_related("territory")]
    return keyset_page(sections, ordering, after=after, before=before, per_page=per_page)


def stock_without_orientation(scope):
    """« Stock » : personnes soumises aux droits et devoirs, droit versable, sans orientation ni référent en
    cours (campagnes de re-contact)."""
    return (
        scope.filter(is_sdd=True, rsa_state="2")
        .filter(~Exists(OrientationDecision.objects.filter(beneficiary=OuterRef("pk"), is_current=True)))
        .filter(~Exists(ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_on__isnull=True)))
        .order_by("last_name", "first_name", "pk")
    )
