"""Un seul suivi en cours par personne, et le suivi ouvert par les orientations notifiées (annexe 4).

Avant : une orientation notifiée sans référent n'ouvrait aucun suivi, et une personne pouvait avoir un suivi
ouvert par organisation. La migration clôt les suivis en double (le plus récent reste en cours) et ouvre le
suivi des personnes orientées (décision notifiée en vigueur) ou ayant un référent, qui n'en avaient pas.
"""

from django.conf import settings
from django.db import migrations, models


def one_open_follow_up(apps, schema_editor):
    FollowUp = apps.get_model("beneficiaries", "FollowUp")
    OrientationDecision = apps.get_model("orientation", "OrientationDecision")
    ReferentAssignment = apps.get_model("orientation", "ReferentAssignment")
    latest = {}
    to_close = []
    for follow_up in FollowUp.objects.filter(ended_on__isnull=True).order_by("beneficiary_id", "started_on", "pk"):
        previous = latest.get(follow_up.beneficiary_id)
        if previous is not None:
            previous.ended_on = max(follow_up.started_on, previous.started_on)
            previous.end_reason = f"Prise en charge par l'organisation n° {follow_up.organisation_id}"
            previous.end_cause = "transfert"
            to_close.append(previous)
        latest[follow_up.beneficiary_id] = follow_up
    FollowUp.objects.bulk_update(to_close, ["ended_on", "end_reason", "end_cause"], batch_size=1000)

    followed = set(latest)
    to_create = []
    for assignment in ReferentAssignment.objects.filter(ended_on__isnull=True).order_by("started_on", "pk"):
        if assignment.beneficiary_id not in followed:
            followed.add(assignment.beneficiary_id)
            to_create.append(
                FollowUp(
                    beneficiary_id=assignment.beneficiary_id,
                    organisation_id=assignment.organisation_id,
                    referent_id=assignment.referent_id,
                    started_on=assignment.started_on,
                    cause="referent",
                )
            )
    for decision in OrientationDecision.objects.filter(
        is_current=True, status="notified", notified_on__isnull=False
    ).order_by("notified_on", "pk"):
        if decision.beneficiary_id not in followed:
            followed.add(decision.beneficiary_id)
            to_create.append(
                FollowUp(
                    beneficiary_id=decision.beneficiary_id,
                    organisation_id=decision.organisation_id,
                    started_on=decision.notified_on,
                    cause="orientation",
                )
            )
    FollowUp.objects.bulk_create(to_create, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_alter_membership_role"),
        ("beneficiaries", "0005_nir_encrypted"),
        ("orientation", "0002_updated_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="cause",
            field=models.CharField(
                choices=[
                    ("orientation", "Orientation notifiée"),
                    ("referent", "Référent désigné"),
                    ("import", "Reprise d'un autre logiciel"),
                ],
                default="import",
                max_length=20,
                verbose_name="ouvert par",
            ),
        ),
        migrations.AddField(
            model_name="followup",
            name="end_cause",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sortie", "Sortie de l'accompagnement"),
                    ("radiation", "Radiation (droit clos)"),
                    ("suspension", "Suspension de plus de 12 mois"),
                    ("fin", "Fin de suivi décidée"),
                    ("transfert", "Prise en charge par une autre organisation"),
                    ("annulation", "Orientation annulée"),
                ],
                max_length=20,
                verbose_name="clos par",
            ),
        ),
        migrations.RunPython(one_open_follow_up, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="followup",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_on__isnull", True)), fields=("beneficiary",), name="one_open_follow_up"
            ),
        ),
    ]
