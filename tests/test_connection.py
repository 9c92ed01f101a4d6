"""The one owner of connecting (``deskwork.db.connection``): every connection set up alike,
a read-only one that can't write whatever SQL it runs, and a time limit that stops a
runaway query."""

from __future__ import annotations

import sqlite3

import pytest

from deskwork import Text, Tool
from deskwork.db.connection import refusal, time_limit
from deskwork.db.storage import Storage
from deskwork.errors import TimeUp


@pytest.fixture
def storage(tmp_path):
    tool = Tool("Notes")
    tool.table("notes", title=Text(unique=True))
    made = Storage(tmp_path / "notes.sqlite3")
    made.prepare(tool)
    with made.open() as db, db.conn:
        db.execute("INSERT INTO notes (title) VALUES ('Kept')")
    return made


def test_every_connection_is_wal_full_with_foreign_keys(storage):
    with storage.open() as db:
        settings = [db.execute(f"PRAGMA {p}").fetchone()[0]
                    for p in ("journal_mode", "synchronous", "foreign_keys")]  # fmt: skip
    assert settings == ["wal", 2, 1]  # 2: FULL


def test_a_reading_connection_reads_and_can_not_write(storage):
    with storage.reading() as db:
        assert db.execute("SELECT title FROM notes").fetchall() == [("Kept",)]
        for sql in ("DELETE FROM notes", "CREATE TABLE x (y)", "PRAGMA user_version = 3"):
            with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
                db.execute(sql)
    with storage.open() as db:
        assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_a_runaway_query_is_stopped_by_its_time_limit(storage):
    runaway = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with pytest.raises(TimeUp, match=r"longer than 0\.2 s"), storage.reading(seconds=0.2) as db:
        db.execute(runaway).fetchone()
    with storage.open() as db, time_limit(db, 5):  # a quick query is not stopped
        assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_what_sqlite_refuses_is_said_in_words(storage):
    with storage.open() as db, pytest.raises(sqlite3.IntegrityError) as refused:
        db.execute("INSERT INTO notes (title) VALUES ('Kept')")
    assert refusal(refused.value) == "a value that must be unique is taken (notes.title)"
