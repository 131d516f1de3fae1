"""The command line and its output folder: checked first, locked, replaced whole, signals."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lifecircle.outfolder import LOCK_NAME, output_lock
from lifecircle.outputs import OUTPUT_FILES
from lifecircle.scripts.cli import main

FAST = ["--categories", "clinic", "--no-facility-isochrones", "--lang", "en"]


def _old_set(out: Path) -> dict[str, bytes]:
    """A complete previous output set (small stand-ins) plus a file of the user's."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: f"previous {name}".encode() for name in OUTPUT_FILES}
    files["run.json"] = json.dumps({"outputs": sorted(OUTPUT_FILES)}).encode()
    files["my notes.txt"] = b"not ours"
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if not p.is_dir()}


@pytest.fixture
def no_osm_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import lifecircle.layers.osm as osm
    import lifecircle.pipeline as pipeline

    monkeypatch.setattr(osm, "read_osm", lambda *a, **k: pytest.fail("read the OSM data before checking --out"))
    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the run started before checking --out"))


@pytest.mark.parametrize("where", ["/proc/lifecircle-out", "below-a-file", "read-only", "x" * 300, "x/" * 3000])
def test_unusable_out_exits_2_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, no_osm_read: None, where: str) -> None:
    if where == "below-a-file":
        (tmp_path / "a-file").write_text("x", encoding="utf-8")
        out = str(tmp_path / "a-file" / "out")
    elif where == "read-only":
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        out = str(folder)
        if os.geteuid() == 0:  # root writes anywhere: make the probe meet what a user would meet
            import lifecircle.outfolder as outfolder

            real_open = os.open

            def refuse(path, *a, **k):
                if ".lifecircle-probe-" in str(path):
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_open(path, *a, **k)

            monkeypatch.setattr(outfolder.os, "open", refuse)
    else:
        out = where
    code = main(["run", "-q", "--out", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--out" in err and out[:150] in err and "expected" in err and "found" in err
    assert "Traceback" not in err


def test_empty_out_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str], no_osm_read: None) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--out", ""])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--out" in err and "expected" in err and "found ''" in err


def test_second_run_on_a_locked_out_stops_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _old_set(out)
    with output_lock(out):  # the first run, as far as the second can tell
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "lifecircle.scripts.cli", "run", *FAST, "--out", str(out)],
                              capture_output=True, text=True, timeout=120, check=False)
        took = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    assert str(out) in proc.stderr and f"pid {os.getpid()}" in proc.stderr and "in use" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < 20, f"the second run took {took:.1f} s to stop"
    assert _files(out) == old
    assert sorted(p.name for p in out.iterdir()) == sorted(old)


def test_disk_full_while_writing_keeps_the_previous_set(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import lifecircle.outputs as outputs

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs, "_write_xlsx", full)
    out = tmp_path / "out"
    old = _old_set(out)
    before = signal.getsignal(signal.SIGTERM)
    code = main(["run", "-q", *FAST, "--out", str(out)])
    err = capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # the command's SIGTERM handler is gone again
    assert code == 2, err
    assert f"disk full while writing {str(out / 'gaps.xlsx')!r}" in err
    assert "Traceback" not in err
    assert _files(out) == old
    assert sorted(p.name for p in out.iterdir()) == sorted(old)


_PAUSED_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import lifecircle.outputs as outputs
    from lifecircle.scripts.cli import main

    real = outputs._write_xlsx

    def paused(path, sheets, **kwargs):
        real(path, sheets, **kwargs)  # half of the new set is in the staging folder now
        Path(sys.argv[1]).write_text("writing")
        time.sleep(120)

    outputs._write_xlsx = paused
    sys.exit(main(sys.argv[2:]))
""")


def test_sigterm_while_writing_keeps_the_previous_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = _old_set(out)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _PAUSED_RUN, str(ready), "run", "-q", *FAST, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the run never reached the writing stage"
            time.sleep(0.1)
        assert any(p.name.startswith(".lifecircle-staging-") for p in out.iterdir())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert _files(out) == old  # the complete previous set
    assert sorted(p.name for p in out.iterdir()) == sorted(old)  # no staging folder, no lock file left
    assert not (out / LOCK_NAME).exists()


def test_a_folder_named_map_html_keeps_the_previous_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    old = _old_set(out)
    (out / "map.html").unlink()
    (out / "map.html").mkdir()
    (out / "map.html" / "inside.txt").write_bytes(b"user data")
    old.pop("map.html")
    code = main(["run", "-q", *FAST, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "folder named 'map.html'" in err and "Traceback" not in err
    assert _files(out) == old
    assert (out / "map.html" / "inside.txt").read_bytes() == b"user data"
    assert not [p for p in out.iterdir() if p.name.startswith(".lifecircle")]
