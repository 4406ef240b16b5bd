"""Plages de rendez-vous publiées par les organisations et réservations faites par la personne.

Les créneaux libres ne sont pas enregistrés : ils sont calculés à la demande (``slots.py``) à partir des
**plages hebdomadaires** (``OpeningPattern``), des **fermetures** (``Closure``) et des jours fériés
(``holidays.py``). Une réservation (``Booking``) relie le créneau choisi au rendez-vous
(``orientation.Appointment``) créé par le service de l'orientation : le journal et les files restent exacts.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Purpose(models.TextChoices):
    ORIENTATION = "orientation", "Entretien d'orientation"
    DIAGNOSTIC = "diagnostic", "Diagnostic socio-professionnel"
    COLLECTIVE = "collective", "Réunion d'information collective"
    FOLLOW_UP = "follow_up", "Rendez-vous de suivi"


#: types de rendez-vous que la personne prend elle-même depuis une invitation à l'orientation
ORIENTATION_PURPOSES = (Purpose.ORIENTATION, Purpose.DIAGNOSTIC, Purpose.COLLECTIVE)


class Mode(models.TextChoices):
    PLACE = "place", "Sur place"
    PHONE = "phone", "Par téléphone"
    VISIO = "visio", "En visioconférence"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "lundi"
    TUESDAY = 1, "mardi"
    WEDNESDAY = 2, "mercredi"
    THURSDAY = 3, "jeudi"
    FRIDAY = 4, "vendredi"
    SATURDAY = 5, "samedi"
    SUNDAY = 6, "dimanche"


class OpeningPattern(models.Model):
    """Plage d'ouverture hebdomadaire : chaque ``weekday``, de ``start_time`` à ``end_time``, des créneaux de
    ``slot_minutes`` ; ``capacity`` places par créneau (1 pour un entretien, N pour une réunion collective)."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="openings",
        verbose_name="organisation",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="openings",
        verbose_name="agent",
        help_text="Vide : plage de l'organisation (l'agent est choisi le jour venu).",
    )
    purpose = models.CharField("type de rendez-vous", max_length=15, choices=Purpose.choices)
    mode = models.CharField("modalité", max_length=10, choices=Mode.choices, default=Mode.PLACE)
    place = models.CharField(
        "adresse du lieu", max_length=300, blank=True, help_text="Obligatoire pour un rendez-vous sur place."
    )
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    city = models.CharField("commune", max_length=150, blank=True)
    phone = models.CharField(
        "téléphone",
        max_length=20,
        help_text="Numéro à appeler pour prendre, déplacer ou annuler un rendez-vous (affiché à la personne).",
    )
    weekday = models.PositiveSmallIntegerField("jour", choices=Weekday.choices)
    start_time = models.TimeField("de")
    end_time = models.TimeField("à")
    slot_minutes = models.PositiveSmallIntegerField("durée d'un créneau (minutes)", default=45)
    capacity = models.PositiveSmallIntegerField("places par créneau", default=1)
    valid_from = models.DateField("à partir du")
    valid_to = models.DateField("jusqu'au", null=True, blank=True)
    is_active = models.BooleanField("publiée", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "plage d'ouverture"
        verbose_name_plural = "plages d'ouverture"
        ordering = ["organisation", "weekday", "start_time", "pk"]
        indexes = [models.Index(fields=["organisation", "is_active"], name="booking_opening_org_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="opening_end_after"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="opening_capacity_positive"),
            models.CheckConstraint(condition=Q(slot_minutes__gte=5), name="opening_slot_minutes"),
        ]

    def __str__(self):
        return (
            f"{self.get_purpose_display()} — {self.organisation} — {self.get_weekday_display()} "
            f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"
        )

    def clean(self):
        errors = {}
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = "L'heure de fin doit suivre l'heure de début."
        if self.mode == Mode.PLACE and not (self.place or "").strip():
            errors["place"] = "Adresse du lieu : obligatoire pour un rendez-vous sur place."
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            errors["valid_to"] = "La fin de validité doit suivre son début."
        if self.purpose != Purpose.COLLECTIVE and self.capacity and self.capacity > 1:
            errors["capacity"] = "Plusieurs places par créneau : réservé aux réunions collectives."
        if errors:
            raise ValidationError(errors)

    @property
    def is_collective(self):
        return self.capacity > 1

    @property
    def where(self):
        """Le lieu tel que la personne le lit (« Sur place : 2 rue…, 35600 Redon », « Par téléphone »)."""
        if self.mode == Mode.PLACE:
            town = " ".join(part for part in (self.postal_code, self.city) if part)
            return ", ".join(part for part in (self.place, town) if part)
        return self.get_mode_display()


class Closure(models.Model):
    """Fermeture d'une organisation (tous ses agents) ou d'un agent, du ``starts_on`` au ``ends_on`` inclus."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="closures",
        verbose_name="organisation",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closures",
        verbose_name="agent",
        help_text="Vide : toute l'organisation est fermée.",
    )
    starts_on = models.DateField("du")
    ends_on = models.DateField("au")
    reason = models.CharField("motif", max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "fermeture"
        ordering = ["starts_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="closure_ends_after")
        ]

    def __str__(self):
        who = self.agent or self.organisation
        return f"{who} fermé du {self.starts_on:%d/%m/%Y} au {self.ends_on:%d/%m/%Y} ({self.reason})"


class Booking(models.Model):
    """Place réservée sur un créneau d'une plage ; le rendez-vous lui-même est ``appointment``.

    La place est libérée quand le rendez-vous est annulé (présence « annulé ») : le décompte des places lit
    la présence du rendez-vous, il n'y a pas de second statut à tenir."""

    opening = models.ForeignKey(
        OpeningPattern, on_delete=models.PROTECT, related_name="bookings", verbose_name="plage"
    )
    starts_at = models.DateTimeField("créneau")
    appointment = models.OneToOneField(
        "orientation.Appointment",
        on_delete=models.CASCADE,
        related_name="booking",
        verbose_name="rendez-vous",
    )
    invitation = models.ForeignKey(
        "orientation.Invitation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
        verbose_name="invitation",
    )
    moved_from = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moved_to",
        verbose_name="déplacé depuis",
    )
    by_person = models.BooleanField("pris par la personne", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "réservation"
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["opening", "starts_at"], name="booking_opening_start_idx")]

    def __str__(self):
        return f"Réservation du {self.starts_at:%d/%m/%Y %H:%M} ({self.opening.get_purpose_display()})"
