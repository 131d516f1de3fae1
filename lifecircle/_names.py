"""Name helpers shared by the data layers and the computations (no dependencies)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["make_unique_names"]


def make_unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique by adding ``" (2)"``, ``" (3)"`` ... to repeats, in order.

    Parameters
    ----------
    names : iterable of str
        Names in their final order; the first occurrence keeps its name.

    Returns
    -------
    list of str
        Unique names, same length and order. A suffixed name never collides with a
        name already in the list.
    """
    names = [str(n) for n in names]
    taken = set(names)
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        k = 2
        while f"{name} ({k})" in taken:
            k += 1
        new = f"{name} ({k})"
        taken.add(new)
        seen.add(new)
        out.append(new)
    return out
