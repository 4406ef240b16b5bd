"""Cartographie parcours–offre : les services du catalogue avec leurs places financées, leur coût unitaire et
leurs financeurs, par type de parcours et par territoire.

Convention « insertion et emploi » 002, volet 2-a (« disposer d'une vision claire et précise des parcours
d'accompagnement mobilisables ») : pour chaque parcours type, « le nom, la durée, le contenu de l'offre de
service, les modalités de déploiement (volume horaire, intervention individuelle et/ou collective), le public
cible, le coût unitaire du parcours, le nombre de places financées » ; et « les aspects plus qualitatifs
seront approchés via les travaux afférents à la cartographie parcours — offre ».

Une ligne de financement (``ServiceFinancing``) par service, type de parcours, territoire et année ; le
budget (places × coût unitaire) est calculé à la lecture, jamais stocké. Le tableau, ses totaux, l'export
(CSV, XLSX) et la carte (SVG dessiné ici : pas de fond de carte en ligne) lisent les mêmes fonctions.
"""

import io
import math
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.accounts.roles import OFFER_MAP_READER
from parcours.core.csv_export import safe_cell
from parcours.orientation.models import Pathway

from . import referentiels as ref
from .geo import valid_coordinates
from .models import Commune, Funder, ServiceFinancing

MAX_UNIT_COST = Decimal("1000000")
BUDGET = ExpressionWrapper(
    F("places_financed") * F("unit_cost"), output_field=DecimalField(max_digits=16, decimal_places=2)
)


@dataclass(frozen=True)
class Filters:
    pathway: str = ""
    territory_id: int | None = None
    funder: str = ""
    year: int | None = None


def readable_departements(user):
    """Départements dont l'agent lit la cartographie (appartenance au Département ; tous pour le super-utilisateur)."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return list(Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("name"))
    seen = {}
    for membership in OFFER_MAP_READER.memberships(user):
        seen.setdefault(membership.organisation_id, membership.organisation)
    return list(seen.values())


def financings(departements, filters=Filters()):
    """Les lignes de financement des Départements, filtrées, avec leur budget (places × coût unitaire)."""
    rows = ServiceFinancing.objects.filter(departement__in=[d.pk for d in departements])
    if filters.pathway:
        rows = rows.filter(pathway=filters.pathway)
    if filters.territory_id:
        rows = rows.filter(territory_id=filters.territory_id)
    if filters.funder:
        rows = rows.filter(funders_index__contains=f"|{filters.funder}|")
    if filters.year:
        rows = rows.filter(year=filters.year)
    return (
        rows.select_related("service", "service__structure", "territory", "departement")
        .annotate(budget_total=BUDGET)
        .order_by("pathway", "service__nom", "territory__name", "-year", "pk")
    )


def totals(rows):
    """Places financées, budget et nombre de services d'un ensemble de lignes (une requête)."""
    result = rows.order_by().aggregate(
        places=Sum("places_financed", default=0),
        budget=Sum(BUDGET, default=Decimal("0")),
        services=Count("service", distinct=True),
    )
    result["budget"] = money(result["budget"])
    result["unit_cost"] = money(result["budget"] / result["places"]) if result["places"] else None
    return result


def by_pathway(rows):
    """Totaux par type de parcours (tous les types, même sans ligne) : ce que demande le fichier de
    renseignement « pour chaque parcours type »."""
    found = {
        r["pathway"]: r
        for r in rows.order_by()
        .values("pathway")
        .annotate(
            places=Sum("places_financed", default=0),
            budget=Sum(BUDGET, default=Decimal("0")),
            services=Count("service", distinct=True),
        )
    }
    out = []
    for value, label in Pathway.choices:
        r = found.get(value, {"places": 0, "budget": Decimal("0"), "services": 0})
        r["budget"] = money(r["budget"])
        unit = money(r["budget"] / r["places"]) if r["places"] else None
        out.append(
            {
                "pathway": value,
                "label": label,
                **{k: r[k] for k in ("places", "budget", "services")},
                "unit_cost": unit,
            }
        )
    return out


def years(departements):
    return list(
        ServiceFinancing.objects.filter(departement__in=[d.pk for d in departements])
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


# --- saisie ---------------------------------------------------------------------------------------------


def check_financing(financing):
    """Règles d'une ligne de financement (messages en français), vérifiées avant tout enregistrement."""
    errors = {}
    if financing.places_financed is None or financing.places_financed < 1:
        errors["places_financed"] = "Le nombre de places financées est d'au moins 1."
    if financing.unit_cost is None or financing.unit_cost <= 0:
        errors["unit_cost"] = "Le coût unitaire est un montant positif en euros."
    elif financing.unit_cost > MAX_UNIT_COST:
        errors["unit_cost"] = "Le coût unitaire dépasse 1 000 000 € par place : vérifiez le montant."
    if not financing.funders:
        errors["funders"] = "Choisissez au moins un financeur."
    elif set(financing.funders) - set(Funder.values):
        errors["funders"] = "Financeur inconnu."
    if financing.year is None or not 2000 <= financing.year <= 2100:
        errors["year"] = "Année invalide (entre 2000 et 2100)."
    if financing.pathway not in Pathway.values:
        errors["pathway"] = "Choisissez un type de parcours."
    if financing.territory_id and financing.territory.departement_id != financing.departement_id:
        errors["territory"] = "Ce territoire n'appartient pas au Département."
    duplicate = ServiceFinancing.objects.filter(
        service_id=financing.service_id,
        departement_id=financing.departement_id,
        pathway=financing.pathway,
        territory_id=financing.territory_id,
        year=financing.year,
    ).exclude(pk=financing.pk)
    if not errors and duplicate.exists():
        errors["__all__"] = (
            "Ce service a déjà un financement pour ce parcours, ce territoire et cette année : modifiez-le."
        )
    if errors:
        raise ValidationError(errors)


def save_financing(financing, *, user):
    """Enregistre une ligne de financement après vérification ; l'agent est noté comme auteur."""
    check_financing(financing)
    financing.updated_by = user if getattr(user, "pk", None) else None
    financing.save()
    return financing


# --- export ---------------------------------------------------------------------------------------------

HEADER = [
    "type de parcours",
    "service",
    "structure",
    "territoire",
    "année",
    "places financées",
    "coût unitaire (€)",
    "budget (€)",
    "financeurs",
    "convention / fiche action",
    "durée (semaines)",
    "volume horaire hebdomadaire (h)",
    "modalités (accueil)",
    "public cible",
    "contenu de l'offre",
    "commune",
]


def money(value):
    """Montant en euros à deux décimales (le produit SQL peut perdre l'échelle selon la base)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def export_rows(rows):
    """En-tête puis une ligne par financement (les rubriques du fichier de renseignement du volet 2-a)."""
    yield HEADER
    for f in rows:
        s = f.service
        yield [
            f.get_pathway_display(),
            s.nom,
            s.structure.nom,
            f.territory.name if f.territory else "Tout le Département",
            f.year,
            f.places_financed,
            money(f.unit_cost),
            money(f.budget_total),
            ", ".join(f.funders_display),
            f.funding_reference,
            s.nombre_semaines if s.nombre_semaines is not None else "",
            s.volume_horaire_hebdomadaire if s.volume_horaire_hebdomadaire is not None else "",
            ", ".join(s.modes_accueil_display),
            ", ".join(ref.labels("Public", s.publics)) or s.publics_precisions,
            " ".join((s.description or "").split())[:500],
            s.commune,
        ]


def to_xlsx(rows):
    """Classeur : feuille « Offre financée » (une ligne par financement) et « Par parcours » (totaux)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Offre financée"
    for line in export_rows(rows):
        sheet.append([_cell(c) for c in line])
    summary = workbook.create_sheet("Par parcours")
    summary.append(
        ["type de parcours", "services", "places financées", "budget (€)", "coût moyen par place (€)"]
    )
    for r in by_pathway(rows):
        summary.append([r["label"], r["services"], r["places"], float(r["budget"]), _cell(r["unit_cost"])])
    total = totals(rows)
    summary.append(
        ["Ensemble", total["services"], total["places"], float(total["budget"]), _cell(total["unit_cost"])]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return safe_cell(value)
    return value


# --- carte ----------------------------------------------------------------------------------------------

MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 800, 600, 40


@dataclass
class MapPoint:
    x: float
    y: float
    radius: float
    label: str
    places: int
    budget: Decimal
    services: list
    pathways: list

    @property
    def label_y(self):
        return round(self.y + self.radius + 12, 1)


def _locations(rows):
    """Coordonnées de chaque ligne : celles du service, sinon le centre de sa commune (référentiel)."""
    codes = {
        f.service.code_insee for f in rows if not valid_coordinates(f.service.latitude, f.service.longitude)
    }
    codes.discard("")
    centres = {
        c.code: (c.latitude, c.longitude, c.nom)
        for c in Commune.objects.filter(code__in=codes).only("code", "latitude", "longitude", "nom")
    }
    located, missing = [], []
    for f in rows:
        s = f.service
        if valid_coordinates(s.latitude, s.longitude):
            located.append((s.latitude, s.longitude, s.commune or s.nom, f))
        elif s.code_insee in centres and valid_coordinates(*centres[s.code_insee][:2]):
            lat, lon, name = centres[s.code_insee]
            located.append((lat, lon, name, f))
        else:
            missing.append(f)
    return located, missing


def map_points(rows):
    """Points de la carte en coordonnées SVG (projection équirectangulaire corrigée de la latitude), un point par
    commune, rayon proportionnel à la racine des places financées. Renvoie ``(points, non localisées)``."""
    rows = list(rows)
    located, missing = _locations(rows)
    if not located:
        return [], missing
    # Un cercle par commune (centre moyen de ses services) : des services voisins d'une même ville ne se
    # recouvrent pas en cercles et en libellés illisibles ; sans nom de commune, un cercle par position.
    groups = {}
    for lat, lon, name, f in located:
        key = name or (round(lat, 4), round(lon, 4))
        group = groups.setdefault(key, {"lats": [], "lons": [], "label": name, "rows": []})
        group["lats"].append(lat)
        group["lons"].append(lon)
        group["rows"].append(f)
    for group in groups.values():
        group["lat"] = sum(group["lats"]) / len(group["lats"])
        group["lon"] = sum(group["lons"]) / len(group["lons"])
    lats = [g["lat"] for g in groups.values()]
    lons = [g["lon"] for g in groups.values()]
    mid = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * mid, 0.05)
    span_y = max(max(lats) - min(lats), 0.05)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / span_x, (MAP_HEIGHT - 2 * MAP_MARGIN) / span_y)
    centre_x = (min(lons) + max(lons)) / 2
    centre_y = (min(lats) + max(lats)) / 2
    most = max(sum(f.places_financed for f in g["rows"]) for g in groups.values()) or 1
    points = []
    for g in groups.values():
        places = sum(f.places_financed for f in g["rows"])
        points.append(
            MapPoint(
                x=round(MAP_WIDTH / 2 + (g["lon"] - centre_x) * mid * scale, 1),
                y=round(MAP_HEIGHT / 2 - (g["lat"] - centre_y) * scale, 1),
                radius=round(4 + 16 * math.sqrt(places / most), 1),
                label=g["label"],
                places=places,
                budget=sum((money(f.budget_total) for f in g["rows"]), Decimal("0")),
                services=sorted({f.service.nom for f in g["rows"]}),
                pathways=sorted({f.get_pathway_display() for f in g["rows"]}),
            )
        )
    points.sort(key=lambda p: -p.radius)  # les grands cercles d'abord : les petits restent cliquables dessus
    return points, missing
