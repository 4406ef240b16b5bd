"""Le journal des parcours : chaque fait daté, écrit une fois, par la fonction qui fait le changement.

Types d'événements : ``kinds.EventKind`` ; charge de chaque type : ``payload.SCHEMAS`` ; seul écrivain :
``services.record`` / ``services.build``.
"""

from django.conf import settings
from django.db import models

from .kinds import EventKind
from .payload import normalise

__all__ = ["Event", "EventKind"]


class Event(models.Model):
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name="bénéficiaire",
        db_index=False,  # couvert par event_benef_date_idx (personne, date), dont c'est la première colonne
    )
    kind = models.CharField("type", max_length=40, choices=EventKind.choices)
    occurred_on = models.DateField("date métier")
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.ForeignKey(
        "intake.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField("détails", default=dict, blank=True)

    class Meta:
        verbose_name = "événement"
        ordering = ["-occurred_on", "-pk"]
        indexes = [
            models.Index(fields=["kind", "occurred_on"], name="event_kind_date_idx"),
            models.Index(fields=["beneficiary", "occurred_on"], name="event_benef_date_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.occurred_on:%d/%m/%Y}"

    @property
    def data(self):
        """La charge avec les clés déclarées (``payload.Payload``) : ``event.data.get(Payload.DECISION_ID)``."""
        return normalise(self.kind, self.payload)
