from parcours.connectors.commands import SyncCommand
from parcours.connectors.francetravail import sync
from parcours.core.text import plural


class Command(SyncCommand):
    help = (
        "Récupère auprès de France Travail les résultats d'orientation et les rendez-vous (avec présence ou "
        "absence) des allocataires du Département et les applique par les règles de l'orientation ; une "
        "deuxième exécution ne refait rien. Identifiants OAuth2 : PARCOURS_FT_CLIENT_ID, "
        "PARCOURS_FT_CLIENT_SECRET."
    )

    def sync(self, departement, *, since, full):
        return sync(departement, since=since, full=full)

    def write_report(self, report):
        for key, label in (("orientations", "Orientations"), ("rendez_vous", "Rendez-vous")):
            c = report[key]
            self.stdout.write(
                f"{label} : {plural(c['created'], 'créé')}, {c['updated']} mis à jour, "
                f"{plural(c['linked'], 'relié')} à une saisie existante, {plural(c['unchanged'], 'inchangé')}, "
                f"{plural(c['ignored'], 'ignoré')}, {plural(c['rejected'], 'rejeté')}."
            )
        for item in report["errors"]:
            self.stdout.write(
                f"Erreur — {item['resource']} {item['id'] or '?'} — {item['field']} : {item['message']}"
            )
        for item in report["warnings"]:
            self.stdout.write(
                f"Avertissement — {item['resource']} {item['id']} — {item['field']} : {item['message']}"
            )
