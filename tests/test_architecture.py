"""The import graph of the package follows the documented layout.

Every module is parsed with ``ast``; an import inside ``if TYPE_CHECKING:`` is a type hint
only and is not an edge. The subpackages:

- ``shared``: ``lifecircle._errors``, ``settings``, ``_progress``, ``_names`` (no
  dependencies; everyone may import them);
- ``layers``: reading, cleaning, validating the data;
- ``spatial``: pure computation;
- ``maps``: drawing only;
- ``core``: the rest of ``lifecircle/`` (options, model, pipeline, tables, planning,
  outputs, testing), itself layered one way (:data:`CORE_ORDER`);
- ``scripts``: the command line.

The allowed edges between them are :data:`ALLOWED` (``(importer, imported)``); the
README's layout diagram draws exactly these edges (checked below).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO

FOLDERS = {"lifecircle": "lifecircle", "spatial": "lifecircle.spatial", "layers": "lifecircle.layers",
           "maps": "lifecircle.maps", "scripts": "lifecircle.scripts"}
SHARED = {"lifecircle._errors", "lifecircle.settings", "lifecircle._progress", "lifecircle._names",
          "lifecircle.schema", "lifecircle.i18n"}

#: (importer, imported) subpackage pairs allowed, besides a subpackage importing itself.
ALLOWED: set[tuple[str, str]] = {
    ("layers", "shared"),
    ("spatial", "shared"),
    ("maps", "shared"),
    ("maps", "layers"),  # only the coordinate formulas, see MAPS_FROM_LAYERS
    ("core", "shared"),
    ("core", "layers"),
    ("core", "spatial"),
    ("core", "maps"),
    ("scripts", "shared"),
    ("scripts", "layers"),
    ("scripts", "core"),
}

#: The one data-layer module drawing may use: GCJ-02 shifting of what it draws (pure formulas).
MAPS_FROM_LAYERS = {"lifecircle.layers.chinese_coords"}

#: Modules of core, lowest first: a module imports only modules listed before it.
CORE_ORDER = ["lifecircle.outfolder", "lifecircle.spreadsheets", "lifecircle.publish", "lifecircle.options", "lifecircle.model", "lifecircle.choices",
              "lifecircle.tables", "lifecircle.pipeline", "lifecircle.planning", "lifecircle.scenario",
              "lifecircle.report_figures", "lifecircle.columnar", "lifecircle.gpkg_process", "lifecircle.outputs", "lifecircle.batch",
              "lifecircle.testing", "lifecircle"]


def _modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).glob("*.py")):
            out[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return out


MODULES = _modules()


def _subpackage(module: str) -> str:
    if module in SHARED:
        return "shared"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ("spatial", "layers", "maps", "scripts"):
        return parts[1]
    return "core"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(module: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every lifecircle import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = _type_checking_lines(tree)
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in hints:
            continue
        if isinstance(node, ast.Import):
            out.extend((a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "lifecircle")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lifecircle":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in MODULES:  # `from lifecircle.maps import style`: the submodule
                    out.append((sub, None, node.lineno))
                else:
                    out.append((node.module, alias.name, node.lineno))
    return out


GRAPH: dict[str, list[tuple[str, str | None, int]]] = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_is_seen() -> None:
    assert {"lifecircle.pipeline", "lifecircle.model", "lifecircle.spatial.travel", "lifecircle.layers.osm",
            "lifecircle.maps.build", "lifecircle.scripts.cli"} <= set(MODULES)
    assert all(imported in MODULES for edges in GRAPH.values() for imported, _, _ in edges), \
        "an import names a module that does not exist"


def test_subpackages_import_only_along_the_allowed_edges() -> None:
    bad = []
    for module, edges in GRAPH.items():
        for imported, _, line in edges:
            a, b = _subpackage(module), _subpackage(imported)
            if a == b:
                continue
            if (a, b) not in ALLOWED:
                bad.append(f"{module}:{line} imports {imported} ({a} -> {b})")
            elif (a, b) == ("maps", "layers") and imported not in MAPS_FROM_LAYERS:
                bad.append(f"{module}:{line} imports {imported}: drawing uses only {sorted(MAPS_FROM_LAYERS)}")
    assert not bad, "\n".join(bad)


def test_core_modules_import_one_way() -> None:
    rank = {m: i for i, m in enumerate(CORE_ORDER)}
    bad = []
    for module, edges in GRAPH.items():
        if module not in rank:
            continue
        for imported, _, line in edges:
            if imported in rank and rank[imported] >= rank[module]:
                bad.append(f"{module}:{line} imports {imported}")
    assert not bad, "\n".join(bad)
    assert set(CORE_ORDER) == {m for m in MODULES if _subpackage(m) == "core"}


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, edges in GRAPH.items():
        for imported, _, _ in edges:
            if imported != module and not (imported == module.rsplit(".", 1)[0] and module in MODULES):
                graph[module].add(imported)
    # A package's __init__ importing its own submodules is the package's face, not a cycle.
    for module in list(graph):
        graph[module] = {m for m in graph[module] if not m.startswith(module + ".") or module not in FOLDERS.values()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_crosses_a_subpackage() -> None:
    bad = []
    for module, edges in GRAPH.items():
        for imported, name, line in edges:
            if _subpackage(imported) == "shared" or _subpackage(module) == _subpackage(imported):
                continue
            private_module = any(part.startswith("_") for part in imported.split("."))
            if (name is not None and name.startswith("_")) or private_module:
                bad.append(f"{module}:{line} imports {imported}{'.' + name if name else ''}")
    assert not bad, "\n".join(bad)


def _readme_diagram() -> tuple[set[str], set[tuple[str, str]]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    block = re.search(r"```mermaid\n(.*?)```", layout, re.S)
    assert block, "README's Layout section has no mermaid diagram"
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for line in block.group(1).splitlines():
        m = re.match(r"\s*(\w+)(?:\[[^\]]*\])?\s*-->(?:\|[^|]*\|)?\s*(\w+)", line)
        if m:
            # Drawn in the direction data flows: "a --> b" means b imports a.
            edges.add((m.group(2), m.group(1)))
            nodes.update(m.groups())
        elif re.match(r"\s*(\w+)\[", line):
            nodes.add(re.match(r"\s*(\w+)\[", line).group(1))
    return nodes, edges


def test_readme_diagram_draws_exactly_the_checked_layout() -> None:
    nodes, edges = _readme_diagram()
    assert nodes == {"shared", "layers", "spatial", "maps", "core", "scripts"}
    assert edges == ALLOWED


@pytest.mark.parametrize("module", ["lifecircle.layers.communities", "lifecircle.spatial.units"])
def test_named_boundaries(module: str) -> None:
    # Communities are read without the computations; units are derived without OSM tag parsing.
    imported = {m for m, _, _ in GRAPH[module]}
    assert not any(_subpackage(m) in ("spatial", "layers") and _subpackage(m) != _subpackage(module)
                   for m in imported)
    if module == "lifecircle.spatial.units":
        assert '"tags"' not in MODULES[module].read_text(encoding="utf-8")
