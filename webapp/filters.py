"""What a table page's address asks for: its sort, filters, search and position.

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
  column) or ``at`` (a row id: the page around it, as after saving it). A key is
  ``[segment, value..., id]`` (``deskwork.db.listing``).

Reading an address runs no SQL and needs no Flask: a tool's named views
(``Tool.table_view``) are checked with it as they are declared.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deskwork.errors import ToolError, ValidationError
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
    YesNo,
)
from deskwork.model import SavedView, TablePage, Tool

#: Date presets, by their address word.
PRESETS = {
    "this-month": "This month",
    "last-month": "Last month",
    "this-quarter": "This quarter",
    "last-quarter": "Last quarter",
    "this-year": "This year",
    "last-year": "Last year",
    "last-12-months": "The last 12 months",
}


def preset_range(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a date preset means, as of ``today``. A quarter is three
    calendar months from January, April, July or October; the last 12 months end with
    ``today`` and start the day after the same day a year before."""
    if preset == "last-12-months":
        return months_back(today, 12) + dt.timedelta(days=1), today
    months = {"this-month": (1, 0), "last-month": (1, 1), "this-quarter": (3, 0),
              "last-quarter": (3, 1), "this-year": (12, 0), "last-year": (12, 1)}  # fmt: skip
    if preset not in months:
        raise KeyError(preset)
    length, back = months[preset]
    start = today.replace(day=1, month=(today.month - 1) // length * length + 1)
    first = months_back(start, length * back)
    last = months_back(first, -length) - dt.timedelta(days=1)
    return first, last


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` before ``day``'s (its last day, where that
    month is shorter: 31 March, a month back, is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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


#: The words of a column's filters in an address, by its kind (``filter_kind``).
FILTER_WORDS = {
    "yesno": ("",),
    "values": ("",),
    "range": (".min", ".max"),
    "dates": (".in", ".from", ".to"),
    "text": (".has",),
    "file": (),
}


def filter_words(page: TablePage) -> dict[str, tuple[str, Field]]:
    """Every filter word ``page``'s address may hold: word -> (column, its field)."""
    words: dict[str, tuple[str, Field]] = {}
    for name, f in page.table.fields.items():
        for end in (*FILTER_WORDS[filter_kind(f)], ".empty"):
            words[name + end] = (name, f)
    return words


def unknown_words(
    page: TablePage, args: Mapping[str, Any], *, also: tuple[str, ...] = ()
) -> str | None:
    """What to say of words in ``args`` that are no filter, sort or search of ``page``
    (and not in ``also``); None if there are none. A script must not get every row for
    a filter mistyped."""
    known = {"sort", "q", "cols", *also, *filter_words(page)}
    unknown = [word for word in args if word not in known]
    if not unknown:
        return None
    return (
        f"{', '.join(unknown)}: not a filter of the {page.title} page (its columns: "
        f"{', '.join(page.table.fields)})."
    )


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
    raw: Any = None  # the address's arguments, as Arguments (plain lists)
    shown: list[str] = field(default_factory=list)  # columns chosen (``cols``), if any

    @property
    def fields(self) -> dict[str, Field]:
        return self.page.table.fields

    @property
    def columns(self) -> list[str]:
        """The columns shown: those chosen (``cols``), else the page's."""
        return self.shown or list(self.page.columns or self.page.table.fields)

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
        if self.shown:
            args["cols"] = self.shown
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
    if not isinstance(args, Arguments):  # a request's MultiDict: read once, as plain lists
        args = Arguments({key: args.getlist(key) for key in args})
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
    chosen = set(args.getlist("cols"))
    view.shown = [name for name in fields if name in chosen]
    if view.shown == list(page.columns or fields):
        view.shown = []
    view.problems = problems
    view.after = _key(args.get("after"))
    view.before = _key(args.get("before"))
    view.last = args.get("last") in ("1", "yes", "true")
    view.jump = str(args.get("jump", "")).strip()[:200]
    at = str(args.get("at", ""))
    view.at = int(at) if at.isascii() and at.isdigit() and len(at) < 19 else None
    return view


def view_arguments(
    page: TablePage, filters: Mapping[str, Any], sort: str | None, search: str | None
) -> dict[str, list[str]]:
    """A named view's filters, sort and search as the table page's address arguments;
    ``ToolError`` for what the page can't show (checked as a request would be)."""
    fields = page.table.fields
    args: dict[str, list[str]] = {}
    for name, value in filters.items():
        f = fields.get(name)
        if f is None:
            raise ToolError(f"{page.title}: {page.table.name} has no column {name!r} to filter.")
        kind = filter_kind(f)
        if kind == "yesno":
            args[name] = ["yes" if value else "no"]
        elif kind == "values":
            args[name] = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
        elif kind == "dates" and isinstance(value, str):
            args[f"{name}.in"] = [value]
        elif kind in ("dates", "range") and isinstance(value, tuple) and len(value) == 2:
            ends = (".from", ".to") if kind == "dates" else (".min", ".max")
            for end, bound in zip(ends, value, strict=True):
                if bound is not None:
                    args[name + end] = [bound.isoformat() if kind == "dates" else str(bound)]
        elif kind == "text" and isinstance(value, str):
            args[f"{name}.has"] = [value]
        else:
            raise ToolError(f"{page.title}: {value!r} is no filter for {name!r}.")
    if sort:
        args["sort"] = [sort]
    if search:
        args["q"] = [search]
    problems = read_view(page, Arguments(args)).problems
    if problems:
        raise ToolError(f"{page.title}: {problems[0]}")
    return args


class Arguments(dict[str, list[str]]):
    """Address arguments, read as a request's are (``get``, ``getlist``)."""

    def get(self, key: str, default: Any = None) -> Any:
        values = super().get(key)
        return values[-1] if values else default

    def getlist(self, key: str) -> list[str]:
        return list(super().get(key) or [])


def same_arguments(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two sets of address arguments ask for the same view."""

    def normal(args: Mapping[str, Any]) -> dict[str, list[str]]:
        return {k: sorted(str(x) for x in (v if isinstance(v, list) else [v]))
                for k, v in args.items() if v not in (None, "", [])}  # fmt: skip

    return normal(a) == normal(b)


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
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in key):
        return None  # no SQLite integer
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


def date_range(name: str, f: Field, args: Any, today: dt.date) -> tuple[
    dt.date | None, dt.date | None, str
]:  # fmt: skip
    """The days a date column's filter keeps, first and last (None: open), and how it
    reads ("Date: this month"); ``(None, None, "")`` if none. ``ValidationError`` if it
    can't be read."""
    preset = str(args.get(f"{name}.in", "")).strip()
    start = str(args.get(f"{name}.from", "")).strip()[:40]
    end = str(args.get(f"{name}.to", "")).strip()[:40]
    if preset:
        if preset not in PRESETS:
            raise ValidationError(f"{f.label}: there is no date range {preset[:40]!r}.")
        since, until = preset_range(preset, today)
        return since, until, f"{f.label}: {PRESETS[preset].lower()}"
    day = Date()
    day.bind(name)
    # Parsed as a form would (days 1900 to 2200): a far day can't overflow the next day.
    first = day.parse(start) if start else None
    last = day.parse(end) if end else None
    if first and last and first > last:
        raise ValidationError(f"{f.label}: the first day is after the last.")
    if first and last:
        return first, last, f"{f.label} {first.isoformat()} to {last.isoformat()}"
    if first or last:
        text = f"{f.label} from {first.isoformat()}" if first else f"{f.label} up to {last}"
        return first, last, text
    return None, None, ""


def _date_conditions(name: str, f: Field, args: Any, today: dt.date) -> list[Condition]:
    first, last, text = date_range(name, f, args, today)
    if not (first or last):
        return []
    words = (f"{name}.in",) if str(args.get(f"{name}.in", "")).strip() else (
        f"{name}.from", f"{name}.to")  # fmt: skip
    return [_between(name, f"t.[{name}]", first, last, text, words)]


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


def named_view(tool: Tool, view: View) -> SavedView | None:
    """The tool's named view (``Tool.table_view``) that ``view``'s address is, if any."""
    here = view.arguments()
    for p in tool.pages.values():
        if isinstance(p, SavedView) and p.page is view.page and same_arguments(p.args, here):
            return p
    return None
