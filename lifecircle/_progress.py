"""Progress bars that stay silent when stderr is not a terminal (CI, logs, pipes)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from lifecircle import settings

__all__ = ["progress_bar", "Timings"]


def progress_bar(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar, shown only when enabled, allowed by settings, and on a TTY.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar updated by hand (``bar.update()``).
    enabled : bool
        False hides the bar whatever the settings (``progress=False`` of a step).
    **kwargs
        tqdm options (``desc``, ``total``, ``unit``...); ``leave`` defaults to False and
        ``mininterval`` to 0.5 s.

    Returns
    -------
    tqdm.tqdm
        The bar; ``disable=None`` lets tqdm hide it itself when stderr is no terminal.

    Examples
    --------
    >>> sum(progress_bar(range(3), enabled=False))
    3
    """
    show = enabled and settings.use_progress_bars
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, disable=None if show else True, **kwargs)


@dataclass
class Timings:
    """Seconds spent per step, in order."""

    steps: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str) -> _Timer:
        """Context manager adding the time of a block under ``name``."""
        return _Timer(self, name)


class _Timer:
    def __init__(self, timings: Timings, name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timings.steps[self.name] = round(self.timings.steps.get(self.name, 0.0) + time.perf_counter() - self.start, 4)
