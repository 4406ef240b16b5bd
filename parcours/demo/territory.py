"""Création du territoire de démonstration : Département, territoires, partenaires, agents, flux importés.

``run_demo()`` est la fonction métier appelée par ``parcours demo`` :

1. crée le Département « 35 », ses deux territoires et leurs communes, les partenaires (une agence
   France Travail par territoire, une Mission locale, un CCAS, une association) et un agent par rôle ;
2. génère les flux mensuels (``generator.generate_flux``) et les importe dans l'ordre par le moteur
   d'import (``import_flux``), chacun avec sa date de réception : l'historique des droits et les
   nouveaux entrants sont datés par le flux ; le premier fichier est chargé comme stock initial ;
3. entre deux flux, simule le travail d'orientation : la plupart des personnes du stock ont déjà un
   suivi, et environ 70 % des nouveaux entrants sont orientés (suivi ouvert) 5 à 40 jours après leur
   T0, par le Département, France Travail, la Mission locale, le CCAS ou l'association. Un suivi n'est
   créé qu'une fois sa date de début passée au regard du flux suivant, si bien que la règle de
   l'annexe 4 (suivi en cours : pas de nouvel entrant) joue sur les données comme dans la réalité.
   Ces suivis repris sont écrits en masse (``open_in_bulk`` : les lignes et les événements mêmes
   qu'écriraient les fonctions du parcours, vérifié par un test) ;
4. fait passer les nouveaux entrants par la chaîne d'orientation (``orientation.demo``, par les
   services, pour au plus ``ORIENTATION_SAMPLE`` d'entre eux répartis sur la période), puis quelques
   personnes par l'accompagnement intensif (``accompaniment.demo``).

Au-delà de ``LARGE_DEPARTEMENT`` personnes, 6 flux mensuels par défaut au lieu de 18 (voir
``DEFAULT_MONTHS``) : ``parcours demo --beneficiaries 150000`` crée un grand Département en quelques minutes.

Même graine, mêmes données.
"""

import datetime
import random
import tempfile
import time
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from parcours.accounts.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    Territory,
    TerritoryCommune,
    User,
)
from parcours.beneficiaries.models import Beneficiary, FollowUp, Household, RightSnapshot
from parcours.intake.services import import_flux

from . import data
from .generator import default_end_month, generate_flux

DEMO_PASSWORD = "parcours-demo-2026"
DEMO_URL = "http://127.0.0.1:8000/"

# Partenaires : clé, type, nom, territoire (code) ou None.
PARTNERS = [
    ("ft_redon", OrganisationKind.FRANCE_TRAVAIL, "France Travail Redon", "REDON"),
    ("ft_stmalo", OrganisationKind.FRANCE_TRAVAIL, "France Travail Saint-Malo", "STMALO"),
    (
        "mission_locale",
        OrganisationKind.MISSION_LOCALE,
        "Mission locale de Bretagne romantique et d'Émeraude",
        None,
    ),
    ("ccas", OrganisationKind.CCAS, "CCAS de Redon", "REDON"),
    ("association", OrganisationKind.ASSOCIATION, "Association Tremplin Vilaine (délégataire RSA)", None),
    # L'État signataire de la convention : lit le tableau de bord et les indicateurs du Département.
    ("etat", OrganisationKind.ETAT, "Préfecture d'Ille-et-Vilaine — DDETS", None),
    # Une structure partenaire du catalogue (ses services y sont publiés) : reçoit et traite les prescriptions.
    ("aci_redon", OrganisationKind.STRUCTURE, "Chantier d'insertion Les Jardins de Redon", "REDON"),
]

# Agents : e-mail, prénom, nom, organisation (clé, « departement » pour le Département), rôle, territoire.
AGENTS = [
    ("admin@demo.parcours.fr", "Claire", "Le Bihan", "departement", Role.ADMIN, None),
    ("orientation@demo.parcours.fr", "Yann", "Morvan", "departement", Role.ORIENTATION_MANAGER, None),
    ("direction@demo.parcours.fr", "Hélène", "Gicquel", "departement", Role.MANAGER, None),
    ("referent.redon@demo.parcours.fr", "Nolwenn", "Tanguy", "departement", Role.REFERENT, "REDON"),
    ("referent.saintmalo@demo.parcours.fr", "Erwan", "Cadiou", "departement", Role.REFERENT, "STMALO"),
    ("ft.redon@demo.parcours.fr", "Sophie", "Hamon", "ft_redon", Role.REFERENT, None),
    ("ft.saintmalo@demo.parcours.fr", "Julien", "Riou", "ft_stmalo", Role.REFERENT, None),
    ("mission-locale@demo.parcours.fr", "Maëlle", "Jégou", "mission_locale", Role.REFERENT, None),
    ("ccas.redon@demo.parcours.fr", "Pascal", "Quéré", "ccas", Role.REFERENT, None),
    ("association@demo.parcours.fr", "Fatima", "Benali", "association", Role.REFERENT, None),
    ("etat@demo.parcours.fr", "Anne", "Le Roux", "etat", Role.MANAGER, None),
    ("dpo@demo.parcours.fr", "Marc", "Lebreton", "departement", Role.DPO, None),
    ("structure@demo.parcours.fr", "Lina", "Morel", "aci_redon", Role.REFERENT, None),
]

P_STOCK_FOLLOWED = 0.85  # part des personnes du stock initial qui ont déjà un suivi
P_NEW_ENTRANT_ORIENTED = 0.70  # part des nouveaux entrants orientés 5 à 40 jours après T0
P_REFERENT_KNOWN = 0.6  # part des suivis dont le référent est désigné
# Portefeuille d'un référent de démonstration : au-delà, ses collègues de la même organisation (et du même
# territoire) prennent les personnes suivantes (``ReferentPool``). Sans eux, un grand Département donnerait
# 10 000 personnes à un seul conseiller (170 fois la taille cible d'un portefeuille, ``PARCOURS_PORTFOLIO_CAP``) :
# ni la journée d'un référent ni ses pages ne ressembleraient au terrain. Le territoire par défaut (1 500
# personnes, au plus 240 par référent) n'en crée aucun.
DEMO_PORTFOLIO = 250
# Nombre de nouveaux entrants qui passent par la chaîne d'orientation, personne par personne par les services
# (invitation, relance, rendez-vous, présence, décision, notification, référent, contrat : une centaine de
# requêtes chacun). Au-delà (grands Départements : 57 000 nouveaux entrants sur 18 mois pour 150 000
# personnes), un nouvel entrant sur k, réparti sur toute la période ; les autres gardent le suivi repris de
# l'ancien logiciel (``FollowUpPlanner``, 70 %) ou attendent dans les files d'orientation. Le territoire par
# défaut (1 500 personnes, environ 600 nouveaux entrants) les fait tous passer.
ORIENTATION_SAMPLE = 1000
# Nombre de flux mensuels par défaut. Chaque flux contient toute la population qui a un droit ce mois-là : 18 flux
# de 150 000 personnes, c'est 2 millions de lignes importées une à une par le vrai moteur d'import (plus de
# 6 minutes à lui seul sur 2 cœurs, même au rythme visé de 20 s par flux). Au-delà de ``LARGE_DEPARTEMENT``
# personnes, 6 mois d'historique par défaut (``--months`` pour plus) : le premier flux (stock) et 5 flux
# mensuels, assez pour les nouveaux entrants, les suspensions, radiations et retours, et les files d'attente.
DEFAULT_MONTHS = 18
LARGE_DEPARTEMENT = 50_000
LARGE_DEPARTEMENT_MONTHS = 6


def default_months(beneficiaries):
    """Nombre de flux mensuels par défaut pour ``beneficiaries`` personnes (voir ``DEFAULT_MONTHS``)."""
    return LARGE_DEPARTEMENT_MONTHS if beneficiaries > LARGE_DEPARTEMENT else DEFAULT_MONTHS


class DemoAlreadyExists(Exception):
    pass


def demo_exists():
    """Vrai si la base contient déjà un Département (la démonstration ne se crée que dans une base vide)."""
    return Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).exists()


@dataclass
class DemoTerritory:
    departement: Organisation
    territories: dict = field(default_factory=dict)  # code -> Territory
    organisations: dict = field(default_factory=dict)  # clé -> Organisation
    agents: dict = field(default_factory=dict)  # e-mail -> User


def create_territory():
    """Crée le Département, ses territoires et communes, les partenaires et les agents."""
    departement = Organisation.objects.create(
        kind=OrganisationKind.DEPARTEMENT, name=data.DEPARTEMENT_NAME, departement_code=data.DEPARTEMENT_CODE
    )
    demo = DemoTerritory(departement, organisations={"departement": departement})
    for spec in data.TERRITORIES:
        territory = Territory.objects.create(departement=departement, code=spec["code"], name=spec["name"])
        TerritoryCommune.objects.bulk_create(
            TerritoryCommune(territory=territory, insee_code=insee, postal_code=postal, name=name)
            for insee, postal, name, _ in spec["communes"]
        )
        demo.territories[spec["code"]] = territory
    for key, kind, name, territory_code in PARTNERS:
        demo.organisations[key] = Organisation.objects.create(
            kind=kind,
            name=name,
            departement=departement,
            territory=demo.territories.get(territory_code),
        )
    # Un seul hachage (coûteux) pour tous les agents : ils partagent le mot de passe de démonstration.
    password = make_password(DEMO_PASSWORD)
    for email, first_name, last_name, org_key, role, territory_code in AGENTS:
        user = User.objects.create(
            email=email, username=email, first_name=first_name, last_name=last_name, password=password
        )
        Membership.objects.create(
            user=user,
            organisation=demo.organisations[org_key],
            role=role,
            territory=demo.territories.get(territory_code),
        )
        demo.agents[email] = user
    return demo


class ReferentPool:
    """Les référents de démonstration et leurs collègues : chacun prend au plus ``DEMO_PORTFOLIO`` personnes,
    puis un collègue de la même organisation (même territoire, même rôle), créé à la première personne qu'il
    reçoit (``ft.redon.2@demo.parcours.fr``…, mot de passe de démonstration), prend les suivantes."""

    def __init__(self):
        self.loads = {}  # (référent principal, organisation) -> [[référent, personnes], …]

    @property
    def created(self):
        """Nombre de collègues créés."""
        return sum(len(team) - 1 for team in self.loads.values())

    def take(self, referent, organisation):
        team = self.loads.setdefault((referent.pk, organisation.pk), [[referent, 0]])
        current = team[-1]
        if current[1] >= DEMO_PORTFOLIO:
            current = [self._colleague(referent, organisation, len(team) + 1), 0]
            team.append(current)
        current[1] += 1
        return current[0]

    def _colleague(self, referent, organisation, number):
        main = Membership.objects.filter(user=referent, organisation=organisation).first()
        rng = random.Random(f"parcours-demo-collegue-{referent.email}-{number}")
        local, domain = referent.email.split("@")
        email = f"{local}.{number}@{domain}"
        user = User.objects.create(
            email=email,
            username=email,
            first_name=rng.choice(data.FEMALE_FIRST_NAMES + data.MALE_FIRST_NAMES),
            last_name=rng.choice(data.LAST_NAMES),
            password=referent.password,  # le mot de passe de démonstration, déjà haché pour le référent
        )
        Membership.objects.create(
            user=user,
            organisation=organisation,
            role=main.role if main else Role.REFERENT,
            territory_id=main.territory_id if main else None,
        )
        return user


@dataclass
class _PlannedFollowUp:
    started_on: datetime.date
    beneficiary_id: int
    organisation: Organisation
    referent: User | None


class FollowUpPlanner:
    """Simule le travail d'orientation entre deux flux (suivis ouverts par les partenaires)."""

    def __init__(self, demo, seed):
        self.demo = demo
        self.rng = random.Random(f"parcours-demo-suivis-{seed}")
        self.pending = []
        self.created = 0
        self.pool = ReferentPool()
        agents = demo.agents
        orgs = demo.organisations
        self.by_territory = {
            "REDON": {
                "departement": agents["referent.redon@demo.parcours.fr"],
                "france_travail": (orgs["ft_redon"], agents["ft.redon@demo.parcours.fr"]),
                "ccas": (orgs["ccas"], agents["ccas.redon@demo.parcours.fr"]),
            },
            "STMALO": {
                "departement": agents["referent.saintmalo@demo.parcours.fr"],
                "france_travail": (orgs["ft_stmalo"], agents["ft.saintmalo@demo.parcours.fr"]),
                "ccas": (orgs["association"], agents["association@demo.parcours.fr"]),
            },
        }

    def _choose(self, beneficiary, territory_code, day):
        """Organisation et référent (ou None) du suivi : le référent tiré, ou un collègue si son portefeuille
        est plein (``ReferentPool``)."""
        organisation, referent = self._draw(beneficiary, territory_code, day)
        if referent is not None:
            referent = self.pool.take(referent, organisation)
        return organisation, referent

    def _draw(self, beneficiary, territory_code, day):
        """Organisation et référent (ou None) du suivi, selon l'âge et le territoire de la personne."""
        rng = self.rng
        demo = self.demo
        local = self.by_territory.get(territory_code) or self.by_territory["REDON"]
        young = beneficiary.birth_date is not None and (day - beneficiary.birth_date).days < 26 * 365
        draw = rng.random()
        if young and draw < 0.6:
            organisation = demo.organisations["mission_locale"]
            referent = demo.agents["mission-locale@demo.parcours.fr"]
        elif draw < 0.45:
            organisation, referent = demo.departement, local["departement"]
        elif draw < 0.82:
            organisation, referent = local["france_travail"]
        elif draw < 0.92:
            organisation, referent = local["ccas"]
        else:
            organisation = demo.organisations["association"]
            referent = demo.agents["association@demo.parcours.fr"]
        if rng.random() >= P_REFERENT_KNOWN:
            referent = None  # orientation connue, référent pas encore désigné
        return organisation, referent

    def _people(self, **filters):
        return list(
            Beneficiary.objects.filter(departement=self.demo.departement, **filters)
            .exclude(pk__in=FollowUp.objects.filter(ended_on__isnull=True).values("beneficiary"))
            .exclude(pk__in=[p.beneficiary_id for p in self.pending])
            .select_related("territory")
            .order_by("household__organism", "household__matricule", "role", "nir", "pk")
        )

    def plan_stock(self, received_on):
        """Après le chargement du stock : la plupart des personnes sont déjà suivies (suivi ancien)."""
        for person in self._people(rsa_state__in=["2", "3", "4"]):
            if self.rng.random() < P_STOCK_FOLLOWED:
                started_on = received_on - datetime.timedelta(days=self.rng.randint(30, 900))
                self._plan(person, started_on)

    def plan_new_entrants(self, received_on):
        """Après un flux : environ 70 % des nouveaux entrants qu'il a révélés seront orientés."""
        for person in self._people(new_entrant_t0=received_on):
            if self.rng.random() < P_NEW_ENTRANT_ORIENTED:
                self._plan(person, received_on + datetime.timedelta(days=self.rng.randint(5, 40)))

    def _plan(self, person, started_on):
        territory_code = person.territory.code if person.territory_id else None
        organisation, referent = self._choose(person, territory_code, started_on)
        self.pending.append(_PlannedFollowUp(started_on, person.pk, organisation, referent))

    def flush(self, before, *, bulk=True):
        """Ouvre les suivis qui ont commencé avant ``before`` (la date de réception du flux suivant), comme une
        reprise de l'ancien logiciel : désignation du référent quand il est connu (mêmes règles qu'à l'écran),
        sinon suivi repris sans référent.

        ``bulk`` (défaut) : les lignes et les événements que les fonctions du parcours écriraient pour ces
        personnes sans suivi ni référent en cours sont écrits en masse (``open_in_bulk``, mêmes lignes et
        mêmes événements : test ``tests/demo/test_bulk_pathway.py``) ; sinon, personne par personne par
        ``orientation.assign_referent`` et ``pathway.open_follow_up``."""
        ready = sorted(
            (p for p in self.pending if p.started_on < before), key=lambda p: (p.started_on, p.beneficiary_id)
        )
        self.pending = [p for p in self.pending if p.started_on >= before]
        if bulk:
            self.created += open_in_bulk(ready)
        else:
            self.created += open_through_services(ready)
        return len(ready)


def open_through_services(planned):
    """Les suivis planifiés, personne par personne par les fonctions du parcours ; renvoie leur nombre."""
    from django.core.exceptions import ValidationError

    from parcours.orientation import services as orientation
    from parcours.pathway import services as pathway

    people = Beneficiary.objects.in_bulk([p.beneficiary_id for p in planned])
    for item in planned:
        person = people[item.beneficiary_id]
        if item.referent is not None:
            try:
                orientation.assign_referent(
                    person,
                    referent=item.referent,
                    organisation=item.organisation,
                    author=None,
                    started_on=item.started_on,
                )
                continue
            except ValidationError:
                pass  # hors territoire ou portefeuille plein : suivi repris sans référent
        pathway.open_follow_up(person, organisation=item.organisation, on=item.started_on, cause="import")
    return len(planned)


def open_in_bulk(planned):
    """Les suivis planifiés (triés par date de début puis personne), écrits en masse : exactement les lignes
    (``ReferentAssignment``, ``FollowUp``, date de modification de la personne) et les événements du journal
    (``follow_up_opened``, ``referent_assigned``) qu'écriraient ``orientation.assign_referent(author=None)``
    et, s'il refuse la désignation, ``pathway.open_follow_up(cause="import")``, pour des personnes sans suivi
    ni référent en cours. Les autres personnes (et tout, si un abonnement aux webhooks existe) passent par
    ces fonctions. Renvoie le nombre de suivis ouverts."""
    from parcours.accounts.models import Membership
    from parcours.core.bulk import create_objects
    from parcours.interop.models import WebhookSubscription
    from parcours.journal.models import EventKind
    from parcours.journal.services import record_many, validate
    from parcours.orientation.models import CapPolicy, ReferentAssignment
    from parcours.orientation.referents import portfolio_cap

    if not planned:
        return 0
    if WebhookSubscription.objects.exists():  # les livraisons se créent à l'écriture de chaque événement
        return open_through_services(planned)
    ids = [p.beneficiary_id for p in planned]
    busy = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        busy.update(
            FollowUp.objects.filter(beneficiary_id__in=chunk, ended_on__isnull=True).values_list(
                "beneficiary_id", flat=True
            )
        )
        busy.update(
            ReferentAssignment.objects.filter(beneficiary_id__in=chunk, ended_on__isnull=True).values_list(
                "beneficiary_id", flat=True
            )
        )
    if busy:
        # Suivi ou référent déjà en cours : transfert, réservé aux fonctions du parcours (dans l'ordre).
        return open_through_services(planned)
    people = {
        pk: (departement_id, territory_id)
        for pk, departement_id, territory_id in Beneficiary.objects.filter(pk__in=ids).values_list(
            "pk", "departement_id", "territory_id"
        )
    }
    referents = {(p.referent.pk, p.organisation.pk) for p in planned if p.referent is not None}
    memberships = {key: [] for key in referents}
    for membership in Membership.objects.filter(
        user_id__in={r for r, _o in referents}, organisation_id__in={o for _r, o in referents}, is_active=True
    ):
        key = (membership.user_id, membership.organisation_id)
        if key in memberships:
            memberships[key].append(membership)
    sizes = dict.fromkeys({r for r, _o in referents}, 0)
    for referent_id in ReferentAssignment.objects.filter(
        referent_id__in=sizes, ended_on__isnull=True
    ).values_list("referent_id", flat=True):
        sizes[referent_id] += 1
    caps = {}
    assignments, follow_ups, events = [], [], []
    for item in planned:
        departement_id, territory_id = people[item.beneficiary_id]
        organisation, referent = item.organisation, item.referent
        assigned = None
        if referent is not None:
            # Contrôles de assign_referent (author=None : reprise, contexte de confiance).
            found = memberships[(referent.pk, organisation.pk)]
            belongs = organisation.pk == departement_id or organisation.departement_id == departement_id
            elsewhere = organisation.kind == OrganisationKind.DEPARTEMENT and all(
                m.territory_id and m.territory_id != territory_id for m in found
            )
            if organisation.pk not in caps:
                caps[organisation.pk] = portfolio_cap(organisation)
            cap, policy = caps[organisation.pk]
            over_cap = sizes[referent.pk] >= cap
            if found and belongs and not elsewhere and not (over_cap and policy == CapPolicy.REFUSE):
                assigned = ReferentAssignment(
                    beneficiary_id=item.beneficiary_id,
                    referent=referent,
                    organisation=organisation,
                    started_on=item.started_on,
                    assigned_by=None,
                    over_cap=over_cap,
                )
                assignments.append(assigned)
                sizes[referent.pk] += 1
        cause = "referent" if assigned else "import"
        follow_ups.append(
            FollowUp(
                beneficiary_id=item.beneficiary_id,
                organisation=organisation,
                referent=referent if assigned else None,
                started_on=item.started_on,
                cause=cause,
            )
        )
        events.append(
            (
                item,
                EventKind.FOLLOW_UP_OPENED,
                {
                    "organisation_id": organisation.pk,
                    "referent_id": referent.pk if assigned else None,
                    "cause": cause,
                },
            )
        )
        if assigned:
            events.append((item, EventKind.REFERENT_ASSIGNED, assigned))
    create_objects(assignments)
    create_objects(follow_ups)
    now = timezone.now()
    by_organisation = {}
    for item, kind, payload in events:
        if kind == EventKind.REFERENT_ASSIGNED:
            assignment = payload
            payload = {
                "assignment_id": assignment.pk,
                "referent_id": assignment.referent_id,
                "over_cap": assignment.over_cap or None,
            }
        payload = validate(kind, payload)
        by_organisation.setdefault(item.organisation.pk, []).append(
            (item.beneficiary_id, kind, item.started_on, payload)
        )
    for organisation_id, rows in by_organisation.items():
        record_many(rows, recorded_at=now, organisation=organisation_id)
    # Ce que fait le branchement de l'enregistrement d'un suivi (interop.signals) : la personne est modifiée.
    for start in range(0, len(ids), 900):
        Beneficiary.objects.filter(pk__in=ids[start : start + 900]).update(updated_at=now)
    return len(planned)


def run_demo(
    *,
    beneficiaries=1500,
    months=None,
    seed=2026,
    end_month=None,
    today=None,
    progress=None,
    orientation_sample=ORIENTATION_SAMPLE,
):
    """Crée tout le territoire de démonstration dans une base sans Département ; renvoie un résumé.

    ``months`` : nombre de flux mensuels (défaut : ``default_months(beneficiaries)``).
    ``progress(done, total, label)`` est appelé après chaque étape (création, chaque flux importé, le parcours
    des nouveaux entrants, l'accompagnement). ``orientation_sample`` : nombre de nouveaux entrants qui passent
    par la chaîne d'orientation (voir ``ORIENTATION_SAMPLE``) ; None : tous.
    Lève ``DemoAlreadyExists`` si un Département existe déjà.
    """
    started = time.monotonic()
    durations = {}

    def lap(name, since):
        durations[name] = round(durations.get(name, 0) + time.monotonic() - since, 1)

    today = today or timezone.localdate()
    end_month = end_month or default_end_month(today)
    months = months or default_months(beneficiaries)
    steps = months + 3
    with transaction.atomic():
        if demo_exists():
            raise DemoAlreadyExists("La base contient déjà un Département.")
        demo = create_territory()
        # Catalogue de l'offre (structures et services au schéma data·inclusion autour des communes).
        from parcours.catalogue.demo import populate_demo as populate_catalogue

        since = time.monotonic()
        catalogue = populate_catalogue(demo.departement, demo.organisations, seed=seed, today=today)
        lap("catalogue", since)
        # Plages de rendez-vous que les personnes invitées réservent en ligne (lien de l'invitation).
        from parcours.booking.demo import populate_demo as populate_booking

        populate_booking(demo.organisations, demo.agents, today=today)
        if progress:
            progress(1, steps, "territoire créé")
        planner = FollowUpPlanner(demo, seed)
        admin = demo.agents["admin@demo.parcours.fr"]
        new_entrants = 0
        with tempfile.TemporaryDirectory(prefix="parcours-demo-") as directory:
            since = time.monotonic()
            files = generate_flux(
                directory, beneficiaries=beneficiaries, months=months, seed=seed, end_month=end_month
            )
            lap("flux_generes", since)
            for index, flux in enumerate(files):
                since = time.monotonic()
                planner.flush(flux.received_on)
                lap("suivis_repris", since)
                since = time.monotonic()
                report = import_flux(
                    flux.path,
                    organisation=demo.departement,
                    received_on=flux.received_on,
                    fmt="csv",
                    user=admin,
                    initial_stock=index == 0,
                )
                lap("imports", since)
                if report.rejected:
                    raise RuntimeError(
                        f"Le flux de démonstration {flux.path.name} a été refusé : {report.message}"
                    )
                new_entrants += report.new_entrants
                since = time.monotonic()
                if index == 0:
                    planner.plan_stock(flux.received_on)
                else:
                    planner.plan_new_entrants(flux.received_on)
                lap("suivis_repris", since)
                if progress:
                    progress(index + 2, steps, f"flux reçu le {flux.received_on:%d/%m/%Y}")
        since = time.monotonic()
        planner.flush(today + datetime.timedelta(days=1))
        lap("suivis_repris", since)
        # Étapes 3 à 6 (invitations, rendez-vous, orientations, référents, contrats des nouveaux entrants) :
        # avant l'accompagnement intensif, dont les revues lisent l'orientation en vigueur.
        from parcours.orientation.demo import populate_demo as populate_orientation

        since = time.monotonic()
        orientation = populate_orientation(
            demo.departement, demo.agents, seed=seed, today=today, sample=orientation_sample
        )
        lap("orientation", since)
        if progress:
            progress(steps - 1, steps, "nouveaux entrants orientés")
        # Étapes 7 à 10 (accompagnement intensif, revues, sanctions, sorties, espace de la personne).
        from parcours.accompaniment.demo import populate_demo

        since = time.monotonic()
        intensive = populate_demo(demo.departement, demo.agents, seed=seed, today=today)
        lap("accompagnement", since)
        from parcours.governance.demo import populate_demo as populate_governance

        since = time.monotonic()
        populate_governance(demo.departement, user=demo.agents.get("admin@demo.parcours.fr"), today=today)
        lap("comites", since)
        from parcours.employers.demo import populate_demo as populate_employers

        since = time.monotonic()
        populate_employers(demo.departement, demo.agents, seed=seed, today=today)
        lap("employeurs", since)
        # La table de la cohorte reçoit dès maintenant les événements de la démonstration : sinon la première
        # ouverture du tableau de bord les y reporterait (2,4 s à 150 000 personnes).
        from parcours.indicators import cohort

        since = time.monotonic()
        cohort.refresh()
        lap("cohorte", since)
        if progress:
            progress(steps, steps, "accompagnement")
    departement = demo.departement
    return {
        "departement": departement.name,
        "departement_code": departement.departement_code,
        "territoires": [t.name for t in demo.territories.values()],
        "organisations": Organisation.objects.filter(departement=departement).count() + 1,
        "agents": len(demo.agents),
        "collegues_referents": planner.pool.created,
        "foyers": Household.objects.filter(departement=departement).count(),
        "beneficiaires": Beneficiary.objects.filter(departement=departement).count(),
        "flux_importes": len(files),
        "premier_flux_recu_le": files[0].received_on.isoformat(),
        "dernier_flux_recu_le": files[-1].received_on.isoformat(),
        "situations_historisees": RightSnapshot.objects.filter(beneficiary__departement=departement).count(),
        "nouveaux_entrants": new_entrants,
        "suivis": planner.created,
        "orientation": orientation,
        "accompagnement_intensif": intensive,
        "catalogue": catalogue,
        "graine": seed,
        "secondes": round(time.monotonic() - started, 1),
        "durees": durations,
        "url": DEMO_URL,
        "mot_de_passe": DEMO_PASSWORD,
        "comptes": {
            email: str(user.memberships.get().get_role_display()) for email, user in demo.agents.items()
        },
    }
