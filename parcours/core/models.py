"""Tables du socle : compteurs de tentatives partagés entre processus et serveurs (``throttle.py``)."""

from django.db import models


class ThrottleCounter(models.Model):
    """Un compteur de tentatives (connexion, lien de connexion, API) pour une clé pendant une fenêtre.

    La clé est une empreinte HMAC (jamais l'adresse électronique ou l'adresse IP en clair). Une ligne par
    (portée, clé) : la fenêtre repart à 1 une fois ``expires_at`` passé. Mise à jour par une seule requête
    atomique ``INSERT … ON CONFLICT … DO UPDATE … RETURNING`` (``parcours.core.throttle.hit``).
    """

    scope = models.CharField("portée", max_length=40)
    key = models.CharField("empreinte de la clé", max_length=64)
    hits = models.PositiveIntegerField("tentatives", default=0)
    expires_at = models.FloatField("fin de la fenêtre (secondes Unix)", db_index=True)

    class Meta:
        verbose_name = "compteur de tentatives"
        verbose_name_plural = "compteurs de tentatives"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="core_throttle_scope_key")]

    def __str__(self):
        return f"{self.scope} : {self.hits}"
