"""Progress bars that stay silent when stderr is not a terminal (CI, logs, pipes)."""

from __future__ import annotations

from typing import Any

from lifecircle import settings

__all__ = ["progress_bar"]


def progress_bar(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> Any:  # noqa: ANN401
    """A ``tqdm.auto`` bar, shown only when enabled, allowed by settings, and on a TTY.

    ``disable=None`` makes tqdm check for a terminal itself.
    """
    from tqdm.auto import tqdm

    show = enabled and settings.use_progress_bars
    kwargs.setdefault("leave", False)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, disable=None if show else True, **kwargs)
