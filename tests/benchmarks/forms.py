"""Saving a form and searching a lookup, against SQLite doing the same work by itself.

    python tests/benchmarks/forms.py [--runs 300] [--people 100000]

On the demo's database (its 10,000 expenses, plus ``--people`` employees to look up),
each measure runs ``--runs`` times, interleaved with its peer (A B A B), and the medians
are printed side by side with their ratio:

* saving a new expense through the whole stack (Flask's test client: security checks,
  parsing, rules, the one-time token, one transaction, the redirect) against one plain
  ``INSERT`` of the same row in its own transaction (sqlite3, WAL, synchronous=NORMAL);
* the same save without HTTP (``records.parse_record`` + ``records.create``);
* an edit saved with its version check, against a plain ``UPDATE``;
* a lookup search among the employees (JSON answer) against the same trigram-index query
  run bare; and, for scale, what a ``LIKE '%…%'`` scan with no index takes.

Not a test: the machine is shared and noisy, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.datastructures import MultiDict

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deskwork.db import records  # noqa: E402
from deskwork.db.storage import Storage  # noqa: E402
from deskwork.demo import expenses, tool  # noqa: E402
from deskwork.testing import tool_client  # noqa: E402

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


def run(work: Path, runs: int, people: int) -> None:
    path = work / "expenses.sqlite3"
    client = tool_client(tool, path, seed=True)
    with Storage(path).open() as db, db.conn:
        db.table("employees").insert_all(
            ({"name": f"Person {i:06d}", "department": "Sales"} for i in range(people)),
            batch_size=5000,
        )
    page = tool.pages["new-expense"]
    peer = Storage(path).connect()  # the peer: plain sqlite3 on the same file
    direct = Storage(path).connect()
    columns = ", ".join(f"[{c}]" for c in ROW)
    marks = ", ".join("?" for _ in ROW)
    counter = iter(range(10**9))

    token = [""]

    def save_through_the_stack() -> None:
        response = client.post("/forms/new-expense", data={**FORM, "_once": token[0]})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]

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
    page_html = client.get(f"/forms/new-expense/{record_id}").get_data(as_text=True)
    version = [re.search(r'name="_version" value="([^"]+)"', page_html)[1]]  # type: ignore[index]
    notes = iter(range(10**9))

    def edit_through_the_stack() -> None:
        response = client.post(
            f"/forms/new-expense/{record_id}",
            data={**FORM, "note": f"Edit {next(notes)}", "_version": version[0]},
        )
        assert response.status_code == 303
        row = records.get_row(direct, expenses, record_id)
        version[0] = records.version_of(row or {})

    def plain_update() -> None:
        with peer.conn:
            peer.conn.execute(
                "UPDATE expenses SET note = ? WHERE id = ?", [f"Edit {next(notes)}", record_id + 1]
            )

    queries = [f"person {i:04d}" for i in range(0, 10_000, 7)]
    searches = iter(range(10**9))

    def lookup_through_the_stack() -> None:
        q = queries[next(searches) % len(queries)]
        assert client.get(f"/lookups/employees/name?q={q}").status_code == 200

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

    def forget_messages() -> None:
        # A browser shows "Saved ..." on the page it is sent to; the test client follows no
        # redirect, so the messages would pile up in the session cookie and slow every
        # request. A page shows (and so clears) them; the form's page also gives the next
        # save its one-time token, as a person opening the form gets one. Not timed.
        page_html = client.get("/forms/new-expense").get_data(as_text=True)
        token[0] = re.search(r'name="_once" value="([^"]+)"', page_html)[1]  # type: ignore[index]

    normal = Storage(path).connect()  # as deskwork saved before: synchronous=NORMAL
    normal.execute("PRAGMA synchronous=NORMAL")

    def plain_insert_normal() -> None:
        with normal.conn:
            normal.conn.execute(
                f"INSERT INTO expenses ({columns}) VALUES ({marks})", list(ROW.values())
            )

    pairs = {
        "save a new expense": (save_through_the_stack, plain_insert),
        "the same, without HTTP": (save_without_http, plain_insert),
        "save an edit (version checked)": (edit_through_the_stack, plain_update),
        f"lookup search among {people + 50:,} employees": (
            lookup_through_the_stack,
            plain_trigram,
        ),
    }
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    forget_messages()
    for name, (ours, theirs) in pairs.items():
        for _ in range(10):  # warm-up
            ours()
            theirs()
            forget_messages()
        for _ in range(runs):
            times[name][0].append(timed(ours))
            times[name][1].append(timed(theirs))
            forget_messages()
    scan = [timed(plain_like) for _ in range(max(runs // 10, 20))]
    durable, fast = [], []
    for _ in range(runs):
        durable.append(timed(plain_insert))
        fast.append(timed(plain_insert_normal))
    peer.close()
    direct.close()
    normal.close()

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
