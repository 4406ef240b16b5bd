"""Prise de rendez-vous par la personne, dans un vrai navigateur, sur un écran de téléphone (390 px).

La chargée d'orientation invite une personne par SMS ; le lien du SMS (lu dans la boîte d'envoi du
prestataire de test) ouvre la page de prise de rendez-vous, sans compte ; la personne choisit un créneau, puis
le déplace ; la référente qui tient la plage se connecte et voit le rendez-vous dans son agenda. La page
publique ne déborde pas de l'écran (pas de défilement horizontal) et garde le numéro de téléphone visible.

Sans Chromium (``/usr/bin/chromium``), le module est ignoré, sauf si ``PARCOURS_BROWSER_TESTS=1``.
"""

import datetime
import os
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.accounts.models import Role
from parcours.booking.models import Booking, Mode, OpeningPattern, Purpose
from parcours.orientation import appointment_messages, sms
from parcours.orientation import services as orientation
from parcours.orientation.models import Appointment, Attendance, Channel, InvitationStatus
from tests.browser.conftest import BROWSER_MARKS, REQUIRED, new_page
from tests.factories import BeneficiaryFactory, DepartementFactory, MembershipFactory

try:
    from playwright.sync_api import expect
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("Playwright n'est pas installé (requirements-dev.txt)", allow_module_level=True)

PASSWORD = "motdepasse-solide-2026"  # celui de ``UserFactory``
PHONE = {"width": 390, "height": 844}

pytestmark = BROWSER_MARKS


@pytest.fixture
def booking_data(settings, live_server):
    settings.PARCOURS_SMS_BACKEND = "parcours.orientation.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PARCOURS_SITE_URL = live_server.url
    settings.PARCOURS_ORIENTATION_CONTACTS = {}
    settings.PARCOURS_ORIENTATION_CONTACT_PHONE = ""
    sms.outbox.clear()
    departement = DepartementFactory()
    manager = MembershipFactory(
        organisation=departement, role=Role.ORIENTATION_MANAGER, user__email="orientation@departement35.fr"
    ).user
    referent = MembershipFactory(
        organisation=departement,
        role=Role.REFERENT,
        user__email="nolwenn.tanguy@departement35.fr",
        user__first_name="Nolwenn",
        user__last_name="Tanguy",
    ).user
    # Entretiens chaque jour ouvré de 9 h à 12 h : il y a toujours des créneaux, quel que soit le jour du test.
    for weekday in range(5):
        OpeningPattern.objects.create(
            organisation=departement,
            agent=referent,
            purpose=Purpose.ORIENTATION,
            mode=Mode.PLACE,
            place="Centre départemental d'action sociale, 9 rue Joseph Lemoine",
            postal_code="35600",
            city="Redon",
            phone="02 99 71 10 10",
            weekday=weekday,
            start_time=datetime.time(9, 0),
            end_time=datetime.time(12, 0),
            slot_minutes=45,
            valid_from=timezone.localdate() - datetime.timedelta(days=7),
        )
    person = BeneficiaryFactory(
        departement=departement,
        first_name="Nadia",
        last_name="Lebreton",
        phone="06 12 34 56 78",
        postal_code="35600",
        city="Redon",
    )
    invitation = orientation.invite(person, channel=Channel.SMS, author=manager)
    yield {"person": person, "referent": referent, "invitation": invitation, "manager": manager}
    sms.outbox.clear()


def test_person_books_and_moves_from_the_sms_link_on_a_phone(
    live_server, browser, browser_settings, booking_data
):
    [message] = sms.outbox
    link = re.search(r"https?://\S+/rdv/\S+", message["body"]).group(0)
    assert link.startswith(live_server.url) and "02 99 71 10 10" in message["body"]

    page = new_page(browser, viewport=PHONE)
    page.goto(link)
    expect(page.get_by_role("heading", name="Prendre rendez-vous")).to_be_visible()
    expect(page.get_by_text("Bonjour Nadia LEBRETON")).to_be_visible()
    expect(page.get_by_role("link", name="02 99 71 10 10")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if os.environ.get("PARCOURS_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["PARCOURS_SCREENSHOTS"], "rdv-390.png"), full_page=True)

    # Elle choisit le premier créneau proposé.
    first = page.locator("input[name=creneau]").first
    first_label = page.locator(f"label[for='{first.get_attribute('id')}']").inner_text().split()[0]
    page.locator(f"label[for='{first.get_attribute('id')}']").click()
    page.get_by_role("button", name="Je réserve ce créneau").click()
    expect(page.get_by_text("Votre rendez-vous est pris le")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(f"à {first_label}"))).to_be_visible()
    booking = Booking.objects.get()
    assert booking.appointment.attendance == Attendance.PLANNED
    booking_data["invitation"].refresh_from_db()
    assert booking_data["invitation"].status == InvitationStatus.ANSWERED

    # Elle le déplace sur le dernier créneau affiché.
    page.get_by_role("link", name="Changer la date").click()
    expect(page.get_by_role("heading", name="Changer la date de votre rendez-vous")).to_be_visible()
    last = page.locator("input[name=creneau]").last
    page.locator(f"label[for='{last.get_attribute('id')}']").click()
    page.get_by_role("button", name="Je change pour ce créneau").click()
    expect(page.get_by_text("Votre rendez-vous est déplacé au")).to_be_visible()
    moved = Booking.objects.get(moved_from=booking)
    booking.appointment.refresh_from_db()
    assert booking.appointment.attendance == Attendance.CANCELLED
    assert moved.starts_at > booking.starts_at
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.problems, page.problems
    page.context.close()

    # La référente qui tient la plage voit le rendez-vous dans son agenda de la semaine.
    agent = new_page(browser)
    agent.goto(live_server.url + reverse("login"))
    agent.get_by_label("Adresse électronique").fill(booking_data["referent"].email)
    agent.get_by_label("Mot de passe").fill(PASSWORD)
    agent.get_by_role("button", name="Se connecter").click()
    expect(agent.get_by_role("button", name="Se déconnecter")).to_be_visible()
    day = timezone.localdate(moved.starts_at)
    agent.goto(f"{live_server.url}{reverse('booking:agenda')}?date={day.isoformat()}")
    row = agent.get_by_role("row", name=re.compile("Nadia LEBRETON"))
    expect(row).to_be_visible()
    expect(row).to_contain_text(timezone.localtime(moved.starts_at).strftime("%H:%M"))
    expect(row).to_contain_text("en ligne par la personne")
    if os.environ.get("PARCOURS_SCREENSHOTS"):
        agent.screenshot(path=os.path.join(os.environ["PARCOURS_SCREENSHOTS"], "agenda.png"), full_page=True)
    assert not agent.problems, agent.problems
    agent.context.close()

    # La veille, à l'heure du rendez-vous, la tâche de fond des messages envoie le rappel par SMS (et, si le
    # test tourne la nuit, la confirmation du déplacement, retenue jusqu'à 8 h).
    sms.outbox.clear()
    local = timezone.localtime(moved.starts_at)
    summary = appointment_messages.send_due(now=local - datetime.timedelta(days=1, minutes=-1))
    [reminder] = [m for m in sms.outbox if m["body"].startswith("Rappel")]
    assert summary["envoyes"] == len(sms.outbox)
    assert reminder["body"].startswith("Rappel : Bonjour Nadia LEBRETON")
    assert f"le {local:%d/%m/%Y} à {local:%H}h{local:%M}" in reminder["body"]

    # Le jour venu, elle ne vient pas : la chargée d'orientation saisit l'absence sur la fiche d'orientation,
    # et la personne revient d'elle-même dans la file des invitations expirées, à convoquer.
    Appointment.objects.filter(pk=moved.appointment_id).update(
        starts_at=timezone.now() - datetime.timedelta(hours=2)
    )
    agent = new_page(browser)
    agent.goto(live_server.url + reverse("login"))
    agent.get_by_label("Adresse électronique").fill(booking_data["manager"].email)
    agent.get_by_label("Mot de passe").fill(PASSWORD)
    agent.get_by_role("button", name="Se connecter").click()
    expect(agent.get_by_role("button", name="Se déconnecter")).to_be_visible()
    agent.goto(live_server.url + reverse("orientation:panel", args=[booking_data["person"].pk]))
    agent.get_by_role("button", name=re.compile(r"Rendez-vous \(")).click()
    agent.locator(f"#att-{moved.appointment_id}").select_option(Attendance.NO_SHOW)
    agent.locator(f"#att-{moved.appointment_id}").locator("xpath=ancestor::form").get_by_role(
        "button", name="Enregistrer la présence"
    ).click()
    moved.appointment.refresh_from_db()
    assert moved.appointment.attendance == Attendance.NO_SHOW
    agent.goto(live_server.url + reverse("orientation:convocations"))
    expect(agent.get_by_text("Nadia LEBRETON").first).to_be_visible()
    assert not agent.problems, agent.problems
    agent.context.close()
