"""Outils communs des actions de l'orientation : écriture au journal, date du jour, contrôle des transitions."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from parcours.journal.services import record


def log_event(beneficiary, event_kind, *, on, actor, organisation=None, **payload):
    """Écrit un événement du journal des parcours par son unique écrivain (type et données déclarés dans
    ``parcours.journal.payload``)."""
    return record(
        beneficiary,
        event_kind,
        on=on,
        actor=actor if getattr(actor, "pk", None) else None,
        organisation=organisation,
        **payload,
    )


def copy_back(target, source):
    """Recopie sur l'objet de l'appelant les champs de la ligne relue et verrouillée par une transition."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def default_today(value=None):
    return value or timezone.localdate()


def check_transition(transitions, current, target, labels, what):
    if target not in transitions.get(current, set()):
        raise ValidationError(
            f"{what} : impossible de passer de « {labels[current]} » à « {labels.get(target, target)} »."
        )
