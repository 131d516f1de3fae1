"""lifecircle: where residents can and cannot reach everyday services on foot.

The main job in one call (keywords as :class:`RunOptions` names them)::

    import lifecircle
    result = lifecircle.run(osm="yuzhong.osm.pbf", boundary=polygon, categories=["clinic", "school"])
    result.cells.plot(column="minutes_to_clinic")
    lifecircle.write_outputs(result, "out")

Each step is also available here, in the order :func:`run` composes them:
:func:`read_osm` → :func:`build_model` (:func:`local_metric_crs`, :func:`study_area`,
:func:`prepare_network`, :func:`walking_costs`, :func:`reverse_graph`,
:func:`find_facilities`, :func:`facility_access_points`) → :func:`compute_cells` →
:func:`communities_for`, :func:`population_for` → :func:`compute_isochrones`; then the
planning steps :func:`standard_scores`, :func:`suggest`, :func:`capacity_scores`,
:func:`plan`. :mod:`lifecircle.testing` ships a small network for trying them.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import Any

from lifecircle._errors import *  # noqa: F403
from lifecircle._errors import __all__ as _errors_all

try:
    __version__ = _metadata.version("lifecircle")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

#: Public names and the module each lives in (imported on first use: `import lifecircle` stays fast).
_EXPORTS: dict[str, str] = {
    "run": "lifecircle.pipeline",
    "RunResult": "lifecircle.pipeline",
    "communities_for": "lifecircle.pipeline",
    "population_for": "lifecircle.pipeline",
    "RunOptions": "lifecircle.options",
    "Model": "lifecircle.model",
    "build_model": "lifecircle.model",
    "prepare_network": "lifecircle.model",
    "walking_costs": "lifecircle.model",
    "RunSummary": "lifecircle.tables",
    "write_outputs": "lifecircle.outputs",
    "read_osm": "lifecircle.layers.osm",
    "sample_path": "lifecircle.layers.sample",
    "find_facilities": "lifecircle.layers.facilities",
    "local_metric_crs": "lifecircle.spatial.area",
    "study_area": "lifecircle.spatial.area",
    "reverse_graph": "lifecircle.spatial.travel",
    "facility_access_points": "lifecircle.spatial.travel",
    "flat_costs": "lifecircle.spatial.costs",
    "compute_cells": "lifecircle.spatial.access",
    "compute_isochrones": "lifecircle.spatial.access",
    "minutes_column": "lifecircle.spatial.coverage",
    "plan": "lifecircle.planning",
    "standard_scores": "lifecircle.planning",
    "suggest": "lifecircle.planning",
    "capacity_scores": "lifecircle.planning",
}
_RENAMED = {"sample_path": "default_sample_path"}

__all__ = ["__version__", *_EXPORTS, *_errors_all]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))
    raise AttributeError(f"module 'lifecircle' has no attribute {name!r}")
