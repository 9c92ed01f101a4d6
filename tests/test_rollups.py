"""Summaries kept by triggers (``deskwork.db.rollups``): equal to the table grouped
afresh after every kind of write (a form, an edit, a delete, an undo, bulk changes, an
import, another program's own connection with odd values), and the reports they answer
equal to the same reports read from the table."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing

import pytest

from deskwork import Count, Date, Money, Sum, Text, Tool, imports, reading
from deskwork.db import bulk, groups, history, records, rollups
from deskwork.db.storage import Storage
from fixture_tool import tool

FORM = tool.pages["new-expense"]
TOTALS = tool.pages["category-totals"]
MONTHLY = tool.pages["monthly-by-category"]


def afresh(db, r: rollups.Rollup) -> list[tuple]:
    """The table grouped now, as the rollup should hold it."""
    cols = ", ".join(f"[{c}]" for c in r.columns)
    sums = "".join(f", coalesce(sum([{c}]), 0), count([{c}])" for c in r.summed)
    keys = ", ".join(f"ifnull([{c}], x'00')" for c in r.columns)
    return sorted(db.execute(f"SELECT {cols}, count(*){sums} FROM [{r.table}] GROUP BY {keys}"
                             ).fetchall(), key=repr)  # fmt: skip


def kept(db, r: rollups.Rollup) -> list[tuple]:
    return sorted(db.execute(f"SELECT * FROM [{r.name}]").fetchall(), key=repr)


def assert_exact(db) -> None:
    found = rollups.wanted(tool)
    assert len(found) == 2
    for r in found:
        assert kept(db, r) == afresh(db, r), r


def report(db, page, values, routed: bool = True) -> list[tuple]:
    """A declared report's rows and total, read through its rollup (or, with
    ``routed=False``, from the table), as (keys, count, values) tuples."""
    grouping = page.grouping
    found = groups.measure(db, grouping.view(values), grouping.bys, grouping.measures, None,
                           grouping.sort, kept=routed)  # fmt: skip
    total = found.total
    return [(r.keys, r.count, r.values) for r in found.rows] + [((), total.count, total.values)]


def test_each_rollup_equals_the_table_grouped_afresh_once_made(db):
    assert_exact(db)
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for r in rollups.wanted(tool):
        assert {f"{r.name}_ai", f"{r.name}_ad", f"{r.name}_au"} <= names


def test_forms_edits_deletes_undo_bulk_and_imports_keep_them_exact(db):
    row_id, _ = records.create(db, tool.tables["expenses"], {
        "date": dt.date(2026, 2, 3), "amount": 123456, "category": "Travel", "employee": 3,
        "note": "kept", "paid_by_card": 1, "tags": "[]"}, None)  # fmt: skip
    assert_exact(db)
    table = tool.tables["expenses"]
    records.update(db, table, row_id, {"amount": 99, "category": "Meals"},
                   history.version_of(records.get_row(db, table, row_id)))  # fmt: skip
    assert_exact(db)
    action = records.delete(db, tool, table, row_id)
    assert_exact(db)
    history.undo(db, tool, action)
    assert_exact(db)
    ids = [i for (i,) in db.execute("SELECT id FROM expenses ORDER BY id LIMIT 300")]
    bulk.set_field(db, FORM, ids[:200], "category", "Office", "once-1")
    assert_exact(db)
    deleted, _ = bulk.delete(db, tool, table, ids[200:], "once-2")
    assert_exact(db)
    history.undo(db, tool, deleted)
    assert_exact(db)
    lines = ["Date,Amount,Category,Employee,Note"] + [
        f"2025-0{1 + i % 9}-1{i % 9},{i}.25,Training,Ada Okafor,imported {i}" for i in range(500)
    ]
    checked = imports.check(db, FORM, reading.read("f.csv", "\r\n".join(lines).encode()))
    imported, new, _ = imports.commit(db, checked)
    assert new == 500
    assert_exact(db)
    history.undo(db, tool, imported)
    assert_exact(db)


def test_another_programs_writes_with_odd_values_keep_them_exact(db):
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    with closing(sqlite3.connect(path)) as other, other:
        other.executemany(
            "INSERT INTO expenses (date, amount, category, employee) VALUES (?, ?, ?, ?)",
            [(None, 100, "Travel", 1), ("", 5, None, 1), ("2026-01-01", None, "", 2),
             ("not a date", 7, "Legacy", 2), ("2026-01-01T10:00", 3, "Travel", 3),
             ("2026-01-01", 250, 0, 4)])  # fmt: skip
        other.execute("UPDATE expenses SET date = '2024-02-29', amount = amount + 1 "
                      "WHERE id IN (SELECT id FROM expenses LIMIT 50)")  # fmt: skip
        other.execute("DELETE FROM expenses WHERE id IN (SELECT id FROM expenses LIMIT 20 "
                      "OFFSET 100)")  # fmt: skip
    assert_exact(db)
    for values in ({"period": "all"}, {"period": None, "start": dt.date(2024, 1, 1),
                                       "end": dt.date(2026, 3, 31)}):  # fmt: skip
        for page in (TOTALS, MONTHLY):
            assert report(db, page, values) == report(db, page, values, routed=False)


def test_reports_read_from_a_rollup_only_where_it_answers_the_same(db):
    table = tool.tables["expenses"]
    amount = Sum("amount")
    by_category = rollups.route(table, {"date", "category"}, [Count(), amount])
    assert by_category is not None and by_category.keys == ("category",)
    assert rollups.route(table, {"date"}, [Count(), amount]).keys == ()  # the smallest
    assert rollups.route(table, {"date", "category", "employee"}, [Count()]) is None
    assert rollups.route(table, {"date", "category"}, [Sum("vat")]) is None
    from deskwork.measures import Maximum

    assert rollups.route(table, {"date"}, [Maximum("amount")]) is None
    plan = " ".join(str(r) for r in db.execute(
        f"EXPLAIN QUERY PLAN SELECT sum(_n) FROM [{by_category.name}]").fetchall())  # fmt: skip
    assert by_category.name in plan


def test_a_rollup_no_declaration_wants_goes_and_a_new_one_is_filled(tmp_path):
    def made(declare: bool) -> Tool:
        t = Tool("Ledger", templates=None)
        entries = t.table("entries", day=Date(), amount=Money(), what=Text())
        page = t.table_page("Entries", entries)
        if declare:
            t.table_report(
                "By day", page, by="day.month", values={"n": Count(), "total": Sum("amount")}
            )
        return t

    storage = Storage(tmp_path / "l.sqlite3")
    storage.prepare(made(False), seed=False)
    with storage.open() as db, db.conn:
        db.table("entries").insert_all(
            {"day": f"2026-01-{d:02}", "amount": d * 100, "what": "x"} for d in range(1, 29)
        )
    storage.prepare(made(True), seed=False)
    with storage.open() as db:
        (r,) = rollups.wanted(made(True))
        assert kept(db, r) == afresh(db, r) and len(kept(db, r)) == 28
    storage.prepare(made(False), seed=False)
    with storage.open() as db:
        assert rollups.existing(db.conn) == set()
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                          "AND name LIKE '_deskwork_rollup%'")]  # fmt: skip
        assert names == []


def test_the_sums_a_rollup_gives_are_exact_cents(db):
    found = report(db, MONTHLY, {"period": "all"})
    ((total, count),) = db.execute("SELECT sum(amount), count(*) FROM expenses").fetchall()
    assert found[-1][1:] == (count, {"total": total, "expenses": count})
    assert isinstance(found[-1][2]["total"], int)
    assert found == report(db, MONTHLY, {"period": "all"}, routed=False)
    board = tool.board.read(db)
    assert [h.now for h in board] == [h.now for h in tool.board.read(db)]


def test_a_summary_gone_from_the_file_is_not_missed_the_table_answers(db):
    before = report(db, MONTHLY, {"period": "all"})
    with db.conn:
        for name in rollups.existing(db.conn):
            rollups.drop(db.conn, name)
    assert report(db, MONTHLY, {"period": "all"}) == before


def test_a_rollup_left_without_its_triggers_or_table_or_miscounted_is_made_again(tmp_path):
    storage = Storage(tmp_path / "e.sqlite3")
    storage.prepare(tool)
    with storage.open() as db:
        monthly, board = sorted(rollups.wanted(tool), key=lambda r: len(r.keys), reverse=True)
        with db.conn:
            db.execute(f"DROP TABLE [{monthly.name}]")  # by hand: its triggers are left
            db.execute(f"DROP TRIGGER [{board.name}_ad]")  # as a rebuilt table loses them
    # The triggers left behind would fail every write: nothing can be written.
    with storage.open() as db, db.conn, pytest.raises(sqlite3.OperationalError, match="no such"):
        db.execute("DELETE FROM expenses WHERE id = 1")
    storage.prepare(tool)  # the next launch
    with storage.open() as db:
        assert rollups.prepare(db, tool) == []  # whole again: nothing more to do
        (last,) = db.execute("SELECT max(id) FROM expenses").fetchone()
    # Another program (sqlite-utils turns recursive triggers on; a bare sqlite3 does not)
    with closing(sqlite3.connect(storage.path)) as other, other:
        other.execute("DELETE FROM expenses WHERE id = 1")
        other.execute("INSERT OR REPLACE INTO expenses (id, date, amount, category, employee) "
                      "VALUES (?, '2026-01-01', 1, 'Travel', 1)", [last])  # fmt: skip
    with storage.open() as db:
        assert kept(db, monthly) != afresh(db, monthly)  # REPLACE fired no delete trigger
    storage.prepare(tool)
    with storage.open() as db:
        assert_exact(db)


def test_another_tools_rollups_in_the_same_file_are_left_alone(tmp_path):
    storage = Storage(tmp_path / "e.sqlite3")
    storage.prepare(tool)
    other = Tool("Ledger", templates=None)
    other.table("entries", day=Date(), amount=Money())
    with storage.open() as db:
        rollups.prepare(db, other)
        assert {r.name for r in rollups.wanted(tool)} <= rollups.existing(db.conn)
