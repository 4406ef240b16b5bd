"""La page des imports mène aux reprises (parcours, organisations) pour les seuls administrateurs du
Département : aucun lien vers une page qui répondrait 403."""

import pytest
from django.urls import reverse

from parcours.accounts.models import Role
from tests.factories import DepartementFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "shown"), [(Role.ADMIN, True), (Role.ORIENTATION_MANAGER, False)])
def test_takeover_links_only_for_departement_admins(client, role, shown):
    user = MembershipFactory(organisation=DepartementFactory(), role=role).user
    client.force_login(user)
    html = client.get(reverse("import_list")).content.decode()
    for name in ("pathway_import", "organisation_import"):
        url = reverse(name)
        assert (url in html) is shown
        assert client.get(url).status_code == (200 if shown else 403)
