"""Lien signé de l'invitation : expiration, altération, message d'invitation avec lien, QR code et téléphone."""

import pytest

from parcours.booking import links, services
from parcours.orientation import services as orientation
from parcours.orientation import sms
from parcours.orientation.invitations import render_message
from parcours.orientation.models import Channel
from tests.booking.conftest import at

pytestmark = pytest.mark.django_db


def test_sms_invitation_carries_the_short_signed_link_and_the_phone(opening, invitation):
    [message] = sms.outbox
    body = message["body"]
    assert "avant le 12/03/2026" in body
    assert "https://parcours.ille-et-vilaine.fr/rdv/" in body
    assert "au 02 99 71 10 10" in body  # numéro de la plage publiée, faute de numéro du Département
    assert body.endswith(links.booking_url(invitation))  # le lien finit le SMS : aucun point collé au lien
    token = body.split("/rdv/")[1]
    assert links.read_token(token) == invitation
    assert len(token) < 35  # lien court, lisible dans un SMS


def test_department_phone_setting_wins(settings, opening, invitation):
    settings.PARCOURS_ORIENTATION_CONTACTS = {"35": {"phone": "02 99 02 35 35"}}
    assert "au 02 99 02 35 35 ou sur internet" in render_message(invitation, "sms")


def test_letter_has_link_and_qr_code(person, manager, frozen, opening):
    frozen(2026, 3, 2)
    invitation = orientation.invite(person, channel=Channel.POSTAL, author=manager)
    letter = render_message(invitation, "letter")
    assert links.booking_url(invitation) in letter
    assert "<svg" in letter and "Lien de prise de rendez-vous" in letter


def test_link_expires_with_the_invitation(invitation, frozen):
    token = links.make_token(invitation)
    frozen(2026, 3, 12, 23, 59)
    assert links.read_token(token) == invitation
    frozen(2026, 3, 13, 0, 1)
    with pytest.raises(links.LinkError) as error:
        links.read_token(token)
    assert error.value.code == "expired" and "a expiré le 12/03/2026" in error.value.message


def test_tampered_link_is_refused(invitation):
    token = links.make_token(invitation)
    pk, expiry, signature = token.split(".")
    other = f"{links._b36(invitation.pk + 1)}.{expiry}"
    for forged in (f"{other}.{signature}", token[:-2] + "xx", "abc", "", "1.2.3"):
        with pytest.raises(links.LinkError) as error:
            links.read_token(forged)
        assert error.value.code == "invalid"


def test_a_longer_expiry_cannot_be_forged(invitation):
    token = links.make_token(invitation)
    pk, expiry, signature = token.split(".")
    forged = f"{pk}.{links._b36(int(expiry, 36) + 30)}.{signature}"
    with pytest.raises(links.LinkError):
        links.read_token(forged)


def test_booked_person_keeps_the_link_until_her_appointment(invitation, opening, frozen):
    services.book(invitation, opening.pk, at(2026, 3, 17, 9))
    token = links.make_token(invitation)
    frozen(2026, 3, 13)  # invitation expirée, rendez-vous à venir : elle peut encore le voir ou le changer
    assert links.read_token(token) == invitation
    frozen(2026, 3, 17, 10)
    with pytest.raises(links.LinkError) as error:
        links.read_token(token)
    assert error.value.code == "expired"
