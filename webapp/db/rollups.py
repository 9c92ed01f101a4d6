"""Summaries kept inside the database file, so reports over a million rows answer in
milliseconds after every kind of write.

A *rollup* of a table is its rows grouped by the exact stored values of a date column
and a few key columns (a report's groupings and fixed filters), with each group's row
count and, per summed column, its sum and how many values it has::

    _deskwork_rollup_expenses_1a2b3c4d (date, category, _n, _s_amount, _c_amount)

- **Kept by triggers** in the file, so whatever writes the table keeps it exact: a form,
  an import, a bulk change, an undo, the bin, or another program with its own
  connection. An insert adds its row to its group (an upsert), a delete takes it out
  (and an emptied group goes), an update of a column the rollup reads does both.
- **Exact**: keys are the stored values themselves (NULL, '' and 0 stay apart; a unique
  index on ``ifnull(column, x'00')`` makes NULL a key of its own), sums are of the stored
  integers (cents), and a query on a rollup reads as the same query on the table:
  ``count(*)`` is ``sum(_n)``, ``sum(c)`` is ``sum(_s_c)``, ``count(c)`` is ``sum(_c_c)``.
- **Used only where it answers the same**: ``route`` gives a view's rows to a rollup
  only if every filter, grouping and measure reads columns the rollup has, and nothing
  is searched; anything else reads the table.
- **Made by ``prepare``** for the tool's declarations (filled by one ``INSERT … SELECT``
  when new, or made again when not whole: a trigger gone with a table a migration
  rebuilt, or a count that no longer matches); rollups of the tool's tables that no
  declaration wants any more are dropped with their triggers.
- **The exception**: SQLite fires no delete trigger for a row that another program's
  ``INSERT OR REPLACE`` replaces, unless that program turns ``recursive_triggers`` on
  (sqlite-utils does, as deskwork's connections); the next launch's count check makes
  such a rollup again.

Cost: each write to the table updates one row per rollup, inside its transaction.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from deskwork.measures import Average, Count, Measure, Sum
from deskwork.model import Table, Tool

PREFIX = "_deskwork_rollup_"


@dataclass(frozen=True)
class Rollup:
    """One rollup of ``table``: grouped by ``dates`` and ``keys``, summing ``summed``."""

    table: str
    dates: str
    keys: tuple[str, ...]
    summed: tuple[str, ...]

    @property
    def name(self) -> str:
        shape = repr((self.table, self.dates, self.keys, self.summed, 1))
        return f"{PREFIX}{self.table}_{hashlib.sha256(shape.encode()).hexdigest()[:8]}"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.dates, *self.keys)

    def reads(self, columns: Iterable[str], measures: Iterable[Measure]) -> bool:
        """Whether a query of ``columns`` (filtered or grouped) and ``measures`` can be
        answered from this rollup."""
        if not set(columns) <= set(self.columns):
            return False
        for m in measures:
            if isinstance(m, Count) and m.column is None:
                continue
            if isinstance(m, Sum | Average) and m.column in self.summed:
                continue
            return False
        return True


def wanted(tool: Tool) -> list[Rollup]:
    """The rollups the tool's declarations ask for."""
    return sorted(
        {Rollup(t.name, d, k, s) for t in tool.tables.values() for d, k, s in t.rollups},
        key=lambda r: r.name,
    )


def _key(column: str, prefix: str = "") -> str:
    return f"ifnull({prefix}[{column}], x'00')"


def _triggers(r: Rollup) -> list[str]:
    cols = r.columns
    unique = ", ".join(_key(c) for c in cols)
    add_cols = [*(f"[{c}]" for c in cols), "_n"]
    add_vals = [*(f"new.[{c}]" for c in cols), "1"]
    add_set = ["_n = _n + 1"]
    take_set = ["_n = _n - 1"]
    for c in r.summed:
        add_cols += [f"_s_{c}", f"_c_{c}"]
        add_vals += [f"coalesce(new.[{c}], 0)", f"new.[{c}] IS NOT NULL"]
        add_set += [f"_s_{c} = _s_{c} + excluded._s_{c}", f"_c_{c} = _c_{c} + excluded._c_{c}"]
        take_set += [f"_s_{c} = _s_{c} - coalesce(old.[{c}], 0)",
                     f"_c_{c} = _c_{c} - (old.[{c}] IS NOT NULL)"]  # fmt: skip
    add = (f"INSERT INTO [{r.name}] ({', '.join(add_cols)}) VALUES ({', '.join(add_vals)}) "
           f"ON CONFLICT ({unique}) DO UPDATE SET {', '.join(add_set)};")  # fmt: skip
    where = " AND ".join(f"{_key(c)} = {_key(c, 'old.')}" for c in cols)
    take = (f"UPDATE [{r.name}] SET {', '.join(take_set)} WHERE {where}; "
            f"DELETE FROM [{r.name}] WHERE {where} AND _n <= 0;")  # fmt: skip
    read = ", ".join(f"[{c}]" for c in (*cols, *r.summed))
    return [
        f"CREATE TRIGGER [{r.name}_ai] AFTER INSERT ON [{r.table}] BEGIN {add} END",
        f"CREATE TRIGGER [{r.name}_ad] AFTER DELETE ON [{r.table}] BEGIN {take} END",
        f"CREATE TRIGGER [{r.name}_au] AFTER UPDATE OF {read} ON [{r.table}] "
        f"BEGIN {take} {add} END",
    ]


def create(conn: sqlite3.Connection, r: Rollup) -> None:
    """Make ``r`` with its triggers and fill it from the table (in the caller's
    transaction), in place of whatever is left of it."""
    drop(conn, r.name)
    cols = r.columns
    summed = "".join(f", _s_{c} INTEGER NOT NULL, _c_{c} INTEGER NOT NULL" for c in r.summed)
    conn.execute(f"CREATE TABLE [{r.name}] ({', '.join(f'[{c}]' for c in cols)}, "
                 f"_n INTEGER NOT NULL{summed})")  # fmt: skip
    conn.execute(f"CREATE UNIQUE INDEX [{r.name}_key] ON [{r.name}] "
                 f"({', '.join(_key(c) for c in cols)})")  # fmt: skip
    group = ", ".join(f"[{c}]" for c in cols)
    sums = "".join(f", coalesce(sum([{c}]), 0), count([{c}])" for c in r.summed)
    conn.execute(f"INSERT INTO [{r.name}] SELECT {group}, count(*){sums} FROM [{r.table}] "
                 f"GROUP BY {', '.join(_key(c) for c in cols)}")  # fmt: skip
    for sql in _triggers(r):
        conn.execute(sql)


def drop(conn: sqlite3.Connection, name: str) -> None:
    for end in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER IF EXISTS [{name}_{end}]")
    conn.execute(f"DROP TABLE IF EXISTS [{name}]")


def existing(conn: sqlite3.Connection) -> set[str]:
    return {n for (n,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
        [PREFIX.replace("_", "\\_") + "%"])}  # fmt: skip


def whole(conn: sqlite3.Connection, r: Rollup, counted: dict[str, int]) -> bool:
    """Whether ``r`` is all there and still counts every row: its table and its three
    triggers (a table rebuilt by a migration loses its triggers), and as many rows in
    it as in the table (a row another program REPLACEd is taken out by no trigger).
    ``counted`` keeps each table's row count, counted once for all its rollups (a
    million rows take up to a third of a second to count from a cold disk)."""
    found = {
        n
        for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [r.table]
        )
    }
    if not {f"{r.name}_{end}" for end in ("ai", "ad", "au")} <= found:
        return False
    (kept,) = conn.execute(f"SELECT coalesce(sum(_n), 0) FROM [{r.name}]").fetchone()
    if r.table not in counted:
        counted[r.table] = conn.execute(f"SELECT count(*) FROM [{r.table}]").fetchone()[0]
    return bool(kept == counted[r.table])


def prepare(db: sqlite_utils.Database, tool: Tool) -> list[str]:
    """Make the rollups the declarations want (again, if one is not whole), and drop
    those of the tool's tables they no longer want; the names made."""
    tables = set(db.table_names())
    want = {r.name: r for r in wanted(tool) if r.table in tables}
    own = tuple(f"{PREFIX}{name}_" for name in tool.tables)
    have = {n for n in existing(db.conn) if n.startswith(own)}  # not another tool's
    stale = have - set(want)
    counted: dict[str, int] = {}
    missing = [r for name, r in want.items()
               if name not in have or not whole(db.conn, r, counted)]  # fmt: skip
    if not stale and not missing:
        return []
    with db.conn:
        for name in stale:
            drop(db.conn, name)
        for r in missing:
            create(db.conn, r)
    return [r.name for r in missing]


def route(table: Table, columns: Iterable[str], measures: Iterable[Measure]) -> Rollup | None:
    """The smallest declared rollup of ``table`` that answers a query reading
    ``columns`` with ``measures``, if any."""
    columns, measures = list(columns), list(measures)
    fits = [Rollup(table.name, d, k, s) for d, k, s in table.rollups]
    fits = [r for r in fits if r.reads(columns, measures)]
    return min(fits, key=lambda r: (len(r.keys), r.name), default=None)


def measure_sql(m: Measure) -> list[str]:
    """A measure's parts, read from a rollup (aliased ``t``) instead of the table."""
    if isinstance(m, Count):
        return ["sum(t._n)"]
    if isinstance(m, Average):
        return [f"sum(t._s_{m.column})", f"sum(t._c_{m.column})"]
    return [f"sum(t._s_{m.column})"]
