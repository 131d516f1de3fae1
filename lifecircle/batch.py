"""Many areas at once: one normal run per district on Dask, merged into one output set.

Each area (a district, a county, a street) is one job: :func:`lifecircle.pipeline.run` with
the area as the boundary, so its cells, communities and gap lists lie inside the area while
the network and the facilities come from its halo (the threshold's reach beyond the border,
:mod:`lifecircle.spatial.halo`): nobody's nearest clinic stops at an administrative line.
Each area's files are written by :func:`lifecircle.outputs.write_outputs` into
``areas/area=<key>/`` (an output set of its own, replaced whole), so the result layers form a
GeoParquet dataset partitioned by area::

    SELECT area, count(*) FROM read_parquet('out/areas/*/cells.parquet', hive_partitioning=true)
    GROUP BY area;

Then the merged gap lists (``gaps.csv``, ``community_gaps.csv``, ``gap_areas.csv``,
``gaps.xlsx``, ranked across all areas), ``run.json`` (every area's status, attempts and
error) and an index ``map.html`` linking each area's map are written at the top of the
folder, as one set (:func:`lifecircle.outfolder.atomic_staging`).

Jobs run on ``dask.distributed``: a local cluster by default, or any scheduler's address
(the OSM file and the output folder must then be on a file system every worker sees). A job
that fails is submitted again up to ``retries`` times; an area that still fails is reported
and the others are kept. With ``resume``, areas whose files are complete for the same
options and outline are not computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle._errors import InputNotFoundError, LifecircleError, OptionError, shorten
from lifecircle.columnar import parquet_name, parse_formats, read_geoparquet
from lifecircle.i18n import BATCH_TEXT, SHEET_NAMES
from lifecircle.layers.cut import extract_within
from lifecircle.layers.osm import OsmExtract, read_osm
from lifecircle.maps.index import build_index_map, save_index_map
from lifecircle.options import RunOptions, validate_options
from lifecircle.outfolder import atomic_staging, output_lock, writing
from lifecircle.outputs import category_labels, write_outputs
from lifecircle.pipeline import run
from lifecircle.spatial.area import local_metric_crs
from lifecircle.spatial.halo import halo_bounds_lonlat, halo_reach_m
from lifecircle.spreadsheets import write_csv, write_xlsx

__all__ = ["AREAS_FOLDER", "BATCH_FILES", "BatchResult", "read_areas", "area_folder", "run_area", "run_batch",
           "read_layer"]

log = logging.getLogger(__name__)

#: Folder of the per-area output sets inside the batch's output folder.
AREAS_FOLDER = "areas"
#: The merged files at the top of the output folder (one set, replaced whole).
BATCH_FILES: tuple[str, ...] = ("gaps.csv", "community_gaps.csv", "gap_areas.csv", "gaps.xlsx", "map.html",
                                "run.json")
_KEY = re.compile(r"^[\w\-]{1,64}$")  # letters (any script), digits, _ and -: safe as a folder name
_PEOPLE_COLUMN = {"gaps.csv": 3, "community_gaps.csv": 3, "gap_areas.csv": 2}  # ranked by this column


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: each area's status and the merged files.

    Attributes
    ----------
    areas : list of dict
        Per area: ``key``, ``name``, ``code``, ``status`` (``done``, ``failed``),
        ``attempts``, ``resumed`` (files kept from an earlier batch), ``error`` and figures.
    paths : dict of str to pathlib.Path
        The merged files by name.
    seconds : float
        Wall time of the jobs.
    """

    areas: list[dict[str, Any]]
    paths: dict[str, Path]
    seconds: float

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The areas that failed after every attempt."""
        return [a for a in self.areas if a["status"] != "done"]


# --------------------------------------------------------------------------- areas


def _key_of(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if _KEY.match(text) and not text.startswith(".") else None


def read_areas(units: str | Path | gpd.GeoDataFrame, *, name_column: str | None = None,
               code_column: str | None = None, only: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """The areas of a batch: ``key``, ``name``, ``code`` and the outline, in EPSG:4326.

    Parameters
    ----------
    units : path or geopandas.GeoDataFrame
        Polygons (GeoPackage, GeoJSON, shapefile...), one per area.
    name_column, code_column : str, optional
        Columns naming and coding each area; default ``name`` and ``code`` when present,
        else the row number.
    only : sequence of str, optional
        Keep only the areas with these names or codes (in the file's order).

    Returns
    -------
    geopandas.GeoDataFrame
        ``key`` is the code when it is a safe folder name (letters, digits, ``_``, ``-``), else
        ``area-<row>``; keys are unique.

    Raises
    ------
    InputNotFoundError, OptionError
        The file is missing or unreadable, a column is missing, an outline is not a polygon,
        names or codes repeat, or ``only`` names an area that is not there.
    """
    label = "--units" if not isinstance(units, gpd.GeoDataFrame) else "the areas"
    if isinstance(units, gpd.GeoDataFrame):
        gdf = units
    else:
        path = Path(units)
        if not path.is_file():
            raise InputNotFoundError(f"--units file {shorten(str(path))} does not exist.")
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # any reader failure is a bad file, said as such
            raise OptionError(f"--units {shorten(str(path))}: expected polygons (GeoPackage, GeoJSON, shapefile); "
                              f"could not read it: {shorten(str(exc))}.") from None
    if gdf.crs is None:
        raise OptionError(f"{label}: the file has no CRS; expected one (e.g. EPSG:4326).")
    if len(gdf) == 0:
        raise OptionError(f"{label}: expected at least one area; found none.")
    for option, column in (("--name-column", name_column), ("--code-column", code_column)):
        if column is not None and column not in gdf.columns:
            raise OptionError(f"{label}: {option} {shorten(column)} is not a column; found "
                              f"{shorten(', '.join(map(str, gdf.columns)))}.")
    name_column = name_column or ("name" if "name" in gdf.columns else None)
    code_column = code_column or ("code" if "code" in gdf.columns else None)
    kinds = set(gdf.geometry.geom_type.dropna())
    if gdf.geometry.isna().any() or not kinds <= {"Polygon", "MultiPolygon"}:
        raise OptionError(f"{label}: expected a polygon outline per area; found {shorten(', '.join(sorted(kinds)))}"
                          f"{' and empty rows' if gdf.geometry.isna().any() else ''}.")
    rows = np.arange(len(gdf))
    names = gdf[name_column].astype(str).to_numpy() if name_column else np.array([f"area-{i}" for i in rows])
    codes = gdf[code_column].astype(str).to_numpy() if code_column else np.array([str(i) for i in rows])
    for what, values in (("names", names), ("codes", codes)):
        repeated = pd.Series(values)[pd.Series(values).duplicated()]
        if len(repeated):
            raise OptionError(f"{label}: area {what} must be unique; {shorten(str(repeated.iloc[0]))} repeats.")
    keys = [_key_of(c) or f"area-{i}" for i, c in zip(rows, codes)]
    if len(set(keys)) != len(keys):
        keys = [f"area-{i}" for i in rows]
    out = gpd.GeoDataFrame({"key": keys, "name": names, "code": codes},
                           geometry=shapely.make_valid(gdf.geometry.to_numpy()), crs=gdf.crs).to_crs(4326)
    if only:
        wanted = [str(v) for v in only]
        missing = [w for w in wanted if w not in set(names) and w not in set(codes)]
        if missing:
            raise OptionError(f"--areas: no area named or coded {shorten(missing[0])} in {label}.")
        out = out[out["name"].isin(wanted) | out["code"].isin(wanted)].reset_index(drop=True)
    return out


def area_folder(out_dir: str | Path, key: str) -> Path:
    """The output set of one area: ``<out>/areas/area=<key>`` (a Hive-style partition).

    Parameters
    ----------
    out_dir : path
        The batch's output folder.
    key : str
        The area's key (:func:`read_areas`).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> area_folder("out", "500103").as_posix()
    'out/areas/area=500103'
    """
    return Path(out_dir) / AREAS_FOLDER / f"area={key}"


def _fingerprint(options: RunOptions, area: Mapping[str, Any], *, formats: Sequence[str], lang: str) -> str:
    """Same options, same outline, same OSM file: the same area files (what resume checks)."""
    record = options.as_record()
    osm = Path(options.osm) if options.osm is not None else None
    stamp = [osm.stat().st_size, osm.stat().st_mtime_ns] if osm is not None and osm.is_file() else None
    blob = json.dumps({"options": record, "osm": stamp, "formats": list(formats), "lang": lang,
                       "key": area["key"], "name": area["name"], "code": area["code"],
                       "outline": shapely.to_wkb(area["geometry"], hex=True)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- one area (runs on a worker)

_extract_lock = threading.Lock()
_extract_cache: dict[tuple[str, int, int], OsmExtract] = {}


def _shared_extract(osm: Path) -> OsmExtract:
    """The OSM file read once per worker process and reused by its next areas (one file kept)."""
    stat = osm.stat()
    key = (str(osm.resolve()), stat.st_size, stat.st_mtime_ns)
    with _extract_lock:
        if key not in _extract_cache:
            _extract_cache.clear()
            _extract_cache[key] = read_osm(osm, progress=False)
        return _extract_cache[key]


def run_area(area: Mapping[str, Any], *, options: RunOptions, out_dir: str | Path, formats: Sequence[str],
             lang: str = "zh", write_map: bool = True, fingerprint: str = "",
             reuse_extract: bool = True) -> dict[str, Any]:
    """Compute one area and write its output set; its status and headline figures.

    Parameters
    ----------
    area : mapping
        ``key``, ``name``, ``code`` and ``geometry`` (EPSG:4326), a row of :func:`read_areas`.
    options : RunOptions
        The batch's options (its ``boundary`` is replaced by the area).
    out_dir : path
        The batch's output folder; the area's files go to :func:`area_folder`.
    formats, lang, write_map
        As :func:`lifecircle.outputs.write_outputs` takes them.
    fingerprint : str
        Recorded in the area's ``run.json`` for ``resume``.
    reuse_extract : bool, default True
        Read the OSM file once per worker and reuse it for every area of that worker, each
        area getting only the data around it (:func:`lifecircle.layers.cut.extract_within`).

    Returns
    -------
    dict
        ``key``, ``name``, ``code``, ``status`` (``done``), cells, people, under-served cells,
        shares per category, seconds and CPU seconds, the worker's address.
    """
    started, cpu = time.perf_counter(), time.process_time()
    outline = gpd.GeoDataFrame({"name": [area["name"]]}, geometry=[area["geometry"]], crs=4326)
    area_options = replace(options, boundary=outline)
    extract = None
    if reuse_extract and options.osm is not None:
        extract = extract_within(_shared_extract(Path(options.osm)), _cut_bounds(outline, options))
    result = run(area_options, progress=False, extract=extract)
    summary = result.summary.as_dict()
    people = np.nan_to_num(result.cells["population"].to_numpy(dtype=float))
    status = {
        "key": area["key"], "name": area["name"], "code": area["code"], "status": "done",
        "cells": int(len(result.cells)), "people": round(float(people.sum()), 1),
        "population_kind": summary.get("population_kind"),
        "underserved_cells": int(summary.get("cells_underserved", 0)),
        "shares": {c: v.get("share_served") for c, v in (summary.get("categories") or {}).items()},
        "network_nodes": int(result.network.n_nodes), "reach_m": float(result.model.reach_m),
        "fingerprint": fingerprint,
    }
    result = replace(result, record={**result.record, "batch_area": status})
    write_outputs(result, area_folder(out_dir, area["key"]), lang=lang, write_map=write_map, formats=formats)
    status["seconds"] = round(time.perf_counter() - started, 3)
    status["cpu_seconds"] = round(time.process_time() - cpu, 3)  # this process's CPU: the work, whatever the load
    status["worker"] = _worker_name()
    return status


def _worker_name() -> str:
    """The Dask worker running this job (its address), or ``""`` outside a worker."""
    try:
        from dask.distributed import get_worker  # noqa: PLC0415 - dask loads only for a batch

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def _cut_bounds(outline: gpd.GeoDataFrame, options: RunOptions) -> tuple[float, float, float, float]:
    """The box of OSM data an area's run can use: its halo plus every margin the run adds
    (facility access, isochrone buffer, a cell), with a tenth more for safety; the run
    clips to its own halo inside it."""
    checked = validate_options(options)
    reach = halo_reach_m(minutes=float(checked.minutes), speed_kmh=float(checked.speed_kmh or 0),
                         access_m=float(checked.max_access_m) + float(checked.isochrone_buffer_m)
                         + float(checked.cell_size_m))
    centre = outline.geometry.iloc[0].representative_point()
    crs = local_metric_crs(np.array([centre.x]), np.array([centre.y]))
    return halo_bounds_lonlat(outline.geometry, reach_m=reach * 1.1, crs=crs)[0]


def _complete(out_dir: Path, area: Mapping[str, Any], fingerprint: str, formats: Sequence[str]) -> dict | None:
    """The stored status of an area whose files are complete for this fingerprint, else None."""
    folder = area_folder(out_dir, area["key"])
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    status = record.get("batch_area") if isinstance(record, dict) else None
    if not isinstance(status, dict) or status.get("fingerprint") != fingerprint:
        return None
    needed = {"gaps.csv", "community_gaps.csv", "gap_areas.csv"}
    needed |= {parquet_name("cells")} if "parquet" in formats else set()
    if not all((folder / n).is_file() for n in needed):
        return None
    return status


# --------------------------------------------------------------------------- the batch


@contextlib.contextmanager
def _dask_client(*, workers: int, scheduler: str | None, processes: bool) -> Iterator[Any]:
    """A client of the given scheduler, or of a local cluster closed afterwards."""
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415 - dask loads only for a batch

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise OptionError(f"--scheduler {shorten(scheduler)}: no Dask scheduler answered there "
                              f"({shorten(str(exc))}); expected the address `dask scheduler` prints, "
                              "e.g. tcp://10.0.0.5:8786.") from None
        with client:
            yield client
        return
    # Local workers listen on loopback only: nothing outside this machine can reach them.
    where = {"host": "127.0.0.1"} if processes else {}
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                           silence_logs=logging.ERROR, **where)
    with cluster, Client(cluster) as client:
        yield client


def _error_text(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, LifecircleError) else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:499] + "…"


def _submit_all(client: Any, todo: list[dict[str, Any]], *, retries: int, job: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """Run every area; resubmit a failed one up to ``retries`` times; statuses in ``todo``'s order."""
    from dask.distributed import as_completed  # noqa: PLC0415 - dask loads only for a batch

    attempts = {a["key"]: 0 for a in todo}
    by_key = {a["key"]: a for a in todo}
    statuses: dict[str, dict[str, Any]] = {}

    def submit(area: dict[str, Any]) -> Any:
        attempts[area["key"]] += 1
        return client.submit(run_area, area, fingerprint=area["fingerprint"], **job, pure=False,
                             key=f"lifecircle-area-{area['key']}-{attempts[area['key']]}")

    futures = {submit(a): a["key"] for a in todo}
    pending = as_completed(list(futures))
    for future in pending:
        key = futures.pop(future)
        try:
            status = future.result()
        except Exception as exc:  # any failure of one area is reported, the others go on
            error = _error_text(exc)
            if attempts[key] <= retries:
                log.warning("Area %s failed (attempt %d of %d), trying again: %s", key, attempts[key],
                            retries + 1, error)
                again = submit(by_key[key])
                futures[again] = key
                pending.add(again)
                continue
            log.error("Area %s failed after %d attempts: %s", key, attempts[key], error)
            area = by_key[key]
            status = {"key": key, "name": area["name"], "code": area["code"], "status": "failed", "error": error}
        status["attempts"] = attempts[key]
        status["resumed"] = False
        statuses[key] = status
        log.info("Area %s: %s (%d of %d)", key, status["status"], len(statuses), len(todo))
    return [statuses[a["key"]] for a in todo]


def run_batch(  # noqa: PLR0913 - keyword-only options of the command, each with a default
        areas: gpd.GeoDataFrame, *, options: RunOptions, out_dir: str | Path, workers: int = 2,
              scheduler: str | None = None, retries: int = 1, resume: bool = False,
              formats: Sequence[str] = ("parquet",), lang: str = "zh", area_maps: bool = True,
              processes: bool = True, reuse_extract: bool = True) -> BatchResult:
    """Run every area on Dask and merge the results into one output set.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        From :func:`read_areas`.
    options : RunOptions
        The run's options (a local ``osm`` file; ``boundary`` is set per area).
    out_dir : path
        The output folder (locked for the whole batch).
    workers : int, default 2
        Workers of the local cluster (one thread each); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) instead of a local cluster.
    retries : int, default 1
        Extra attempts for an area that fails.
    resume : bool, default False
        Keep areas whose files are complete for the same options and outline.
    formats : sequence of str, default ("parquet",)
        The areas' result layers (:mod:`lifecircle.columnar`); ``parquet`` makes the dataset.
    lang : {"zh", "en"}
    area_maps : bool, default True
        Write each area's ``map.html`` (linked from the index map).
    processes : bool, default True
        Local workers as processes (the normal case) or as threads of this process.
    reuse_extract : bool, default True
        Each worker reads the OSM file once for all its areas.

    Returns
    -------
    BatchResult

    Raises
    ------
    OptionError
        Before any job: bad options, no OSM file, a bad number of workers or retries.
    """
    formats = parse_formats(formats)
    checked = _checked(options, lang=lang, workers=workers, retries=retries)
    out = Path(out_dir)
    job = {"options": options, "out_dir": str(out.resolve()),
           "formats": formats, "lang": lang, "write_map": area_maps, "reuse_extract": reuse_extract}
    rows = [{"key": r.key, "name": r.name, "code": r.code, "geometry": r.geometry}
            for r in areas.itertuples(index=False)]
    for row in rows:
        row["fingerprint"] = _fingerprint(options, row, formats=formats, lang=lang)
    started = time.perf_counter()
    with output_lock(out):
        kept: dict[str, dict[str, Any]] = {}
        if resume:
            for row in rows:
                status = _complete(out, row, row["fingerprint"], formats)
                if status is not None:
                    kept[row["key"]] = {**status, "attempts": 0, "resumed": True}
        todo = [r for r in rows if r["key"] not in kept]
        log.info("%d areas to compute, %d kept from an earlier batch.", len(todo), len(kept))
        computed: list[dict[str, Any]] = []
        if todo:
            with _dask_client(workers=workers, scheduler=scheduler, processes=processes) as client:
                computed = _submit_all(client, todo, retries=retries, job=job)
        seconds = time.perf_counter() - started
        by_key = {**kept, **{s["key"]: s for s in computed}}
        statuses = [by_key[r["key"]] for r in rows]
        reach = halo_reach_m(minutes=float(checked.minutes), speed_kmh=float(checked.speed_kmh or 0))
        facts = {"workers": None if scheduler else workers, "scheduler": scheduler, "retries": retries,
                 "halo_m": round(reach, 1), "formats": list(formats), "seconds": round(seconds, 3)}
        paths = _merge(out, areas, statuses, options=checked, lang=lang, facts=facts)
    return BatchResult(areas=statuses, paths=paths, seconds=seconds)


def _checked(options: RunOptions, *, lang: str, workers: int, retries: int) -> RunOptions:
    """The batch's options checked before any job (:class:`OptionError` naming the option)."""
    if lang not in BATCH_TEXT:
        raise OptionError(f"--lang must be one of {sorted(BATCH_TEXT)}; found {shorten(lang)}.")
    if not isinstance(workers, int) or workers < 1:
        raise OptionError(f"--workers must be a whole number >= 1; found {shorten(workers)}.")
    if not isinstance(retries, int) or retries < 0:
        raise OptionError(f"--retries must be a whole number >= 0; found {shorten(retries)}.")
    if options.place is not None or options.bbox is not None or options.osm is None:
        raise OptionError("lifecircle batch needs a local OSM file (--osm) that every worker can read; "
                          "found none (--place and --bbox download per run).")
    if options.boundary is not None:
        raise OptionError("lifecircle batch takes the areas from --units; leave out --boundary.")
    return validate_options(options)


# --------------------------------------------------------------------------- merging


def _merged_table(out: Path, statuses: Sequence[Mapping[str, Any]], name: str, lang: str) -> pd.DataFrame:
    """One area list for all areas, with the area's name and code first, re-ranked by people."""
    t = BATCH_TEXT[lang]
    frames = []
    for order, status in enumerate(statuses):
        if status["status"] != "done":
            continue
        path = area_folder(out, status["key"]) / name
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        if frame.shape[1] <= _PEOPLE_COLUMN[name]:
            continue
        people = pd.to_numeric(frame.iloc[:, _PEOPLE_COLUMN[name]], errors="coerce").fillna(0.0)
        frame.insert(1, t["area"], status["name"])
        frame.insert(2, t["area_code"], status["code"])
        frame["__people"], frame["__order"] = people.to_numpy(), order
        frames.append(frame)
    if not frames:
        return pd.DataFrame({t["area"]: [], t["area_code"]: []})
    merged = pd.concat(frames, ignore_index=True).fillna("")
    merged = merged.sort_values(["__people", "__order"], ascending=[False, True], kind="stable")
    merged.iloc[:, 0] = np.arange(1, len(merged) + 1).astype(str)
    return merged.drop(columns=["__people", "__order"]).reset_index(drop=True)


def _merge(out: Path, areas: gpd.GeoDataFrame, statuses: list[dict[str, Any]], *, options: RunOptions, lang: str,
           facts: dict[str, Any]) -> dict[str, Path]:
    """The merged lists, run.json and the index map, written as one set."""
    sheets = SHEET_NAMES[lang]
    tables = {name: _merged_table(out, statuses, name, lang) for name in _PEOPLE_COLUMN}
    categories = list(options.categories or ())
    index = areas[["key", "name", "code", "geometry"]].copy()
    by_key = {s["key"]: s for s in statuses}
    index["status"] = [by_key[k]["status"] for k in index["key"]]
    index["attempts"] = [by_key[k].get("attempts", 0) for k in index["key"]]
    index["error"] = [by_key[k].get("error", "") for k in index["key"]]
    for column in ("cells", "people", "underserved_cells", "population_kind"):
        index[column] = [by_key[k].get(column, np.nan) for k in index["key"]]
    for cat in categories:
        index[f"share_{cat}"] = [(by_key[k].get("shares") or {}).get(cat, np.nan) for k in index["key"]]
    links = []
    for key, status in zip(index["key"], index["status"]):
        exists = status == "done" and (area_folder(out, key) / "map.html").is_file()
        links.append(f"{AREAS_FOLDER}/area={key}/map.html" if exists else "")
    index["link"] = links
    html = build_index_map(index, categories=categories, minutes=float(options.minutes or 15),
                           labels=category_labels(options.catalogue), lang=lang)
    halos = halo_bounds_lonlat(areas.geometry, reach_m=facts["halo_m"],
                               crs=local_metric_crs(*shapely.get_coordinates(
                                   areas.geometry.representative_point().to_numpy()).T))
    for status, bounds in zip(statuses, halos):
        status["halo_bbox"] = list(bounds)
    record = {
        "batch": {"areas": len(statuses), "done": sum(s["status"] == "done" for s in statuses),
                  "failed": sum(s["status"] != "done" for s in statuses),
                  "resumed": sum(bool(s.get("resumed")) for s in statuses), **facts},
        "options": options.as_record(),
        "areas": statuses,
        "layers": {layer: f"{AREAS_FOLDER}/area=*/{parquet_name(layer)}" for layer in
                   ("cells", "communities", "facilities", "gap_areas")} if "parquet" in facts["formats"] else {},
        "command": sys.argv,
    }
    with atomic_staging(out, replaces=BATCH_FILES, manifest="run.json") as stage:
        write_csv(tables["gaps.csv"], writing(stage / "gaps.csv"))
        write_csv(tables["community_gaps.csv"], writing(stage / "community_gaps.csv"))
        write_csv(tables["gap_areas.csv"], writing(stage / "gap_areas.csv"))
        write_xlsx(writing(stage / "gaps.xlsx"),
                   {sheets["cells"]: tables["gaps.csv"], sheets["gap_areas"]: tables["gap_areas.csv"],
                    sheets["communities"]: tables["community_gaps.csv"]},
                   full_copies={sheets["cells"]: "gaps.csv", sheets["gap_areas"]: "gap_areas.csv",
                                sheets["communities"]: "community_gaps.csv"})
        save_index_map(html, writing(stage / "map.html"))
        record["outputs"] = sorted({p.name for p in stage.iterdir()} | {"run.json"})
        with open(writing(stage / "run.json"), "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, indent=2, default=str)
            fh.write("\n")
    return {name: out / name for name in BATCH_FILES if (out / name).exists()}


def read_layer(out_dir: str | Path, layer: str) -> gpd.GeoDataFrame:
    """One result layer of a batch for every completed area, with the area's key in an ``area``
    column (EPSG:4326).

    Parameters
    ----------
    out_dir : path
        The batch's output folder.
    layer : str
        ``cells``, ``communities``, ``facilities`` or ``gap_areas``.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    folders = sorted((Path(out_dir) / AREAS_FOLDER).glob("area=*"))
    paths = [f / parquet_name(layer) for f in folders if (f / parquet_name(layer)).is_file()]
    return read_geoparquet(paths, key="area", keys=[p.parent.name.removeprefix("area=") for p in paths])
