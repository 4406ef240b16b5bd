"""Une référence d'origine de contrat par personne et par organisation (``unique_contract_reference``).

Avant la contrainte, des écritures simultanées de l'API ont pu enregistrer plusieurs contrats de même
référence. La migration ne supprime aucun contrat : dans chaque groupe en double (même organisation, même
personne, même référence non vide), le premier contrat enregistré (plus petit identifiant) garde la
référence ; les suivants la gardent suffixée de « #doublon-<identifiant> » (tronquée à 60 caractères), pour
rester retrouvables et être traités à la main.
"""

from django.db import migrations, models
from django.db.models import Count

MAX_LENGTH = 60


def suffix_duplicates(apps, schema_editor):
    Contract = apps.get_model("accompaniment", "Contract")
    groups = (
        Contract.objects.exclude(external_reference="")
        .values("organisation_id", "beneficiary_id", "external_reference")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for group in groups:
        n = group.pop("n")
        duplicates = Contract.objects.filter(**group).order_by("pk").values_list("pk", flat=True)[1:n]
        for pk in list(duplicates):
            suffix = f"#doublon-{pk}"
            reference = group["external_reference"][: MAX_LENGTH - len(suffix)] + suffix
            Contract.objects.filter(pk=pk).update(external_reference=reference)


class Migration(migrations.Migration):
    dependencies = [
        ("accompaniment", "0005_contract_imported_from"),
        ("accounts", "0003_organisation_code"),
        ("beneficiaries", "0006_follow_up_cause_one_open"),
    ]

    operations = [
        migrations.RunPython(suffix_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="contract",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_reference", ""), _negated=True),
                fields=("organisation", "beneficiary", "external_reference"),
                name="unique_contract_reference",
            ),
        ),
    ]
