"""Reports declared from a table page without SQL (``Tool.table_report``)::

    tool.table_report(
        "Spending by category", expenses_page,
        by="category",                       # or ("date.month", "category")
        values={"total": Sum("amount"), "expenses": Count()},
        dates="date", period="this-year",    # a Period parameter with its presets
        params=["employee"],                 # more parameters: choices and lookups
        filters={"paid_by_card": True},      # always applied: the table pages' words
        sort="-total", chart="bar",
    )

- **Parameters are a form**: the period (the table filters' presets, "All time", or
  "Custom" with From and To) and the choices and lookups named, each a field with the
  forms' own rules; a reversed range is an error beside To, not an empty report.
- **The rows are a table view**: the parameters and fixed filters become the table
  page's own address words (``deskwork.filters``), so the report reads the rows the
  table page would show, and each group links to exactly its rows there
  (``deskwork.db.groups``), with the same count and total.
- **As a SQL report's rows** for exports and the JSON API (``run``): one row per group,
  each grouping's label, then each measure's value as stored.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deskwork.errors import ToolError, ValidationError
from deskwork.fields import Choice, Date, Field, Lookup, MultiChoice, Text, YesNo
from deskwork.filters import PRESETS, months_back, preset_range, view_arguments
from deskwork.measures import Average, Count, Measure, Sum, label
from deskwork.model import Table, TablePage

if TYPE_CHECKING:
    import sqlite_utils
    from werkzeug.datastructures import MultiDict

    from deskwork.db.groups import Measured
    from deskwork.filters import View

#: The period parameter's choices: the presets, then all time (custom is blank).
ALL = "all"
PERIODS = [*PRESETS.items(), (ALL, "All time")]


#: A date's parts rows can be grouped by, with the words a person reads.
PARTS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


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
class Grouping:
    """What a report declared from a table page groups, measures and filters."""

    page: TablePage
    by: tuple[str, ...]  # "category", "date.month"
    measures: dict[str, Measure]
    filters: dict[str, list[str]]  # the table page's address words, always applied
    dates: str | None = None  # the date column the period parameter filters
    period: str = ALL  # the period shown first
    choices: tuple[str, ...] = ()  # columns offered as parameters
    sort: str = ""
    params: dict[str, Field] = field(default_factory=dict)

    @property
    def bys(self) -> list[By]:
        return [read_by(self.page.table, word) for word in self.by]

    def columns(self) -> dict[str, Field]:
        """The result's columns: a label per grouping, then the measures."""
        fields = self.page.table.fields
        out: dict[str, Field] = {}
        for by in self.bys:
            f = fields[by.column]
            out[by.column] = Text(f"{f.label} ({by.part})" if by.part else f.label)
        for name, m in self.measures.items():
            shown = copy.copy(m.field(fields))
            shown._label = label(name, m)
            out[name] = shown
        for name, f in out.items():
            f.name = name
        return out

    def check(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Errors of the parameters taken together: a custom range's last day before its
        first."""
        start, end = values.get("start"), values.get("end")
        if values.get("period") is None and start and end and start > end:
            return {"end": f"To ({end.isoformat()}) is before From ({start.isoformat()}): "
                    "give the earlier day first."}  # fmt: skip
        return {}

    def arguments(self, values: Mapping[str, Any]) -> MultiDict[str, str]:
        """The table page's address for the parameters' values (and the fixed filters)."""
        from werkzeug.datastructures import MultiDict

        args: MultiDict[str, str] = MultiDict()
        for key, words in self.filters.items():
            for word in words:
                args.add(key, word)
        if self.dates:
            period = values.get("period")
            for end in (".in", ".from", ".to"):
                args.poplist(self.dates + end)
            if period and period != ALL:
                args[f"{self.dates}.in"] = period
            elif period is None:
                for key, end in (("start", ".from"), ("end", ".to")):
                    if values.get(key):
                        args[self.dates + end] = values[key].isoformat()
        for name in self.choices:
            value = values.get(name)
            if value is not None:
                args.setlist(name, [str(value)])
        return args

    def view(self, values: Mapping[str, Any], today: dt.date | None = None) -> View:
        from deskwork.filters import read_view

        return read_view(self.page, self.arguments(values), today)

    def measured(self, db: sqlite_utils.Database, values: Mapping[str, Any],
                 today: dt.date | None = None) -> Measured:  # fmt: skip
        """The groups, their measures, subtotals and total, with their addresses."""
        from deskwork.db.groups import measure

        return measure(db, self.view(values, today), self.bys, self.measures, today, self.sort)

    def run(self, db: sqlite_utils.Database, **values: Any) -> list[dict[str, Any]]:
        """The report's rows, as a SQL report's: each grouping's label, each measure."""
        found = self.measured(db, values)
        columns = [by.column for by in found.bys]
        return [{**dict(zip(columns, r.labels, strict=True)), **r.values} for r in found.rows]

    def range_shown(self, values: Mapping[str, Any], today: dt.date | None = None) -> str:
        """The days the period parameter means, in words ("2026-01-01 to 2026-12-31")."""
        if not self.dates:
            return ""
        period = values.get("period")
        if period == ALL:
            return "All time"
        if period:
            first, last = preset_range(period, today or dt.date.today())
            return f"{dict(PRESETS)[period]}: {first.isoformat()} to {last.isoformat()}"
        start, end = values.get("start"), values.get("end")
        if start or end:
            return f"{start.isoformat() if start else 'the start'} to " + (
                end.isoformat() if end else "today")  # fmt: skip
        return "All time"


def declare(
    title: str,
    page: TablePage,
    *,
    by: str | Sequence[str],
    values: Mapping[str, Measure] | None,
    filters: Mapping[str, Any] | None,
    dates: str | None,
    period: str | None,
    params: Iterable[str],
    sort: str,
) -> Grouping:
    """A checked ``Grouping``: every word a column of ``page``'s table that can do it."""
    if not isinstance(page, TablePage):
        raise ToolError(f"{title!r}: give the table's page, as tool.table_page(...) returned "
                        "it: each group opens its rows there.")  # fmt: skip
    fields = page.table.fields
    words = (by,) if isinstance(by, str) else tuple(by)
    if not 1 <= len(words) <= 2:
        raise ToolError(f"{title!r}: group by one or two things, like by=\"category\" or "
                        "by=(\"date.month\", \"category\").")  # fmt: skip
    for word in words:
        try:
            read_by(page.table, word)
        except ValidationError as error:
            raise ToolError(f"{title!r}: {error}") from None
    measures = dict(values or {"count": Count(label="Count")})
    for name, m in measures.items():
        if not isinstance(m, Measure):
            raise ToolError(f"{title!r}: values={{{name!r}: ...}} takes Count(), Sum(...), "
                            "Average(...), Minimum(...) or Maximum(...).")  # fmt: skip
        m.check(fields, title)
    taken = set(words) | {w.split(".")[0] for w in words}
    if set(measures) & taken or set(measures) & {"period", "start", "end"}:
        raise ToolError(f"{title!r}: a value's name is taken by a grouping or a parameter.")
    if sort and sort.lstrip("-") not in measures:
        raise ToolError(f"{title!r}: sort={sort!r} names none of the values "
                        f"({', '.join(measures)}).")  # fmt: skip
    grouping = Grouping(page, words, measures, view_arguments(page, filters or {}, None, None),
                        sort=sort)  # fmt: skip
    grouping.params = _params(title, grouping, dates, period, params)
    keep_rollup(page, grouping.dates, grouping.bys, measures.values(), grouping.filters)
    return grouping


def keep_rollup(page: TablePage, dates: str | None, bys: Iterable[By],
                measures: Iterable[Measure], filters: Mapping[str, Any]) -> None:  # fmt: skip
    """Ask for a summary kept by triggers (``deskwork.db.rollups``) that answers this
    report without its optional parameters: by day of its date column and its other
    groupings and fixed filters' columns, summing what it sums. None if it groups by no
    date, filters text or numbers, or measures a minimum or maximum."""
    fields = page.table.fields
    days = {by.column for by in bys if by.part}
    if dates:
        days.add(dates)
    if len(days) != 1:
        return
    (day,) = days
    keys = {by.column for by in bys if not by.part}
    for word in filters:
        column = word.split(".")[0]
        if column != day and not groupable(fields[column]):
            return
        if column != day:
            keys.add(column)
    summed = set()
    for m in measures:
        if isinstance(m, Count) and m.column is None:
            continue
        if isinstance(m, Sum | Average):
            summed.add(str(m.column))
            continue
        return
    page.table.rollups.add((day, tuple(sorted(keys)), tuple(sorted(summed))))


def _params(title: str, grouping: Grouping, dates: str | None, period: str | None,
            names: Iterable[str]) -> dict[str, Field]:  # fmt: skip
    fields = grouping.page.table.fields
    out: dict[str, Field] = {}
    if dates is not None:
        if not isinstance(fields.get(dates), Date):
            raise ToolError(f"{title!r}: dates={dates!r} is not a date column of "
                            f"{grouping.page.table.name}.")  # fmt: skip
        chosen = period or "this-year"
        if chosen not in dict(PERIODS):
            raise ToolError(f"{title!r}: period={chosen!r} is none of "
                            f"{', '.join(dict(PERIODS))}.")  # fmt: skip
        grouping.dates, grouping.period = dates, chosen
        out["period"] = Choice(PERIODS, "Period", default=chosen, placeholder="Custom: From and To")
        out["start"] = Date("From", help="With the period left as Custom.")
        out["end"] = Date("To")
    for name in names:
        f = fields.get(name)
        if not isinstance(f, Choice | Lookup) or isinstance(f, MultiChoice):
            raise ToolError(f"{title!r}: params takes choice and lookup columns; {name!r} "
                            "is not one.")  # fmt: skip
        shown = copy.copy(f)
        shown.required, shown.validators, shown._default = False, [], None
        shown.placeholder = "All" if isinstance(f, Choice) else shown.placeholder
        out[name] = shown
    grouping.choices = tuple(names)
    for name, f in out.items():
        f.name = ""
        f.bind(name)
    return out


MINUS = "\N{MINUS SIGN}"
#: A dashboard's period, and the one before it that its headlines are compared with.
PREVIOUS = {"this-month": "last-month", "this-quarter": "last-quarter", "this-year": "last-year"}


@dataclass
class Headline:
    """One number on a dashboard: this period so far, and the previous period to the
    same day, with the change between them."""

    name: str
    label: str
    now: Any  # as stored (cents for money)
    before: Any
    field: Field
    address: dict[str, Any] | None  # the table page's rows behind ``now``

    @property
    def change(self) -> str:
        """The change in words: "+12.5%", "-3.0%" (with a minus sign), "no change", or ""
        (nothing before to compare with)."""
        if not isinstance(self.now, int | float) or not isinstance(self.before, int | float):
            return ""
        if self.before == 0:
            return ""
        ratio = (self.now - self.before) / abs(self.before)
        if abs(ratio) < 0.0005:
            return "no change"
        return f"{'+' if ratio > 0 else MINUS}{abs(ratio):.1%}"

    @property
    def up(self) -> bool:
        return self.change.startswith("+")


@dataclass
class Dashboard:
    """The tool's home page: headline numbers of a table page's rows for this period
    against the previous one, then the charts of declared reports."""

    page: TablePage
    dates: str
    period: str
    headlines: dict[str, Measure]
    filters: dict[str, list[str]]
    charts: list[Any]  # ReportPage

    def spans(self, today: dt.date) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
        """This period up to ``today``, and the previous one up to the same day of it
        (the same day of the month, a month, a quarter or a year back; the month's last
        day where it is shorter)."""
        first, _ = preset_range(self.period, today)
        before, _ = preset_range(PREVIOUS[self.period], today)
        back = {"this-month": 1, "this-quarter": 3, "this-year": 12}[self.period]
        return (first, today), (before, months_back(today, back))

    def read(self, db: sqlite_utils.Database, today: dt.date | None = None) -> list[Headline]:
        from werkzeug.datastructures import MultiDict

        from deskwork.db.groups import measure
        from deskwork.filters import read_view

        today = today or dt.date.today()
        found = []
        for first, last in self.spans(today):
            args: MultiDict[str, str] = MultiDict(
                [(k, w) for k, words in self.filters.items() for w in words])  # fmt: skip
            args[f"{self.dates}.from"], args[f"{self.dates}.to"] = (
                first.isoformat(),
                last.isoformat(),
            )
            found.append(measure(db, read_view(self.page, args, today), [], self.headlines))
        now, before = (m.rows[0] for m in found)
        fields = self.page.table.fields
        return [Headline(name, label(name, m), now.values[name], before.values[name],
                         m.field(fields), now.address)
                for name, m in self.headlines.items()]  # fmt: skip

    def words(self, today: dt.date | None = None) -> tuple[str, str]:
        """The two spans in words: ("This month so far", "Last month to the same day")."""
        return (f"{PRESETS[self.period]} so far",
                f"{PRESETS[PREVIOUS[self.period]]} to the same day")  # fmt: skip


def dashboard(
    page: TablePage, *, dates: str, period: str, headlines: Mapping[str, Measure],
    filters: Mapping[str, Any] | None, charts: Sequence[Any],
) -> Dashboard:  # fmt: skip
    """A checked ``Dashboard``."""
    what = "The dashboard"
    if not isinstance(page, TablePage):
        raise ToolError(f"{what}: give the table's page, as tool.table_page(...) returned it.")
    if not isinstance(page.table.fields.get(dates), Date):
        raise ToolError(f"{what}: dates={dates!r} is not a date column of {page.table.name}.")
    if period not in PREVIOUS:
        raise ToolError(f"{what}: period={period!r} is none of {', '.join(PREVIOUS)}.")
    for m in headlines.values():
        if not isinstance(m, Measure):
            raise ToolError(f"{what}: headlines take Count(), Sum(...), Average(...), "
                            "Minimum(...) or Maximum(...).")  # fmt: skip
        m.check(page.table.fields, what)
    from deskwork.model import ReportPage

    for chart in charts:
        if not isinstance(chart, ReportPage) or not chart.chart:
            raise ToolError(f"{what}: charts= takes reports with a chart, as "
                            f"tool.table_report(...) returns them (not {chart!r}).")  # fmt: skip
    board = Dashboard(page, dates, period, dict(headlines),
                      view_arguments(page, filters or {}, None, None), list(charts))  # fmt: skip
    keep_rollup(page, dates, [], headlines.values(), board.filters)
    return board
