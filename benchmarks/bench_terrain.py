"""What terrain-aware walking costs in run time: `lifecircle run` on Yuzhong, flat vs DEM.

Runs the whole pipeline (no file writing) on the real Yuzhong data three ways in one
process, best of ``--repeat`` each, and prints the ratio to the flat run:

- ``flat``: no DEM, the adult profile (stairs and ``incline`` tags still count);
- ``terrain``: ``--dem`` with the adult profile (DEM sampling, slope costs), which also
  computes the flat/terrain/elderly/wheelchair comparison table;
- ``terrain_elderly``: ``--dem --profile elderly``.

Target: terrain-aware runs take at most 1.5x the flat run's time.

Usage::

    python benchmarks/bench_terrain.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from lifecircle import pipeline


def _data() -> Path:
    env = os.environ.get("LIFECIRCLE_SHARED_DATA")
    return (Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data") / "yuzhong"


def _best(options: pipeline.RunOptions, repeat: int) -> tuple[float, dict[str, float]]:
    best, steps = float("inf"), {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = pipeline.run(options, progress=False)
        took = time.perf_counter() - start
        if took < best:
            best, steps = took, result.record["timings_s"]
    return best, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    d = _data()
    base = dict(osm=d / "yuzhong.osm.pbf", boundary=d / "yuzhong_boundary.geojson",
                population=d / "yuzhong_population_ghspop2015.csv", categories=("clinic", "school", "market"))
    runs = {
        "flat": pipeline.RunOptions(**base),
        "terrain": pipeline.RunOptions(**base, dem=d / "yuzhong_dem_srtm30m_utm48n.tif"),
        "terrain_elderly": pipeline.RunOptions(**base, dem=d / "yuzhong_dem_srtm30m_utm48n.tif", profile="elderly"),
    }
    pipeline.run(runs["flat"], progress=False)  # warm caches and imports
    times = {name: _best(opts, args.repeat) for name, opts in runs.items()}
    flat = times["flat"][0]
    print(f"lifecircle run on Yuzhong (no file writing), best of {args.repeat}; load {os.getloadavg()}")
    print(f"  {'run':<16} {'seconds':>8} {'x flat':>7}   costs s  comparison s  isochrones s")
    for name, (secs, steps) in times.items():
        print(f"  {name:<16} {secs:8.2f} {secs / flat:7.2f}   {steps.get('costs', 0):7.2f}  "
              f"{steps.get('terrain_comparison', 0):12.2f}  {steps.get('isochrones', 0):12.2f}")
    worst = max(secs for name, (secs, _) in times.items() if name != "flat") / flat
    print(f"  target terrain <= 1.5x flat: {worst:.2f}x ({'met' if worst <= 1.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
