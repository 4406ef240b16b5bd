"""Générateur de flux RSA synthétiques au format CSV canonique (voir CONTRACTS.md, « Canonical flux file »).

Deux usages :

- ``generate_flux(directory, beneficiaries=…, months=…, seed=…)`` simule une population de foyers au RSA
  sur plusieurs mois et écrit un fichier par mois (l'instantané des personnes ayant un droit ce
  mois-là) : premières demandes, emménagements, couples (demandeur et conjoint partagent le
  matricule), conjoints qui rejoignent un foyer, allers-retours autour du seuil de 500 € de revenus
  d'activité (top « soumis aux droits et devoirs »), suspensions courtes (< 12 mois) et longues
  (> 12 mois), clôtures et retours après radiation, déménagements dans le territoire ;
- ``write_canonical_csv(path, n_rows, seed)`` écrit en flux continu un gros fichier (banc d'essai), sans
  garder les lignes en mémoire.

Tout est déterministe : un ``random.Random(seed)`` propre à chaque génération, jamais l'état global.
"""

import calendar
import csv
import datetime
import functools
import itertools
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from parcours.beneficiaries.nir import compute_key

from . import data

CANONICAL_COLUMNS = [
    "organisme",
    "matricule",
    "role",
    "nir",
    "civilite",
    "nom",
    "nom_naissance",
    "prenom",
    "date_naissance",
    "email",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "code_insee",
    "date_ouverture_droit",
    "etat_droit",
    "soumis_droits_devoirs",
    "id_departement",
    "id_france_travail",
]

# Probabilités mensuelles de l'évolution d'un droit versable.
P_CLOSE = 0.012
P_SUSPEND = 0.018
P_LONG_SUSPENSION = 0.3  # part des suspensions de plus de 12 mois
P_RETURN_AFTER_CLOSURE = 0.4
P_REFUSED = 0.04  # part des nouvelles demandes refusées
P_AWAITING = 0.25  # part des nouvelles demandes d'abord « en attente de décision » (état 0)
P_MOVE = 0.008  # déménagement dans le territoire
P_COUPLE = 0.28
P_TOGGLE = 0.3  # bascule mensuelle du top SDD pour les personnes autour du seuil de 500 €
STOCK_SHARE = 0.62  # part de la population déjà présente dans le premier fichier
JOIN_SHARE = 0.05  # part des arrivées qui sont des conjoints rejoignant un foyer existant

# Profils du top « soumis aux droits et devoirs » (SDD).
SDD_PROFILES = [("stable", 80), ("oscillating", 9), ("above", 5), ("falls", 6)]

AGES = [((19, 24), 5), ((25, 34), 32), ((35, 44), 27), ((45, 54), 22), ((55, 63), 14)]


BIRTH_PLACES = [((dep, communes), weight) for dep, communes, weight in data.BIRTH_PLACES]


class FluxFile(NamedTuple):
    path: Path
    received_on: datetime.date


def add_months(day, months):
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_end_month(today=None):
    """Mois de réception du dernier fichier : ce mois-ci s'il a déjà pu arriver (après le 9), sinon le
    mois précédent (les fichiers arrivent entre le 3 et le 9 du mois)."""
    today = today or datetime.date.today()
    month = today.replace(day=1)
    return month if today.day > 9 else add_months(month, -1)


def _ascii(text):
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-").strip("-")


@functools.cache
def _french(day):
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


_CUMULATIVE = {}


def _weighted(rng, items):
    """Choisit dans une liste de couples (valeur, poids) (poids cumulés calculés une fois par liste)."""
    table = _CUMULATIVE.get(id(items))
    if table is None or table[0] is not items:
        values = [value for value, _ in items]
        cumulative = list(itertools.accumulate(weight for _, weight in items))
        table = _CUMULATIVE[id(items)] = (items, values, cumulative)
    return rng.choices(table[1], cum_weights=table[2], k=1)[0]


COMMUNES = [
    ((insee, postal, name), weight)
    for territory in data.TERRITORIES
    for insee, postal, name, weight in territory["communes"]
]


@dataclass
class Person:
    role: str
    civility: str
    first_name: str
    last_name: str
    birth_name: str
    birth_date: datetime.date
    nir: str
    email: str = ""
    phone: str = ""
    departement_id: str = ""
    france_travail_id: str = ""
    profile: str = "stable"
    sdd: bool = True
    falls_at: int | None = None


@dataclass
class Household:
    organism: str
    matricule: str
    address: str
    commune: tuple
    opened_on: datetime.date
    members: list = field(default_factory=list)
    state: str | None = None  # état écrit ce mois-ci ; None : absent du fichier
    suspension_left: int = 0
    suspension_long: bool = False
    gone: bool = False
    return_at: int | None = None


class PersonFactory:
    """Fabrique des identités fictives cohérentes (sexe, date de naissance et NIR concordent)."""

    def __init__(self, rng, reference_year):
        self.rng = rng
        self.reference_year = reference_year
        self.used_nir_bodies = set()
        self.used_ft_ids = set()
        self.departement_seq = 0
        self.phone_seq = rng.randrange(10_000)

    def birth_date(self):
        low, high = _weighted(self.rng, AGES)
        year = self.reference_year - self.rng.randint(low, high)
        month = self.rng.randint(1, 12)
        return datetime.date(year, month, self.rng.randint(1, calendar.monthrange(year, month)[1]))

    def nir(self, sex_digit, birth_date, index=None):
        """NIR sur 15 caractères avec sa clé. ``index`` (banc d'essai) garantit l'unicité sans mémoire."""
        rng = self.rng
        dep, communes = _weighted(rng, BIRTH_PLACES)
        prefix = f"{sex_digit}{birth_date.year % 100:02d}{birth_date.month:02d}"
        if index is not None:
            deps = ["35", "44", "56", "22", "29", "75", "93", "49", "53", "50", "14", "72", "61", "27"]
            dep = deps[(index // 998_001) % len(deps)]
            commune, order = divmod(index % 998_001, 999)
            body = f"{prefix}{dep}{commune + 1:03d}{order + 1:03d}"
        else:
            while True:
                body = f"{prefix}{dep}{rng.choice(communes)}{rng.randint(1, 999):03d}"
                if body not in self.used_nir_bodies:
                    self.used_nir_bodies.add(body)
                    break
        return f"{body}{compute_key(body):02d}"

    def email(self, first_name, last_name):
        rng = self.rng
        first, last = _ascii(first_name), _ascii(last_name).replace("-", "")
        local = rng.choice([f"{first}.{last}", f"{first}{last}", f"{first[0]}.{last}", f"{last}.{first}"])
        if rng.random() < 0.5:
            local += str(rng.randint(1, 99))
        return f"{local}@{rng.choice(data.EMAIL_DOMAINS)}"

    def phone(self):
        # Tranches réservées à la fiction : 06 39 98 xx xx (mobile) et 02 61 91 xx xx (fixe, Ouest).
        self.phone_seq = (self.phone_seq + 7919) % 10_000
        digits = f"{self.phone_seq:04d}"
        prefix = "06 39 98" if self.rng.random() < 0.85 else "02 61 91"
        text = f"{prefix} {digits[:2]} {digits[2:]}"
        return text if self.rng.random() < 0.7 else text.replace(" ", "")

    def france_travail_id(self):
        while True:
            value = f"{self.rng.randint(1_000_000, 9_999_999)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
            if value not in self.used_ft_ids:
                self.used_ft_ids.add(value)
                return value

    def person(self, role, *, partner=None, index=None, with_departement_id=False):
        rng = self.rng
        if partner is None:
            female = rng.random() < 0.58
        else:
            female = partner.civility == "M" if rng.random() < 0.95 else partner.civility == "MME"
        first_name = rng.choice(data.FEMALE_FIRST_NAMES if female else data.MALE_FIRST_NAMES)
        own_name = rng.choice(data.LAST_NAMES)
        last_name, birth_name = own_name, ""
        if female and partner is not None and partner.civility == "M" and rng.random() < 0.5:
            last_name, birth_name = partner.last_name, own_name  # mariée, porte le nom du conjoint
        elif female and partner is None and rng.random() < 0.2:
            last_name, birth_name = rng.choice(data.LAST_NAMES), own_name  # a gardé un nom d'usage
            if last_name == birth_name:
                birth_name = ""
        birth_date = self.birth_date()
        nir = self.nir(2 if female else 1, birth_date, index=index) if rng.random() < 0.97 else ""
        person = Person(
            role=role,
            civility="MME" if female else "M",
            first_name=first_name,
            last_name=last_name,
            birth_name=birth_name,
            birth_date=birth_date,
            nir=nir,
        )
        if partner is not None and partner.email and rng.random() < 0.15:
            person.email = partner.email  # couple qui partage une adresse électronique
        elif rng.random() < 0.82:
            person.email = self.email(first_name, last_name)
        if rng.random() < 0.88:
            person.phone = self.phone()
        if with_departement_id and rng.random() < 0.5:
            self.departement_seq += 1
            person.departement_id = f"D{data.DEPARTEMENT_CODE}{self.departement_seq:06d}"
        if rng.random() < 0.35:
            person.france_travail_id = self.france_travail_id()
        return person

    def address(self):
        rng = self.rng
        number = rng.randint(1, 120)
        suffix = " bis" if rng.random() < 0.05 else ""
        street = f"{number}{suffix} {rng.choice(data.STREET_KINDS)} {rng.choice(data.STREET_NAMES)}"
        return street, _weighted(rng, COMMUNES)


def _row(household, person, state):
    """La ligne du fichier (dans l'ordre de ``CANONICAL_COLUMNS``)."""
    insee, postal, city = household.commune
    return (
        household.organism,
        household.matricule,
        person.role,
        person.nir,
        person.civility,
        person.last_name,
        person.birth_name,
        person.first_name,
        _french(person.birth_date),
        person.email,
        person.phone,
        household.address,
        postal,
        city,
        insee,
        _french(household.opened_on),
        state,
        "1" if person.sdd else "0",
        person.departement_id,
        person.france_travail_id,
    )


def _open_writer(handle):
    writer = csv.writer(handle, delimiter=";", lineterminator="\n")
    writer.writerow(CANONICAL_COLUMNS)
    return writer


class Population:
    """Simulation mois par mois d'une population de foyers au RSA."""

    def __init__(self, *, beneficiaries, months, seed, end_month):
        if beneficiaries < 1:
            raise ValueError("Il faut au moins un bénéficiaire.")
        if months < 1:
            raise ValueError("Il faut au moins un mois.")
        self.rng = random.Random(seed)
        self.months = months
        self.end_month = end_month.replace(day=1)
        self.received_months = [add_months(self.end_month, k - months + 1) for k in range(months)]
        self.factory = PersonFactory(self.rng, self.end_month.year)
        self.households = []
        self.used_matricules = set()
        self.remaining = beneficiaries
        stock = beneficiaries if months == 1 else max(1, round(beneficiaries * STOCK_SHARE))
        later = beneficiaries - stock
        joins = round(later * JOIN_SHARE)
        self.stock = stock
        self.arrivals = self._spread(later - joins)
        self.joins = self._spread(joins)

    def _spread(self, total):
        """Répartit ``total`` arrivées sur les mois 1..M-1 (le mois 0 est le stock)."""
        counts = [0] * self.months
        for _ in range(total):
            counts[self.rng.randint(1, self.months - 1)] += 1
        return counts

    def _matricule(self, organism):
        while True:
            if organism == "CAF":
                value = str(self.rng.randint(1_000_000, 9_999_999))
            else:
                value = f"{self.rng.randint(10_000_000, 99_999_999)}"
            if value not in self.used_matricules:
                self.used_matricules.add(value)
                return value

    def _random_day(self, month_start):
        last = calendar.monthrange(month_start.year, month_start.month)[1]
        return month_start.replace(day=self.rng.randint(1, last))

    def _set_profile(self, person, month):
        profile = _weighted(self.rng, SDD_PROFILES)
        if profile == "falls" and month >= self.months - 1:
            profile = "stable"
        person.profile = profile
        if profile == "oscillating":
            person.sdd = self.rng.random() < 0.5
        elif profile in ("above", "falls"):
            person.sdd = False
            if profile == "falls":
                person.falls_at = self.rng.randint(month + 1, self.months - 1)
        else:
            person.sdd = True

    def _new_household(self, month, *, stock):
        rng = self.rng
        reference_month = add_months(self.received_months[month], -1)
        organism = "CAF" if rng.random() < 0.93 else "MSA"
        address, commune = self.factory.address()
        if stock:
            opened_on = self._random_day(add_months(reference_month, -rng.randint(1, 96)))
        elif rng.random() < 0.3:  # emménagement : droit ouvert ailleurs, il y a quelque temps
            opened_on = self._random_day(add_months(reference_month, -rng.randint(3, 60)))
        else:  # première demande : droit ouvert le mois de référence
            opened_on = self._random_day(reference_month)
        household = Household(organism, self._matricule(organism), address, commune, opened_on)
        size = 2 if self.remaining >= 2 and rng.random() < P_COUPLE else 1
        demandeur = self.factory.person("DEM", with_departement_id=stock)
        household.members.append(demandeur)
        if size == 2:
            household.members.append(self.factory.person("CJT", partner=demandeur, with_departement_id=stock))
        for person in household.members:
            self._set_profile(person, month)
        self.remaining -= size
        if stock:
            household.state = "2"
            if rng.random() < 0.05:  # déjà suspendu au premier fichier
                household.state = rng.choice("34")
                household.suspension_long = rng.random() < 0.5
                household.suspension_left = (
                    rng.randint(6, 16) if household.suspension_long else rng.randint(1, 4)
                )
        else:
            household.state = "0" if rng.random() < P_AWAITING else "2"
        self.households.append(household)
        return size

    def _evolve(self, household, month):
        rng = self.rng
        if household.gone:
            if household.return_at == month:  # retour après radiation : nouvelle demande, même matricule
                household.gone = False
                household.return_at = None
                household.opened_on = self._random_day(add_months(self.received_months[month], -1))
                household.state = "0" if rng.random() < 0.2 else "2"
                for person in household.members:
                    if person.profile == "stable":
                        person.sdd = True
            return
        state = household.state
        if state in ("1", "5"):  # refus ou clôture le mois précédent : sort du flux
            household.gone = True
            household.state = None
            if state == "5" and rng.random() < P_RETURN_AFTER_CLOSURE:
                household.return_at = month + rng.randint(2, 9)
            return
        if state == "0":
            household.state = "1" if rng.random() < P_REFUSED else "2"
        elif state in ("3", "4"):
            household.suspension_left -= 1
            if household.suspension_left <= 0:
                long_one = household.suspension_long
                household.state = "5" if long_one and rng.random() < 0.3 else "2"
        elif state == "2":
            draw = rng.random()
            if draw < P_CLOSE:
                household.state = "5"
            elif draw < P_CLOSE + P_SUSPEND:
                household.state = rng.choice("34")
                household.suspension_long = rng.random() < P_LONG_SUSPENSION
                household.suspension_left = (
                    rng.randint(13, 16) if household.suspension_long else rng.randint(1, 5)
                )
        if rng.random() < P_MOVE:
            household.address, household.commune = self.factory.address()

    def _evolve_sdd(self, person, month):
        if person.profile == "oscillating":
            if self.rng.random() < P_TOGGLE:
                person.sdd = not person.sdd
        elif person.profile == "falls" and person.falls_at == month:
            person.sdd = True

    def _join(self, month, count):
        """Des conjoints rejoignent des foyers (isolés, droit versable) déjà connus."""
        eligible = [h for h in self.households if h.state == "2" and len(h.members) == 1]
        for household in self.rng.sample(eligible, min(count, len(eligible), self.remaining)):
            partner = self.factory.person("CJT", partner=household.members[0])
            self._set_profile(partner, month)
            household.members.append(partner)
            self.remaining -= 1

    def month_rows(self, month):
        """Fait évoluer la population jusqu'au mois ``month`` et renvoie les lignes de son fichier."""
        rng = self.rng
        if month == 0:
            budget = self.stock
            while budget > 0 and self.remaining > 0:
                budget -= self._new_household(0, stock=True)
        else:
            for household in self.households:
                self._evolve(household, month)
                if household.state is not None:
                    for person in household.members:
                        self._evolve_sdd(person, month)
            self._join(month, self.joins[month])
            budget = self.arrivals[month]
            if month == self.months - 1:
                budget = self.remaining  # le dernier mois absorbe les arrondis
            while budget > 0 and self.remaining > 0:
                budget -= self._new_household(month, stock=False)
        rows = []
        for household in self.households:
            if household.state is None or household.gone:
                continue
            for person in household.members:
                rows.append(_row(household, person, household.state))
        rng.shuffle(rows)  # un vrai flux n'est pas trié par date d'arrivée
        return rows

    def received_on(self, month):
        return self.received_months[month].replace(day=self.rng.randint(3, 9))


def generate_flux(directory, *, beneficiaries=1500, months=18, seed=2026, end_month=None):
    """Écrit un fichier CSV canonique par mois dans ``directory`` et renvoie la liste ordonnée des
    ``FluxFile(path, received_on)``. ``end_month`` : mois de réception du dernier fichier (défaut :
    ``default_end_month()``). Le nombre total de personnes distinctes est exactement ``beneficiaries``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    population = Population(
        beneficiaries=beneficiaries, months=months, seed=seed, end_month=end_month or default_end_month()
    )
    files = []
    for month in range(months):
        rows = population.month_rows(month)
        received_on = population.received_on(month)
        path = directory / f"flux_rsa_{received_on:%Y-%m}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            _open_writer(handle).writerows(rows)
        files.append(FluxFile(path, received_on))
    return files


BENCH_STATES = [("2", 84), ("3", 3), ("4", 3), ("0", 4), ("5", 4), ("1", 2)]


def write_canonical_csv(path, n_rows, seed=0):
    """Écrit ``n_rows`` lignes de CSV canonique en flux continu (mémoire constante) et renvoie ``n_rows``.

    Foyers d'une ou deux personnes, matricules et NIR tous distincts (dérivés du numéro de ligne), sans
    rien garder en mémoire d'une ligne à l'autre.
    """
    rng = random.Random(seed)
    factory = PersonFactory(rng, 2026)
    factory.france_travail_id = lambda: f"{rng.randint(1_000_000, 9_999_999)}X"  # unicité non requise
    written = 0
    household_index = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = _open_writer(handle)
        while written < n_rows:
            matricule = str((household_index * 7919 + 1_000_003) % 9_000_000 + 1_000_000)
            household_index += 1
            address, commune = factory.address()
            opened_on = datetime.date(2026, 1, 1) - datetime.timedelta(days=rng.randint(20, 3000))
            household = Household("CAF", matricule, address, commune, opened_on)
            state = _weighted(rng, BENCH_STATES)
            demandeur = factory.person("DEM", index=written)
            if not demandeur.nir:
                demandeur.nir = factory.nir(
                    2 if demandeur.civility == "MME" else 1, demandeur.birth_date, written
                )
            household.members.append(demandeur)
            if written + 1 < n_rows and rng.random() < P_COUPLE:
                partner = factory.person("CJT", partner=demandeur, index=written + 1)
                if not partner.nir:
                    partner.nir = factory.nir(
                        2 if partner.civility == "MME" else 1, partner.birth_date, written + 1
                    )
                household.members.append(partner)
            for person in household.members:
                person.sdd = rng.random() < 0.92
                writer.writerow(_row(household, person, state))
                written += 1
    return written
