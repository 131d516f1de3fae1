"""Read a user's YAML file (catalogue, profiles, standards) safely.

Plain YAML only: no tags that build Python objects (``yaml.SafeLoader``), and no anchors or
aliases (``&name`` / ``*name``): the files are short lists of settings that never need them,
and aliases are what a "billion laughs" file uses to expand a few lines into gigabytes.
The file size is capped too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lifecircle._errors import InputNotFoundError, LifecircleError

__all__ = ["MAX_YAML_BYTES", "read_yaml"]

#: Largest YAML settings file accepted (the bundled catalogue is about 20 kB).
MAX_YAML_BYTES = 2_000_000


class _PlainLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.MarkedYAMLError(
                None, None, "YAML anchors and aliases (&name / *name) are not accepted; write each value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def read_yaml(path: str | Path, *, error: type[LifecircleError], what: str) -> Any:
    """Parse a user's YAML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (UTF-8, a BOM is allowed).
    error : type
        The lifecircle error class to raise for an unusable file.
    what : str
        How messages name the file, e.g. ``"--catalogue file"``.

    Returns
    -------
    object
        The parsed document (a mapping, list or scalar; ``None`` for an empty file).

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    error
        Not a file, too large, not UTF-8, not valid YAML, or uses anchors/aliases.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"{what} {str(path)!r} does not exist.")
    if not path.is_file():
        raise error(f"{what} {str(path)!r} is not a file; expected a YAML file.")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise error(f"{what} {str(path)!r} is {size:,} bytes; a settings file is expected to be at most "
                    f"{MAX_YAML_BYTES:,} bytes.")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    try:
        return yaml.load(text, Loader=_PlainLoader)
    except yaml.YAMLError as exc:
        raise error(f"{what} {str(path)!r} is not valid YAML: {_short_yaml_error(exc)}.") from None
    except RecursionError:
        raise error(f"{what} {str(path)!r} nests too deeply to be a settings file.") from None


def _short_yaml_error(exc: yaml.YAMLError) -> str:
    """The parser's problem and line, without its echo of the text (which may be huge)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p) or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        text = what + where
    else:
        text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."
