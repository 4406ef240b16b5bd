"""Tâches de fond : imports de flux, envois (webhooks, courriels, SMS), purge, avec nouveaux essais.

Voir docs/taches.md. La file est celle du cadre de tâches de Django (``django-tasks``, intégré à Django 6
sous le nom ``django.tasks``), stockée en base ; ``parcours jobs-worker`` l'exécute.
"""
