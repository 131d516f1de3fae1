"""pyproject.toml and environment.yml must name the same dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import REPO

#: conda-forge names that differ from PyPI names.
CONDA_TO_PYPI = {"pyosmium": "osmium", "python-igraph": "igraph", "distributed": "dask"}  # dask[distributed]
NOT_PACKAGES = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        names |= {_name(r) for r in extra}
    return names


def _environment_names() -> set[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(r) for r in dep.get("pip", []) if not r.startswith("-")}
        else:
            name = _name(dep)
            names.add(CONDA_TO_PYPI.get(name, name))
    return names - NOT_PACKAGES


def test_environment_yml_and_pyproject_name_the_same_dependencies() -> None:
    py, env = _pyproject_names(), _environment_names()
    assert py == env, f"only in pyproject.toml: {sorted(py - env)}; only in environment.yml: {sorted(env - py)}"


def test_environment_yml_uses_conda_forge() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]


def test_sockets_are_blocked_in_tests() -> None:
    import socket

    import pytest

    with pytest.raises(RuntimeError, match="must not touch the network"):
        socket.create_connection(("198.51.100.1", 80), timeout=1)
    with pytest.raises(RuntimeError, match="must not touch the network"):
        socket.socket().connect(("198.51.100.1", 80))
