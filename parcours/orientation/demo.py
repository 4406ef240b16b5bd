"""Démonstration des étapes 3 à 6 : les nouveaux entrants du territoire de démonstration passent par la chaîne
d'orientation (invitation, relance ou expiration, rendez-vous d'orientation honoré ou non, diagnostic partagé,
décision notifiée, référent unique, contrat d'engagement).

Appelée par ``parcours.demo.territory.run_demo`` après l'import des flux et avant l'accompagnement intensif
(dont les revues lisent l'orientation en vigueur). Tout passe par les services (``orientation.services``,
``accompaniment.services``) : mêmes règles, mêmes événements datés du journal que dans la vraie vie, que
lisent les indicateurs du tableau de bord. Aucun courriel ni SMS ne part : les envois passent par des
prestataires muets le temps de la démonstration. Même graine, mêmes données.

Répartition visée (sur les nouveaux entrants) : environ 60 % orientés dans les 15 jours (T0 compte comme
jour 1), un quart plus tard, le reste pas encore (invitation en cours ou expirée, absence au rendez-vous,
présence au rendez-vous à saisir, décision à notifier, personne à inviter) ; parcours emploi 55 %,
socio-professionnel 25 %, social 20 %.
Une personne dont un suivi a déjà été ouvert par un partenaire (simulation des flux) est orientée vers ce
partenaire, pour que suivi, orientation et référent concordent.
"""

import datetime
import random
from collections import Counter

from django.core.exceptions import ValidationError
from django.test.utils import override_settings
from django.utils import timezone

from parcours.accompaniment import services as accompaniment
from parcours.accompaniment.models import ContractKind, Intensity, Objective, Situation
from parcours.accounts.models import Organisation, OrganisationKind
from parcours.beneficiaries.models import Beneficiary, FollowUp

from . import services
from .models import Attendance, Channel, InvitationStatus, OrientationDecision, Pathway, PortfolioCap
from .proposal import RESOURCE_SITUATIONS, SOCIAL_BARRIER_THEMES
from .sms import BaseSmsBackend, SmsResult

# Devenir des nouveaux entrants (tirage par personne).
P_IN_TIME = 0.63  # orientation notifiée au plus tard à T0 + 14 jours
P_LATE = 0.25  # notifiée plus tard (surtout dans le délai légal de 6 semaines)
# Le reste : pas encore orienté.
P_DIAGNOSTIC = 0.35  # diagnostic partagé au rendez-vous d'orientation
P_NO_SHOW = 0.5  # part des orientations tardives précédées d'une absence au premier rendez-vous
P_REFERENT = 0.9  # référent désigné après la notification
P_CONTRACT = 0.85  # contrat d'engagement signé (si le référent est désigné et la date passée)
P_JOINT = 0.2  # rendez-vous conjoint Département + France Travail (« double regard »)
# Tailles cibles des portefeuilles (réglage des organisations, comme dans l'administration) : un conseiller
# France Travail suit plus de personnes qu'un référent social ; un seul agent par organisation ici.
PORTFOLIO_CAPS = {OrganisationKind.FRANCE_TRAVAIL: 150, OrganisationKind.DEPARTEMENT: 100}

PLACES = {
    "REDON": "Espace départemental des solidarités de Redon",
    "STMALO": "Espace départemental des solidarités de Saint-Malo",
}
PERSON_COMMITMENTS = "Se rendre aux rendez-vous, suivre les actions prévues et prévenir en cas d'empêchement."
REFERENT_COMMITMENTS = "Un rendez-vous par mois au moins ; mise en relation avec les partenaires du plan."


class SilentSmsBackend(BaseSmsBackend):
    """Prestataire SMS de la démonstration : n'envoie rien."""

    def send(self, to, body):
        return SmsResult(ok=True, reference="demo")


class _Builder:
    def __init__(self, departement, agents, seed, today):
        self.departement = departement
        self.agents = agents
        self.rng = random.Random(f"parcours-demo-orientation-{seed}")
        self.today = today
        self.yesterday = today - datetime.timedelta(days=1)
        self.manager = agents["orientation@demo.parcours.fr"]
        self.stats = Counter()
        self.refusals = []
        self.orgs = self._organisations()
        self.objectives = list(Objective.objects.filter(active=True).order_by("pk")[:40])
        self.situations = list(
            Situation.objects.filter(active=True, theme__sensitive=False).order_by("pk")[:60]
        )
        # Diagnostics cohérents avec le parcours visé (la grille d'orientation les lit) ; tirage à part pour
        # ne pas déplacer les autres tirages de la démonstration.
        self.diagnostic_rng = random.Random(f"parcours-demo-diagnostic-{seed}")
        self.barriers, self.resources = {}, []
        for s in (
            Situation.objects.filter(active=True, theme__sensitive=False, theme__kind="frein")
            .select_related("theme")
            .order_by("theme__position", "position", "pk")
        ):
            if f"{s.theme.code}/{s.code}" in RESOURCE_SITUATIONS:
                self.resources.append(s)
            else:
                self.barriers.setdefault(s.theme.code, []).append(s)

    def _organisations(self):
        """Organisations du territoire de démonstration et leur agent référent."""
        partners = list(Organisation.objects.filter(departement=self.departement).order_by("pk"))

        def find(kind, word=""):
            for organisation in partners:
                if organisation.kind == kind and word in organisation.name:
                    return organisation
            return None

        agents = self.agents
        return {
            "ft_REDON": (find(OrganisationKind.FRANCE_TRAVAIL, "Redon"), agents["ft.redon@demo.parcours.fr"]),
            "ft_STMALO": (
                find(OrganisationKind.FRANCE_TRAVAIL, "Malo"),
                agents["ft.saintmalo@demo.parcours.fr"],
            ),
            "mission_locale": (
                find(OrganisationKind.MISSION_LOCALE),
                agents["mission-locale@demo.parcours.fr"],
            ),
            "ccas": (find(OrganisationKind.CCAS), agents["ccas.redon@demo.parcours.fr"]),
            "association": (find(OrganisationKind.ASSOCIATION), agents["association@demo.parcours.fr"]),
            "departement_REDON": (self.departement, agents["referent.redon@demo.parcours.fr"]),
            "departement_STMALO": (self.departement, agents["referent.saintmalo@demo.parcours.fr"]),
        }

    # --- choix -----------------------------------------------------------------------------------------

    def _referent_for(self, organisation, territory):
        for key, (org, agent) in self.orgs.items():
            if org is not None and org.pk == organisation.pk:
                if org.pk == self.departement.pk and not key.endswith(territory):
                    continue
                return agent
        return None

    def choose(self, person, follow_up, territory):
        """(parcours, organisation, référent) : l'organisation du suivi déjà ouvert s'il y en a un."""
        rng = self.rng
        if follow_up is not None:
            organisation = follow_up.organisation
            kind = organisation.kind
            if kind in (OrganisationKind.FRANCE_TRAVAIL, OrganisationKind.MISSION_LOCALE):
                pathway = Pathway.EMPLOI
            elif kind == OrganisationKind.CCAS:
                pathway = Pathway.SOCIAL
            elif kind == OrganisationKind.ASSOCIATION:
                pathway = Pathway.SOCIAL if rng.random() < 0.5 else Pathway.SOCIO_PROFESSIONNEL
            else:
                pathway = Pathway.SOCIAL if rng.random() < 0.35 else Pathway.SOCIO_PROFESSIONNEL
            return pathway, organisation, self._referent_for(organisation, territory)
        draw = rng.random()
        young = person.birth_date is not None and (self.today - person.birth_date).days < 26 * 365
        if draw < 0.85:
            key = "mission_locale" if young else f"ft_{territory}"
            pathway = Pathway.EMPLOI
        elif draw < 0.95:
            key, pathway = f"departement_{territory}", Pathway.SOCIO_PROFESSIONNEL
        else:
            key = "ccas" if territory == "REDON" else "association"
            pathway = Pathway.SOCIAL
        organisation, referent = self.orgs[key]
        return pathway, organisation, referent

    def channel(self, person):
        options = []
        if person.email:
            options += [Channel.EMAIL] * 5
        if services.sms.normalise_phone(person.phone):
            options += [Channel.SMS] * 3
        if person.address and person.postal_code and person.city:
            options += [Channel.POSTAL] * 2
        return self.rng.choice(options) if options else None

    def at(self, day, slot):
        hour = 9 + slot % 7
        hour = 16 if hour == 12 else hour
        naive = datetime.datetime.combine(day, datetime.time(hour, 30 if slot % 2 else 0))
        return timezone.make_aware(naive)

    # --- étapes ----------------------------------------------------------------------------------------

    def invite(self, person, on, channel):
        invitation = services.invite(person, channel=channel, author=self.manager, today=on)
        self.stats["invitations"] += 1
        return invitation

    def appointment(self, person, day, *, planned_on, territory, organisation, attendance):
        organisations = [self.departement]
        if organisation.kind == OrganisationKind.FRANCE_TRAVAIL and self.rng.random() < P_JOINT:
            organisations.append(organisation)
        appointment = services.schedule_appointment(
            person,
            starts_at=self.at(day, person.pk),
            place=PLACES.get(territory, PLACES["REDON"]),
            author=self.manager,
            professionals=[self.manager],
            organisations=organisations,
            planned_on=planned_on,
        )
        if attendance is None:  # présence pas encore saisie
            self.stats["rendez_vous_a_saisir"] += 1
            return appointment
        services.record_attendance(appointment, attendance, author=self.manager, on=day)
        self.stats["rendez_vous_honores" if attendance == Attendance.SEEN else "absences"] += 1
        return appointment

    def _situations_for(self, pathway):
        """Social : freins dans 3 ou 4 thèmes ; socio-professionnel : un frein social ; emploi : des ressources
        (permis, véhicule, équipement) et parfois un frein de mobilité ou de numérique."""
        rng = self.diagnostic_rng
        social = [t for t in SOCIAL_BARRIER_THEMES if t in self.barriers]
        others = [t for t in self.barriers if t not in social]
        if pathway == Pathway.SOCIAL:
            themes = rng.sample(social, 2) + rng.sample(others, rng.randint(1, 2))
        elif pathway == Pathway.SOCIO_PROFESSIONNEL:
            themes = [rng.choice(social)] + rng.sample(others, rng.randint(0, 1))
        else:
            themes = rng.sample(others, rng.randint(0, 1))
        chosen = [rng.choice(self.barriers[t]) for t in themes]
        return chosen + rng.sample(self.resources, rng.randint(0, 2))

    def diagnostic(self, person, day, organisation, pathway=None):
        situations = self.rng.sample(self.situations, k=min(len(self.situations), self.rng.randint(1, 3)))
        # (tirage d'origine gardé : les tirages suivants de la démonstration ne bougent pas)
        if pathway and len(self.barriers) >= 4:
            situations = self._situations_for(pathway)
        accompaniment.save_diagnostic(
            person,
            author=self.manager,
            can_see_sensitive=False,
            organisation=organisation,
            situations=situations,
            conducted_on=day,
            joint=False,
            notes="Entretien d'orientation : situation et freins repérés avec la personne.",
        )
        self.stats["diagnostics"] += 1

    def contract(self, person, pathway, organisation, referent, on):
        objectives = self.rng.sample(self.objectives, k=min(len(self.objectives), 2))
        contract = accompaniment.create_contract(
            person,
            author=referent,
            kind=ContractKind.CONTRAT_ENGAGEMENT,
            objectives=objectives,
            organisation=organisation,
            referent=referent,
            referent_commitments=REFERENT_COMMITMENTS,
            person_commitments=PERSON_COMMITMENTS,
            intensity={
                Pathway.EMPLOI: Intensity.GUIDE,
                Pathway.SOCIO_PROFESSIONNEL: Intensity.RENFORCE,
                Pathway.SOCIAL: Intensity.SOCIAL,
            }[pathway],
            weekly_hours=self.rng.choice([15, 15, 16, 18, 20]),
            starts_on=on,
        )
        accompaniment.sign_contract(contract, actor=referent, on=on)
        self.stats["contrats"] += 1

    # --- une personne ----------------------------------------------------------------------------------

    def walk(self, person, follow_up):
        rng = self.rng
        t0 = person.new_entrant_t0
        day = lambda n: t0 + datetime.timedelta(days=n)  # noqa: E731
        territory = person.territory.code if person.territory_id else "REDON"
        territory = territory if territory in PLACES else "REDON"
        pathway, organisation, referent = self.choose(person, follow_up, territory)
        draw = rng.random()
        fate = "in_time" if draw < P_IN_TIME else "late" if draw < P_IN_TIME + P_LATE else "pending"
        sent = rng.randint(1, 10)
        if day(sent) > self.yesterday:
            self.stats["a_inviter"] += 1
            return
        channel = self.channel(person)
        if channel is None:
            fate = "pending"
        if fate == "pending" and rng.random() < 0.2:
            self.stats["a_inviter"] += 1  # pas encore invitée (coordonnées à vérifier)
            return
        # Jour de la notification (T0 = jour 0 ici, donc à temps jusqu'au jour 14 inclus).
        if fate == "in_time":
            notify = rng.randint(min(sent + 2, 14), 14)
        elif fate == "late":
            notify = rng.randint(15, 41) if rng.random() < 0.75 else rng.randint(42, 75)
        else:
            notify = None
        if notify is not None and day(notify) > self.yesterday:
            fate, notify = "pending", None
        invitation = self.invite(person, day(sent), channel) if channel else None
        if fate == "pending":
            self.pending(person, invitation, sent, day, territory, pathway, organisation)
            return
        # Rendez-vous d'orientation (après une absence pour une partie des orientations tardives).
        seen_on = notify - rng.randint(0, min(2, notify - sent - 1)) if notify - sent > 1 else notify
        answer = rng.randint(sent, max(sent, min(seen_on - 1, sent + 9)))
        if invitation.channel != Channel.POSTAL and answer >= sent + 3:
            services.remind_invitation(invitation, actor=None, on=day(sent + 3))
            self.stats["relances"] += 1
        if fate == "late" and seen_on - sent > 20 and rng.random() < 0.4:
            # Pas de réponse : l'invitation expire, une nouvelle invitation part quelques jours après.
            expired_on = invitation.expires_on + datetime.timedelta(days=1)
            services.transition_invitation(invitation, InvitationStatus.EXPIRED, actor=None, on=expired_on)
            self.stats["invitations_expirees"] += 1
            second = (expired_on - t0).days + rng.randint(0, 3)
            self.invite(person, day(second), channel)
            answer = rng.randint(second, min(seen_on - 1, second + 9))
        if fate == "late" and rng.random() < P_NO_SHOW and seen_on - answer >= 5:
            missed = rng.randint(answer + 1, seen_on - 4)
            self.appointment(
                person,
                day(missed),
                planned_on=day(answer),
                territory=territory,
                organisation=organisation,
                attendance=Attendance.NO_SHOW,
            )
            answer = missed + 1
        self.appointment(
            person,
            day(seen_on),
            planned_on=day(min(answer, seen_on)),
            territory=territory,
            organisation=organisation,
            attendance=Attendance.SEEN,
        )
        if rng.random() < P_DIAGNOSTIC:
            self.diagnostic(person, day(seen_on), self.departement, pathway)
        decided = rng.randint(seen_on, notify)
        services.decide_orientation(
            person,
            pathway=pathway,
            organisation=organisation,
            author=self.manager,
            decided_on=day(decided),
            notified_on=day(notify),
            reason="Orientation décidée à l'issue du rendez-vous d'orientation.",
        )
        self.stats["orientations"] += 1
        self.stats["dans_les_15_jours"] += notify <= 14
        self.stats[f"parcours_{pathway}"] += 1
        if referent is None or rng.random() >= P_REFERENT:
            return
        start = day(notify + rng.randint(0, 7))
        if follow_up is not None and follow_up.started_on > start:
            start = follow_up.started_on
        if start > self.yesterday:
            return
        current = services.current_referent(person)
        if not (
            current and current.referent_id == referent.pk and current.organisation_id == organisation.pk
        ):
            # (la reprise des suivis a pu désigner ce référent avant l'orientation)
            services.assign_referent(
                person, referent=referent, organisation=organisation, author=self.manager, started_on=start
            )
            self.stats["referents"] += 1
        signed_on = day(notify + rng.randint(5, 33))
        signed_on = max(signed_on, start)
        if rng.random() < P_CONTRACT and signed_on <= self.yesterday:
            self.contract(person, pathway, organisation, referent, signed_on)

    def pending(self, person, invitation, sent, day, territory, pathway, organisation):
        """Pas encore orientée : invitation en cours ou expirée, absence au rendez-vous, décision à notifier."""
        rng = self.rng
        draw = rng.random()
        expires_on = invitation.expires_on if invitation else None
        if invitation is None or (draw < 0.45 and expires_on and expires_on < self.yesterday):
            if invitation and invitation.status == InvitationStatus.SENT:
                expired_on = expires_on + datetime.timedelta(days=1)
                services.transition_invitation(
                    invitation, InvitationStatus.EXPIRED, actor=None, on=expired_on
                )
                self.stats["invitations_expirees"] += 1
                if draw >= 0.2:
                    # Nouvelle invitation envoyée ces derniers jours, sans réponse encore (file « invitations
                    # en cours », quel que soit le jour du mois où la démonstration est créée).
                    again = self.yesterday - datetime.timedelta(days=rng.randint(0, 8))
                    self.invite(person, max(again, expired_on), invitation.channel)
                    self.stats["invitations_en_cours"] += 1
            self.stats["non_orientes"] += 1
            return
        if draw < 0.45:  # invitation envoyée il y a moins de 10 jours, pas encore de réponse
            self.stats["invitations_en_cours"] += 1
            self.stats["non_orientes"] += 1
            return
        elapsed = (self.yesterday - day(sent)).days
        if draw < 0.75 and elapsed >= 2:
            # Absence au rendez-vous ; pour une partie, le rendez-vous est passé et la présence pas encore
            # saisie (file « rendez-vous à saisir »).
            missed = sent + rng.randint(1, min(elapsed, 12))
            self.appointment(
                person,
                day(missed),
                planned_on=day(sent + 1),
                territory=territory,
                organisation=organisation,
                attendance=Attendance.NO_SHOW if draw < 0.6 else None,
            )
        elif elapsed >= 2:
            seen_on = sent + rng.randint(1, min(elapsed, 12))
            self.appointment(
                person,
                day(seen_on),
                planned_on=day(sent + 1),
                territory=territory,
                organisation=organisation,
                attendance=Attendance.SEEN,
            )
            if self.diagnostic_rng.random() < P_DIAGNOSTIC:
                self.diagnostic(person, day(seen_on), self.departement, pathway)
            services.decide_orientation(
                person,
                pathway=pathway,
                organisation=organisation,
                author=self.manager,
                decided_on=day(seen_on),
                reason="Orientation décidée ; courrier de notification à envoyer.",
            )
            self.stats["decisions_a_notifier"] += 1
        self.stats["non_orientes"] += 1


def _new_entrants(departement):
    return list(
        Beneficiary.objects.filter(departement=departement, new_entrant_t0__isnull=False)
        .exclude(pk__in=OrientationDecision.objects.values("beneficiary"))
        .select_related("territory", "departement")
        .order_by("new_entrant_t0", "pk")
    )


def populate_demo(departement, agents, *, seed=2026, today=None, sample=None):
    """Fait passer les nouveaux entrants par la chaîne d'orientation ; renvoie un résumé (nombres).

    ``sample`` : au plus ``sample`` nouveaux entrants, répartis sur toute la période (un sur k dans l'ordre des
    T0) ; les autres restent tels que les flux et la reprise des suivis les ont laissés. None : tous."""
    today = min(today or timezone.localdate(), timezone.localdate())
    builder = _Builder(departement, agents, seed, today)
    for organisation in sorted(
        {o for o, _agent in builder.orgs.values() if o is not None}, key=lambda o: o.pk
    ):
        if organisation.kind in PORTFOLIO_CAPS:
            PortfolioCap.objects.get_or_create(
                organisation=organisation, defaults={"cap": PORTFOLIO_CAPS[organisation.kind]}
            )
    people = _new_entrants(departement)
    if sample is not None and len(people) > sample:
        step = len(people) / sample
        people = [people[int(i * step)] for i in range(sample)]
    follow_ups = {}
    for follow_up in (
        FollowUp.objects.filter(
            beneficiary__departement=departement,
            beneficiary__new_entrant_t0__isnull=False,
            ended_on__isnull=True,
        )
        .select_related("organisation")
        .order_by("started_on", "pk")
    ):
        follow_ups.setdefault(follow_up.beneficiary_id, follow_up)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        PARCOURS_SMS_BACKEND=f"{__name__}.SilentSmsBackend",
    ):
        for person in people:
            follow_up = follow_ups.get(person.pk)
            if follow_up is not None and follow_up.started_on < person.new_entrant_t0:
                follow_up = None
            try:
                builder.walk(person, follow_up)
            except ValidationError as error:  # une règle refuse une étape : la personne reste où elle en est
                builder.stats["etapes_refusees"] += 1
                builder.refusals.append(f"{person.pk} : {' '.join(error.messages)}")
    summary = {"nouveaux_entrants": len(people), **builder.stats}
    if builder.refusals:
        summary["premier_refus"] = builder.refusals[0]
    summary["campagne_stock"] = populate_stock_campaign(departement, agents, today=today)
    return summary


def populate_stock_campaign(departement, agents, *, today, invite=40):
    """Une campagne de reprise de contact du stock (personnes sans orientation ni référent), dont les
    ``invite`` premières personnes joignables par courriel sont invitées ; renvoie le nombre de personnes."""
    from . import campaigns

    agent = agents.get("orientation@demo.parcours.fr") or next(iter(agents.values()), None)
    if agent is None or not campaigns.campaign_departements(agent):
        return 0
    criteria = campaigns.Criteria(pathway=campaigns.NO_PATHWAY)
    try:
        campaign = campaigns.create_campaign(
            user=agent,
            departement=departement,
            name="Reprise de contact du stock — sans orientation",
            criteria=criteria,
            today=today,
        )
    except ValidationError:  # aucune personne du stock sans orientation : pas de campagne
        return 0
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        PARCOURS_SMS_BACKEND=f"{__name__}.SilentSmsBackend",
    ):
        campaigns.invite_campaign(campaign, channel="email", user=agent, today=today, batch=invite)
    return campaign.members.count()
