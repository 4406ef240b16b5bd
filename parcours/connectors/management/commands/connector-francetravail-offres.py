from parcours.connectors.commands import SyncCommand
from parcours.connectors.francetravail_offers import SKIP_REASONS, sync
from parcours.core.text import plural


class Command(SyncCommand):
    help = (
        "Récupère les offres d'emploi publiées par France Travail dans le Département (API « Offres d'emploi "
        "v2 ») et les applique par les règles de l'import des offres : employeur reconnu par son SIRET, offre "
        "par sa référence France Travail ; une deuxième exécution ne change rien. Identifiants OAuth2 : "
        "PARCOURS_FT_OFFRES_CLIENT_ID et PARCOURS_FT_OFFRES_CLIENT_SECRET (à défaut ceux de France Travail)."
    )

    since_help = "offres créées depuis cette date (AAAA-MM-JJ) ; défaut : veille de la dernière exécution"

    def sync(self, departement, *, since, full):
        return sync(departement, since=since, full=full)

    def write_report(self, report):
        since = f" (créées depuis le {report['since']})" if report["since"] else ""
        self.stdout.write(
            f"Offres France Travail{since} : {plural(report['read'], 'lue')}, {plural(report['created'], 'créée')}, "
            f"{plural(report['updated'], 'mise', 'mises')} à jour, {plural(report['unchanged'], 'inchangée')} ; "
            f"{plural(report['employers_created'], 'employeur créé', 'employeurs créés')}."
        )
        skipped = [f"{count} {SKIP_REASONS[key]}" for key, count in report["skipped"].items() if count]
        if skipped:
            self.stdout.write(f"Laissées de côté : {', '.join(skipped)}.")
        for item in report["warnings"]:
            self.stdout.write(f"Avertissement — {item['message']}")
