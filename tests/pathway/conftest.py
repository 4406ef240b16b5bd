"""Fixtures des scénarios de parcours (flux CAF importé, Département, France Travail, agents), partagées avec
les tests des indicateurs."""

from tests.indicators.conftest import (  # noqa: F401 - fixtures
    departement,
    flux,
    france_travail,
    manager,
    orient,
    referent,
)
