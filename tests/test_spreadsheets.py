"""CSV and XLSX writers: no live formula from data, numbers unchanged, Excel's limits kept."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle import spreadsheets
from lifecircle.spreadsheets import neutralise_formulas, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "=1+1", "+SUM(A1)", "@cmd", "-2+3", "\tTAB", "\rCR", "plain", "a=1", ""]


def _table() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame({
        "rank": range(1, n + 1),
        "community": HOSTILE,
        "people": [-12.5, 3.0, -1.0, 0.0, 7.25, -0.5, 1.0, 2.0, 3.0, 4.0],
        "mixed": [-3, "=2", None, 4.5, "-x", "ok", -7, "@", "", "+"],
    })


def test_neutralise_quotes_text_only() -> None:
    frame = _table()
    out = neutralise_formulas(frame)
    assert out["community"].tolist() == [
        '\'=HYPERLINK("http://x","y")', "'=1+1", "'+SUM(A1)", "'@cmd", "'-2+3", "'\tTAB", "'\rCR", "plain", "a=1", ""]
    pd.testing.assert_series_equal(out["people"], frame["people"])  # negative numbers stay numbers
    assert out["mixed"].tolist()[:4] == [-3, "'=2", None, 4.5]
    assert out["mixed"].tolist()[4:] == ["'-x", "ok", -7, "'@", "", "'+"]
    assert frame["community"].tolist() == HOSTILE  # input untouched
    assert list(neutralise_formulas(pd.DataFrame({"=bad": [1]})).columns) == ["'=bad"]


def test_csv_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_csv(_table(), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    text = [r[1] for r in rows[1:]]
    assert all(not t.startswith(spreadsheets.FORMULA_PREFIXES) for t in text)
    assert text[0] == '\'=HYPERLINK("http://x","y")' and text[4] == "'-2+3"
    assert [r[2] for r in rows[1:4]] == ["-12.5", "3.0", "-1.0"]  # numbers as numbers
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["people"].dtype == float and back["people"].iloc[0] == -12.5


def test_xlsx_text_cells_are_strings_not_formulas(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    header = "=HEADER()"
    write_xlsx(path, {"cells": _table().rename(columns={"rank": header})})
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet
    ws = openpyxl.load_workbook(path)["cells"]
    assert ws.cell(1, 1).value == header and ws.cell(1, 1).data_type == "s"
    values = [ws.cell(r, 2).value for r in range(2, len(HOSTILE) + 2)]
    assert values[:6] == HOSTILE[:6]  # as written, no quote added
    assert values[6] in ("\rCR", "\nCR")  # XML reads a bare CR back as LF
    assert all(ws.cell(r, 2).data_type == "s" for r in range(2, 9))
    assert [ws.cell(r, 3).value for r in range(2, 5)] == [-12.5, 3, -1]
    assert ws.cell(2, 3).data_type == "n" and ws.cell(2, 4).value == -3 and ws.cell(3, 4).value == "=2"
    assert openpyxl.load_workbook(path).sheetnames == ["cells"]  # nothing cut: no note


def test_xlsx_same_tables_same_bytes(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "a.xlsx", {"cells": _table()})
    write_xlsx(tmp_path / "b.xlsx", {"cells": _table()})
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_xlsx_long_table_keeps_top_rows_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 5)  # Excel: 1,048,576 rows with the header
    table = pd.DataFrame({"rank": range(1, 9), "people": [80.0, 70, 60, 50, 40, 30, 20, 10]})
    small = pd.DataFrame({"name": ["a", "b"], "x": [1, 2]})
    path = tmp_path / "gaps.xlsx"
    write_xlsx(path, {"cells": table, "communities": small}, full_copies={"cells": "gaps.csv"})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["cells", "communities", "note 说明"]
    assert book.active.title == "note 说明"  # opened first
    cells = book["cells"]
    assert cells.max_row == 5  # header + the 4 most populous rows
    assert [cells.cell(r, 2).value for r in range(2, 6)] == [80, 70, 60, 50]
    assert book["communities"].max_row == 3
    note = book["note 说明"].cell(1, 1).value
    assert "first 4 of 8 rows" in note and "gaps.csv holds every row" in note and "5" in note
    assert book["note 说明"].max_row == 1


def test_xlsx_long_text_is_cut_to_the_cell_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_CELL_CHARS", 10)  # Excel: 32,767
    table = pd.DataFrame({"name": ["x" * 25, "short", "bad\x01char"], "n": [1, 2, 3]})
    path = tmp_path / "gaps.xlsx"
    write_xlsx(path, {"cells": table}, full_copies={"cells": "gaps.csv"})
    book = openpyxl.load_workbook(path)
    ws = book["cells"]
    assert ws.cell(2, 1).value == "x" * 9 + "…" and len(ws.cell(2, 1).value) == 10
    assert ws.cell(3, 1).value == "short"
    assert ws.cell(4, 1).value == "bad\ufffdchar"  # a control character XLSX cannot hold
    assert "gaps.csv holds the whole text" in book["note 说明"].cell(1, 1).value
    assert table["name"].iloc[0] == "x" * 25  # input untouched


_TEXT = st.text(alphabet=st.sampled_from(list("ab =+-@&<>\"' \n\t\r东水门_x0041#!/?")), max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_TEXT | st.none(), st.floats(allow_infinity=False) | st.none(), st.integers(-2**40, 2**40),
                          st.booleans(), st.sampled_from(["", " lead", "trail ", "#N/A ", "=1+1", "a&b<c>"])),
                min_size=0, max_size=30))
def test_xlsx_rows_written_column_wise_are_openpyxls_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                           rows: list[tuple]) -> None:
    table = pd.DataFrame(rows, columns=["name", "minutes", "people", "served", "note"])
    table["name"] = table["name"].astype(object)
    table["ratio"] = table["minutes"] / 7  # floats that need all their digits
    folder = tmp_path_factory.mktemp("xlsx")
    assert spreadsheets._plain(table)
    write_xlsx(folder / "fast.xlsx", {"cells": table, "other": table.iloc[::-1]})
    monkey = pytest.MonkeyPatch()
    monkey.setattr(spreadsheets, "_plain", lambda frame: False)  # openpyxl, cell by cell
    try:
        write_xlsx(folder / "slow.xlsx", {"cells": table, "other": table.iloc[::-1]})
    finally:
        monkey.undo()
    assert (folder / "fast.xlsx").read_bytes() == (folder / "slow.xlsx").read_bytes()


def test_xlsx_tables_outside_plain_markup_go_cell_by_cell(tmp_path: Path) -> None:
    assert not spreadsheets._plain(pd.DataFrame({"code": ["#N/A"]}))  # openpyxl writes an error cell
    assert not spreadsheets._plain(pd.DataFrame({"x": [1.0, float("inf")]}))
    assert not spreadsheets._plain(pd.DataFrame({"mixed": [1, "a"]}))
    write_xlsx(tmp_path / "t.xlsx", {"cells": pd.DataFrame({"code": ["#N/A", "ok"]})})
    assert openpyxl.load_workbook(tmp_path / "t.xlsx")["cells"].cell(3, 1).value == "ok"


@settings(max_examples=40, deadline=None)
@given(st.lists(_TEXT | st.none(), min_size=1, max_size=30), st.sampled_from([object, "str"]))
def test_text_neutralised_and_fitted_only_where_needed_as_value_by_value(values: list, dtype: object) -> None:
    column = pd.Series(values, dtype=dtype)
    fast = spreadsheets._only_where(column, lambda text: text.str.startswith(spreadsheets.FORMULA_PREFIXES),
                                    spreadsheets._neutral)
    assert fast.astype(object).where(fast.notna(), None).tolist() == column.map(spreadsheets._neutral).astype(
        object).where(column.notna(), None).tolist()
