"""Branchements : livraisons de webhooks à l'écriture du journal ; date de modification des objets exposés
(synchronisation des partenaires par ``updated_after``)."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from parcours.accompaniment.models import Contract, EmploymentCheck, Exit, PlannedActivity
from parcours.beneficiaries.models import Beneficiary, FollowUp, RsaRight
from parcours.catalogue.models import Prescription
from parcours.journal.models import Event
from parcours.orientation.models import Appointment, OrientationDecision

from .webhooks import EVENT_TYPES, enqueue_for_event


@receiver(post_save, sender=Event, dispatch_uid="interop_enqueue_webhooks")
def _enqueue_webhooks(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.kind in EVENT_TYPES:
        enqueue_for_event(instance)


def _touch(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """``save(update_fields=[…])`` sans ``updated_at`` ne met pas à jour la date (``auto_now``) : on la
    pousse ici, pour que la synchronisation par ``updated_after`` voie le changement."""
    if raw or created or update_fields is None or "updated_at" in update_fields:
        return
    now = timezone.now()
    sender._base_manager.filter(pk=instance.pk).update(updated_at=now)
    instance.updated_at = now


for _model in (Appointment, OrientationDecision, Contract, RsaRight, PlannedActivity, Prescription, Exit):
    post_save.connect(_touch, sender=_model, dispatch_uid=f"interop_touch_{_model.__name__}")


@receiver(post_save, sender=EmploymentCheck, dispatch_uid="interop_employment_check_touches_exit")
def _employment_check_touches_exit(sender, instance, raw=False, **kwargs):
    """Un suivi dans l'emploi fait partie de la sortie publiée (``suivis``) : sa date de modification
    avance, pour que les partenaires le reçoivent à leur prochaine synchronisation."""
    if not raw:
        Exit.objects.filter(pk=instance.exit_id).update(updated_at=timezone.now())


@receiver(post_save, sender=FollowUp, dispatch_uid="interop_follow_up_touches_person")
def _follow_up_touches_person(sender, instance, raw=False, **kwargs):
    """Un suivi ouvert fait entrer la personne dans le périmètre d'une organisation : sa date de
    modification avance, pour que le système partenaire la reçoive à sa prochaine synchronisation."""
    if not raw:
        Beneficiary.objects.filter(pk=instance.beneficiary_id).update(updated_at=timezone.now())
