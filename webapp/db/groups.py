"""A table view's rows grouped: by a column's values (a choice, a lookup, yes/no) or by
the day, week, month, quarter or year of a date, with each group's count and the sums
of the view's money and number columns, and the table page's address that shows exactly
the group's rows ("Summarise", on every table page).

- **The rows** are the view's own (``deskwork.filters``: its filters and its search),
  read by the same SQL as the table page (``listing.Query``).
- **Sums are exact**: SQLite's ``sum()`` of the stored integers (cents for money), never
  a float; the totals line adds the groups' sums in Python integers.
- **A period is keyed by its first day** (ISO text), so periods sort in time and a week
  across a year's end stays one group. Weeks are counted as the user's locale counts
  them (``locales.NumberFormat.sunday_weeks``): ISO 8601 (Monday first, so a year may
  have a week 53), or Sunday first with week 1 holding 1 January.
- **Empty values are a group of their own** ("(empty)"), last.
- **Drilling down**: each group's ``address`` is the view's with the group's filter
  added (a value, or the period's first and last days within the view's own range), so
  the table page it opens holds the same rows, with the same count and totals.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from deskwork import locales
from deskwork.db import rollups
from deskwork.db.listing import Query, labels
from deskwork.errors import ValidationError
from deskwork.fields import Choice, Date, Field, Lookup, YesNo
from deskwork.filters import View, date_range, totalled
from deskwork.grouping import By
from deskwork.measures import Measure, Parts, Sum

#: What a group of rows with no value is called.
EMPTY = "(empty)"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


@dataclass
class Group:
    """The rows with one value, or in one period."""

    key: Any  # as stored, or the period's first day (ISO); None for no value
    label: str
    count: int
    sums: dict[str, int]  # column -> sum as stored (cents for money)
    address: dict[str, Any] | None  # the table page's arguments for exactly these rows


@dataclass
class Grouped:
    """A view's rows in groups, and their totals."""

    by: By
    columns: list[str]  # those summed
    groups: list[Group] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def sums(self) -> dict[str, int]:
        return {c: sum(g.sums[c] for g in self.groups) for c in self.columns}


def summed(view: View) -> list[str]:
    """The view's columns whose sums a group shows: its money and numbers."""
    return [c for c in view.columns if totalled(view.fields[c])]


def group(db: sqlite_utils.Database, view: View, by: By, today: dt.date | None = None) -> Grouped:
    """``view``'s rows grouped ``by`` a column or a date's part, with the sums of its
    money and number columns ("Summarise")."""
    columns = summed(view)
    found = measure(db, view, [by], {c: Sum(c) for c in columns}, today)
    grouped = Grouped(by, columns)
    grouped.groups = [Group(r.keys[0], r.labels[0], r.count, dict(r.values), r.address)
                      for r in found.rows]  # fmt: skip
    return grouped


@dataclass
class Row:
    """One group of a report's rows: a key (a value or a period) per grouping."""

    keys: tuple[Any, ...]
    labels: tuple[str, ...]
    count: int
    parts: dict[str, Parts]  # measure -> its parts, for subtotals and totals
    values: dict[str, Any]  # measure -> its value as stored (cents for money)
    address: dict[str, Any] | None  # the table page's arguments for exactly these rows
    outer: dict[str, Any] | None = None  # the same for its first key alone


@dataclass
class Measured:
    """A view's rows grouped by one or more ``By``, with their measures and totals."""

    bys: list[By]
    measures: dict[str, Measure]
    rows: list[Row] = field(default_factory=list)

    def combined(self, rows: list[Row], keys: tuple[Any, ...] = (),
                 labels: tuple[str, ...] = ()) -> Row:  # fmt: skip
        """``rows`` taken together (a subtotal, or the total), from their parts."""
        parts = {n: m.combine([r.parts[n] for r in rows]) for n, m in self.measures.items()}
        values = {n: m.value(parts[n]) for n, m in self.measures.items()}
        return Row(keys, labels, sum(r.count for r in rows), parts, values, None)

    @property
    def total(self) -> Row:
        return self.combined(self.rows)

    def sections(self) -> list[tuple[Row, list[Row]]]:
        """The rows in runs of the same first key, each with its subtotal (its address
        the first grouping's alone), in the rows' order."""
        out: list[tuple[Row, list[Row]]] = []
        for row in self.rows:
            if out and out[-1][0].keys == row.keys[:1]:
                out[-1][1].append(row)
            else:
                out.append((Row(row.keys[:1], row.labels[:1], 0, {}, {}, None), [row]))
        return [(self._subtotal(head, rows), rows) for head, rows in out]

    def _subtotal(self, head: Row, rows: list[Row]) -> Row:
        sub = self.combined(rows, head.keys, head.labels)
        sub.address = rows[0].outer
        return sub


def measure(db: sqlite_utils.Database, view: View, bys: list[By], measures: dict[str, Measure],
            today: dt.date | None = None, sort: str = "", *,
            kept: bool = True) -> Measured:  # fmt: skip
    """``view``'s rows grouped by each of ``bys`` in turn, with ``measures`` per group;
    ``sort`` is a measure's name (``-`` first for largest first), else groups follow
    their keys (periods in time, values by name). ``kept=False`` reads the table even
    where a summary kept by triggers would answer."""
    today = today or dt.date.today()
    fmt = locales.current()
    fields = view.fields
    where, params = Query(db, view).filters()
    # A summary kept by triggers answers the same (deskwork.db.rollups), if it reads
    # every column filtered and grouped and every measure: nothing searched.
    read = {c.column for c in view.conditions} | {by.column for by in bys}
    rollup = None
    if kept and not view.q:
        rollup = rollups.route(view.page.table, read, measures.values())
    parts_sql: list[str] = []
    for m in measures.values():
        parts_sql += (rollups.measure_sql(m) if rollup else
                      m.sql(f"t.[{m.column}]" if m.column else ""))  # fmt: skip
    keys = [_key_sql(fields[by.column], by, fmt) for by in bys]
    source = rollup.name if rollup else view.page.table.name
    sql = (f"SELECT {''.join(k + ', ' for k in keys)}{'sum(t._n)' if rollup else 'count(*)'}"
           f"{''.join(', ' + p for p in parts_sql)} FROM [{source}] t")  # fmt: skip
    if where:
        sql += " WHERE " + " AND ".join(where)
    if bys:  # none: the view's rows as one group (a dashboard's headline)
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(bys)))  # not by alias
    try:
        found = db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        if rollup is None or rollup.name in rollups.existing(db.conn):
            raise
        # Its summary is gone from the file (a restored backup, a hand's DROP): the table.
        return measure(db, view, bys, measures, today, sort, kept=False)
    names = [labels(db, fields[by.column], list({r[i] for r in found if r[i] is not None}))
             for i, by in enumerate(bys)]  # fmt: skip
    result = Measured(list(bys), dict(measures))
    n = len(bys)
    outer: dict[Any, dict[str, Any] | None] = {}  # the first key's address, made once each
    for record in found:
        key = tuple(record[:n])
        rest = iter(record[n + 1 :])
        parts = {name: tuple(next(rest) for _ in m.sql("")) for name, m in measures.items()}
        address = _address(view, bys, key, fmt, today)
        if key[:1] not in outer:
            outer[key[:1]] = address if n == 1 else _address(view, bys[:1], key[:1], fmt, today)
        result.rows.append(Row(
            key,
            tuple(_label(fields[b.column], b, k, names[i], fmt)
                  for i, (b, k) in enumerate(zip(bys, key, strict=True))),
            int(record[n] or 0),
            parts,
            {name: m.value(parts[name]) for name, m in measures.items()},
            address,
            outer[key[:1]],
        ))  # fmt: skip
    _sort(result, sort)
    return result


def _order(by: By, row: Row, i: int) -> tuple[Any, ...]:
    key = row.keys[i]
    return (key is None, str(key) if by.part else row.labels[i].casefold())


def _sort(result: Measured, sort: str) -> None:
    """Groups by their keys (periods in time, values by name, empty last), or by a
    measure (runs of the first key by their subtotal, when there are two groupings)."""
    bys = result.bys
    result.rows.sort(key=lambda r: tuple(x for i, b in enumerate(bys) for x in _order(b, r, i)))
    name = sort.lstrip("-")
    if name not in result.measures:
        return
    sign = -1 if sort.startswith("-") else 1

    def amount(row: Row) -> tuple[bool, Any]:
        value = row.values[name]
        return (value is None, sign * value if isinstance(value, int | float) else 0)

    if len(bys) == 1:
        result.rows.sort(key=amount)
        return
    runs = sorted(result.sections(), key=lambda s: amount(s[0]))
    result.rows = [r for _, rows in runs for r in sorted(rows, key=amount)]


def _key_sql(f: Field, by: By, fmt: locales.NumberFormat) -> str:
    """SQL of a row's group: its value, or its period's first day."""
    col = f"nullif(t.[{by.column}], '')"
    if isinstance(f, YesNo):  # as the filters read it: 1 is yes, nothing or 0 is no
        raw = f"t.[{by.column}]"
        return f"CASE WHEN {raw} = 1 THEN 1 WHEN coalesce({raw}, 0) = 0 THEN 0 ELSE {raw} END"
    if not by.part:
        return col
    # Only ISO text is a date here: SQLite's date() would read a number as a Julian day.
    day = (f"CASE WHEN {col} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
           f"THEN substr({col}, 1, 10) END")  # fmt: skip
    if by.part == "day":
        period = f"date({day})"
    elif by.part == "week":
        period = f"date({day}, '-6 days', 'weekday {0 if fmt.sunday_weeks else 1}')"
    elif by.part == "month":
        period = f"date({day}, 'start of month')"
    elif by.part == "quarter":
        month = f"CAST(strftime('%m', {day}) AS INTEGER)"
        period = f"date({day}, 'start of month', '-' || (({month} - 1) % 3) || ' months')"
    else:
        period = f"date({day}, 'start of year')"
    # Text that is no date (another program's) is a group of its own, never an empty one.
    return f"coalesce({period}, {col})"


def period_end(by: By, first: dt.date) -> dt.date:
    """The last day of the period that starts on ``first``."""
    if by.part == "day":
        return first
    if by.part == "week":
        return first + dt.timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[by.part]
    month = first.month - 1 + months
    return dt.date(first.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def period_label(by: By, first: dt.date, fmt: locales.NumberFormat) -> str:
    """A period in words: "2025-03-04", "Week 1, 2026", "March 2025", "Q1 2025", "2025"."""
    if by.part == "day":
        return first.isoformat()
    if by.part == "week":
        year, week = fmt.week_number(first)
        return f"Week {week}, {year}"
    if by.part == "month":
        return f"{MONTHS[first.month - 1]} {first.year}"
    if by.part == "quarter":
        return f"Q{(first.month - 1) // 3 + 1} {first.year}"
    return str(first.year)


def _label(f: Field, by: By, key: Any, names: dict[Any, str], fmt: locales.NumberFormat) -> str:
    if key is None:
        return EMPTY
    if by.part:
        first = day_of(key)
        try:
            return period_label(by, first, fmt) if first else f"{key} (not a date)"
        except (ValueError, OverflowError):  # a week at the calendar's very ends
            return first.isoformat() if first else str(key)
    if isinstance(f, YesNo):
        return {1: "Yes", 0: "No"}.get(key, f"{key} (not yes or no)")
    if isinstance(f, Lookup):
        return names.get(key) or f"#{key}"
    return names.get(key, str(key))


def _filter_value(f: Field, key: Any) -> str | None:
    """The table page's filter value for a group's key, if a filter can name it."""
    if isinstance(f, YesNo):
        return {1: "yes", 0: "no"}.get(key)
    if isinstance(f, Lookup):
        return str(key) if isinstance(key, int) and not isinstance(key, bool) else None
    if isinstance(f, Choice):
        return str(key) if str(key) in f.labels else None
    return None


def day_of(key: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(key))
    except ValueError:
        return None


def _address(view: View, bys: list[By], keys: tuple[Any, ...], fmt: locales.NumberFormat,
             today: dt.date) -> dict[str, Any] | None:  # fmt: skip
    """The table page's arguments for the rows of the group ``keys``: the view's, with
    each grouping's own filter in place of the view's on that column (the group is
    within it); None if a filter can't name one of them."""
    args = view.arguments()
    for by, key in zip(bys, keys, strict=True):
        if not _narrow(args, view, by, key, fmt, today):
            return None
    return args


def _narrow(args: dict[str, Any], view: View, by: By, key: Any, fmt: locales.NumberFormat,
            today: dt.date) -> bool:  # fmt: skip
    """Put the filter for ``by``'s group ``key`` into ``args``; False if none can name it."""
    name = by.column
    f = view.fields[name]
    for word in [name] + [f"{name}{end}" for end in (".in", ".from", ".to")]:
        args.pop(word, None)  # the view's own ".empty", if any, holds for the group too
    if key is None:
        args[f"{name}.empty"] = "yes"
        return True
    if not by.part:
        value = _filter_value(f, key)
        if value is None:
            return False  # a value no filter can name (another program's, or a choice gone)
        args[name] = value
        return True
    first = day_of(key)
    try:
        last = period_end(by, first) if first else None
    except (ValueError, OverflowError):  # a period past the calendar's end
        last = None
    if first is None or last is None or first < Date.earliest or last > Date.latest:
        return False  # not a date, or one the table page's date filter doesn't take
    try:
        since, until, _ = date_range(name, f, view.raw or {}, today)  # as the view read it
    except ValidationError:  # left out of the view, so out of the group's address too
        since = until = None
    args[f"{name}.from"] = max(first, since or first).isoformat()
    args[f"{name}.to"] = min(last, until or last).isoformat()
    return True
