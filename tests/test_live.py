"""Live pages (``deskwork.live``): a change event for every commit, by deskwork or by
another program, none while nothing changes; a page that missed one catches up; and
many open streams on the real server while forms still save, each on a thread of its
own beside the pool."""

from __future__ import annotations

import datetime as dt
import http.client
import sqlite3
import threading
import time
from contextlib import closing
from itertools import islice

import pytest
from benchmarks.launched import Connection

from conftest import hidden
from deskwork.db.storage import Storage
from deskwork.live import Changes


@pytest.fixture
def changes(tmp_path):
    path = tmp_path / "data.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE t (x)")
    made = Changes(path)
    yield made
    made.close()


def events(stream, count: int) -> list[str]:
    """The next ``count`` events (or comments) of a stream, without its first retry line."""
    return list(islice(stream, count))


def write(path, value: int = 1) -> None:
    with closing(sqlite3.connect(path)) as db, db:  # another program, its own connection
        db.execute("INSERT INTO t VALUES (?)", [value])


def test_a_commit_by_another_program_is_one_change_event(changes):
    stream = changes.stream("")
    assert next(stream).startswith("retry: ")
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(events(stream, 1)))
    reader.start()
    time.sleep(0.3)  # the watcher has read the version it starts from
    assert got == [] and changes.count == 0  # nothing changed: nothing sent
    write(changes.path)
    reader.join(5)
    assert got == [f"id: {changes.launch}-1\nevent: change\ndata: 1\n\n"]
    stream.close()
    assert changes._listening == 0


def test_a_page_that_missed_a_change_catches_up_at_once_and_one_that_did_not_waits(changes):
    first = changes.stream("")
    next(first)
    reader = threading.Thread(target=lambda: events(first, 1))
    reader.start()
    time.sleep(0.3)
    write(changes.path)
    reader.join(5)
    first.close()
    behind = changes.stream(f"{changes.launch}-0")  # its last event was before the write
    assert events(behind, 2)[1].startswith(f"id: {changes.launch}-1\nevent: change")
    behind.close()
    other_launch = changes.stream("0badcafe-7")  # a page from before the tool restarted
    assert "event: change" in events(other_launch, 2)[1]
    other_launch.close()


def test_closing_ends_every_stream(changes):
    stream = changes.stream("")
    next(stream)
    ended = threading.Event()

    def read() -> None:
        list(stream)
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    time.sleep(0.2)
    changes.close()
    assert ended.wait(5)


def test_a_change_while_nobody_listened_is_still_counted(changes):
    stream = changes.stream("")
    next(stream)
    reader = threading.Thread(target=lambda: events(stream, 1))
    reader.start()
    time.sleep(0.3)
    write(changes.path)
    reader.join(5)
    stream.close()
    time.sleep(0.3)  # the watcher has stopped: nobody listens
    seen = changes.event_id
    write(changes.path, 2)
    again = changes.stream(seen)
    next(again)
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.extend(events(again, 1)))
    reader.start()
    reader.join(5)
    again.close()
    assert found and "event: change" in found[0]


def open_stream(live_server, opened: list) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    opened.append(conn)
    conn.request("GET", "/events", headers={
        "Cookie": f"deskwork_{live_server.port}={live_server.secret}",
        "Accept": "text/event-stream"})  # fmt: skip
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.readline().startswith(b"retry: ")
    response.readline()
    return response


def next_event(response: http.client.HTTPResponse) -> list[bytes]:
    lines = []
    while True:
        line = response.readline()
        if line in (b"\n", b"\r\n", b""):
            if lines:
                return lines
            continue
        lines.append(line.strip())


def test_sixty_open_streams_while_a_form_saves_and_each_hears_the_save(live_server):
    opened: list[http.client.HTTPConnection] = []
    try:
        streams = [open_stream(live_server, opened) for _ in range(60)]
        assert live_server.streams.count >= 60
        form_page = Connection(live_server.port)
        form_page.get(f"/?token={live_server.secret}", ok=(303,))
        started = time.perf_counter()
        token = hidden(form_page.get("/forms/new-expense")[1].decode(), "_once")
        note = f"Saved with sixty pages listening {time.time()}"
        form_page.post("/forms/new-expense", {
            "date": dt.date.today().isoformat(), "amount": "12.34", "category": "Meals",
            "employee": "3", "note": note, "_once": token})  # fmt: skip
        took = time.perf_counter() - started
        with Storage(live_server.database).open() as db:
            found = db.execute("SELECT count(*) FROM expenses WHERE note = ?", [note]).fetchone()
        assert found[0] == 1
        heard = [next_event(s) for s in streams]
        assert all(b"event: change" in lines for lines in heard)
        print(f"\nWith 60 pages listening, the form opened and saved in {took * 1000:.0f} ms")
        form_page.close()
    finally:
        for conn in opened:
            conn.close()
    # A closed page's stream ends when a write to it fails (the next change or quiet
    # comment after the socket is gone), and its thread leaves the pool.
    deadline = time.monotonic() + 30
    while live_server.streams.count and time.monotonic() < deadline:
        with Storage(live_server.database).open() as db, db.conn:
            db.execute("UPDATE expenses SET note = note WHERE id = 1")
        time.sleep(0.3)
    assert live_server.streams.count == 0


def test_streams_opened_one_after_another_reuse_their_threads_and_a_head_leaves_none(
    live_server,
):
    streams = live_server.streams
    for _ in range(5):  # as a window moving from one live page to the next
        opened: list[http.client.HTTPConnection] = []
        open_stream(live_server, opened)
        added = streams.added
        opened[0].close()
        deadline = time.monotonic() + 30
        while streams.count and time.monotonic() < deadline:
            with Storage(live_server.database).open() as db, db.conn:
                db.execute("UPDATE expenses SET note = note WHERE id = 1")
            time.sleep(0.2)
        assert streams.count == 0 and streams.added == added  # the pool grew no more
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    conn.request("HEAD", "/events", headers={
        "Cookie": f"deskwork_{live_server.port}={live_server.secret}"})  # fmt: skip
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    deadline = time.monotonic() + 10  # its slot goes back as the response is closed
    while streams.count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert streams.count == 0
