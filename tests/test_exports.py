"""Exports: a table page's view as CSV, CSV for Excel and an Excel workbook, read back
(the CSV text, openpyxl's cell types) to prove the values, the order and the safety."""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from werkzeug.datastructures import MultiDict

from conftest import DESKWORK, TOOL_FILE, deskwork_env, text
from deskwork import (
    Choice,
    Date,
    DateTime,
    File,
    Integer,
    Lookup,
    Money,
    MultiChoice,
    Number,
    Text,
    Tool,
    YesNo,
    exports,
    xlsx,
)
from deskwork.db import listing
from deskwork.db.storage import Storage
from deskwork.desktop.server import ServerThread
from deskwork.errors import Cancelled
from deskwork.testing import TEST_PORT, tool_client
from fixture_tool import tool as expenses_tool

TRICKY = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCR", "plain"]


def make_tool() -> Tool:
    tool = Tool("Ledger", templates=None)
    people = tool.table("people", name=Text(required=True))
    entries = tool.table(
        "entries",
        day=Date(),
        stamped=DateTime(),
        amount=Money(),
        rate=Number(places=3),
        count=Integer(),
        kind=Choice([("a", "Alpha"), ("b", "Beta")]),
        tags=MultiChoice(["Red", "Green", "Blue"]),
        paid=YesNo(),
        person=Lookup(people, show="name"),
        scan=File(),
        note=Text(),
    )
    tool.form("New entry", entries)
    tool.table_page("Entries", entries, order="id", search=["note"])
    tool.form("New person", people)
    tool.table_page("People", people)
    return tool


@pytest.fixture
def ledger(tmp_path: Path):
    client = tool_client(make_tool(), tmp_path / "ledger.sqlite3")
    storage = client.application.extensions["deskwork.storage"]
    with storage.open() as db, db.conn:
        db["people"].insert({"id": 1, "name": "Ada Okafor"})
        db["_deskwork_files"].insert(
            {
                "id": 7,
                "name": "receipt.pdf",
                "content_type": "application/pdf",
                "size": 3,
                "sha256": "0" * 64,
                "data": b"pdf",
                "pending": 0,
                "created": "2026-03-04",
            }
        )
        rows = [
            {
                "day": "2026-03-04",
                "stamped": "2026-03-04 09:30",
                "amount": 123456,
                "rate": 1500,
                "count": 12,
                "kind": "a",
                "tags": json.dumps(["Red", "Blue"]),
                "paid": 1,
                "person": 1,
                "scan": 7,
                "note": "Taxi",
            },
            {
                "day": "2025-12-31",
                "amount": -5,
                "rate": -1,
                "count": -3,
                "kind": "b",
                "paid": 0,
                "note": "Refund",
            },
        ]
        rows += [{"amount": 100 + i, "note": t} for i, t in enumerate(TRICKY)]
        db["entries"].insert_all(rows)
    return client


def download(client, address: str) -> tuple[bytes, object]:
    response = client.get(address)
    assert response.status_code == 200, text(response)
    return response.get_data(), response


def test_csv_is_utf8_with_a_bom_labels_first_and_exact_values(ledger) -> None:
    data, response = download(ledger, "/tables/entries/export/csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="entries-{dt.date.today().isoformat()}.csv"'
    )
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["ID", "Day", "Stamped", "Amount", "Rate", "Count", "Kind", "Tags", "Paid",
                        "Person", "Scan", "Note"]  # fmt: skip
    first, second = table[1], table[2]
    assert first[1:] == ["2026-03-04", "2026-03-04 09:30", "1234.56", "1.500", "12", "Alpha",
                         "Red, Blue", "Yes", "Ada Okafor", "receipt.pdf", "Taxi"]  # fmt: skip
    # A negative amount is a number, never neutralised; cents below one unit keep their 0.
    assert second[3:10] == ["-0.05", "-0.001", "-3", "Beta", "", "No", ""]
    assert len(table) == 1 + 2 + len(TRICKY)


def test_csv_neutralises_text_that_would_start_a_formula(ledger) -> None:
    data, _ = download(ledger, "/tables/entries/export/csv")
    notes = [row[-1] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][3:]
    assert notes == ["'" + t for t in TRICKY[:-1]] + ["plain"]
    # In the raw text too: no cell starts with a formula sign.
    for line in data.decode("utf-8-sig").split("\r\n")[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "@")), line


def test_csv_for_excel_has_semicolons_and_decimal_commas(ledger) -> None:
    data, _ = download(ledger, "/tables/entries/export/excel-csv")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("ID;Day;Stamped;Amount;Rate")
    assert ";1234,56;1,500;12;Alpha;Red, Blue;Yes;Ada Okafor;" in lines[1]
    assert ";-0,05;-0,001;-3;" in lines[2]


def test_excel_cells_are_typed_and_text_is_never_a_formula(ledger, tmp_path: Path) -> None:
    data, response = download(ledger, "/tables/entries/export/xlsx")
    assert response.mimetype == exports.EXCEL.mimetype
    path = tmp_path / "out.xlsx"
    path.write_bytes(data)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet.title == "Entries"
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["ID", "Day", "Stamped", "Amount"] and sheet["A1"].font.b
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Day"].is_date and row["Day"].value == dt.datetime(2026, 3, 4)
    assert row["Stamped"].is_date and row["Stamped"].value == dt.datetime(2026, 3, 4, 9, 30)
    assert row["Amount"].data_type == "n" and row["Amount"].number_format == "#,##0.00"
    assert Decimal(str(row["Amount"].value)) == Decimal("1234.56")
    assert row["Rate"].value == 1.5 and row["Rate"].number_format == "#,##0.000"
    assert row["Count"].value == 12 and row["Kind"].value == "Alpha"
    assert row["Tags"].value == "Red, Blue" and row["Person"].value == "Ada Okafor"
    second = {h: c.value for h, c in zip(header, sheet[3], strict=True)}
    assert second["Amount"] == -0.05 and second["Count"] == -3 and second["Paid"] == "No"
    notes = [sheet.cell(r, len(header)) for r in range(4, 4 + len(TRICKY))]
    assert [c.value for c in notes] == TRICKY  # exactly the text, tab and return kept
    for cell in notes:
        assert cell.data_type == "s", cell.value  # text, never "f" (a formula)
    assert row["Scan"].value == "receipt.pdf"
    # The raw XML of the sheet has no formula element at all.
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


def test_an_export_is_the_view_its_address_holds(tmp_path: Path, seeded_database) -> None:
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    client = tool_client(expenses_tool, copy)
    address = "category=Travel&sort=-amount&q=flight&cols=amount&cols=employee&cols=date"
    data, response = download(client, f"/tables/expenses/export/csv?{address}")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["ID", "Date", "Amount", "Employee"]
    with client.application.extensions["deskwork.storage"].open() as db:
        expected = [
            (str(i), d, f"{Decimal(a).scaleb(-2):.2f}", name)
            for i, d, a, name in db.execute(
                "SELECT e.id, e.date, e.amount, p.name FROM expenses e JOIN employees p "
                "ON p.id = e.employee WHERE e.category = 'Travel' AND lower(e.note) LIKE "
                "'%flight%' ORDER BY e.amount DESC, e.id DESC"
            )
        ]
    assert [tuple(r) for r in table[1:]] == expected and len(expected) > 10
    assert response.headers["X-Deskwork-Rows"] == str(len(expected))
    # A named view's export is named after it.
    named = client.get("/tables/expenses/export/xlsx?category=Travel&date.in=this-month")
    assert f"this-month-s-travel-{dt.date.today()}.xlsx" in named.headers["Content-Disposition"]


def test_the_table_page_offers_the_exports_of_its_view(ledger, tmp_path: Path) -> None:
    html = text(ledger.get("/tables/entries?kind=a&q=taxi"))
    links = dict(re.findall(r'<a href="([^"]+)" data-export download>([^<]+)</a>', html))
    assert set(links.values()) == {"Export CSV", "Export Excel"}  # English: no "CSV for Excel"
    for address in links:
        assert "kind=a" in address and "q=taxi" in address
    german = tool_client(make_tool(), tmp_path / "de.sqlite3", locale="de_DE")
    assert "CSV for Excel</a>" in text(german.get("/tables/entries"))


def test_too_many_rows_for_excel_is_a_message_not_a_file(ledger, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 5)
    response = ledger.get("/tables/entries/export/xlsx?q=refund&sort=-amount")
    assert response.status_code == 200  # one row: well within
    response = ledger.get("/tables/entries/export/xlsx?sort=-amount", follow_redirects=True)
    assert response.request.path == "/tables/entries"
    assert response.request.args["sort"] == "-amount"  # back to the view asked for
    page = text(response)
    assert "An Excel sheet holds at most 4 rows below its header, and this view has 9" in page


def test_an_unknown_format_or_page_is_not_found(ledger) -> None:
    assert ledger.get("/tables/entries/export/pdf").status_code == 404
    assert ledger.get("/tables/nothing/export/csv").status_code == 404


def test_rows_leave_in_batches_as_sqlite_reads_them(ledger, monkeypatch) -> None:
    monkeypatch.setattr(exports, "BATCH", 2)
    storage = ledger.application.extensions["deskwork.storage"]
    tool = ledger.application.extensions["deskwork.tool"]
    with storage.open() as db:
        sheet = exports.page_sheet(tool, db, "entries", MultiDict(), exports.CSV)
        chunks = exports.encode(sheet, exports.CSV)
        next(chunks)  # the header
        assert sheet.done == 0 and sheet.count == 9
        next(chunks)
        assert sheet.done == 2
        rest = list(chunks)
        assert sheet.done == 9 and len(rest) == 4


def test_a_failure_half_way_ends_the_download_in_an_error(ledger, monkeypatch) -> None:
    """Through the real server: the chunked response never ends, so the browser (and
    http.client here) reports a failed download, never a complete, shorter file."""
    monkeypatch.setattr(exports, "BATCH", 2)
    real = listing.Query.every_row

    def failing(self, select, params):
        for n, cursor in enumerate(real(self, select, params)):
            yield cursor
            if n == 0:
                raise RuntimeError("the disk went away")

    monkeypatch.setattr(listing.Query, "every_row", failing)
    app = ledger.application
    server = ServerThread()
    server.set_app(app)
    with server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        cookie = "; ".join(f"{c.key}={c.value}" for c in ledger._cookies.values())
        conn.request("GET", "/tables/entries/export/csv?sort=note",  # as the app was made for
                     headers={"Cookie": cookie, "Host": f"127.0.0.1:{TEST_PORT}"})  # fmt: skip
        try:
            response = conn.getresponse()
            assert response.status == 200
            with pytest.raises(http.client.IncompleteRead) as ended:
                response.read()
        finally:
            conn.close()
    assert ended.value.partial.startswith(b"\xef\xbb\xbfID,Day")  # it did start


def test_write_file_is_renamed_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_text("yesterday's export", encoding="utf-8")

    def failing():
        yield b"ID\r\n1\r\n"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        exports.write_file(failing(), target)
    assert target.read_text(encoding="utf-8") == "yesterday's export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]

    def cancelled():
        yield b"ID\r\n"
        raise Cancelled("Cancelled.")

    with pytest.raises(Cancelled):
        exports.write_file(cancelled(), target)
    assert target.read_text(encoding="utf-8") == "yesterday's export"
    assert exports.write_file(iter([b"ID\r\n", b"1\r\n"]), target) == 7
    assert target.read_bytes() == b"ID\r\n1\r\n"


def test_file_names_and_sheet_names_are_safe() -> None:
    assert exports.file_name("This month's travel", exports.CSV, dt.date(2026, 12, 2)) == (
        "this-month-s-travel-2026-12-02.csv"
    )
    assert (
        exports.file_name("支出", exports.EXCEL, dt.date(2026, 12, 2)) == "export-2026-12-02.xlsx"
    )
    assert xlsx.sheet_name("Q1: costs / [draft]?") == "Q1  costs    draft"
    assert len(xlsx.sheet_name("x" * 80)) == 31


def saving_client(tmp_path: Path, save_as, tool=None):
    from deskwork.assembly import Options, assemble
    from deskwork.security import cookie_name
    from deskwork.testing import TEST_SECRET

    made = assemble(tool or make_tool(), tmp_path / "saving.sqlite3", secret=TEST_SECRET,
                    port=TEST_PORT, options=Options(save_as=save_as))  # fmt: skip
    if tool is None:
        with made.storage.open() as db, db.conn:
            db["entries"].insert_all({"amount": i, "note": f"n{i}"} for i in range(50))
    client = made.app.test_client()
    client.set_cookie(cookie_name(TEST_PORT), TEST_SECRET, domain="127.0.0.1")
    return client


def wait_for_the_end(client) -> dict:
    for _ in range(200):
        status = client.get("/exports/status", base_url=f"http://127.0.0.1:{TEST_PORT}").json
        if status["state"] != "running":
            return status
        time.sleep(0.02)
    raise AssertionError(status)


def test_where_a_window_saves_exports_the_dialog_says_and_a_bad_place_is_told(tmp_path):
    asked = []
    places = [tmp_path / "picked", tmp_path / "missing" / "folder" / "x.csv", None]

    def save_as(name, kind, extension):
        asked.append((name, kind, extension))
        return places[len(asked) - 1]

    client = saving_client(tmp_path, save_as)
    base = f"http://127.0.0.1:{TEST_PORT}"
    page = text(client.get("/tables/entries", base_url=base))
    assert 'data-export-status="/exports/status"' in page and "Cancel export" in page
    started = client.post("/tables/entries/export/csv?q=n4", base_url=base).json
    assert started["state"] in ("running", "done")
    status = wait_for_the_end(client)
    assert asked[0] == (f"entries-{dt.date.today()}.csv", "CSV file", "csv")
    saved = tmp_path / "picked.csv"  # the extension added when the name has none
    assert status == {**status, "state": "done", "done": 11, "count": 11,
                      "text": f"Saved 11 rows in {saved}."}  # fmt: skip
    lines = saved.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1:3] == ["5,,,0.04,,,,,,,,n4", "41,,,0.40,,,,,,,,n40"]
    client.post("/tables/entries/export/xlsx", base_url=base)
    failed = wait_for_the_end(client)
    assert failed["state"] == "failed" and "x.csv.xlsx was not saved" in failed["text"]
    assert asked[1][1:] == ("Excel workbook", "xlsx")
    nothing = client.post("/tables/entries/export/csv", base_url=base).json
    assert nothing == {"state": "idle", "text": "Not exported: no file was chosen."}


def test_a_browser_downloads_exports_and_has_no_saving_pages(ledger) -> None:
    assert "data-export-status" not in text(ledger.get("/tables/entries"))
    assert ledger.post("/tables/entries/export/csv").status_code == 404
    assert ledger.get("/exports/status").status_code == 404


def test_deskwork_export_writes_a_view_for_scripts_with_exit_codes_that_say_what_happened(
    tmp_path: Path, seeded_database: Path, data_dir: Path
) -> None:
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    command = [str(DESKWORK), "export", str(TOOL_FILE), "--db", str(copy), "--table"]
    env = deskwork_env(data_dir)

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env=env, capture_output=True,
                              encoding="utf-8", timeout=60)  # fmt: skip

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "travel.xlsx"
    done = export("expenses", "--where", "category=Travel", "--where", "sort=-amount",
                  "-o", str(out))  # fmt: skip
    with Storage(copy).open() as db:
        travel = db.execute("SELECT count(*) FROM expenses WHERE category = 'Travel'").fetchone()
        top = db.execute("SELECT max(amount) FROM expenses WHERE category = 'Travel'").fetchone()
    assert done.returncode == 0 and done.stdout == f"Exported {travel[0]:,} expenses to {out}\n"
    book = openpyxl.load_workbook(out, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert len(rows) == travel[0] + 1 and {r[3] for r in rows[1:]} == {"Travel"}
    assert Decimal(str(rows[1][2])) == Decimal(top[0]).scaleb(-2)

    # To the standard output, the table by its name, CSV for Excel.
    done = export("employees", "--where", "cols=name", "--format", "excel-csv", "-o", "-")
    assert done.returncode == 0
    assert done.stdout.startswith("\ufeffID;Name\n")  # text mode reads \r\n as \n

    for args, code, said in [
        (["expenses", "--where", "amount.min=abc"], 2, "Amount must be an amount"),
        (["expenses", "--where", "colour=red"], 2, "colour: not a filter of the Expenses page"),
        (["expenses", "--where", "category"], 2, "'category' is not WORD=VALUE"),
        (["nothing"], 2, "Expenses has no table page 'nothing': it has expenses, employees."),
    ]:
        done = export(*args, "-o", str(folder / "no.csv"))
        assert (done.returncode, said in done.stderr) == (code, True), done.stderr
    done = export("expenses", "-o", str(folder / "missing" / "x.csv"))
    assert done.returncode == 32 and "could not be written" in done.stderr
    assert [p.name for p in folder.iterdir()] == ["travel.xlsx"]  # nothing else written


def test_a_report_exports_its_result_for_its_parameters_with_its_total(
    tmp_path: Path, seeded_database: Path
) -> None:
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    client = tool_client(expenses_tool, copy)
    address = "/reports/spending-by-category?start=2026-01-01&end=2026-06-30"
    page = text(client.get(address))
    links = re.findall(r'<a href="([^"]+)" data-export download>([^<]+)</a>', page)
    assert [label for _, label in links] == ["Export CSV", "Export Excel"]
    csv_address = links[0][0].replace("&amp;", "&")
    assert "start=2026-01-01" in csv_address
    data, response = download(client, csv_address)
    assert f"spending-by-category-{dt.date.today()}.csv" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    with Storage(copy).open() as db:
        expected = db.execute(
            "SELECT category, sum(amount) FROM expenses WHERE date BETWEEN '2026-01-01' AND "
            "'2026-06-30' GROUP BY category ORDER BY 2 DESC"
        ).fetchall()
    assert table[0] == ["Category", "Total"]
    assert table[1:-1] == [[c, f"{Decimal(t).scaleb(-2):.2f}"] for c, t in expected]
    assert table[-1] == ["Total", f"{Decimal(sum(t for _, t in expected)).scaleb(-2):.2f}"]

    data, _ = download(client, links[1][0].replace("&amp;", "&"))
    (tmp_path / "r.xlsx").write_bytes(data)
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert sheet.title == "Spending by category"
    assert sheet["B2"].data_type == "n" and sheet["B2"].number_format == "#,##0.00"
    assert Decimal(str(sheet["B2"].value)) == Decimal(expected[0][1]).scaleb(-2)
    # Parameters that can't be read: back to the report, which says what to correct.
    wrong = client.get("/reports/spending-by-category/export/csv?start=soon")
    assert (
        wrong.status_code == 302
        and "/reports/spending-by-category?start=soon" in (wrong.headers["Location"])
    )


def test_rows_made_in_python_are_typed_as_a_tables_are() -> None:
    columns = [("day", "Day", Date()), ("n", "N", None), ("x", "X", None), ("t", "T", None),
               ("ok", "OK", None)]  # fmt: skip
    rows = [{"day": "2026-03-04", "n": 3, "x": Decimal("-1.25"), "t": "=1+1", "ok": True}]
    german = exports.rows_sheet("R", columns, rows, exports.EXCEL_CSV)
    assert b"".join(exports.encode(german, exports.EXCEL_CSV)).decode("utf-8-sig") == (
        "Day;N;X;T;OK\r\n2026-03-04;3;-1,25;'=1+1;Yes\r\n"
    )
    book = exports.rows_sheet("R", columns, rows, exports.EXCEL)
    assert [c.kind for c in book.columns] == ["date", "number", "number", "text", "text"]
    assert list(book.source()) == [[[46085, 3, "-1.25", "=1+1", "Yes"]]]


def test_a_report_is_saved_from_the_window_as_a_table_is(tmp_path: Path) -> None:
    client = saving_client(tmp_path, lambda name, kind, ext: tmp_path / name, expenses_tool)
    base = f"http://127.0.0.1:{TEST_PORT}"
    address = "/reports/spending-by-category/export/xlsx?start=2000-01-01"
    assert client.post(address, base_url=base).json["state"] in ("running", "done")
    status = wait_for_the_end(client)
    saved = tmp_path / f"spending-by-category-{dt.date.today()}.xlsx"
    assert status["state"] == "done" and status["path"] == str(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0] == ("Category", "Total") and rows[-1][0] == "Total"
    assert len(rows) == 2 + 7  # the header, the seven categories, the total
    refused = client.post(address.replace("2000-01-01", "soon"), base_url=base).json
    assert refused["state"] == "failed" and refused["text"].startswith("Correct the report")
