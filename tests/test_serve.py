"""``deskwork serve``: the tests' tool served by gunicorn in its own process, with several
worker processes on one SQLite file, people logging in over real connections."""

from __future__ import annotations

import http.client
import re
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from team_driving import ServedTool, kill

from conftest import DESKWORK, TOOL_FILE, deskwork_env, wait_until

GOOD = "correct horse battery"


@pytest.fixture
def served(tmp_path: Path, seeded_database: Path):
    database = tmp_path / "team.sqlite3"
    shutil.copyfile(seeded_database, database)
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(database, data, workers=2)
    yield server
    server.stop()


def add_people(server: ServedTool, **people: str) -> None:
    for name, role in people.items():
        done = server.users("add", name, "--role", role, password=GOOD)
        assert done.returncode == 0, done.stderr


def expense(n: int, who: str) -> dict[str, str]:
    return {"date": "2026-05-01", "amount": f"{n}.25", "category": "Travel", "employee": "1",
            "note": f"{who} {n}"}  # fmt: skip


def saved_notes(database: Path) -> dict[str, str | None]:
    with sqlite3.connect(database) as conn:
        return dict(conn.execute(
            "SELECT e.note, a.who FROM expenses e JOIN _deskwork_history h "
            "ON h.table_name = 'expenses' AND h.row_id = e.id AND h.kind = 'create' "
            "JOIN _deskwork_actions a ON a.id = h.action_id"
        ).fetchall())  # fmt: skip


def test_served_people_log_in_and_their_roles_hold_over_real_connections(served):
    assert "No one may log in to Expenses yet: add an admin with deskwork users add" in (
        served.output()
    )
    add_people(served, ada="admin", vic="viewer")  # while it serves: another process writes
    health = served.browser().get("/health")
    assert (health.status, health.body.strip()) == (200, '{"status":"ok"}')
    vic = served.browser()
    assert vic.get("/tables/expenses").status == 303
    assert vic.log_in("vic", "wrong password, surely").status == 401
    assert vic.log_in("vic", GOOD).status == 303
    listing = vic.get("/tables/expenses")
    assert listing.status == 200 and "vic (viewer)" in listing.body
    refused = vic.submit("/forms/new-expense", expense(1, "vic"))
    assert refused.status == 403 and "only an editor or an admin may change" in refused.body
    ada = served.browser()
    ada.log_in("ada", GOOD)
    assert ada.submit("/forms/new-expense", expense(2, "ada")).status == 303
    assert saved_notes(served.database).get("ada 2") == "ada"
    assert "vic 1" not in saved_notes(served.database)
    audit = ada.get("/audit").body
    assert "failed log-in" in audit and "<td>refused</td><td>vic</td>" in audit
    # a script, with an API token made at the command line
    made = served.users("token", "ada", "--label", "nightly sync")
    key = made.stdout.strip()
    assert made.returncode == 0 and key.startswith("dw_")
    assert "shown this once" in made.stderr
    script = served.browser()
    counted = script.request("GET", "/api/tables/expenses/count",
                             headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert counted.status == 200, counted.body
    assert served.users("token", "ada", "--revoke").stdout == "Revoked 1 API token of ada.\n"
    assert script.request("GET", "/api/tables/expenses/count",
                          headers={"Authorization": f"Bearer {key}"}).status == 401  # fmt: skip
    # the access log, in the combined format, names no secret
    wait_until(lambda: "GET /audit" in served.output())
    line = next(x for x in served.output().splitlines() if '"GET /health HTTP/1.1" 200' in x)
    assert re.match(r'^127\.0\.0\.1 - - \[[^]]+\] "GET /health HTTP/1\.1" 200 \d+ "-" ', line)
    assert GOOD not in served.output() + served.errors()
    assert "correct horse" not in served.output() + served.errors()
    assert key not in served.output() + served.errors()


def test_two_worker_processes_and_twenty_threads_saving_at_once_lose_nothing(served):
    add_people(served, **{f"clerk{n}": "editor" for n in range(4)})
    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def clerk(n: int) -> None:
        browser = served.browser()
        name = f"clerk{n % 4}"
        if browser.log_in(name, GOOD).status != 303:
            failures.append(f"{name} could not log in")
            return
        for i in range(10):
            note = f"t{n}-{i}"
            answer = browser.submit("/forms/new-expense", {**expense(i, name), "note": note})
            with lock:
                if answer.status == 303:
                    acknowledged.append(note)
                else:
                    failures.append(f"{note}: {answer.status} {answer.body[:200]}")
        browser.close()

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert failures == []
    assert len(acknowledged) == 200
    notes = saved_notes(served.database)
    assert all(note in notes for note in acknowledged)
    assert {notes[f"t{n}-0"] for n in range(20)} == {f"clerk{n}" for n in range(4)}
    assert "database is locked" not in served.errors()
    with sqlite3.connect(served.database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_worker_killed_mid_run_loses_no_acknowledged_save(served):
    add_people(served, ana="editor")
    acknowledged: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def keep_saving(n: int) -> None:
        i = 0
        while not stop.is_set():
            browser = served.browser()
            try:
                if browser.log_in("ana", GOOD).status != 303:
                    continue
                while not stop.is_set():
                    note = f"k{n}-{i}"
                    i += 1
                    sent = {**expense(i, "ana"), "note": note}
                    if browser.submit("/forms/new-expense", sent).status == 303:
                        acknowledged.append(note)
            except (OSError, http.client.HTTPException, AssertionError) as error:
                # the killed worker's connections: dropped, never answered
                errors.append(type(error).__name__)
            finally:
                browser.close()

    threads = [threading.Thread(target=keep_saving, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 20, 60)
    before = served.workers()
    assert len(before) == 2
    kill(before[0])
    count_at_kill = len(acknowledged)
    wait_until(lambda: len(acknowledged) >= count_at_kill + 30, 90)
    stop.set()
    for thread in threads:
        thread.join(60)
    after = served.workers()
    assert len(after) == 2 and before[0] not in after  # gunicorn replaced it
    notes = saved_notes(served.database)
    missing = [note for note in acknowledged if note not in notes]
    assert missing == []
    with sqlite3.connect(served.database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_behind_a_proxy_the_clients_address_comes_from_the_proxy_only(tmp_path, seeded_database):
    database = tmp_path / "proxied.sqlite3"
    shutil.copyfile(seeded_database, database)
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(database, data, workers=1, proxies="1")
    try:
        add_people(server, ana="editor")
        browser = server.browser(origin="https://tools.example")
        headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7",
                   "X-Forwarded-Proto": "https", "X-Forwarded-Host": "tools.example"}  # fmt: skip
        answer = browser.request("POST", "/log-in", {"name": "ana", "password": GOOD}, headers)
        assert answer.status == 303
        assert "Secure" in answer.headers["Set-Cookie"]
        assert answer.headers["Set-Cookie"].startswith("__Host-deskwork_expenses=")
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        home = browser.request("GET", "/", headers=headers)
        assert home.status == 200 and "ana (editor)" in home.body
        wait_until(lambda: "198.51.100.7 - - [" in server.output())  # the access log too
    finally:
        server.stop()
    with sqlite3.connect(database) as conn:
        [(address,)] = conn.execute(
            "SELECT address FROM _deskwork_audit WHERE event = 'log-in'"
        ).fetchall()
    assert address == "198.51.100.7"


def test_serve_refuses_what_it_cannot_serve(tmp_path):
    env = deskwork_env(tmp_path)
    database = tmp_path / "x.sqlite3"

    def serve(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(DESKWORK), "serve", *args], env={**env, **extra},
                              capture_output=True, encoding="utf-8", timeout=60)  # fmt: skip

    bad = serve(str(TOOL_FILE), "--db", str(database), "--address", "nowhere")
    assert bad.returncode == 2
    assert "Invalid value for '--address': 'nowhere' is not HOST:PORT" in bad.stderr
    bad = serve(str(TOOL_FILE), "--db", str(database), DESKWORK_PROXIES="-1")
    assert bad.returncode == 20
    assert "DESKWORK_PROXIES='-1' is not a whole number of 0 or more" in bad.stderr
    nothing = serve(str(tmp_path / "missing.py"))
    assert nothing.returncode != 0 and "No tool or app at" in nothing.stderr
    assert not database.exists()  # nothing made
