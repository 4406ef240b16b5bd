"""``parcours demo`` : crée un territoire de démonstration réaliste (voir ``parcours.demo.territory``)."""

import argparse
import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from parcours.demo.territory import (
    AGENTS,
    LARGE_DEPARTEMENT,
    LARGE_DEPARTEMENT_MONTHS,
    DemoAlreadyExists,
    default_months,
    demo_exists,
    run_demo,
)

MAX_BENEFICIARIES = 200_000
MAX_MONTHS = 60


def positive_int(value):
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"« {value} » n'est pas un nombre entier.") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"« {value} » : un nombre entier supérieur ou égal à 1 est attendu.")
    return number


def parse_month(value):
    try:
        return datetime.date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"Mois « {value} » invalide : format attendu AAAA-MM.") from exc


class Command(BaseCommand):
    help = (
        "Crée un territoire de démonstration : un Département (35), deux territoires et leurs communes, des "
        "partenaires, un agent par rôle, et des bénéficiaires issus de flux CAF/MSA mensuels synthétiques "
        "importés dans l'ordre (historique daté par le flux, nouveaux entrants, orientations). "
        "Même graine, mêmes données. À lancer dans une base sans Département."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--beneficiaries",
            type=positive_int,
            default=1500,
            help="nombre de personnes distinctes dans les flux (défaut : 1500)",
        )
        parser.add_argument("--seed", type=int, default=2026, help="graine du générateur (défaut : 2026)")
        parser.add_argument(
            "--months",
            type=positive_int,
            default=None,
            help=f"nombre de flux mensuels à importer (défaut : 18 ; {LARGE_DEPARTEMENT_MONTHS} au-delà de "
            f"{LARGE_DEPARTEMENT} bénéficiaires)",
        )
        parser.add_argument(
            "--until",
            type=parse_month,
            default=None,
            metavar="AAAA-MM",
            help="mois de réception du dernier flux (défaut : ce mois-ci après le 9, sinon le mois précédent)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="ne fait rien (sans erreur) si la base contient déjà un Département",
        )
        parser.add_argument(
            "--json", action="store_true", help="affiche un résumé JSON, sans barre de progression"
        )

    def handle(self, *args, **options):
        if options["months"] is None:
            options["months"] = default_months(options["beneficiaries"])
        if options["beneficiaries"] > MAX_BENEFICIARIES:
            raise CommandError(f"--beneficiaries : au plus {MAX_BENEFICIARIES} personnes.")
        if options["months"] > MAX_MONTHS:
            raise CommandError(f"--months : au plus {MAX_MONTHS} mois.")
        as_json = options["json"]
        if demo_exists():
            if options["if_empty"]:
                if as_json:
                    self.stdout.write(json.dumps({"created": False, "message": "base déjà peuplée"}))
                else:
                    self.stdout.write(
                        "La base contient déjà un Département : le territoire de démonstration n'est pas recréé."
                    )
                return
            raise CommandError(
                "La base contient déjà un Département : la démonstration se crée dans une base vide "
                "(utilisez --if-empty pour ne rien faire dans ce cas)."
            )
        show_progress = not as_json and self.stdout.isatty()
        if not as_json:
            self.stdout.write(
                f"Création du territoire de démonstration : {options['beneficiaries']} bénéficiaires, "
                f"{options['months']} flux mensuels, graine {options['seed']}…"
            )
        try:
            summary = run_demo(
                beneficiaries=options["beneficiaries"],
                months=options["months"],
                seed=options["seed"],
                end_month=options["until"],
                progress=self._progress if show_progress else None,
            )
        except DemoAlreadyExists as exc:
            raise CommandError(str(exc)) from exc
        # La convention 2024 d'Ille-et-Vilaine (seed 002) rattachée au Département de démonstration.
        from parcours.conventions.examples import load_convention_example

        convention, _created = load_convention_example()
        summary["convention"] = convention.title
        if show_progress:
            self.stdout.write("")
        if as_json:
            self.stdout.write(json.dumps({"created": True, **summary}, ensure_ascii=False))
        else:
            self._print_summary(summary)

    def _progress(self, done, total, label):
        width = 30
        filled = int(width * done / total)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<30}", ending="")
        self.stdout.flush()

    def _print_summary(self, summary):
        write = self.stdout.write
        write(self.style.SUCCESS(f"Territoire de démonstration créé en {summary['secondes']} s."))
        write(f"  {summary['departement']} — territoires : {', '.join(summary['territoires'])}")
        write(
            f"  {summary['organisations']} organisations, {summary['agents']} agents, {summary['foyers']} foyers, "
            f"{summary['beneficiaires']} bénéficiaires"
        )
        durations = summary.get("durees") or {}
        if durations:
            labels = {
                "flux_generes": "flux générés",
                "imports": "imports",
                "suivis_repris": "suivis repris",
                "orientation": "orientation",
                "accompagnement": "accompagnement",
            }
            write("  Durées : " + ", ".join(f"{labels.get(k, k)} {v} s" for k, v in durations.items()))
        write(
            f"  {summary['flux_importes']} flux importés (du {_fr(summary['premier_flux_recu_le'])} au "
            f"{_fr(summary['dernier_flux_recu_le'])}) : {summary['situations_historisees']} situations "
            f"historisées, {summary['nouveaux_entrants']} nouveaux entrants, {summary['suivis']} suivis ouverts"
        )
        if summary.get("convention"):
            write(f"  Convention État–Département : {summary['convention']}")
        orientation = summary.get("orientation") or {}
        if orientation.get("nouveaux_entrants"):
            write(
                f"  Orientation des nouveaux entrants : {orientation.get('invitations', 0)} invitations, "
                f"{orientation.get('orientations', 0)} orientations notifiées (dont "
                f"{orientation.get('dans_les_15_jours', 0)} dans les 15 jours), "
                f"{orientation.get('referents', 0)} référents désignés, {orientation.get('contrats', 0)} contrats signés"
            )
        write("")
        write(
            "Pour vous connecter : ouvrez "
            + summary["url"]
            + " (servi par « make run », ou lancez « parcours serve »)"
        )
        write(f"Mot de passe de tous les comptes : {summary['mot_de_passe']}")
        for email, *_rest in AGENTS:
            write(f"  {email:<38} {summary['comptes'][email]}{_territory_note(email)}")
        person_email = (summary.get("accompagnement_intensif") or {}).get("compte_personne")
        if person_email and person_email not in summary["comptes"]:
            write(f"  {person_email:<38} Espace de la personne (bénéficiaire)")


def _territory_note(email):
    for agent_email, _first, _last, org_key, _role, territory in AGENTS:
        if agent_email == email:
            if territory:
                return f" (limité au territoire {territory})"
            if org_key != "departement":
                return " (partenaire)"
    return ""


def _fr(iso):
    return datetime.date.fromisoformat(iso).strftime("%d/%m/%Y")
