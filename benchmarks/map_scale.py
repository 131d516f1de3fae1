"""Size and browser load time of the map at city scale (tiled Yuzhong).

A run of the tiled extract (see :mod:`benchmarks.tiling`) is done once per tile count;
the map's inputs are kept in a pickle beside the tiles, so that the map can be rebuilt and
measured again without running the whole job. Then the map is built, written, and opened
in Debian's headless chromium (offline: every outside request is refused), timing the
page until the map script has run, and the browser's memory.

Usage::

    python -m benchmarks.map_scale 4 --tiles /tmp/tiles            # run (first time), build, load
    python -m benchmarks.map_scale 4 --tiles /tmp/tiles --load-only OUT/map.html

The run takes ~1 min and ~2 GB for 16 tiles (k=4): run it once.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["capture_inputs", "build_and_save", "load_in_browser", "main"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def capture_inputs(k: int, tiles: Path, data: Path) -> Path:
    """Run the job on the k×k tiled extract (3 default-like categories) and keep the map's inputs."""
    import lifecircle
    from lifecircle import outputs

    target = tiles / f"map_inputs_{k}x{k}.pkl"
    if target.exists():
        return target
    pbf = tiles / f"yuzhong_{k}x{k}.osm.pbf"
    if not pbf.exists():
        from benchmarks.tiling import tiled_yuzhong

        tiled_yuzhong(k, tiles, data=data)
    result = lifecircle.run(osm=pbf, categories=["clinic", "school", "market"], progress=False)
    captured: dict[str, Any] = {}
    real = outputs.build_map

    def keep(**kwargs: Any) -> Any:
        captured.update(kwargs)
        return real(**kwargs)

    outputs.build_map = keep
    try:
        outputs.write_outputs(result, tiles / f"run_{k}x{k}")
    finally:
        outputs.build_map = real
    with open(target, "wb") as fh:
        pickle.dump(captured, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return target


def build_and_save(inputs: Path, out: Path) -> dict[str, float]:
    """Build the map from kept inputs and write it; seconds and megabytes."""
    from lifecircle.maps import build_map, save_map

    with open(inputs, "rb") as fh:
        kwargs = pickle.load(fh)
    t = time.perf_counter()
    m = build_map(**kwargs)
    save_map(m, out)
    return {"build_s": round(time.perf_counter() - t, 2), "size_mb": round(out.stat().st_size / 1e6, 2),
            "cells": len(kwargs["cells"])}


def load_in_browser(path: Path, *, repeat: int = 3) -> dict[str, float]:
    """Median seconds from navigation until the page's script has run, and the JS heap."""
    from playwright.sync_api import sync_playwright

    times, heaps = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
            t = time.perf_counter()
            page.goto(path.resolve().as_uri(), timeout=120_000)
            page.wait_for_function("window.lifecircle !== undefined", timeout=120_000, polling=50)
            # One frame painted after the script: what the reader sees.
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            times.append(time.perf_counter() - t)
            heaps.append(page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6)
            page.close()
        browser.close()
    return {"load_s": round(statistics.median(times), 2), "js_heap_mb": round(max(heaps), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("k", type=int, help="tiles per side (k×k tiles)")
    parser.add_argument("--tiles", type=Path, default=Path("/tmp/tiles"))
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=None, help="map file (default: TILES/map_kxk.html)")
    parser.add_argument("--load-only", type=Path, default=None, help="only open this map in the browser")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.load_only:
        print(json.dumps({"map": str(args.load_only), "size_mb": round(args.load_only.stat().st_size / 1e6, 2),
                          **load_in_browser(args.load_only, repeat=args.repeat)}))
        return 0
    inputs = capture_inputs(args.k, args.tiles, args.data)
    out = args.out or args.tiles / f"map_{args.k}x{args.k}.html"
    row = {"tiles": args.k * args.k, **build_and_save(inputs, out), **load_in_browser(out, repeat=args.repeat)}
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
