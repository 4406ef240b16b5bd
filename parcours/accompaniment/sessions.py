"""Séances de l'équipe pluridisciplinaire : calendrier, composition et quorum, ordre du jour, convocations,
avis et procès-verbal (étape 9 ; CASF L262-37 à L262-39, R262-68 et suivants).

Qui : les agents du Département qui conduisent les procédures de sanction (``permissions.TEAM_SESSION_MANAGER``),
dans leur Département et, pour un agent affecté à un territoire, les séances de ce territoire et les séances
départementales (``sessions_visible_to``).

Les changements d'étape d'une procédure (inscription à l'ordre du jour, retrait, avis) passent par
``sanctions.transition_case`` : étape datée et motivée, événement ``sanction_step`` du journal, quorum
(réglage ``team_session_quorum``, par Département) vérifié pour l'avis. Une revue (analyse de situation,
deuxième année…) n'a pas d'étape : son inscription ne change que la séance et l'échéance.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from parcours.accounts.models import Membership, OrganisationKind, Territory, User
from parcours.core.delays import get_delay
from parcours.core.text import plural

from . import sanctions
from .models import (
    GuestQuality,
    Review,
    ReviewKind,
    ReviewStatus,
    SanctionCase,
    SanctionDecision,
    SanctionStatus,
    TeamSession,
    TeamSessionGuest,
)
from .permissions import TEAM_SESSION_MANAGER

S = SanctionStatus
# Étapes d'une procédure qui peut être inscrite à l'ordre du jour (la personne a été informée des faits).
AGENDA_READY = (S.NOTICE_SENT, S.OBSERVATIONS)
# Revues examinées en séance.
SESSION_REVIEW_KINDS = (ReviewKind.CASE_REVIEW, ReviewKind.SECOND_YEAR, ReviewKind.GLOBAL_PROPOSAL)


def _err(message, field=None):
    return ValidationError({field: message} if field else message)


# --- périmètre ------------------------------------------------------------------------------------------


def _managing_memberships(user):
    return TEAM_SESSION_MANAGER.memberships(user)


def sessions_visible_to(user):
    """Les séances que l'agent gère : celles de son Département ; pour un agent affecté à un territoire, celles
    de ce territoire et les séances départementales (sans territoire)."""
    sessions = TeamSession.objects.all()
    if getattr(user, "is_superuser", False):
        return sessions
    condition = Q(pk__in=[])
    for membership in _managing_memberships(user):
        if membership.territory_id:
            condition |= Q(departement_id=membership.organisation_id) & (
                Q(territory__isnull=True) | Q(territory_id=membership.territory_id)
            )
        else:
            condition |= Q(departement_id=membership.organisation_id)
    return sessions.filter(condition)


def departements_for(user):
    """Départements où l'agent peut créer une séance."""
    from parcours.accounts.models import Organisation

    departements = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("name")
    if getattr(user, "is_superuser", False):
        return departements
    return departements.filter(pk__in={m.organisation_id for m in _managing_memberships(user)})


def territories_for(user):
    """Territoires proposés pour une séance (ceux de l'agent s'il est affecté à un territoire)."""
    territories = Territory.objects.select_related("departement").order_by("departement__name", "name")
    if getattr(user, "is_superuser", False):
        return territories
    condition = Q(pk__in=[])
    for membership in _managing_memberships(user):
        if membership.territory_id:
            condition |= Q(pk=membership.territory_id)
        else:
            condition |= Q(departement_id=membership.organisation_id)
    return territories.filter(condition)


def member_choices(departement):
    """Agents qui peuvent siéger : appartenance active au Département ou à une organisation qui lui est
    rattachée (France Travail, Mission locale, association…)."""
    memberships = Membership.objects.filter(is_active=True).filter(
        Q(organisation_id=departement.pk) | Q(organisation__departement_id=departement.pk)
    )
    return User.objects.filter(pk__in=memberships.values("user_id")).order_by("last_name", "first_name", "pk")


def calendar(user, *, upcoming=True, territory=None, on=None):
    """Séances du calendrier de l'agent, à venir (la plus proche d'abord) ou passées (la plus récente d'abord),
    avec le nombre de procédures et de revues inscrites et la composition (membres préchargés)."""
    on = on or timezone.localdate()
    sessions = sessions_visible_to(user)
    sessions = sessions.filter(held_on__gte=on) if upcoming else sessions.filter(held_on__lt=on)
    if territory is not None:
        sessions = sessions.filter(territory=territory)

    def count(model):
        rows = (
            model.objects.filter(session=OuterRef("pk"))
            .order_by()
            .values("session")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    present = (
        TeamSession.present.through.objects.filter(teamsession_id=OuterRef("pk"))
        .order_by()
        .values("teamsession_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        sessions.select_related("departement", "territory")
        .prefetch_related("members", "guests")
        .annotate(
            case_count=count(SanctionCase),
            review_count=count(Review),
            present_agent_count=Coalesce(Subquery(present, output_field=IntegerField()), Value(0)),
        )
        .order_by(*(("held_on", "starts_at", "pk") if upcoming else ("-held_on", "-starts_at", "-pk")))
    )


# --- séance et composition ------------------------------------------------------------------------------


@transaction.atomic
def save_session(
    session, *, user, departement, territory, level, held_on, starts_at=None, place="", members=()
):
    """Crée (``session`` None) ou modifie une séance ; renvoie la séance enregistrée."""
    if departement is None or departement not in departements_for(user):
        raise _err("Département : choisissez un Département dont vous gérez les séances.", "departement")
    if territory is not None:
        if territory.departement_id != departement.pk:
            raise _err("Territoire : il doit appartenir au Département de la séance.", "territory")
        if territory not in territories_for(user):
            raise _err("Territoire : vous ne gérez pas les séances de ce territoire.", "territory")
    elif not getattr(user, "is_superuser", False) and all(
        m.territory_id for m in _managing_memberships(user) if m.organisation_id == departement.pk
    ):
        raise _err("Territoire : choisissez votre territoire.", "territory")
    if held_on is None:
        raise _err("Date de la séance : champ obligatoire.", "held_on")
    allowed = set(member_choices(departement).values_list("pk", flat=True))
    if any(member.pk not in allowed for member in members):
        raise _err("Membres : seulement des agents du Département ou de ses partenaires.", "members")
    moved = session is not None and session.departement_id != departement.pk
    if moved and (session.cases.exists() or session.reviews.exists()):
        raise _err(
            "Département : la séance a un ordre du jour ; retirez d'abord les dossiers inscrits.",
            "departement",
        )
    if session is not None and session.held_on != held_on:
        referred = session.cases.filter(status=S.REFERRED)
        if held_on < timezone.localdate() and referred.exists():
            raise _err(
                "Date de la séance : des procédures sont inscrites et attendent l'avis ; la séance ne peut pas "
                "être déplacée dans le passé.",
                "held_on",
            )
    fields = {
        "departement": departement,
        "territory": territory,
        "level": level,
        "held_on": held_on,
        "starts_at": starts_at,
        "place": (place or "").strip()[:300],
    }
    if session is None:
        session = TeamSession.objects.create(**fields)
    else:
        for name, value in fields.items():
            setattr(session, name, value)
        session.save()
        # L'échéance des revues inscrites suit la date de la séance.
        session.reviews.filter(status=ReviewStatus.PLANNED).update(due_on=held_on)
    session.members.set(members)
    session.present.remove(*[u for u in session.present.all() if u not in set(members)])
    return session


def add_guest(session, *, name, quality, organisation=""):
    """Ajoute un membre extérieur (représentant de France Travail, d'une association, des bénéficiaires…)."""
    name = (name or "").strip()
    if not name:
        raise _err("Nom : champ obligatoire.", "name")
    if quality not in GuestQuality.values:
        raise _err("Qualité : à choisir.", "quality")
    return TeamSessionGuest.objects.create(
        session=session, name=name[:200], quality=quality, organisation=(organisation or "").strip()[:200]
    )


def remove_guest(session, guest_pk):
    deleted, _ = TeamSessionGuest.objects.filter(session=session, pk=guest_pk).delete()
    if not deleted:
        raise _err("Ce membre ne fait pas partie de la séance.")


@transaction.atomic
def record_presence(session, *, present_members, present_guests, on=None):
    """Relève les présents (agents convoqués et membres extérieurs), le jour de la séance ou après."""
    on = on or timezone.localdate()
    if on < session.held_on:
        raise _err(f"Présence : elle se relève le jour de la séance ({session.held_on:%d/%m/%Y}) ou après.")
    members = set(session.members.values_list("pk", flat=True))
    chosen = {int(pk) for pk in present_members}
    if chosen - members:
        raise _err("Présence : seuls les membres convoqués peuvent être présents.")
    session.present.set(chosen)
    guests = {int(pk) for pk in present_guests}
    session.guests.update(present=False)
    session.guests.filter(pk__in=guests).update(present=True)


@dataclass(frozen=True)
class Quorum:
    present: int
    required: int

    @property
    def reached(self):
        return self.present >= self.required

    @property
    def sentence(self):
        state = "atteint" if self.reached else "non atteint"
        return (
            f"Quorum {state} : {plural(self.present, 'membre présent', 'membres présents')} "
            f"sur {self.required} requis."
        )


def quorum_from_prefetch(session):
    """Le quorum d'une séance du calendrier (``calendar`` : présents comptés et membres préchargés)."""
    guests = sum(1 for guest in session.guests.all() if guest.present)
    return Quorum(session.present_agent_count + guests, get_delay("team_session_quorum", session.departement))


def quorum(session):
    """Présents (agents et membres extérieurs) et quorum du Département (réglage ``team_session_quorum``)."""
    return Quorum(session.present_count(), get_delay("team_session_quorum", session.departement))


# --- ordre du jour --------------------------------------------------------------------------------------


def _in_session_territory(queryset, session):
    if session.territory_id:
        return queryset.filter(beneficiary__territory_id=session.territory_id)
    return queryset


def eligible_cases(session, scope):
    """Procédures que l'on peut inscrire à la séance : personne informée (observations reçues ou non), du
    Département de la séance (et de son territoire pour une séance locale), dans le périmètre ``scope``."""
    cases = SanctionCase.objects.filter(
        beneficiary__in=scope,
        beneficiary__departement_id=session.departement_id,
        status__in=AGENDA_READY,
    )
    return _in_session_territory(cases, session).select_related("beneficiary").order_by("status_since", "pk")


def eligible_reviews(session, scope):
    """Revues prévues, sans séance, de celles qu'examine l'équipe (analyse de situation, deuxième année…)."""
    reviews = Review.objects.filter(
        beneficiary__in=scope,
        beneficiary__departement_id=session.departement_id,
        status=ReviewStatus.PLANNED,
        session__isnull=True,
        kind__in=SESSION_REVIEW_KINDS,
    )
    return _in_session_territory(reviews, session).select_related("beneficiary").order_by("due_on", "pk")


def add_case(session, case, *, actor, on=None, reason=""):
    """Inscrit une procédure à l'ordre du jour (étape « inscrite en équipe pluridisciplinaire »)."""
    if case.status not in AGENDA_READY:
        raise _err(
            f"Seule une procédure dont la personne a été informée peut être inscrite (étape actuelle : "
            f"{case.get_status_display().lower()})."
        )
    if session.territory_id and case.beneficiary.territory_id != session.territory_id:
        raise _err("Cette séance locale examine les personnes de son territoire seulement.")
    return sanctions.transition_case(
        case,
        S.REFERRED,
        actor=actor,
        on=on or timezone.localdate(),
        reason=reason or f"Inscription à l'ordre du jour de la séance du {session.held_on:%d/%m/%Y}",
        session=session,
    )


def withdraw_case(case, *, actor, on=None, reason=""):
    """Retire une procédure de l'ordre du jour : elle revient à l'étape d'avant son inscription."""
    if case.status != S.REFERRED or case.session_id is None:
        raise _err(
            "Seule une procédure inscrite à une séance, sans avis, peut être retirée de l'ordre du jour."
        )
    entered = case.steps.filter(to_status=S.REFERRED).order_by("-occurred_on", "-pk").first()
    previous = entered.from_status if entered and entered.from_status in AGENDA_READY else S.NOTICE_SENT
    session = case.session
    return sanctions.transition_case(
        case,
        previous,
        actor=actor,
        on=on or timezone.localdate(),
        reason=reason or f"Retrait de l'ordre du jour de la séance du {session.held_on:%d/%m/%Y}",
    )


@transaction.atomic
def add_review(session, review):
    """Inscrit une revue prévue à la séance ; son échéance devient la date de la séance."""
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.status != ReviewStatus.PLANNED:
        raise _err("Seule une revue prévue peut être inscrite à une séance.")
    if locked.session_id:
        raise _err("Cette revue est déjà inscrite à une séance.")
    locked.session = session
    locked.due_on = session.held_on
    locked.save(update_fields=["session", "due_on"])
    return locked


@transaction.atomic
def remove_review(session, review):
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.session_id != session.pk or locked.status != ReviewStatus.PLANNED:
        raise _err("Seule une revue prévue de cette séance peut être retirée de l'ordre du jour.")
    locked.session = None
    locked.save(update_fields=["session"])
    return locked


def record_opinion(case, *, actor, on, favourable, proposed_decision, team_opinion):
    """Avis de l'équipe sur une procédure inscrite : favorable ou défavorable à la sanction envisagée, sanction
    proposée, motivation. Le quorum est vérifié par ``sanctions.transition_case``."""
    if favourable is None:
        raise _err("Avis : favorable ou défavorable à la sanction envisagée, à choisir.", "favourable")
    session = case.session
    sense = "favorable" if favourable else "défavorable"
    return sanctions.transition_case(
        case,
        S.OPINION,
        actor=actor,
        on=on,
        reason=f"Avis {sense} de l'équipe pluridisciplinaire (séance du {session.held_on:%d/%m/%Y})",
        favourable=favourable,
        proposed_decision=proposed_decision,
        team_opinion=team_opinion,
    )


# --- convocation et procès-verbal -----------------------------------------------------------------------


def _when(session):
    when = f"le {session.held_on:%d/%m/%Y}"
    if session.starts_at:
        minutes = f" {session.starts_at.minute:02d}" if session.starts_at.minute else ""
        when += f" à {session.starts_at.hour} h{minutes}"
    return when


def convocation(case):
    """Courrier de convocation de la personne à la séance où sa situation est examinée (droit d'être
    entendue) : date, lieu, faits, sanction envisagée, observations, accompagnement. ``(titre, paragraphes)``."""
    session = case.session
    person = case.beneficiary
    if session is None:
        return None
    minimum = get_delay("sanction_min_percent", person.departement)
    place = session.place or "dans les locaux du Département (adresse précisée par votre référent)"
    return (
        "Convocation à l'équipe pluridisciplinaire",
        [
            f"{person.salutation},",
            f"Votre situation sera examinée par l'équipe pluridisciplinaire du Département {_when(session)}, "
            f"{place}. Vous êtes invité{person.accorde} à y participer.",
            f"Les faits : {case.get_ground_display().lower()}, constaté le {case.opened_on:%d/%m/%Y}. {case.facts}",
            f"Le Président du Conseil départemental envisage une réduction ou une suspension d'au moins {minimum} % "
            "de votre allocation. L'équipe pluridisciplinaire donne son avis avant toute décision.",
            "Vous pouvez présenter vos observations, par écrit avant la séance ou oralement lors de la séance, "
            "et vous faire accompagner de la personne de votre choix.",
            "Si vous ne pouvez pas venir, prévenez votre référent le plus tôt possible : vos observations écrites "
            "seront lues en séance.",
            "Veuillez agréer l'expression de nos salutations distinguées.",
        ],
    )


def minutes_rows(session, scope):
    """Procédures et revues de la séance (dans le périmètre ``scope``) pour le procès-verbal et la page."""
    cases = list(
        SanctionCase.objects.filter(session=session, beneficiary__in=scope)
        .select_related("beneficiary")
        .order_by("pk")
    )
    reviews = list(
        Review.objects.filter(session=session, beneficiary__in=scope)
        .select_related("beneficiary")
        .order_by("pk")
    )
    return cases, reviews


def opinion_label(case):
    if case.status == S.REFERRED or not case.team_opinion:
        return "Avis à rendre"
    sense = {True: "Avis favorable", False: "Avis défavorable", None: "Avis"}[case.opinion_favourable]
    proposed = dict(SanctionDecision.choices).get(case.proposed_decision, "")
    return f"{sense} — sanction proposée : {proposed.lower()}" if proposed else sense


def minutes_pdf(session, *, cases, reviews, members, present_ids, guests):
    """Procès-verbal de la séance (PDF) : membres présents, quorum, avis de chaque procédure."""
    from parcours.core.pdf import Minutes

    state = quorum(session)
    title = f"Procès-verbal de la séance de l'équipe pluridisciplinaire du {session.held_on:%d/%m/%Y}"
    pdf = Minutes(title=title, author=str(session.departement))
    p = pdf.p
    where = ", ".join(
        part
        for part in (
            session.get_level_display(),
            session.territory.name if session.territory_id else "",
            session.place,
            f"début à {session.starts_at:%H:%M}" if session.starts_at else "",
        )
        if part
    )
    story = [
        p(session.departement.name, bold=True),
        pdf.heading(title, "Title"),
        p(where),
        pdf.space(4),
        pdf.heading("Membres"),
    ]
    rows = [["Membre", "Qualité", "Présence"]]
    for member in members:
        rows.append(
            [
                p(member.get_full_name() or member),
                p("Agent"),
                p("présent" if member.pk in present_ids else "absent"),
            ]
        )
    for guest in guests:
        quality = guest.get_quality_display() + (f" ({guest.organisation})" if guest.organisation else "")
        rows.append([p(guest.name), p(quality), p("présent" if guest.present else "absent")])
    if len(rows) == 1:
        rows.append([p("Aucun membre"), p(""), p("")])
    story += [pdf.table(rows, [60, 85, 35]), pdf.space(3), p(state.sentence, bold=True)]
    story.append(pdf.heading("Procédures de suspension-remobilisation examinées"))
    rows = [["Dossier", "Personne", "Manquement", "Avis de l'équipe"]]
    for case in cases:
        rows.append(
            [
                p(f"n° {case.pk}"),
                p(case.beneficiary.full_name),
                p(case.get_ground_display()),
                [p(opinion_label(case), bold=True), p(case.team_opinion)],
            ]
        )
    if len(rows) == 1:
        rows.append([p("Aucune procédure inscrite."), "", "", ""])
    story.append(pdf.table(rows, [18, 45, 45, 72]))
    if reviews:
        story.append(pdf.heading("Situations examinées"))
        rows = [["Personne", "Objet", "Décisions"]]
        for review in reviews:
            rows.append(
                [
                    p(review.beneficiary.full_name),
                    p(review.get_kind_display()),
                    p(review.decisions or ("À tenir" if review.status == ReviewStatus.PLANNED else "—")),
                ]
            )
        story.append(pdf.table(rows, [50, 60, 70]))
    story += [
        pdf.space(6),
        p(
            "Les avis de l'équipe pluridisciplinaire sont consultatifs : le Président du Conseil départemental "
            "décide, et chaque décision est notifiée à la personne avec ses voies de recours."
        ),
        p(f"Établi le {timezone.localdate():%d/%m/%Y}."),
    ]
    return pdf.build(story)


def next_sessions_for(case, user, on=None):
    """Séances à venir où l'agent peut inscrire la procédure (page de la procédure)."""
    on = on or timezone.localdate()
    sessions = sessions_visible_to(user).filter(
        departement_id=case.beneficiary.departement_id, held_on__gte=on
    )
    if case.beneficiary.territory_id:
        sessions = sessions.filter(Q(territory__isnull=True) | Q(territory_id=case.beneficiary.territory_id))
    else:
        sessions = sessions.filter(territory__isnull=True)
    return sessions.select_related("territory").order_by("held_on", "pk")
