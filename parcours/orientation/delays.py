"""Délais d'orientation d'un nouvel entrant : comment on compte, écrit une fois.

Lu par les files de travail et la fiche (``queues.with_days_left``, ``queues.deadlines``), la fiche racontée
et l'accueil (par ``deadlines``) et les indicateurs (``indicators.definitions.derive_cohort`` : tranches
« objectif », « délai légal », « au-delà »). Chaque fonction accepte un entier ou une expression de la base :
la même règle s'écrit en Python et en SQL. Les durées sont des réglages par Département
(``orientation_target_days``, ``orientation_legal_days``).
"""

import datetime

from parcours.core.delays import get_delay


def target_last_day_offset(days):
    """Objectif de pilotage (« orienté dans les 15 jours », annexe 4 de la convention 002) : T0 compte comme
    jour 1, le dernier jour dans les temps est T0 + (``days`` − 1). Exemple de la convention : T0 = 01/03,
    notification le 15/03 à temps, le 16/03 en retard."""
    return days - 1


def legal_last_day_offset(days):
    """Délai légal d'orientation (6 semaines, soit 42 jours, depuis T0 ; CASF D262-65-2) : le dernier jour dans
    les temps est T0 + ``days``.

    Code de procédure civile, art. 641 : « Lorsqu'un délai est exprimé en jours, celui de l'acte, de
    l'événement, de la décision ou de la notification qui le fait courir ne compte pas. Lorsqu'un délai est
    exprimé en mois ou en semaines, ce délai expire le jour du dernier mois ou de la dernière semaine qui porte
    le même quantième ou le même nom que le jour de l'acte, de l'événement, de la décision ou de la
    notification qui fait courir le délai. » Six semaines depuis un lundi T0 expirent le lundi T0 + 42, encore
    dans les temps ; le retard commence à T0 + 43 (en jours, 42 jours sans compter T0 : même jour).

    L'article 642 (délai expirant un samedi, un dimanche ou un jour férié prorogé au premier jour ouvrable
    suivant) n'est pas appliqué : Parcours n'a pas de calendrier des jours fériés.
    """
    return days


def deadlines(t0, departement=None):
    """Derniers jours dans les temps pour un T0 : (objectif de pilotage, délai légal), ou (None, None)."""
    if t0 is None:
        return None, None
    target = target_last_day_offset(get_delay("orientation_target_days", departement))
    legal = legal_last_day_offset(get_delay("orientation_legal_days", departement))
    return t0 + datetime.timedelta(days=target), t0 + datetime.timedelta(days=legal)


def orientation_timeliness(t0, oriented_on, departement=None):
    """Tranche du délai d'orientation d'une entrée, comme les indicateurs (``derive_cohort``) : ``objectif``
    (au plus tard le dernier jour de l'objectif), ``delai_legal`` (au plus tard le dernier jour du délai
    légal), ``au_dela`` (en retard), ``non_oriente`` (pas encore orientée)."""
    if oriented_on is None:
        return "non_oriente"
    target, legal = deadlines(t0, departement)
    if t0 <= oriented_on <= target:
        return "objectif"
    if oriented_on <= legal:
        return "delai_legal"
    return "au_dela"
