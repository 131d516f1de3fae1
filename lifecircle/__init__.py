"""lifecircle: where residents can and cannot reach everyday services on foot.

The main job in one call::

    import lifecircle
    result = lifecircle.run(lifecircle.RunOptions(osm="yuzhong.osm.pbf"))
    lifecircle.write_outputs(result, "out")

Each step is also available on its own (see :mod:`lifecircle.pipeline`,
:mod:`lifecircle.spatial`, :mod:`lifecircle.layers`, :mod:`lifecircle.maps`).
"""

from __future__ import annotations

from importlib import metadata as _metadata

from lifecircle._errors import *  # noqa: F403
from lifecircle._errors import __all__ as _errors_all

try:
    __version__ = _metadata.version("lifecircle")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__", "RunOptions", "RunResult", "run", "write_outputs", *_errors_all]


def __getattr__(name: str):  # noqa: ANN202 - lazy imports keep `import lifecircle` fast
    if name in ("RunOptions", "RunResult", "run"):
        from lifecircle import pipeline

        return getattr(pipeline, name)
    if name == "write_outputs":
        from lifecircle.outputs import write_outputs

        return write_outputs
    raise AttributeError(f"module 'lifecircle' has no attribute {name!r}")
