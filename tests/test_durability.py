"""Nothing lost: saves through the real server survive a kill at any moment, and many
writers at once all get their rows (issue 12)."""

from __future__ import annotations

import http.client
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode

import pytest

from deskwork.security import cookie_name

CHILD = Path(__file__).resolve().parent / "serve_child.py"
SECRET = "durability-secret"
ONCE = re.compile(r'name="_once" value="([^"]+)"')


def serve(database: Path) -> tuple[subprocess.Popen[str], int]:
    """A child serving the tool on ``database`` (its errors in ``<database>.log``)."""
    with open(f"{database}.log", "a", encoding="utf-8") as log:
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(database), SECRET],
            stdout=subprocess.PIPE, stderr=log, encoding="utf-8",
        )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline()
    child.stdout.close()
    if not line.strip().isdigit():
        child.kill()
        child.wait()
        raise AssertionError(f"the child did not start: {Path(f'{database}.log').read_text()}")
    return child, int(line)


class Saver:
    """A browser-like client: opens the form, sends it, keeps its session's cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies = {cookie_name(port): SECRET}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.read().decode()

    def save(self, number: int) -> bool:
        """Save record ``number``; whether the server said it was saved."""
        status, page = self.request("GET", "/forms/new-save")
        assert status == 200, page[:300]
        once = ONCE.search(page)
        assert once, page[:300]
        form = {"number": number, "note": f"note {number}", "amount": f"{number}.00",
                "_once": once[1]}  # fmt: skip
        status, page = self.request("POST", "/forms/new-save", urlencode(form))
        if status != 303:
            raise AssertionError(f"save {number} answered {status}: {page[:300]}")
        return True

    def close(self) -> None:
        self.connection.close()


def check_database(database: Path, acknowledged: set[int]) -> int:
    """The file is whole, every acknowledged save is there once, every row is whole and
    in the history; returns how many rows."""
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = db.execute("SELECT id, number, note, amount FROM saves").fetchall()
        numbers = [n for _, n, _, _ in rows]
        assert len(numbers) == len(set(numbers)), "a save is there twice"
        missing = acknowledged - set(numbers)
        assert not missing, f"acknowledged saves lost: {sorted(missing)[:10]}"
        for _, number, note, amount in rows:
            assert (note, amount) == (f"note {number}", number * 100), "a half-done save"
        logged = {r for (r,) in db.execute(
            "SELECT row_id FROM _deskwork_history WHERE table_name = 'saves' AND kind = 'create'"
        )}  # fmt: skip
        assert logged == {row_id for row_id, _, _, _ in rows}, "a save without its history"
        return len(rows)


def test_saves_survive_the_server_being_killed_at_any_moment(tmp_path):
    database = tmp_path / "saves.sqlite3"
    acknowledged: set[int] = set()
    number = 0
    rng = random.Random(12)
    kills = 50
    started = time.monotonic()
    for _ in range(kills):
        child, port = serve(database)
        saver = Saver(port)
        threading.Timer(rng.uniform(0.05, 0.5), child.kill).start()
        try:
            while True:
                number += 1
                saver.save(number)
                acknowledged.add(number)
        except (OSError, http.client.HTTPException):
            pass  # killed mid-way: this save was not acknowledged
        finally:
            saver.close()
            child.wait(10)
            assert child.returncode == -9
        check_database(database, acknowledged)
    total = check_database(database, acknowledged)
    print(
        f"\n{kills} SIGKILLs in {time.monotonic() - started:.0f} s: {len(acknowledged)} "
        f"acknowledged saves all there, {total} rows, none twice or half-done, "
        "integrity_check ok after each kill"
    )
    assert len(acknowledged) > kills  # the kills came mid-way, not before any save


def test_twenty_threads_and_two_server_processes_save_every_record(tmp_path):
    database = tmp_path / "saves.sqlite3"
    servers = [serve(database) for _ in range(2)]  # two processes writing one file
    each = 200
    acknowledged: set[int] = set()
    errors: list[str] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        port = servers[thread % 2][1]
        saver = Saver(port)
        try:
            for n in range(each):
                number = thread * 10_000 + n
                saver.save(number)
                with lock:
                    acknowledged.add(number)
        except Exception as error:
            errors.append(f"thread {thread}: {error}")
        finally:
            saver.close()

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    took = time.monotonic() - started
    for child, _ in servers:
        child.terminate()
        child.wait(30)
    log = Path(f"{database}.log").read_text(encoding="utf-8")
    assert errors == []
    assert "database is locked" not in log and "Traceback" not in log, log[-2000:]
    assert len(acknowledged) == 20 * each
    assert check_database(database, acknowledged) == 20 * each
    print(
        f"\n20 threads x {each} saves through 2 server processes on one file in {took:.1f} s: "
        f"{len(acknowledged)} acknowledged, {len(acknowledged)} rows, no error, no lock"
    )


@pytest.mark.parametrize("pragma", ["journal_mode", "synchronous"])
def test_every_connection_is_wal_and_fully_synchronous(tmp_path, pragma):
    from deskwork.db.storage import Storage

    with Storage(tmp_path / "x.sqlite3").open() as db:
        value = db.execute(f"PRAGMA {pragma}").fetchone()[0]
    assert value == {"journal_mode": "wal", "synchronous": 2}[pragma]  # 2: FULL
