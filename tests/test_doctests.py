"""The Examples sections run as doctests, on lifecircle.testing's network and small synthetic inputs.

Every public module (no leading underscore) that defines a public function has at least one
example; the modules are found from the source folders, so a new module is covered at once.
"""

from __future__ import annotations

import ast
import doctest
import importlib

import pytest

from tests.conftest import REPO

FOLDERS = {"lifecircle": "lifecircle", "spatial": "lifecircle.spatial", "layers": "lifecircle.layers",
           "maps": "lifecircle.maps", "scripts": "lifecircle.scripts"}

#: Modules being rewritten by their owners in the same round of work (they add their examples
#: with the rewrite); remove an entry once the module has an example.
WITHOUT_EXAMPLES: set[str] = set()


def _has_public_function(path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and not node.name.startswith("_") for node in tree.body)


def _modules() -> list[str]:
    names = []
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).glob("*.py")):
            if path.stem.startswith("_") or not _has_public_function(path):
                continue
            names.append(f"{package}.{path.stem}")
    return names


#: Public modules with public functions: each carries examples.
MODULES = _modules()


def test_modules_found() -> None:
    assert "lifecircle.spatial.travel" in MODULES
    assert "lifecircle.layers.osm" in MODULES
    assert not [name for name in WITHOUT_EXAMPLES if name not in MODULES], "allowlist names a module that is gone"


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    if result.attempted == 0 and name in WITHOUT_EXAMPLES:
        pytest.skip("its module is being rewritten with its examples")
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see output above)"
