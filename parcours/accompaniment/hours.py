"""Durée hebdomadaire d'activité : la règle légale, écrite une fois pour le contrat d'engagement
(``services.validate_weekly_hours``) et pour le plan d'activités (``activities.adjust_hours``).

Code du travail, art. L5411-6 (rédaction de la loi n° 2023-1196 du 18 décembre 2023 pour le plein emploi),
applicable au contrat des bénéficiaires du RSA (CASF L262-35) : le contrat d'engagement prévoit une durée
hebdomadaire d'activité d'au moins 15 heures. Cette durée peut être **réduite** au regard de la situation
de la personne (ici : montée en charge progressive ou motif légal), et **ramenée à zéro** seulement pour une
personne rencontrant des difficultés particulières et avérées en raison de son état de santé, de son
handicap ou de son invalidité, ou pour un parent isolé sans solution de garde pour un enfant de moins de
12 ans. Zéro heure n'est donc jamais une « montée en charge progressive ».
"""

from .models import HoursExemption

# Motifs légaux pour ramener la durée à zéro (et pour une durée réduite hors montée en charge progressive).
LEGAL_GROUNDS = frozenset(
    {
        HoursExemption.HEALTH,
        HoursExemption.DISABILITY,
        HoursExemption.INVALIDITY,
        HoursExemption.SINGLE_PARENT,
    }
)

ZERO_HOURS_GROUNDS_TEXT = (
    "pour raison de santé, de handicap, d'invalidité, ou pour un parent isolé sans solution de garde pour un "
    "enfant de moins de 12 ans (article L5411-6 du Code du travail)"
)


def weekly_duration_errors(
    hours,
    reason,
    *,
    minimum,
    hours_field,
    hours_label,
    reason_field,
    reason_label,
    requested_by_person=None,
    request_field="requested_by_person",
):
    """Erreurs de la règle de l'article L5411-6 du Code du travail pour une durée hebdomadaire ``hours``
    (``Decimal``, déjà lue) et un motif d'adaptation ``reason`` (valeur de ``HoursExemption`` ou vide).

    - au moins ``minimum`` heures : aucun motif n'est demandé ;
    - entre 0 et ``minimum`` heures (exclus) : un motif d'adaptation est obligatoire (motif légal ou montée
      en charge progressive) ;
    - 0 heure : seulement pour un motif légal (``LEGAL_GROUNDS``), jamais pour une montée en charge
      progressive ; et, quand la voie d'entrée l'enregistre (``requested_by_person`` n'est pas ``None``),
      seulement à la demande de la personne.

    Renvoie ``{champ: message}`` (vide si la durée est conforme) : chaque appelant nomme ses champs et
    leurs libellés (``hours_field``/``hours_label``, ``reason_field``/``reason_label``, ``request_field``).
    """
    errors = {}
    if reason and reason not in HoursExemption.values:
        errors[reason_field] = f"{reason_label} : motif inconnu « {reason} »."
        return errors
    if hours is None or hours >= minimum:
        return errors
    if hours == 0:
        if reason not in LEGAL_GROUNDS:
            chosen = (
                "la montée en charge progressive ne permet pas une durée nulle"
                if reason == HoursExemption.PROGRESSIVE
                else "aucun motif n'est indiqué"
            )
            errors[reason_field] = (
                f"{reason_label} : une durée hebdomadaire de 0 h n'est possible que {ZERO_HOURS_GROUNDS_TEXT} ; "
                f"{chosen}."
            )
        if requested_by_person is False:
            errors[request_field] = "Durée ramenée à zéro : seulement à la demande de la personne."
    elif not reason:
        errors[hours_field] = (
            f"{hours_label} : {hours:g} h est inférieure au minimum de {minimum:g} h par semaine. Indiquez un "
            "motif d'adaptation (santé, handicap, invalidité, parent isolé sans solution de garde, montée en "
            "charge progressive) ou augmentez la durée."
        )
    return errors
