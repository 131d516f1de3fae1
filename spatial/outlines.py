"""Outlines of groups of grid cells, traced along the grid instead of unioning squares.

A city's gap areas hold hundreds of thousands of square cells; ``shapely.union_all`` over
each area's squares costs seconds. The cells sit on a regular grid, so each area's outline
is read off the grid: every cell side between a cell of the group and one outside it is a
boundary edge, and the edges link into rings at the grid's nodes. The polygons are the
ones ``union_all`` gives (the same rings, with a vertex at every grid node on the outline:
the same vertices once normalised), only their start vertex and ring order may differ.

Examples
--------
>>> import numpy as np
>>> cols, rows = np.array([0, 1, 1]), np.array([0, 0, 1])
>>> edges = np.arange(3) * 100.0
>>> print(grid_outlines(cols, rows, np.zeros(3, dtype=int), x_edges=edges, y_edges=edges)[0].normalize())
POLYGON ((0 0, 0 100, 100 100, 100 200, 200 200, 200 100, 200 0, 100 0, 0 0))
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["grid_outlines", "grid_edges"]

# Directions of a boundary edge, walked with the group on its left (shells anticlockwise).
_RIGHT, _UP, _LEFT, _DOWN = 0, 1, 2, 3


def grid_edges(index: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """The grid lines of one axis from the cells' bounds, or None when they disagree.

    Parameters
    ----------
    index : numpy.ndarray
        Column (or row) number of each cell, from 0.
    low, high : numpy.ndarray
        Each cell's lower and upper bound on that axis.

    Returns
    -------
    numpy.ndarray or None
        ``edges[k]`` is the lower bound of column ``k`` and the upper bound of column
        ``k - 1``; None when two cells of a column, or two neighbouring columns, do not
        share their bounds exactly (then the cells are not one grid: union them instead).

    Examples
    --------
    >>> grid_edges(np.array([0, 2]), np.array([0.0, 20.0]), np.array([10.0, 30.0])).tolist()
    [0.0, 10.0, 20.0, 30.0]
    >>> grid_edges(np.array([0, 1]), np.array([0.0, 10.5]), np.array([10.0, 20.0])) is None
    True
    """
    index = np.asarray(index, dtype=np.int64)
    edges = np.full(int(index.max()) + 2, np.nan)
    edges[index + 1] = high
    edges[index] = low
    if not (np.array_equal(edges[index], low) and np.array_equal(edges[index + 1], high)):
        return None
    return edges


def grid_outlines(cols: np.ndarray, rows: np.ndarray, groups: np.ndarray, *, x_edges: np.ndarray,
                  y_edges: np.ndarray) -> np.ndarray:
    """One polygon per group of grid cells: the union of its squares, traced on the grid.

    Each group must be connected through cell sides (rook neighbours), as a gap area is:
    its outline is then one shell with holes; where the group touches itself at a corner,
    the rings touch at that node (a hole touching the shell at a point), as GEOS writes it.

    Parameters
    ----------
    cols, rows : numpy.ndarray
        Each cell's column (x) and row (y, growing northwards), from 0.
    groups : numpy.ndarray
        Each cell's group, 0 .. k - 1 (every group holds a cell).
    x_edges, y_edges : numpy.ndarray
        The grid lines (:func:`grid_edges`): column ``c`` spans ``x_edges[c]`` to
        ``x_edges[c + 1]``.

    Returns
    -------
    numpy.ndarray
        ``k`` polygons (object array), in group order; a vertex at every grid node on
        their rings.

    Raises
    ------
    ValueError
        A group is not connected through cell sides (it would have several shells).
    """
    cols, rows, groups = (np.asarray(a, dtype=np.int64) for a in (cols, rows, groups))
    si, sj, ei, ej, direction, group = _boundary_edges(cols, rows, groups)
    width = int(cols.max()) + 2  # nodes per grid row
    following = _following_edges(sj * width + si, ej * width + ei, direction, group)
    ring, position = _rings(following)
    order = np.lexsort((position, ring))
    ring, si, sj, ei, ej = ring[order], si[order], sj[order], ei[order], ej[order]
    n_rings = int(ring.max()) + 1
    twice_area = np.bincount(ring, weights=(si * ej - ei * sj).astype(float), minlength=n_rings)
    ring_group = np.zeros(n_rings, dtype=np.int64)
    ring_group[ring] = group[order]
    shell = twice_area > 0
    n_groups = int(groups.max()) + 1
    if not np.array_equal(np.bincount(ring_group[shell], minlength=n_groups), np.ones(n_groups, dtype=np.int64)):
        raise ValueError("each group of cells must be connected through cell sides (one shell per group)")
    rings = shapely.linearrings(x_edges[si], y_edges[sj], indices=ring)
    by_group = np.lexsort((~shell, ring_group))  # per group: the shell first, then its holes
    return shapely.polygons(rings[by_group], indices=ring_group[by_group])


def _boundary_edges(cols: np.ndarray, rows: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every cell side between a cell and a cell outside its group, directed with the cell on
    its left: start node (i, j), end node, direction and group."""
    label = np.full((int(rows.max()) + 3, int(cols.max()) + 3), -1, dtype=np.int64)  # a free border all round
    label[rows + 1, cols + 1] = groups
    c, r = cols + 1, rows + 1
    sides = (  # (neighbour across the side, start node, end node, direction)
        (label[r - 1, c], (cols, rows), (cols + 1, rows), _RIGHT),  # bottom side
        (label[r, c + 1], (cols + 1, rows), (cols + 1, rows + 1), _UP),  # right side
        (label[r + 1, c], (cols + 1, rows + 1), (cols, rows + 1), _LEFT),  # top side
        (label[r, c - 1], (cols, rows + 1), (cols, rows), _DOWN),  # left side
    )
    parts = []
    for across, (si, sj), (ei, ej), direction in sides:
        cut = across != groups
        parts.append((si[cut], sj[cut], ei[cut], ej[cut], np.full(int(cut.sum()), direction), groups[cut]))
    return tuple(np.concatenate(column) for column in zip(*parts))


def _following_edges(start: np.ndarray, end: np.ndarray, direction: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The next edge of each edge's ring: the edge of its group leaving its end node, the
    rightmost turn first (where a group touches itself at a corner, each ring keeps to one
    side of the corner: rings touch there but do not cross)."""
    key = start * 4 + direction  # an edge is one cell side: its start and direction name it
    order = np.argsort(key, kind="stable")
    keys = key[order]
    following = np.full(len(key), -1, dtype=np.int64)
    for turn in (3, 0, 1):  # right, straight, left
        wanted = end * 4 + (direction + turn) % 4
        pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        candidate = order[pos]
        hit = (keys[pos] == wanted) & (group[candidate] == group) & (following < 0)
        following[hit] = candidate[hit]
    return following


def _rings(following: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ring number of each edge and its position along the ring (from the ring's lowest
    edge number), by pointer jumping: a few passes over all edges, no loop per edge."""
    n = len(following)
    graph = sparse.coo_matrix((np.ones(n, dtype=np.int8), (np.arange(n), following)), shape=(n, n))
    _, ring = csgraph.connected_components(graph, directed=True, connection="strong")
    first = np.full(int(ring.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, ring, np.arange(n))
    last = following == first[ring]  # the edge closing each ring
    successor = np.where(last, np.arange(n), following)
    steps = (~last).astype(np.int64)  # steps to the ring's closing edge
    while True:
        jump = successor[successor]
        if np.array_equal(jump, successor):
            break
        steps = steps + steps[successor]
        successor = jump
    length = np.bincount(ring)
    return ring, length[ring] - 1 - steps
