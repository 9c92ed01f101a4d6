"""A table page's rows as its address asks (``deskwork.filters``): sorted, filtered,
searched, a page at a time, and their count, totals and filter counts.

Pages are found by keyset: a page is found by seeking the sort's index, never by stepping
over the rows before it, so the last page of a million rows is as quick as the first.
Rows whose sort column is empty (NULL) form a segment of their own, ordered by id, before
the others when ascending and after them when descending (SQLite's own order), so every
seek stays on an index. A key is ``[segment, value..., id]``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from deskwork.db import history, search
from deskwork.db.connection import time_limit
from deskwork.db.migrations import FILES
from deskwork.errors import TimeUp, ValidationError
from deskwork.fields import Choice, Date, Field, File, Lookup, MultiChoice, Text
from deskwork.filters import (
    PRESETS,
    Condition,
    View,
    filter_kind,
    named_view,
    preset_range,
    read_view,
    same_arguments,
    sortable,
    totalled,
)
from deskwork.model import Table, TablePage, Tool

__all__ = [  # the filters, for the views' convenience
    "PRESETS", "Condition", "View", "filter_kind", "named_view", "preset_range", "read_view",
    "same_arguments", "sortable", "totalled",
]  # fmt: skip

LOW, HIGH = -(2**63), 2**63 - 1
#: How long a page may walk the sort's index, testing rows, before it collects the
#: matches instead.
WALK_BUDGET_S = 0.025
#: How long counting one column's values for the filters may take.
FACET_BUDGET_S = 0.2
#: A search word with fewer matches than this is collected, not walked to.
FEW = 2000
#: Looked-up names read by one query (SQLite before 3.32 takes 999 variables at most).
LABELS_AT_ONCE = 900


@dataclass
class Segment:
    """Rows in one stretch of the sort order: a join, a condition and the key's parts."""

    cond: str
    keys: list[str]
    join: str = ""


# -- the query -----------------------------------------------------------------------------


class Query:
    """SQL for one view: what is selected, the filters, and the sort's segments."""

    def __init__(self, db: sqlite_utils.Database, view: View) -> None:
        self.db = db
        self.view = view
        self.table = view.page.table
        self.where = [c.sql for c in view.conditions]
        self.params: list[Any] = [p for c in view.conditions for p in c.params]
        self.segments = self._segments()
        self.search_words = search.words(view.q)
        self._search_columns = search.searched_columns(view.page)
        self._indexed = search.indexed_columns(db, self.table.name) if self.search_words else []

    # What the page shows of each row.
    def select(self) -> tuple[str, str]:
        cols = ["t.id AS id"]
        joins = []
        for name in self.view.columns:
            f = self.view.fields.get(name)
            alias = f"j_{name}"
            if isinstance(f, Lookup):
                joins.append(f"LEFT JOIN [{f.table_name}] {alias} ON {alias}.id = t.[{name}]")
                cols.append(f"{alias}.[{f.show}] AS [{name}]")
                cols.append(f"t.[{name}] AS [{name}__id]")
            elif isinstance(f, File):
                joins.append(f"LEFT JOIN {FILES} {alias} ON {alias}.id = t.[{name}]")
                cols.append(f"{alias}.name AS [{name}]")
                cols.append(f"t.[{name}] AS [{name}__file]")
            else:
                cols.append(f"t.[{name}] AS [{name}]")
        return ", ".join(cols), " ".join(joins)

    def _segments(self) -> list[Segment]:
        view = self.view
        if view.sort == "id":
            return [Segment("1", ["t.id"])]
        f = view.fields[view.sort]
        col = f"t.[{view.sort}]"
        empty = Segment(f"{col} IS NULL", ["t.id"])
        if isinstance(f, Lookup) and f.show != "id":
            # By the name shown; a row whose looked-up record shows no name sorts with
            # the empty ones. (A lookup of a record that is gone, possible only if another
            # program turned foreign keys off, is in neither.)
            join = f"JOIN [{f.table_name}] s ON s.id = {col}"
            filled = Segment(f"s.[{f.show}] IS NOT NULL",
                             [f"s.[{f.show}] COLLATE NOCASE", "s.id", "t.id"], join)  # fmt: skip
            empty = Segment(
                f"({col} IS NULL OR {col} IN "
                f"(SELECT id FROM [{f.table_name}] WHERE [{f.show}] IS NULL))",
                ["t.id"],
            )
        else:
            nocase = " COLLATE NOCASE" if isinstance(f, Text) else ""
            filled = Segment(f"{col} IS NOT NULL", [col + nocase, "t.id"])
        return [filled, empty] if view.descending else [empty, filled]

    # -- search ---------------------------------------------------------------------------

    def _search_sql(self, per_row: bool) -> tuple[list[str], list[Any]]:
        """One condition per typed word: it starts a word of a searched column, or of the
        name a shown lookup shows. ``per_row`` tests each row (a seek) instead of
        collecting every match first."""
        sql: list[str] = []
        params: list[Any] = []
        own, looked_up = self._search_columns
        fts = search.index_name(self.table.name)
        for word in self.search_words:
            either: list[str] = []
            if own:
                query = search.phrase(word, own if own != self._indexed else None)
                if per_row:
                    either.append(
                        f"EXISTS (SELECT 1 FROM [{fts}] WHERE [{fts}] MATCH ? AND rowid = t.id)"
                    )
                else:
                    either.append(f"t.id IN (SELECT rowid FROM [{fts}] WHERE [{fts}] MATCH ?)")
                params.append(query)
            for column, f in looked_up:
                other = search.index_name(f.table_name)
                either.append(
                    f"t.[{column}] IN (SELECT rowid FROM [{other}] WHERE [{other}] MATCH ?)"
                )
                params.append(search.phrase(word, [f.show]))
            sql.append("(" + " OR ".join(either or ["0"]) + ")")
        return sql, params

    def few_matches(self) -> bool:
        """Whether some typed word has few matches (a look at its index, stopped at
        ``FEW``): then collecting them is quicker than walking the table to find them."""
        if not self.search_words:
            return False
        own, looked_up = self._search_columns
        fts = search.index_name(self.table.name)
        for word in self.search_words:
            parts, params = [], []
            if own:
                parts.append(f"SELECT rowid FROM [{fts}] WHERE [{fts}] MATCH ?")
                params.append(search.phrase(word, own if own != self._indexed else None))
            for column, f in looked_up:
                other = search.index_name(f.table_name)
                parts.append(
                    f"SELECT id FROM [{self.table.name}] WHERE [{column}] IN "
                    f"(SELECT rowid FROM [{other}] WHERE [{other}] MATCH ?)"
                )
                params.append(search.phrase(word, [f.show]))
            if not parts:
                return True
            found = self.db.execute(
                f"SELECT count(*) FROM ({' UNION ALL '.join(parts)} LIMIT ?)", [*params, FEW]
            ).fetchone()[0]
            if found < FEW:
                return True
        return False

    def filters(self, per_row: bool = False) -> tuple[list[str], list[Any]]:
        """The view's filters and search as SQL. ``per_row``: as tests of each row met
        while walking the sort's index (no other index is used for them: unary ``+``),
        rather than as conditions SQLite may look up first."""
        where = self.where
        if per_row:
            where = [
                c.sql.replace(f"t.[{c.column}]", f"+t.[{c.column}]")
                if c.column != self.view.sort else c.sql
                for c in self.view.conditions
            ]  # fmt: skip
        found, params = self._search_sql(per_row) if self.search_words else ([], [])
        return where + found, self.params + params

    # -- rows -------------------------------------------------------------------------------

    def rows(self, index: int, key: list[Any] | None, forward: bool, limit: int,
             per_row: bool) -> list[dict[str, Any]]:  # fmt: skip
        """Up to ``limit`` rows of segment ``index``, after (or before) ``key``'s values."""
        segment = self.segments[index]
        select, joins = self.select()
        where, params = self.filters(per_row)
        where = [*where, segment.cond]
        ascending = forward != self.view.descending
        if key is not None:
            marks = ", ".join("?" for _ in segment.keys)
            where.append(f"({', '.join(segment.keys)}) {'>' if ascending else '<'} ({marks})")
            params = [*params, *key]
            if segment.join:  # the looked-up table's own bound: it is seeked, not walked
                where.append(f"{segment.keys[0]} {'>=' if ascending else '<='} ?")
                params.append(key[0])
        keys = ", ".join(f"{k} AS __k{i}" for i, k in enumerate(segment.keys))
        order = ", ".join(f"{k} {'ASC' if ascending else 'DESC'}" for k in segment.keys)
        sql = (
            f"SELECT {select}, {keys} FROM [{self.table.name}] t {segment.join} {joins} "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        )
        cursor = self.db.execute(sql, [*params, limit])
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            row["_key"] = [index] + [row.pop(f"__k{i}") for i in range(len(segment.keys))]
            out.append(row)
        return out

    def count(self) -> int:
        """How many rows the view holds (its filters and search)."""
        where, params = self.filters(False)
        sql = f"SELECT count(*) FROM [{self.table.name}] t"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return int(self.db.execute(sql, params).fetchone()[0])

    def every_row(self, select: str, params: Sequence[Any]) -> Iterator[sqlite3.Cursor]:
        """Every row of the view, in its order, with ``select`` (SQL of ``t``, the table,
        and the lookups the view shows, ``j_NAME``; ``params`` are its own): a cursor per
        segment of the sort, each walking its index."""
        _, joins = self.select()
        where, where_params = self.filters(False)
        for segment in self.segments:
            direction = "DESC" if self.view.descending else "ASC"
            order = ", ".join(f"{k} {direction}" for k in segment.keys)
            sql = (
                f"SELECT {select} FROM [{self.table.name}] t {segment.join} {joins} "
                f"WHERE {' AND '.join([*where, segment.cond])} ORDER BY {order}"
            )
            yield self.db.execute(sql, [*params, *where_params])

    def walk(self, index: int, key: list[Any] | None, forward: bool, limit: int,
             per_row: bool) -> list[dict[str, Any]]:  # fmt: skip
        """Up to ``limit`` rows from ``key`` on (in segment ``index``), in the direction
        asked, crossing into the next segments as needed; in page order."""
        out: list[dict[str, Any]] = []
        step = 1 if forward else -1
        while 0 <= index < len(self.segments) and len(out) < limit:
            out += self.rows(index, key, forward, limit - len(out), per_row)
            index, key = index + step, None
        return out if forward else out[::-1]

    def valid(self, key: list[Any] | None) -> bool:
        """Whether ``key`` (from an address) is a key of this sort: a stale or made-up
        one is not used."""
        if key is None or not 0 <= key[0] < len(self.segments):
            return False
        return len(key) == len(self.segments[key[0]].keys) + 1 and isinstance(key[-1], int)

    def key_of(self, row_id: int) -> list[Any] | None:
        """The key of row ``row_id`` in this sort, if the view shows it."""
        where, params = self.filters(False)
        for index, segment in enumerate(self.segments):
            keys = ", ".join(segment.keys)
            sql = (
                f"SELECT {keys} FROM [{self.table.name}] t {segment.join} "
                f"WHERE {' AND '.join([*where, segment.cond, 't.id = ?'])}"
            )
            found = self.db.execute(sql, [*params, row_id]).fetchone()
            if found is not None:
                return [index, *found]
        return None


@dataclass
class Page:
    """One page of rows, and where the pages around it start."""

    rows: list[dict[str, Any]]
    has_previous: bool
    has_next: bool
    first: bool
    at: int | None = None


def page_of_rows(db: sqlite_utils.Database, view: View) -> Page:
    """The rows the view's position asks for.

    With filters or a search, there are two ways to a page: walk the sort's index and
    test each row (quick when matches are common: a page fills after a few hundred rows),
    or let SQLite find the matches first and sort them (quick when they are few). Which
    one is right depends on the data, so the walk gets a few milliseconds; if the page
    is not full by then, the matches are collected instead.
    """
    query = Query(db, view)
    size = view.page.page_size
    others = any(c.column != view.sort for c in view.conditions)
    short = all(len(w) <= search.PREFIX_MAX for w in query.search_words)
    if (others or query.search_words) and short and not query.few_matches():
        try:
            with time_limit(db, WALK_BUDGET_S):
                return _page(query, view, size, per_row=True)
        except TimeUp:
            pass
    return _page(query, view, size, per_row=False)


def _page(query: Query, view: View, size: int, per_row: bool) -> Page:
    last = len(query.segments) - 1
    if view.at is not None:
        key = query.key_of(view.at)
        if key is not None:
            # The row a third of the way down, with the rows before it above.
            lead = size // 3
            before = query.walk(key[0], key[1:], False, lead + 1, per_row)
            if len(before) > lead:
                start = before[0]["_key"]
                rows = query.walk(start[0], start[1:], True, size + 1, per_row)
                return Page(rows[:size], True, len(rows) > size, False, view.at)
            rows = query.walk(0, None, True, size + 1, per_row)
            return Page(rows[:size], False, len(rows) > size, True, view.at)
    if query.valid(view.after):
        assert view.after is not None
        rows = query.walk(view.after[0], view.after[1:], True, size + 1, per_row)
        return Page(rows[:size], True, len(rows) > size, False)
    if query.valid(view.before):
        assert view.before is not None
        rows = query.walk(view.before[0], view.before[1:], False, size + 1, per_row)
        return Page(rows[-size:], len(rows) > size, True, len(rows) <= size)
    if view.last:
        rows = query.walk(last, None, False, size + 1, per_row)
        return Page(rows[-size:], len(rows) > size, False, len(rows) <= size)
    if view.jump and view.sort != "id":
        key = jump_key(query, view)
        if key is not None:
            rows = query.walk(key[0], key[1:], True, size + 1, per_row)
            before = query.walk(key[0], key[1:], False, 1, per_row)
            return Page(rows[:size], bool(before), len(rows) > size, not before)
    rows = query.walk(0, None, True, size + 1, per_row)
    return Page(rows[:size], False, len(rows) > size, True)


def jump_key(query: Query, view: View) -> list[Any] | None:
    """The key just before the first row at or past ``view.jump`` in the sort order."""
    f = view.fields[view.sort]
    edge = HIGH if view.descending else LOW
    try:
        if isinstance(f, Lookup):
            value: Any = view.jump
        elif isinstance(f, Date):  # a day, for dates and for dates with times
            day = Date()
            day.bind(view.sort)
            first = day.parse(view.jump)
            value = first.isoformat()
            if view.descending:  # the day's last moment: everything before the next day
                value, edge = (first + dt.timedelta(days=1)).isoformat(), LOW
        else:
            value = f.to_db(f.parse_text(view.jump))
    except ValidationError as e:
        view.problems.append(f"Can't go to {view.jump[:40]!r}: {e}")
        return None
    if value is None:
        return None
    filled = 0 if view.descending or len(query.segments) == 1 else 1
    return [filled, value, *([edge] * (len(query.segments[filled].keys) - 1))]


def references(
    db: sqlite_utils.Database, tool: Tool, table: Table, row_id: int
) -> list[tuple[TablePage, str, int]]:
    """The rows that look up record ``row_id``, by table page: (the page listing them,
    the lookup column to filter it by, how many). Each count reads the lookup's index."""
    found = history.looking_up(db.conn, tool, table, row_id)
    return [(page, name, count) for other, name, count in found
            if (page := tool.listing_for(other)) is not None]  # fmt: skip


# -- counts, totals, facets ----------------------------------------------------------------


def summary(db: sqlite_utils.Database, view: View) -> dict[str, Any]:
    """How many rows the view holds, and the totals of its money and number columns, as
    the page shows them."""
    found = summary_values(db, view)
    totals = {c: view.fields[c].display(v) for c, v in found["totals"].items()}
    return {"count": found["count"], "totals": totals}


def summary_values(db: sqlite_utils.Database, view: View) -> dict[str, Any]:
    """How many rows the view holds, and the totals of its money and number columns, as
    stored (cents for money)."""
    query = Query(db, view)
    where, params = query.filters(False)
    shown = [c for c in view.columns if totalled(view.fields[c])]
    sums = ", ".join(f"total(t.[{c}])" for c in shown)
    sql = f"SELECT count(*){', ' + sums if sums else ''} FROM [{query.table.name}] t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    found = db.execute(sql, params).fetchone()
    # total() is a float: exact for whole numbers (cents) up to 2**53.
    totals = {c: int(v) if isinstance(v, float) and v.is_integer() else v
              for c, v in zip(shown, found[1:], strict=True)}  # fmt: skip
    return {"count": int(found[0]), "totals": totals}


def facets(db: sqlite_utils.Database, view: View, limit: int = 30) -> dict[str, list[list[Any]]]:
    """For each column filtered by its values: its most frequent values in the view (the
    column's own filter left out, so more can be picked), as ``[value, label, count]``.
    A column whose counting takes longer than ``FACET_BUDGET_S`` is left out, as
    Datasette does: its filter still works, without counts."""
    out: dict[str, list[list[Any]]] = {}
    for name, f in view.fields.items():
        kind = filter_kind(f)
        if kind not in ("values", "yesno"):
            continue
        others = [c for c in view.conditions if c.column != name]
        sub = View(view.page, view.sort, view.descending, view.q, others)
        query = Query(db, sub)
        where, params = query.filters(False)
        col = f"t.[{name}]"
        if isinstance(f, MultiChoice):
            source = (
                f"[{query.table.name}] t, json_each(CASE WHEN json_valid({col}) THEN {col} "
                "ELSE '[]' END) v"
            )
            value = "v.value"
        else:
            source, value = f"[{query.table.name}] t", (
                f"coalesce({col}, 0)" if kind == "yesno" else col)  # fmt: skip
        sql = (
            f"SELECT {value} AS v, count(*) AS n FROM {source} "
            f"WHERE {' AND '.join([*where, f'{value} IS NOT NULL'])} "
            f"GROUP BY v ORDER BY n DESC, v LIMIT ?"
        )
        try:
            with time_limit(db, FACET_BUDGET_S):
                counted = db.execute(sql, [*params, limit]).fetchall()
        except TimeUp:  # too many rows to count in time: offered without counts
            continue
        shown = labels(db, f, [v for v, _ in counted])
        if kind == "yesno":
            out[name] = [["yes" if v else "no", "Yes" if v else "No", n] for v, n in counted]
        else:
            out[name] = [[v, shown.get(v, str(v)), n] for v, n in counted]
    return out


def labels(db: sqlite_utils.Database, f: Field, values: list[Any]) -> dict[Any, str]:
    """What a lookup's or a choice's values are shown as, by value."""
    if isinstance(f, Lookup):
        out: dict[Any, str] = {}
        for start in range(0, len(values), LABELS_AT_ONCE):  # within SQLite's variables
            part = values[start : start + LABELS_AT_ONCE]
            marks = ", ".join("?" for _ in part)
            found = db.execute(
                f"SELECT id, [{f.show}] FROM [{f.table_name}] WHERE id IN ({marks})", part
            )
            out.update((i, "" if s is None else str(s)) for i, s in found)
        return out
    if isinstance(f, Choice):
        return {v: f.labels.get(str(v), str(v)) for v in values}
    return {}
