"""Démonstration : le catalogue de démonstration porte des financements (cartographie parcours–offre)."""

import datetime

from parcours.catalogue import offer_map
from parcours.catalogue.demo import populate_demo
from parcours.catalogue.models import ServiceFinancing
from parcours.demo import data
from parcours.orientation.models import Pathway
from tests.factories import DepartementFactory, TerritoryFactory

TODAY = datetime.date(2026, 11, 15)


def test_demo_catalogue_has_financings_for_every_pathway(db):
    departement = DepartementFactory(departement_code="35", name=data.DEPARTEMENT_NAME)
    for spec in data.TERRITORIES:
        TerritoryFactory(departement=departement, code=spec["code"], name=spec["name"])
    populate_demo(departement, {"departement": departement}, seed=2026, today=TODAY)
    rows = offer_map.financings([departement])
    assert rows.count() == ServiceFinancing.objects.count() > 5
    by_pathway = {r["pathway"]: r for r in offer_map.by_pathway(rows)}
    assert all(by_pathway[p]["places"] > 0 for p in Pathway.values)
    assert all(f.territory is not None and f.year == 2026 for f in rows)
    points, missing = offer_map.map_points(rows)
    assert len(points) >= len(data.TERRITORIES) and not missing
