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

A city's gap list is hundreds of thousands of rows: openpyxl serialises each cell through
its XML tree writer. Here openpyxl writes the workbook with each sheet's header, and the
rows are written column-wise into the sheet, in openpyxl's own cell markup (the same
bytes), a block of rows at a time. Tables holding values outside that plain markup (dates,
error-code text, infinities, mixed objects) are written by openpyxl cell by cell.
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
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils import get_column_letter

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
            out.isetitem(i, _only_where(out.iloc[:, i], lambda text: text.str.startswith(FORMULA_PREFIXES), _neutral))
    return out.rename(columns=lambda c: _neutral(c) if isinstance(c, str) else c)


def _only_where(column: pd.Series, needs: Any, func: Any) -> pd.Series:
    """``column.map(func)``, calling ``func`` only on the values ``needs`` picks (a vectorised
    test on a column of text) when every value is text or missing; other columns value by value."""
    if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        return column.map(func)
    picked = needs(column).fillna(False).to_numpy(dtype=bool)
    if not picked.any():
        return column
    out = column.astype(object)
    out[picked] = column[picked].map(func).to_numpy(dtype=object)
    return out


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
    rows_later: dict[str, pd.DataFrame] = {}  # sheet file -> rows written column-wise
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
        if _plain(kept):
            _append_rows(book.create_sheet(name), kept.iloc[:0])  # the header
            rows_later[f"xl/worksheets/sheet{len(book.worksheets)}.xml"] = kept
        else:
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
    _fixed_zip(buffer.getvalue(), Path(path), rows=rows_later)


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

    def needs_fitting(text: pd.Series) -> pd.Series:
        return text.str.contains(_ILLEGAL_XML.pattern, regex=True) | (text.str.len() > MAX_CELL_CHARS)

    for j in _text_columns(out):
        out.isetitem(j, _only_where(out.iloc[:, j], needs_fitting, fit))
    out.columns = [fit(c) for c in out.columns]
    return out, cut


def _fixed_zip(data: bytes, path: Path, *, rows: Mapping[str, pd.DataFrame] | None = None) -> None:
    """Rewrite the zip with a fixed date, adding ``rows`` (by sheet file) after each sheet's header."""
    stamp = "2000-01-01T00:00:00Z"
    rows = rows or {}
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
            if info.filename not in rows:
                dst.writestr(fixed_info, content)
                continue
            head, tail = content.split(b"</sheetData>", 1)
            with dst.open(fixed_info, "w") as out:
                out.write(head)
                for block in _row_blocks(rows[info.filename]):
                    out.write(block)
                out.write(b"</sheetData>" + tail)


#: Rows per block of sheet markup: memory stays bounded whatever the table's length.
_BLOCK_ROWS = 20_000


def _plain(frame: pd.DataFrame) -> bool:
    """Whether every value of ``frame`` is one :func:`_row_blocks` writes as openpyxl does:
    numbers (finite or missing), booleans, text (not an Excel error code) and missing values."""
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        kind = _column_kind(column)
        if kind is None:
            return False
        if kind == "text":
            text = column.dropna().to_numpy(dtype=object)
            if pd.Index(text).isin(ERROR_CODES).any():
                return False
        if kind == "number" and np.isinf(column.to_numpy(dtype=float, na_value=np.nan)).any():
            return False
    return True


def _column_kind(column: pd.Series) -> str | None:
    """``"number"``, ``"bool"`` or ``"text"`` when every non-missing value of the column is of
    that kind; None otherwise (mixed or other objects)."""
    if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
        return "bool"
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return "number"
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        inferred = pd.api.types.infer_dtype(column, skipna=True)
        if inferred in ("string", "empty"):
            return "text"
        if inferred in ("integer", "floating", "mixed-integer-float"):
            return "number"
    return None


def _row_blocks(frame: pd.DataFrame) -> Any:
    """The markup of ``frame``'s rows (row 2 onwards, under the header), in blocks of
    :data:`_BLOCK_ROWS` rows, byte for byte as openpyxl's write-only sheet writes them."""
    for start in range(0, len(frame), _BLOCK_ROWS):
        block = frame.iloc[start:start + _BLOCK_ROWS]
        numbers = np.arange(start + 2, start + 2 + len(block)).astype(str).astype(object)
        parts = [np.char.add(np.char.add('<row r="', numbers.astype(str)), '">').astype(object)]
        for j in range(block.shape[1]):
            parts.append(_cell_markup(block.iloc[:, j], get_column_letter(j + 1), numbers))
        parts.append(np.full(len(block), "</row>", dtype=object))
        yield "".join(np.stack(parts, axis=1).ravel().tolist()).encode("utf-8")


def _cell_markup(column: pd.Series, letter: str, numbers: np.ndarray) -> np.ndarray:
    """One column's cells (object array of markup, "" for a missing value: no cell)."""
    kind = _column_kind(column)
    values = column.to_numpy(dtype=object, na_value=None) if kind == "text" else column.to_numpy(dtype=object)
    missing = pd.isna(values)
    ref = f'<c r="{letter}' + numbers
    out = np.full(len(values), "", dtype=object)
    if kind == "text":
        text = pd.Series(values[~missing], dtype=object)
        escaped = text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(
            ">", "&gt;", regex=False).to_numpy(dtype=object)
        stripped = text.str.strip().to_numpy(dtype=object)
        plain = text.to_numpy(dtype=object)
        preserve = (stripped != "") & (stripped != plain)
        opening = np.where(preserve, '<t xml:space="preserve">', "<t>").astype(object)
        cells = ref[~missing] + '" t="inlineStr"><is>' + opening + escaped + "</t></is></c>"
        empty = plain == ""
        cells[empty] = ref[~missing][empty] + '" t="inlineStr" />'
        out[~missing] = cells
        return out
    if kind == "bool":
        digits = np.where(values.astype(bool), "1", "0").astype(object)
        return ref + '" t="b"><v>' + digits + "</v></c>"
    present = values[~missing].astype(float)  # "%.16g" of an int is that of its float, as openpyxl writes it
    digits = np.char.mod("%.16g", present).astype(object) if len(present) else present.astype(object)
    out[~missing] = ref[~missing] + '" t="n"><v>' + digits + "</v></c>"
    return out
