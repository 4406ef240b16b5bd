"""Stockage des fichiers statiques : noms empreints et compressés (WhiteNoise) une fois collectés.

Après ``parcours collectstatic`` (lancé par ``parcours serve`` quand il le faut), les pages citent les noms
empreints (``dsfr.min.<empreinte>.css``), servis avec un cache d'un an. Sans collecte (tests, poste de
travail), ou pour un fichier ajouté depuis la dernière collecte, le nom d'origine est cité au lieu d'une
erreur : la page reste servie.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Contenu des fichiers jamais réécrit (les url() des CSS gardent leurs noms d'origine, aussi servis) : les
    # feuilles du DSFR sont citées avec leur empreinte d'intégrité (SRI), qu'une réécriture rendrait fausse —
    # le navigateur refuserait alors la feuille et la page s'afficherait sans style.
    patterns = ()

    def stored_name(self, name):
        if not self.hashed_files:  # aucune collecte : noms d'origine
            return name
        try:
            return super().stored_name(name)
        except ValueError:  # fichier absent du manifeste (ajouté depuis la collecte)
            return name
