"""Point d'entrée WSGI (gunicorn ``parcours.wsgi:application``) ; réglages de production par défaut."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.production")
application = get_wsgi_application()

# Les objets du démarrage (modules, réglages, adresses, gabarits chargés) ne seront jamais libérés : ils sont
# mis hors des passes du ramasse-miettes, qui sinon les reparcourt tous à chaque collecte complète et retarde
# de 80 à 100 ms la requête en cours (mesuré par bench/pages.py à 150 000 personnes, file des rendez-vous).
gc.freeze()
