"""Lien de prise de rendez-vous envoyé avec l'invitation : signé, salé, expirant, court (``/rdv/<jeton>``).

Le jeton porte l'identifiant de l'invitation et sa date d'expiration (celle de l'invitation), signés par un
HMAC-SHA256 salé (``django.utils.crypto.salted_hmac``, la primitive de ``django.core.signing``) tronqué à 128
bits pour un lien court : un jeton modifié ne passe pas la signature. Passé cette date, le
lien ne sert plus, sauf à la personne qui a déjà réservé : elle peut encore consulter, déplacer ou annuler son
rendez-vous jusqu'à son heure. Un QR code (SVG, ``segno``) reprend le même lien sur le courrier.
"""

import base64
import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from parcours.core.delays import get_delay
from parcours.orientation.models import Attendance, Invitation, InvitationStatus

SALT = "parcours.booking.link"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class LinkError(Exception):
    """Lien altéré (``invalid``) ou expiré (``expired``) ; ``message`` en français, pour la personne."""

    def __init__(self, code, message, invitation=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.invitation = invitation


def _b36(number):
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


def link_expiry(invitation):
    """Date d'expiration du lien : celle de l'invitation (à défaut, sa création + la validité réglée)."""
    if invitation.expires_on:
        return invitation.expires_on
    days = get_delay("invitation_validity_days", invitation.beneficiary.departement)
    return (invitation.created_on or timezone.localdate()) + datetime.timedelta(days=days)


def _signature(value):
    digest = salted_hmac(SALT, value, algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(invitation):
    value = f"{_b36(invitation.pk)}.{_b36(link_expiry(invitation).toordinal())}"
    return f"{value}.{_signature(value)}"


def booking_path(invitation):
    return reverse("booking_link", args=[make_token(invitation)])


def booking_url(invitation):
    """Adresse complète du lien (SMS, courriel, courrier) : ``PARCOURS_SITE_URL`` + ``/rdv/<jeton>``."""
    return settings.PARCOURS_SITE_URL.rstrip("/") + booking_path(invitation)


def qr_svg(url):
    """QR code du lien en SVG à insérer dans la page (courrier imprimable) ; chaîne vide sans ``segno``."""
    try:
        import segno
    except ImportError:  # pragma: no cover - segno figure dans requirements.txt
        return ""
    return segno.make(url, error="m").svg_inline(scale=3, title="Lien de prise de rendez-vous")


def read_token(token, *, now=None):
    """Invitation désignée par le lien ; lève ``LinkError`` si le lien est altéré, inconnu ou expiré."""
    try:
        value, _, signature = (token or "").rpartition(".")
        if not value or not constant_time_compare(signature, _signature(value)):
            raise ValueError(token)
        pk_text, _, expiry_text = value.partition(".")
        pk, expires_on = int(pk_text, 36), datetime.date.fromordinal(int(expiry_text, 36))
    except (ValueError, OverflowError):
        raise LinkError(
            "invalid", "Ce lien n'est pas valide. Vérifiez qu'il est recopié en entier."
        ) from None
    invitation = (
        Invitation.objects.select_related("beneficiary", "beneficiary__departement").filter(pk=pk).first()
    )
    if invitation is None or invitation.status in (InvitationStatus.CREATED, InvitationStatus.FAILED):
        raise LinkError("invalid", "Ce lien n'est plus valide.")
    now = now or timezone.now()
    lapsed = timezone.localdate(now) > expires_on or invitation.status == InvitationStatus.EXPIRED
    if lapsed and not _has_upcoming_booking(invitation, now):
        raise LinkError(
            "expired",
            f"Ce lien a expiré le {expires_on:%d/%m/%Y}. Appelez-nous pour prendre rendez-vous.",
            invitation,
        )
    return invitation


def _has_upcoming_booking(invitation, now):
    return (
        invitation.bookings.filter(appointment__starts_at__gt=now)
        .exclude(appointment__attendance=Attendance.CANCELLED)
        .exists()
    )
