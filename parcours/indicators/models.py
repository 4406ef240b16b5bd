"""Table de la cohorte des nouveaux entrants, tenue à jour pour le tableau de bord (``cohort.py``).

Une ligne par entrée (événement ``new_entrant``) avec les dates des premières étapes depuis T0, **calculées
par la définition des indicateurs** (``definitions.cohort_milestones``) : rien n'est redéfini ici. Les
tranches de délai, les délais en jours et l'objectif du Département sont dérivés à la lecture
(``definitions.derive_cohort``), comme sur le journal : un délai propre au Département qui change, un
territoire ou une date d'ouverture du droit modifiés par un import sont donc lus tels qu'ils sont.

Chaque ligne garde aussi ce que les filtres du tableau de bord lisent sur la personne (Département,
territoire) et la date d'ouverture du droit de son foyer : le périmètre de l'agent s'évalue sur la table
(``scope.stored_condition``) sans relire les 150 000 personnes.

Fraîcheur : tout événement écrit, modifié ou supprimé dans le journal inscrit sa personne dans
``CohortDirty`` (déclencheur de la base, migration 0002) dans la même transaction, comme un changement de
Département, de territoire ou de foyer de la personne, ou de la date d'ouverture du droit de son foyer
(migration 0003) ; avant chaque lecture,
``cohort.refresh`` recalcule les lignes de ces personnes. Les chiffres ne sont jamais en retard sur le
journal. À la mise en service (migration 0002), toutes les personnes du journal sont inscrites : la
première lecture construit la table.
"""

from django.db import models


class CohortEntry(models.Model):
    # Identifiant de l'événement ``new_entrant`` (une personne peut entrer plusieurs fois).
    entry_id = models.BigIntegerField(primary_key=True)
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, related_name="cohort_entries"
    )
    occurred_on = models.DateField("T0")
    oriented_on = models.DateField("fin du délai d'orientation", null=True)
    pathway = models.CharField("parcours de la première orientation", max_length=40, null=True)
    first_appointment_on = models.DateField("premier entretien", null=True)
    referent_on = models.DateField("premier référent désigné", null=True)
    contract_on = models.DateField("premier contrat signé", null=True)
    # Lus sur la personne et son foyer au recalcul (``definitions.PERSON_COLUMNS``), tenus à jour par les
    # déclencheurs de la migration 0003.
    departement_id = models.BigIntegerField("Département de la personne", null=True)
    territory_id = models.BigIntegerField("territoire de la personne", null=True)
    right_opened_on = models.DateField("ouverture du droit du foyer", null=True)

    class Meta:
        verbose_name = "entrée de la cohorte"
        indexes = [models.Index(fields=["occurred_on", "beneficiary"], name="cohort_t0_idx")]

    def __str__(self):
        return f"Entrée {self.entry_id} (T0 {self.occurred_on:%d/%m/%Y})"


class CohortDirty(models.Model):
    """Personnes dont un événement a changé depuis le dernier recalcul (écrit par le déclencheur)."""

    beneficiary_id = models.BigIntegerField()

    def __str__(self):
        return f"Personne {self.beneficiary_id} à recalculer"


class FirstDiagnosis(models.Model):
    """Premier diagnostic socio-professionnel d'une personne et la première action d'accompagnement qui le
    suit (``definitions.first_diagnoses``), pour le délai médian du tableau de bord ; tenu à jour avec la
    cohorte."""

    beneficiary = models.OneToOneField(
        "beneficiaries.Beneficiary", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    diagnosed_on = models.DateField("premier diagnostic")
    action_on = models.DateField("première action d'accompagnement")
    departement_id = models.BigIntegerField("Département de la personne", null=True)
    territory_id = models.BigIntegerField("territoire de la personne", null=True)

    class Meta:
        verbose_name = "premier diagnostic"
        indexes = [models.Index(fields=["diagnosed_on"], name="first_diagnosis_date_idx")]

    def __str__(self):
        return f"Personne {self.beneficiary_id} : diagnostic du {self.diagnosed_on:%d/%m/%Y}"
