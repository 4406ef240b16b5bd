# Image de Parcours : serveur web (gunicorn) par défaut ; le même image sert au processus des tâches de fond
# (« parcours jobs-worker ») et à la mise à jour (« parcours migrate »). Voir docs/exploitation.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=parcours.settings.production \
    PARCOURS_DATA_DIR=/data \
    PARCOURS_STATIC_ROOT=/app/static

WORKDIR /app

RUN useradd --create-home --uid 10001 --user-group parcours \
    && mkdir -p /data /app/static \
    && chown parcours:parcours /data /app/static

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md ./
COPY parcours ./parcours
RUN pip install --no-deps . && rm -rf build

USER parcours
# Fichiers statiques collectés (noms empreints, versions gzip) à la construction : « parcours serve » n'a
# plus rien à collecter au démarrage. Réglages de développement : aucune clé de production n'est requise ici.
RUN DJANGO_SETTINGS_MODULE=parcours.settings.development parcours collectstatic --noinput -v 0

VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["parcours", "serve", "--host", "0.0.0.0", "--port", "8000"]
