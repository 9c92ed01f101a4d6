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
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from deskwork import locales
from deskwork.db.listing import Query, labels
from deskwork.errors import ValidationError
from deskwork.fields import Choice, Date, Field, Lookup, MultiChoice, YesNo
from deskwork.filters import View, date_range, totalled
from deskwork.model import Table

#: A date's parts rows can be grouped by, with the words a person reads.
PARTS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}
#: What a group of rows with no value is called.
EMPTY = "(empty)"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class By:
    """What rows are grouped by: a column, and a date's part (day, week …) if it is one."""

    column: str
    part: str = ""

    @property
    def word(self) -> str:
        """As the address holds it: ``category``, ``date.month``."""
        return f"{self.column}.{self.part}" if self.part else self.column


def choices(table: Table) -> list[tuple[By, str]]:
    """What ``table``'s rows can be grouped by, each with its words ("Date, by month")."""
    out: list[tuple[By, str]] = []
    for name, f in table.fields.items():
        if isinstance(f, Date):
            out += [(By(name, part), f"{f.label}, by {words}") for part, words in PARTS.items()]
        elif groupable(f):
            out.append((By(name), f.label))
    return out


def groupable(f: Field) -> bool:
    """A column whose values make groups (a date's parts aside)."""
    return isinstance(f, Choice | Lookup | YesNo) and not isinstance(f, MultiChoice)


def read_by(table: Table, word: str) -> By:
    """The grouping an address's ``by`` word names; ``ValidationError`` if none."""
    for by, _ in choices(table):
        if by.word == word:
            return by
    offered = ", ".join(by.word for by, _ in choices(table)) or "none"
    raise ValidationError(f"Rows can't be grouped by {word[:40]!r} (they can by: {offered}).")


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
    """``view``'s rows grouped ``by`` a column or a date's part."""
    today = today or dt.date.today()
    f = view.fields[by.column]
    fmt = locales.current()
    query = Query(db, view)
    where, params = query.filters()
    columns = summed(view)
    key = _key_sql(f, by, fmt)
    sums = "".join(f", sum(t.[{c}])" for c in columns)
    sql = f"SELECT {key} AS k, count(*){sums} FROM [{view.page.table.name}] t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " GROUP BY 1"  # not "k": a column of that name would be taken instead
    found = db.execute(sql, params).fetchall()
    names = labels(db, f, [r[0] for r in found if r[0] is not None])
    grouped = Grouped(by, columns)
    for row in found:
        k, count = row[0], int(row[1])
        grouped.groups.append(Group(
            k, _label(f, by, k, names, fmt), count,
            {c: int(v or 0) for c, v in zip(columns, row[2:], strict=True)},
            _address(view, f, by, k, fmt, today),
        ))  # fmt: skip
    if by.part:
        grouped.groups.sort(key=lambda g: (g.key is None, str(g.key)))
    else:
        grouped.groups.sort(key=lambda g: (g.key is None, g.label.casefold()))
    return grouped


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
        first = _day(key)
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


def _day(key: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(key))
    except ValueError:
        return None


def _address(view: View, f: Field, by: By, key: Any, fmt: locales.NumberFormat,
             today: dt.date) -> dict[str, Any] | None:  # fmt: skip
    """The table page's arguments for the rows of the group ``key``: the view's, with the
    group's own filter in place of the view's on that column (the group is within it)."""
    name = by.column
    args = view.arguments()
    for word in [name] + [f"{name}{end}" for end in (".in", ".from", ".to")]:
        args.pop(word, None)  # the view's own ".empty", if any, holds for the group too
    if key is None:
        args[f"{name}.empty"] = "yes"
        return args
    if not by.part:
        value = _filter_value(f, key)
        if value is None:
            return None  # a value no filter can name (another program's, or a choice gone)
        args[name] = value
        return args
    first = _day(key)
    try:
        last = period_end(by, first) if first else None
    except (ValueError, OverflowError):  # a period past the calendar's end
        last = None
    if first is None or last is None or first < Date.earliest or last > Date.latest:
        return None  # not a date, or one the table page's date filter doesn't take
    try:
        since, until, _ = date_range(name, f, view.raw or {}, today)  # as the view read it
    except ValidationError:  # left out of the view, so out of the group's address too
        since = until = None
    args[f"{name}.from"] = max(first, since or first).isoformat()
    args[f"{name}.to"] = min(last, until or last).isoformat()
    return args
