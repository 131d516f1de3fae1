"""Every public function carries a numpydoc docstring with the sections its signature calls for.

Parsed with ``ast`` (no numpydoc dependency): a module-level function whose name has no
leading underscore, in every module of the five folders, needs

- a docstring;
- a ``Parameters`` section naming each of its arguments, when it takes any;
- a ``Returns`` (or ``Yields``) section, when its annotation says it returns something;
- a ``Raises`` section naming each :class:`lifecircle.LifecircleError` subclass it raises itself.

The length of functions is checked too (:data:`LONG_FUNCTIONS` would list exceptions; there are none).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

FOLDERS = ("lifecircle", "spatial", "layers", "maps", "scripts")

#: Longest function allowed, counted from its first decorator to its last line, docstring included.
MAX_FUNCTION_LINES = 80

#: Functions allowed over :data:`MAX_FUNCTION_LINES` (none: every function reads at once).
LONG_FUNCTIONS: set[str] = set()

#: Public functions whose docstrings lack sections, in modules being rewritten by their owners in
#: the same round of work (they add the sections with their rewrite); remove an entry once done.
UNDOCUMENTED: set[str] = set()


def _error_names() -> set[str]:
    tree = ast.parse((REPO / "lifecircle" / "_errors.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


ERRORS = _error_names()


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    out = []
    for folder in FOLDERS:
        for path in sorted((REPO / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    out.append((f"{folder}/{path.name}", node))
    return out


FUNCTIONS = _functions()
PUBLIC = [(f"{where}:{node.name}", node) for where, node in FUNCTIONS if not node.name.startswith("_")]


def _section(doc: str, title: str) -> str | None:
    """The text of a numpydoc section (``title`` underlined with dashes), or None."""
    match = re.search(rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\S[^\n]*\n-{{3,}}\n|\Z)", doc, re.S | re.M)
    return match.group(1) if match else None


def _arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [f"*{args.vararg.arg}"] if args.vararg else []
    names += [f"**{args.kwarg.arg}"] if args.kwarg else []
    return names


def _returns_value(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    returns = node.returns
    if returns is None:
        return False
    text = ast.unparse(returns)
    return text not in ("None", "NoReturn", "typing.NoReturn", "Never")


def _raised(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    raised = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            name = exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", None)
            if name in ERRORS:
                raised.add(name)
    return raised


def _problems(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    doc = ast.get_docstring(node)
    if not doc:
        return ["no docstring"]
    problems = []
    arguments = _arguments(node)
    parameters = _section(doc, "Parameters")
    if arguments and parameters is None:
        problems.append("no Parameters section")
    elif arguments:
        heads = [line.split(" : ")[0] for line in (parameters or "").splitlines() if line[:1].strip()]
        named = {name.strip().lstrip("*") for head in heads for name in head.split(",")}
        missing = [a for a in arguments if a not in named and a.lstrip("*") not in named]
        if missing:
            problems.append(f"Parameters does not describe {', '.join(missing)}")
    if _returns_value(node) and _section(doc, "Returns") is None and _section(doc, "Yields") is None:
        problems.append("no Returns section")
    raised = _raised(node)
    raises = _section(doc, "Raises")
    if raised and raises is None:
        problems.append(f"no Raises section (raises {', '.join(sorted(raised))})")
    elif raised:
        unnamed = sorted(name for name in raised if name not in (raises or ""))
        if unnamed:
            problems.append(f"Raises does not name {', '.join(unnamed)}")
    return problems


def test_the_checks_find_something() -> None:
    assert len(PUBLIC) > 200
    bad = ast.parse('def f(a, *, b) -> int:\n    """Do.\n\n    Parameters\n    ----------\n    a : int\n        A.\n    """\n'
                    '    raise OptionError("x")\n').body[0]
    assert isinstance(bad, ast.FunctionDef)
    assert _problems(bad) == ["Parameters does not describe b", "no Returns section",
                              "no Raises section (raises OptionError)"]


@pytest.mark.parametrize(("name", "node"), PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_function_is_documented(name: str, node: ast.FunctionDef) -> None:
    problems = _problems(node)
    if name in UNDOCUMENTED:
        pytest.skip("its module is being rewritten with its docstrings")
    assert not problems, f"{name} (line {node.lineno}): {'; '.join(problems)}"


def test_allowlists_name_real_functions() -> None:
    """An entry for a function that is gone, or now passes, is removed (the lists only shrink)."""
    names = {f"{where}:{node.name}": node for where, node in FUNCTIONS}
    assert not (LONG_FUNCTIONS - names.keys())
    assert not (UNDOCUMENTED - names.keys())
    documented = sorted(name for name in UNDOCUMENTED if not _problems(names[name]))
    assert not documented, f"documented now, remove from UNDOCUMENTED: {documented}"
    short = sorted(name for name in LONG_FUNCTIONS if _length(names[name]) <= MAX_FUNCTION_LINES)
    assert not short, f"short now, remove from LONG_FUNCTIONS: {short}"


def _length(node: ast.AST) -> int:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    return node.end_lineno - first + 1  # type: ignore[attr-defined]


def _all_functions() -> list[tuple[str, ast.AST]]:
    out = []
    for folder in FOLDERS:
        for path in sorted((REPO / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    out.append((f"{folder}/{path.name}:{node.name}", node))
    return out


def test_functions_are_short() -> None:
    """A function fits on a screen: at most 80 lines, its docstring included."""
    long = sorted(f"{name} ({_length(node)} lines)" for name, node in _all_functions()
                  if _length(node) > MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS)
    assert not long, f"split these into named steps: {long}"


def test_section_parser() -> None:
    doc = "Sum.\n\nParameters\n----------\nx : int\n    X.\n\nReturns\n-------\nint\n    Y.\n"
    assert (_section(doc, "Parameters") or "").startswith("x : int")
    assert "Y." in (_section(doc, "Returns") or "")
    assert _section(doc, "Raises") is None
    assert Path(__file__).name == "test_docstrings.py"
