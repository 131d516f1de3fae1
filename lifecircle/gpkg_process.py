"""Write one Arrow table as a GeoPackage layer in a second process, beside the main one.

GDAL holds Python's GIL while it writes a layer (measured: a pure-Python loop in another
thread gets about 5% of a core while a layer is written), so a thread cannot write the
GeoPackage while the main thread writes the map. A second Python process can: it gets the
table through an Arrow IPC file next to the target (read back memory-mapped), sets the same
GDAL options and makes the same :func:`pyogrio.write_arrow` call, so the file's bytes are
those the main process would write. It imports only pyarrow and pyogrio.

Run as ``python -m lifecircle.gpkg_process SPEC.json`` by :func:`start_layer_process`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["LayerProcess", "start_layer_process", "main"]

_TAIL = 2000  # characters of the second process's error output kept in a message


class LayerProcess:
    """A layer being written by a second process (see :func:`start_layer_process`)."""

    def __init__(self, process: subprocess.Popen, files: Sequence[Path], errors: Any, started: float) -> None:
        self._process = process
        self._files = list(files)
        self._errors = errors
        self._started = started
        #: Wall seconds from the start to the end of the second process.
        self.seconds = 0.0

    def wait(self) -> None:
        """Wait for the layer to be written.

        Raises
        ------
        OSError
            The second process failed; the message holds the end of its error output
            (so that a full disk is reported as such).
        """
        try:
            code = self._process.wait()
            self.seconds = time.perf_counter() - self._started
            if code != 0:
                self._errors.seek(0)
                tail = self._errors.read().decode("utf-8", "replace").strip()[-_TAIL:]
                raise OSError(errno.EIO, f"the process writing the layer stopped (exit code {code}): {tail}")
        finally:
            self.stop()

    def stop(self) -> None:
        """End the second process if it still runs, and remove the table's file."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for path in self._files:
            with contextlib.suppress(OSError):
                path.unlink()
        self._errors.close()


def start_layer_process(table: Any, path: str | Path, *, config: dict[str, str], options: dict[str, Any]
                        ) -> LayerProcess:
    """Start writing ``table`` as a layer of the GeoPackage ``path`` in a second process.

    Parameters
    ----------
    table : pyarrow.Table
        With the geometry as WKB.
    path : str or pathlib.Path
        The GeoPackage (created; the table is staged beside it, in a hidden file).
    config : dict of str to str
        GDAL configuration options for the write.
    options : dict
        Keyword arguments of :func:`pyogrio.write_arrow` (JSON-able).

    Returns
    -------
    LayerProcess
        Call :meth:`LayerProcess.wait` before using the file, :meth:`LayerProcess.stop` to give up.

    Examples
    --------
    >>> import tempfile, pyarrow as pa, pyogrio, shapely
    >>> path = Path(tempfile.mkdtemp()) / "cells.gpkg"
    >>> table = pa.table({"n": [1, 2], "geometry": shapely.to_wkb([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])})
    >>> job = start_layer_process(table, path, config={}, options={"layer": "cells", "geometry_name": "geometry",
    ...                           "geometry_type": "Polygon", "crs": "EPSG:4326"})
    >>> job.wait()
    >>> pyogrio.read_info(path, layer="cells")["features"], sorted(p.name for p in path.parent.iterdir())
    (2, ['cells.gpkg'])
    """
    import pyarrow as pa  # noqa: PLC0415 - the second process needs it, importers of this module do not

    started = time.perf_counter()
    path = Path(path)
    staged = path.with_name(f".{path.name}.{os.getpid()}.arrow")
    spec = path.with_name(f".{path.name}.{os.getpid()}.json")
    try:
        with pa.OSFile(str(staged), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        spec.write_text(json.dumps({"table": str(staged), "path": str(path), "config": config, "options": options}),
                        encoding="utf-8")
        errors = tempfile.TemporaryFile()
        # The folder this package is in comes first, so the second process runs this very code.
        here = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
        process = subprocess.Popen([sys.executable, "-m", "lifecircle.gpkg_process", str(spec)],
                                   stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, env=env)
    except BaseException:
        for leftover in (staged, spec):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    return LayerProcess(process, [staged, spec], errors, started)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the layer a spec file describes (the second process's entry point).

    Parameters
    ----------
    argv : sequence of str, optional
        The spec file's path (default: the command line's).

    Returns
    -------
    int
        0 when the layer is written; an error ends the process with a traceback.
    """
    import pyarrow as pa  # noqa: PLC0415 - only the second process writes
    import pyogrio  # noqa: PLC0415 - only the second process writes

    args = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    pyogrio.set_gdal_config_options(spec["config"])
    with pa.memory_map(spec["table"], "r") as source:
        table = pa.ipc.open_file(source).read_all()
        pyogrio.write_arrow(table, spec["path"], **spec["options"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
