"""Column names are spelled once, in lifecircle.schema, and every module uses that spelling."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from lifecircle import schema
from lifecircle.spatial import coverage, standards

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("lifecircle", "spatial", "layers", "maps", "scripts")


def test_per_category_names() -> None:
    assert schema.minutes_column("clinic") == "minutes_to_clinic"
    assert schema.share_column("park") == "share_park"
    assert schema.median_column("park") == "median_park" and schema.p90_column("park") == "p90_park"
    assert schema.facilities_column("school") == "facilities_school"
    # The computing modules re-export the schema's function, not a copy of it.
    assert coverage.minutes_column is schema.minutes_column is standards.minutes_column


def test_schema_imports_nothing_of_the_package() -> None:
    tree = ast.parse((ROOT / "lifecircle" / "schema.py").read_text(encoding="utf-8"))
    imported = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in imported)


def test_no_module_spells_a_column_prefix_itself() -> None:
    # A prefix string outside the schema would be a second definition that can drift.
    spelled = re.compile(r"""["'](?:minutes_to_|minutes_)(?:["'{])""")
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in PACKAGE_DIRS
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "schema.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line)
    ]
    assert offenders == []
