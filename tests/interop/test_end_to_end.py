"""Un système partenaire simulé de bout en bout (critère « Done when » de l'issue 9).

France Travail reçoit les webhooks signés, tire les changements avec ``updated_after``, renvoie une
présence ; le dossier de la personne le montre. Rejouer un webhook ou une écriture ne change rien.
"""

import io
import json

from django.core.management import call_command
from django.utils import timezone

from parcours.accounts.models import Role
from parcours.interop import webhooks
from parcours.interop.models import Delivery
from parcours.journal.models import Event
from parcours.orientation import services as orientation
from parcours.orientation.models import Attendance
from tests.factories import MembershipFactory

from .conftest import past

HOOK = "https://partenaire.example/parcours/evenements"


def deliver():
    out = io.StringIO()
    call_command("interop-deliver", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_partner_system_end_to_end(
    client, departement, france_travail, person, manager, make_partner, api_client, receiver
):
    # Le Département enregistre le logiciel de France Travail : jeton, abonnement aux événements.
    partner, token = make_partner(france_travail, name="Logiciel de France Travail Redon")
    subscription = webhooks.subscribe(
        partner, HOOK, ["orientation.decidee", "rendez-vous.cree", "rendez-vous.presence", "contrat.signe"]
    )
    receiver.secret = subscription.secret
    ft = api_client(token)
    last_sync = timezone.now()

    # 1. Le Département oriente la personne vers France Travail et désigne une conseillère.
    decision = orientation.decide_orientation(
        person,
        pathway="emploi",
        organisation=france_travail,
        author=manager,
        notified_on=timezone.localdate(),
    )
    counselor = MembershipFactory(
        organisation=france_travail, role=Role.REFERENT, user__email="conseillere@francetravail.fr"
    ).user
    orientation.assign_referent(person, referent=counselor, organisation=france_travail, author=manager)
    appointment = orientation.schedule_appointment(
        person,
        starts_at=past(hours=3),
        place="Agence France Travail de Redon",
        author=manager,
        organisations=[departement, france_travail],
    )
    assert deliver() == {"livrees": 2, "en_echec": 0}
    received = sorted(receiver.events.values(), key=lambda e: e["type"])
    assert [(e["type"], e["personne"]) for e in received] == [
        ("orientation.decidee", person.pk),
        ("rendez-vous.cree", person.pk),
    ]

    # 2. Le partenaire tire les changements depuis sa dernière synchronisation.
    people, _ = ft.pull_all("personnes", updated_after=last_sync.isoformat())
    assert [(p["id"], p["nir"]) for p in people] == [(person.pk, None)]
    orientations, _ = ft.pull_all("orientations", updated_after=last_sync.isoformat())
    assert [(o["id"], o["code_france_travail"], o["statut"]) for o in orientations] == [
        (decision.pk, "PED", "notified")
    ]
    appointments, cursor = ft.pull_all("rendez-vous", updated_after=last_sync.isoformat())
    assert [(a["id"], a["presence"]) for a in appointments] == [(appointment.pk, "prevu")]

    # 3. Il renvoie la présence constatée à l'agence.
    response = ft.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="ft-rdv-0001")
    assert response.status_code == 200 and response.json()["presence"] == "present"

    # 4. Le dossier de la personne le montre : rendez-vous, journal, page du dossier.
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.SEEN
    held = Event.objects.get(beneficiary=person, kind="appointment_held")
    assert held.payload["appointment_id"] == appointment.pk
    client.force_login(manager)
    page = client.get(f"/beneficiaires/{person.pk}/")
    assert page.status_code == 200
    assert "Rendez-vous honoré" in page.content.decode()
    assert "par Logiciel de France Travail Redon (France Travail Redon)" in page.content.decode()

    # … et l'événement revient au partenaire, comme le changement à la synchronisation suivante.
    assert deliver() == {"livrees": 1, "en_echec": 0}
    assert sorted(e["type"] for e in receiver.events.values())[-1] == "rendez-vous.presence"
    changed, cursor = ft.pull_all("rendez-vous", curseur=cursor)
    assert [(a["id"], a["presence"]) for a in changed] == [(appointment.pk, "present")]

    # 5. Rejouer l'écriture (même clé) ou un webhook ne change rien.
    state = (
        Event.objects.count(),
        Delivery.objects.count(),
        len(receiver.events),
    )
    again = ft.post(f"rendez-vous/{appointment.pk}/presence", {"presence": "present"}, key="ft-rdv-0001")
    assert again.status_code == 200 and again.json() == response.json()
    for delivery in Delivery.objects.all():
        out = io.StringIO()
        call_command("interop-deliver", "--replay", str(delivery.pk), stdout=out)
    assert (Event.objects.count(), Delivery.objects.count(), len(receiver.events)) == state
    assert len(receiver.requests) == 6  # 3 livraisons + 3 rejeux, dédoublonnés par le récepteur
    assert ft.pull_all("rendez-vous", curseur=cursor)[0] == []
    appointment.refresh_from_db()
    assert appointment.attendance == Attendance.SEEN
