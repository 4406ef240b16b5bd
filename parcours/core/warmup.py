"""Préparation d'un processus serveur avant sa première requête.

Les gabarits sont compilés à leur premier affichage, puis gardés par le chargeur en cache : des dizaines de
milliers d'objets que le ramasse-miettes reparcourt ensuite à chaque collecte complète, au milieu d'une requête
(60 à 100 ms de plus, une requête sur dix environ sur les pages qui créent beaucoup d'objets : portefeuilles,
accueil d'un référent ; mesuré par ``bench/pages.py`` à 150 000 personnes). ``prepare_process`` les compile
tous au démarrage, puis met les objets du démarrage hors des collectes (``gc.freeze``) : ils vivent autant que
le processus."""

import gc
import logging
from pathlib import Path

from django.template import TemplateSyntaxError, engines
from django.template.utils import get_app_template_dirs

logger = logging.getLogger(__name__)


def compile_templates():
    """Compile chaque gabarit HTML des moteurs de gabarits (dossiers du projet et des applications) ; renvoie
    leur nombre. Un gabarit qui ne se compile pas est signalé dans le journal et laissé à sa première requête."""
    compiled = 0
    for engine in engines.all():
        folders = [*engine.dirs, *get_app_template_dirs("templates")]
        names = {
            path.relative_to(folder).as_posix()
            for folder in map(Path, folders)
            if folder.is_dir()
            for path in folder.rglob("*.html")
        }
        for name in sorted(names):
            try:
                engine.get_template(name)
            except TemplateSyntaxError:
                logger.warning("Gabarit non compilé au démarrage : %s", name, exc_info=True)
                continue
            compiled += 1
    return compiled


def prepare_process():
    """Gabarits compilés, puis objets du démarrage gelés (à appeler une fois l'application chargée, avant la
    première requête : ``parcours/wsgi.py``)."""
    compiled = compile_templates()
    gc.collect()
    gc.freeze()
    return compiled
