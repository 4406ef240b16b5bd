"""Point d'entrée WSGI (gunicorn ``parcours.wsgi:application``) ; réglages de production par défaut."""

import os

from django.core.wsgi import get_wsgi_application

from parcours.core.warmup import prepare_process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.production")
application = get_wsgi_application()

# Les gabarits sont compilés maintenant, puis les objets du démarrage (modules, réglages, adresses, gabarits,
# intergiciels) sont mis hors des passes du ramasse-miettes, qui sinon les reparcourt tous à chaque collecte
# complète et retarde de 60 à 100 ms la requête en cours (core/warmup.py ; mesuré par bench/pages.py).
prepare_process()
