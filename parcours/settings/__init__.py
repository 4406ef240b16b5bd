"""Réglages de Parcours : ``base`` (commun), ``development``, ``test``, ``production``.

Voir ``parcours/settings/base.py`` et docs/exploitation.md.
"""
