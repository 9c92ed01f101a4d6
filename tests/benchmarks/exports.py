"""A million expenses exported: deskwork's CSV and Excel downloads against Datasette's
streamed CSV, SQLite's own floor and openpyxl's write-only mode.

    python tests/benchmarks/exports.py [--rows 1000000] [--runs 3] [--excel-rows 100000]
                                       [--work DIR] [--datasette PATH]

Uses the table benchmark's database (``tables.py`` makes it once in ``--work``), opened as
users do, ``deskwork demo --browser --db FILE`` in a process of its own, and a copy of it
with Datasette; each is asked, over a kept-alive connection, for every row as CSV, read
and thrown away as it comes (A B A B). The server's memory: its peak resident size
(``VmHWM``) before and after the exports. The floor: Python's csv writer over a bare
cursor (``fetchmany(5000)``) of the same rows and columns. Excel: the newest
``--excel-rows`` rows as a workbook through the server, beside openpyxl's write-only mode
writing the same rows (read by a bare cursor) to a file alone. Not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from launched import Connection, launch_demo
from tables import datasette_command, floor_version, free_port, prepared

from deskwork.db.storage import Storage

#: The columns the demo's Expenses page shows, as deskwork exports them.
COLUMNS = "e.id, e.date, e.amount, e.category, p.name, e.note"
JOINED = "FROM expenses e LEFT JOIN employees p ON p.id = e.employee"


def download(connection: Connection, path: str) -> tuple[float, int]:
    """GET ``path`` and read its body as it comes, keeping none of it: (seconds, bytes).
    On a new connection: the other server's export took longer than this one keeps an
    idle connection (a second's connecting is nothing beside an export's seconds)."""
    conn = connection.conn
    conn.close()
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in connection.cookies.items())}
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read(300)!r}")
    size = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
    return time.perf_counter() - start, size


def peak_memory(pid: int) -> float:
    """The process's peak resident memory so far, in MB (Linux: ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def csv_floor(path: Path) -> tuple[float, int]:
    """Python's csv writer over a bare cursor of the same rows: (seconds, bytes)."""
    db = Storage(path).connect()
    start = time.perf_counter()
    out = io.StringIO()
    writer = csv.writer(out)
    size = 0
    cursor = db.execute(f"SELECT {COLUMNS} {JOINED} ORDER BY e.date DESC, e.id DESC")
    while batch := cursor.fetchmany(5000):
        writer.writerows(batch)
        size += len(out.getvalue().encode())
        out.seek(0)
        out.truncate()
    took = time.perf_counter() - start
    db.close()
    return took, size


def openpyxl_alone(path: Path, since: str) -> tuple[float, int]:
    """openpyxl's write-only mode, the same rows as typed values, to a file: (s, bytes)."""

    with warnings.catch_warnings():  # openpyxl's temporary file's, not ours
        warnings.simplefilter("ignore", EncodingWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        found = _openpyxl_alone(path, since)
        gc.collect()  # its temporary file, while its warnings are ignored
    return found


def _openpyxl_alone(path: Path, since: str) -> tuple[float, int]:
    import openpyxl

    db = Storage(path).connect()
    start = time.perf_counter()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Expenses")
    sheet.append(["ID", "Date", "Amount", "Category", "Employee", "Note"])
    for i, day, cents, category, name, note in db.execute(
        f"SELECT {COLUMNS} {JOINED} WHERE e.date >= ? ORDER BY e.date DESC, e.id DESC", [since]
    ):
        sheet.append([i, dt.date.fromisoformat(day), Decimal(cents).scaleb(-2), category,
                      name, note])  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "expenses.xlsx"
        book.save(out)
        took, size = time.perf_counter() - start, out.stat().st_size
    db.close()
    return took, size


def median(runs: int, measure: Callable[[], tuple[float, int]]) -> tuple[float, int]:
    found = [measure() for _ in range(runs)]
    return statistics.median(t for t, _ in found), found[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--excel-rows", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("build/benchmarks"))
    parser.add_argument("--datasette", help="the datasette command (default: from PyPI)")
    options = parser.parse_args()
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    path = prepared(work, options.rows)
    copy = work / "datasette-copy.sqlite3"
    shutil.copyfile(path, copy)
    datasette = datasette_command(work, options.datasette)

    with Storage(path).open() as db:
        n = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
        wanted = min(options.excel_rows, n)
        since = db.execute("SELECT date FROM expenses ORDER BY date DESC, id DESC LIMIT 1 "
                           "OFFSET ?", [wanted - 1]).fetchone()[0]  # fmt: skip
        excel_rows = db.execute("SELECT count(*) FROM expenses WHERE date >= ?",
                                [since]).fetchone()[0]  # fmt: skip

    port = free_port()
    peer = subprocess.Popen(
        [str(datasette), "serve", str(copy), "--port", str(port), "--setting",
         "sql_time_limit_ms", "600000", "--setting", "max_csv_mb", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db_name = copy.stem
    try:
        for _ in range(300):  # Datasette first: the tool's connection is then used at once
            try:
                theirs = Connection(port, timeout=600)
                theirs.get(f"/{db_name}.json")
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("Datasette did not start")
        with launch_demo(path, work) as ours:
            pid = ours.process.pid
            ours.get("/tables/expenses")
            before = peak_memory(pid)
            theirs_before = peak_memory(peer.pid)
            mine: list[tuple[float, int]] = []
            datasettes: list[tuple[float, int]] = []
            for _ in range(options.runs):
                mine.append(download(ours.connection, "/tables/expenses/export/csv"))
                datasettes.append(
                    download(  # in its own order (by rowid): its quickest
                        theirs, f"/{db_name}/expenses.csv?_stream=on&_size=max&_labels=on"
                    )
                )
            after = peak_memory(pid)
            theirs_after = peak_memory(peer.pid)
            excel = median(options.runs, lambda: download(
                ours.connection, f"/tables/expenses/export/xlsx?date.from={since}"))  # fmt: skip
            theirs.close()
    finally:
        peer.terminate()
        peer.wait(10)
    floor = median(options.runs, lambda: csv_floor(path))
    alone = median(options.runs, lambda: openpyxl_alone(path, since))

    ours_s = statistics.median(t for t, _ in mine)
    theirs_s = statistics.median(t for t, _ in datasettes)
    version = subprocess.run([str(datasette), "--version"], capture_output=True, text=True,
                             encoding="utf-8").stdout.strip()  # fmt: skip
    print()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({platform.machine()}), "
          f"Python {platform.python_version()}, SQLite {floor_version()}, {version}; "
          f"{n:,} expenses, median of {options.runs} runs")  # fmt: skip
    print()
    print("| CSV of every row | time | rows/s | size | vs SQLite's floor |")
    print("|---|---:|---:|---:|---:|")
    for name, took, size in [
        ("deskwork (launched demo, through its server)", ours_s, mine[-1][1]),
        ("Datasette (streamed CSV, labels on, by rowid)", theirs_s, datasettes[-1][1]),
        ("SQLite alone (csv writer over a bare cursor)", floor[0], floor[1]),
    ]:
        print(f"| {name} | {took:.2f} s | {n / took:,.0f} | {size / 1e6:.1f} MB | "
              f"{floor[0] / took:.2f}× |")  # fmt: skip
    print()
    print(f"Memory: the server's peak grew by {after - before:.1f} MB over the CSV exports "
          f"({before:.1f} MB before, {after:.1f} MB after); Datasette's by "
          f"{theirs_after - theirs_before:.1f} MB.")  # fmt: skip
    print()
    print(f"| Excel workbook of {excel_rows:,} rows | time | size |")
    print("|---|---:|---:|")
    print(f"| deskwork (launched demo, through its server) | {excel[0]:.2f} s | "
          f"{excel[1] / 1e6:.2f} MB |")  # fmt: skip
    print(f"| openpyxl write-only alone (a bare cursor, to a file) | {alone[0]:.2f} s | "
          f"{alone[1] / 1e6:.2f} MB |")  # fmt: skip


if __name__ == "__main__":
    main()
