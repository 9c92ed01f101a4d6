"""The tool model: what a tool file declares.

A tool is a title, its tables (columns as fields) and its pages: forms that add rows,
table pages that list them, reports that sum them up. Declaring things does no I/O;
``deskwork.db.schema`` creates the tables and ``deskwork.app`` serves the pages.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from deskwork.errors import ToolError
from deskwork.fields import Field, File, Lookup
from deskwork.names import ascii_name, singular, slugify

if TYPE_CHECKING:
    import sqlite_utils
    from flask import Blueprint, Flask

    from deskwork.grouping import Dashboard, Grouping
    from deskwork.measures import Measure
    from deskwork.mount import AccessCheck

ReportFunction = Callable[..., Iterable[Mapping[str, Any]]]
SeedFunction = Callable[["sqlite_utils.Database"], None]
#: Checks a whole record (parsed values by field name); returns errors by field name.
RecordCheck = Callable[[Mapping[str, Any]], Mapping[str, str] | None]
ViewFunction = Callable[..., Any]
#: What a page is; the views serve each kind at an endpoint of their own.
PageKind = Literal["form", "table", "report", "function", "view", "saved"]


#: The words a table page's address uses for itself (``deskwork.filters``), next to its
#: columns' filters: no column may be called so.
ADDRESS_WORDS = frozenset(["sort", "q", "after", "before", "last", "jump", "at", "cols", "slug"])


class Table:
    """A SQLite table: an ``id`` primary key plus one column per field."""

    def __init__(self, name: str, fields: Mapping[str, Field]) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ToolError(f"Table name {name!r} must be lower case letters, digits and _.")
        if name.startswith("_deskwork"):
            raise ToolError(
                f"Table names starting with _deskwork are deskwork's own: rename {name!r}."
            )
        if not fields:
            raise ToolError(f"Table {name!r} needs at least one field.")
        self.name = name
        self.fields: dict[str, Field] = {}
        for column, f in fields.items():
            if not isinstance(f, Field):
                raise ToolError(f"{name}.{column} must be a field such as Text() or Money().")
            if column == "id":
                raise ToolError(f"{name}.id is made for you; choose another column name.")
            if column.startswith("_"):
                raise ToolError(
                    f"{name}.{column}: names starting with _ are for the fields deskwork's "
                    "forms send for themselves; choose another column name."
                )
            if column in ADDRESS_WORDS:
                raise ToolError(
                    f"{name}.{column}: {column!r} is a word of a table page's address "
                    f"(its sort, search and place: {', '.join(sorted(ADDRESS_WORDS))}); "
                    "choose another column name."
                )
            f.bind(column)
            self.fields[column] = f
        #: Summaries of its rows kept by triggers for its reports (``deskwork.db.rollups``),
        #: as ``(date column, key columns, summed columns)``; reports declare them.
        self.rollups: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()

    def __repr__(self) -> str:
        return f"<Table {self.name}>"

    @property
    def record_name(self) -> str:
        """What one row is called: ``expenses`` -> ``expense``, ``people`` -> ``person``."""
        return singular(self.name.replace("_", " "))

    def counted(self, count: int) -> str:
        """How many rows, in words: ``1 expense``, ``1,204 expenses``."""
        return f"{count:,} {self.record_name if count == 1 else self.name.replace('_', ' ')}"

    def lookups(self) -> dict[str, Lookup]:
        return {n: f for n, f in self.fields.items() if isinstance(f, Lookup)}

    def files(self) -> dict[str, File]:
        return {n: f for n, f in self.fields.items() if isinstance(f, File)}

    @property
    def editable(self) -> dict[str, Field]:
        """The fields a form fills in (not the computed or read-only ones)."""
        return {n: f for n, f in self.fields.items() if not f.readonly}


@dataclass
class FormPage:
    """A page that adds, edits, duplicates and deletes rows of ``table``."""

    title: str
    table: Table
    slug: str
    after: str | None = None  # slug of the page to go to after saving; None stays on the form
    check: RecordCheck | None = None

    kind: ClassVar[PageKind] = "form"


@dataclass
class TablePage:
    """A page that lists the rows of ``table``: ordered, searchable, fifty at a time."""

    title: str
    table: Table
    slug: str
    order: str = "-id"
    search: Sequence[str] = ()
    columns: Sequence[str] = ()
    page_size: int = 50

    kind: ClassVar[PageKind] = "table"

    @property
    def order_column(self) -> str:
        return self.order.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.order.startswith("-")


@dataclass
class SavedView:
    """A table page with its filters, sort or search set, named in the navigation
    ("This month's travel"). ``args`` are the table page's address arguments."""

    title: str
    page: TablePage
    slug: str
    args: dict[str, list[str]]

    kind: ClassVar[PageKind] = "saved"

    @property
    def table(self) -> Table:
        return self.page.table


@dataclass
class ReportPage:
    """A page that runs ``function(db, **params)`` and shows its rows, totals and a chart."""

    title: str
    function: ReportFunction
    slug: str
    params: dict[str, Field] = field(default_factory=dict)
    columns: dict[str, Field] = field(default_factory=dict)
    chart: tuple[str, str] | None = None  # (label column, value column)
    total: Sequence[str] = ()
    chart_type: str = "bar"  # bar, stacked, line, area, pie or donut
    #: Declared from a table page without SQL (``Tool.table_report``).
    grouping: Grouping | None = None

    kind: ClassVar[PageKind] = "report"


@dataclass
class FunctionPage:
    """A form whose fields are the arguments of ``function``; its result shows below.

    Nothing is stored, unless the function (which may take ``db``) stores it itself.
    """

    title: str
    function: Callable[..., Any]
    slug: str
    params: dict[str, Field] = field(default_factory=dict)
    result: Field | None = None  # how a single value is shown
    columns: dict[str, Field] = field(default_factory=dict)  # how rows are shown
    chart: tuple[str, str] | None = None
    button: str = "Calculate"

    kind: ClassVar[PageKind] = "function"

    @cached_property
    def _parameters(self) -> Mapping[str, inspect.Parameter]:
        return inspect.signature(self.function).parameters  # once, not at every request

    @property
    def wants_db(self) -> bool:
        """A function that gets the database may write to it: it runs on POST only."""
        return "db" in self._parameters

    def arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Parsed field values as the function's arguments: blanks take the function's
        defaults, and arguments annotated ``float`` get floats (a model's inputs)."""
        parameters = self._parameters
        out = {}
        for name, value in values.items():
            if value is None:
                value = self.params[name].default()
            if value is not None and parameters[name].annotation in (float, "float"):
                value = float(value)
            out[name] = value
        return out


@dataclass
class ViewPage:
    """A plain Flask view of the tool author's, listed with the declared pages."""

    title: str
    function: ViewFunction
    slug: str

    kind: ClassVar[PageKind] = "view"


Page = FormPage | TablePage | SavedView | ReportPage | FunctionPage | ViewPage


#: How many days deleted records stay in the bin unless a tool says (``Tool(bin_days=...)``).
BIN_DAYS = 30


@dataclass(frozen=True)
class Role:
    """A role a tool declares for its team (``Tool.role``): ``like`` one of deskwork's
    own, but changing only the rows of each table in ``changes`` that meet its SQL
    condition, before and after the change (``:person`` is the log-in name)."""

    name: str
    like: str
    changes: Mapping[str, str]
    #: Which rows, in words, for a refusal: "their own team's expenses".
    rows: str = ""


ROLE_NAME = re.compile(r"^[a-z][a-z0-9 -]{0,39}$")


class Tool:
    """An internal tool: a title, tables and pages.

    ::

        tool = Tool("Expenses")
        expenses = tool.table("expenses", date=Date(required=True), amount=Money())
        tool.form("New expense", expenses)
        tool.table_page("Expenses", expenses, order="-date")
    """

    def __init__(
        self,
        title: str,
        *,
        name: str | None = None,
        locale: str | None = None,
        templates: str | Path | None = "templates",
        bin_days: int = BIN_DAYS,
        version: str = "1.0.0",
        description: str = "",
    ) -> None:
        """``name`` names the tool's data folder and program; by default it is made from
        the title (``"Dépenses"`` -> ``depenses``). ``locale`` (such as ``"de_DE"``) fixes
        how numbers are written; by default the user's own. ``templates`` is a folder of
        Jinja templates of the tool's own, relative to the tool's file; they may extend
        ``base.html``. ``bin_days`` is how long deleted records stay in the bin, to be
        restored ("Recently deleted"); whoever installs the tool may set another.
        ``version`` (``"1.2.0"``) and ``description`` (a line) go into its installers.
        """
        if not re.fullmatch(r"\d+(\.\d+){0,3}", version):
            raise ToolError(f"version={version!r}: give numbers and dots, as in '1.2.0'.")
        self.version = version
        self.description = description
        if not isinstance(bin_days, int) or bin_days < 1:
            raise ToolError(f"bin_days={bin_days!r}: give a number of days, 1 or more.")
        self.bin_days = bin_days
        #: The home page's dashboard (``Tool.dashboard``), if the tool declares one.
        self.board: Dashboard | None = None
        self.title = title
        self.name = name or ascii_name(title)
        if not self.name:
            raise ToolError(
                f"Tool({title!r}) needs a name in letters a to z or digits, for its data "
                f"folder and program: give one, as in Tool({title!r}, name='expenses')."
            )
        self.locale = locale
        self.tables: dict[str, Table] = {}
        self.pages: dict[str, Page] = {}
        self.seeds: list[SeedFunction] = []
        self.blueprints: list[Blueprint] = []
        #: The roles the tool declares (``role``), by name, beside viewer, editor, admin.
        self.roles: dict[str, Role] = {}
        self.template_folder = _beside_caller(templates) if templates else None

    def __repr__(self) -> str:
        return f"<Tool {self.title!r}>"

    def table(self, name: str, /, **fields: Field) -> Table:
        """Declare a table; keyword arguments are its columns, in order."""
        if name in self.tables:
            raise ToolError(f"Table {name!r} is declared twice.")
        table = Table(name, fields)
        for column, lookup in table.lookups().items():
            if lookup.table_name not in self.tables and lookup.table_name != name:
                raise ToolError(
                    f"{name}.{column} looks up {lookup.table_name!r}, which is not declared "
                    "yet: declare that table first."
                )
        self.tables[name] = table
        return table

    def _add_page(self, page: Page) -> None:
        table = getattr(page, "table", None)
        if table is not None and not isinstance(table, Table):
            raise ToolError(
                f"{page.title!r}: give the table itself, as tool.table(...) returned it "
                f"(not {table!r})."
            )
        if page.slug in self.pages:
            raise ToolError(f"Two pages are called {page.title!r}; give one another title.")
        self.pages[page.slug] = page

    def _check_columns(self, table: Table, columns: Iterable[str], what: str) -> None:
        for column in columns:
            if column != "id" and column not in table.fields:
                raise ToolError(f"{what}: {table.name} has no column {column!r}.")

    def form(
        self,
        title: str,
        table: Table,
        *,
        after: str | None = None,
        check: RecordCheck | None = None,
    ) -> FormPage:
        """Declare a form that adds (and edits, duplicates, deletes) rows of ``table``.

        ``after`` is the page to show once a new record is saved (a title or its address
        part, such as ``"expenses"``); ``check(values)`` checks the whole record and
        returns errors by field name, for rules that span fields.
        """
        page = FormPage(title, table, slugify(title), after=after and slugify(after), check=check)
        self._add_page(page)
        return page

    def form_for(self, table: Table) -> FormPage | None:
        """The first form declared for ``table`` (where its rows are edited)."""
        return next(
            (p for p in self.pages.values() if isinstance(p, FormPage) and p.table is table),
            None,
        )

    def listing_for(self, table: Table) -> TablePage | None:
        """The first table page declared for ``table`` (where its rows are listed)."""
        return next(
            (p for p in self.pages.values() if isinstance(p, TablePage) and p.table is table),
            None,
        )

    def table_page(
        self,
        title: str,
        table: Table,
        *,
        order: str = "-id",
        search: Sequence[str] = (),
        columns: Sequence[str] = (),
        page_size: int = 50,
    ) -> TablePage:
        """Declare a page listing ``table``; ``order="-date"`` is newest first."""
        self._check_columns(table, [order.lstrip("-"), *search, *columns], title)
        page = TablePage(
            title, table, slugify(title), order, tuple(search), tuple(columns), page_size
        )
        self._add_page(page)
        return page

    def table_view(
        self,
        title: str,
        page: TablePage,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: str | None = None,
        search: str | None = None,
    ) -> SavedView:
        """Name a view of a table page, listed in the navigation::

            tool.table_view("This month's travel", expenses_page,
                            filters={"category": "Travel", "date": "this-month"})

        ``filters`` by column: a value or a list of them (choices, lookups' ids), True or
        False (yes/no), a preset such as ``"this-month"`` or a ``(first, last)`` pair of
        dates, a ``(low, high)`` pair for numbers (None for no bound), and text to look for
        in a text column. ``sort`` is a column, ``-`` first for largest or newest first.
        """
        from deskwork.filters import view_arguments

        args = view_arguments(page, filters or {}, sort, search)
        view = SavedView(title, page, slugify(title), args)
        self._add_page(view)
        return view

    def report(
        self,
        title: str,
        *,
        params: Mapping[str, Field] | None = None,
        columns: Mapping[str, Field] | None = None,
        chart: tuple[str, str] | None = None,
        total: Sequence[str] = (),
        chart_type: str = "bar",
    ) -> Callable[[ReportFunction], ReportFunction]:
        """Decorate ``function(db, **params)`` returning rows (mappings) as a report page.
        ``chart`` is its (label column, value column); ``chart_type`` is ``"bar"``,
        ``"line"``, ``"area"``, ``"pie"`` or ``"donut"``."""

        _check_chart(title, chart_type)

        def register(function: ReportFunction) -> ReportFunction:
            bound = dict(params or {})
            for name, f in bound.items():
                f.bind(name)
            shown = dict(columns or {})
            for name, f in shown.items():
                f.bind(name)
            self._add_page(ReportPage(
                title, function, slugify(title), bound, shown, chart, tuple(total), chart_type
            ))  # fmt: skip
            return function

        return register

    def table_report(
        self,
        title: str,
        page: TablePage,
        *,
        by: str | Sequence[str],
        values: Mapping[str, Measure] | None = None,
        dates: str | None = None,
        period: str | None = None,
        params: Sequence[str] = (),
        filters: Mapping[str, Any] | None = None,
        sort: str = "",
        chart: str | None = "bar",
    ) -> ReportPage:
        """Declare a report of ``page``'s rows without SQL::

            tool.table_report("Spending by category", expenses_page, by="category",
                              values={"total": Sum("amount"), "expenses": Count()},
                              dates="date", period="this-year", sort="-total")

        ``by``: a column (a choice, a lookup, yes/no) or a date's ``.day``, ``.week``,
        ``.month``, ``.quarter`` or ``.year``; two of them for rows within rows (with
        subtotals). ``values``: what each group shows (``Count()``, ``Sum(column)``,
        ``Average``, ``Minimum``, ``Maximum``; default a count). ``dates`` names the date
        column the report's Period parameter filters (``period`` is the preset shown
        first, default ``"this-year"``); ``params`` names choice and lookup columns also
        offered as parameters; ``filters`` always apply (as ``table_view`` takes them).
        ``sort`` is a value's name, ``-`` first for largest first. ``chart``: ``"bar"``,
        ``"stacked"``, ``"line"``, ``"area"``, ``"pie"``, ``"donut"`` or None.
        """
        from deskwork.grouping import declare

        _check_chart(title, chart or "bar")
        grouping = declare(title, page, by=by, values=values, filters=filters, dates=dates,
                           period=period, params=params, sort=sort)  # fmt: skip
        columns = grouping.columns()
        first = grouping.bys[0].column
        measure = next(iter(grouping.measures))
        totalled = [n for n, m in grouping.measures.items() if m.additive]
        report = ReportPage(
            title, grouping.run, slugify(title), grouping.params, columns,
            (first, measure) if chart else None, tuple(totalled), chart or "bar", grouping,
        )  # fmt: skip
        self._add_page(report)
        return report

    def dashboard(
        self,
        page: TablePage,
        *,
        dates: str,
        period: str = "this-month",
        headlines: Mapping[str, Measure],
        filters: Mapping[str, Any] | None = None,
        charts: Sequence[ReportPage] = (),
    ) -> None:
        """Make the home page a dashboard::

            tool.dashboard(expenses_page, dates="date", period="this-month",
                           headlines={"spent": Sum("amount"), "expenses": Count()},
                           charts=[spending_by_category])

        ``headlines``: numbers of ``page``'s rows in this period (``"this-month"``,
        ``"this-quarter"`` or ``"this-year"`` of the ``dates`` column) so far, each with
        its change against the previous period to the same day; ``filters`` apply to
        both. ``charts``: reports (with a chart) drawn below, with their first
        parameters. The page updates itself when the data changes.
        """
        from deskwork.grouping import dashboard

        self.board = dashboard(page, dates=dates, period=period, headlines=headlines,
                              filters=filters, charts=charts)  # fmt: skip

    def function_form(
        self,
        title: str,
        *,
        params: Mapping[str, Field] | None = None,
        result: Field | None = None,
        columns: Mapping[str, Field] | None = None,
        chart: tuple[str, str] | None = None,
        button: str = "Calculate",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a plain function as a form: its arguments become fields.

        ``params`` declares each argument's field (rules included); arguments without
        one get a field from their type annotation (int, Decimal, float, str, bool, date).
        The function returns a value (shown by ``result``), rows (a small table, with a
        bar ``chart`` if asked) or a mapping of name to value.
        """

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            fields = _fields_from_signature(function, params or {})
            shown = dict(columns or {})
            for name, f in shown.items():
                f.bind(name)
            if result is not None:
                result.bind("result")
            page = FunctionPage(
                title, function, slugify(title), fields, result, shown, chart, button
            )
            self._add_page(page)
            return function

        return register

    def page(self, title: str) -> Callable[[ViewFunction], ViewFunction]:
        """Decorate a plain Flask view: served at ``/pages/<title as address>``, listed in
        the navigation, and free to ``render_template`` a template that extends
        ``base.html``."""

        def register(function: ViewFunction) -> ViewFunction:
            self._add_page(ViewPage(title, function, slugify(title)))
            return function

        return register

    def add_blueprint(self, blueprint: Blueprint) -> None:
        """Serve a Flask blueprint of the tool's own beside the declared pages."""
        self.blueprints.append(blueprint)

    def role(
        self,
        name: str,
        *,
        like: str = "editor",
        changes: Mapping[Table, str] | None = None,
        rows: str = "",
    ) -> Role:
        """Declare a role of the tool's own for a served tool's people (``deskwork users
        add TOOL NAME --role "team lead"``): it may do what ``like`` may, but change only
        the rows of each table in ``changes`` that meet its SQL condition, before and
        after each change (``:person`` is the person's log-in name), in every form, bulk
        change, undo, restore and API call; ``rows`` says which in words::

            tool.role("team lead", like="editor", rows="their own team's jobs",
                      changes={jobs: "team = (SELECT team FROM staff WHERE login = :person)"})
        """
        from deskwork.accounts import ROLES

        if not ROLE_NAME.match(name) or name in ROLES:
            raise ToolError(
                f"tool.role({name!r}): a role's name is lower-case words (up to 40 letters, "
                f"digits, spaces and hyphens), not {', '.join(ROLES)}."
            )
        if name in self.roles:
            raise ToolError(f"The role {name!r} is declared twice.")
        if like == "admin" and changes:
            raise ToolError(
                f"tool.role({name!r}): a role limited to some rows is like a viewer or an "
                "editor: an admin restores backups and empties the bin, which no limit on "
                "rows can hold."
            )
        if like not in ROLES:
            raise ToolError(
                f"tool.role({name!r}, like={like!r}): like is one of {', '.join(ROLES)}."
            )
        limits: dict[str, str] = {}
        for table, condition in (changes or {}).items():
            if not isinstance(table, Table) or self.tables.get(table.name) is not table:
                raise ToolError(
                    f"tool.role({name!r}): changes names a table as tool.table(...) returned "
                    f"it (not {table!r})."
                )
            if not isinstance(condition, str) or not condition.strip():
                raise ToolError(f"tool.role({name!r}): the condition for {table.name} is SQL text.")
            limits[table.name] = condition
        role = Role(name, like, limits, rows)
        self.roles[name] = role
        return role

    def seed(self, function: SeedFunction) -> SeedFunction:
        """Decorate ``function(db)``: it fills a database the tool has just created."""
        self.seeds.append(function)
        return function

    @property
    def home(self) -> Page | None:
        return next(iter(self.pages.values()), None)

    def init_app(
        self,
        app: Flask,
        url_prefix: str = "/tools",
        *,
        database: str | Path | None = None,
        access: AccessCheck | None = None,
    ) -> None:
        """Serve this tool from an existing Flask app, under ``url_prefix``.

        ``database`` is the tool's SQLite file: by default the app's ``DESKWORK_DATABASE``
        setting, else ``<tool name>.sqlite3`` in its instance folder, made on the first
        request to the tool. ``access()``, called after the app's own ``before_request``
        functions, says who gets in: True (or None) serves the request, False is a 403,
        anything else (such as ``redirect(url_for("login"))``) is the response. See
        ``deskwork.mount``.
        """
        from deskwork.mount import mount  # serving needs Flask: declaring a tool does not

        mount(self, app, url_prefix, database=database, access=access)


def _beside_caller(folder: str | Path) -> Path:
    """``folder`` relative to the file of the code that made the tool."""
    path = Path(folder)
    if path.is_absolute():
        return path
    frame = inspect.currentframe()
    # Up past Tool.__init__ to the tool file's module.
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    filename = frame.f_globals.get("__file__") if frame is not None else None
    return (Path(filename).resolve().parent if filename else Path.cwd()) / path


def _fields_from_signature(
    function: Callable[..., Any], declared: Mapping[str, Field]
) -> dict[str, Field]:
    from deskwork.fields import Date, Integer, Number, Text, YesNo

    by_type: dict[Any, Callable[[], Field]] = {
        int: Integer, float: lambda: Number(places=6), Decimal: Number,
        str: Text, bool: YesNo, dt.date: Date, "int": Integer, "float": lambda: Number(places=6),
        "Decimal": Number, "str": Text, "bool": YesNo, "date": Date, "dt.date": Date,
    }  # fmt: skip
    fields: dict[str, Field] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "db":
            continue
        f = declared.get(name)
        if f is None:
            make = by_type.get(parameter.annotation)
            if make is None:
                raise ToolError(
                    f"{function.__name__}({name}): declare its field in params= "
                    "(or annotate it as int, Decimal, str, bool or date)."
                )
            f = make()
        if parameter.default is not inspect.Parameter.empty and f._default is None:
            f._default = parameter.default
        f.required = f.required or (
            parameter.default is inspect.Parameter.empty and not isinstance(f, YesNo)
        )
        f.bind(name)
        fields[name] = f
    unknown = set(declared) - set(fields)
    if unknown:
        raise ToolError(f"{function.__name__} has no argument {', '.join(sorted(unknown))}.")
    return fields


#: The charts a report can draw.
CHART_TYPES = ("bar", "stacked", "line", "area", "pie", "donut")


def _check_chart(title: str, kind: str) -> None:
    if kind not in CHART_TYPES:
        raise ToolError(f"{title!r}: there is no chart {kind!r}; draw one of "
                        f"{', '.join(CHART_TYPES)}.")  # fmt: skip
