"""A throwaway PostgreSQL + PostGIS server for the tests: initdb in a temporary folder,
listening on a Unix socket only (no TCP: nothing leaves the machine, and the tests' socket
guard is not involved), stopped and deleted at the end.

PostgreSQL refuses to run as root. Run as root (as CI does), the server runs as an
unprivileged system user (``postgres`` where the Debian package made it, else ``nobody``)
through ``setpriv``/``runuser``; its folder is made theirs. Without the server binaries the
tests skip, unless ``LIFECIRCLE_REQUIRE_POSTGIS=1`` (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["postgis_server", "server_binaries"]

SUPERUSER = "lifecircle_test"


def server_binaries() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``: ``$LIFECIRCLE_PG_BIN``, else Debian's newest."""
    env = os.environ.get("LIFECIRCLE_PG_BIN")
    candidates = [Path(env)] if env else [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                                     key=lambda p: int(Path(p).parent.name)
                                                                     if Path(p).parent.name.isdigit() else 0,
                                                                     reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("LIFECIRCLE_REQUIRE_POSTGIS") == "1":
        pytest.fail(f"PostGIS required (LIFECIRCLE_REQUIRE_POSTGIS=1) but {reason}")
    pytest.skip(reason)


def _as_user() -> tuple[list[str], pwd.struct_passwd | None]:
    """Command prefix running a program as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            if shutil.which("setpriv"):
                return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                        "--reset-env"], user
            if shutil.which("runuser"):
                return ["runuser", "-u", name, "--"], user
    return [], None


@contextlib.contextmanager
def postgis_server() -> Iterator[str]:
    """Start a server; yields the connection URL of a database with PostGIS. Stopped after."""
    binaries = server_binaries()
    if binaries is None:
        _unavailable("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; set LIFECIRCLE_PG_BIN)")
    assert binaries is not None
    prefix, user = _as_user()
    if os.geteuid() == 0 and user is None:
        _unavailable("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="lc-pg-"))  # short: a socket path is at most 107 bytes
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, log = folder / "data", folder / "server.log"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    started = False
    try:
        init = subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                               "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        if init.returncode != 0:
            _unavailable(f"initdb failed: {init.stderr[-500:]}")
        start = subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(log),
                                "-o", f"-c listen_addresses='' -k {folder} -c fsync=off -c full_page_writes=off",
                                "start"], capture_output=True, text=True, env=env, timeout=120, check=False)
        if start.returncode != 0:
            text = log.read_text(errors="replace")[-800:] if log.exists() else start.stderr[-500:]
            _unavailable(f"PostgreSQL did not start: {text}")
        started = True
        url = f"postgresql:///postgres?host={folder}&user={SUPERUSER}"
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.Error as exc:
                _unavailable(f"PostGIS is not installed for this PostgreSQL: {exc}")
        yield url
    finally:
        if started:
            subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
                           capture_output=True, env=env, timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)
