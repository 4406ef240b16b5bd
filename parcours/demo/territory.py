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
]

P_STOCK_FOLLOWED = 0.85  # part des personnes du stock initial qui ont déjà un suivi
P_NEW_ENTRANT_ORIENTED = 0.70  # part des nouveaux entrants orientés 5 à 40 jours après T0
P_REFERENT_KNOWN = 0.6  # part des suivis dont le référent est désigné


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

    def flush(self, before):
        """Ouvre les suivis qui ont commencé avant ``before`` (la date de réception du flux suivant), par les
        fonctions du parcours comme une reprise de l'ancien logiciel : désignation du référent quand il est
        connu (mêmes règles qu'à l'écran), sinon suivi repris sans référent."""
        from django.core.exceptions import ValidationError

        from parcours.orientation import services as orientation
        from parcours.pathway import services as pathway

        ready = [p for p in self.pending if p.started_on < before]
        self.pending = [p for p in self.pending if p.started_on >= before]
        people = Beneficiary.objects.in_bulk([p.beneficiary_id for p in ready])
        for planned in sorted(ready, key=lambda p: (p.started_on, p.beneficiary_id)):
            person = people[planned.beneficiary_id]
            if planned.referent is not None:
                try:
                    orientation.assign_referent(
                        person,
                        referent=planned.referent,
                        organisation=planned.organisation,
                        author=None,
                        started_on=planned.started_on,
                    )
                    self.created += 1
                    continue
                except ValidationError:
                    pass  # hors territoire ou portefeuille plein : suivi repris sans référent
            pathway.open_follow_up(
                person, organisation=planned.organisation, on=planned.started_on, cause="import"
            )
            self.created += 1
        return len(ready)


def run_demo(*, beneficiaries=1500, months=18, seed=2026, end_month=None, today=None, progress=None):
    """Crée tout le territoire de démonstration dans une base sans Département ; renvoie un résumé.

    ``progress(done, total, label)`` est appelé après chaque étape (création, puis chaque flux importé).
    Lève ``DemoAlreadyExists`` si un Département existe déjà.
    """
    started = time.monotonic()
    today = today or timezone.localdate()
    end_month = end_month or default_end_month(today)
    steps = months + 1
    with transaction.atomic():
        if demo_exists():
            raise DemoAlreadyExists("La base contient déjà un Département.")
        demo = create_territory()
        if progress:
            progress(1, steps, "territoire créé")
        planner = FollowUpPlanner(demo, seed)
        admin = demo.agents["admin@demo.parcours.fr"]
        new_entrants = 0
        with tempfile.TemporaryDirectory(prefix="parcours-demo-") as directory:
            files = generate_flux(
                directory, beneficiaries=beneficiaries, months=months, seed=seed, end_month=end_month
            )
            for index, flux in enumerate(files):
                planner.flush(flux.received_on)
                report = import_flux(
                    flux.path,
                    organisation=demo.departement,
                    received_on=flux.received_on,
                    fmt="csv",
                    user=admin,
                    initial_stock=index == 0,
                )
                if report.rejected:
                    raise RuntimeError(
                        f"Le flux de démonstration {flux.path.name} a été refusé : {report.message}"
                    )
                new_entrants += report.new_entrants
                if index == 0:
                    planner.plan_stock(flux.received_on)
                else:
                    planner.plan_new_entrants(flux.received_on)
                if progress:
                    progress(index + 2, steps, f"flux reçu le {flux.received_on:%d/%m/%Y}")
        planner.flush(today + datetime.timedelta(days=1))
        # Étapes 3 à 6 (invitations, rendez-vous, orientations, référents, contrats des nouveaux entrants) :
        # avant l'accompagnement intensif, dont les revues lisent l'orientation en vigueur.
        from parcours.orientation.demo import populate_demo as populate_orientation

        orientation = populate_orientation(demo.departement, demo.agents, seed=seed, today=today)
        # Étapes 7 à 10 (accompagnement intensif, revues, sanctions, sorties, espace de la personne).
        from parcours.accompaniment.demo import populate_demo

        intensive = populate_demo(demo.departement, demo.agents, seed=seed, today=today)
    departement = demo.departement
    return {
        "departement": departement.name,
        "departement_code": departement.departement_code,
        "territoires": [t.name for t in demo.territories.values()],
        "organisations": Organisation.objects.filter(departement=departement).count() + 1,
        "agents": len(demo.agents),
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
        "graine": seed,
        "secondes": round(time.monotonic() - started, 1),
        "url": DEMO_URL,
        "mot_de_passe": DEMO_PASSWORD,
        "comptes": {
            email: str(user.memberships.get().get_role_display()) for email, user in demo.agents.items()
        },
    }
