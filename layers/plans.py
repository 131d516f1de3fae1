"""Plan files (``--scenario``): what an urban-renewal plan changes, read and checked strictly.

A plan is a list of *features*, each with an ``action``:

==================  ==================  ===============================================================
action              geometry            fields
==================  ==================  ===============================================================
``add_facility``    Point or Polygon    ``category`` (required), ``name``, ``capacity`` (number >= 0)
``remove_facility`` Point or none       ``category`` (required), ``osm_id`` (the facility's) or a point
                                        (the category's facility nearest to it, within
                                        50 m: ``spatial.scenarios.REMOVE_MATCH_M``)
``add_link``        LineString          ``kind``: ``stairway``, ``lift``, ``footbridge``, ``passage`` or
                                        ``footway``; ``height_m`` (required for a lift, optional for a
                                        stairway); ``name``. Its two ends join the network within
                                        ``LINK_JOIN_M`` (see :mod:`lifecircle.spatial.scenarios`).
``close_way``       LineString or none  ``osm_id`` (an OSM way id) or a line along the ways to close
``close_gate``      Point or none       ``osm_id`` (an OSM node id) or a point at the gate
``add_people``      Polygon             ``population`` (> 0, required); ``people_60plus``,
                                        ``people_0_14`` (of them, optional)
==================  ==================  ===============================================================

Files:

* **GeoJSON** (``.geojson``/``.json``): one FeatureCollection, an ``action`` property per
  feature, coordinates in WGS84 (RFC 7946) unless the file names another CRS.
* **GeoPackage** (``.gpkg``): a layer named ``plan`` with an ``action`` column, and/or layers
  named after an action (``add_facility``, ``add_link``, ...; no ``action`` column needed). The
  layers must carry a CRS.
* **YAML** (``.yaml``/``.yml``): ``features:`` a list of mappings with ``action`` and the
  fields above; geometry as ``point: [lon, lat]``, ``line: [[lon, lat], ...]`` or
  ``polygon: [[lon, lat], ...]`` in WGS84 (or the top-level ``crs:``).

Every problem is reported with the file, the feature (1-based, in file order; GeoPackage:
layer and row), what was expected and what was found; text from the file is shortened
before it reaches a message. Nothing here touches the network: the checks are of the file
alone (:mod:`lifecircle.spatial.scenarios` checks where the features land).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle._errors import InputNotFoundError, PlanFileError, shorten
from lifecircle.layers._yaml import read_yaml

__all__ = [
    "ACTIONS",
    "LINK_KINDS",
    "PLAN_FIELDS",
    "Plan",
    "read_plan",
    "plan_record",
    "write_plan",
]

#: The actions a plan feature may take.
ACTIONS: tuple[str, ...] = ("add_facility", "remove_facility", "add_link", "close_way", "close_gate", "add_people")
#: The kinds of new link.
LINK_KINDS: tuple[str, ...] = ("stairway", "lift", "footbridge", "passage", "footway")
#: Every field a plan feature may carry (besides its geometry); ``fid``/``id``/``note`` are ignored.
PLAN_FIELDS: tuple[str, ...] = ("action", "category", "name", "capacity", "kind", "height_m", "osm_id",
                                "population", "people_60plus", "people_0_14")
_IGNORED = ("fid", "id", "note", "notes", "comment")
#: A plan file larger than this is not a plan (bytes).
MAX_PLAN_BYTES: int = 50_000_000
_NUMERIC = ("capacity", "height_m", "population", "people_60plus", "people_0_14")
_GEOMETRY = {
    "add_facility": ("required", ("Point", "Polygon", "MultiPolygon")),
    "remove_facility": ("optional", ("Point",)),
    "add_link": ("required", ("LineString",)),
    "close_way": ("optional", ("LineString", "MultiLineString")),
    "close_gate": ("optional", ("Point",)),
    "add_people": ("required", ("Polygon", "MultiPolygon")),
}
_YAML_GEOMETRY = {"point": "Point", "line": "LineString", "polygon": "Polygon"}


@dataclass(frozen=True)
class Plan:
    """A checked plan.

    Attributes
    ----------
    features : geopandas.GeoDataFrame
        One row per feature in file order, EPSG:4326: ``feature`` (1-based number in the
        file), ``layer`` (GeoPackage layer, else ``""``), the fields of :data:`PLAN_FIELDS`
        (``osm_id`` as ``Int64``, numbers as floats, NaN/None when not given), geometry
        (None where an action needs none).
    path : pathlib.Path
    sha256 : str
        Hash of the file's bytes.
    """

    features: gpd.GeoDataFrame
    path: Path
    sha256: str

    @property
    def label(self) -> str:
        """How messages name the file."""
        return f"--scenario file {str(self.path)!r}"

    def of(self, action: str) -> gpd.GeoDataFrame:
        """The features of one action (file order)."""
        return self.features[self.features["action"] == action]

    @property
    def counts(self) -> dict[str, int]:
        """Features per action."""
        return {a: int((self.features["action"] == a).sum()) for a in ACTIONS}

    def where(self, row: Mapping[str, Any]) -> str:
        """``feature N`` (and layer) of a row, for messages."""
        layer = row.get("layer") or ""
        return f"feature {int(row['feature'])}" + (f" of layer {layer!r}" if layer else "")


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_vector(path: Path, label: str) -> gpd.GeoDataFrame:
    import pyogrio  # noqa: PLC0415 - GDAL only for vector plans

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise PlanFileError(f"{label} cannot be read as a vector file ({shorten(str(exc), 160)}).") from None
    is_gpkg = path.suffix.lower() == ".gpkg"
    if is_gpkg:
        unknown = [n for n in layers if n not in ("plan", *ACTIONS)]
        if unknown:
            raise PlanFileError(f"{label}: layer {shorten(unknown[0])} is not a plan layer; expected a layer named "
                                f"'plan' (with an action column) or one named after an action: {', '.join(ACTIONS)}.")
    frames = []
    for name in layers:
        try:
            frame = gpd.read_file(path, layer=name, engine="pyogrio")
        except Exception as exc:
            raise PlanFileError(f"{label}: layer {shorten(name)} cannot be read ({shorten(str(exc), 160)}).") from None
        if frame.crs is None:
            if is_gpkg:
                raise PlanFileError(f"{label}: layer {shorten(name)} has no CRS; expected one recorded in the file "
                                    "(e.g. EPSG:4326).")
            frame = frame.set_crs(4326)  # GeoJSON without a crs member is WGS84 (RFC 7946)
        frame = frame.to_crs(4326)
        frame.columns = [str(c) for c in frame.columns]
        frame["layer"] = name if is_gpkg else ""
        if is_gpkg and name != "plan":
            if "action" in frame and not frame["action"].isna().all() and (frame["action"].astype(str) != name).any():
                raise PlanFileError(f"{label}: layer {name!r} holds actions other than {name!r}; expected its "
                                    "name's action only (or leave the action column out).")
            frame["action"] = name
        frame["feature"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
    if not frames:
        raise PlanFileError(f"{label} holds no layer; expected plan features.")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


def _yaml_geometry(item: Mapping[str, Any], label: str, n: int) -> shapely.Geometry | None:
    keys = [k for k in _YAML_GEOMETRY if k in item]
    if len(keys) > 1:
        raise PlanFileError(f"{label}: feature {n} gives {' and '.join(keys)}; expected one geometry.")
    if not keys:
        return None
    key = keys[0]
    value = item[key]
    try:
        coords = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise PlanFileError(f"{label}: feature {n} {key}: expected numbers; found {shorten(value)}.") from None
    expected = "[lon, lat]" if key == "point" else "[[lon, lat], ...]"
    if (key == "point" and coords.shape != (2,)) or (key != "point" and (coords.ndim != 2 or coords.shape[1] != 2)):
        raise PlanFileError(f"{label}: feature {n} {key}: expected {expected}; found {shorten(value)}.")
    if not np.isfinite(coords).all():
        raise PlanFileError(f"{label}: feature {n} {key}: expected finite numbers; found {shorten(value)}.")
    if key == "point":
        return shapely.Point(coords)
    if key == "line":
        if len(coords) < 2:
            raise PlanFileError(f"{label}: feature {n} line: expected at least 2 points; found {len(coords)}.")
        return shapely.LineString(coords)
    if len(coords) < 3:
        raise PlanFileError(f"{label}: feature {n} polygon: expected at least 3 points; found {len(coords)}.")
    return shapely.Polygon(coords)


def _read_yaml_plan(path: Path, label: str) -> gpd.GeoDataFrame:
    doc = read_yaml(path, error=PlanFileError, what="--scenario file")
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise PlanFileError(f"{label}: expected a mapping with a 'features:' list; found {shorten(doc)}.")
    unknown = [k for k in doc if k not in ("features", "crs", "name", "description")]
    if unknown:
        raise PlanFileError(f"{label}: unknown top-level key {shorten(str(unknown[0]))}; expected features, crs, "
                            "name, description.")
    crs_text = doc.get("crs", "EPSG:4326")
    try:
        crs = pyproj.CRS.from_user_input(str(crs_text))
    except pyproj.exceptions.CRSError:
        raise PlanFileError(f"{label}: crs {shorten(crs_text)} is not a CRS; expected e.g. EPSG:4326.") from None
    rows, geoms = [], []
    for n, item in enumerate(doc["features"], start=1):
        if not isinstance(item, dict):
            raise PlanFileError(f"{label}: feature {n}: expected a mapping of fields; found {shorten(item)}.")
        rows.append({str(k): v for k, v in item.items() if k not in _YAML_GEOMETRY})
        geoms.append(_yaml_geometry(item, label, n))
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, index=range(len(rows))), geometry=geoms, crs=crs).to_crs(4326)
    frame["layer"] = ""
    frame["feature"] = np.arange(1, len(frame) + 1)
    return frame


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value).strip() or None


def _number(value: Any) -> float:
    if value is None or value is pd.NA or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise ValueError("a yes/no value is not a number")
    x = float(value)
    if math.isinf(x):
        raise ValueError("infinite")
    return x


def _check_row(row: Mapping[str, Any], geom: Any, label: str, where: str) -> dict[str, Any]:  # noqa: C901 - one check per field and action, each with its own message
    action = _text(row.get("action"))
    if action not in ACTIONS:
        raise PlanFileError(f"{label}: {where}: action must be one of {', '.join(ACTIONS)}; "
                            f"found {shorten(row.get('action'))}.")
    out: dict[str, Any] = {"action": action}
    for key in ("category", "name", "kind"):
        out[key] = _text(row.get(key))
    for key in _NUMERIC:
        try:
            out[key] = _number(row.get(key))
        except (TypeError, ValueError):
            raise PlanFileError(f"{label}: {where} ({action}): {key} must be a number; "
                                f"found {shorten(row.get(key))}.") from None
        if out[key] < 0:
            raise PlanFileError(f"{label}: {where} ({action}): {key} must be >= 0; found {shorten(row.get(key))}.")
    raw_id: Any = row.get("osm_id")
    out["osm_id"] = None
    if _text(raw_id) is not None:
        try:
            out["osm_id"] = int(float(raw_id))  # GeoPackage integers may come back as floats
        except (TypeError, ValueError, OverflowError):
            raise PlanFileError(f"{label}: {where} ({action}): osm_id must be a whole number; "
                                f"found {shorten(raw_id)}.") from None
        if out["osm_id"] != float(raw_id):
            raise PlanFileError(f"{label}: {where} ({action}): osm_id must be a whole number; found {shorten(raw_id)}.")
    need, types = _GEOMETRY[action]
    has_geom = geom is not None and not shapely.is_empty(geom)
    if has_geom and geom.geom_type not in types:
        raise PlanFileError(f"{label}: {where} ({action}): expected a {' or '.join(types)} geometry; "
                            f"found a {geom.geom_type}.")
    if has_geom and not shapely.is_valid(geom):
        raise PlanFileError(f"{label}: {where} ({action}): the {geom.geom_type} is not valid "
                            f"({shorten(shapely.is_valid_reason(geom))}).")
    if need == "required" and not has_geom:
        raise PlanFileError(f"{label}: {where} ({action}): expected a {' or '.join(types)} geometry; found none.")
    if action in ("add_facility", "remove_facility") and out["category"] is None:
        raise PlanFileError(f"{label}: {where} ({action}): expected a category (e.g. clinic); found none.")
    if action in ("remove_facility", "close_way", "close_gate") and not has_geom and out["osm_id"] is None:
        what = {"remove_facility": "the facility's osm_id or a point at it", "close_way": "an OSM way id "
                "(osm_id) or a line along the ways", "close_gate": "an OSM node id (osm_id) or a point at the gate"}
        raise PlanFileError(f"{label}: {where} ({action}): expected {what[action]}; found neither.")
    if action == "add_link":
        if out["kind"] not in LINK_KINDS:
            raise PlanFileError(f"{label}: {where} (add_link): kind must be one of {', '.join(LINK_KINDS)}; "
                                f"found {shorten(row.get('kind'))}.")
        if out["kind"] == "lift" and not out["height_m"] > 0:
            raise PlanFileError(f"{label}: {where} (add_link, lift): height_m must be the lift's rise in metres "
                                f"(> 0); found {shorten(row.get('height_m'))}.")
    if action == "add_people":
        if not out["population"] > 0:
            raise PlanFileError(f"{label}: {where} (add_people): population must be a number of people > 0; "
                                f"found {shorten(row.get('population'))}.")
        for group in ("people_60plus", "people_0_14"):
            if out[group] > out["population"]:
                raise PlanFileError(f"{label}: {where} (add_people): {group} ({out[group]:g}) exceeds the "
                                    f"population ({out['population']:g}).")
    return out


def read_plan(path: str | Path) -> Plan:
    """Read and check a plan file (GeoJSON, GeoPackage or YAML; see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    Plan

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    PlanFileError
        The file cannot be read, or a feature breaks a rule (the message names the file, the
        feature, what was expected and what was found).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plan.yaml"
    >>> _ = p.write_text("features:\\n  - {action: add_facility, category: clinic, point: [106.57, 29.56]}\\n")
    >>> read_plan(p).counts["add_facility"]
    1
    """
    p = Path(path)
    label = f"--scenario file {str(p)!r}"
    if not p.exists():
        raise InputNotFoundError(f"{label} does not exist.")
    if not p.is_file():
        raise PlanFileError(f"{label} is not a file; expected a GeoJSON, GeoPackage or YAML plan.")
    size = p.stat().st_size
    if size == 0:
        raise PlanFileError(f"{label} is empty (0 bytes).")
    if size > MAX_PLAN_BYTES:
        raise PlanFileError(f"{label} is {size:,} bytes; a plan is expected to be at most {MAX_PLAN_BYTES:,} bytes.")
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        raw = _read_yaml_plan(p, label)
    elif suffix in (".geojson", ".json", ".gpkg"):
        raw = _read_vector(p, label)
    else:
        raise PlanFileError(f"{label}: expected a .geojson, .gpkg, .yaml or .yml file; found {shorten(p.suffix or p.name)}.")
    if len(raw) == 0:
        raise PlanFileError(f"{label} holds no feature; expected at least one plan feature.")
    known = {*PLAN_FIELDS, *_IGNORED, "layer", "feature", "geometry"}
    unknown = [c for c in raw.columns if c not in known]
    if unknown:
        raise PlanFileError(f"{label}: unknown field {shorten(unknown[0])}; expected fields "
                            f"{', '.join(PLAN_FIELDS)}.")
    if "action" not in raw:
        raise PlanFileError(f"{label}: no 'action' field; expected one per feature ({', '.join(ACTIONS)}).")
    geoms = raw.geometry.to_numpy()
    rows = []
    for i, rec in enumerate(raw.drop(columns="geometry").to_dict("records")):
        where = f"feature {int(rec['feature'])}" + (f" of layer {rec['layer']!r}" if rec["layer"] else "")
        rows.append(_check_row(rec, geoms[i], label, where))
    table = pd.DataFrame(rows, columns=list(PLAN_FIELDS))
    table["osm_id"] = pd.array(table["osm_id"].tolist(), dtype="Int64")
    table.insert(0, "layer", raw["layer"].to_numpy())
    table.insert(0, "feature", raw["feature"].to_numpy(dtype=np.int64))
    geometry = [g if g is not None and not shapely.is_empty(g) else None for g in geoms]
    return Plan(features=gpd.GeoDataFrame(table, geometry=geometry, crs=4326), path=p, sha256=_hash(p))


def plan_record(plan: Plan) -> dict[str, Any]:
    """What ``run.json`` says about a plan: the file, its hash, counts and its features.

    Parameters
    ----------
    plan : Plan
        A plan read by :func:`read_plan`.

    Returns
    -------
    dict[str, Any]
        JSON-ready: ``file`` (its name, no folder), ``sha256`` (of the file's bytes),
        ``counts`` (features per action) and ``features`` (their fields, empty ones left
        out, and GeoJSON geometry in WGS84 rounded to 1e-7 degrees).
    """
    feats = []
    for rec in plan.features.to_dict("records"):
        geom = rec.pop("geometry")
        item = {k: (None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else
                    int(v) if k in ("feature", "osm_id") else v)
                for k, v in rec.items() if k != "layer" or v}
        item = {k: v for k, v in item.items() if v is not None}
        if geom is not None:
            item["geometry"] = json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-7, mode="pointwise")))
        feats.append(item)
    return {"file": plan.path.name, "sha256": plan.sha256, "counts": plan.counts, "features": feats}


def write_plan(features: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write plan features as a GeoJSON plan file (WGS84) that :func:`read_plan` reads back.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        An ``action`` column, any of :data:`PLAN_FIELDS`, geometry with a CRS.
    path : str or pathlib.Path
        A ``.geojson`` file.

    Returns
    -------
    pathlib.Path
        ``path``, written in UTF-8 (coordinates rounded to 1e-7 degrees).

    Raises
    ------
    PlanFileError
        ``features`` have no CRS.
    """
    p = Path(path)
    if features.crs is None:
        raise PlanFileError(f"plan features for {str(p)!r} have no CRS.")
    out = features[[c for c in PLAN_FIELDS if c in features.columns] + [features.geometry.name]].to_crs(4326)
    records = []
    for rec, geom in zip(out.drop(columns=out.geometry.name).to_dict("records"), out.geometry.to_numpy()):
        props = {k: (int(v) if k == "osm_id" else float(v) if k in _NUMERIC else str(v))
                 for k, v in rec.items() if v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v))}
        shape = None if geom is None else json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-7, mode="pointwise")))
        records.append({"type": "Feature", "properties": props, "geometry": shape})
    p.write_text(json.dumps({"type": "FeatureCollection", "features": records}, ensure_ascii=False, indent=1) + "\n",
                 encoding="utf-8")
    return p
