"""Témoins de l'exploitation (sonde /healthz)."""

from django.db import models

NIR_CANARY = "nir"  # nom du témoin de PARCOURS_NIR_KEY
NIR_CANARY_TEXT = "temoin-parcours-nir"  # valeur connue, chiffrée comme un NIR


class KeyCanary(models.Model):
    """Une valeur connue chiffrée avec une clé gardée hors de la base (``PARCOURS_NIR_KEY``).

    Écrite par la migration avec la clé en service ce jour-là : après une restauration de la base sur un
    serveur dont la clé diffère, elle ne se déchiffre plus et /healthz répond 503 au lieu de servir des
    NIR indéchiffrables.
    """

    name = models.CharField("clé", max_length=40, unique=True)
    value = models.TextField("valeur chiffrée")
    created_at = models.DateTimeField("écrite le", auto_now_add=True)

    class Meta:
        verbose_name = "témoin de clé"
        verbose_name_plural = "témoins de clé"

    def __str__(self):
        return self.name
