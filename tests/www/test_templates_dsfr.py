"""Gabarits : règles du DSFR que l'on oublie facilement, vérifiées sur tous les gabarits du projet."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "parcours"
GROUP = re.compile(r'class="(fr-btns-group(?: [^"]*)?)"')


def _templates():
    for path in sorted(PACKAGE.rglob("templates/**/*.html")):
        if path.relative_to(PACKAGE).as_posix() == "templates/base.html":
            continue  # outils de l'en-tête : le DSFR y place lui-même les icônes à gauche du texte
        yield path


def test_button_groups_declare_where_icons_go():
    """Dans un groupe de boutons du DSFR, un bouton avec icône n'affiche que l'icône (son libellé disparaît)
    si le groupe ne dit pas ``fr-btns-group--icon-left`` (ou ``--icon-right``)."""
    missing = [
        f"{path.relative_to(PACKAGE)} : {match.group(1)}"
        for path in _templates()
        for match in GROUP.finditer(path.read_text(encoding="utf-8"))
        if "--icon-left" not in match.group(1) and "--icon-right" not in match.group(1)
    ]
    assert not missing, "Groupes de boutons sans position des icônes :\n" + "\n".join(missing)
