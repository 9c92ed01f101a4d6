"""Reading the files people bring to import: CSV text in whatever encoding and separator
Excel or another program wrote it, and Excel workbooks, as a header and rows of cells.

What comes out is plain: the header's cells as text, and each row as a list of values
(text, ``Decimal`` numbers, ``datetime.date``/``datetime`` for Excel's date cells, bools),
the row's number in the file beside it, so that a message can say "row 14". Nothing here
knows the tool's fields: turning cells into a record's values is the import's.

- **CSV**: a byte order mark says the encoding (UTF-8, and UTF-16 as Excel's "Unicode
  text" saves it); otherwise UTF-8 if the bytes are UTF-8, else charset-normalizer's best
  guess (Windows-1252 for Western Europe, and others). The separator (``,`` ``;`` tab or
  ``|``) is the one that splits the first lines into the same number of cells.
- **Excel** (.xlsx, also .xlsm, .xls and .ods): python-calamine, a Rust reader, several
  times quicker than openpyxl's read-only mode (``tests/benchmarks/imports.py``). A
  formula cell gives the value Excel last calculated, and the notes say so. A merged cell's
  value fills the whole merged area.
- **Messy sheets**: a title and empty rows above the header are skipped (the header is the
  first row that fills most of the columns), and empty rows and columns at the end are
  left out.
- **Bad files** are refused with a message, before anything is read into memory that
  they could blow up: not a spreadsheet, empty, a header only, no line ends in the first
  megabyte, a zip that would inflate past ``MAX_INFLATED`` (a zip bomb), more rows than
  asked for.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from deskwork.errors import UnreadableFile

#: The most rows one import may bring, unless IT sets another (``DESKWORK_IMPORT_ROWS``).
IMPORT_ROWS = 1_000_000
#: The separators a CSV file may use, in the order a tie is broken.
DELIMITERS = (",", ";", "\t", "|")
#: What a workbook may hold once inflated, in bytes.
MAX_INFLATED = 500 * 1024 * 1024
#: How much more a workbook's parts may be than their compressed size.
MAX_RATIO = 200
#: The longest a CSV line may be before it is taken for something else than a table.
LONGEST_LINE = 1024 * 1024
#: Rows looked at to find the header.
HEADER_SEARCH = 30
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


@dataclass
class Read:
    """A file read: its header, its rows (the file's row number, then the cells), and
    what the person should know of how it was read."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]
    sheets: list[str] = field(default_factory=list)  # a workbook's, in order
    sheet: str | None = None  # the one read
    encoding: str | None = None  # a CSV file's
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    #: A workbook's merged areas, (top, left, bottom, right) from 0: filled under the header.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)


def read(name: str, data: bytes, *, sheet: str | None = None, max_rows: int | None = None) -> Read:
    """The table in ``data``, a file called ``name``: a workbook's sheet (the first, or
    ``sheet``) or a CSV file's rows. ``UnreadableFile`` with the reason if it is none."""
    suffix = PurePath(name).suffix.lower()
    if not data:
        raise UnreadableFile(f"{name} is empty.")
    if suffix in SPREADSHEETS or data[:4] == b"PK\x03\x04":
        found = _workbook(name, data, sheet)
    else:
        found = _csv_file(name, data)
    _trim(found)
    if not found.header:
        raise UnreadableFile(f"{name} has no header row: nothing in it looks like a table.")
    if not found.rows:
        raise UnreadableFile(f"{name} has a header but no rows under it.")
    if max_rows is not None and len(found.rows) > max_rows:
        raise UnreadableFile(
            f"{name} has {len(found.rows):,} rows: at most {max_rows:,} can be imported at "
            "once. Split it into smaller files."
        )
    return found


# -- CSV ----------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


#: Windows' Western encoding, which Excel writes "CSV" in across Western Europe and the
#: Americas.
WESTERN = "cp1252"


def decode(name: str, data: bytes) -> tuple[str, str]:
    """``data`` as text, and the encoding it was read in."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", "")
            except UnicodeDecodeError:
                raise UnreadableFile(
                    f"{name} says it is {encoding} text, but it isn't: save it again as CSV UTF-8."
                ) from None
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            f"{name} is not a CSV file or a spreadsheet deskwork can read (it holds binary "
            "data): save it as CSV UTF-8 or as an Excel workbook (.xlsx)."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise UnreadableFile(
            f"{name}'s characters are in no encoding deskwork can tell: save it again as CSV UTF-8."
        )
    encoding = best.encoding
    if encoding != WESTERN:
        # A short French or German text reads without a fault in several of Europe's
        # encodings (cp1250, cp775…): where Windows' Western one reads it as cleanly, it
        # is the one meant, by far the commonest on office desks.
        western = from_bytes(data[: 1 << 20], cp_isolation=[WESTERN]).best()
        if western is not None and western.chaos <= best.chaos:
            encoding = WESTERN
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:  # the guess held for the start only
        raise UnreadableFile(
            f"{name} is not in one encoding throughout: save it again as CSV UTF-8."
        ) from None


def _csv_file(name: str, data: bytes) -> Read:
    text, encoding = decode(name, data)
    first = text[:LONGEST_LINE]
    if len(text) > LONGEST_LINE and "\n" not in first and "\r" not in first:
        raise UnreadableFile(
            f"{name} has no line end in its first megabyte: it is not a table of rows."
        )
    delimiter = sniff(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    try:
        for number, cells in enumerate(reader, 1):
            rows.append((number, [c.strip() for c in cells]))
    except csv.Error as error:
        raise UnreadableFile(f"{name} can't be read as CSV at line {reader.line_num}: "
                             f"{error}.") from None  # fmt: skip
    found = Read([], rows, encoding=encoding, delimiter=delimiter)
    if encoding not in ("utf-8", "utf-16", "utf-32"):
        found.notes.append(f"Read as {encoding} text (not UTF-8).")
    return found


def sniff(text: str) -> str:
    """The separator that splits the text's first lines most evenly into most cells."""
    lines = [line for line in re.split(r"\r\n|\n|\r", text[:65536]) if line.strip()][:20]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        same = sum(1 for c in counts if c == counts[0])
        score = (same, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- workbooks ----------------------------------------------------------------------------


def _workbook(name: str, data: bytes, wanted: str | None) -> Read:
    from python_calamine import CalamineWorkbook

    notes = []
    if data[:4] == b"PK\x03\x04":
        notes += _check_zip(name, data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
    except Exception as error:
        raise UnreadableFile(
            f"{name} is not a spreadsheet deskwork can read ({error}): save it as an Excel "
            "workbook (.xlsx) or as CSV UTF-8."
        ) from None
    if not names:
        raise UnreadableFile(f"{name} has no sheets.")
    chosen = wanted if wanted is not None else names[0]
    if chosen not in names:
        raise UnreadableFile(f"{name} has no sheet {chosen!r}: it has {', '.join(names)}.")
    sheet = book.get_sheet_by_name(chosen)
    cells = sheet.to_python(skip_empty_area=False)
    rows = [(number, [_cell(v) for v in row]) for number, row in enumerate(cells, 1)]
    found = Read([], rows, sheets=names, sheet=chosen, notes=notes)
    found.merged = [(top, left, bottom, right)
                    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []]  # fmt: skip
    if len(names) > 1:
        found.notes.append(f"Read the sheet {chosen!r} of {len(names)}: "
                           f"{', '.join(names)}.")  # fmt: skip
    return found


def _check_zip(name: str, data: bytes) -> list[str]:
    """Refuse a workbook that would inflate too far; note its formulas."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = z.infolist()
            inflated = sum(p.file_size for p in parts)
            packed = sum(p.compress_size for p in parts) or 1
            if inflated > MAX_INFLATED or inflated / packed > MAX_RATIO:
                raise UnreadableFile(
                    f"{name} would take {inflated / 1e6:,.0f} MB once unpacked, from "
                    f"{len(data) / 1e6:,.1f} MB: too much to be an ordinary spreadsheet, so "
                    "it is not opened."
                )
            formulas = 0
            for part in parts:
                if part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml"):
                    with z.open(part) as sheet:
                        formulas += _count_formulas(sheet)
    except zipfile.BadZipFile:
        raise UnreadableFile(
            f"{name} is damaged or not a spreadsheet: save it again as an Excel workbook."
        ) from None
    if not formulas:
        return []
    return [f"{formulas:,} cells hold formulas: the values Excel last calculated for them are "
            "read, not the formulas."]  # fmt: skip


_FORMULA = re.compile(rb"<f[ >/]")


def _count_formulas(part: Any) -> int:
    """How many formula elements a sheet's XML holds, read a megabyte at a time (a match
    is three bytes: two kept from the last chunk find one that crosses into the next)."""
    count, tail = 0, b""
    while chunk := part.read(1 << 20):
        text = tail + chunk
        count += len(_FORMULA.findall(text))
        tail = text[-2:]
    return count


def _cell(value: Any) -> Any:
    """A workbook's cell as the import takes it: numbers exact to what Excel shows (15
    significant digits: 0.1 + 0.2 is 0.3), whole numbers as ints, empty as ''."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return Decimal(format(value, ".15g"))
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.timedelta):
        return str(value)
    return value


# -- the table in the cells ---------------------------------------------------------------


def _filled(row: Sequence[Any]) -> int:
    return sum(1 for v in row if v != "" and v is not None)


def _trim(found: Read) -> None:
    """Find the header (skipping a title and empty rows above it), and leave out empty
    rows and the columns no row fills."""
    rows = found.rows
    widest = max((_filled(cells) for _, cells in rows[:HEADER_SEARCH]), default=0)
    start = next((i for i, (_, cells) in enumerate(rows[:HEADER_SEARCH])
                  if _filled(cells) >= max(1, (widest + 1) // 2)), None)  # fmt: skip
    if start is None:
        found.header, found.rows = [], []
        return
    if start:
        found.notes.append(f"Skipped {start} row{'s' if start > 1 else ''} above the header.")
    for top, left, bottom, right in found.merged:  # a merged cell's value, in all of it
        if start < top < len(rows) and left < len(rows[top][1]):
            value = rows[top][1][left]
            for _, cells in rows[top : bottom + 1]:
                cells[left : right + 1] = [value] * len(cells[left : right + 1])
    header_cells = rows[start][1]
    body = [(n, cells) for n, cells in rows[start + 1 :] if _filled(cells)]
    width = max([len(header_cells)] + [len(c) for _, c in body])
    used = [i for i in range(width)
            if (i < len(header_cells) and str(header_cells[i]).strip())
            or any(i < len(c) and c[i] != "" for _, c in body)]  # fmt: skip
    last = used[-1] + 1 if used else 0
    found.header = [str(header_cells[i]).strip() if i < len(header_cells) else ""
                    for i in range(last)]  # fmt: skip
    found.rows = [(n, [c[i] if i < len(c) else "" for i in range(last)]) for n, c in body]
