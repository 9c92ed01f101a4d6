"""100,000 expenses imported through the import pages of the launched demo, as CSV and as
an Excel workbook, beside SQLite's bare ``executemany`` of the same rows.

    python tests/benchmarks/imports.py [--rows 100000] [--runs 3] [--work DIR]

The files are the table benchmark's database's newest rows (``tables.py`` makes it once in
``--work``), Hardware left out (the demo's form asks a receipt of large hardware), exported
by deskwork itself. Each run imports them into a database of their own with the same
employees, opened as users do (``deskwork demo --browser --db FILE``, ``launched``), over
a kept-alive connection: the upload (read and kept), the preview (every row checked), and
the import (the rows the preview checked, saved with their history in one transaction).
The floor is SQLite's ``executemany`` of the same rows, typed already, into the same table
(its indexes, and its search index filled at the end as the import fills it, or a row at
a time by its triggers) and into a bare table. Right after each import, the table
page searches for a common word ("travel"), beside SQLite alone testing each row the same
way, on the index as the import left it and then in one piece (as the next day's tidy
leaves it). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from launched import Connection, Launched, hidden, launch_demo
from tables import floor_version, prepared
from werkzeug.datastructures import MultiDict

from deskwork import exports
from deskwork.db import search
from deskwork.db.connection import write_transaction
from deskwork.db.storage import Storage
from deskwork.demo import CATEGORIES, tool

COLUMNS = ["date", "amount", "category", "employee", "note"]
#: The table page's search for a common word, by SQLite alone: the newest rows, each tested.
SEARCH = (
    "SELECT * FROM expenses t WHERE EXISTS (SELECT 1 FROM expenses_fts WHERE "
    "expenses_fts MATCH 'travel*' AND rowid = t.id) ORDER BY date DESC, id DESC LIMIT 51"
)


def upload(connection: Connection, name: str, data: bytes) -> tuple[float, str]:
    """POST ``data`` as the upload form does (multipart): (seconds, the preview's address)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Origin": f"http://127.0.0.1:{connection.port}",
        "Cookie": "; ".join(f"{k}={v}" for k, v in connection.cookies.items()),
    }
    conn = connection.conn
    start = time.perf_counter()
    conn.request("POST", "/tables/expenses/import", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    took = time.perf_counter() - start
    if response.status != 303:
        raise RuntimeError(f"upload: {response.status}")
    return took, response.headers["Location"].removeprefix(f"http://127.0.0.1:{connection.port}")


def waited(ours: Launched, status: str, then: str, page: bytes,
           ok: tuple[int, ...] = (200,)) -> bytes:  # fmt: skip
    """As the progress page does: ask how far the work is until it is done, then ``then``
    (every 50 ms: the page itself asks every 300 ms)."""
    while b"data-job-status" in page:
        while json.loads(ours.get(status)[1])["state"] == "running":
            time.sleep(0.05)
        page = ours.connection.get(then, ok=(*ok, 200))[1]
    return page


def make_files(source: Path, rows: int, work: Path) -> tuple[dict[str, bytes], list[tuple]]:
    """The newest ``rows`` expenses but hardware, as CSV and .xlsx; and as typed rows."""
    others = [c for c in CATEGORIES if c != "Hardware"]
    args = MultiDict([("category", c) for c in others] + [("cols", c) for c in COLUMNS])
    with Storage(source).open() as db:
        marks = ", ".join("?" for _ in others)
        since = db.execute(
            f"SELECT date FROM expenses WHERE category IN ({marks}) ORDER BY date DESC, id DESC "
            "LIMIT 1 OFFSET ?", [*others, rows - 1]).fetchone()[0]  # fmt: skip
        args.add("date.from", since)
        files = {}
        for fmt in (exports.CSV, exports.EXCEL):
            sheet = exports.page_sheet(tool, db, "expenses", args, fmt)
            files[fmt.extension] = b"".join(exports.encode(sheet, fmt))
        typed = db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM expenses WHERE category IN ({marks}) AND date >= ?",
            [*others, since]).fetchall()  # fmt: skip
    return files, typed


def fresh(work: Path, source: Path, n: int) -> Path:
    """A database of the demo's tables with the source's employees and no expenses."""
    path = work / f"import-{n}.sqlite3"
    for old in work.glob(f"import-{n}.sqlite3*"):
        old.unlink()
    Storage(path).prepare(tool, seed=False)
    with Storage(path).open() as db:
        db.conn.execute("ATTACH DATABASE ? AS source", [str(source)])
        with db.conn:
            db.conn.execute("INSERT INTO employees SELECT * FROM source.employees")
        db.conn.execute("DETACH DATABASE source")
    return path


def floor(work: Path, source: Path, typed: list[tuple], into: str) -> float:
    """SQLite's ``executemany`` of the typed rows ``into`` the tool's table, its search
    indexes filled by their triggers ("table") or at the end as the import does
    ("at end": ``search.indexed_at_end``), or into a bare table ("bare")."""
    path = fresh(work, source, 0)
    with Storage(path).open() as db:
        table = "expenses"
        if into == "bare":
            table = "bare"
            db.execute("CREATE TABLE bare (id INTEGER PRIMARY KEY, date TEXT, amount INTEGER, "
                       "category TEXT, employee INTEGER, note TEXT)")  # fmt: skip
        start = time.perf_counter()
        with write_transaction(db) as conn:
            at_end = search.indexed_at_end(conn, table) if into == "at end" else nullcontext()
            with at_end:
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)", typed
                )
        return time.perf_counter() - start


def searching(ours: Launched, path: Path, runs: int = 15) -> tuple[float, float, int, float]:
    """Right after an import: the table page's search for "travel" (median of ``runs``
    requests), SQLite alone's, how many pieces (segments) the search index is in, and
    SQLite alone's once the index is in one piece (FTS5's ``optimize``)."""
    ours.get("/tables/expenses?q=travel")
    page = statistics.median(ours.get("/tables/expenses?q=travel")[0] for _ in range(runs))
    with Storage(path).open() as db:

        def alone() -> float:
            db.execute(SEARCH).fetchall()
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                db.execute(SEARCH).fetchall()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        pieces = db.execute("SELECT count(DISTINCT segid) FROM expenses_fts_idx").fetchone()[0]
        as_left = alone()
        with db.conn:
            db.conn.execute("INSERT INTO expenses_fts (expenses_fts) VALUES ('optimize')")
        return page, as_left, int(pieces), alone()


def reading_time(data: bytes) -> float:
    from deskwork import reading

    start = time.perf_counter()
    reading.read("expenses.xlsx", data)
    return time.perf_counter() - start


def openpyxl_time(data: bytes) -> float:
    """openpyxl's read-only mode over the same workbook, every row's values."""
    import io

    import openpyxl

    start = time.perf_counter()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in book.active.iter_rows(values_only=True):
        pass
    book.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source-rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("build/benchmarks"))
    options = parser.parse_args()
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = prepared(work, options.source_rows)
    files, typed = make_files(source, options.rows, work)
    results: dict[str, list[tuple[float, float, float]]] = {"csv": [], "xlsx": []}
    searches: list[tuple[float, float, int, float]] = []
    with tempfile.TemporaryDirectory(dir=work) as folder:
        runs = Path(folder)
        for n in range(options.runs):
            for kind in ("csv", "xlsx"):  # interleaved
                path = fresh(runs, source, n + 1)
                with launch_demo(path, runs) as ours:
                    sent, preview = upload(ours.connection, f"expenses.{kind}", files[kind])
                    # The ID column left out: the records are new in this database.
                    matching = {"matched": "1", "col0": "", **{f"col{i + 1}": c for i, c in
                                                               enumerate(COLUMNS)}}  # fmt: skip
                    preview += "?" + urlencode(matching)
                    status = preview.split("?")[0] + "/status"
                    start = time.perf_counter()
                    _, page = ours.get(preview)  # a large file: its progress page first
                    page = waited(ours, status, preview, page)
                    checked = time.perf_counter() - start
                    counted = re.search(rb"([\d,]+) rows?: ([\d,]+) new", page)
                    if counted is None or counted[2] != counted[1]:
                        raise RuntimeError(f"the preview: {page[:2000]!r}")
                    start = time.perf_counter()
                    ours.post(preview.split("?")[0], {**matching, "_once": hidden(page, "_once")})
                    waited(ours, status, preview.split("?")[0] + "/saving", b"data-job-status",
                           ok=(303,))  # fmt: skip
                    saved = time.perf_counter() - start
                    results[kind].append((sent, checked, saved))
                    searches.append(searching(ours, path))
                with Storage(path).open() as db:
                    got = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
                if got != len(typed):
                    raise RuntimeError(f"{got:,} rows imported of {len(typed):,}")
    ours_reading = statistics.median(reading_time(files["xlsx"]) for _ in range(options.runs))
    openpyxl_reading = statistics.median(
        openpyxl_time(files["xlsx"]) for _ in range(options.runs))  # fmt: skip
    floors = {into: statistics.median(floor(work, source, typed, into)
                                      for _ in range(options.runs))
              for into in ("table", "at end", "bare")}  # fmt: skip

    print()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({platform.machine()}), "
          f"Python {platform.python_version()}, SQLite {floor_version()}; {len(typed):,} "
          f"expenses imported, median of {options.runs} runs")  # fmt: skip
    print()
    print(
        "| import of every row | upload (read, kept) | preview (every row checked) | "
        "import (saved with its history) | in all | vs SQLite's executemany | "
        "the import vs SQLite's |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, label in (("csv", "CSV"), ("xlsx", "Excel workbook")):
        sent, checked, saved = (statistics.median(r[i] for r in results[kind]) for i in range(3))
        total = sent + checked + saved
        print(f"| {label} ({len(files[kind]) / 1e6:.2f} MB) | {sent:.2f} s | {checked:.2f} s | "
              f"{saved:.2f} s | {total:.2f} s | {total / floors['at end']:.1f}× | "
              f"{saved / floors['at end']:.1f}× |")  # fmt: skip
    print()
    print(f"SQLite alone: executemany of the same {len(typed):,} rows, typed already, into "
          f"the tool's table (its indexes and search index): {floors['at end']:.2f} s with the "
          f"search index filled at the end as the import fills it, {floors['table']:.2f} s "
          f"filled a row at a time by its triggers; {floors['bare']:.2f} s into a bare "
          "table.")  # fmt: skip
    page, alone, pieces, one = (statistics.median(s[i] for s in searches) for i in range(4))
    print()
    print(f"Searching right after the import (“travel”, the table page): {page * 1000:.1f} ms "
          f"through the server, {alone * 1000:.2f} ms for SQLite alone (the same test of each "
          f"row), the index in {pieces:.0f} pieces; {one * 1000:.2f} ms for SQLite alone with "
          "the index in one piece (as the next day's tidy leaves it).")  # fmt: skip
    print()
    print(f"Reading the workbook: {ours_reading:.2f} s by deskwork.reading (python-calamine), "
          f"{openpyxl_reading:.2f} s by openpyxl's read-only mode alone.")  # fmt: skip


if __name__ == "__main__":
    main()
