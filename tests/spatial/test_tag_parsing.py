"""Tags parsed once per distinct value give exactly what parsing every row gave.

The references below are the row-by-row parsers the network and the terrain model used
before (string methods over every edge); hypothesis draws tag columns with repeated,
missing, malformed, multi-valued and numeric values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.spatial import terrain
from lifecircle.spatial.network import ELEVATED, GROUND, UNDERGROUND, distinct_values, edge_level, per_distinct_value

TAG_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["yes", "no", "NO", " Yes ", "false", "0", "1", "-1", "2", "-1;0", "1;2", " 3 ", "1.5", "-0",
                     "up", "down", "10%", "-5°", "8 deg", "12,5%", "steep", "", "building_passage", "underground",
                     "indoor", "forward", "backward", "steps", "elevator", "primary", "designated", "1e3", "inf",
                     "12345678901234567890", "9007199254740993", "0x10"]),
    st.text(alphabet="0123456789-+.;% °abcdegrx", max_size=6),
)
COLUMNS = ("layer", "level", "tunnel", "bridge", "covered", "location", "indoor", "incline", "highway",
           "conveying", "handrail", "wheelchair", "ramp:wheelchair", "step_count")


@st.composite
def edge_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=25))
    present = draw(st.lists(st.sampled_from(COLUMNS), unique=True))
    table = {c: pd.Series(draw(st.lists(TAG_TEXT, min_size=n, max_size=n)), dtype=draw(st.sampled_from([object, "str"])))
             for c in present}
    table["length_m"] = pd.Series(np.full(n, 10.0))
    if draw(st.booleans()):
        table["lift_node"] = pd.Series(draw(st.lists(st.sampled_from([None, 7, 8]), min_size=n, max_size=n)), dtype=object)
    return pd.DataFrame(table, index=pd.RangeIndex(n))


# --------------------------------------------------------------------- the row-by-row references
def _ref_tag(edges: pd.DataFrame, name: str) -> pd.Series:
    if name in edges:
        return edges[name].astype("string").fillna("").astype(object)
    return pd.Series([""] * len(edges), index=edges.index, dtype=object)


def _ref_edge_level(edges: pd.DataFrame) -> np.ndarray:
    def present(name: str) -> np.ndarray:
        col = _ref_tag(edges, name).str.lower()
        return ((col != "") & ~col.isin(("no", "false", "0"))).to_numpy(dtype=bool)

    text = _ref_tag(edges, "layer").astype(str).str.split(";").str[0].str.strip()
    layer = pd.to_numeric(text, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    covered = _ref_tag(edges, "covered").astype(str).str.lower().isin(["yes"]).to_numpy(dtype=bool)
    location = _ref_tag(edges, "location").astype(str).str.lower().isin(["underground", "indoor"]).to_numpy(dtype=bool)
    lift = edges["lift_node"].notna().to_numpy(dtype=bool) if "lift_node" in edges else np.zeros(len(edges), bool)
    under = present("tunnel") | covered | location | present("indoor") | (layer < 0) | lift
    over = present("bridge") | (layer > 0)
    out = np.full(len(edges), GROUND, dtype=np.int8)
    out[over] = ELEVATED
    out[under] = UNDERGROUND
    return out


def _ref_str_col(edges: pd.DataFrame, name: str) -> pd.Series:
    if name not in edges:
        return pd.Series(pd.NA, index=edges.index, dtype="string")
    return edges[name].astype("string").str.strip().str.lower()


def _ref_is_elevated(edges: pd.DataFrame) -> np.ndarray:
    no = terrain._NO_VALUES
    bridge, tunnel = _ref_str_col(edges, "bridge"), _ref_str_col(edges, "tunnel")
    layer = pd.to_numeric(_ref_str_col(edges, "layer"), errors="coerce")
    out = (bridge.notna() & ~bridge.isin(no)) | (tunnel.notna() & ~tunnel.isin(no))
    out = out | (layer.notna() & (layer != 0))
    return out.fillna(False).to_numpy(dtype=bool)


def _ref_numbers(edges: pd.DataFrame) -> dict[str, np.ndarray]:
    def first(name: str, scale: float) -> np.ndarray:
        return (pd.to_numeric(_ref_str_col(edges, name).str.split(";").str[0], errors="coerce")
                * scale).to_numpy(dtype=float, na_value=np.nan)

    return {"level": first("level", terrain.STOREY_HEIGHT_M), "layer": first("layer", terrain.LAYER_HEIGHT_M),
            "step_count": pd.to_numeric(_ref_str_col(edges, "step_count"), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)}


def _ref_edge_kinds(edges: pd.DataFrame) -> dict[str, np.ndarray]:
    def mask(series: pd.Series) -> np.ndarray:
        return series.fillna(False).to_numpy(dtype=bool)

    highway, conveying, wheelchair = (_ref_str_col(edges, c) for c in ("highway", "conveying", "wheelchair"))
    steps, elevator = mask(highway == "steps"), mask(highway == "elevator")
    conv = mask(conveying.notna() & ~conveying.isin(terrain._NO_VALUES)) & ~elevator
    conv_dir = np.where(mask(conveying == "forward"), 1, np.where(mask(conveying == "backward"), -1, 0))
    return {"steps": steps, "elevator": elevator, "conveying": conv, "conv_dir": np.where(conv, conv_dir, 0),
            "handrail_no": mask(_ref_str_col(edges, "handrail") == "no"),
            "step_free": mask(wheelchair.isin(["yes", "designated"]) | (_ref_str_col(edges, "ramp:wheelchair") == "yes")),
            "wheelchair_no": mask(wheelchair == "no")}


# --------------------------------------------------------------------------------------- tests
@settings(max_examples=80, deadline=None)
@given(edges=edge_tables())
def test_edge_level_equals_row_by_row_parsing(edges: pd.DataFrame) -> None:
    got = edge_level(edges)
    assert got.dtype == np.int8
    assert got.tolist() == _ref_edge_level(edges).tolist()


@settings(max_examples=80, deadline=None)
@given(edges=edge_tables())
def test_terrain_tags_equal_row_by_row_parsing(edges: pd.DataFrame) -> None:
    assert terrain._is_elevated(edges).tolist() == _ref_is_elevated(edges).tolist()
    ref = _ref_numbers(edges)
    np.testing.assert_array_equal(terrain._tag_number(edges, "level", terrain._first_of_list) * terrain.STOREY_HEIGHT_M,
                                  ref["level"])
    np.testing.assert_array_equal(terrain._tag_number(edges, "layer", terrain._first_of_list) * terrain.LAYER_HEIGHT_M,
                                  ref["layer"])
    np.testing.assert_array_equal(terrain._tag_number(edges, "step_count"), ref["step_count"])
    kinds, want = terrain._edge_kinds(edges), _ref_edge_kinds(edges)
    for name, mask in want.items():
        assert kinds[name].tolist() == mask.tolist(), name


@settings(max_examples=80, deadline=None)
@given(values=st.lists(TAG_TEXT, max_size=30), dtype=st.sampled_from([object, "str", "string"]))
def test_parse_incline_equals_row_by_row_parsing(values: list[str | None], dtype: object) -> None:
    series = pd.Series(values, dtype=dtype, index=pd.RangeIndex(100, 100 + len(values)))
    got = terrain.parse_incline(series)
    want = terrain._parse_incline_values(series)  # the parser over every row
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(TAG_TEXT, max_size=30))
def test_per_distinct_value_equals_parsing_every_row(values: list[str | None]) -> None:
    def parse(s: pd.Series) -> np.ndarray:  # a parser whose number type depends on all values it sees
        return pd.to_numeric(s.astype("string").str.split(";").str[0].str.strip(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)

    series = pd.Series(values, dtype=object)
    np.testing.assert_array_equal(per_distinct_value(series, parse), parse(series))
    codes, distinct = distinct_values(series)
    assert [distinct[c] for c in codes] == [None if v is None else v for v in values]
    assert len(set(distinct.dropna())) == distinct.notna().sum()
