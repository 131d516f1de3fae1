"""A small test network shipped with the package, and assert helpers (like ``geopandas.testing``).

:func:`small_network_file` writes (once per process) a tiny OSM XML file: two footways in
Chongqing's UTM zone (EPSG:32648), a clinic and a school, with hand-checkable distances::

    N0(0,200) ------------------------------------- N5(900,200)
      |
    200 m
      |
    N1(0,0) ---- 300 m ---- N2(300,0) ---- 300 m ---- N3(600,0) ---- 300 m ---- N4(900,0)
    clinic "West clinic" at (0,-20)                            school "East school" at (900,-20)

Coordinates are metres from (600,000 E, 3,270,000 N); the footway N0-N5 joins N1-N4
only through N0-N1. At the adult's 4.5 km/h (75 m/min) 300 m take 4 minutes.
The network keeps three nodes (N1, N4, N5: the others only continue a way). The study area is
the data's extent, 900 m x 200 m: 18 cells of 100 m. :func:`small_model` is the
:class:`lifecircle.model.Model` of that file, for examples and tests.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.layers.catalogue import load_catalogue
from lifecircle.layers.profiles import load_profiles
from lifecircle.model import Model, build_model, run_profile
from lifecircle.options import RunOptions
from lifecircle.schema import minutes_column
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.grid import make_grid
from lifecircle.spatial.travel import (
    facility_access_points,
    locate_on_network,
    reverse_graph,
)

__all__ = [
    "SMALL_NETWORK_NODES",
    "small_network_file",
    "small_model",
    "model_from_network",
    "assert_minutes_equal",
    "assert_outputs_identical",
]

_ORIGIN = (600_000.0, 3_270_000.0)
_CRS = "EPSG:32648"

#: The small network's nodes: (OSM id, x, y) in metres from the origin.
SMALL_NETWORK_NODES: tuple[tuple[int, float, float], ...] = (
    (10, 0.0, 200.0), (11, 0.0, 0.0), (12, 300.0, 0.0), (13, 600.0, 0.0), (14, 900.0, 0.0), (15, 900.0, 200.0),
)
_WAYS: tuple[tuple[int, tuple[int, ...]], ...] = ((100, (11, 12, 13, 14)), (101, (15, 10, 11)))
_POIS: tuple[tuple[int, float, float, dict[str, str]], ...] = (
    (20, 0.0, -20.0, {"amenity": "clinic", "name": "West clinic"}),
    (21, 900.0, -20.0, {"amenity": "school", "name": "East school"}),
)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    to_wgs = pyproj.Transformer.from_crs(_CRS, 4326, always_xy=True)
    lon, lat = to_wgs.transform(_ORIGIN[0] + x, _ORIGIN[1] + y)
    return round(float(lon), 7), round(float(lat), 7)


def _xml() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="lifecircle.testing">']
    for node_id, x, y in SMALL_NETWORK_NODES:
        lon, lat = _lonlat(x, y)
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat}" lon="{lon}"/>')
    for node_id, x, y, tags in _POIS:
        lon, lat = _lonlat(x, y)
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat}" lon="{lon}">')
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </node>")
    for way_id, refs in _WAYS:
        lines.append(f'  <way id="{way_id}" version="1">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.append('    <tag k="highway" v="footway"/>')
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def small_network_file() -> Path:
    """Path to the small test network as an OSM XML file (written once per process).

    Returns
    -------
    pathlib.Path
        ``small_network.osm`` in a temporary folder.

    Examples
    --------
    >>> from lifecircle.layers.osm import read_osm
    >>> extract = read_osm(small_network_file(), progress=False)
    >>> len(extract.way_ids), sorted(extract.features["name"])
    (2, ['East school', 'West clinic'])
    """
    folder = Path(tempfile.mkdtemp(prefix="lifecircle-testing-"))
    path = folder / "small_network.osm"
    path.write_text(_xml(), encoding="utf-8")
    return path


def small_model(**options: Any) -> Any:
    """The :class:`lifecircle.model.Model` of :func:`small_network_file`.

    Parameters
    ----------
    **options
        :class:`lifecircle.options.RunOptions` fields; default categories clinic and
        school, 100 m cells.

    Returns
    -------
    lifecircle.model.Model
        The model of the small network (EPSG:32648, 18 cells).

    Examples
    --------
    >>> model = small_model()
    >>> model.categories, model.no_data, len(model.grid)
    (('clinic', 'school'), (), 18)
    """
    options = {"categories": ("clinic", "school"), "cell_size_m": 100.0, **options}
    return build_model(osm=small_network_file(), **options)


def model_from_network(  # noqa: PLR0913 - keyword-only test options with defaults
    network: Any,
    facilities: Any,
    *,
    area: Any,
    categories: Sequence[str],
    cell_size_m: float = 100.0,
    speed_kmh: float = 4.5,
    minutes: float = 15.0,
    max_access_m: float = 150.0,
    extract: Any = None,
    options: dict[str, Any] | None = None,
) -> Any:
    """A :class:`lifecircle.model.Model` around a hand-made network and facilities (flat walking).

    For tests that need exact distances: the costs are distance over ``speed_kmh``, the
    grid covers ``area``, the catalogue and profiles are the bundled ones.

    Parameters
    ----------
    network : WalkNetwork
        E.g. from ``tests/synthetic.py``.
    facilities : geopandas.GeoDataFrame
        ``category``, ``name`` (and optionally ``source``, ``osm_type``, ``osm_id``), in
        ``network.crs``.
    area : shapely.Geometry
        The study area in ``network.crs``.
    categories : sequence of str
        The categories, in output order.
    cell_size_m, speed_kmh, minutes, max_access_m : float
        Cell side (m), walking speed (km/h), threshold (minutes) and farthest distance of a
        cell centre or facility from the network (m).
    extract : OsmExtract-like, optional
        Something with ``features`` (OSM tags for capacities, other categories).
    options : dict, optional
        Further :class:`lifecircle.options.RunOptions` fields (``facilities``, ``catalogue`` ...).

    Returns
    -------
    lifecircle.model.Model
        A model of the given network and facilities, for tests.
    """
    opts = RunOptions(categories=tuple(categories), speed_kmh=speed_kmh, minutes=minutes, cell_size_m=cell_size_m,
                      max_access_m=max_access_m, **(options or {}))
    profiles = load_profiles()
    costs = flat_costs(network, speed_kmh=speed_kmh)
    access_all = facility_access_points(facilities, network, max_distance_m=max_access_m)
    facilities = facilities.assign(reachable=np.isin(np.arange(len(facilities)), access_all["facility"]))
    cat_of = facilities["category"].to_numpy()[access_all["facility"].to_numpy()]
    access = {c: access_all[cat_of == c] for c in categories}
    grid = make_grid(area, cell_size_m=cell_size_m, crs=network.crs)
    centres = gpd.GeoSeries(shapely.points(grid["x"].to_numpy(), grid["y"].to_numpy()), crs=network.crs)
    return Model(
        options=opts, crs=network.crs, input_crs=pyproj.CRS.from_epsg(4326), area=area,
        reach_m=minutes * 60.0 * speed_kmh / 3.6, extract=extract, network=network, costs=costs,
        cost_report={"model": "flat"}, elevation=None, graph=reverse_graph(network, costs),
        catalogue=load_catalogue(), profile=run_profile(opts, profiles), profiles=profiles,
        categories=tuple(categories), facilities=facilities,
        facility_file_rows=np.full(len(facilities), -1, dtype=np.int64), user_facilities=None, access=access,
        no_data=tuple(c for c in categories if len(access[c]) == 0), grid=grid,
        origins=locate_on_network(centres, network, max_distance_m=max_access_m),
    )


def assert_minutes_equal(cells: pd.DataFrame, category: str, expected: Sequence[float] | np.ndarray, *,
                         atol: float = 0.05) -> None:
    """Assert a category's minutes per cell, NaN (no access, unreachable) matching NaN.

    Parameters
    ----------
    cells : pandas.DataFrame
        A run's cells (``minutes_to_<category>``).
    category : str
        The category, by name.
    expected : sequence of float
        One value per cell, NaN where no facility is reachable.
    atol : float, default 0.05
        Tolerance in minutes.

    Raises
    ------
    AssertionError
        With the cells that differ.

    Examples
    --------
    >>> import pandas as pd
    >>> assert_minutes_equal(pd.DataFrame({"minutes_to_clinic": [1.0, float("nan")]}), "clinic", [1.0, None])
    """
    got = cells[minutes_column(category)].to_numpy(dtype=float)
    want = np.array([np.nan if v is None else v for v in expected], dtype=float)
    if got.shape != want.shape:
        raise AssertionError(f"{len(got)} cells, expected {len(want)}")
    bad = ~((np.isnan(got) & np.isnan(want)) | (np.abs(got - want) <= atol))
    if bad.any():
        rows = np.flatnonzero(bad)[:10]
        raise AssertionError(f"minutes to {category} differ at cells {rows.tolist()}: got {got[rows].tolist()}, "
                             f"expected {want[rows].tolist()}")


def assert_outputs_identical(before: str | Path, after: str | Path, *,
                             ignore: Sequence[str] = ("timings_s", "versions", "command")) -> None:
    """Assert two output folders hold the same files, byte for byte.

    ``run.json`` is compared as JSON without the keys in ``ignore`` (timings, library
    versions and the command line differ between runs of the same inputs).

    Parameters
    ----------
    before, after : path
        Output folders of :func:`lifecircle.outputs.write_outputs`.
    ignore : sequence of str
        Top-level keys of ``run.json`` left out.

    Raises
    ------
    AssertionError
        Naming the files (and ``run.json`` keys) that differ.
    """
    a, b = Path(before), Path(after)
    names_a = sorted(p.name for p in a.iterdir() if p.is_file())
    names_b = sorted(p.name for p in b.iterdir() if p.is_file())
    if names_a != names_b:
        raise AssertionError(f"different files: {names_a} vs {names_b}")
    differ = []
    for name in names_a:
        if name == "run.json":
            ja, jb = (json.loads((d / name).read_text(encoding="utf-8")) for d in (a, b))
            keys = sorted(k for k in set(ja) | set(jb) if k not in ignore and ja.get(k) != jb.get(k))
            if keys:
                differ.append(f"run.json ({', '.join(keys)})")
        elif (a / name).read_bytes() != (b / name).read_bytes():
            differ.append(name)
    if differ:
        raise AssertionError(f"outputs differ: {', '.join(differ)}")
