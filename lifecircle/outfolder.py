"""The output folder: checked before the run, locked during it, its file set replaced whole.

A run's files are first written into a staging folder inside ``--out`` (same file system,
so moves are renames). Only when every file exists is the previous set swapped for the new
one: each old file of the set is moved into a backup folder, each new file moved in, and
on any error the moves are undone. The backup folder then leaves (one rename, the commit
point) and is deleted. Files in ``--out`` that do not belong to the set are never touched.

A run killed outright (SIGKILL, power cut of the process) can leave a staging or a backup
folder behind; the next run on the same folder removes the staging folder and, from the
backup folder's journal, restores the previous set before it starts. A lock file held with
``flock`` for the whole run makes a second run on the same folder stop at once.

Names the folder may hold (all hidden): ``.lifecircle.lock`` (only while a run holds it),
``.lifecircle-staging-<pid>-<random>`` and ``.lifecircle-backup-<pid>-<random>``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lifecircle._errors import LifecircleError, OutputError, OutputLockedError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_NAME",
    "atomic_staging",
    "check_output_folder",
    "output_lock",
    "writing",
]

log = logging.getLogger(__name__)

#: Name of the lock file inside the output folder (present only while a run holds it).
LOCK_NAME = ".lifecircle.lock"
_STAGING = ".lifecircle-staging-"
_BACKUP = ".lifecircle-backup-"
_PROBE = ".lifecircle-probe-"
_JOURNAL = ".swap.json"
_MAX_SHOWN = 200  # characters of a user path shown in a message

_held: dict[str, int] = {}  # output folders this process holds the lock of -> nesting depth
_active: set[str] = set()  # staging / backup folders this process is using now
_current: dict[str, Path] = {}  # staging folder -> the file being written into it now


def _show(path: str | Path) -> str:
    text = str(path)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return repr(text)


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__


def _is_disk_full(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return True
        if "No space left on device" in str(exc)[:2000] or "Disk quota exceeded" in str(exc)[:2000]:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def check_output_folder(out_dir: str | Path, *, keep: bool = False) -> Path:
    """Prove that ``out_dir`` is, or can be created as, a folder one can write files into.

    The folder is created if needed and a probe file is written and deleted in it; folders
    this created are removed again unless ``keep`` (always when the check fails). Call it
    before any expensive work.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The ``--out`` folder.
    keep : bool
        Keep the folders this call created (the run writes into them next).

    Returns
    -------
    pathlib.Path
        ``out_dir`` as a path.

    Raises
    ------
    OutputError
        The name is empty, it exists and is not a folder, it cannot be created, or a file
        cannot be written into it.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "maps" / "yuzhong"
    >>> check_output_folder(out) == out, out.exists()  # proven, then removed again
    (True, False)
    """
    if not str(out_dir).strip():
        raise OutputError("--out is empty: expected the path of an output folder; found ''.")
    out = Path(out_dir)
    try:
        not_a_folder = out.exists() and not out.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise OutputError(f"--out {_show(out)} cannot be used: expected the path of an output folder; found: "
                          f"{_reason(exc) if isinstance(exc, OSError) else exc}.") from None
    if not_a_folder:
        raise OutputError(f"--out {_show(out)} exists and is not a folder: expected an output folder; found a file.")
    created, proven = [], False
    missing = out
    while not os.path.lexists(missing) and missing != missing.parent:
        created.append(missing)
        missing = missing.parent
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parent = out.parent
            while parent != parent.parent and not os.path.lexists(parent):
                parent = parent.parent
            found = (f"{_show(parent)} is a file, not a folder" if os.path.lexists(parent) and not parent.is_dir()
                     else f"{_reason(exc)} (creating it in {_show(parent)})")
            raise OutputError(f"--out {_show(out)} cannot be created: expected a folder lifecircle can create and "
                              f"write to; found: {found}.") from None
        probe = out / f"{_PROBE}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"lifecircle")
            finally:
                os.close(fd)
                probe.unlink()
        except OSError as exc:
            if _is_disk_full(exc):
                raise OutputError(f"--out {_show(out)}: disk full (a test file could not be written).") from None
            raise OutputError(f"--out {_show(out)} cannot be written: expected a folder you can write to; "
                              f"found: {_reason(exc)}.") from None
        proven = True
    finally:
        if not (keep and proven):
            for folder in created:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return out


def _lock_holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace")[:20].strip()
    except OSError:
        return ""
    return f" (pid {int(text)})" if text.isdigit() else ""


def _acquire(out: Path) -> int:
    """Open and lock ``out/LOCK_NAME`` without waiting; the file descriptor holding it."""
    path = out / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(20):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise OutputError(f"--out {_show(out)}: cannot create the lock file {LOCK_NAME}: {_reason(exc)}.") from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                import msvcrt  # noqa: PLC0415 - exists on Windows only

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK):
                raise OutputLockedError(
                    f"--out {_show(out)} is in use by another lifecircle run{_lock_holder(path)}: expected a "
                    f"folder no other run writes to. Wait for that run to end or choose another --out.") from None
            raise OutputError(f"--out {_show(out)}: cannot lock {LOCK_NAME}: {_reason(exc)}.") from None
        # The holder before us may have removed the file after we opened it: lock the file
        # that is really there, or try again.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
        except OSError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        return fd
    raise OutputLockedError(f"--out {_show(out)}: the lock file {LOCK_NAME} keeps changing; another run is "
                            "starting or stopping there. Try again.")


def _release(out: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(out / LOCK_NAME)  # removed while still held, so no one locks a stale copy
    os.close(fd)


@contextlib.contextmanager
def output_lock(out_dir: str | Path) -> Iterator[Path]:
    """Hold the output folder for the duration of the block.

    Checks the folder first (:func:`check_output_folder`), then takes an exclusive lock
    (``flock`` on ``.lifecircle.lock``, released and removed at the end) and cleans what
    runs killed earlier left behind (staging folders; an interrupted swap is undone so the
    previous set is whole again). Nested use in one process is allowed. A folder this
    call created is removed again when the block fails and it is still empty.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The ``--out`` folder.

    Yields
    ------
    pathlib.Path
        The checked folder.

    Raises
    ------
    OutputLockedError
        Another process holds the lock (the message names the folder and its pid).
    OutputError
        The folder cannot be created or written.

    Examples
    --------
    >>> import tempfile
    >>> with output_lock(Path(tempfile.mkdtemp()) / "out") as out:
    ...     (out / ".lifecircle.lock").exists()
    True
    """
    existed = os.path.isdir(out_dir) if str(out_dir).strip() else True
    out = check_output_folder(out_dir, keep=True)
    key = os.path.realpath(out)
    if key in _held:
        _held[key] += 1
        try:
            yield out
        finally:
            _held[key] -= 1
        return
    fd = _acquire(out)
    _held[key] = 1
    done = False
    try:
        _clean_leftovers(out)
        yield out
        done = True
    finally:
        del _held[key]
        _release(out, fd)
        if not existed and not done:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty


def _plain_names(values: Iterable[Any]) -> set[str]:
    """File names safe to treat as members of an output set (no paths, none of ours)."""
    names = set()
    for v in list(values)[:1000]:
        if (isinstance(v, str) and 0 < len(v) <= 255 and v not in (".", "..") and "/" not in v and "\\" not in v
                and "\x00" not in v and not v.startswith(".lifecircle")):
            names.add(v)
    return names


def _manifest_names(out: Path, manifest: str | None) -> set[str]:
    """The ``outputs`` list of the previous set's manifest (a JSON file), if readable."""
    if not manifest:
        return set()
    path = out / manifest
    try:
        if not path.is_file() or path.stat().st_size > 50_000_000:
            return set()
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return set()
    listed = data.get("outputs") if isinstance(data, dict) else None
    return _plain_names(listed) if isinstance(listed, list) else set()


def _write_journal(backup: Path, **state: Any) -> None:
    tmp = backup / (_JOURNAL + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, backup / _JOURNAL)


def _restore(out: Path, backup: Path) -> None:
    """Undo an interrupted swap: new files out, old files back (from the backup's journal)."""
    try:
        journal = json.loads((backup / _JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        journal = {}
    if journal.get("phase") == "in":  # every old file was aside: the set's names in --out are new files
        for name in _plain_names(journal.get("new", [])):
            target = out / name
            if target.is_file() or target.is_symlink():
                target.unlink()
        _write_journal(backup, **{**journal, "phase": "aside"})  # from here on, names in --out are old files
    for item in sorted(backup.iterdir()):
        if item.name.startswith(_JOURNAL):
            continue
        os.replace(item, out / item.name)
    shutil.rmtree(backup)


def _clean_leftovers(out: Path) -> None:
    """With the lock held: restore sets left mid-swap, delete staging folders and probes of dead runs."""
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:  # backups first: they may need files back before anything is deleted
        if entry.name.startswith(_BACKUP) and entry.name not in _active and entry.is_dir(follow_symlinks=False):
            try:
                with _signals_deferred():
                    _restore(out, Path(entry.path))
                log.warning("Restored the previous files in %s: a run was stopped while replacing them.", out)
            except OSError as exc:
                log.warning("Could not restore the previous files from %s: %s", entry.path, _reason(exc))
    for entry in entries:
        if entry.name in _active:
            continue
        if entry.name.startswith(_STAGING) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            log.info("Removed %s, left by a run that was stopped.", entry.name)
        elif entry.name.startswith(_PROBE) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def writing(path: Path) -> Path:
    """Mark ``path`` (inside a staging folder) as the file being written now.

    If writing fails, the error names this file (``disk full while writing <file>``).

    Parameters
    ----------
    path : pathlib.Path
        The file about to be written, inside a staging folder of :func:`atomic_staging`.

    Returns
    -------
    pathlib.Path
        ``path``, so that ``frame.to_csv(writing(staging / "gaps.csv"))`` reads naturally.
    """
    _current[str(Path(path).parent)] = Path(path)
    return path


def _final_name(out: Path, staging: Path) -> str:
    current = _current.get(str(staging))
    return _show(out / current.name) if current is not None else f"a file in --out {_show(out)}"


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (main thread only), then act as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous: dict[int, Any] = {}
    caught: int
    for caught in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            previous[caught] = signal.signal(caught, lambda s, _f: pending.append(s))
    try:
        yield
    finally:
        for caught, handler in previous.items():
            signal.signal(caught, handler)
        for sig in dict.fromkeys(pending):
            handler = previous.get(sig)
            if callable(handler):
                handler(sig, None)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(sig)


def _flush(out: Path, path: Path) -> None:
    """fsync a staged file (errors name it) or, for the output folder itself, its entries."""
    if path == out:
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return
    if not path.is_file() or path.is_symlink():
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        what = "disk full while writing" if _is_disk_full(exc) else "could not write"
        raise OutputError(f"{what} {_show(out / path.name)}: {_reason(exc)}. The previous files in --out are "
                          "kept unchanged.") from exc


def _swap(out: Path, staging: Path, backup: Path, new: list[str], old: list[str]) -> None:
    """Old set aside, new set in; undone on any error. Raises OutputError naming the file."""
    aside: list[str] = []
    moved_in: list[str] = []
    step = "record the swap"
    try:
        _write_journal(backup, phase="aside", old=old, new=new)
        for name in old:
            step = f"move the previous {_show(out / name)} aside"
            os.replace(out / name, backup / name)
            aside.append(name)
        _write_journal(backup, phase="in", old=old, new=new)
        for name in new:
            step = f"put the new {_show(out / name)} in place"
            os.replace(staging / name, out / name)
            moved_in.append(name)
        step = "finish"
        os.replace(backup, staging.with_name(staging.name + "-old"))  # the commit: no backup, no way back
    except BaseException as exc:
        try:
            for name in reversed(moved_in):
                os.replace(out / name, staging / name)
            if moved_in:
                _write_journal(backup, phase="aside", old=old, new=new)  # for a run killed while undoing
            for name in reversed(aside):
                os.replace(backup / name, out / name)
        except OSError as undo:
            raise OutputError(
                f"--out {_show(out)}: could not {step} ({_reason(exc)}), and undoing it failed too "
                f"({_reason(undo)}). The previous files are kept in {_show(backup)}; the next run on this "
                "folder puts them back.") from exc
        if isinstance(exc, OSError):
            hint = " (is it open in another program?)" if isinstance(exc, PermissionError) else ""
            raise OutputError(f"--out {_show(out)}: could not {step}: {_reason(exc)}{hint}. Nothing was "
                              "changed: the previous files are all still there.") from exc
        raise


@contextlib.contextmanager
def atomic_staging(out_dir: str | Path, *, replaces: Iterable[str] = (), manifest: str | None = None) -> Iterator[Path]:
    """A staging folder whose files replace the output set in ``out_dir`` whole, on success only.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder (checked, created and locked here; see :func:`output_lock`).
    replaces : iterable of str
        Names of files that belong to the set besides the staged ones: the ones present are
        moved out when the new set comes in, even if the new set lacks them.
    manifest : str, optional
        A JSON file of the set (e.g. ``run.json``) whose ``outputs`` list names the
        previous set's files; those are replaced too.

    Yields
    ------
    pathlib.Path
        The staging folder: write the new files there (mark each with :func:`writing`).

    Raises
    ------
    OutputError
        Writing failed (``disk full while writing <file>``, or another system error naming
        the file), or the old set could not be replaced (a folder in the way of a file, a
        file locked by another program). The previous set is then left complete.
    """
    with output_lock(out_dir) as out:
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        staging, backup = out / f"{_STAGING}{token}", out / f"{_BACKUP}{token}"
        _active.update({staging.name, backup.name, staging.name + "-old"})
        try:
            staging.mkdir()
            try:
                yield staging
            except LifecircleError:
                raise
            except Exception as exc:
                if _is_disk_full(exc):
                    raise OutputError(f"disk full while writing {_final_name(out, staging)}: free some space and "
                                      "run again. The previous files in --out are kept unchanged.") from exc
                if isinstance(exc, OSError):
                    raise OutputError(f"could not write {_final_name(out, staging)}: {_reason(exc)}. The previous "
                                      "files in --out are kept unchanged.") from exc
                raise
            new = sorted(p.name for p in staging.iterdir())
            for name in new:  # on disk before the swap: a late "disk full" is reported now, not lost
                _flush(out, staging / name)
            members = _plain_names(replaces) | _manifest_names(out, manifest) | set(new)
            old = sorted(n for n in members if os.path.lexists(out / n))
            for name in old:
                if (out / name).is_dir() and not (out / name).is_symlink():
                    raise OutputError(f"--out {_show(out)} holds a folder named {name!r} where lifecircle writes a "
                                      "file: expected a file or nothing; rename or move that folder. Nothing was "
                                      "changed.")
            backup.mkdir()
            with _signals_deferred():
                _swap(out, staging, backup, new, old)
            _flush(out, out)
        finally:
            _current.pop(str(staging), None)
            for leftover in (staging, staging.with_name(staging.name + "-old")):
                shutil.rmtree(leftover, ignore_errors=True)
            if backup.is_dir() and not any(p for p in backup.iterdir() if not p.name.startswith(_JOURNAL)):
                shutil.rmtree(backup, ignore_errors=True)  # nothing of the old set in it: nothing to restore
            _active.difference_update({staging.name, backup.name, staging.name + "-old"})

