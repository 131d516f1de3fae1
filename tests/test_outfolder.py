"""The output folder: its file set is replaced whole or not at all; lock; leftovers of killed runs."""

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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecircle import outfolder
from lifecircle._errors import LifecircleError, OutputError, OutputLockedError
from lifecircle.outfolder import LOCK_NAME, atomic_staging, output_lock, writing

OLD = {"a.csv": b"old a", "b.csv": b"old b", "run.json": json.dumps({"outputs": ["a.csv", "b.csv", "run.json"]}).encode()}
NEW = {"a.csv": b"new a", "c.csv": b"new c", "run.json": json.dumps({"outputs": ["a.csv", "c.csv", "run.json"]}).encode()}


def _fill(out: Path, files: dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)


def _contents(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".lifecircle"))


def _write_new(out: Path) -> None:
    with atomic_staging(out, manifest="run.json") as stage:
        for name, data in NEW.items():
            writing(stage / name).write_bytes(data)


def test_new_set_replaces_the_old_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fill(out, {**OLD, "notes.txt": b"mine"})
    _write_new(out)
    # b.csv was in the previous set (run.json's list) and not in the new one: it goes too.
    assert _contents(out) == {**NEW, "notes.txt": b"mine"}
    assert _hidden(out) == []


def test_a_hostile_manifest_names_nothing_outside_the_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep")
    hostile = ["../outside.txt", str(outside), LOCK_NAME, ".", "..", "sub/x", 7, None, "keep.txt\x00"]
    _fill(out, {"run.json": json.dumps({"outputs": hostile}).encode(), "keep.txt": b"keep"})
    _write_new(out)
    assert outside.read_bytes() == b"keep"
    assert _contents(out) == {**NEW, "keep.txt": b"keep"}


def _count_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = []
    real = os.replace
    monkeypatch.setattr(outfolder.os, "replace", lambda *a, **k: (calls.append(a), real(*a, **k))[1])
    _fill(tmp_path / "count", OLD)
    _write_new(tmp_path / "count")
    monkeypatch.setattr(outfolder.os, "replace", real)
    return len(calls)


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "in use by another program"),
                                   OSError(errno.EIO, "input/output error")])
def test_any_failed_move_leaves_the_complete_previous_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          error: OSError) -> None:
    # Fail each rename of the swap in turn (journal writes, old files aside, new files in, commit):
    # every time, the folder holds exactly the previous set.
    real = os.replace
    n_calls = _count_replaces(tmp_path, monkeypatch)
    assert n_calls >= len(OLD) + len(NEW)
    for k in range(n_calls):
        out = tmp_path / f"out{k}"
        _fill(out, {**OLD, "notes.txt": b"mine"})
        seen = []

        def failing(src, dst, *, _k=k, _seen=seen):
            _seen.append(src)
            if len(_seen) - 1 == _k:
                raise error
            return real(src, dst)

        monkeypatch.setattr(outfolder.os, "replace", failing)
        with pytest.raises(OutputError, match="previous files"):
            _write_new(out)
        monkeypatch.setattr(outfolder.os, "replace", real)
        assert _contents(out) == {**OLD, "notes.txt": b"mine"}, f"failure at rename {k}"
        assert _hidden(out) == [], f"leftovers after a failure at rename {k}"


def test_a_folder_in_the_way_of_a_file_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _fill(out, OLD)
    (out / "c.csv").mkdir()
    (out / "c.csv" / "precious.txt").write_bytes(b"user data")
    with pytest.raises(OutputError, match="folder named 'c.csv'"):
        _write_new(out)
    assert _contents(out) == OLD
    assert (out / "c.csv" / "precious.txt").read_bytes() == b"user data"
    assert _hidden(out) == []


@pytest.mark.parametrize("stop", [RuntimeError("writer bug"), KeyboardInterrupt()])
def test_a_failure_while_writing_keeps_the_previous_set(tmp_path: Path, stop: BaseException) -> None:
    out = tmp_path / "out"
    _fill(out, OLD)
    with pytest.raises(type(stop)), atomic_staging(out, manifest="run.json") as stage:
        writing(stage / "a.csv").write_bytes(b"half")
        raise stop
    assert _contents(out) == OLD
    assert _hidden(out) == []


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk full while writing"),
                                              (errno.EIO, "could not write")])
def test_write_errors_name_the_file(tmp_path: Path, code: int, words: str) -> None:
    out = tmp_path / "out"
    _fill(out, OLD)
    with pytest.raises(OutputError) as info, atomic_staging(out, manifest="run.json") as stage:
        writing(stage / "a.csv").write_bytes(b"new a")
        with open(writing(stage / "gaps.xlsx"), "wb"):
            raise OSError(code, os.strerror(code))
    assert words in str(info.value)
    assert str(out / "gaps.xlsx") in str(info.value)
    assert isinstance(info.value, LifecircleError)
    assert _contents(out) == OLD
    assert _hidden(out) == []


def test_ctrl_c_during_the_swap_waits_until_the_set_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    _fill(out, OLD)
    real = os.replace
    sent = []

    def replace_then_interrupt(src, dst):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the swap
        return real(src, dst)

    monkeypatch.setattr(outfolder.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _write_new(out)
    assert sent
    assert _contents(out) == NEW  # the interrupt waited for the swap to finish: the complete new set
    assert _hidden(out) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_lock_stops_a_second_process_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out):
        assert (out / LOCK_NAME).read_text(encoding="ascii").strip() == str(os.getpid())
        code = ("import sys\nfrom lifecircle.outfolder import output_lock\n"
                "with output_lock(sys.argv[1]):\n    pass\n")
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60, check=False)
        assert time.monotonic() - start < 30
        assert proc.returncode != 0
        assert "OutputLockedError" in proc.stderr
        assert str(out) in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert not (out / LOCK_NAME).exists()  # released and removed
    with output_lock(out):  # free again
        pass


def test_lock_error_is_an_output_error() -> None:
    assert issubclass(OutputLockedError, OutputError) and issubclass(OutputError, LifecircleError)


_KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from lifecircle import outfolder
    out, stop_at, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    real = os.replace
    calls = []

    def replace(src, dst):
        if len(calls) == stop_at:
            Path(sys.argv[4]).write_text("ready")
            time.sleep(120)
        calls.append(src)
        return real(src, dst)

    outfolder.os.replace = replace
    new = {"a.csv": b"new a", "c.csv": b"new c", "run.json": b'{"outputs": ["a.csv", "c.csv", "run.json"]}'}
    with outfolder.atomic_staging(out, manifest="run.json") as stage:
        for name, data in new.items():
            (stage / name).write_bytes(data)
        if mode == "writing":
            Path(sys.argv[4]).write_text("ready")
            time.sleep(120)
""")


def _kill_writer(tmp_path: Path, out: Path, stop_at: int, mode: str) -> None:
    ready = tmp_path / f"ready-{stop_at}-{mode}"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out), str(stop_at), mode, str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer never got ready"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("mode", "stop_at"), [("writing", -1)] + [("swap", k) for k in range(9)])
def test_the_next_run_repairs_what_a_killed_run_left(tmp_path: Path, mode: str, stop_at: int) -> None:
    # SIGKILL while writing, or before each rename of the swap up to its commit, then take the
    # folder with the same public function a run uses: the complete previous set is back.
    out = tmp_path / "out"
    _fill(out, {**OLD, "notes.txt": b"mine"})
    _kill_writer(tmp_path, out, stop_at, mode)
    assert (out / LOCK_NAME).exists() and _hidden(out) != [LOCK_NAME]  # the killed run's leftovers
    with output_lock(out):
        assert _hidden(out) == [LOCK_NAME]
    assert _contents(out) == {**OLD, "notes.txt": b"mine"}
    assert _hidden(out) == []


@pytest.mark.parametrize("bad", ["/proc/lifecircle-x", "file/below", ""])
def test_unusable_out_is_refused(tmp_path: Path, bad: str) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    target = bad if bad.startswith("/") or not bad else str(tmp_path / bad)
    with pytest.raises(OutputError, match="--out") as info:
        outfolder.check_output_folder(target)
    assert "expected" in str(info.value) and "found" in str(info.value)
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_disk_full_reported_only_when_flushing_keeps_the_previous_set(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # With delayed allocation a full disk can surface at fsync, after every write "succeeded".
    out = tmp_path / "out"
    _fill(out, OLD)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outfolder.os, "fsync", full)
    with pytest.raises(OutputError, match="disk full while writing") as info:
        _write_new(out)
    assert str(out / "a.csv") in str(info.value)
    assert _contents(out) == OLD
    assert _hidden(out) == []


_NAMES = ["map.html", "results.gpkg", "gaps.csv", "gaps.xlsx", "run.json", "extra.txt"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old_names=st.sets(st.sampled_from(_NAMES)), new_names=st.sets(st.sampled_from(_NAMES), min_size=1),
       user_names=st.sets(st.sampled_from(["notes.txt", "photo.jpg", "gaps.csv.bak"])),
       fail_at=st.one_of(st.none(), st.integers(min_value=0, max_value=20)))
def test_the_folder_always_holds_one_whole_set(tmp_path_factory: pytest.TempPathFactory,
                                               monkeypatch: pytest.MonkeyPatch, old_names: set[str],
                                               new_names: set[str], user_names: set[str], fail_at: int | None) -> None:
    out = tmp_path_factory.mktemp("prop") / "out"
    old = {n: f"old {n}".encode() for n in old_names}
    if old_names:
        old["run.json"] = json.dumps({"outputs": sorted(old_names | {"run.json"})}).encode()
    new = {n: f"new {n}".encode() for n in new_names}
    user = {n: b"user" for n in user_names}
    _fill(out, {**old, **user})
    real = os.replace
    calls: list[object] = []

    def maybe_fail(src, dst):
        calls.append(src)
        if fail_at is not None and len(calls) - 1 == fail_at:
            raise PermissionError(errno.EACCES, "locked")
        return real(src, dst)

    monkeypatch.setattr(outfolder.os, "replace", maybe_fail)
    try:
        with atomic_staging(out, manifest="run.json") as stage:
            for name, data in new.items():
                writing(stage / name).write_bytes(data)
    except OutputError:
        pass
    finally:
        monkeypatch.setattr(outfolder.os, "replace", real)
    after = _contents(out)
    assert after in ({**old, **user}, {**new, **user}), (sorted(after), fail_at)
    assert _hidden(out) == []
