"""An Excel workbook (.xlsx) written as its rows come: one sheet, a bold header row, typed
cells, and bytes out after every batch of rows.

A workbook is a zip of a few XML parts (ECMA-376, SpreadsheetML). Python's ``zipfile``
writes a zip to a stream that can't seek (sizes go after each part's data), so the sheet
leaves while it is written and the server's memory stays flat however many rows. Libraries
that write .xlsx (openpyxl's write-only mode, XlsxWriter's constant-memory mode) keep the
sheet in a temporary file and zip it at the end: nothing leaves until the last row is
read, and a cell's text that starts with ``=`` needs care not to become a formula.

Here text is always an inline string (``t="inlineStr"``), which Excel never evaluates:
``=HYPERLINK(...)`` in a note is shown as the text it is. Numbers are written from exact
decimal text (``"-12.30"``), never through a float; dates are Excel's serial days with a
date format.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

#: Most rows an Excel sheet holds, the header row included.
MAX_ROWS = 1_048_576
#: Characters XML 1.0 can't hold at all; Excel refuses a part with any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Excel's serial day of 1970-01-01 is 25569; of day 1 (0001-01-01) -693593.
SERIAL_OF_ORDINAL = -693594

_TEXT, _NUMBER, _DATE = "text", "number", "date"


@dataclass(frozen=True)
class Column:
    """A column of the sheet: its header, how wide, and how its cells are typed.

    ``kind`` is ``text`` (any value, written as text), ``number`` (exact decimal text or
    an int: a number cell; anything else: text) or ``date`` (a serial day, whole or with
    a fraction for the time: a date cell). ``number_format`` is Excel's, e.g. ``#,##0.00``.
    """

    header: str
    kind: str = _TEXT
    number_format: str | None = None
    width: float | None = None


def _letters(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: str) -> str:
    # A carriage return as a character reference: XML readers turn a bare one into \n.
    return escape(_NOT_XML.sub("", value), {"\r": "&#13;"})


class _Out:
    """A write-only stream for ``zipfile``: what is written waits here until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.told = 0

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        self.told += len(data)
        return len(data)

    def close(self) -> None:
        pass

    def tell(self) -> int:
        return self.told

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def sheet_name(title: str) -> str:
    """``title`` as Excel allows a sheet's name: 31 characters, none of ``[]:*?/\\``."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", _NOT_XML.sub("", title)).strip().strip("'")
    return cleaned[:31].strip() or "Sheet1"


def _styles(formats: list[str]) -> str:
    """Style 0: plain; 1: the bold header; 2 on: one per number format used."""
    builtin = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4}
    custom = [f for f in dict.fromkeys(formats) if f not in builtin]
    ids = {**builtin, **{f: 164 + i for i, f in enumerate(custom)}}
    num_fmts = "".join(f'<numFmt numFmtId="{ids[f]}" formatCode={quoteattr(f)}/>' for f in custom)
    xfs = "".join(
        f'<xf numFmtId="{ids[f]}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for f in formats
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN}">'
        + (f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>' if custom else "")
        + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{2 + len(formats)}">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        f"{xfs}</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _workbook(name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}">'
        f'<sheets><sheet name={quoteattr(name)} sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )


def _core(title: str, created: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_text(title)}</dc:title><dc:creator>deskwork</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        "</cp:coreProperties>"
    )


def workbook(
    title: str,
    columns: Sequence[Column],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    created: str = "2000-01-01T00:00:00Z",
) -> Iterator[bytes]:
    """The bytes of a workbook of one sheet named from ``title``, written batch by batch
    of ``batches`` (rows of values, one per column): a part of the file after each.

    The header row is bold and stays in view (a frozen pane) and filters are on it.
    A value of a ``number`` or ``date`` column that is not a number (text another
    program left there) is written as the text it is."""
    formats = [c.number_format for c in columns if c.number_format]
    style_of = {f: 2 + i for i, f in enumerate(formats)}
    out = _Out()
    book = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    name = sheet_name(title)
    for part, text in (
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _ROOT_RELS),
        ("docProps/core.xml", _core(title, created)),
        ("xl/workbook.xml", _workbook(name)),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
        ("xl/styles.xml", _styles(formats)),
    ):
        book.writestr(part, text)
    yield out.take()

    letters = [_letters(i) for i in range(len(columns))]
    cells = []  # per column: (kind, the cell's opening up to its row number, its style)
    for letter, c in zip(letters, columns, strict=True):
        style = f' s="{style_of[c.number_format]}"' if c.number_format else ""
        cells.append((c.kind, letter, style))
    with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
        widths = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{c.width or max(10, len(c.header) + 2)}" '
            'customWidth="1"/>'
            for i, c in enumerate(columns)
        )
        header = "".join(
            f'<c r="{letter}1" s="1" t="inlineStr"><is><t>{_text(c.header)}</t></is></c>'
            for letter, c in zip(letters, columns, strict=True)
        )
        sheet.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                f"<cols>{widths}</cols><sheetData>"
                f'<row r="1">{header}</row>'
            ).encode()
        )
        n = 1
        for batch in batches:
            lines = []
            for row in batch:
                n += 1
                if n > MAX_ROWS:
                    raise OverflowError(f"an Excel sheet holds at most {MAX_ROWS:,} rows")
                r = str(n)
                line = [f'<row r="{r}">']
                for (kind, letter, style), value in zip(cells, row, strict=True):
                    if value is None or value == "":
                        continue
                    if kind != _TEXT and _numeric(kind, value):
                        line.append(f'<c r="{letter}{r}"{style}><v>{value}</v></c>')
                    else:
                        line.append(
                            f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">'
                            f"{_text(str(value))}</t></is></c>"
                        )
                line.append("</row>")
                lines.append("".join(line))
            sheet.write("".join(lines).encode())
            yield out.take()
        end = f'<autoFilter ref="A1:{letters[-1]}{n}"/>' if columns else ""
        sheet.write(f"</sheetData>{end}</worksheet>".encode())
    book.close()
    yield out.take()


_NUMBER_TEXT = re.compile(r"-?[0-9]{1,19}(\.[0-9]{1,9})?")


def _numeric(kind: str, value: Any) -> bool:
    """Whether ``value`` of a number or date column is written as a number: an int or
    a float (not a yes/no), or, in a number column, exact decimal text."""
    if isinstance(value, str):
        return kind == _NUMBER and _NUMBER_TEXT.fullmatch(value) is not None
    return isinstance(value, (int, float)) and not isinstance(value, bool)
