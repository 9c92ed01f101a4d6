"""Reports over a million expenses: deskwork's declared reports (answered from summaries
kept by triggers) against Datasette running the same SQL and SQLite by itself.

    python tests/benchmarks/reports.py [--rows 1000000] [--runs 10] [--work DIR]
                                       [--datasette PATH]

Opens a copy of the table benchmark's database (``tables.prepared``) as users do, ``deskwork demo
--browser --db FILE`` in a process of its own, and asks for "Spending by category" over
one year and "Monthly spending" (month by category) over all rows: the page and the JSON
API, each the median of ``--runs`` over one kept-alive connection. Beside them: Datasette
running the same SQL on a copy, SQLite scanning the table, SQLite with a covering index
(on a scratch copy), and the summary table read by itself. Then the data is changed as
staff and IT change it (a form, an edit, a delete, its undo, a bulk change of eleven
days, an import of 1,000 rows by ``deskwork import``, another program's insert), the
totals are checked against SQL's own, and the reports are timed again.

Also: how long a save takes to reach an open dashboard (the change event, then the page
as the dashboard fetches it), and a form's save with the summaries kept against the same
save with their triggers taken away (the summaries are then dropped, and made again
exact by the next launch). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from launched import DESKWORK, Connection, Launched, hidden, launch_demo
from tables import bulk_update, datasette_command, free_port, prepared, wait_for_datasette

from deskwork.db import rollups
from deskwork.db.storage import Storage
from deskwork.demo import tool

YEAR = ("2025-01-01", "2025-12-31")
SCAN_YEAR = ("SELECT category, sum(amount), count(*), avg(amount) FROM expenses "
             "WHERE date BETWEEN :start AND :end GROUP BY category ORDER BY 2 DESC")  # fmt: skip
SCAN_MONTHS = ("SELECT substr(date, 1, 7) AS month, category, sum(amount), count(*) "
               "FROM expenses GROUP BY 1, 2 ORDER BY 1, 2")  # fmt: skip
FORM = {"amount": "12.34", "category": "Meals", "employee": "3", "note": "Benchmark lunch"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path("build/benchmarks"))
    parser.add_argument("--datasette", help="the datasette command (default: from PyPI)")
    options = parser.parse_args()
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    shared = prepared(work, options.rows)
    # The reports change the data: on a copy, so the other benchmarks' database stays.
    path = work / f"reports-{options.rows}.sqlite3"
    copy = work / "datasette-copy.sqlite3"
    indexed = work / "reports-indexed.sqlite3"
    for made in (path, copy, indexed):
        shutil.copyfile(shared, made)
    with closing(sqlite3.connect(indexed)) as db:
        db.execute("CREATE INDEX IF NOT EXISTS covering ON expenses (date, category, amount)")
    try:
        run(path, copy, indexed, datasette_command(work, options.datasette), options.runs, work)
    finally:
        for made in (path, indexed):
            for left in made.parent.glob(made.name + "*"):  # its -wal, -shm and lock too
                left.unlink()


def median_of(runs: int, ask: Callable[[], object]) -> float:
    ask()  # warm-up
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        ask()
        took.append(time.perf_counter() - start)
    return statistics.median(took)


def run(path: Path, copy: Path, indexed: Path, datasette: Path, runs: int, work: Path) -> None:
    floor = Storage(path).connect()  # sqlite-utils, as the bulk step asks it
    with_index = sqlite3.connect(indexed)
    n = floor.execute("SELECT count(*) FROM expenses").fetchone()[0]
    port = free_port()
    peer = subprocess.Popen(
        [str(datasette), "serve", str(copy), "--port", str(port), "--setting",
         "sql_time_limit_ms", "60000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with launch_demo(path, work) as ours:
            theirs = wait_for_datasette(port, copy.stem)
            program = ours.program("expenses")
            year = urlencode({"start": YEAR[0], "end": YEAR[1]})
            by_rollup = {r.keys: r.name for r in rollups.wanted(tool)}
            cases = {
                "Spending by category, one year": (
                    f"/reports/spending-by-category?period=&{year}",
                    f"/api/reports/spending-by-category?{year}", SCAN_YEAR,
                    {"start": YEAR[0], "end": YEAR[1]},
                    f"SELECT category, sum(_s_amount), sum(_n) FROM [{by_rollup[('category',)]}] "
                    "WHERE date BETWEEN :start AND :end GROUP BY category"),
                "Monthly spending, month × category, all rows": (
                    "/reports/monthly-spending?period=all",
                    "/api/reports/monthly-spending?period=all", SCAN_MONTHS, {},
                    "SELECT substr(date, 1, 7), category, sum(_s_amount), sum(_n) FROM "
                    f"[{by_rollup[('category',)]}] GROUP BY 1, 2"),
            }  # fmt: skip

            def measure() -> dict[str, list[float]]:
                found = {}
                for name, (page, api, sql, params, rolled) in cases.items():
                    peer_path = f"/{copy.stem}.json?" + urlencode({"sql": sql, **params})

                    def alone(db: Any, s: str, p: dict[str, str] = params) -> Callable[[], object]:
                        return lambda: db.execute(s, p).fetchall()

                    found[name] = [
                        median_of(runs, lambda p=page: ours.get(p)),
                        median_of(runs, lambda a=api: program.get(a)),
                        median_of(runs, lambda q=peer_path: theirs.get(q)),
                        median_of(runs, alone(floor, sql)),
                        median_of(runs, alone(with_index, sql)),
                        median_of(runs, alone(floor, rolled)),
                    ]  # fmt: skip
                    print(f"  measured {name}", flush=True)
                return found

            before = measure()
            changed = change_everything(ours, floor, path, work)
            exact = check_totals(program, floor, year)
            after = measure()
            reaching = dashboard_updates(ours, runs)
            saves = save_cost(ours, floor, runs)
            program.close()
            theirs.close()
    finally:
        peer.terminate()
        peer.wait(10)
        with_index.close()
        floor.close()
    version = subprocess.run([str(datasette), "--version"], capture_output=True, text=True,
                             encoding="utf-8").stdout.strip()  # fmt: skip
    print()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({platform.machine()}), "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {version}; "
          f"{n:,} expenses, median of {runs} requests on a kept-alive connection")  # fmt: skip
    for title, found in (("report", before), ("report, after the changes", after)):
        print()
        print(
            f"| {title} | deskwork page | deskwork JSON | Datasette, same SQL | "
            "SQLite scan | SQLite, covering index | summary alone | vs Datasette | vs scan |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, (page, api, peer_time, scan, index, rolled) in found.items():
            print(f"| {name} | {page * 1000:.1f} ms | {api * 1000:.1f} ms | "
                  f"{peer_time * 1000:.0f} ms | {scan * 1000:.0f} ms | {index * 1000:.0f} ms | "
                  f"{rolled * 1000:.2f} ms | {peer_time / api:.1f}× faster | "
                  f"{scan / api:.1f}× faster |")  # fmt: skip
    print()
    print(f"Changes between the two: {changed}. Totals after them equal SQL's own: {exact}.")
    event, shown = reaching
    print(
        f"A save reaching an open dashboard: the change event {event * 1000:.0f} ms after "
        f"the save was sent, the dashboard's page with it {shown * 1000:.0f} ms after."
    )
    kept, bare = saves
    print(
        f"A form's save through the server: {kept * 1000:.1f} ms with the summaries kept "
        f"by triggers, {bare * 1000:.1f} ms without them ({kept / bare:.2f}×)."
    )


def save(ours: Launched, note: str, day: str = "2025-06-15") -> float:
    """Save a new expense through the form, as staff do: the seconds the save took."""
    token = hidden(ours.get("/forms/new-expense")[1], "_once")
    return ours.post("/forms/new-expense", {
        "date": day, **FORM, "note": note, "_once": token})[0]  # fmt: skip


def own_fields(page: bytes) -> dict[str, str]:
    """The hidden inputs a form sends for itself (its version, its one-time token)."""
    return {k.decode(): v.decode() for k, v in re.findall(
        rb'name="(_[a-z_]+)" value="([^"]*)"', page)}  # fmt: skip


def change_everything(ours: Launched, floor: Any, path: Path, work: Path) -> str:
    """A form, an edit, a delete and its undo, a bulk change, an import, another program."""
    save(ours, "Saved for the reports benchmark")
    (row,) = floor.execute("SELECT id FROM expenses WHERE note = 'Saved for the reports "
                           "benchmark' ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
    edit = ours.get(f"/forms/new-expense/{row}")[1]
    ours.post(f"/forms/new-expense/{row}", {
        "date": "2025-06-16", **FORM, "amount": "99.99", "category": "Travel",
        **own_fields(edit)})  # fmt: skip
    ours.post(f"/forms/new-expense/{row}/delete", {})
    undo = floor.execute("SELECT max(id) FROM _deskwork_actions").fetchone()[0]
    ours.post(f"/undo/{undo}", {})
    count, _, _ = bulk_update(ours, floor, runs=1)
    rows = ["Date,Amount,Category,Employee,Note"] + [
        f"2025-0{1 + i % 9}-2{i % 8},{i % 500}.50,Training,{'Ada Okafor'},Imported {i}"
        for i in range(1000)]  # fmt: skip
    csv = work / "reports-import.csv"
    csv.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    env = {**os.environ, "DESKWORK_DATA_DIR": str(work / "deskwork-data")}
    subprocess.run([str(DESKWORK), "import", "demo", str(csv), "--table", "expenses", "--db",
                    str(path)], check=True, capture_output=True, env=env)  # fmt: skip
    with closing(sqlite3.connect(path)) as other, other:  # another program, its own connection
        other.execute("INSERT INTO expenses (date, amount, category, employee) "
                      "VALUES ('2025-03-03', 4321, 'Office', 7)")  # fmt: skip
    return (
        f"a form's save, its edit, its delete and undo, a bulk change of {count:,} rows, "
        "1,000 rows imported by `deskwork import`, another program's insert"
    )


def check_totals(program: Connection, floor: Any, year: str) -> str:
    found = json.loads(program.get(f"/api/reports/spending-by-category?{year}")[1])
    (cents,) = floor.execute("SELECT sum(amount) FROM expenses WHERE date BETWEEN ? AND ?",
                             YEAR).fetchone()  # fmt: skip
    shown = round(float(found["totals"]["total"]) * 100)
    months = json.loads(program.get("/api/reports/monthly-spending?period=all")[1])
    (everything,) = floor.execute("SELECT sum(amount) FROM expenses").fetchone()
    whole = round(float(months["totals"]["total"]) * 100)
    if (shown, whole) != (cents, everything):
        raise RuntimeError(f"report totals {shown}, {whole} are not SQL's {cents}, {everything}")
    return f"yes ({cents / 100:,.2f} for the year, {everything / 100:,.2f} in all)"


def dashboard_updates(ours: Launched, runs: int) -> tuple[float, float]:
    """From sending a save to the change event on an open stream, and to the dashboard's
    page showing it (as the page fetches itself on the event): medians."""
    stream = http.client.HTTPConnection("127.0.0.1", ours.port, timeout=60)
    cookies = "; ".join(f"{k}={v}" for k, v in ours.connection.cookies.items())
    stream.request("GET", "/events", headers={"Cookie": cookies})
    events = stream.getresponse()
    events.readline()
    events.readline()
    writer = Connection(ours.port)
    writer.cookies = dict(ours.connection.cookies)
    heard, shown = [], []
    try:
        for i in range(runs):
            token = hidden(writer.get("/forms/new-expense")[1], "_once")
            started = time.perf_counter()
            writer.post("/forms/new-expense", {
                "date": time.strftime("%Y-%m-%d"), **FORM, "note": f"Dashboard {i}",
                "_once": token})  # fmt: skip
            while not events.readline().startswith(b"event: change"):
                pass
            heard.append(time.perf_counter() - started)
            ours.get("/")
            shown.append(time.perf_counter() - started)
    finally:
        stream.close()
        writer.close()
    return statistics.median(heard), statistics.median(shown)


def save_cost(ours: Launched, floor: Any, runs: int) -> tuple[float, float]:
    """A form's save with the summaries' triggers, then without (taken away by another
    connection, as the server sees at once); the summaries are dropped after, so the
    next launch makes them again, exact."""

    def saves() -> float:
        return statistics.median(save(ours, f"Save {i}") for i in range(max(runs, 10) * 3))

    kept = saves()
    with floor.conn:
        for name in rollups.existing(floor.conn):
            rollups.drop(floor.conn, name)
    return kept, saves()


if __name__ == "__main__":
    main()
