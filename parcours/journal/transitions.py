"""Une seule façon de changer un statut : table des passages permis, ligne verrouillée, événement du journal.

Chaque cycle de vie (contrat, activité, procédure de sanction, prescription, revue ; demain invitation,
rendez-vous, décision d'orientation) déclare son ``Workflow`` à côté de son modèle ou de son service :
champ du statut, passages permis ``{de: {vers, …}}``, libellés (ceux des ``choices``) et nom de l'objet
pour les messages. ``transition`` est le seul chemin d'un statut à un autre :

1. dans une transaction, relit la ligne avec ``select_for_update()`` : deux appels simultanés (page, API,
   connecteur, tâche de fond) s'exécutent l'un après l'autre, et le second voit le statut écrit par le
   premier ;
2. vérifie le passage dans la table (``TransitionError`` sinon, message en français : « Activité :
   impossible de passer de « Réalisée » à « Abandonnée ». ») ;
3. appelle ``apply(objet_verrouillé)`` pour les contrôles et les champs datés propres au passage (le statut
   n'y est pas encore changé : ``apply`` lit l'ancien) ;
4. enregistre le nouveau statut et écrit l'événement du journal (``record``) dans la même transaction.

``TransitionError`` hérite de ``ValidationError`` : les vues et formulaires qui attrapent une
``ValidationError`` affichent le message tel quel.
"""

import dataclasses
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from .services import record

# Tous les cycles de vie déclarés (lus par le test de cohérence).
WORKFLOWS = []


class TransitionError(ValidationError):
    """Passage de statut non permis : la seule erreur de domaine des cycles de vie."""

    def __init__(self, message, *, workflow=None, current=None, target=None):
        super().__init__(message, code="invalid_transition")
        self.workflow = workflow
        self.current = current
        self.target = target


@dataclasses.dataclass(frozen=True, eq=False)
class Workflow:
    """Le cycle de vie d'un modèle : ``transitions = {statut: {statuts suivants}}``, un statut final ayant
    un ensemble vide. Chaque statut des ``choices`` doit y figurer (vérifié à la déclaration).

    ``what`` : le nom de l'objet en tête des messages (« Contrat », « Activité »…).
    """

    what: str
    choices: type
    transitions: MappingProxyType
    field: str = "status"
    labels: MappingProxyType = dataclasses.field(init=False)

    def __post_init__(self):
        transitions = {
            str(source): frozenset(str(t) for t in targets) for source, targets in self.transitions.items()
        }
        values = set(self.choices.values)
        missing = values - set(transitions)
        unknown = (set(transitions) | {t for targets in transitions.values() for t in targets}) - values
        if missing or unknown:
            raise ImproperlyConfigured(
                f"Cycle de vie « {self.what} » : statuts absents de la table {sorted(missing)}, "
                f"statuts inconnus de {self.choices.__name__} {sorted(unknown)}."
            )
        object.__setattr__(self, "transitions", MappingProxyType(transitions))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.choices.choices)))
        WORKFLOWS.append(self)

    def targets(self, current):
        """Statuts permis après ``current``."""
        return self.transitions.get(current, frozenset())

    def can(self, current, target):
        return target in self.targets(current)

    def is_final(self, status):
        return not self.targets(status)

    def label(self, status):
        return self.labels.get(status, status)

    def check(self, current, target):
        """Lève ``TransitionError`` si le passage de ``current`` à ``target`` n'est pas permis."""
        if not self.can(current, target):
            raise TransitionError(
                f"{self.what} : impossible de passer de « {self.label(current)} » à « {self.label(target)} ».",
                workflow=self,
                current=current,
                target=target,
            )


def transition(
    obj,
    to_status,
    *,
    workflow,
    actor,
    on,
    event=None,
    payload=None,
    apply=None,
    organisation=None,
    beneficiary=None,
    queryset=None,
):
    """Fait passer ``obj`` au statut ``to_status`` et renvoie l'objet relu, verrouillé et enregistré.

    ``event`` : type d'événement du journal à écrire (aucun si None), daté ``on``, signé ``actor`` ;
    ``payload`` : sa charge, un dict ou une fonction ``payload(objet, ancien_statut) -> dict`` appelée après
    l'enregistrement ; ``organisation`` : l'organisation de l'événement (ou une fonction de l'objet) ;
    ``beneficiary`` : la personne (par défaut ``objet.beneficiary_id``).

    ``apply(objet)`` : contrôles et champs propres au passage, appelé avant le changement de statut (une
    ``ValidationError`` y annule tout). ``queryset`` : pour relire la ligne avec ses relations
    (``select_related``) ; la ligne seule est verrouillée.
    """
    with transaction.atomic():
        rows = queryset if queryset is not None else type(obj)._default_manager.all()
        locked = rows.select_for_update(of=("self",)).get(pk=obj.pk)
        current = getattr(locked, workflow.field)
        workflow.check(current, to_status)
        if apply is not None:
            apply(locked)
        setattr(locked, workflow.field, to_status)
        locked.save()
        if event is not None:
            data = payload(locked, current) if callable(payload) else dict(payload or {})
            record(
                beneficiary if beneficiary is not None else locked.beneficiary_id,
                event,
                on=on,
                actor=actor,
                organisation=organisation(locked) if callable(organisation) else organisation,
                **data,
            )
    return locked
