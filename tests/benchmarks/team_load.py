"""Staff at once on a served tool: ``deskwork serve`` under load, beside Datasette (reads)
and SQLite alone (writes).

    python tests/benchmarks/team_load.py [--rows 1000000] [--staff 50,200] [--seconds 60]
                                         [--workers 2] [--kill] [--work DIR] [--datasette PATH]

The demo grown to ``--rows`` expenses (made once in ``--work``, shared with the table
benchmark) is copied and served as IT serves it: ``deskwork serve demo --db COPY`` in a
process of its own, with ``--workers`` worker processes, on a socket made here. Editors
are added with ``deskwork users add``, one for every four staff (at least ten: a person
logs in from a few places at once, never from dozens, which the lock would hold back).
Then, for each number of ``--staff``, that
many simulated people at once, each on a kept-alive connection of their own, log in and
for ``--seconds`` open the table page, search, filter, open a record, save a new one and
open a report, in a random order, thinking ``--think`` seconds (at random, up to it)
between requests. Printed, per kind of request: the median and the 95th percentile, how
many, how many failed; then every acknowledged save looked for in the file afterwards.
``--kill`` SIGKILLs one worker process half-way through each run: the saves acknowledged
must all be there still.

The peer for reads is Datasette serving a copy of the same file read-only, asked for the
same reads (table page, search, filter, record) by the same number of people with the
same think time. The floor for writes: ``--writers`` threads saving through
``deskwork serve`` with no think time, against the same threads inserting rows into the
same file with SQLite alone (WAL, synchronous=FULL, one immediate transaction each, as
deskwork writes). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tables import datasette_command, floor_version, free_port, prepared

DESKWORK = Path(sys.executable).parent / "deskwork"
PASSWORD = "a long enough passphrase"
#: The editors the staff log in as (``main`` adds one for every four of the most staff).
EDITORS = [f"clerk{n}" for n in range(10)]
HIDDEN = re.compile(r'<input type="hidden" name="(_[a-z]+)" value="([^"]*)"')
SEARCHES = ("taxi", "hotel", "train", "lunch", "laptop", "course")
CATEGORIES = ("Travel", "Meals", "Hardware", "Software", "Training")


class Person:
    """One member of staff: a kept-alive connection, and the cookies it was given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Origin": f"http://127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a new connection next time, as a browser opens one
            return 0, ""
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, text

    def close(self) -> None:
        self.conn.close()


class Tally:
    """Each kind of request's times and failures, from every thread."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.failed: dict[str, int] = defaultdict(int)
        self.saved: list[str] = []
        self.lock = threading.Lock()

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if not ok:
                self.failed[kind] += 1


def timed(tally: Tally, kind: str, me: Person, method: str, path: str,
          form: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> int:  # fmt: skip
    """Send one request, adding its time to ``kind``'s; its status."""
    started = time.perf_counter()
    status, _ = me.send(method, path, form)
    tally.add(kind, time.perf_counter() - started, status in ok)
    return status


def staff_member(port: int, n: int, until: float, think: float, rows: int, tally: Tally) -> None:
    """One person: log in, then the day's mix of requests until ``until``."""
    rng = random.Random(n)
    me = Person(port)
    name = EDITORS[n % len(EDITORS)]
    form = {"name": name, "password": PASSWORD}
    if timed(tally, "log in", me, "POST", "/log-in", form, ok=(303,)) != 303:
        me.close()
        return
    saves = 0
    while time.monotonic() < until:
        kind = rng.choice(("table page", "search", "filter", "open a record", "save a record",
                           "report"))  # fmt: skip
        if kind == "save a record":
            saves += 1
            save_one(me, tally, f"load {n}-{saves}", rng)
        else:
            path = {
                "table page": "/tables/expenses",
                "search": "/tables/expenses?q=" + rng.choice(SEARCHES),
                "filter": "/tables/expenses?category=" + rng.choice(CATEGORIES),
                "open a record": f"/forms/new-expense/{rng.randrange(1, rows + 1)}",
                "report": "/reports/spending-by-category",
            }[kind]
            timed(tally, kind, me, "GET", path)
        time.sleep(rng.uniform(0, think))
    me.close()


def save_one(me: Person, tally: Tally, note: str, rng: random.Random) -> None:
    """Open the new-expense form and save it (the two requests, timed as one save)."""
    started = time.perf_counter()
    status, page = me.send("GET", "/forms/new-expense")
    ok = False
    if status == 200:
        form = {**dict(HIDDEN.findall(page)), "date": "2026-11-30",
                "amount": f"{rng.randrange(1, 900)}.50", "category": rng.choice(CATEGORIES),
                "employee": str(rng.randrange(1, 51)), "note": note}  # fmt: skip
        status, _ = me.send("POST", "/forms/new-expense", form)
        ok = status == 303
    tally.add("save a record", time.perf_counter() - started, ok)
    if ok:
        with tally.lock:
            tally.saved.append(note)


def reader(port: int, db_name: str, n: int, until: float, think: float, rows: int,
           tally: Tally) -> None:  # fmt: skip
    """One person reading through Datasette: the same reads, its addresses."""
    rng = random.Random(n)
    me = Person(port)
    base = f"/{db_name}/expenses"
    while time.monotonic() < until:
        kind = rng.choice(("table page", "search", "filter", "open a record"))
        path = {
            "table page": f"{base}?_sort_desc=date",
            "search": f"{base}?_search={rng.choice(SEARCHES)}&_sort_desc=date",
            "filter": f"{base}?category={rng.choice(CATEGORIES)}&_sort_desc=date",
            "open a record": f"{base}/{rng.randrange(1, rows + 1)}",
        }[kind]
        timed(tally, kind, me, "GET", path)
        time.sleep(rng.uniform(0, think))
    me.close()


class Served:
    """``deskwork serve demo`` in its own process, on a socket made here."""

    def __init__(self, database: Path, work: Path, workers: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.sock.getsockname()[1]
        data = work / "team-data"
        data.mkdir(exist_ok=True)
        self.env = {**os.environ, "DESKWORK_DATA_DIR": str(data),
                    "DESKWORK_BACKUP_DIR": str(work / "team-backups")}  # fmt: skip
        self.database = database
        self.log = open(work / "team-serve.log", "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(DESKWORK), "serve", "demo", "--db", str(database), "--address",
             f"fd://{self.sock.fileno()}", "--workers", str(workers)],
            env=self.env, stdout=subprocess.PIPE, stderr=self.log, text=True,
            encoding="utf-8", pass_fds=(self.sock.fileno(),),
        )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("Serving "):
                break
        else:
            raise RuntimeError(f"deskwork serve did not start: see {self.log.name}")
        # the access log: read and dropped, so the pipe never fills
        self.drain = threading.Thread(target=self.process.stdout.read, daemon=True)
        self.drain.start()

    def add_people(self) -> None:
        for name in EDITORS:
            command = [str(DESKWORK), "users", "add", "demo", name, "--role", "editor", "--db",
                       str(self.database)]  # fmt: skip
            subprocess.run(command, input=PASSWORD + "\n", env=self.env, check=True,
                           capture_output=True, text=True, encoding="utf-8")  # fmt: skip

    def workers(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                               text=True, encoding="utf-8")  # fmt: skip
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
        self.drain.join(30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.sock.close()
        self.log.close()


def run_staff(target, count: int, seconds: float, *, kill: Served | None = None) -> Tally:  # type: ignore[no-untyped-def]
    """``count`` people at once, each ``target(n, until, tally)``, for ``seconds``."""
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=target, args=(n, until, tally), daemon=True)
               for n in range(count)]  # fmt: skip
    for thread in threads:
        thread.start()
    if kill is not None:
        time.sleep(seconds / 2)
        victims = kill.workers()
        if victims:
            os.kill(victims[0], signal.SIGKILL)
            print(f"  (worker {victims[0]} SIGKILLed half-way)", flush=True)
    for thread in threads:
        thread.join(seconds + 300)
    return tally


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_load(count: int, ours: Tally, theirs: Tally | None) -> None:
    print(f"\n| request ({count} staff) | deskwork p50 | deskwork p95 | Datasette p50 | "
          "Datasette p95 | requests | failed |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("log in", "table page", "search", "filter", "open a record", "save a record",
                 "report"):  # fmt: skip
        times = ours.times.get(kind) or [0.0]
        peer = (theirs.times.get(kind) if theirs is not None else None) or []
        theirs_50 = ms(statistics.median(peer)) if peer else "n/a"
        theirs_95 = ms(percentile(peer, 0.95)) if peer else "n/a"
        print(f"| {kind} | {ms(statistics.median(times))} | {ms(percentile(times, 0.95))} | "
              f"{theirs_50} | {theirs_95} | {len(ours.times.get(kind, []))} | "
              f"{ours.failed.get(kind, 0)} |")  # fmt: skip


def found_saves(database: Path, notes: list[str]) -> int:
    with sqlite3.connect(database) as conn:
        found = conn.execute("SELECT note FROM expenses WHERE note LIKE 'load %'")
        kept = {row[0] for row in found}
    return sum(note in kept for note in notes)


def sqlite_writers(database: Path, writers: int, seconds: float) -> float:
    """Saves a second with SQLite alone: ``writers`` threads, each its own connection, one
    immediate transaction per row, as deskwork writes (WAL, synchronous=FULL)."""
    done = [0] * writers
    until = time.monotonic() + seconds

    def write(n: int) -> None:
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        while time.monotonic() < until:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO expenses (date, amount, category, employee, note) "
                         "VALUES ('2026-11-30', 1250, 'Meals', 1, 'floor')")  # fmt: skip
            conn.execute("COMMIT")
            done[n] += 1
        conn.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def deskwork_writers(served: Served, writers: int, seconds: float) -> tuple[float, Tally]:
    """Saves a second through ``deskwork serve``: ``writers`` people saving, no think time."""

    def saver(n: int, until: float, tally: Tally) -> None:
        rng = random.Random(1000 + n)
        me = Person(served.port)
        if me.send("POST", "/log-in", {"name": EDITORS[n % len(EDITORS)],
                                       "password": PASSWORD})[0] != 303:  # fmt: skip
            return
        i = 0
        while time.monotonic() < until:
            i += 1
            save_one(me, tally, f"load w{n}-{i}", rng)
        me.close()

    tally = run_staff(saver, writers, seconds)
    return len(tally.saved) / seconds, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--staff", default="50,200", help="how many at once, per run")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="most seconds between requests")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--kill", action="store_true", help="SIGKILL a worker half-way")
    parser.add_argument("--work", type=Path, default=Path("build/benchmarks"))
    parser.add_argument("--datasette", help="the datasette command (default: from PyPI)")
    options = parser.parse_args()
    work = options.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = prepared(work, options.rows)
    ours_file, theirs_file = work / "team-load.sqlite3", work / "team-datasette.sqlite3"
    for copy in (ours_file, theirs_file):
        shutil.copyfile(source, copy)
    datasette = datasette_command(work, options.datasette)
    version = subprocess.run([str(datasette), "--version"], capture_output=True, text=True,
                             encoding="utf-8").stdout.strip()  # fmt: skip
    print(f"deskwork serve under load: {options.rows:,} expenses, {options.workers} worker "
          f"processes, think time up to {options.think:g} s, {options.seconds:g} s a run; "
          f"{platform.platform()}, {os.cpu_count()} cores, SQLite {floor_version()}, "
          f"{version}", flush=True)  # fmt: skip

    served = Served(ours_file, work, options.workers)
    port = free_port()
    peer = subprocess.Popen(
        # As the table benchmark serves it: its reads on read-only connections, its counts
        # and facet suggestions under their own time limits (served immutable, it would
        # count every row of every page).
        [str(datasette), "serve", str(theirs_file), "--port", str(port), "--setting",
         "default_page_size", "50", "--setting", "sql_time_limit_ms", "60000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    most = max(int(n) for n in options.staff.split(","))
    EDITORS[:] = [f"clerk{n}" for n in range(max(10, -(-most // 4)))]
    try:
        served.add_people()
        wait_for(port, f"/{theirs_file.stem}.json")
        for count in (int(n) for n in options.staff.split(",")):
            ours = run_staff(
                lambda n, until, tally: staff_member(served.port, n, until, options.think,
                                                     options.rows, tally),
                count, options.seconds, kill=served if options.kill else None,
            )  # fmt: skip
            theirs = run_staff(
                lambda n, until, tally: reader(port, theirs_file.stem, n, until, options.think,
                                               options.rows, tally),
                count, options.seconds,
            )  # fmt: skip
            print_load(count, ours, theirs)
            kept = found_saves(ours_file, ours.saved)
            killed = " One worker was SIGKILLed half-way." if options.kill else ""
            print(f"\nSaves acknowledged: {len(ours.saved):,}; found in the file afterwards: "
                  f"{kept:,}; lost: {len(ours.saved) - kept:,}.{killed}", flush=True)  # fmt: skip
        rate, tally = deskwork_writers(served, options.writers, min(options.seconds, 30))
        failed = sum(tally.failed.values())
        served.stop()
        floor = sqlite_writers(ours_file, options.writers, min(options.seconds, 30))
        print(f"\nWriters: {options.writers} threads saving at once through deskwork serve: "
              f"{rate:,.0f} saves a second ({failed} failed); SQLite alone, the same writers "
              f"on the same file: {floor:,.0f} a second "
              f"({floor / max(rate, 0.001):.1f}×).")  # fmt: skip
    finally:
        if served.process.poll() is None:
            served.stop()
        peer.terminate()
        peer.wait(30)


def wait_for(port: int, path: str) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("Datasette did not start")


if __name__ == "__main__":
    main()
