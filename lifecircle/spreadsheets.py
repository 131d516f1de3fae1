"""Tables written for spreadsheets (CSV and XLSX) without live formulas, within Excel's limits.

Text in the tables comes from data (OpenStreetMap names, community names, catalogue
labels) and is hostile: a name such as ``=HYPERLINK("http://x","y")`` must never become a
formula when a planner opens the file.

* CSV (:func:`write_csv`): a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return gets a leading ``'`` (OWASP's advice for CSV injection); numbers,
  negative ones included, are written unchanged (:func:`neutralise_formulas`).
* XLSX (:func:`write_xlsx`): every text cell is an explicit string cell, so ``=1+1``
  shows as text; at most :data:`MAX_ROWS` rows per sheet (the gap tables are ranked by
  people, so the top rows are kept) and :data:`MAX_CELL_CHARS` characters per cell. A cut
  is said in a note sheet (opened first) pointing at the CSV that holds every row.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell

__all__ = ["FORMULA_PREFIXES", "MAX_CELL_CHARS", "MAX_ROWS", "neutralise_formulas", "write_csv", "write_xlsx"]

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Excel's rows per sheet, the header row included.
MAX_ROWS = 1_048_576
#: Excel's characters per cell.
MAX_CELL_CHARS = 32_767

#: Characters XML 1.0 (and so XLSX) cannot hold; replaced by U+FFFD in the workbook.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NOTE_SHEET = "note 说明"
_FIXED_DATE = dt.datetime(2000, 1, 1)


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and headers) cannot start a formula.

    Text starting with one of :data:`FORMULA_PREFIXES` gets a leading ``'``. Only values
    that are ``str`` change: numeric columns, and numbers inside object columns, stay
    as they are (``-3.5`` is still a number).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (not modified).

    Returns
    -------
    pandas.DataFrame
        A copy whose text cells cannot start a spreadsheet formula.
    """
    out = frame.copy()
    for i, col in enumerate(out.columns):
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out.isetitem(i, out.iloc[:, i].map(_neutral))
    return out.rename(columns=lambda c: _neutral(c) if isinstance(c, str) else c)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV for spreadsheets.

    UTF-8 with a BOM (Excel on Chinese Windows), no index, text neutralised with
    :func:`neutralise_formulas`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (not modified).
    path : str or pathlib.Path
        The file to write.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "gaps.csv"
    >>> write_csv(pd.DataFrame({"name": ["=HYPERLINK(1)", "东水门社区"]}), path)
    >>> path.read_bytes()[:3].hex(), path.read_text(encoding="utf-8-sig").splitlines()[1]  # a BOM; no live formula
    ('efbbbf', "'=HYPERLINK(1)")
    """
    neutralise_formulas(frame).to_csv(path, index=False, encoding="utf-8-sig")


def _cell_text(value: str) -> tuple[str, bool]:
    """Text fit for one XLSX cell, and whether it was cut."""
    text = _ILLEGAL_XML.sub("\ufffd", value)
    if len(text) > MAX_CELL_CHARS:
        return text[: MAX_CELL_CHARS - 1] + "…", True
    return text, False


def write_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame], *, full_copies: Mapping[str, str] | None = None) -> None:
    """An .xlsx with one sheet per table: text as string cells, within Excel's limits,
    byte-identical for identical tables.

    Parameters
    ----------
    path : path-like
        The file to write.
    sheets : mapping of str to pandas.DataFrame
        Sheet name -> table (ranked: a table longer than :data:`MAX_ROWS` keeps its top rows).
    full_copies : mapping of str to str, optional
        Sheet name -> the file holding the whole table (e.g. ``"gaps.csv"``), named in the
        note when the sheet is cut.

    Notes
    -----
    openpyxl stamps the save time into ``docProps/core.xml`` and every zip entry; both are
    rewritten with a fixed date.
    """
    full_copies = full_copies or {}
    notes: list[str] = []
    # Write-only mode streams rows to the file: no cell objects kept per value.
    book = openpyxl.Workbook(write_only=True)
    for name, frame in sheets.items():
        rows = len(frame)
        kept = frame.iloc[: MAX_ROWS - 1] if rows + 1 > MAX_ROWS else frame
        where = full_copies.get(name, "the CSV file")
        if len(kept) < rows:
            notes.append(
                f"Sheet {name!r} holds the first {len(kept):,} of {rows:,} rows (Excel allows {MAX_ROWS:,} rows "
                f"per sheet); {where} holds every row. / 工作表“{name}”只含前 {len(kept):,} 行（共 {rows:,} 行，"
                f"Excel 每表最多 {MAX_ROWS:,} 行）；{where} 含全部行。"
            )
        kept, cut = _fit_text(kept)
        _append_rows(book.create_sheet(name), kept)
        if cut:
            notes.append(
                f"Sheet {name!r}: text longer than {MAX_CELL_CHARS:,} characters (Excel's cell limit) is cut and "
                f"ends with '…'; {where} holds the whole text. / 工作表“{name}”中超过 {MAX_CELL_CHARS:,} 个字符的"
                f"文字已截断（以“…”结尾）；{where} 含全文。"
            )
    if notes:
        note = book.create_sheet(_NOTE_SHEET)
        note.column_dimensions["A"].width = 120
        for text in notes:
            note.append([_string_cell(note, text)])
        book.active = len(book.sheetnames) - 1  # opened first
        for ws in book.worksheets:
            ws.sheet_view.tabSelected = ws.title == _NOTE_SHEET
    book.properties.created = _FIXED_DATE
    book.properties.modified = _FIXED_DATE
    buffer = io.BytesIO()
    book.save(buffer)
    _fixed_zip(buffer.getvalue(), Path(path))


def _string_cell(ws: Any, value: str) -> Any:
    """An explicit string cell: openpyxl would store text starting with ``=`` as a formula."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _append_rows(ws: Any, frame: pd.DataFrame) -> None:
    """Stream ``frame`` (header first) into a write-only sheet: empty cells for missing
    values; text that openpyxl would read as a formula as explicit string cells."""
    ws.append([_string_cell(ws, c) if isinstance(c, str) else c for c in frame.columns])
    if len(frame) == 0:
        return
    columns = []
    text = set(_text_columns(frame))
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j].to_numpy(dtype=object, copy=True)
        missing = pd.isna(values)
        values[missing] = None
        if j in text:
            formula = np.flatnonzero([isinstance(v, str) and v.startswith("=") for v in values])
            for k in formula:
                values[k] = _string_cell(ws, values[k])
        columns.append(values.tolist())
    for row in zip(*columns):
        ws.append(row)


def _text_columns(frame: pd.DataFrame) -> list[int]:
    return [j for j in range(frame.shape[1]) if pd.api.types.is_object_dtype(frame.dtypes.iloc[j]) or isinstance(frame.dtypes.iloc[j], pd.StringDtype)]


def _fit_text(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """``frame`` with text an XLSX cell can hold (no XML-illegal characters, at most
    :data:`MAX_CELL_CHARS`), and whether any text was cut."""
    out = frame.copy()
    cut = False

    def fit(value: Any) -> Any:
        nonlocal cut
        if not isinstance(value, str):
            return value
        text, was_cut = _cell_text(value)
        cut |= was_cut
        return text

    for j in _text_columns(out):
        out.isetitem(j, out.iloc[:, j].map(fit))
    out.columns = [fit(c) for c in out.columns]
    return out, cut


def _fixed_zip(data: bytes, path: Path) -> None:
    stamp = "2000-01-01T00:00:00Z"
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{stamp}\g<2>", text)
                content = text.encode("utf-8")
            fixed_info = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed_info.compress_type = zipfile.ZIP_DEFLATED
            fixed_info.external_attr = info.external_attr
            dst.writestr(fixed_info, content)
