"""Scripts and stylesheets inlined into the offline map, read from installed packages.

The map needs only Leaflet: every control (layer switcher, category selector, legend,
summary panel) is plain HTML/CSS written by :mod:`lifecircle.maps.build`, so folium's
CDN links to jQuery, Bootstrap, Font Awesome and awesome-markers are dropped. Leaflet's
``leaflet.js`` and ``leaflet.css`` come from the ``xstatic-leaflet`` wheel (PyPI:
``XStatic-Leaflet``); the images the stylesheet points to (layer-switcher icon, default
marker) are turned into ``data:`` URIs. Nothing is copied into this repository and
nothing is fetched at run time; when a file is missing the build stops with
:class:`~lifecircle._errors.MapAssetError` rather than silently linking a CDN.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lifecircle._errors import MapAssetError, OptionError

__all__ = ["InlineAssets", "leaflet_dir", "leaflet_assets", "external_resources", "check_offline", "write_page"]

log = logging.getLogger(__name__)

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


@dataclass(frozen=True)
class InlineAssets:
    """Leaflet's script and stylesheet, ready to be placed inside ``<script>``/``<style>``."""

    js: str
    css: str
    version: str
    source: str  # where they were read from, for the log and run.json


def leaflet_dir() -> Path:
    """Folder holding ``leaflet.js`` and ``leaflet.css`` in the installed ``xstatic-leaflet``.

    Returns
    -------
    pathlib.Path
        The folder of the package's Leaflet files.

    Raises
    ------
    MapAssetError
        When the package is not installed or lacks the files.
    """
    try:
        import xstatic.pkg.leaflet as xleaflet  # noqa: PLC0415 - a missing package becomes a MapAssetError
    except ImportError as exc:
        raise MapAssetError(
            "the offline map needs Leaflet from the 'XStatic-Leaflet' package, which is not installed "
            f"({exc}); install it with `pip install XStatic-Leaflet` (conda-forge: xstatic-leaflet)."
        ) from None
    base = Path(getattr(xleaflet, "BASE_DIR", Path(xleaflet.__file__).parent / "data"))
    for name in ("leaflet.js", "leaflet.css"):
        if not (base / name).is_file():
            raise MapAssetError(
                f"the offline map needs {name} from XStatic-Leaflet, but {base / name} does not exist; "
                "reinstall XStatic-Leaflet."
            )
    return base


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower())
    if mime is None or not path.is_file():
        raise MapAssetError(f"leaflet.css refers to {path.name}, which cannot be inlined (expected an image at {path}).")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css_urls(css: str, base: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if target.startswith(("data:", "#")):  # "#default#VML" is an old-IE behaviour, not a file
            return match.group(0)
        if re.match(r"^[a-z]+:", target, re.I) or target.startswith("//"):
            raise MapAssetError(f"leaflet.css refers to an outside resource {target!r}; it cannot be inlined.")
        return f'url("{_data_uri(base / target)}")'

    return re.sub(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", replace, css)


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> InlineAssets:
    """Leaflet's JavaScript and CSS (images as ``data:`` URIs) from the installed package.

    Returns
    -------
    InlineAssets
        Leaflet's script and stylesheet, to inline into the page.

    Raises
    ------
    MapAssetError
        When a file is missing or the stylesheet refers to something that cannot be inlined.
    """
    base = leaflet_dir()
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = _inline_css_urls((base / "leaflet.css").read_text(encoding="utf-8"), base)
    # A literal "</script" or "</style" inside would end the element early.
    if re.search(r"</script", js, re.I) or re.search(r"</style", css, re.I):
        raise MapAssetError(f"{base}: leaflet.js/leaflet.css contain a closing tag and cannot be inlined.")
    match = re.search(r'version\s*=\s*"([0-9.]+)"', js) or re.search(r"Leaflet ([0-9.]+)", js)
    version = match.group(1) if match else "unknown"
    log.debug("inlining Leaflet %s from %s (%d + %d bytes)", version, base, len(js), len(css))
    return InlineAssets(js=js, css=css, version=version, source=str(base))


_EXTERNAL_PATTERNS = (
    re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.I),
    re.compile(r"""url\(\s*["']?((?:https?:)?//[^"')\s]+)""", re.I),
)

_DATA_BLOCK = re.compile(r"""<script\b[^>]*\btype\s*=\s*["']application/json["'][^>]*>.*?</script>""", re.I | re.S)


def external_resources(html: str) -> list[str]:
    """Addresses of scripts, stylesheets, images and fonts the page would load from outside.

    ``data:`` URIs do not count. Tile-URL templates inside JavaScript strings are not
    resources of the page and are not reported.

    Parameters
    ----------
    html : str
        The page.

    Returns
    -------
    list of str
        The addresses, sorted, each once.

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/leaflet.js"></script><img src="data:image/png;base64,AA">')
    ['https://cdn.example/leaflet.js']
    """
    # Data blocks are JSON, not markup: their text (OSM names...) cannot load anything.
    html = _DATA_BLOCK.sub("", html)
    found: list[str] = []
    for pattern in _EXTERNAL_PATTERNS:
        for match in pattern.finditer(html):
            target = match.group(1)
            if not target.lower().startswith("data:"):
                found.append(target)
    return sorted(set(found))


def check_offline(html: str) -> None:
    """Check that the page links no outside script, stylesheet or image.

    Parameters
    ----------
    html : str
        The page.

    Raises
    ------
    MapAssetError
        The page would load something from outside the file (the message lists up to five).

    Examples
    --------
    >>> check_offline("<html><script>var a = 1;</script></html>")
    >>> check_offline('<link rel="stylesheet" href="http://cdn.example/leaflet.css">')
    Traceback (most recent call last):
    ...
    lifecircle._errors.MapAssetError: the map would load 1 resource(s) from outside the file (http://cdn.example/leaflet.css); ...
    """
    outside = external_resources(html)
    if outside:
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        raise MapAssetError(
            f"the map would load {len(outside)} resource(s) from outside the file ({shown}); "
            "every script and stylesheet must be inlined."
        )


def write_page(page: str, path: str | os.PathLike[str]) -> Path:
    """Write an HTML page atomically after checking that it links nothing from outside.

    The page goes to a temporary file in the target folder, which is then moved into place
    with :func:`os.replace`: a failed or interrupted write leaves the previous page, never a
    half-written one.

    Parameters
    ----------
    page : str
        The whole page.
    path : str or os.PathLike
        The ``.html`` file to write (UTF-8, ``\\n`` line ends, mode 0644).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    MapAssetError
        The page would load something from outside (:func:`check_offline`).
    OptionError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "page.html"
    >>> write_page("<html><body>ok</body></html>\\n", target).read_text(encoding="utf-8")
    '<html><body>ok</body></html>\\n'
    >>> sorted(p.name for p in target.parent.iterdir())  # no temporary file left behind
    ['page.html']
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OptionError(f"map output folder {target.parent} does not exist.")
    check_offline(page)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a map is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
