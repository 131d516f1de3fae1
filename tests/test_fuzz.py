"""Fuzzing the whole command: small valid inputs, mutated, must give exit 0 with a complete
output set, or exit 2 with a message and no output; never a traceback, never a hang.

Each case writes the small city of :mod:`tests.small_inputs` (an OSM XML file, a boundary
GeoJSON, a population CSV and a facilities CSV), spoils one or two of them (structure: lines
cut, doubled, swapped, the file truncated; numbers: NaN, infinities, 1e308, negatives, text;
encodings: UTF-16, GB18030, BOMs, NUL and invalid bytes; strings: template and formula syntax,
markup, control characters, 10,000 characters) and calls ``lifecircle run`` in-process.

The budget is ``LIFECIRCLE_FUZZ_EXAMPLES`` cases (default 30, about a minute):
``LIFECIRCLE_FUZZ_EXAMPLES=10000 pytest -m fuzz`` is the long run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import tempfile
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lifecircle.scripts.cli import main
from tests import small_inputs as city

EXAMPLES = int(os.environ.get("LIFECIRCLE_FUZZ_EXAMPLES", "30"))
#: Seconds one case may take before it counts as a hang (a normal case takes one or two).
CASE_LIMIT_S = float(os.environ.get("LIFECIRCLE_FUZZ_CASE_SECONDS", "60"))
OUTPUTS = {"map.html", "results.gpkg", "gaps.csv", "gaps.xlsx", "community_gaps.csv", "run.json"}

NUMBERS = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "-1", "-0", "0", "", "abc", "1,5",
           "99999999999999999999999", "0x1F", "1e", "--5", "٣", "１２"]
STRINGS = ["{{ 7*7 }}", "{% for x in y %}", "{# x", "=1+1", "+SUM(A1)", "@cmd", "-2+3", "<script>alert(1)</script>",
           "</script><b>", "\"quoted\"", "'", "a,b", "line\nbreak", "\r", "\t", "\x00", "\u202e", "🏥",
           "x" * 10_000, "社区" * 300, "&amp;", "&#0;", "]]>", "<!--", "NaN", "null", "true", ""]
NUMBER_RE = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _mutate(data: bytes, draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["number", "string", "cut", "double", "swap", "truncate", "bytes", "encoding"]))
    if kind == "number":
        spans = [m.span() for m in NUMBER_RE.finditer(data)]
        if spans:
            a, b = spans[draw(st.integers(0, len(spans) - 1))]
            return data[:a] + draw(st.sampled_from(NUMBERS)).encode("utf-8") + data[b:]
    if kind == "string":
        quoted = [m.span(1) for m in re.finditer(rb'"([^"]*)"', data)] or [m.span(1) for m in re.finditer(rb",([^,\n]+)\n", data)]
        if quoted:
            a, b = quoted[draw(st.integers(0, len(quoted) - 1))]
            text = draw(st.sampled_from(STRINGS) | st.text(max_size=30))
            if draw(st.booleans()) and data.lstrip().startswith(b"<"):
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")  # still valid XML
            return data[:a] + text.encode("utf-8", "surrogatepass") + data[b:]
    lines = data.split(b"\n")
    if kind == "cut" and len(lines) > 1:
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(i, min(len(lines), i + 5)))
        return b"\n".join(lines[:i] + lines[j:])
    if kind == "double" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[: i + 1] + [lines[i]] * draw(st.integers(1, 3)) + lines[i + 1:])
    if kind == "swap" and len(lines) > 1:
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "bytes":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=16) | st.sampled_from([b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3"])) + data[at:]
    if kind == "encoding":
        text = data.decode("utf-8", errors="replace")
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "gb18030", "utf-8-sig", "latin-1", "ascii"]))
        return text.encode(encoding, errors="replace")
    return data


@contextlib.contextmanager
def _time_cap(seconds: float):
    """Fail the case when it runs longer than ``seconds`` (a hang), on Unix."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _hang(signum, frame):
        raise TimeoutError(f"a case ran longer than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _hang)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_case(files: dict[str, bytes], folder: Path) -> tuple[int, str]:
    """Write the files, run the command, check the contract; return (exit code, stderr)."""
    paths = city.write_all(folder / "in")
    for key, data in files.items():
        paths[key].write_bytes(data)
    out = folder / "out"
    err = io.StringIO()
    try:
        with _time_cap(CASE_LIMIT_S), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(["run", "-q", *city.cli_args(paths, out)])
            except SystemExit as exc:  # argparse refusing an option
                code = exc.code if isinstance(exc.code, int) else 2
    except TimeoutError:
        pytest.fail(f"hang: no answer within {CASE_LIMIT_S:g} s")
    except Exception:
        pytest.fail("traceback instead of a message:\n" + traceback.format_exc())
    message = err.getvalue()
    if os.environ.get("LIFECIRCLE_FUZZ_LOG"):  # one line per case, for the campaign's tally
        with open(os.environ["LIFECIRCLE_FUZZ_LOG"], "a", encoding="utf-8") as log:
            first = next((line for line in message.splitlines() if "error" in line), "")
            log.write(f"{code}\t{sorted(files)}\t{first[:300]}\n")
    assert code in (0, 2), f"exit {code}: {message}"
    assert "Traceback" not in message
    written = {p.name for p in out.iterdir()} if out.exists() else set()
    if code == 0:
        assert OUTPUTS <= written, f"incomplete output set {sorted(written)}"
    else:
        assert "lifecircle: error:" in message or "error:" in message, message
        assert len(message) < 5_000, f"unbounded message ({len(message):,} characters)"
        assert not written, f"partial output after a refusal: {sorted(written)}"
    return code, message


@st.composite
def mutated_inputs(draw: st.DrawFn) -> dict[str, bytes]:
    originals = {"osm": city.osm_xml(), "boundary": city.boundary_geojson(), "population": city.population_csv(),
                 "facilities": city.facilities_csv()}
    keys = draw(st.lists(st.sampled_from(sorted(originals)), min_size=1, max_size=2, unique=True))
    out = {}
    for key in keys:
        data = originals[key].encode("utf-8")
        for _ in range(draw(st.integers(1, 3))):
            data = _mutate(data, draw)
        out[key] = data
    return out


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=EXAMPLES <= 100,
          # Every case runs the whole command: shrinking a failure could take many minutes, so it
          # is opt-in (LIFECIRCLE_FUZZ_SHRINK=1); the failing files are shown as they were.
          phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if os.environ.get("LIFECIRCLE_FUZZ_SHRINK") else [])],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=mutated_inputs())
def test_mutated_inputs_give_exit_0_or_a_clean_refusal(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_case(files, Path(tmp))


@pytest.mark.fuzz
def test_the_fuzz_harness_catches_what_it_looks_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness passes the valid city and fails on a traceback, a wrong exit and partial output."""
    assert run_case({}, tmp_path / "ok")[0] == 0
    import lifecircle.pipeline as pipeline

    def crash(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "run", crash)
    with pytest.raises(pytest.fail.Exception, match="traceback"):
        run_case({}, tmp_path / "crash")
