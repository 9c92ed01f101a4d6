"""Reading files to import (``deskwork.reading``): CSV in the encodings and separators
programs write, Excel workbooks as messy as real ones, and bad files refused with a reason."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from deskwork import reading
from deskwork.errors import UnreadableFile

ROWS = [["Date", "Amount", "Note"], ["2025-03-04", "12,50", "Café in Zürich"],
        ["2025-03-05", "1.234,56", "Übernachtung"]]  # fmt: skip


def csv_bytes(delimiter: str, encoding: str, rows=ROWS, end: str = "\r\n") -> bytes:
    text = end.join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row)
                    for row in rows) + end  # fmt: skip
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "told"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp1252", "cp1252"), ("utf-16", "utf-16")],
)
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_in_the_encodings_and_separators_programs_write(encoding, told, delimiter):
    found = reading.read("expenses.csv", csv_bytes(delimiter, encoding))
    assert (found.encoding, found.delimiter) == (told, delimiter)
    assert found.header == ROWS[0]
    assert found.rows == [(2, ROWS[1]), (3, ROWS[2])]  # the file's own row numbers
    assert ("Read as cp1252 text (not UTF-8)." in found.notes) == (told == "cp1252")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        # Short Western texts that read without a fault in cp775 or cp1250 as well:
        ("Nom,Prénom\nLefèvre,Hélène\nGarçon,Zoé\n", "cp1252"),
        ("Datum;Betrag;Notiz\n03.01.2025;1.234,56;Büromaterial für Müller\n", "cp1252"),
        ("Fecha,Importe,Nota\n2025-01-03,12.50,Almuerzo en México ¿sí?\n", "cp1252"),
        # and texts that only their own encoding reads:
        ("Data;Kwota;Notatka\n2025-01-03;12,50;Zażółć gęślą jaźń, Łódź\n", "cp1250"),
        ("Datum;Částka;Poznámka\n2025-01-03;12,50;Příliš žluťoučký kůň úpěl\n", "cp1250"),
        ("Дата;Сумма;Заметка\n2025-01-03;12,50;Обед в гостинице\n", "cp1251"),
    ],
)
def test_a_short_file_in_a_windows_encoding_is_read_in_the_one_meant(text, encoding):
    found = reading.read("list.csv", text.encode(encoding))
    assert found.encoding == encoding
    lines = text.splitlines()
    assert [found.header, *(cells for _, cells in found.rows)] == [
        line.split(found.delimiter) for line in lines
    ]


def test_excel_unicode_text_is_utf16_with_tabs_and_old_mac_line_ends_are_lines():
    found = reading.read("export.txt", csv_bytes("\t", "utf-16", end="\n"))
    assert found.delimiter == "\t" and found.rows[1][1][2] == "Übernachtung"
    found = reading.read("old.csv", csv_bytes(";", "utf-8", end="\r"))
    assert found.header == ROWS[0] and len(found.rows) == 2


def test_a_title_above_the_header_and_empty_rows_and_columns_at_the_end_are_left_out():
    rows = [["Expenses 2025", "", "", ""], ["", "", "", ""], [*ROWS[0], ""],
            [*ROWS[1], ""], ["", "", "", ""], [*ROWS[2], ""], ["", "", "", ""]]  # fmt: skip
    found = reading.read("messy.csv", csv_bytes(",", "utf-8", rows))
    assert found.header == ROWS[0]
    assert found.rows == [(4, ROWS[1]), (6, ROWS[2])]
    assert "Skipped 2 rows above the header." in found.notes


def workbook(*sheets: tuple[str, list[list[object]]], merge: dict[str, list[str]] | None = None
             ) -> bytes:  # fmt: skip
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for area in (merge or {}).get(title, []):
            sheet.merge_cells(area)
    out = io.BytesIO()
    with warnings.catch_warnings():  # openpyxl's own temporary file names no encoding
        warnings.simplefilter("ignore", EncodingWarning)
        book.save(out)
    return out.getvalue()


def test_a_workbook_typed_merged_and_with_its_sheets_named():
    data = workbook(
        ("Summary", [["Total"], [19.5]]),
        ("Expenses", [["Expenses 2025"], [], ["Date", "Amount", "Category", "Paid"],
                      [dt.date(2025, 3, 4), 12.5, "Travel", True],
                      [dt.datetime(2025, 3, 5, 9, 30), 0.1 + 0.2, None, False],
                      [dt.date(2025, 3, 6), 7.0, None, None]]),
        merge={"Expenses": ["A1:D1", "C4:C6"]},
    )  # fmt: skip
    found = reading.read("book.xlsx", data, sheet="Expenses")
    assert found.sheets == ["Summary", "Expenses"] and found.sheet == "Expenses"
    assert found.header == ["Date", "Amount", "Category", "Paid"]
    assert found.rows == [
        (4, [dt.date(2025, 3, 4), Decimal("12.5"), "Travel", True]),
        (5, [dt.datetime(2025, 3, 5, 9, 30), Decimal("0.3"), "Travel", False]),  # merged
        (6, [dt.date(2025, 3, 6), 7, "Travel", ""]),
    ]
    assert "Read the sheet 'Expenses' of 2: Summary, Expenses." in found.notes
    assert reading.read("book.xlsx", data).sheet == "Summary"  # the first, unless asked
    with pytest.raises(UnreadableFile, match="has no sheet 'Costs': it has Summary, Expenses"):
        reading.read("book.xlsx", data, sheet="Costs")


SUMS = {b"2": b"3", b"3": b"7"}  # the last values of A2+B2 and A3+B3


def test_formula_cells_give_their_last_calculated_value_and_say_so():
    data = workbook(("Sheet", [["A", "B", "Sum"], [1, 2, "=A2+B2"], [3, 4, "=A3+B3"]]))
    # Excel keeps each formula's last value beside it; openpyxl writes none: add them.
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as patched:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb"<f>A(\d)\+B\d</f><v\s*/>|<f>A(\d)\+B\d</f><v></v>",
                                 lambda m: b"<f>x</f><v>" + SUMS[m[1] or m[2]] + b"</v>",
                                 content)  # fmt: skip
                assert content.count(b"<f>") == 2
            patched.writestr(part, content)
    found = reading.read("sums.xlsx", out.getvalue())
    assert [cells for _, cells in found.rows] == [[1, 2, 3], [3, 4, 7]]
    assert found.notes == ["2 cells hold formulas: the values Excel last calculated for "
                           "them are read, not the formulas."]  # fmt: skip


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (60 * 1024 * 1024))
    return out.getvalue()


BAD = {
    "empty.csv": (lambda: b"", "empty.csv is empty."),
    "header.csv": (lambda: b"Date,Amount\r\n", "has a header but no rows under it"),
    "blank.csv": (lambda: b"\r\n\r\n,,\r\n", "has no header row"),
    "photo.xlsx": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(200), "not a spreadsheet deskwork"),
    "photo.csv": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(200), "holds binary data"),
    "one-line.csv": (lambda: b"a," * (6 * 1024 * 1024), "no line end in its first megabyte"),
    "bomb.xlsx": (zip_bomb, "too much to be an ordinary spreadsheet"),
    "damaged.xlsx": (lambda: b"PK\x03\x04" + bytes(100), "is damaged or not a spreadsheet"),
    "lying.csv": (lambda: "\ufeffDate\r\n".encode() + b"\xff\xfe\xfa\r\n", "says it is utf-8-sig"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_are_refused_with_a_reason(name):
    make, said = BAD[name]
    with pytest.raises(UnreadableFile, match=re.escape(said)):
        reading.read(name, make())


def test_more_rows_than_allowed_are_refused_before_anything_else():
    data = ("Name\r\n" + "".join(f"n{i}\r\n" for i in range(101))).encode()
    with pytest.raises(UnreadableFile, match="has 101 rows: at most 100 can be imported"):
        reading.read("many.csv", data, max_rows=100)
    assert len(reading.read("many.csv", data, max_rows=101).rows) == 101
