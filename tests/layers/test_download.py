"""--place / --bbox through osmnx, exercised offline: osmnx's network calls are replaced by
its own offline XML reader on a local file, so the conversion code runs for real."""

from __future__ import annotations

import bz2
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from lifecircle._errors import DownloadError
from lifecircle.layers import download
from tests.synthetic import network_from_extract


def _osmnx_settings() -> dict:
    import copy
    import inspect

    import osmnx as ox

    plain = (bool, int, float, str, list, tuple, dict, set, type(None), Path)
    return {k: copy.deepcopy(v) for k, v in vars(ox.settings).items()
            if not k.startswith("_") and isinstance(v, plain) and not inspect.ismodule(v)}


@pytest.fixture(autouse=True)
def restore_osmnx_settings():
    """download_extract configures osmnx's global settings (cache, tags): put them back."""
    import osmnx as ox

    before = _osmnx_settings()
    yield
    for key, value in before.items():
        setattr(ox.settings, key, value)
    assert _osmnx_settings() == before


@pytest.fixture()
def fake_osmnx(monkeypatch, yuzhong_bz2, tmp_path: Path):
    import osmnx as ox

    xml = tmp_path / "yz.osm"
    xml.write_bytes(bz2.decompress(Path(yuzhong_bz2).read_bytes()))
    graph = ox.graph_from_xml(xml, simplify=True, retain_all=True)
    features = ox.features_from_xml(xml, tags={"amenity": True, "building": ["hospital", "school"], "shop": True})
    calls = {}

    def geocode(place):
        calls["place"] = place
        return gpd.GeoDataFrame(geometry=[shapely.box(106.54, 29.54, 106.59, 29.57)], crs=4326)

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    monkeypatch.setattr(ox, "graph_from_polygon", lambda polygon, **kw: calls.setdefault("graph", kw) and graph)
    monkeypatch.setattr(ox, "features_from_polygon", lambda polygon, tags: features)
    return calls


def test_download_by_place_gives_a_usable_extract(fake_osmnx, tmp_path, monkeypatch) -> None:
    from lifecircle import settings

    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    ext = download.download_extract(place="渝中区, 重庆市")
    assert fake_osmnx["place"] == "渝中区, 重庆市"
    assert fake_osmnx["graph"]["custom_filter"].startswith('["highway"]')
    net = network_from_extract(ext)
    assert net.n_edges > 1000
    assert (net.edges["highway"] == "steps").any()
    assert not net.edges["highway"].isin(["motorway", "trunk"]).any()  # no foot=yes on those here
    assert {"osm_type", "osm_id", "name", "tags"} <= set(ext.features.columns)
    assert ext.features["tags"].map(lambda t: t.get("building") == "hospital").sum() > 0


def test_download_failure_names_the_place_and_the_offline_way(monkeypatch) -> None:
    import osmnx as ox

    def offline(place):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(ox, "geocode_to_gdf", offline)
    with pytest.raises(DownloadError, match="--osm"):
        download.download_extract(place="Nowhere")
