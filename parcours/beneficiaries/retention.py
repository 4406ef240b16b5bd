"""Durées de conservation : anonymisation des dossiers échus et suppression des fichiers de flux.

Appelé par ``parcours purge`` (à planifier chaque nuit). Une personne est anonymisée quand son droit
est clos, qu'aucun suivi n'est ouvert et qu'aucun flux ne la mentionne depuis
``retention_inactive_months`` (délai par Département). L'anonymisation efface l'identité, le NIR, les
identifiants et les coordonnées, et garde ce qui sert aux indicateurs (dates, états, territoire, commune).
Chaque personne anonymisée laisse une entrée au journal d'accès (action « purge »).
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from parcours.accounts.models import Organisation, OrganisationKind
from parcours.core.delays import get_delay

from .models import CLOSED_STATES, Beneficiary, FollowUp

ANONYMISED_NAME = "Anonymisé"
CLEARED = {
    "civility": "",
    "last_name": ANONYMISED_NAME,
    "birth_name": "",
    "first_name": "",
    "birth_date": None,
    "nir": None,
    "france_travail_id": "",
    "departement_internal_id": "",
    "email": "",
    "phone": "",
    "address": "",
}


@dataclass
class PurgeReport:
    dry_run: bool
    anonymised: dict = field(default_factory=dict)  # nom du Département -> nombre de personnes
    files_deleted: int = 0
    bytes_freed: int = 0
    counters_deleted: int = (
        0  # compteurs de tentatives (connexion, débit de l'API) dont la fenêtre est passée
    )

    @property
    def total(self):
        return sum(self.anonymised.values())


def expired_people(departement, today):
    months = get_delay("retention_inactive_months", departement)
    limit = today - relativedelta(months=months)
    open_follow_ups = FollowUp.objects.filter(ended_on__isnull=True).values("beneficiary")
    return (
        Beneficiary.objects.filter(
            departement=departement, anonymised_on__isnull=True, rsa_state__in=CLOSED_STATES
        )
        .filter(last_flux_on__lt=limit)
        .exclude(pk__in=open_follow_ups)
    )


def purge(*, dry_run=False, today=None, user=None):
    from parcours.audit.models import AccessAction
    from parcours.audit.services import record_many

    today = today or timezone.localdate()
    report = PurgeReport(dry_run=dry_run)
    for departement in Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("name"):
        ids = list(expired_people(departement, today).values_list("pk", flat=True))
        report.anonymised[departement.name] = len(ids)
        if ids and not dry_run:
            with transaction.atomic():
                Beneficiary.objects.filter(pk__in=ids).update(anonymised_on=today, **CLEARED)
                record_many(
                    [
                        {"beneficiary_id": pk, "departement_id": departement.pk, "action": AccessAction.PURGE}
                        for pk in ids
                    ],
                    user=user,
                    view="parcours purge",
                    reason="Durée de conservation échue : identité et coordonnées effacées.",
                )
        _purge_import_files(departement, report, dry_run)
    if not dry_run:
        from parcours.core.throttle import purge_expired

        report.counters_deleted = purge_expired()
    return report


def _purge_import_files(departement, report, dry_run):
    """Supprime les fichiers de flux conservés au-delà du délai ; le lot et son rapport restent."""
    from parcours.intake.models import ImportBatch

    days = get_delay("retention_import_files_days", departement)
    cutoff = timezone.now() - datetime.timedelta(days=days)
    batches = (
        ImportBatch.objects.filter(created_at__lt=cutoff)
        .filter(Q(organisation=departement) | Q(organisation__departement=departement))
        .exclude(stored_path="")
    )
    for batch in batches:
        path = Path(batch.stored_path)
        if path.exists():
            report.bytes_freed += path.stat().st_size
            report.files_deleted += 1
            if not dry_run:
                path.unlink()
        if not dry_run:
            ImportBatch.objects.filter(pk=batch.pk).update(stored_path="")
