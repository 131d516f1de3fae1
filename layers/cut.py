"""The part of an OSM extract around one area: what a district of a batch needs, nothing more.

A batch reads the OSM file once per worker (:func:`lifecircle.layers.osm.read_osm`) and hands
each area only the data within its halo's bounding box, so that building, snapping and
searching cost what the area costs, not what the whole file costs. A way is kept whole when
its bounding box meets the box (a long way crossing the box with no vertex inside it is
kept too); features and major roads are kept when they meet the box. The run then clips the
network to the halo itself, so a generous box changes nothing but the work.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lifecircle.layers.osm import OsmExtract, WayArrays

__all__ = ["extract_within"]

BBox = tuple[float, float, float, float]


def _ways_meeting(way_offsets: np.ndarray, lon: np.ndarray, lat: np.ndarray, bbox: BBox) -> np.ndarray:
    """Whether each way's bounding box meets ``bbox`` (W, S, E, N), vectorised over the vertices."""
    n = len(way_offsets) - 1
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts = way_offsets[:-1]
    west, south, east, north = bbox
    return ((np.minimum.reduceat(lon, starts) <= east) & (np.maximum.reduceat(lon, starts) >= west)
            & (np.minimum.reduceat(lat, starts) <= north) & (np.maximum.reduceat(lat, starts) >= south))


def _keep_ways(offsets: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertex mask and the new offsets of the kept ways."""
    lengths = np.diff(offsets)
    new = np.zeros(int(keep.sum()) + 1, dtype=offsets.dtype)
    np.cumsum(lengths[keep], out=new[1:])
    return np.repeat(keep, lengths), new


def _cut_ways(ways: WayArrays, bbox: BBox) -> WayArrays:
    keep = _ways_meeting(ways.way_offsets, ways.node_lon, ways.node_lat, bbox)
    vertices, offsets = _keep_ways(ways.way_offsets, keep)
    return WayArrays(ways.way_ids[keep], offsets, ways.node_ids[vertices], ways.node_lon[vertices],
                     ways.node_lat[vertices], ways.way_tags[keep].reset_index(drop=True))


def extract_within(extract: OsmExtract, bbox: BBox) -> OsmExtract:
    """The extract's walkable ways, refused ways, features and major roads that meet ``bbox``.

    Parameters
    ----------
    extract : OsmExtract
        As read (not modified).
    bbox : tuple of float
        West, south, east, north in degrees (e.g.
        :func:`lifecircle.spatial.halo.halo_bounds_lonlat`).

    Returns
    -------
    OsmExtract
        A new extract; ``counts`` and ``source`` stay those of the file, ``bbox`` becomes
        ``bbox`` (cut to the file's own box when it has one).

    Examples
    --------
    >>> from lifecircle.layers.osm import read_osm
    >>> from lifecircle.testing import small_network_file
    >>> whole = read_osm(small_network_file(), progress=False)
    >>> west_part = extract_within(whole, (0.0, 0.0, float(whole.node_lon.min()) + 1e-4, 90.0))
    >>> len(whole.way_ids), len(west_part.way_ids), sorted(west_part.features["name"])
    (2, 2, ['West clinic'])
    """
    west, south, east, north = (float(v) for v in bbox)
    box = (west, south, east, north)
    keep = _ways_meeting(extract.way_offsets, extract.node_lon, extract.node_lat, box)
    vertices, offsets = _keep_ways(extract.way_offsets, keep)
    header = extract.bbox
    if header is not None:
        box = (max(west, header[0]), max(south, header[1]), min(east, header[2]), min(north, header[3]))
    return replace(
        extract,
        way_ids=extract.way_ids[keep], way_offsets=offsets, node_ids=extract.node_ids[vertices],
        node_lon=extract.node_lon[vertices], node_lat=extract.node_lat[vertices],
        way_tags=extract.way_tags[keep].reset_index(drop=True),
        features=extract.features.cx[west:east, south:north].reset_index(drop=True),
        major_roads=extract.major_roads.cx[west:east, south:north].reset_index(drop=True),
        refused=None if extract.refused is None else _cut_ways(extract.refused, (west, south, east, north)),
        bbox=box if box[0] < box[2] and box[1] < box[3] else (west, south, east, north),
    )
