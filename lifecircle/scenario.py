"""Plans and scenarios: what an urban-renewal plan changes, on the run's own model.

:func:`run_scenario` applies a plan (:func:`lifecircle.layers.plans.read_plan`) to a finished
run and recomputes only what the plan touches:

* closures and new links: the network is edited (:func:`lifecircle.spatial.scenarios.edit_network`;
  the edges kept keep their seconds, only new links are timed), the reversed graph rebuilt,
  the cells and facilities joined to the edited network again, and every category searched
  again (a new passage can shorten any walk);
* facilities only: the network, graph and cells stay the run's; only the categories whose
  facilities change are searched again, with the run's access points for the others;
* people only (new housing): no search at all.

:func:`compare_outputs` compares two output folders of runs on the same grid. Both give the
same change tables (:func:`change_tables`) and change map (:mod:`lifecircle.maps.change`),
written by :func:`write_change_files`. :func:`sites_plan` turns suggested sites into a plan
file one can edit and run as a scenario::

    import lifecircle
    from lifecircle.scenario import run_scenario
    result = lifecircle.run(osm="yuzhong.osm.pbf", categories=["clinic"])
    change = run_scenario(result, "plan.geojson")
    change.communities.head()
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from lifecircle._errors import OptionError
from lifecircle.i18n import CHANGE_TEXT
from lifecircle.layers.plans import Plan, plan_record, read_plan, write_plan
from lifecircle.maps.change import build_change_map, save_change_map
from lifecircle.schema import (
    CHANGE_TOTAL_ROW,
    MINUTES_PREFIX,
    POPULATION_PREFIX,
    change_columns,
    minutes_column,
    newly_within_column,
)
from lifecircle.spatial.access import compute_cells
from lifecircle.spatial.scenarios import (
    NetworkEdit,
    add_people,
    cell_changes,
    community_changes,
    edit_network,
    plan_facilities,
    remap_locations,
)
from lifecircle.spatial.travel import EdgeLocation, facility_access_points, locate_on_network, reverse_graph
from lifecircle.spreadsheets import write_csv

__all__ = [
    "CHANGE_FILES",
    "ScenarioResult",
    "run_scenario",
    "compare_outputs",
    "change_tables",
    "write_change_files",
    "sites_plan",
]

log = logging.getLogger(__name__)

#: The files a scenario (or a comparison) adds to an output folder.
CHANGE_FILES: tuple[str, ...] = ("change_cells.csv", "change_communities.csv", "change.html")


@dataclass(frozen=True)
class ScenarioResult:
    """What a plan changes.

    Attributes
    ----------
    cells : geopandas.GeoDataFrame
        Per cell (metric CRS): :func:`lifecircle.spatial.scenarios.cell_changes`'s columns
        and the cell's polygon.
    communities : pandas.DataFrame
        Per community and category, and for the whole area
        (:func:`lifecircle.spatial.scenarios.community_changes`).
    categories : tuple of str
    groups : tuple of str
        Population groups known (``60plus``, ``0_14``).
    threshold_minutes : float
    facilities : geopandas.GeoDataFrame
        Facilities added or removed by the plan (``category``, ``name``, ``plan``).
    links : geopandas.GeoDataFrame
        New links (``kind``, ``name``, ``length_m``, seconds each way).
    closed : geopandas.GeoDataFrame
        Edges closed.
    housing : geopandas.GeoDataFrame
        New housing polygons (``population``).
    record : dict
        For ``run.json``: the plan (file, hash, counts, features), what was recomputed,
        network edit counts, seconds.
    """

    cells: gpd.GeoDataFrame
    communities: pd.DataFrame
    categories: tuple[str, ...]
    groups: tuple[str, ...]
    threshold_minutes: float
    facilities: gpd.GeoDataFrame
    links: gpd.GeoDataFrame
    closed: gpd.GeoDataFrame
    housing: gpd.GeoDataFrame
    record: dict[str, Any] = field(default_factory=dict)


def _groups(cells: pd.DataFrame) -> tuple[str, ...]:
    return tuple(c.removeprefix(POPULATION_PREFIX) for c in cells.columns
                 if c.startswith(POPULATION_PREFIX) and c != "population")


def _empty(crs: Any, **columns: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({k: v for k, v in columns.items()}, geometry=[], crs=crs)


def run_scenario(result: Any, plan: Plan | str | Path) -> ScenarioResult:
    """Apply a plan to a finished run, recomputing only what it touches.

    Parameters
    ----------
    result : lifecircle.pipeline.RunResult
    plan : Plan or path
        A plan file or one already read (:func:`lifecircle.layers.plans.read_plan`).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    PlanFileError
        A feature does not fit this run (a category not computed, a link too far from any
        way, nothing to close or remove where the plan says).
    """
    t0 = time.perf_counter()
    plan = plan if isinstance(plan, Plan) else read_plan(plan)
    model = result.model
    label = plan.label
    feats = plan.features.to_crs(model.crs)
    categories = tuple(model.categories)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    edit = edit_network(model.network, model.costs, close_ways=feats[feats["action"] == "close_way"],
                        close_gate=feats[feats["action"] == "close_gate"],
                        links=feats[feats["action"] == "add_link"], profile=model.profile, label=label)
    graph, origins, relocated = model.graph, model.origins, 0
    if edit.changed:
        graph = reverse_graph(edit.network, edit.costs)
        origins, relocated = _carry_origins(model, edit)
    seconds["network"] = time.perf_counter() - t

    t = time.perf_counter()
    facilities, removed_rows, access, touched = _plan_access(model, edit, feats, categories=categories, label=label)
    seconds["facilities"] = time.perf_counter() - t

    t = time.perf_counter()
    before = {c: result.cells[minutes_column(c)].to_numpy(float) for c in categories}
    after = dict(before)
    if touched:
        searched, _ = compute_cells(graph, model.grid, origins, access, n_facilities=len(facilities),
                                    categories=touched, leg_speed_kmh=model.speed_kmh)
        after.update({c: searched[minutes_column(c)].to_numpy(float) for c in touched})
    seconds["search"] = time.perf_counter() - t

    groups = _groups(result.cells)
    housing = feats[feats["action"] == "add_people"]
    people_before, people_after, group_after = _plan_people(result.cells, housing, groups=groups, label=label)
    changes = cell_changes(result.cells, before, after, people_before=people_before, people_after=people_after,
                           threshold_minutes=model.minutes, groups_after=group_after)
    no_data = tuple(c for c in categories if c in model.no_data and len(access[c]) == 0)
    communities = community_changes(changes, categories=categories, threshold_minutes=model.minutes, groups=groups,
                                    no_data=no_data)
    cells = gpd.GeoDataFrame(changes, geometry=result.cells.geometry.to_numpy(), crs=model.crs)
    shown = facilities[facilities["plan"] != ""][["category", "name", "plan", "geometry"]].reset_index(drop=True)
    housing_out = gpd.GeoDataFrame({"feature": housing["feature"].to_numpy(),
                                    "population": housing["population"].to_numpy(float)},
                                   geometry=housing.geometry.to_numpy(), crs=model.crs)
    seconds["total"] = time.perf_counter() - t0
    record = {
        **plan_record(plan),
        "recomputed": {"network": bool(edit.changed), "categories": list(touched),
                       "cells_joined_again": int(relocated)},
        "network_edit": edit.report,
        "facilities_added": int((facilities["plan"] == "added").sum()),
        "facilities_removed": len(removed_rows),
        "people_added": float(people_after.sum() - people_before.sum()),
        "timings_s": {k: round(v, 4) for k, v in seconds.items()},
    }
    log.info("Scenario %s: %s recomputed in %.2f s", plan.path.name, ", ".join(touched) or "no category",
             seconds["total"])
    return ScenarioResult(cells=cells, communities=communities, categories=categories, groups=groups,
                          threshold_minutes=model.minutes, facilities=shown, links=edit.links, closed=edit.closed,
                          housing=housing_out, record=record)


def _plan_access(model: Any, edit: NetworkEdit, feats: gpd.GeoDataFrame, *, categories: tuple[str, ...],
                 label: str) -> tuple[gpd.GeoDataFrame, Any, dict[str, pd.DataFrame], tuple[str, ...]]:
    """The facilities after the plan, the removed rows, each category's access points on the
    (edited) network, and the categories to search again."""
    added = feats[feats["action"] == "add_facility"]
    removed = feats[feats["action"] == "remove_facility"]
    facilities, removed_rows = plan_facilities(model.facilities, added=added, removed=removed, categories=categories,
                                               label=label)
    gone = np.isin(np.arange(len(facilities)), removed_rows)
    access_all = _carry_access(model, edit, facilities)
    access_all = access_all[~gone[access_all["facility"].to_numpy()]]
    cat_of = facilities["category"].to_numpy()
    access = {c: access_all[cat_of[access_all["facility"].to_numpy()] == c].sort_values(
        ["facility", "edge", "fraction"], kind="stable").reset_index(drop=True) for c in categories}
    touched = categories if edit.changed else tuple(
        c for c in categories if c in set(added["category"]) | set(removed["category"]))
    return facilities, removed_rows, access, touched


def _plan_people(cells: gpd.GeoDataFrame, housing: gpd.GeoDataFrame, *, groups: tuple[str, ...],
                 label: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """People per cell before and after the plan's new housing, and each group's after."""
    people_before = np.nan_to_num(cells["population"].to_numpy(float))
    group_before = {g: np.nan_to_num(cells[POPULATION_PREFIX + g].to_numpy(float)) for g in groups}
    people_after, group_after = people_before.copy(), dict(group_before)
    if len(housing):
        total = people_before.sum()
        shares = {g: (float(v.sum()) / total if total > 0 else 0.0) for g, v in group_before.items()}
        more, more_groups = add_people(cells, housing, groups=groups, group_shares=shares, label=label)
        people_after = people_before + more
        group_after = {g: group_before[g] + more_groups[g] for g in groups}
    return people_before, people_after, group_after


def _carry_origins(model: Any, edit: NetworkEdit) -> tuple[EdgeLocation, int]:
    """The cells where they joined the run's network; those whose edge was closed join the edited one again."""
    base = model.origins
    edge, fraction = remap_locations(edit, base.edge, base.fraction)
    lost = np.flatnonzero(base.matched & (edge < 0))
    distance = base.distance_m.copy()
    level = None if base.level is None else base.level.copy()
    if len(lost):
        centres = gpd.GeoSeries(shapely.points(model.grid["x"].to_numpy()[lost], model.grid["y"].to_numpy()[lost]),
                                crs=model.crs)
        again = locate_on_network(centres, edit.network, max_distance_m=model.max_access_m)
        edge[lost], fraction[lost], distance[lost] = again.edge, again.fraction, again.distance_m
        if level is not None and again.level is not None:
            level[lost] = again.level
    return EdgeLocation(edge, fraction, distance, level), len(lost)


def _carry_access(model: Any, edit: NetworkEdit, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Where the facilities join the (edited) network: the run's access points carried over;
    facilities that lost one (their edge closed) and the plan's new ones joined afresh."""
    n_base = len(model.facilities)
    parts = [a for a in model.access.values() if len(a)]
    base = pd.concat(parts, ignore_index=True) if parts else None
    fresh = np.arange(n_base, len(facilities))
    if base is not None and edit.changed:
        edge, fraction = remap_locations(edit, base["edge"].to_numpy(), base["fraction"].to_numpy())
        base = base.assign(edge=edge, fraction=fraction)
        lost = np.unique(base.loc[edge < 0, "facility"].to_numpy())
        base = base[~np.isin(base["facility"].to_numpy(), lost)]
        fresh = np.concatenate([lost, fresh])
    new = facility_access_points(facilities.iloc[fresh], edit.network, max_distance_m=model.max_access_m,
                                 entrances=model.entrances)
    new["facility"] = fresh[new["facility"].to_numpy()]
    return pd.concat([f for f in (base, new) if f is not None], ignore_index=True)


# --------------------------------------------------------------------------- comparing two output folders


def _read_folder(folder: Path, label: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None, dict[str, Any]]:
    gpkg, manifest = folder / "results.gpkg", folder / "run.json"
    for path in (gpkg, manifest):
        if not path.is_file():
            raise OptionError(f"{label} {str(folder)!r}: expected a lifecircle output folder with {path.name}; "
                              "found none.")
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
        cells = gpd.read_file(gpkg, layer="cells", engine="pyogrio")
        layers = [str(name) for name, _ in pyogrio.list_layers(gpkg)]
        facilities = gpd.read_file(gpkg, layer="facilities", engine="pyogrio") if "facilities" in layers else None
    except (OSError, ValueError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise OptionError(f"{label} {str(folder)!r}: the output files cannot be read ({str(exc)[:200]}).") from None
    if not isinstance(record, dict):
        raise OptionError(f"{label} {str(folder)!r}: run.json is not a run record.")
    return cells, facilities, record


def _threshold(record: dict[str, Any]) -> float | None:
    value = (record.get("options") or {}).get("minutes")
    return float(value) if isinstance(value, (int, float)) else None


def compare_outputs(before_dir: str | Path, after_dir: str | Path) -> ScenarioResult:
    """What changed between two runs' output folders on the same grid.

    Parameters
    ----------
    before_dir, after_dir : path
        Folders written by ``lifecircle run`` (``results.gpkg`` and ``run.json``).

    Returns
    -------
    ScenarioResult
        Categories measured in both; facilities that appear only after (``added``) or only
        before (``removed``), matched by category and position to 0.1 m; no links.

    Raises
    ------
    OptionError
        A folder is not an output folder, the grids differ (cell count, ids or cell
        positions), or the thresholds differ.
    """
    before_dir, after_dir = Path(before_dir), Path(after_dir)
    b_cells, b_fac, b_rec = _read_folder(before_dir, "BEFORE_DIR")
    a_cells, a_fac, a_rec = _read_folder(after_dir, "AFTER_DIR")
    if len(b_cells) != len(a_cells) or not np.array_equal(b_cells["cell_id"].to_numpy(), a_cells["cell_id"].to_numpy()):
        raise OptionError(f"BEFORE_DIR {str(before_dir)!r} and AFTER_DIR {str(after_dir)!r} are not on the same grid: "
                          f"{len(b_cells):,} and {len(a_cells):,} cells (or other cell ids); expected two runs with the "
                          "same study area and --cell-size.")
    crs = b_cells.crs
    cb = shapely.get_coordinates(shapely.centroid(b_cells.geometry.to_numpy()))
    ca = shapely.get_coordinates(shapely.centroid(a_cells.to_crs(crs).geometry.to_numpy()))
    off = float(np.abs(cb - ca).max()) if len(cb) else 0.0
    if off > 1e-6:
        raise OptionError(f"BEFORE_DIR {str(before_dir)!r} and AFTER_DIR {str(after_dir)!r} are not on the same grid: "
                          f"cell centres differ by up to {off:.6f} degrees; expected two runs with the same study area "
                          "and --cell-size.")
    t_b, t_a = _threshold(b_rec), _threshold(a_rec)
    if t_b is None or t_a is None or t_b != t_a:
        raise OptionError(f"BEFORE_DIR and AFTER_DIR use different thresholds ({t_b} and {t_a} minutes); expected the "
                          "same --minutes.")
    categories = tuple(c.removeprefix(MINUTES_PREFIX) for c in b_cells.columns
                       if c.startswith(MINUTES_PREFIX) and c in a_cells.columns)
    if not categories:
        raise OptionError("BEFORE_DIR and AFTER_DIR share no category (minutes_to_<category> columns).")
    groups = tuple(g for g in _groups(b_cells) if POPULATION_PREFIX + g in a_cells.columns)
    before = {c: b_cells[minutes_column(c)].to_numpy(float) for c in categories}
    after = {c: a_cells[minutes_column(c)].to_numpy(float) for c in categories}
    changes = cell_changes(a_cells, before, after, people_before=b_cells["population"].to_numpy(float),
                           people_after=a_cells["population"].to_numpy(float), threshold_minutes=t_a,
                           groups_after={g: a_cells[POPULATION_PREFIX + g].to_numpy(float) for g in groups})
    no_data = tuple(c for c in categories if np.isnan(before[c]).all() and np.isnan(after[c]).all())
    communities = community_changes(changes, categories=categories, threshold_minutes=t_a, groups=groups,
                                    no_data=no_data)
    metric = b_cells.estimate_utm_crs()
    cells = gpd.GeoDataFrame(changes, geometry=b_cells.geometry.to_numpy(), crs=crs).to_crs(metric)
    facilities = _facility_difference(b_fac, a_fac, metric)
    record = {"before": str(before_dir), "after": str(after_dir), "threshold_minutes": t_a,
              "categories": list(categories), "scenario_before": b_rec.get("scenario", {}).get("file"),
              "scenario_after": a_rec.get("scenario", {}).get("file")}
    empty_links = _empty(metric, kind=[], name=[], length_m=[], seconds_uv=[], seconds_vu=[])
    return ScenarioResult(cells=cells, communities=communities, categories=categories, groups=groups,
                          threshold_minutes=t_a, facilities=facilities, links=empty_links,
                          closed=_empty(metric, osm_way_id=[]), housing=_empty(metric, population=[]), record=record)


def _facility_difference(before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    """Facilities only after (added) or only before (removed), by category and position (0.1 m)."""
    frames = []
    keyed: list[tuple[gpd.GeoDataFrame, pd.Index] | None] = []
    for frame in (before, after):
        if frame is None or len(frame) == 0:
            keyed.append(None)
            continue
        f = frame.to_crs(crs)
        xy = np.round(shapely.get_coordinates(f.geometry.representative_point().to_numpy()), 1)
        keyed.append((f, pd.Index([f"{c}|{x}|{y}" for c, (x, y) in zip(f["category"].astype(str), xy)])))
    if keyed[0] is not None or keyed[1] is not None:
        kb = keyed[0][1] if keyed[0] is not None else pd.Index([])
        ka = keyed[1][1] if keyed[1] is not None else pd.Index([])
        if keyed[1] is not None:
            f = keyed[1][0][~ka.isin(kb)]
            frames.append(f.assign(plan="added")[["category", "name", "plan", "geometry"]])
        if keyed[0] is not None:
            f = keyed[0][0][~kb.isin(ka)]
            frames.append(f.assign(plan="removed")[["category", "name", "plan", "geometry"]])
    if not frames:
        return _empty(crs, category=[], name=[], plan=[])
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


# --------------------------------------------------------------------------- tables and files


def change_tables(change: ScenarioResult, *, lang: str = "zh",
                  labels: dict[str, dict[str, str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cell change table (every cell whose minutes, status or people change; column
    names of :mod:`lifecircle.schema`, longitude/latitude added) and the community change
    table (headers and categories in ``lang``).

    Parameters
    ----------
    change : ScenarioResult
        A plan's or a comparison's changes (:func:`run_scenario`, :func:`compare_outputs`).
    lang : {"zh", "en"}
        Language of the community table's headers, total row and category labels.
    labels : dict, optional
        ``{category: {lang: label}}`` (the catalogue's); ``None`` keeps category keys.

    Returns
    -------
    cells, communities : pandas.DataFrame
        The changed cells (minutes in minutes, NaN when unreachable; ``lon``/``lat`` in
        WGS84 degrees, 6 decimals) and the community table (shares 0-1, 4 decimals).

    Raises
    ------
    OptionError
        ``lang`` is not one of the languages of the change text.
    """
    if lang not in CHANGE_TEXT:
        raise OptionError(f"--lang must be one of {sorted(CHANGE_TEXT)}; found {lang!r}.")
    words = CHANGE_TEXT[lang]
    cells = pd.DataFrame(change.cells.drop(columns=change.cells.geometry.name))
    centres = change.cells.geometry.centroid.to_crs(4326)
    cells["lon"], cells["lat"] = centres.x.round(6).to_numpy(), centres.y.round(6).to_numpy()
    # Every cell whose minutes, status or people change (a few thousandths of a minute are rounding).
    changed = cells["population_before"].to_numpy(float) != cells["population_after"].to_numpy(float)
    for cat in change.categories:
        cols = change_columns(cat)
        if cols["before"] not in cells:
            continue
        b, a = cells[cols["before"]].to_numpy(float), cells[cols["after"]].to_numpy(float)
        changed |= (np.isnan(b) != np.isnan(a)) | (np.abs(np.nan_to_num(a - b)) > 1e-3)
    cells = cells[changed].reset_index(drop=True)
    comm = change.communities.copy()
    comm["community"] = comm["community"].replace({CHANGE_TOTAL_ROW: words["total"]})
    comm["category"] = [((labels or {}).get(c) or {}).get(lang, c) for c in comm["category"]]
    for col in ("share_before", "share_after", "change_share"):
        comm[col] = comm[col].round(4)
    for col in ("people_before", "people_after", "people_newly_within", "people_no_longer_within",
                *[newly_within_column(g) for g in change.groups]):
        comm[col] = comm[col].round(1)
    comm["mean_change_minutes"] = comm["mean_change_minutes"].round(2)
    headers = {k: words[k] for k in words if k in comm.columns}
    headers.update({newly_within_column(g): f"{words['newly_within']} {g}" for g in change.groups})
    return cells, comm.rename(columns=headers)


def write_change_files(stage: Path, change: ScenarioResult, *, lang: str = "zh",
                       labels: dict[str, dict[str, str]] | None = None,
                       mark: Any = None) -> tuple[str, pd.DataFrame]:
    """Write ``change_cells.csv``, ``change_communities.csv`` and ``change.html`` into ``stage``.

    Parameters
    ----------
    stage : pathlib.Path
        The output folder being written (a staging folder).
    change : ScenarioResult
    lang : {"zh", "en"}
    labels : dict, optional
    mark : callable, optional
        Marks each path before it is written (:func:`lifecircle.outfolder.writing`).

    Returns
    -------
    sheet_name : str
    communities : pandas.DataFrame
        The community change table, for the gap workbook's change sheet.
    """
    mark = mark or (lambda p: p)
    cells, comm = change_tables(change, lang=lang, labels=labels)
    write_csv(cells, mark(stage / "change_cells.csv"))
    write_csv(comm, mark(stage / "change_communities.csv"))
    fmap = build_change_map(change.cells, categories=list(change.categories), threshold_minutes=change.threshold_minutes,
                            facilities=change.facilities, links=change.links, closed=change.closed,
                            housing=change.housing, communities=change.communities, labels=labels, lang=lang)
    save_change_map(fmap, mark(stage / "change.html"))
    return CHANGE_TEXT[lang]["sheet"], comm


def sites_plan(sites: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write suggested sites (:func:`lifecircle.planning.suggest`) as a plan file of
    ``add_facility`` features, one per site in rank order, to edit and run as a scenario.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        ``category``, ``rank`` and geometry (points or polygons, any CRS).
    path : path
        The ``.geojson`` plan to write.

    Returns
    -------
    pathlib.Path
        ``path``; lines are written as a point on their surface, in WGS84.

    Examples
    --------
    >>> import tempfile
    >>> from lifecircle.layers.plans import read_plan
    >>> sites = gpd.GeoDataFrame({"category": ["clinic", "clinic"], "rank": [2, 1]},
    ...                          geometry=shapely.points([[106.58, 29.56], [106.57, 29.55]]), crs=4326)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plan = read_plan(sites_plan(sites, Path(folder) / "plan.geojson"))
    >>> plan.features["name"].tolist(), plan.features.geometry.x.tolist()
    (['suggested clinic site 1', 'suggested clinic site 2'], [106.57, 106.58])
    """
    ordered = sites.sort_values(["category", "rank"], kind="stable")
    geoms = ordered.geometry.to_numpy()
    keep = ~np.isin(shapely.get_type_id(geoms), [0, 3, 6])  # points and polygons stay as they are
    if keep.any():
        geoms = np.where(keep, shapely.point_on_surface(geoms), geoms)
    features = gpd.GeoDataFrame({"action": "add_facility", "category": ordered["category"].astype(str).to_numpy(),
                                 "name": [f"suggested {c} site {int(r)}" for c, r in
                                          zip(ordered["category"], ordered["rank"])]},
                                geometry=geoms, crs=sites.crs)
    return write_plan(features, path)
