"""The tool model: what a tool file declares.

A tool is a title, its tables (columns as fields) and its pages: forms that add rows,
table pages that list them, reports that sum them up. Declaring things does no I/O;
``webapp.storage`` creates the schema and ``webapp.app`` serves the pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from webapp.errors import ToolError
from webapp.fields import Field, Lookup

if TYPE_CHECKING:
    import sqlite_utils

ReportFunction = Callable[..., Iterable[Mapping[str, Any]]]
SeedFunction = Callable[["sqlite_utils.Database"], None]


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    if not slug:
        raise ToolError(f"{title!r} needs at least one letter or digit to make an address from.")
    return slug


class Table:
    """A SQLite table: an ``id`` primary key plus one column per field."""

    def __init__(self, name: str, fields: Mapping[str, Field]) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ToolError(f"Table name {name!r} must be lower case letters, digits and _.")
        if not fields:
            raise ToolError(f"Table {name!r} needs at least one field.")
        self.name = name
        self.fields: dict[str, Field] = {}
        for column, f in fields.items():
            if not isinstance(f, Field):
                raise ToolError(f"{name}.{column} must be a field such as Text() or Money().")
            if column == "id":
                raise ToolError(f"{name}.id is made for you; choose another column name.")
            f.bind(column)
            self.fields[column] = f

    def __repr__(self) -> str:
        return f"<Table {self.name}>"

    @property
    def record_name(self) -> str:
        """What one row is called: ``expenses`` -> ``expense``."""
        name = self.name.replace("_", " ")
        return name[:-1] if name.endswith("s") and not name.endswith("ss") else name

    def lookups(self) -> dict[str, Lookup]:
        return {n: f for n, f in self.fields.items() if isinstance(f, Lookup)}


@dataclass
class FormPage:
    """A page that adds a row to ``table``."""

    title: str
    table: Table
    slug: str
    after: str | None = None  # slug of the page to go to after saving; None stays on the form

    kind = "form"


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

    kind = "table"

    @property
    def order_column(self) -> str:
        return self.order.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.order.startswith("-")


@dataclass
class ReportPage:
    """A page that runs ``function(db, **params)`` and shows its rows, totals and a chart."""

    title: str
    function: ReportFunction
    slug: str
    params: dict[str, Field] = field(default_factory=dict)
    columns: dict[str, Field] = field(default_factory=dict)
    chart: tuple[str, str] | None = None  # (label column, value column) for a bar chart
    total: Sequence[str] = ()

    kind = "report"


Page = FormPage | TablePage | ReportPage


class Tool:
    """An internal tool: a title, tables and pages.

    ::

        tool = Tool("Expenses")
        expenses = tool.table("expenses", date=Date(required=True), amount=Money())
        tool.form("New expense", expenses)
        tool.table_page("Expenses", expenses, order="-date")
    """

    def __init__(self, title: str, *, name: str | None = None) -> None:
        self.title = title
        self.name = name or slugify(title)
        self.tables: dict[str, Table] = {}
        self.pages: dict[str, Page] = {}
        self.seeds: list[SeedFunction] = []

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
        if page.slug in self.pages:
            raise ToolError(f"Two pages are called {page.title!r}; give one another title.")
        self.pages[page.slug] = page

    def _check_columns(self, table: Table, columns: Iterable[str], what: str) -> None:
        for column in columns:
            if column != "id" and column not in table.fields:
                raise ToolError(f"{what}: {table.name} has no column {column!r}.")

    def form(self, title: str, table: Table, *, after: str | None = None) -> FormPage:
        """Declare a form that adds rows to ``table``."""
        page = FormPage(title, table, slugify(title), after=after)
        self._add_page(page)
        return page

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

    def report(
        self,
        title: str,
        *,
        params: Mapping[str, Field] | None = None,
        columns: Mapping[str, Field] | None = None,
        chart: tuple[str, str] | None = None,
        total: Sequence[str] = (),
    ) -> Callable[[ReportFunction], ReportFunction]:
        """Decorate ``function(db, **params)`` returning rows (mappings) as a report page."""

        def register(function: ReportFunction) -> ReportFunction:
            bound = dict(params or {})
            for name, f in bound.items():
                f.bind(name)
            shown = dict(columns or {})
            for name, f in shown.items():
                f.bind(name)
            self._add_page(
                ReportPage(title, function, slugify(title), bound, shown, chart, tuple(total))
            )
            return function

        return register

    def seed(self, function: SeedFunction) -> SeedFunction:
        """Decorate ``function(db)``: it fills a database the tool has just created."""
        self.seeds.append(function)
        return function

    @property
    def home(self) -> Page | None:
        return next(iter(self.pages.values()), None)
