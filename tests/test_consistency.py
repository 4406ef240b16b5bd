"""Règles de la maison vérifiées sur le code lui-même (lecture de l'arbre syntaxique, sans l'exécuter).

- seul le journal écrit des événements (``parcours.journal.services.record`` / ``build``) ;
- chaque ``EventKind.X`` cité existe et a sa charge déclarée ; les lecteurs lisent les clés déclarées ;
- chaque type déclaré a sa déclaration et ses libellés ; chaque cycle de vie couvre ses statuts ;
- ``parcours.core`` n'importe aucune application métier ;
- pas de cycle d'imports (au chargement des modules) entre applications.

Les listes d'exceptions ci-dessous sont explicites : on en retire une entrée quand le code est corrigé (le
test échoue si une entrée ne sert plus).
"""

import ast
import importlib
from collections import defaultdict
from functools import cache
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from parcours.journal.kinds import EventKind
from parcours.journal.payload import KEYS, LEGACY_KEYS, SCHEMAS, Key
from parcours.journal.transitions import WORKFLOWS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "parcours"
APPS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())

# Écrivains du journal pas encore passés par ``record``/``build`` : à basculer (le lead retire chaque
# entrée quand le fichier appelle ``parcours.journal.services``).
EVENT_WRITERS_TO_SWITCH = set()  # tous les écrivains passent par parcours.journal.services

# ``parcours.core`` importe encore des applications métier (dans des fonctions, sauf la commande
# ``demo``). TODO : déplacer ces usages dans les applications concernées.
CORE_IMPORTS_ALLOWED = {
    ("parcours/core/access.py", "parcours.accounts"),  # appartenances de l'agent (décorateur @access)
    ("parcours/core/access.py", "parcours.audit"),  # journal d'accès des lectures de dossiers
    ("parcours/core/commands.py", "parcours.accounts"),  # Département par défaut des commandes
    ("parcours/core/management/commands/demo.py", "parcours.demo"),  # commande « parcours demo »
    ("parcours/core/management/commands/demo.py", "parcours.conventions"),  # exemple de convention
    ("parcours/core/management/commands/serve.py", "parcours.intake"),  # reprise des imports interrompus
}

# Imports (au chargement des modules) entre applications qui ferment un cycle. TODO : les défaire.
IMPORT_CYCLE_EDGES_ALLOWED = {
    # La commande « parcours demo » vit dans core et importe parcours.demo (qui importe l'import des flux).
    ("core", "demo"),
    # La démonstration de l'orientation prépare des contrats (parcours.accompaniment.services).
    ("orientation", "accompaniment"),
    # Le parcours lit les désignations de référent (orientation.models) que l'orientation lui fait écrire.
    ("pathway", "orientation"),
    # La reprise des parcours (pathway.imports) lit ses fichiers avec les lecteurs de l'import des flux, qui
    # clôt les suivis par parcours.pathway.
    ("pathway", "intake"),
}


def _relative(path):
    return path.relative_to(ROOT).as_posix()


@cache
def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _sources(*folders, skip_migrations=True):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if skip_migrations and "migrations" in path.parts:
                continue
            yield path


def _dotted(node):
    """``a.b.c`` pour un nom ou une suite d'attributs, sinon None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _event_names(tree):
    """Noms sous lesquels le module connaît le modèle ``Event`` du journal."""
    names = {"Event"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("parcours.journal"):
            names.update(alias.asname or alias.name for alias in node.names if alias.name == "Event")
    return names


def _event_writes(tree):
    """(ligne, forme) de chaque écriture d'événement dans un module."""
    names = _event_names(tree)
    writes = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _dotted(node.func) or ""
        parts = target.split(".")
        if (
            target in names
            or parts[0] in names
            and parts[-1]
            in {
                "create",
                "bulk_create",
                "get_or_create",
                "update_or_create",
            }
            or target.endswith(("events.create", "events.bulk_create"))
        ):
            writes.append((node.lineno, f"{target}(...)"))
        elif any(isinstance(arg, ast.Name) and arg.id in names for arg in node.args) and (
            "insert" in parts[-1] or "bulk" in parts[-1]
        ):
            writes.append((node.lineno, f"{target}(Event, ...)"))
    return sorted(writes)


# --- (a) seul le journal écrit -------------------------------------------------------------------------


def test_only_the_journal_writes_events():
    writers = {}
    for path in _sources("parcours"):
        relative = _relative(path)
        if relative.startswith("parcours/journal/"):
            continue
        writes = _event_writes(_tree(path))
        if writes:
            writers[relative] = writes
    unexpected = {f: w for f, w in writers.items() if f not in EVENT_WRITERS_TO_SWITCH}
    assert not unexpected, (
        "Écriture directe d'événements : passer par parcours.journal.services.record (ou build pour "
        f"bulk_create) : {unexpected}"
    )
    stale = sorted(EVENT_WRITERS_TO_SWITCH - set(writers))
    assert not stale, f"Déjà basculés : retirer de EVENT_WRITERS_TO_SWITCH : {stale}"


def test_the_writer_scan_sees_every_form_of_write():
    tree = ast.parse(
        "from parcours.journal.models import Event as Fait\n"
        "Fait.objects.create(kind='x')\n"
        "Fait(kind='x').save()\n"
        "Fait.objects.bulk_create(rows)\n"
        "insert_rows(Fait, COLUMNS, rows)\n"
        "person.events.create(kind='x')\n"
        "Fait.objects.filter(kind='x').count()\n"
    )
    assert [line for line, _ in _event_writes(tree)] == [2, 3, 4, 5, 6]


# --- (b) chaque type cité existe et a sa charge ; les lecteurs lisent les clés déclarées ---------------


def _kind_aliases(tree):
    aliases = {"EventKind"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == "EventKind":
            aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(node, ast.ImportFrom):
            aliases.update(alias.asname for alias in node.names if alias.name == "EventKind" and alias.asname)
    return aliases


def test_every_event_kind_used_exists_and_is_declared():
    problems = []
    for path in _sources("parcours", "tests"):
        tree = _tree(path)
        aliases = _kind_aliases(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                if node.attr in {"choices", "values", "labels", "names", "schema"} or node.attr.startswith(
                    "_"
                ):
                    continue
                if node.attr not in EventKind.__members__:
                    problems.append(f"{_relative(path)}:{node.lineno} EventKind.{node.attr} n'existe pas")
                elif EventKind[node.attr] not in SCHEMAS:
                    problems.append(
                        f"{_relative(path)}:{node.lineno} EventKind.{node.attr} sans charge déclarée"
                    )
    assert not problems, "\n".join(problems)


def _string(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_readers_use_declared_kinds_and_keys():
    """Hors du journal (et des écrivains à basculer) : pas de type d'événement ni de clé de charge écrits en
    chaîne (``kind="oriented"``, ``payload__decision_id=``, ``payload["motif"]``, ``KeyTextTransform("x")``)."""
    kinds = set(EventKind.values)
    problems = []
    for path in _sources("parcours"):
        relative = _relative(path)
        if relative.startswith("parcours/journal/") or relative in EVENT_WRITERS_TO_SWITCH:
            continue
        for node in ast.walk(_tree(path)):
            where = f"{relative}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.keyword) and node.arg:
                if node.arg.startswith("payload__"):
                    problems.append(f"{where} {node.arg}= : lire la clé déclarée (Payload.X)")
                if node.arg in {"kind", "kind__in"}:
                    values = (
                        node.value.elts
                        if isinstance(node.value, ast.List | ast.Tuple | ast.Set)
                        else [node.value]
                    )
                    problems += [
                        f"{where} {node.arg}={v!r} : EventKind" for v in map(_string, values) if v in kinds
                    ]
            elif isinstance(node, ast.Call) and (_dotted(node.func) or "").endswith("KeyTextTransform"):
                if node.args and _string(node.args[0]) is not None:
                    problems.append(f"{where} KeyTextTransform({_string(node.args[0])!r}) : Payload.X")
            elif isinstance(node, ast.Subscript) and (_dotted(node.value) or "").endswith("payload"):
                if _string(node.slice) is not None:
                    problems.append(f"{where} payload[{_string(node.slice)!r}] : Payload.X")
            elif isinstance(node, ast.Call) and (_dotted(node.func) or "").endswith("payload.get"):
                if node.args and _string(node.args[0]) is not None:
                    problems.append(f"{where} payload.get({_string(node.args[0])!r}) : Payload.X")
            elif isinstance(node, ast.Compare) and (_dotted(node.left) or "").endswith("kind"):
                strings = [_string(c) for c in node.comparators]
                problems += [f"{where} kind == {s!r} : EventKind" for s in strings if s in kinds]
            elif isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2:
                strings = [s for s in map(_string, node.elts) if s is not None]
                if strings and all(s in kinds for s in strings):
                    problems.append(f"{where} types d'événements en chaînes {strings} : EventKind")
    assert not problems, "\n".join(problems)


# --- (c) chaque type déclaré a sa charge et ses libellés -----------------------------------------------


def test_every_declared_kind_has_a_schema_and_labels():
    assert set(SCHEMAS) == set(EventKind), "types sans charge déclarée ou charge d'un type inconnu"
    for kind in EventKind:
        assert kind.label and kind.label != kind.value, f"{kind.value} : libellé français manquant"
        schema = SCHEMAS[kind]
        for key in schema.keys:
            assert isinstance(key, Key) and KEYS[key] is key
            assert key.label and key.label != key.name, f"{kind.value}.{key} : libellé français manquant"
        for key, path in schema.values.items():
            assert key in schema.keys, f"{kind.value} : libellé de valeurs pour une clé non déclarée {key}"
            _choices(path)
    used = {key for schema in SCHEMAS.values() for key in schema.keys}
    assert not set(KEYS) - used, f"clés déclarées jamais utilisées : {sorted(set(KEYS) - used)}"
    for key in KEYS.values():
        assert key.name.isascii() and key.name == key.name.lower(), f"clé « {key} » : anglais, minuscules"
        if key.values:
            _choices(key.values)


def _choices(path):
    module, _, name = path.rpartition(".")
    choices = getattr(importlib.import_module(module), name)
    assert choices.choices, path


def test_legacy_keys_and_published_fields_are_declared():
    for kind, renames in LEGACY_KEYS.items():
        for old, new in renames.items():
            assert new in SCHEMAS[kind].keys, f"{kind} : ancien nom {old} → {new} non déclaré"
    from parcours.interop.webhooks import EVENT_TYPES, PUBLISHED_FIELDS

    for kind, fields in PUBLISHED_FIELDS.items():
        assert kind in EVENT_TYPES
        for key in fields:
            assert key in SCHEMAS[kind].keys, f"webhook {kind} : clé {key} non déclarée"


@pytest.mark.django_db
def test_event_kind_choices_are_migrated():
    out = StringIO()
    try:
        call_command("makemigrations", "journal", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"Migration du journal à créer (choix des types) :\n{out.getvalue()}")


def test_every_workflow_covers_all_the_statuses_of_its_choices():
    for path in _sources("parcours"):
        if "Workflow(" in path.read_text(encoding="utf-8") and path.name != "transitions.py":
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    declared = {workflow.what for workflow in WORKFLOWS}
    assert {"Contrat", "Activité", "Procédure", "Prescription", "Revue"} <= declared
    for workflow in WORKFLOWS:
        assert set(workflow.transitions) == set(workflow.choices.values), workflow.what
        for targets in workflow.transitions.values():
            assert targets <= set(workflow.choices.values), workflow.what


# --- (d) parcours.core n'importe aucune application métier ----------------------------------------------


def _imports(tree, *, module_level_only):
    """(ligne, module absolu importé) ; imports relatifs non compris."""
    nodes = _module_level(tree) if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "parcours":
                for alias in node.names:
                    yield node.lineno, f"parcours.{alias.name}"
            else:
                yield node.lineno, node.module


def _module_level(tree):
    """Instructions exécutées au chargement du module (hors fonctions et hors ``if TYPE_CHECKING``)."""

    def walk(node):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in walk(child))
            return
        yield node
        for child in ast.iter_child_nodes(node):
            yield from walk(child)

    for statement in tree.body:
        yield from walk(statement)


def _app_of(module):
    parts = module.split(".")
    return parts[1] if parts[0] == "parcours" and len(parts) > 1 and parts[1] in APPS else None


def test_core_imports_no_domain_app():
    found = set()
    for path in _sources("parcours/core"):
        for _line, module in _imports(_tree(path), module_level_only=False):
            app = _app_of(module)
            if app and app != "core":
                found.add((_relative(path), f"parcours.{app}"))
    assert not found - CORE_IMPORTS_ALLOWED, (
        f"parcours.core importe une application : {found - CORE_IMPORTS_ALLOWED}"
    )
    assert not CORE_IMPORTS_ALLOWED - found, (
        f"Corrigé : retirer de CORE_IMPORTS_ALLOWED : {CORE_IMPORTS_ALLOWED - found}"
    )


def test_journal_imports_no_domain_app():
    """Le journal est l'épine dorsale : les applications en dépendent, pas l'inverse."""
    for path in _sources("parcours/journal"):
        for line, module in _imports(_tree(path), module_level_only=False):
            assert _app_of(module) in (None, "journal", "core"), f"{_relative(path)}:{line} importe {module}"


# --- (e) pas de cycle d'imports entre applications ------------------------------------------------------


def _app_graph():
    edges = defaultdict(set)
    for path in _sources("parcours"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in APPS:
            continue
        source = parts[0]
        for _line, module in _imports(_tree(path), module_level_only=True):
            target = _app_of(module)
            if target and target != source:
                edges[source].add(target)
    return edges


def _cycles(edges):
    """Composantes fortement connexes de plus d'une application (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_apps():
    edges = _app_graph()
    stale = {(a, b) for a, b in IMPORT_CYCLE_EDGES_ALLOWED if b not in edges.get(a, ())}
    assert not stale, f"Imports disparus : retirer de IMPORT_CYCLE_EDGES_ALLOWED : {stale}"
    kept = {
        a: {b for b in targets if (a, b) not in IMPORT_CYCLE_EDGES_ALLOWED} for a, targets in edges.items()
    }
    assert not _cycles(kept), f"Cycle d'imports entre applications : {_cycles(kept)}"


def test_cycle_detection_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
