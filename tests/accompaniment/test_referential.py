import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from parcours.accompaniment.models import Action, Objective, Situation, Theme, ThemeKind
from parcours.accompaniment.referential import load_referential, theme_for_france_travail_constraint

pytestmark = pytest.mark.django_db

CDB = ("carnet_de_bord",)


def test_migration_seeds_the_carnet_de_bord_referential_and_the_justice_complement():
    assert Theme.objects.filter(source__in=CDB).count() == 16
    assert Situation.objects.filter(source__in=CDB).count() == 88
    assert Objective.objects.filter(source__in=CDB).count() == 58
    assert Action.objects.filter(source__in=CDB).count() == 134
    justice = Theme.objects.get(code="justice")
    assert justice.kind == ThemeKind.BARRIER
    assert justice.situations.count() == 4


def test_barrier_themes_cover_the_renewed_diagnostic():
    barriers = set(Theme.objects.filter(kind=ThemeKind.BARRIER).values_list("code", flat=True))
    # mobilité, santé, logement, garde d'enfants, langue, numérique, finances, administratif, justice
    assert barriers == {
        "mobilite",
        "sante",
        "logement",
        "contraintes_familiales",
        "maitrise_langue",
        "numerique",
        "difficulte_financiere",
        "difficulte_administrative",
        "justice",
    }
    assert list(Theme.objects.filter(sensitive=True).values_list("code", flat=True)) == ["sante"]
    assert Situation.objects.filter(theme__code="contraintes_familiales", label__icontains="garde").exists()


def test_france_travail_constraint_codes_map_onto_themes():
    assert theme_for_france_travail_constraint("23").code == "mobilite"
    assert theme_for_france_travail_constraint(25).code == "sante"
    assert theme_for_france_travail_constraint("29").code == "difficulte_administrative"
    assert theme_for_france_travail_constraint("99") is None


def test_rerun_is_idempotent_and_keeps_local_edits(capsys):
    mobility = Situation.objects.get(theme__code="mobilite", label="Permis B")
    mobility.label = "Permis B valide"
    mobility.save()
    Action.objects.filter(theme__code="numerique").update(active=False)

    call_command("referentiel-diagnostic", "--json")
    report = json.loads(capsys.readouterr().out)

    assert report["created"] == {"themes": 0, "situations": 0, "objectives": 0, "actions": 0}
    assert report["existing"] == {"themes": 17, "situations": 92, "objectives": 59, "actions": 137}
    assert Situation.objects.count() == 92
    mobility.refresh_from_db()
    assert mobility.label == "Permis B valide"
    assert not Action.objects.filter(theme__code="numerique", active=True).exists()

    Objective.objects.filter(theme__code="mobilite").delete()
    call_command("referentiel-diagnostic")
    out = capsys.readouterr().out
    assert "Thèmes : 0 créé, 17 déjà présents." in out
    assert "Situations : 0 créée, 92 déjà présentes." in out
    assert "Objectifs : 6 créés, 53 déjà présents." in out


def test_load_recreates_missing_items_from_an_empty_table():
    Situation.objects.filter(theme__code="logement").delete()
    report = load_referential()
    assert report.created["situations"] == 14
    assert Situation.objects.filter(theme__code="logement").count() == 14


def test_bad_file_gives_a_french_error_naming_file_and_line(tmp_path, settings):
    from parcours.accompaniment.referential import DATA_DIR

    for path in DATA_DIR.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    with (tmp_path / "ref_situation.csv").open("a", encoding="utf-8") as handle:
        handle.write("inconnu,Situation d'un thème inexistant\n")
    with pytest.raises(CommandError, match=r"ref_situation.csv, ligne 90 : thème inconnu « inconnu »"):
        call_command("referentiel-diagnostic", "--source", str(tmp_path))

    (tmp_path / "ref_action.csv").unlink()
    with pytest.raises(CommandError, match="introuvable"):
        call_command("referentiel-diagnostic", "--source", str(tmp_path))


def test_source_typos_and_former_institution_name_are_corrected_with_stable_codes():
    from parcours.accompaniment.referential import LABEL_CORRECTIONS, correct_labels, item_code

    labels = set(Action.objects.values_list("label", flat=True)) | set(
        Situation.objects.values_list("label", flat=True)
    )
    objectives = set(Objective.objects.values_list("label", flat=True))
    assert Situation.objects.get(code=item_code("Enfant(s) en situation de handicap")).label == (
        "Enfant en situation de handicap"
    )
    for wrong in (
        "Réaliseration",
        "Ressourcess",
        "devenir obtenir",
        "Pôle emploi",
        "Pole emploi",
        "Prêt  à",
        "(s)",
        "  ",
        "Contrainte horaires",
        " a réaliser",
        "Fond de",
        "protection financières",
        '"',
    ):
        assert not [label for label in labels | objectives if wrong in label], wrong
    action = Action.objects.get(code=item_code("Inscription à Pôle emploi"))
    assert action.label == "Inscription à France Travail"
    # Un libellé renommé par le Département reste tel quel ; un nouveau chargement ne duplique rien.
    situation = Situation.objects.get(code=item_code("Inscrit à Pôle emploi"))
    situation.label = "Inscrit à France Travail (catégorie A)"
    situation.save()
    reverted = Situation.objects.filter(code=item_code("Prêt  à suivre une formation")).update(
        label="Prêt  à suivre une formation"
    )
    assert reverted and correct_labels() == reverted
    situation.refresh_from_db()
    assert situation.label == "Inscrit à France Travail (catégorie A)"
    report = load_referential()
    assert report.total_created == 0 and len(LABEL_CORRECTIONS) == 24
