"""A write of many rows tidies the full-text indexes it filled (``search.tidy_after_write``):
the index is left in few pieces, and it finds the same rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import sqlite3
from pathlib import Path

import pytest

from deskwork import imports, reading
from deskwork.db import bulk, history, lookups, search
from deskwork.db.connection import write_transaction
from deskwork.db.storage import Storage
from fixture_tool import CATEGORIES, FIRST, LAST, NOTES, tool

FORM = tool.pages["new-expense"]
MANY = search.TIDY_AFTER_ROWS + 500  # as many pieces as any count near it: 17 untidied


def pieces(db, index: str = "expenses_fts") -> int:
    """How many segments (b-trees) the index is in: each has its own ``segid``."""
    return int(db.execute(f"SELECT count(DISTINCT segid) FROM [{index}_idx]").fetchone()[0])


def found(db, word: str) -> list[int]:
    """The expenses the search index finds for ``word``, checked whole by FTS5 first."""
    db.execute("INSERT INTO expenses_fts (expenses_fts, rank) VALUES ('integrity-check', 1)")
    query = "SELECT rowid FROM expenses_fts WHERE expenses_fts MATCH ? ORDER BY rowid"
    return [r[0] for r in db.execute(query, [search.phrase(word)])]


def starting(db, word: str) -> list[int]:
    """The expenses with a word of their note or category starting with ``word``."""
    rows = db.execute("SELECT id, coalesce(note, '') || ' ' || category FROM expenses")
    return sorted(i for i, text in rows if any(w.casefold().startswith(word) for w in text.split()))


@pytest.fixture
def db(tmp_path: Path):
    """The tests' tool on a file with its 50 employees and no expenses."""
    path = tmp_path / "tidy.sqlite3"
    Storage(path).prepare(tool, seed=False)
    with Storage(path).open() as opened:
        with opened.conn:
            opened.table("employees").insert_all(
                {"id": i + 1, "name": f"{FIRST[i % 10]} {LAST[i // 10]}"} for i in range(50)
            )
        yield opened


def expenses_file(count: int) -> reading.Read:
    rng = random.Random(7)
    rows = []
    for n in range(count):
        category = rng.choice([c for c in CATEGORIES if c != "Hardware"])
        day = dt.date(2025, 6, 30) - dt.timedelta(days=rng.randrange(365))
        i = rng.randrange(50)
        rows.append((n + 2, [day.isoformat(), f"{rng.randrange(100, 40_000) / 100:.2f}",
                             category, f"{FIRST[i % 10]} {LAST[i // 10]}",
                             rng.choice(NOTES[category])]))  # fmt: skip
    return reading.Read(["Date", "Amount", "Category", "Employee", "Note"], rows)


def import_expenses(db, count: int) -> int:
    checked = imports.check(db, FORM, expenses_file(count))
    assert checked.ready, checked.refusal()
    action, new, _ = imports.commit(db, checked)
    assert new == count
    assert action is not None
    return action


def untidied(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes as they were before the tidy, rows indexed one by one by the triggers (as
    another program's inserts are): neither call does anything."""
    monkeypatch.setattr(search, "tidy_after_write", lambda conn, tables, rows: [])
    one_by_one(monkeypatch)


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows indexed one by one by the triggers, as another program's inserts are."""
    monkeypatch.setattr(search, "indexed_at_end", lambda conn, table: contextlib.nullcontext())


def triggers(db) -> list[tuple[str, str]]:
    return db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                      "ORDER BY name").fetchall()  # fmt: skip


def test_many_rows_indexed_one_by_one_are_tidied_into_few_pieces(db, tmp_path, monkeypatch):
    one_by_one(monkeypatch)
    import_expenses(db, MANY)
    assert pieces(db) <= 3
    assert found(db, "train") == starting(db, "train") != []

    with monkeypatch.context() as patched:
        untidied(patched)
        path = tmp_path / "untidied.sqlite3"
        Storage(path).prepare(tool, seed=False)
        with Storage(path).open() as other:
            db.conn.execute("ATTACH DATABASE ? AS other", [str(path)])
            with db.conn:
                db.conn.execute("INSERT INTO other.employees SELECT * FROM employees")
            db.conn.execute("DETACH DATABASE other")
            import_expenses(other, MANY)
            assert pieces(other) >= 10  # each row its own piece, merged four at a time
            assert found(other, "train") == found(db, "train")


def test_an_import_fills_the_index_in_one_go_and_puts_the_triggers_back_as_they_were(
    db, monkeypatch
):
    with db.conn:  # another program's own trigger on the table runs as ever
        db.conn.execute("CREATE TABLE counted (n INTEGER)")
        db.conn.execute("CREATE TRIGGER [counting] AFTER INSERT ON [expenses] BEGIN "
                        "INSERT INTO counted VALUES (new.id); END")  # fmt: skip
    before = triggers(db)
    assert {"expenses_ai", "counting"} <= {name for name, _ in before}
    monkeypatch.setattr(search, "tidy_after_write", lambda conn, tables, rows: [])
    import_expenses(db, 300)
    import_expenses(db, MANY)
    assert triggers(db) == before
    assert pieces(db) <= 3  # untidied and row by row: 13 or more
    assert db.execute("SELECT count(*) FROM counted").fetchone()[0] == 300 + MANY
    assert found(db, "train") == starting(db, "train") != []
    with db.conn:  # the trigger indexes a row saved later, as before
        db.conn.execute("INSERT INTO expenses (date, amount, category, employee, note) "
                        "VALUES ('2025-07-01', 100, 'Travel', 1, 'Zeppelin ride')")  # fmt: skip
    assert found(db, "zeppelin") == starting(db, "zeppelin") == [300 + MANY + 1]


def test_rows_indexed_at_the_end_leave_nothing_when_the_write_fails(db):
    import_expenses(db, 20)
    before, indexed = triggers(db), found(db, "train")
    # Outside a transaction the triggers' drops would be saved on their own: refused.
    with (
        pytest.raises(RuntimeError, match="write transaction"),
        search.indexed_at_end(db.conn, "expenses"),
    ):
        pass
    with (
        pytest.raises(sqlite3.IntegrityError),
        write_transaction(db) as conn,
        search.indexed_at_end(conn, "expenses"),
    ):
        assert "expenses_ai" not in {name for name, _ in triggers(db)}
        conn.execute("INSERT INTO expenses (date, amount, category, employee, note) "
                     "VALUES ('2025-07-01', 100, 'Travel', 1, 'train')")  # fmt: skip
        conn.execute("INSERT INTO expenses (id) VALUES (1)")  # taken
    assert triggers(db) == before
    assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == 20
    assert found(db, "train") == indexed == starting(db, "train")


def test_a_lookups_trigram_index_is_filled_at_the_end_too(db):
    before = triggers(db)
    wanted = lookups.matches(db, "employees", "name", "son 0012")
    assert wanted == []
    with write_transaction(db) as conn, search.indexed_at_end(conn, "employees"):
        conn.executemany("INSERT INTO employees (name) VALUES (?)",
                            [(f"Person {n:05d}",) for n in range(MANY)])  # fmt: skip
    assert triggers(db) == before
    for index in search.indexes_of(db.conn, "employees"):
        assert pieces(db, index) <= 2  # the 50 employees' piece, and the new rows'
        db.execute(f"INSERT INTO [{index}] ([{index}], rank) VALUES ('integrity-check', 1)")
    found = lookups.matches(db, "employees", "name", "son 0012")
    assert [name for _, name in found] == [f"Person 0012{n}" for n in range(10)]


def test_a_bulk_delete_of_many_rows_tidies_the_index(db, monkeypatch):
    with monkeypatch.context() as patched:
        untidied(patched)
        import_expenses(db, MANY)
    assert pieces(db) >= 10
    ids = [r[0] for r in db.execute("SELECT id FROM expenses WHERE category != 'Travel'")]
    assert len(ids) >= search.TIDY_AFTER_ROWS
    _, done = bulk.delete(db, tool, tool.tables["expenses"], ids, "once")
    assert done == len(ids)
    assert pieces(db) <= 3  # a DELETE a row: untidied, 16 pieces
    assert found(db, "travel") == starting(db, "travel") != []
    assert found(db, "train") == starting(db, "train") != []


def test_a_bulk_change_of_many_rows_finds_the_same_rows_after_its_tidy(db):
    import_expenses(db, MANY)
    ids = [r[0] for r in db.execute("SELECT id FROM expenses WHERE category != 'Travel'")]
    assert len(ids) >= search.TIDY_AFTER_ROWS
    action, changed = bulk.set_field(db, FORM, ids, "category", "Travel", "once")
    assert action is not None and changed == len(ids)
    # One UPDATE for all the rows: FTS5's own merging leaves it in few pieces already.
    assert pieces(db) <= 3
    assert found(db, "travel") == starting(db, "travel") == list(range(1, MANY + 1))
    assert found(db, "train") == starting(db, "train") != []


def test_undoing_an_import_tidies_the_index_too(db, monkeypatch):
    with monkeypatch.context() as patched:
        untidied(patched)
        import_expenses(db, 300)
        action = import_expenses(db, MANY)
    assert pieces(db) >= 10
    history.undo(db, tool, action)
    assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == 300
    assert pieces(db) <= 3
    assert found(db, "train") == starting(db, "train") != []


def test_a_write_of_few_rows_is_left_to_the_days_tidy(db, monkeypatch):
    one_by_one(monkeypatch)  # a piece a row, merged four at a time
    import_expenses(db, 20)
    before = pieces(db)
    assert before > 3
    with db.conn:
        assert search.tidy_after_write(db.conn, ["expenses"], search.TIDY_AFTER_ROWS - 1) == []
    assert pieces(db) == before


def test_a_lookups_trigram_index_is_tidied_with_its_tables_search_index(db):
    assert search.indexes_of(db.conn, "expenses") == ["expenses_fts"]
    indexes = search.indexes_of(db.conn, "employees")
    assert sorted(indexes) == ["_deskwork_lookup_employees_name", "employees_fts"]
    with db.conn:
        db.conn.executemany("INSERT INTO employees (name) VALUES (?)",
                            [(f"Person {n:05d}",) for n in range(MANY)])  # fmt: skip
    assert all(pieces(db, index) >= 10 for index in indexes)
    wanted = lookups.matches(db, "employees", "name", "son 0012")
    with db.conn:
        assert search.tidy_after_write(db.conn, ["employees"], MANY) == indexes
    assert all(pieces(db, index) <= 3 for index in indexes)
    assert lookups.matches(db, "employees", "name", "son 0012") == wanted
    assert [name for _, name in wanted] == [f"Person 0012{n}" for n in range(10)]
