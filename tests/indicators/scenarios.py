"""Scénario partagé des tests par organisation, des graphiques et des listes de personnes."""

import pytest

from parcours.accompaniment import services as accompaniment
from parcours.orientation import services as orientation

from .conftest import D, person, row


@pytest.fixture
def scenario(departement, flux, orient, france_travail, referent, manager):
    """Cinq nouveaux entrants au 01/03 (T0) :

    - Alice : orientée France Travail le 10/03 (à temps), référent le 12/03, contrat le 20/03 ;
    - Chloé : orientée France Travail le 05/03 (à temps), sans référent ;
    - Bruno : orienté Département le 20/03 (en retard) ; Emma : Département le 03/03 (à temps) ;
    - David : pas orienté.
    """
    flux(
        D(2026, 3, 1),
        row("alice"),
        row("bruno"),
        row("chloe", commune="vitre"),
        row("david", commune="vitre"),
        row("emma"),
    )
    orient(person("alice"), D(2026, 3, 10), organisation=france_travail)
    orient(person("chloe"), D(2026, 3, 5), "socio_professionnel", organisation=france_travail)
    orient(person("bruno"), D(2026, 3, 20), "social")
    orient(person("emma"), D(2026, 3, 3))
    orientation.assign_referent(
        person("alice"),
        referent=referent,
        organisation=france_travail,
        author=manager,
        started_on=D(2026, 3, 12),
    )
    contract = accompaniment.create_contract(person("alice"), author=referent, kind="cer")
    accompaniment.sign_contract(contract, actor=referent, on=D(2026, 3, 20))
