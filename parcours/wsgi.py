"""Point d'entrée WSGI (gunicorn ``parcours.wsgi:application``) ; réglages de production par défaut."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parcours.settings.production")
application = get_wsgi_application()
