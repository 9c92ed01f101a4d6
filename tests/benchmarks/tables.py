"""A million expenses: deskwork's table pages against Datasette and SQLite by itself.

    python tests/benchmarks/tables.py [--rows 1000000] [--runs 20] [--work DIR]
                                      [--datasette PATH]

Makes (once, kept in ``--work``) a database with the demo's schema and ``--rows``
expenses, some of them with a rare note (its search index tidied, as the first launch of
a day does; the bulk step changes eleven days' categories in it), then opens it as users
do, ``deskwork demo --browser --db FILE`` in a process of its own (``launched``), and a
copy of it with Datasette, and asks both for the same pages over one kept-alive connection
each, interleaved (A B A B). The floor is the same page asked of SQLite directly (sqlite3,
no web layer). Printed: the median of ``--runs`` requests each, and the ratios.

Datasette comes from PyPI into ``<work>/datasette-venv`` unless ``--datasette`` names
its command. The launched tool keeps its data folder in ``<work>/deskwork-data``; as on a
user's machine, its first launch of a day backs the database up (into ``<work>/backups``,
the newest ten kept) before it serves. Not a test: the machine is shared and noisy, so
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from launched import Connection, Launched, hidden, launch_demo

from deskwork.db.storage import Storage
from deskwork.demo import CATEGORIES, DEPARTMENTS, FIRST, LAST, NOTES, TAGS, tool

RARE = "Leeds office visit"  # one expense in 10,000
TODAY = dt.date(2026, 11, 25)  # the data is the same whatever the day it is made


def make_database(path: Path, rows: int) -> None:
    """The demo's tables, with ``rows`` expenses over three years and 50 employees."""
    started = time.perf_counter()
    storage = Storage(path)
    storage.prepare(tool, seed=False)
    rng = random.Random(2026)
    with storage.open() as db:
        db.execute("PRAGMA synchronous=OFF")  # made once: a crash here just remakes it
        db.table("employees").insert_all(
            {"id": i + 1, "name": f"{FIRST[i % 10]} {LAST[i // 10]}",
             "department": DEPARTMENTS[i % 5]}
            for i in range(50)
        )  # fmt: skip

        def expenses():  # type: ignore[no-untyped-def]
            for _ in range(rows):
                category = rng.choice(CATEGORIES)
                day = TODAY - dt.timedelta(days=rng.randrange(3 * 365))
                cents = rng.randrange(100, 150_000 if category == "Hardware" else 40_000)
                note = RARE if rng.random() < 0.0001 else rng.choice(NOTES[category])
                tags = [t for t in TAGS if rng.random() < 0.15]
                yield (day.isoformat(), cents, category, rng.randrange(1, 51), note,
                       json.dumps(tags) if tags else None, int(rng.random() < 0.6),
                       f"{day.isoformat()} 09:00", cents // 6)  # fmt: skip

        with db.conn:
            db.conn.executemany(
                "INSERT INTO expenses (date, amount, category, employee, note, tags, "
                "paid_by_card, submitted_at, vat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                expenses(),
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.tidy(tool)  # as the first launch of the day does
    print(f"made {rows:,} expenses in {time.perf_counter() - started:.0f} s", flush=True)


def prepared(work: Path, rows: int) -> Path:
    """The benchmarks' database of ``rows`` expenses in ``work``: made once, then brought
    to this deskwork's tables and tidied as the first launch of a day does."""
    path = work / f"expenses-{rows}.sqlite3"
    if not path.exists():
        make_database(path, rows)
    else:
        Storage(path).prepare(tool, seed=False)  # this deskwork's indexes, if older
        Storage(path).tidy(tool)
    return path


def datasette_command(work: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    venv = work / "datasette-venv"
    command = venv / "bin" / "datasette"
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "datasette"], check=True)
    return command


def wait_for_datasette(port: int, name: str) -> Connection:
    """A kept-alive connection to Datasette on ``port``, once it answers for ``name``."""
    for _ in range(150):
        try:
            theirs = Connection(port)
            theirs.get(f"/{name}.json")
            return theirs
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("Datasette did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("build/benchmarks"))
    parser.add_argument("--datasette", help="the datasette command (default: from PyPI)")
    options = parser.parse_args()
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    path = prepared(work, options.rows)
    copy = work / "datasette-copy.sqlite3"
    shutil.copyfile(path, copy)
    run(path, copy, datasette_command(work, options.datasette), options.runs, work)


def run(path: Path, copy: Path, datasette: Path, runs: int, work: Path) -> None:
    floor = Storage(path).connect()
    n = floor.execute("SELECT count(*) FROM expenses").fetchone()[0]

    def key_at(offset: int, order: str = "date DESC, id DESC", cols: str = "date, id") -> list:
        return list(floor.execute(f"SELECT {cols} FROM expenses ORDER BY {order} "
                                  "LIMIT 1 OFFSET ?", [offset]).fetchone())  # fmt: skip

    half, end = key_at(n // 2), key_at(n - 51)
    month = ("2026-10-01", "2026-10-31")

    port = free_port()
    peer = subprocess.Popen(
        [str(datasette), "serve", str(copy), "--port", str(port), "--setting",
         "default_page_size", "50", "--setting", "sql_time_limit_ms", "60000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db_name = copy.stem
    try:
        with launch_demo(path, work) as ours:
            theirs = wait_for_datasette(port, db_name)

            def deskwork(**args: object) -> str:
                return "/tables/expenses?" + urlencode(args, doseq=True)

            def ds(**args: object) -> str:
                return f"/{db_name}/expenses?" + urlencode(args, doseq=True)

            def ds_next(key: list) -> str:
                return ",".join(quote(str(v), safe="") for v in key)

            def sql(query: str, params: list) -> Callable[[], object]:
                return lambda: floor.execute(query, params).fetchall()

            page = "SELECT * FROM expenses"
            cases: dict[str, tuple[str, str, Callable[[], object]]] = {
                "first page (newest first)": (
                    deskwork(), ds(_sort_desc="date"),
                    sql(f"{page} ORDER BY date DESC, id DESC LIMIT 51", [])),
                "a page half-way down": (
                    deskwork(after=json.dumps([0, *half], separators=(",", ":"))),
                    ds(_sort_desc="date", _next=ds_next(half)),
                    sql(f"{page} WHERE (date, id) < (?, ?) ORDER BY date DESC, id DESC "
                        "LIMIT 51", half)),
                "the last page": (
                    deskwork(last=1), ds(_sort_desc="date", _next=ds_next(end)),
                    sql(f"{page} ORDER BY date ASC, id ASC LIMIT 51", [])),
                "sorted by amount (largest first)": (
                    deskwork(sort="-amount"), ds(_sort_desc="amount"),
                    sql(f"{page} ORDER BY amount DESC, id DESC LIMIT 51", [])),
                "one category": (
                    deskwork(category="Travel"), ds(category="Travel", _sort_desc="date"),
                    # "+": walk the date index testing rows (SQLite alone would look the
                    # category up and sort its 142,000 rows: 90 ms).
                    sql(f"{page} WHERE +category = 'Travel' ORDER BY date DESC, id DESC "
                        "LIMIT 51", [])),
                "one month": (
                    deskwork(**{"date.from": month[0], "date.to": month[1]}),
                    ds(date__gte=month[0], date__lte=month[1], _sort_desc="date"),
                    sql(f"{page} WHERE date BETWEEN ? AND ? ORDER BY date DESC, id DESC "
                        "LIMIT 51", list(month))),
                "search, few matches (“leeds”)": (
                    deskwork(q="leeds"), ds(_search="leeds", _sort_desc="date"),
                    sql(f"{page} WHERE id IN (SELECT rowid FROM expenses_fts WHERE "
                        "expenses_fts MATCH 'leeds*') ORDER BY date DESC, id DESC LIMIT 51",
                        [])),
                "search, many matches (“travel”)": (
                    deskwork(q="travel"), ds(_search="travel", _sort_desc="date"),
                    sql(f"{page} t WHERE EXISTS (SELECT 1 FROM expenses_fts WHERE "
                        "expenses_fts MATCH 'travel*' AND rowid = t.id) "
                        "ORDER BY date DESC, id DESC LIMIT 51", [])),
            }  # fmt: skip
            summaries = {
                "count and total, all rows": "",
                "count and total, one category": "category=Travel",
                "count and total, one month": f"date.from={month[0]}&date.to={month[1]}",
                "count and total, search “travel”": "q=travel",
                "filter counts (facets), all rows": None,
            }
            # The JSON API as a script asks it (its token, no cookie), against Datasette's
            # JSON of the same rows: the same address words, the same floor.
            api = {f"JSON: {name}": (mine.replace("/tables/", "/api/tables/", 1),
                                     peer_path.replace("/expenses?", "/expenses.json?", 1), raw)
                   for name, (mine, peer_path, raw) in cases.items()}  # fmt: skip
            program = ours.program("expenses")
            results: dict[str, tuple[float, float, float]] = {}
            for name, (mine, peer_path, raw) in [*cases.items(), *api.items()]:
                asker = program if name.startswith("JSON: ") else ours
                for _ in range(2):  # warm-up: caches, first compiles
                    asker.get(mine)
                    theirs.get(peer_path)
                    raw()
                a, b, c = [], [], []
                for _ in range(runs):
                    a.append(asker.get(mine)[0])
                    b.append(theirs.get(peer_path)[0])
                    start = time.perf_counter()
                    raw()
                    c.append(time.perf_counter() - start)
                results[name] = (statistics.median(a), statistics.median(b), statistics.median(c))
                print(f"  measured {name}", flush=True)
            arriving: dict[str, float] = {}
            for name, query in summaries.items():
                url = ("/tables/expenses/facets" if query is None
                       else f"/tables/expenses/summary?{query}")  # fmt: skip
                ours.get(url)
                arriving[name] = statistics.median(
                    ours.get(url)[0] for _ in range(max(runs // 4, 5))
                )
            bulk = bulk_update(ours, floor, runs=5)
    finally:
        peer.terminate()
        peer.wait(10)
        floor.close()

    version = subprocess.run([str(datasette), "--version"], capture_output=True, text=True,
                             encoding="utf-8").stdout.strip()  # fmt: skip
    print()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({platform.machine()}), "
          f"Python {platform.python_version()}, SQLite {floor_version()}, {version}; "
          f"{n:,} expenses, median of {runs} requests on a kept-alive connection")  # fmt: skip
    print()
    print("| page | deskwork | Datasette | SQLite alone | vs Datasette | vs SQLite |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (a, b, c) in results.items():
        print(f"| {name} | {a * 1000:.1f} ms | {b * 1000:.0f} ms | {c * 1000:.2f} ms | "
              f"{b / a:.0f}× faster | {a / c:.0f}× |")  # fmt: skip
    print()
    count, mine, raw = bulk
    print(
        f"Bulk: set the category of {count:,} selected rows (eleven days' expenses, "
        f'"All rows that match"), one transaction with its history: {mine * 1000:.0f} ms '
        f"through the server, against {raw * 1000:.0f} ms for SQLite's bare UPDATE "
        f"({mine / raw:.0f}×); Datasette has no bulk edit."
    )
    print()
    print("| arriving after the rows (deskwork) | time |")
    print("|---|---:|")
    for name, took in arriving.items():
        print(f"| {name} | {took * 1000:.0f} ms |")


def bulk_update(ours: Launched, floor: Any, runs: int) -> tuple[int, float, float]:
    """Set the category of about 10,000 rows (eleven days' expenses) through the bulk
    form, median of ``runs``; and the same UPDATE by itself."""
    view = "date.from=2026-01-01&date.to=2026-01-11"
    count = floor.execute("SELECT count(*) FROM expenses WHERE date BETWEEN '2026-01-01' "
                          "AND '2026-01-11'").fetchone()[0]  # fmt: skip
    mine, raw = [], []
    for run in range(runs):
        category = ["Other", "Office"][run % 2]
        form = {"_view": view, "_all": "1", "_do": "set", "_field": "category"}
        _, page = ours.post("/tables/expenses/bulk", form, ok=(200,))  # the confirmation
        took, _ = ours.post("/tables/expenses/bulk/apply",
                            {**form, "category": category, "_once": hidden(page, "_once"),
                             "_rows": hidden(page, "_rows")})  # fmt: skip
        changed = floor.execute(
            "SELECT count(*) FROM expenses WHERE category = ? AND date "
            "BETWEEN '2026-01-01' AND '2026-01-11'",
            [category],
        ).fetchone()
        assert changed[0] == count, f"the bulk change did not happen: {changed[0]} of {count}"
        mine.append(took)
        start = time.perf_counter()
        with floor.conn:
            floor.conn.execute("UPDATE expenses SET category = ? WHERE date BETWEEN "
                               "'2026-01-01' AND '2026-01-11'", [category])  # fmt: skip
        raw.append(time.perf_counter() - start)
    return count, statistics.median(mine), statistics.median(raw)


def floor_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
