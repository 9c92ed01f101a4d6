"""Saving a form and searching a lookup, against SQLite doing the same work by itself.

    python tests/benchmarks/forms.py [--runs 300] [--people 100000]

On the demo's database (its 10,000 expenses, plus ``--people`` employees to look up),
opened as users open it (``deskwork demo --browser --db FILE``, a process of its own,
asked over one kept-alive connection as the window asks: ``launched``), each measure runs
``--runs`` times, interleaved with its peer (A B A B), and the medians are printed side by
side with their ratio:

* saving a new expense through the whole stack (the real server: security checks,
  parsing, rules, the one-time token, one transaction, the redirect) against one plain
  ``INSERT`` of the same row in its own transaction (sqlite3, WAL, synchronous=FULL);
* the same save without HTTP, in this process (``records.parse_record`` +
  ``records.create``): what the web layer and the process boundary add is the gap;
* an edit saved with its version check, against a plain ``UPDATE``;
* a lookup search among the employees (JSON answer) against the same trigram-index query
  run bare; and, for scale, what a ``LIKE '%…%'`` scan with no index takes.

Not a test: the machine is shared and noisy, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from werkzeug.datastructures import MultiDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from launched import Launched, hidden, launch_demo

from deskwork.db import records
from deskwork.db.storage import Storage
from deskwork.demo import expenses, tool

FORM = {
    "date": "2026-03-04",
    "amount": "1,234.56",
    "category": "Travel",
    "employee": "7",
    "note": "Train to Leeds",
    "tags": "Billable",
    "paid_by_card": "on",
    "submitted_at": "2026-03-04T09:15",
}
ROW = {"date": "2026-03-04", "amount": 123456, "category": "Travel", "employee": 7,
       "note": "Train to Leeds", "tags": '["Billable"]', "paid_by_card": 1,
       "submitted_at": "2026-03-04 09:15", "vat": 20576}  # fmt: skip


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--people", type=int, default=100_000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="deskwork-forms-bench-"))
    try:
        run(work, options.runs, options.people)
    finally:
        shutil.rmtree(work, ignore_errors=True)


Times = dict[str, tuple[list[float], list[float]]]


def run(work: Path, runs: int, people: int) -> None:
    path = work / "expenses.sqlite3"
    Storage(path).prepare(tool)  # set-up, not measured: the demo's sample data
    with Storage(path).open() as db, db.conn:
        db.table("employees").insert_all(
            ({"name": f"Person {i:06d}", "department": "Sales"} for i in range(people)),
            batch_size=5000,
        )
    with launch_demo(path, work) as launched:
        times, scan, durable, fast = measure(launched, path, runs, people)
    report(times, scan, durable, fast, runs)


def measure(
    launched: Launched, path: Path, runs: int, people: int
) -> tuple[Times, list[float], list[float], list[float]]:
    """Each pair's times, interleaved; the bare LIKE scan's; inserts with FULL and NORMAL."""
    page = tool.pages["new-expense"]
    peer = Storage(path).connect()  # the peer: plain sqlite3 on the same file
    direct = Storage(path).connect()
    columns = ", ".join(f"[{c}]" for c in ROW)
    marks = ", ".join("?" for _ in ROW)
    counter = iter(range(10**9))
    token = [""]

    def open_the_new_form() -> None:
        # A person opening the form gets its one-time token; the page also shows (and so
        # clears) the "Saved ..." message the last save left in the session. Not timed.
        token[0] = hidden(launched.get("/forms/new-expense")[1], "_once")

    def save_through_the_stack() -> None:
        launched.post("/forms/new-expense", {**FORM, "_once": token[0]})

    def save_without_http() -> None:
        parsed = records.parse_record(direct, tool, page, MultiDict(FORM))
        assert parsed.ok, parsed.errors
        records.create(direct, expenses, parsed.values, f"d{next(counter)}")

    def plain_insert() -> None:
        with peer.conn:
            peer.conn.execute(
                f"INSERT INTO expenses ({columns}) VALUES ({marks})", list(ROW.values())
            )

    record_id = 1
    version = [""]
    notes = iter(range(10**9))

    def open_the_record() -> None:
        # The record's form as a person opens it, with the version its save is checked
        # against (and the last save's message, shown and so cleared). Not timed.
        version[0] = hidden(launched.get(f"/forms/new-expense/{record_id}")[1], "_version")

    def edit_through_the_stack() -> None:
        launched.post(
            f"/forms/new-expense/{record_id}",
            {**FORM, "note": f"Edit {next(notes)}", "_version": version[0]},
        )

    def plain_update() -> None:
        with peer.conn:
            peer.conn.execute(
                "UPDATE expenses SET note = ? WHERE id = ?", [f"Edit {next(notes)}", record_id + 1]
            )

    queries = [f"person {i:04d}" for i in range(0, 10_000, 7)]
    searches = iter(range(10**9))

    def lookup_through_the_stack() -> None:
        q = queries[next(searches) % len(queries)]
        launched.get(f"/lookups/employees/name?q={quote(q)}")

    def plain_trigram() -> None:
        q = queries[next(searches) % len(queries)]
        peer.execute(
            "SELECT t.id, t.name FROM _deskwork_lookup_employees_name f "
            "JOIN employees t ON t.id = f.rowid WHERE f.name MATCH ? "
            "ORDER BY t.name NOT LIKE ?, t.name, t.id LIMIT 20",
            [f'"{q}"', f"{q}%"],
        ).fetchall()

    def plain_like() -> None:
        q = queries[next(searches) % len(queries)]
        peer.execute(
            "SELECT id, name FROM employees WHERE name LIKE ? "
            "ORDER BY name NOT LIKE ?, name, id LIMIT 20",
            [f"%{q}%", f"{q}%"],
        ).fetchall()

    normal = Storage(path).connect()  # as deskwork saved before: synchronous=NORMAL
    normal.execute("PRAGMA synchronous=NORMAL")

    def plain_insert_normal() -> None:
        with normal.conn:
            normal.conn.execute(
                f"INSERT INTO expenses ({columns}) VALUES ({marks})", list(ROW.values())
            )

    def nothing() -> None:
        pass

    # name: (the untimed step before each run, deskwork, its peer)
    pairs = {
        "save a new expense": (open_the_new_form, save_through_the_stack, plain_insert),
        "the same, without HTTP": (nothing, save_without_http, plain_insert),
        "save an edit (version checked)": (open_the_record, edit_through_the_stack, plain_update),
        f"lookup search among {people + 50:,} employees": (
            nothing,
            lookup_through_the_stack,
            plain_trigram,
        ),
    }
    times: Times = {k: ([], []) for k in pairs}
    for name, (before, ours, theirs) in pairs.items():
        for _ in range(10):  # warm-up
            before()
            ours()
            theirs()
        for _ in range(runs):
            before()
            times[name][0].append(timed(ours))
            times[name][1].append(timed(theirs))
    scan = [timed(plain_like) for _ in range(max(runs // 10, 20))]
    durable, fast = [], []
    for _ in range(runs):
        durable.append(timed(plain_insert))
        fast.append(timed(plain_insert_normal))
    peer.close()
    direct.close()
    normal.close()
    return times, scan, durable, fast


def report(
    times: Times, scan: list[float], durable: list[float], fast: list[float], runs: int
) -> None:
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {platform.python_version()}, SQLite {peer_version()}, WAL + synchronous=FULL, "
        f"median of {runs} interleaved runs"
    )
    print()
    print("| work | deskwork | SQLite alone | ratio |")
    print("|---|---|---|---|")
    for name, (ours_t, theirs_t) in times.items():
        a, b = statistics.median(ours_t), statistics.median(theirs_t)
        print(f"| {name} | {a * 1000:.2f} ms | {b * 1000:.3f} ms | {a / b:.1f}× |")
    print()
    print(
        f"For scale: the same search as a LIKE '%…%' scan, with no index, takes "
        f"{statistics.median(scan) * 1000:.1f} ms in SQLite alone."
    )
    a, b = statistics.median(durable), statistics.median(fast)
    print(
        f"Durability: an insert in SQLite alone takes {a * 1000:.3f} ms with "
        f"synchronous=FULL (each commit on the disk), {b * 1000:.3f} ms with NORMAL "
        f"({a / b:.1f}×, {(a - b) * 1000:.3f} ms a save)."
    )


def peer_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
