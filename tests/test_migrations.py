"""deskwork's own tables come from named migrations recorded in the file: each runs once,
in order, in a transaction of its own, with a backup of the file first."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from deskwork import Text, Tool
from deskwork.db import migrations
from deskwork.db.backups import Backups
from deskwork.db.migrations import MIGRATIONS, Migration
from deskwork.db.storage import Storage
from deskwork.errors import SchemaError


def notes_tool() -> Tool:
    tool = Tool("Notes")
    tool.table("notes", title=Text(required=True))
    return tool


def recorded(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM _deskwork_migrations ORDER BY rowid")]


def test_a_new_file_records_every_migration_once_in_order(tmp_path):
    path = tmp_path / "notes.sqlite3"
    Storage(path).prepare(notes_tool())
    assert recorded(path) == [m.name for m in MIGRATIONS]
    assert len(set(recorded(path))) == len(MIGRATIONS) >= 4
    Storage(path).prepare(notes_tool())  # the next launch runs none again
    assert recorded(path) == [m.name for m in MIGRATIONS]


def test_an_unchanged_file_is_not_written_by_the_migrations(tmp_path):
    path = tmp_path / "notes.sqlite3"
    storage = Storage(path)
    storage.prepare(notes_tool())
    with storage.open() as db:
        before = db.execute("PRAGMA data_version").fetchone()
        assert migrations.apply(db) == []
        changes = db.conn.total_changes
    assert changes == 0 and before is not None


def older_file(path) -> None:
    """A file as deskwork 0.1 left it: its tables, a trash, and no record of migrations."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT)")
        conn.execute("INSERT INTO notes (id, title) VALUES (1, 'Kept')")
        conn.execute(
            "CREATE TABLE _deskwork_trash (id INTEGER PRIMARY KEY, table_name TEXT, "
            "row_id INTEGER, data TEXT, deleted_at TEXT)"
        )
        conn.execute(
            "INSERT INTO _deskwork_trash (table_name, row_id, data, deleted_at) "
            """VALUES ('notes', 2, '{"id": 2, "title": "Binned"}', ?)""",
            [dt.datetime.now().isoformat(timespec="seconds")],  # within the bin's days
        )


def test_an_older_file_is_backed_up_then_migrated_and_its_trash_is_in_the_bin(tmp_path):
    path = tmp_path / "notes.sqlite3"
    older_file(path)
    backups = Backups(path)
    Storage(path).prepare(notes_tool(), backups=backups)
    assert [b.why for b in backups.all()] == ["before-update"]
    with sqlite3.connect(backups.all()[0].path) as copy:  # the file as it was
        names = {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}
    assert "_deskwork_trash" in names and "_deskwork_migrations" not in names
    assert recorded(path) == [m.name for m in MIGRATIONS]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT title FROM notes").fetchall() == [("Kept",)]
        binned = conn.execute("SELECT table_name, row_id FROM _deskwork_bin").fetchall()
        gone = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_deskwork_trash'").fetchall()
    assert binned == [("notes", 2)] and gone == []


def test_a_migration_that_fails_leaves_the_file_as_it_was_and_runs_again_next_time(
    tmp_path, monkeypatch
):
    path = tmp_path / "notes.sqlite3"
    Storage(path).prepare(notes_tool())

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE _deskwork_half (x)")
        raise RuntimeError("the power went off")

    def whole(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE _deskwork_half (x)")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, Migration("later", half_then_fail)))
    with Storage(path).open() as db, pytest.raises(RuntimeError, match="power"):
        migrations.apply(db)
    with sqlite3.connect(path) as conn:
        half = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_deskwork_half'").fetchall()
    assert half == [] and "later" not in recorded(path)

    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, Migration("later", whole)))
    with Storage(path).open() as db:
        assert [m.name for m in migrations.pending(db)] == ["later"]
        assert migrations.apply(db) == ["later"]
    assert recorded(path)[-1] == "later"


def test_migration_names_are_unique_and_plain():
    names = [m.name for m in MIGRATIONS]
    assert len(names) == len(set(names))
    assert all(n and n == n.strip().lower() and " " not in n for n in names)


def versioned_notes(version: str, *, more: bool = False) -> Tool:
    tool = Tool("Notes", version=version)
    if more:  # version 2 adds a column and a table
        tool.table("notes", title=Text(required=True), topic=Text())
        tool.table("topics", name=Text(required=True))
    else:
        tool.table("notes", title=Text(required=True))
    return tool


def test_a_newer_version_records_itself_after_a_backup_and_an_older_one_is_refused(tmp_path):
    path = tmp_path / "notes.sqlite3"
    backups = Backups(path, keep=5)
    Storage(path).prepare(versioned_notes("1.9"), backups=backups)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO notes (title) VALUES ('kept')")
    Storage(path).prepare(versioned_notes("1.10", more=True), backups=backups)
    assert [b.why for b in backups.all()] == ["before-update"]  # 1.10 > 1.9 (as numbers)
    with sqlite3.connect(path) as conn:
        stamp = conn.execute("SELECT value FROM _deskwork_meta WHERE key = 'version'")
        assert stamp.fetchone() == ("1.10",)
    before = path.read_bytes()
    with pytest.raises(SchemaError) as refused:
        Storage(path).prepare(versioned_notes("1.9"), backups=backups)
    assert str(refused.value).startswith(
        "This database was written by Notes 1.10, and this is Notes 1.9"
    )
    assert path.read_bytes() == before  # nothing changed, and no backup taken for it
    assert len(backups.all()) == 1
    Storage(path).prepare(versioned_notes("1.10", more=True), backups=backups)  # its own: fine
