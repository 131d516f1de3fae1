"""Read OpenStreetMap files: the walkable ways and the tagged features lifecircle uses.

One reader, pyosmium (libosmium), handles every local format: ``.osm.pbf``, ``.osm``,
``.osm.bz2`` and ``.osm.gz``, and assembles multipolygon areas (parks, hospital grounds) in
the same pass. ``benchmarks/bench_readers.py`` measures it against pyrosm and osmnx:
osmnx's ``graph_from_xml`` is about 10x slower on Yuzhong; pyrosm reads a walking network
from ``.pbf`` faster (it reads nothing but ``.pbf``, and buildings and POIs are further
passes), see the benchmark README for the figures. The result is an :class:`OsmExtract`: walkable ways as
flat node arrays (for :func:`lifecircle.spatial.network.build_walk_network`) and a
GeoDataFrame of tagged features (facilities, buildings, major roads, water, places).

Online areas (``--place`` / ``--bbox``) come through osmnx: see
:func:`lifecircle.layers.download.download_extract`.
"""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from lifecircle._errors import InputNotFoundError, NoWalkableWaysError, OptionError, OsmFileError, shorten
from lifecircle._progress import progress_bar

__all__ = [
    "OsmExtract",
    "WALKABLE_HIGHWAYS",
    "FEATURE_KEYS",
    "WAY_TAG_COLUMNS",
    "is_walkable",
    "walkable_mask",
    "read_osm",
    "LIFT_HIGHWAYS",
    "GATE_BARRIERS",
    "lift_nodes",
    "gate_nodes",
    "entrance_nodes",
    "WayArrays",
    "refusal_reason",
    "ROAD_TUNNEL_CHOICES",
    "FOOT_NO_CHOICES",
    "road_tunnel_mask",
    "choose_ways",
]

log = logging.getLogger(__name__)

#: ``highway=*`` values a pedestrian may use without further tags. ``trunk`` and
#: ``motorway`` (and their links) are walkable only with an explicit ``foot=yes``-like tag.
WALKABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "footway", "path", "steps", "pedestrian", "living_street", "residential",
        "service", "unclassified", "tertiary", "tertiary_link", "secondary",
        "secondary_link", "primary", "primary_link", "track", "road", "cycleway",
        "bridleway", "corridor", "elevator", "crossing", "platform",
    }
)
_NEEDS_FOOT_TAG = frozenset({"trunk", "trunk_link", "motorway", "motorway_link"})
_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official", "destination"})
_ACCESS_DENIED = frozenset({"no", "private"})

#: Keys whose presence makes a node, way or area a "feature" worth keeping: facilities
#: (amenity, healthcare, leisure, shop, social_facility), buildings (population fallback),
#: barriers and names for neighbourhood units (waterway, natural, place, landuse, railway).
FEATURE_KEYS: tuple[str, ...] = (
    "amenity", "healthcare", "leisure", "shop", "social_facility", "building",
    "waterway", "natural", "place", "landuse", "railway", "entrance",
)

#: Way tags kept as columns of the walkable-way table (network costs and reporting use them).
WAY_TAG_COLUMNS: tuple[str, ...] = (
    "highway", "name", "name:en", "foot", "access", "sidewalk", "incline", "step_count",
    "bridge", "tunnel", "layer", "conveying", "ramp", "ramp:wheelchair", "handrail",
    "wheelchair", "surface", "area", "oneway", "covered", "location", "indoor", "level",
)

#: Node tags kept as point features besides :data:`FEATURE_KEYS`: public lifts mapped as a
#: node (``highway=elevator``, joined to the ways by
#: :func:`lifecircle.spatial.network.add_lift_links`) and gates (``barrier=gate|lift_gate``).
LIFT_HIGHWAYS: frozenset[str] = frozenset({"elevator"})
GATE_BARRIERS: frozenset[str] = frozenset({"gate", "lift_gate"})

#: Highway values that bound neighbourhood units (used by communities derivation), kept
#: even when not walkable (a motorway is a barrier).
MAJOR_ROAD_HIGHWAYS: frozenset[str] = frozenset(
    {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
     "secondary", "secondary_link"}
)


def is_walkable(tags: dict[str, str]) -> bool:
    """Return whether a way with these tags may be walked (in both directions).

    Parameters
    ----------
    tags : dict of str to str
        The way's OSM tags.

    Returns
    -------
    bool
        ``True`` for the highway values in :data:`WALKABLE_HIGHWAYS` unless ``foot=no``
        or ``access=no|private`` without a foot permission; trunk and motorway ways only
        with an explicit ``foot=yes|designated|permissive``.
    """
    highway = tags.get("highway")
    if highway is None:
        return False
    foot = tags.get("foot")
    if foot == "no" or foot == "private":
        return False
    if highway in _NEEDS_FOOT_TAG:
        return foot in _FOOT_ALLOWED
    if highway not in WALKABLE_HIGHWAYS:
        return False
    if tags.get("access") in _ACCESS_DENIED and foot not in _FOOT_ALLOWED:
        return False
    if highway == "service" and tags.get("service") == "private":
        return False
    return True


def walkable_mask(tags: pd.DataFrame) -> np.ndarray:
    """Vectorised :func:`is_walkable` over a table of way tags.

    Parameters
    ----------
    tags : pandas.DataFrame
        One row per way, columns ``highway``, ``foot``, ``access`` and optionally
        ``service`` (missing columns and None count as absent tags).

    Returns
    -------
    numpy.ndarray
        bool per row: a pedestrian may use the way.

    Examples
    --------
    >>> tags = pd.DataFrame({"highway": ["footway", "primary", "trunk", "trunk", "service"],
    ...                      "foot": [None, "no", None, "yes", None], "access": [None, None, None, None, "private"]})
    >>> walkable_mask(tags).tolist()  # a trunk road only with a foot permission
    [True, False, False, True, False]
    """

    def col(name: str) -> pd.Series:
        return tags[name] if name in tags else pd.Series([None] * len(tags), index=tags.index)

    highway, foot, access, service = col("highway"), col("foot"), col("access"), col("service")
    foot_ok = foot.isin(list(_FOOT_ALLOWED))
    refused = foot.isin(["no", "private"])
    needs_foot = highway.isin(list(_NEEDS_FOOT_TAG))
    ordinary = highway.isin(list(WALKABLE_HIGHWAYS))
    denied = access.isin(list(_ACCESS_DENIED)) & ~foot_ok
    private_service = (highway == "service") & (service == "private")
    mask = ~refused & ((needs_foot & foot_ok) | (ordinary & ~denied & ~private_service))
    return mask.to_numpy(dtype=bool)


@dataclass(frozen=True)
class WayArrays:
    """Ways as flat node arrays (the layout of :class:`OsmExtract`), with a tag table."""

    way_ids: np.ndarray
    way_offsets: np.ndarray
    node_ids: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    way_tags: pd.DataFrame


@dataclass(frozen=True)
class OsmExtract:
    """What lifecircle reads from one OpenStreetMap file.

    Attributes
    ----------
    source : str
        The file path (or download description) the data came from.
    way_ids : numpy.ndarray
        OSM ids of the walkable ways, shape ``(W,)``.
    way_offsets : numpy.ndarray
        ``node_ids[way_offsets[i]:way_offsets[i+1]]`` are way ``i``'s nodes, shape ``(W+1,)``.
    node_ids, node_lon, node_lat : numpy.ndarray
        Node ids and WGS84 coordinates of every way vertex, in way order.
    way_tags : pandas.DataFrame
        One row per walkable way, columns :data:`WAY_TAG_COLUMNS` (missing tags are ``None``).
    features : geopandas.GeoDataFrame
        Tagged nodes, ways and areas (EPSG:4326) with columns ``osm_type``, ``osm_id``,
        ``name``, ``tags`` (dict) and ``geometry``.
    major_roads : geopandas.GeoDataFrame
        Lines of major roads (walkable or not), EPSG:4326, columns ``osm_id``,
        ``highway``, ``name``, ``bridge``, ``tunnel``, ``layer``.
    bbox : tuple of float or None
        The file header's bounding box (W, S, E, N), when it has one.
    counts : dict
        What was read and dropped, for the run record.
    date : str or None
        The data's timestamp from the file header, when it has one.
    refused : WayArrays or None
        Footway-class ways the tags refuse to pedestrians (``foot=no``, ``access=no``...),
        with a ``reason`` column: listed in the run record, and walked with
        ``choose_ways(foot_no="ignore")``.
    node_ele : pandas.Series or None
        Raw ``ele`` values of nodes (way vertices, lifts) indexed by OSM node id: mapped
        heights (:func:`lifecircle.spatial.terrain.mapped_node_heights`).
    """

    source: str
    way_ids: np.ndarray
    way_offsets: np.ndarray
    node_ids: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    way_tags: pd.DataFrame
    features: gpd.GeoDataFrame
    major_roads: gpd.GeoDataFrame
    bbox: tuple[float, float, float, float] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    date: str | None = None
    refused: WayArrays | None = None
    node_ele: pd.Series | None = None


_SUPPORTED_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2", ".xml.gz")


def _check_osm_path(path: Path) -> None:
    if not path.exists():
        raise InputNotFoundError(f"OSM file {str(path)!r} does not exist.")
    if not path.is_file():
        raise OsmFileError(f"OSM file {str(path)!r} is not a regular file.")
    name = path.name.lower()
    if not name.endswith(_SUPPORTED_SUFFIXES):
        raise OsmFileError(
            f"OSM file {str(path)!r} has an unknown extension: expected one of "
            f"{', '.join(_SUPPORTED_SUFFIXES)}."
        )
    if path.stat().st_size == 0:
        raise OsmFileError(f"OSM file {str(path)!r} is empty (0 bytes): expected OpenStreetMap data.")


def _header_facts(path: Path) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """The header's bounding box and data timestamp, where the file records them."""
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            header = reader.header()
            box = header.box()
            stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp") or None
        finally:
            reader.close()
    except Exception:
        return None, None
    bbox = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat) if box.valid() else None
    return bbox, stamp


def _read_failure(path: Path, exc: BaseException) -> str:
    """The message for a file libosmium refuses, naming the likely cause."""
    said = shorten(str(exc), limit=160)
    if isinstance(exc, osmium.InvalidLocationError) or "coordinate" in str(exc):
        return (f"OSM file {str(path)!r} has a node whose coordinates are not usable ({said}): expected "
                "numbers, longitude -180..180 and latitude -90..90.")
    if "too long" in str(exc):
        return (f"OSM file {str(path)!r} has a tag key or value longer than OpenStreetMap allows "
                f"(255 characters; {said}).")
    return (f"OSM file {str(path)!r} could not be read: {said}. Expected a complete "
            "OpenStreetMap .osm.pbf/.osm/.osm.bz2/.osm.gz file; it may be truncated or corrupt.")


def read_osm(path: str | Path, *, progress: bool = True) -> OsmExtract:
    """Read the walkable ways and the tagged features of a local OSM file.

    Parameters
    ----------
    path : str or pathlib.Path
        An ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz`` file.
    progress : bool, default True
        Show a progress bar (silent when stderr is not a terminal).

    Returns
    -------
    OsmExtract
        The walkable ways as arrays, the tagged features (EPSG:4326), the major roads, the file's bbox and date, and counts.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    OsmFileError
        The file is empty, truncated, corrupt or not OSM data.
    NoWalkableWaysError
        The file holds no walkable way.
    """
    path = Path(path)
    _check_osm_path(path)
    rows = _scan_osm(path, progress=progress)
    counts = rows.counts
    total = counts["nodes_read"] + counts["ways_read"] + counts["relations_read"]
    if total == 0:
        raise OsmFileError(
            f"OSM file {str(path)!r} holds no way and no tagged object lifecircle can use "
            "(expected highway=*, amenity=*, building=*, leisure=* ...)."
        )
    if not rows.ways:
        raise NoWalkableWaysError(
            f"OSM file {str(path)!r} holds {counts['ways_read']:,} ways but none a pedestrian "
            "may use (expected highway=footway/path/steps/residential/... without foot=no)."
        )
    bbox, date = _header_facts(path)
    ways = rows.ways.arrays(list(WAY_TAG_COLUMNS))
    counts["walkable_ways"] = len(np.unique(ways.way_ids))
    counts["walkable_way_pieces"] = len(ways.way_ids)
    counts["features"] = len(rows.features)
    features = _wkb_frame(rows.features, rows.feature_wkb, ["osm_type", "osm_id", "name", "tags"])
    major_roads = _wkb_frame(rows.roads, rows.road_wkb, ["osm_id", "highway", "name", "bridge", "tunnel", "layer"])
    log.info(
        "Read %s: %s nodes, %s ways (%s walkable, %s clipped by missing nodes), %s features",
        path.name, f"{counts['nodes_read']:,}", f"{counts['ways_read']:,}",
        f"{counts['walkable_ways']:,}", f"{counts['ways_missing_nodes']:,}", f"{counts['features']:,}",
    )
    return OsmExtract(
        refused=rows.refused.arrays([*WAY_TAG_COLUMNS, "reason"]) if rows.refused else None,
        node_ele=pd.Series(rows.ele, dtype=object) if rows.ele else None,
        source=str(path),
        way_ids=ways.way_ids,
        way_offsets=ways.way_offsets,
        node_ids=ways.node_ids,
        node_lon=ways.node_lon,
        node_lat=ways.node_lat,
        way_tags=ways.way_tags,
        features=features,
        major_roads=major_roads,
        bbox=bbox,
        counts=counts,
        date=date,
    )


@dataclass
class _WayPieces:
    """Ways (or pieces of ways) as they stream by, in compact columns.

    Ids, lengths and vertex node ids are int64 arrays (8 bytes a value rather than a Python
    int in a list). A way whose nodes are all located keeps its coordinates as libosmium's
    line WKB (a vertex per node: the same doubles pyosmium's ``Location.lon``/``lat`` give);
    pieces of clipped ways keep theirs node by node (``from_wkb`` 0).
    """

    ids: array[int] = field(default_factory=lambda: array("q"))
    lengths: array[int] = field(default_factory=lambda: array("q"))
    node_ids: array[int] = field(default_factory=lambda: array("q"))
    from_wkb: array[int] = field(default_factory=lambda: array("b"))
    wkb: list[bytes] = field(default_factory=list)
    lons: array[float] = field(default_factory=lambda: array("d"))
    lats: array[float] = field(default_factory=lambda: array("d"))
    tag_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def add_line(self, way_id: int, refs: list[int], line_wkb: bytes, tag_row: tuple[Any, ...]) -> None:
        """A whole way: its node ids and its line WKB (a vertex per node)."""
        self.ids.append(way_id)
        self.lengths.append(len(refs))
        self.node_ids.extend(refs)
        self.from_wkb.append(1)
        self.wkb.append(line_wkb)
        self.tag_rows.append(tag_row)

    def add_located(self, way_id: int, run: list[tuple[int, float, float]], tag_row: tuple[Any, ...]) -> None:
        """Located nodes ``(id, lon, lat)`` of a way as one piece (none kept below two)."""
        if len(run) < 2:
            return
        refs, run_lon, run_lat = zip(*run)
        self.ids.append(way_id)
        self.lengths.append(len(run))
        self.node_ids.extend(refs)
        self.from_wkb.append(0)
        self.lons.extend(run_lon)
        self.lats.extend(run_lat)
        self.tag_rows.append(tag_row)

    def arrays(self, columns: list[str]) -> WayArrays:
        """The pieces as :class:`WayArrays`, tag rows as a table of ``columns``."""
        lengths = np.frombuffer(self.lengths, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        from_wkb = np.repeat(np.frombuffer(self.from_wkb, dtype=np.int8).astype(bool), lengths)
        lon, lat = np.empty(len(from_wkb)), np.empty(len(from_wkb))
        if self.wkb:
            xy = shapely.get_coordinates(shapely.from_wkb(self.wkb))
            lon[from_wkb], lat[from_wkb] = xy[:, 0], xy[:, 1]
        lon[~from_wkb] = np.frombuffer(self.lons, dtype=np.float64)
        lat[~from_wkb] = np.frombuffer(self.lats, dtype=np.float64)
        return WayArrays(way_ids=np.array(self.ids, dtype=np.int64), way_offsets=offsets,
                         node_ids=np.array(self.node_ids, dtype=np.int64), node_lon=lon, node_lat=lat,
                         way_tags=pd.DataFrame(self.tag_rows, columns=columns))


@dataclass
class _OsmRows:
    """What one pass over an OSM file collects, appended to as the objects stream by."""

    ways: _WayPieces = field(default_factory=_WayPieces)  # walkable ways, :data:`WAY_TAG_COLUMNS`
    refused: _WayPieces = field(default_factory=_WayPieces)  # ... and a ``reason``
    features: list[tuple[str, int, str | None, dict[str, str]]] = field(default_factory=list)
    feature_wkb: list[bytes] = field(default_factory=list)  # one geometry per feature
    roads: list[tuple[Any, ...]] = field(default_factory=list)
    road_wkb: list[bytes] = field(default_factory=list)
    ele: dict[int, str] = field(default_factory=dict)  # raw ``ele`` of nodes, by OSM id
    strings: dict[str, str] = field(default_factory=dict)  # one object per distinct tag text of features
    # Counts are of the objects that pass the key filter (ways with highway=*, tagged features).
    counts: dict[str, int] = field(default_factory=lambda: {
        "nodes_read": 0, "ways_read": 0, "relations_read": 0,
        "walkable_ways": 0, "ways_missing_nodes": 0, "features": 0})

    def keep_feature(self, record: tuple[str, int, str | None, dict[str, str]], geom_wkb: str) -> None:
        """Keep a tagged feature and its geometry (WKB hex, kept as bytes: half the memory,
        and GEOS reads binary WKB several times faster than hex)."""
        self.features.append(record)
        self.feature_wkb.append(bytes.fromhex(geom_wkb))


def _tag_dict(tags: Any) -> dict[str, str]:
    """An object's tags as a dict, in their order.

    Reads exactly ``len(tags)`` tags: pyosmium ends a plain iteration with an exception raised
    through C++, which costs more than reading a way's few tags.
    """
    return dict(islice(iter(tags), len(tags)))


def _kept_tag_dict(tags: Any, strings: dict[str, str]) -> dict[str, str]:
    """:func:`_tag_dict` for a feature kept for the whole run: equal keys and values share one
    string object (``strings``, one per read), which halves the memory of the tags a city's
    buildings carry (``building=yes`` on every one)."""
    same = strings.setdefault
    return {same(k, k): same(v, v) for k, v in islice(iter(tags), len(tags))}


def _scan_osm(path: Path, *, progress: bool) -> _OsmRows:
    """One pass over the file: walkable ways, refused ways, major roads and tagged features."""
    wkb = osmium.geom.WKBFactory()
    rows = _OsmRows()
    # Only tagged objects with a key lifecircle uses reach Python (node locations are still
    # stored for the ways): about 6x fewer objects on Yuzhong.
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter(*FEATURE_KEYS))
        .with_filter(osmium.filter.KeyFilter("highway", "barrier", "ele", *FEATURE_KEYS))
    )
    bar = progress_bar(desc=f"reading {path.name}", unit=" objects", unit_scale=True, enabled=progress)
    # pyosmium's types do not narrow on is_node()/is_way()/...: the loop reads them as Any.
    obj: Any
    try:
        for obj in processor:
            bar.update()
            if obj.is_node():
                rows.counts["nodes_read"] += 1
                _read_node(obj, rows, wkb)
            elif obj.is_way():
                rows.counts["ways_read"] += 1
                _read_way(obj, rows, wkb)
            elif obj.is_relation():
                rows.counts["relations_read"] += 1
            elif obj.is_area():
                _read_area(obj, rows, wkb)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise OsmFileError(_read_failure(path, exc)) from exc
    finally:
        bar.close()
    return rows


def _read_node(obj: Any, rows: _OsmRows, wkb: Any) -> None:
    """A tagged node: a mapped height, a feature, a lift or a gate."""
    tags = obj.tags
    if "ele" in tags:  # a mapped height, preferred to the DEM
        rows.ele[obj.id] = tags["ele"]
    if len(tags) == 0 or not (any(k in tags for k in FEATURE_KEYS)
                              or tags.get("highway") in LIFT_HIGHWAYS
                              or tags.get("barrier") in GATE_BARRIERS):
        return
    if not obj.location.valid():
        return
    tag_dict = _kept_tag_dict(tags, rows.strings)
    rows.keep_feature(("node", obj.id, tag_dict.get("name"), tag_dict), wkb.create_point(obj))


def _read_way(obj: Any, rows: _OsmRows, wkb: Any) -> None:
    """A way: an open feature line (river), a major road, a refused or a walkable way."""
    tags = obj.tags
    if "highway" not in tags:
        # Closed feature ways become areas; open ones (rivers) are kept here.
        if not obj.is_closed() and any(k in tags for k in ("waterway", "railway", "natural")):
            tag_dict = _kept_tag_dict(tags, rows.strings)
            try:
                rows.keep_feature(("way", obj.id, tag_dict.get("name"), tag_dict), wkb.create_linestring(obj))
            except (osmium.InvalidLocationError, RuntimeError):
                rows.counts["ways_missing_nodes"] += 1
        return
    tag_dict = _tag_dict(tags)
    highway = tag_dict["highway"]
    if highway in MAJOR_ROAD_HIGHWAYS:
        try:
            road = bytes.fromhex(wkb.create_linestring(obj))
            rows.roads.append((obj.id, highway, tag_dict.get("name"), tag_dict.get("bridge"),
                               tag_dict.get("tunnel"), tag_dict.get("layer")))
            rows.road_wkb.append(road)
        except (osmium.InvalidLocationError, RuntimeError):
            pass
    if not is_walkable(tag_dict):
        _keep_refused(obj, tag_dict, rows, wkb)
        return
    tag_row = tuple(map(tag_dict.get, WAY_TAG_COLUMNS))
    # Every node located (the usual case): libosmium writes the coordinates, one vertex per
    # node (``ALL`` keeps repeated positions), and only the node ids pass through Python.
    line = _full_line(obj, wkb)
    if line is not None:
        rows.ways.add_line(obj.id, [n.ref for n in obj.nodes], line, tag_row)
        return
    # A way clipped by the extract's edge has nodes without locations: keep each
    # run of located nodes as its own piece rather than losing the whole street.
    run: list[tuple[int, float, float]] = []
    clipped = False
    for n in obj.nodes:
        loc = n.location
        if loc.valid():
            run.append((n.ref, loc.lon, loc.lat))
            continue
        clipped = True
        rows.ways.add_located(obj.id, run, tag_row)
        run = []
    rows.counts["ways_missing_nodes"] += clipped
    rows.ways.add_located(obj.id, run, tag_row)


def _full_line(obj: Any, wkb: Any) -> bytes | None:
    """The way as line WKB with a vertex per node; None when a node has no location (or the
    way fewer than two nodes)."""
    try:
        return bytes.fromhex(wkb.create_linestring(obj, use_nodes=osmium.geom.ALL))
    except (osmium.InvalidLocationError, RuntimeError):
        return None


def _keep_refused(obj: Any, tag_dict: dict[str, str], rows: _OsmRows, wkb: Any) -> None:
    """A way a pedestrian may not use, kept with its reason when it would otherwise be walkable."""
    reason = refusal_reason(tag_dict)
    if reason is None:
        return
    tag_row = (*(tag_dict.get(k) for k in WAY_TAG_COLUMNS), reason)
    line = _full_line(obj, wkb)
    if line is not None:
        rows.refused.add_line(obj.id, [n.ref for n in obj.nodes], line, tag_row)
    else:
        rows.refused.add_located(
            obj.id, [(n.ref, n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()], tag_row)


def _read_area(obj: Any, rows: _OsmRows, wkb: Any) -> None:
    """A closed way or multipolygon relation with a feature key: a feature polygon."""
    tags = obj.tags
    if "highway" in tags and not any(k in tags for k in FEATURE_KEYS if k != "building"):
        return
    tag_dict = _kept_tag_dict(tags, rows.strings)
    try:
        geom = wkb.create_multipolygon(obj)
    except (osmium.InvalidLocationError, RuntimeError):
        return
    osm_type = "way" if obj.from_way() else "relation"
    rows.keep_feature((osm_type, obj.orig_id(), tag_dict.get("name"), tag_dict), geom)


def _wkb_frame(records: list[tuple[Any, ...]], geom_wkb: list[bytes], columns: list[str]) -> gpd.GeoDataFrame:
    """Rows with their geometries as WKB, as a GeoDataFrame in EPSG:4326."""
    return gpd.GeoDataFrame(
        pd.DataFrame(records, columns=columns),
        geometry=shapely.from_wkb(geom_wkb) if records else [],
        crs="EPSG:4326",
    )


def _tagged_nodes(features: gpd.GeoDataFrame, key: str, values: frozenset[str]) -> gpd.GeoDataFrame:
    if len(features) == 0:
        return features.iloc[:0][["osm_id", "tags", "geometry"]]
    is_node = (features["osm_type"] == "node").to_numpy()
    hit = features["tags"].map(lambda t: t.get(key) in values).to_numpy(dtype=bool)
    out = features[is_node & hit][["osm_id", "tags", "geometry"]]
    return out.sort_values("osm_id").reset_index(drop=True)


def lift_nodes(extract: OsmExtract) -> gpd.GeoDataFrame:
    """The public lifts mapped as nodes (``highway=elevator``), EPSG:4326.

    Lifts tagged ``access=no|private`` (without a foot permission) are left out.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`read_osm`; its ``features`` hold the tagged nodes.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id``, ``tags`` (dict), ``geometry``; sorted by ``osm_id``.

    Examples
    --------
    >>> from lifecircle.testing import small_network_file
    >>> len(lift_nodes(read_osm(small_network_file(), progress=False)))  # the small network has no lift
    0
    """
    lifts = _tagged_nodes(extract.features, "highway", LIFT_HIGHWAYS)
    if len(lifts):
        private = lifts["tags"].map(lambda t: t.get("access") in _ACCESS_DENIED and t.get("foot") not in _FOOT_ALLOWED)
        lifts = lifts[~private.to_numpy(dtype=bool)].reset_index(drop=True)
    return lifts


def gate_nodes(extract: OsmExtract) -> gpd.GeoDataFrame:
    """Gates across ways (``barrier=gate|lift_gate``) mapped as nodes.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`read_osm`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id``, ``tags`` (dict), ``geometry`` (EPSG:4326); sorted by ``osm_id``.
    """
    return _tagged_nodes(extract.features, "barrier", GATE_BARRIERS)


def entrance_nodes(extract: OsmExtract) -> gpd.GeoDataFrame:
    """Mapped entrances (``entrance=*`` nodes).

    Parameters
    ----------
    extract : OsmExtract
        From :func:`read_osm`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id``, ``tags`` (dict), ``geometry`` (EPSG:4326); sorted by ``osm_id``.
    """
    feats = extract.features
    if len(feats) == 0:
        return feats.iloc[:0][["osm_id", "tags", "geometry"]]
    hit = feats["tags"].map(lambda t: "entrance" in t).to_numpy(dtype=bool) & (feats["osm_type"] == "node").to_numpy()
    return feats[hit][["osm_id", "tags", "geometry"]].sort_values("osm_id").reset_index(drop=True)


def refusal_reason(tags: dict[str, str]) -> str | None:
    """Why :func:`is_walkable` refuses a way a pedestrian could otherwise use.

    Parameters
    ----------
    tags : dict of str to str
        The way's OSM tags.

    Returns
    -------
    str or None
        ``"foot=no"``, ``"foot=private"``, ``"<highway> without foot permission"``,
        ``"access=<value>"`` or ``"service=private"``; ``None`` for walkable ways and for ways
        that are no pedestrian route anyway (``highway=construction``, ...).

    Examples
    --------
    >>> refusal_reason({"highway": "residential", "foot": "no"}), refusal_reason({"highway": "construction"})
    ('foot=no', None)
    """
    highway = tags.get("highway")
    if highway not in WALKABLE_HIGHWAYS and highway not in _NEEDS_FOOT_TAG:
        return None
    foot = tags.get("foot")
    if foot in ("no", "private"):
        return f"foot={foot}"
    if highway in _NEEDS_FOOT_TAG:
        return f"{highway} without foot permission"
    if tags.get("access") in _ACCESS_DENIED:
        return f"access={tags.get('access')}"
    if highway == "service" and tags.get("service") == "private":
        return "service=private"
    return None


#: ``road_tunnels`` choices of :func:`choose_ways`.
ROAD_TUNNEL_CHOICES: tuple[str, ...] = ("closed", "walk")
#: ``foot_no`` choices of :func:`choose_ways`.
FOOT_NO_CHOICES: tuple[str, ...] = ("honour", "ignore")

#: Road classes whose tunnels are road tunnels (a footway or path in a tunnel is an underpass).
_ROAD_HIGHWAYS = frozenset({
    "primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link",
    "unclassified", "residential", "road", "trunk", "trunk_link", "motorway", "motorway_link",
})
_SIDEWALK_PRESENT = frozenset({"both", "left", "right", "yes"})


def road_tunnel_mask(way_tags: pd.DataFrame) -> np.ndarray:
    """Road tunnels with nothing saying pedestrians may use them.

    ``tunnel=*`` (not ``no`` or ``building_passage``) on a road class, without
    ``foot=yes|designated|permissive|...`` and without a ``sidewalk`` (or
    ``sidewalk:left|right|both``) on the way.

    Parameters
    ----------
    way_tags : pandas.DataFrame
        One row per way with tag columns (``highway``, ``tunnel``, ``foot``, ``sidewalk``
        ...; missing columns count as absent tags).

    Returns
    -------
    numpy.ndarray
        bool per row.

    Examples
    --------
    >>> tags = pd.DataFrame({"highway": ["primary", "primary", "footway"], "tunnel": ["yes", "yes", "yes"],
    ...                      "sidewalk": [None, "both", None]})
    >>> road_tunnel_mask(tags).tolist()  # an underpass footway is no road tunnel
    [True, False, False]
    """

    def col(name: str) -> pd.Series:
        if name in way_tags:
            return way_tags[name].astype("string").fillna("").str.lower()
        return pd.Series([""] * len(way_tags), index=way_tags.index, dtype="string")

    tunnel = col("tunnel")
    in_tunnel = (tunnel != "") & ~tunnel.isin(["no", "building_passage"])
    road = col("highway").isin(list(_ROAD_HIGHWAYS))
    foot_ok = col("foot").isin(list(_FOOT_ALLOWED))
    sidewalk = col("sidewalk").isin(list(_SIDEWALK_PRESENT))
    for side in ("sidewalk:left", "sidewalk:right", "sidewalk:both"):
        sidewalk |= col(side).isin(["yes", "separate"]) if side in way_tags else False
    return (in_tunnel & road & ~foot_ok & ~sidewalk).to_numpy(dtype=bool)


def _way_lengths_m(ways: WayArrays) -> np.ndarray:
    """Length of each way in metres (haversine between consecutive vertices)."""
    n = len(ways.way_offsets) - 1
    lengths = np.diff(ways.way_offsets)
    which = np.repeat(np.arange(n), lengths)
    lon, lat = np.radians(ways.node_lon), np.radians(ways.node_lat)
    same = which[1:] == which[:-1]
    dlat, dlon = lat[1:] - lat[:-1], lon[1:] - lon[:-1]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[1:]) * np.cos(lat[:-1]) * np.sin(dlon / 2) ** 2
    seg = 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return np.bincount(which[:-1][same], weights=seg[same], minlength=n)


def _subset(ways: WayArrays, keep: np.ndarray) -> WayArrays:
    lengths = np.diff(ways.way_offsets)
    vertex_keep = np.repeat(keep, lengths)
    offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[keep], out=offsets[1:])
    return WayArrays(ways.way_ids[keep], offsets, ways.node_ids[vertex_keep], ways.node_lon[vertex_keep],
                     ways.node_lat[vertex_keep], ways.way_tags[keep].reset_index(drop=True))


def _way_list(ways: WayArrays, mask: np.ndarray, length_m: np.ndarray) -> list[dict[str, Any]]:
    tags = ways.way_tags[mask]
    km = np.bincount(np.searchsorted(np.unique(ways.way_ids[mask]), ways.way_ids[mask]), weights=length_m[mask]) / 1000
    ids, first = np.unique(ways.way_ids[mask], return_index=True)
    return [{"osm_id": int(i), "highway": tags["highway"].iloc[f], "name": tags["name"].iloc[f],
             "km": round(float(k), 3)} for i, f, k in zip(ids, first, km)]


def _surface_foot_no(refused: WayArrays) -> np.ndarray:
    """Refused ways that are ordinary surface streets tagged ``foot=no`` (no tunnel of any kind)."""
    reason = refused.way_tags["reason"].to_numpy()
    return (reason == "foot=no") & ~road_tunnel_mask(refused.way_tags) & ~refused.way_tags[
        "tunnel"].astype("string").fillna("").isin(["yes"]).to_numpy(dtype=bool)


def _refused_by_reason(refused: WayArrays, surface_foot_no: np.ndarray, *,
                       walk_foot_no: bool) -> dict[str, dict[str, float]]:
    """Ways and km kept out per refusal reason (the walked ``foot=no`` streets not counted)."""
    r_len = _way_lengths_m(refused)
    reason = refused.way_tags["reason"].to_numpy()
    out: dict[str, dict[str, float]] = {}
    for r in np.unique(reason):
        hit = reason == r
        if walk_foot_no:
            hit = hit & ~surface_foot_no
        if hit.any():
            out[str(r)] = {"ways": int(len(np.unique(refused.way_ids[hit]))),
                           "km": round(float(r_len[hit].sum()) / 1000, 3)}
    return out


def _concat_ways(ways: WayArrays, add: WayArrays) -> WayArrays:
    """``add`` appended after ``ways`` (tag columns of ``ways``)."""
    return WayArrays(
        np.concatenate([ways.way_ids, add.way_ids]),
        np.concatenate([ways.way_offsets, ways.way_offsets[-1] + add.way_offsets[1:]]),
        np.concatenate([ways.node_ids, add.node_ids]),
        np.concatenate([ways.node_lon, add.node_lon]),
        np.concatenate([ways.node_lat, add.node_lat]),
        pd.concat([ways.way_tags, add.way_tags[list(ways.way_tags.columns)]], ignore_index=True),
    )


def choose_ways(extract: OsmExtract, *, road_tunnels: str = "closed",
                foot_no: str = "honour") -> tuple[OsmExtract, dict[str, Any]]:
    """Apply the planner's choices about contested ways, and say what they cover.

    Parameters
    ----------
    extract : OsmExtract
        The OSM data (:func:`lifecircle.layers.osm.read_osm`).
    road_tunnels : {"closed", "walk"}, default "closed"
        Road tunnels without a ``foot`` permission or ``sidewalk`` tag
        (:func:`road_tunnel_mask`). Default ``closed``: Chongqing's urban road tunnels
        (曾家岩隧道, 向阳隧道...) are built for traffic, mostly without a footway, and mappers
        tag ``sidewalk``/``foot`` where one exists; ``walk`` walks them (as before).
    foot_no : {"honour", "ignore"}, default "honour"
        Ordinary surface streets tagged ``foot=no`` (not trunk/motorway, not tunnels).
        ``honour`` keeps them out (the tag is the mapper's word); ``ignore`` walks them.

    Returns
    -------
    extract : OsmExtract
        A new extract with the chosen ways (the input is unchanged).
    report : dict
        Choices, excluded ways by reason (count, km), the road tunnels and the ``foot=no``
        surface streets (id, highway, name, km).

    Raises
    ------
    OptionError
        An unknown choice.
    NoWalkableWaysError
        No walkable way is left once road tunnels are closed.

    Examples
    --------
    >>> from lifecircle.testing import small_network_file
    >>> extract, report = choose_ways(read_osm(small_network_file(), progress=False))
    >>> len(extract.way_ids), report["excluded_by_reason"]
    (2, {})
    """
    if road_tunnels not in ROAD_TUNNEL_CHOICES:
        raise OptionError(f"--road-tunnels must be one of {', '.join(ROAD_TUNNEL_CHOICES)}; found {road_tunnels!r}.")
    if foot_no not in FOOT_NO_CHOICES:
        raise OptionError(f"--foot-no must be one of {', '.join(FOOT_NO_CHOICES)}; found {foot_no!r}.")
    ways = WayArrays(extract.way_ids, extract.way_offsets, extract.node_ids, extract.node_lon, extract.node_lat,
                     extract.way_tags)
    length = _way_lengths_m(ways)
    tunnels = road_tunnel_mask(ways.way_tags)
    report: dict[str, Any] = {
        "road_tunnels": road_tunnels,
        "foot_no": foot_no,
        "road_tunnels_without_foot_or_sidewalk": {
            "ways": int(len(np.unique(ways.way_ids[tunnels]))),
            "km": round(float(length[tunnels].sum()) / 1000, 3),
            "walkable": road_tunnels == "walk",
        },
    }
    excluded: dict[str, dict[str, float]] = {}
    if road_tunnels == "closed" and tunnels.any():
        excluded["road tunnel without foot or sidewalk tag"] = {
            "ways": int(len(np.unique(ways.way_ids[tunnels]))), "km": round(float(length[tunnels].sum()) / 1000, 3)}
        ways = _subset(ways, ~tunnels)
    foot_no_list: list[dict[str, Any]] = []
    refused = extract.refused
    if refused is not None and len(refused.way_ids):
        surface_foot_no = _surface_foot_no(refused)
        foot_no_list = _way_list(refused, surface_foot_no, _way_lengths_m(refused))
        excluded.update(_refused_by_reason(refused, surface_foot_no, walk_foot_no=foot_no == "ignore"))
        if foot_no == "ignore" and surface_foot_no.any():
            ways = _concat_ways(ways, _subset(refused, surface_foot_no))
    report["foot_no_surface_streets"] = {"ways": len(foot_no_list),
                                         "km": round(sum(w["km"] for w in foot_no_list), 3),
                                         "walkable": foot_no == "ignore", "list": foot_no_list}
    report["excluded_by_reason"] = excluded
    if excluded:
        log.info("Ways kept out of the walking network: %s",
                 "; ".join(f"{k} {v['ways']} ways {v['km']:.1f} km" for k, v in excluded.items()))
    if len(ways.way_ids) == 0:
        raise NoWalkableWaysError(f"{extract.source!r}: no walkable way is left once road tunnels are closed.")
    return replace(extract, way_ids=ways.way_ids, way_offsets=ways.way_offsets, node_ids=ways.node_ids,
                   node_lon=ways.node_lon, node_lat=ways.node_lat, way_tags=ways.way_tags), report
