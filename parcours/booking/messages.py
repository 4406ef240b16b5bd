"""Ce que les messages d'invitation (SMS, courriel, courrier) disent de la prise de rendez-vous : le lien
signé, son QR code (courrier) et le numéro à appeler. Lu par ``orientation.invitations.message_context``."""

from django.utils.safestring import mark_safe

from . import links, services


def invitation_context(invitation):
    """``booking_url`` (invitation à prendre rendez-vous, pas pour une convocation à une date fixée),
    ``booking_qr`` (SVG, calculé seulement si le gabarit le lit) et ``contact_phone``."""
    context = {"contact_phone": services.contact_phone(invitation.beneficiary)}
    if invitation.pk and not invitation.is_convocation:
        url = links.booking_url(invitation)
        context["booking_url"] = url
        context["booking_qr"] = lambda: mark_safe(links.qr_svg(url))  # noqa: S308 - SVG produit par segno
    return context
