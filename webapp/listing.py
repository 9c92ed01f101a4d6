"""A table page's rows as its address asks: sorted, filtered, searched, a page at a time.

The address holds the whole view, so back, forward, reload and bookmarks show the same
rows::

    /tables/expenses?sort=-amount&category=Travel&category=Meals&date.in=this-month
        &amount.min=100&note.has=taxi&paid_by_card=yes&receipt.empty=yes&q=ada
        &after=[1,41250,90817]

- ``sort``: a column, ``-`` first for largest/newest first; ties are broken by id, so
  the order is total and stable. Money sorts as money, dates as dates, text ignoring
  case, a lookup by the name it shows.
- Filters, by the column's field: values of a choice, lookup or yes/no (several values
  are "any of them"); ``.min``/``.max`` for numbers; ``.from``/``.to`` or ``.in`` (a
  preset such as ``this-month``) for dates; ``.has`` for text; ``.empty`` (yes/no) for any.
- ``q``: every word must start a word of a searched column or of a looked-up name.
- Position: ``after``/``before`` a row's key (keyset paging: a page is found by seeking
  the sort's index, never by stepping over the rows before it, so the last page of a
  million rows is as quick as the first), ``last``, ``jump`` (to a value of the sort
  column) or ``at`` (a row id: the page around it, as after saving it).

Rows whose sort column is empty (NULL) form a segment of their own, ordered by id, before
the others when ascending and after them when descending (SQLite's own order), so every
seek stays on an index. A key is ``[segment, value..., id]``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from deskwork import search
from deskwork.attachments import FILES
from deskwork.errors import ValidationError
from deskwork.fields import (
    Choice,
    Date,
    Field,
    File,
    Integer,
    LongText,
    Lookup,
    MultiChoice,
    Number,
    Text,
    YesNo,
)
from deskwork.model import TablePage

#: Date presets, by their address word.
PRESETS = {
    "this-month": "This month",
    "last-month": "Last month",
    "this-year": "This year",
    "last-year": "Last year",
}
LOW, HIGH = -(2**63), 2**63 - 1
#: How long a common-word search may walk the table before it collects matches instead.
SCAN_BUDGET_S = 0.006


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a date preset means, as of ``today``."""
    if preset == "this-month":
        first = today.replace(day=1)
    elif preset == "last-month":
        first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    elif preset == "this-year":
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    elif preset == "last-year":
        year = today.year - 1
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    else:
        raise KeyError(preset)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def sortable(f: Field) -> bool:
    return not isinstance(f, LongText | MultiChoice)


def filter_kind(f: Field) -> str:
    """Which filter a column gets: values, range, dates, yes/no or text."""
    if isinstance(f, YesNo):
        return "yesno"
    if isinstance(f, Choice | Lookup):  # MultiChoice is a Choice
        return "values"
    if isinstance(f, Date):  # DateTime is a Date
        return "dates"
    if isinstance(f, Integer | Number):
        return "range"
    if isinstance(f, File):
        return "file"
    return "text"


def totalled(f: Field) -> bool:
    """Whether the table shows a column's total: money and numbers, not identifiers."""
    return isinstance(f, Number) or (isinstance(f, Integer) and not f.unique)


@dataclass
class Condition:
    """One filter the address asks for: its SQL, and how it reads and is taken away."""

    column: str
    text: str  # "Category is Travel or Meals"
    sql: str
    params: list[Any]
    args: tuple[str, ...]  # the address's arguments that make it


@dataclass
class Segment:
    """Rows in one stretch of the sort order: a join, a condition and the key's parts."""

    cond: str
    keys: list[str]
    join: str = ""


@dataclass
class View:
    """What the address asks of one table page."""

    page: TablePage
    sort: str
    descending: bool
    q: str = ""
    conditions: list[Condition] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    after: list[Any] | None = None
    before: list[Any] | None = None
    last: bool = False
    jump: str = ""
    at: int | None = None
    raw: Any = None  # the request's arguments (a MultiDict)

    @property
    def fields(self) -> dict[str, Field]:
        return self.page.table.fields

    @property
    def columns(self) -> list[str]:
        return list(self.page.columns or self.page.table.fields)

    def arguments(self, **changes: Any) -> dict[str, Any]:
        """The address's arguments for this view (sort, filters, search; no position),
        with ``changes`` (None removes one)."""
        args: dict[str, Any] = {}
        shown = ("-" if self.descending else "") + self.sort
        if shown != self.page.order:
            args["sort"] = shown
        for c in self.conditions:
            for key in c.args:
                values = [v for v in self.raw.getlist(key) if v.strip()] if self.raw else []
                if values:
                    args[key] = values
        if self.q:
            args["q"] = self.q
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return args

    @property
    def filtered(self) -> bool:
        return bool(self.conditions or self.q)


def read_view(page: TablePage, args: Any, today: dt.date | None = None) -> View:
    """The view ``args`` (a request's MultiDict) asks for; what can't be read is left out,
    with a plain message in ``problems``."""
    today = today or dt.date.today()
    fields = page.table.fields
    sort, descending = page.order_column, page.descending
    problems: list[str] = []
    wanted = str(args.get("sort", "")).strip()
    if wanted:
        column = wanted.lstrip("-")
        if column == "id" or (column in fields and sortable(fields[column])):
            sort, descending = column, wanted.startswith("-")
        else:
            problems.append(f"Rows can't be sorted by {wanted[:40]!r}: shown in their usual order.")
    view = View(page, sort, descending, q=str(args.get("q", "")).strip()[:200])
    view.raw = args
    for name, f in fields.items():
        try:
            view.conditions += _conditions(name, f, args, today)
        except ValidationError as e:
            problems.append(f"{e} That filter is left out.")
    view.problems = problems
    view.after = _key(args.get("after"))
    view.before = _key(args.get("before"))
    view.last = args.get("last") in ("1", "yes", "true")
    view.jump = str(args.get("jump", "")).strip()[:200]
    at = str(args.get("at", ""))
    view.at = int(at) if at.isascii() and at.isdigit() and len(at) < 19 else None
    return view


def _key(raw: Any) -> list[Any] | None:
    """A row's key from the address: ``[segment, value..., id]``; anything else is None."""
    if not raw:
        return None
    try:
        key = json.loads(str(raw)[:2000])
    except ValueError:
        return None
    if not isinstance(key, list) or len(key) < 2 or not isinstance(key[0], int):
        return None
    if not all(v is None or isinstance(v, str | int | float) for v in key):
        return None
    return key


def _conditions(name: str, f: Field, args: Any, today: dt.date) -> list[Condition]:
    col = f"t.[{name}]"
    out: list[Condition] = []
    kind = filter_kind(f)
    values = [v for v in args.getlist(name) if str(v).strip()][:200]
    if values and kind == "yesno":
        yes = values[-1] in ("yes", "1", "on")
        if values[-1] not in ("yes", "no", "1", "0", "on"):
            raise ValidationError(f"{f.label}: choose yes or no.")
        sql = f"{col} = 1" if yes else f"coalesce({col}, 0) = 0"
        out.append(Condition(name, f"{f.label}: {'yes' if yes else 'no'}", sql, [], (name,)))
    elif values and kind == "values":
        out.append(_value_condition(name, f, values))
    if kind == "range":
        low, high = args.get(f"{name}.min", "").strip(), args.get(f"{name}.max", "").strip()
        if low:
            value = f.to_db(f.parse_text(low[:40]))
            out.append(Condition(name, f"{f.label} from {f.display(value)}", f"{col} >= ?",
                                 [value], (f"{name}.min",)))  # fmt: skip
        if high:
            value = f.to_db(f.parse_text(high[:40]))
            out.append(Condition(name, f"{f.label} up to {f.display(value)}", f"{col} <= ?",
                                 [value], (f"{name}.max",)))  # fmt: skip
    if kind == "dates":
        out += _date_conditions(name, f, args, today)
    if kind == "text":
        has = str(args.get(f"{name}.has", "")).strip()[:200]
        if has:
            escaped = has.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            out.append(Condition(name, f"{f.label} contains “{has}”",
                                 f"{col} LIKE ? ESCAPE '\\'", [f"%{escaped}%"],
                                 (f"{name}.has",)))  # fmt: skip
    empty = str(args.get(f"{name}.empty", "")).strip()
    if empty:
        if empty not in ("yes", "no"):
            raise ValidationError(f"{f.label}: empty or not empty is yes or no.")
        blank = f"({col} IS NULL OR {col} = ''" + (f" OR {col} = '[]'" if kind == "values" else "")
        sql = blank + ")" if empty == "yes" else f"NOT {blank})"
        word = "is empty" if empty == "yes" else "is not empty"
        out.append(Condition(name, f"{f.label} {word}", sql, [], (f"{name}.empty",)))
    return out


def _value_condition(name: str, f: Field, values: list[str]) -> Condition:
    col = f"t.[{name}]"
    marks = ", ".join("?" for _ in values)
    if isinstance(f, Lookup):
        ids = [Lookup.picked_id(v) for v in values]
        if any(i is None for i in ids):
            raise ValidationError(f"{f.label}: choose from the list.")
        return Condition(name, f"{f.label} is one of {len(ids)}" if len(ids) > 1 else f.label,
                         f"{col} IN ({marks})", ids, (name,))  # fmt: skip
    assert isinstance(f, Choice)
    unknown = [v for v in values if v not in f.labels]
    if unknown:
        raise ValidationError(f"{f.label} has no choice {unknown[0][:40]!r}.")
    shown = " or ".join(f.labels[v] for v in values)
    if isinstance(f, MultiChoice):
        sql = (
            f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({col}) THEN {col} "
            f"ELSE '[]' END) WHERE value IN ({marks}))"
        )
        return Condition(name, f"{f.label} include {shown}", sql, list(values), (name,))
    return Condition(name, f"{f.label} is {shown}", f"{col} IN ({marks})", list(values), (name,))


def _date_conditions(name: str, f: Field, args: Any, today: dt.date) -> list[Condition]:
    col = f"t.[{name}]"
    preset = str(args.get(f"{name}.in", "")).strip()
    start = str(args.get(f"{name}.from", "")).strip()[:40]
    end = str(args.get(f"{name}.to", "")).strip()[:40]
    if preset:
        if preset not in PRESETS:
            raise ValidationError(f"{f.label}: there is no date range {preset[:40]!r}.")
        since, until = preset_range(preset, today)
        text = f"{f.label}: {PRESETS[preset].lower()}"
        return [_between(name, col, since, until, text, (f"{name}.in",))]
    day = Date()
    day.bind(name)
    first = day.parse_text(start) if start else None
    last = day.parse_text(end) if end else None
    if first and last and first > last:
        raise ValidationError(f"{f.label}: the first day is after the last.")
    if not (first or last):
        return []
    if first and last:
        text = f"{f.label} {first.isoformat()} to {last.isoformat()}"
    else:
        text = f"{f.label} from {first.isoformat()}" if first else f"{f.label} up to {last}"
    return [_between(name, col, first, last, text, (f"{name}.from", f"{name}.to"))]


def _between(
    name: str, col: str, first: dt.date | None, last: dt.date | None, text: str,
    args: tuple[str, ...],
) -> Condition:  # fmt: skip
    """Days ``first`` to ``last`` (both in): stored dates and times are ISO text, so a
    day's times all sort before the next day."""
    parts, params = [], []
    if first:
        parts.append(f"{col} >= ?")
        params.append(first.isoformat())
    if last:
        parts.append(f"{col} < ?")
        params.append((last + dt.timedelta(days=1)).isoformat())
    return Condition(name, text, " AND ".join(parts), params, args)


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
        self._search_columns = search_columns(view.page)

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
        if isinstance(f, Lookup):
            show = f"s.[{f.show}]" + (" COLLATE NOCASE" if f.show != "id" else "")
            filled = Segment(
                "1", [show, "s.id", "t.id"], f"JOIN [{f.table_name}] s ON s.id = {col}"
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
                query = search.phrase(word, own if own != self._indexed(self.table.name) else None)
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

    def _indexed(self, table: str) -> list[str]:
        cache = getattr(self, "_indexed_cache", {})
        if table not in cache:
            cache[table] = search.indexed_columns(self.db, table)
            self._indexed_cache = cache
        return list(cache[table])

    def _filters(self, per_row: bool) -> tuple[list[str], list[Any]]:
        found, params = self._search_sql(per_row) if self.search_words else ([], [])
        return self.where + found, self.params + params

    # -- rows -------------------------------------------------------------------------------

    def rows(self, index: int, key: list[Any] | None, forward: bool, limit: int,
             per_row: bool) -> list[dict[str, Any]]:  # fmt: skip
        """Up to ``limit`` rows of segment ``index``, after (or before) ``key``'s values."""
        segment = self.segments[index]
        select, joins = self.select()
        where, params = self._filters(per_row)
        where = [*where, segment.cond]
        ascending = forward != self.view.descending
        if key is not None:
            marks = ", ".join("?" for _ in segment.keys)
            where.append(f"({', '.join(segment.keys)}) {'>' if ascending else '<'} ({marks})")
            params = [*params, *key]
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
        where, params = self._filters(False)
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


def search_columns(page: TablePage) -> tuple[list[str], list[tuple[str, Lookup]]]:
    """What a page's search looks in: the text the rows show and the columns the author
    lists; and the shown lookups, whose names it finds."""
    fields = page.table.fields
    shown = list(page.columns or fields)
    own = [c for c in shown if isinstance(fields[c], Text | Choice)]
    own += [c for c in page.search if c not in own]
    looked_up = [(c, f) for c in shown if isinstance(f := fields[c], Lookup) and f.show != "id"]
    return own, looked_up


@dataclass
class Page:
    """One page of rows, and where the pages around it start."""

    rows: list[dict[str, Any]]
    has_previous: bool
    has_next: bool
    first: bool
    at: int | None = None


def page_of_rows(db: sqlite_utils.Database, view: View) -> Page:
    """The rows the view's position asks for."""
    query = Query(db, view)
    size = view.page.page_size
    if not query.search_words:
        return _page(query, view, size, per_row=False)
    if len(max(query.search_words, key=len)) <= search.PREFIX_MAX:
        # A common word fills a page after a few rows; a rare one would make this walk
        # the whole table: give it a few milliseconds, then collect the matches instead.
        try:
            with time_limit(db, SCAN_BUDGET_S):
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
    try:
        if isinstance(f, Lookup):
            value: Any = view.jump
        elif isinstance(f, Date):  # a day, for dates and for dates with times
            day = Date()
            day.bind(view.sort)
            value = day.parse_text(view.jump).isoformat()
        else:
            value = f.to_db(f.parse_text(view.jump))
    except ValidationError as e:
        view.problems.append(f"Can't go to {view.jump[:40]!r}: {e}")
        return None
    if value is None:
        return None
    filled = 0 if view.descending or len(query.segments) == 1 else 1
    edge = HIGH if view.descending else LOW
    return [filled, value, *([edge] * (len(query.segments[filled].keys) - 1))]


# -- counts, totals, facets ----------------------------------------------------------------


def summary(db: sqlite_utils.Database, view: View) -> dict[str, Any]:
    """How many rows the view holds, and the totals of its money and number columns."""
    query = Query(db, view)
    where, params = query._filters(False)
    shown = [c for c in view.columns if totalled(view.fields[c])]
    sums = ", ".join(f"total(t.[{c}])" for c in shown)
    sql = f"SELECT count(*){', ' + sums if sums else ''} FROM [{query.table.name}] t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    found = db.execute(sql, params).fetchone()
    totals = {}
    for c, value in zip(shown, found[1:], strict=True):
        f = view.fields[c]
        totals[c] = f.display(int(value)) if isinstance(value, float) and value.is_integer() else (
            f.display(value))  # fmt: skip
    return {"count": int(found[0]), "totals": totals}


def facets(db: sqlite_utils.Database, view: View, limit: int = 30) -> dict[str, list[list[Any]]]:
    """For each column filtered by its values: its most frequent values in the view (the
    column's own filter left out, so more can be picked), as ``[value, label, count]``."""
    out: dict[str, list[list[Any]]] = {}
    for name, f in view.fields.items():
        kind = filter_kind(f)
        if kind not in ("values", "yesno"):
            continue
        others = [c for c in view.conditions if c.column != name]
        sub = View(view.page, view.sort, view.descending, view.q, others)
        query = Query(db, sub)
        where, params = query._filters(False)
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
        counted = db.execute(sql, [*params, limit]).fetchall()
        labels = _labels(db, f, [v for v, _ in counted])
        if kind == "yesno":
            out[name] = [["yes" if v else "no", "Yes" if v else "No", n] for v, n in counted]
        else:
            out[name] = [[v, labels.get(v, str(v)), n] for v, n in counted]
    return out


def _labels(db: sqlite_utils.Database, f: Field, values: list[Any]) -> dict[Any, str]:
    if isinstance(f, Lookup):
        if not values:
            return {}
        marks = ", ".join("?" for _ in values)
        found = db.execute(
            f"SELECT id, [{f.show}] FROM [{f.table_name}] WHERE id IN ({marks})", values
        ).fetchall()
        return {i: "" if s is None else str(s) for i, s in found}
    if isinstance(f, Choice):
        return {v: f.labels.get(str(v), str(v)) for v in values}
    return {}


def lookup_labels(db: sqlite_utils.Database, f: Lookup, ids: list[Any]) -> dict[Any, str]:
    return _labels(db, f, ids)


# -- a time limit on one query -------------------------------------------------------------


class TimeUp(Exception):
    """A query ran past its time limit and was stopped."""


@contextmanager
def time_limit(db: sqlite_utils.Database, seconds: float) -> Iterator[None]:
    """Stop the queries run inside after ``seconds`` (``TimeUp``)."""
    deadline = time.perf_counter() + seconds
    stopped = False

    def check() -> int:
        nonlocal stopped
        stopped = time.perf_counter() > deadline
        return 1 if stopped else 0

    db.conn.set_progress_handler(check, 2000)
    try:
        yield
    except Exception as e:
        if stopped:
            raise TimeUp() from e
        raise
    finally:
        db.conn.set_progress_handler(None, 0)
