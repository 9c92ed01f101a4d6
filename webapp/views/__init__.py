"""The pages a tool serves, one blueprint per family (Datasette's ``views/``).

``home`` and the tool's own views, ``forms`` (records and their files), ``tables``,
``reports`` and ``functions`` (forms bound to a function). The model says what kind each
page is; ``ENDPOINTS`` says which view serves each kind.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import sqlite_utils
from flask import Flask, abort, current_app, g, url_for
from werkzeug.routing import BaseConverter

from deskwork.db.storage import Storage
from deskwork.fields.base import as_row_id
from deskwork.fields.files import size_text
from deskwork.model import Page, PageKind, SavedView, Tool

P = TypeVar("P")

#: The endpoint that serves each kind of page: the model names no Flask endpoint.
ENDPOINTS: dict[PageKind, str] = {
    "form": "forms.new",
    "table": "tables.listing",
    "report": "reports.show",
    "function": "functions.run",
    "view": "views.show",
    "saved": "tables.listing",  # the table page, with the saved view's arguments
}


class RowIdConverter(BaseConverter):
    """``<row_id:name>``: a row id SQLite can hold (a larger number is no page: 404)."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def row_id_arg(text: str) -> int:
    """A row id from a query string (``type=row_id_arg``); anything else is left out."""
    found = as_row_id(text)
    if found is None:
        raise ValueError(text)
    return found


def init_app(app: Flask) -> None:
    from deskwork.views import (
        api,
        changes,
        forms,
        functions,
        home,
        imports,
        reports,
        summaries,
        tables,
    )

    app.url_map.converters["row_id"] = RowIdConverter
    for module in (home, forms, tables, summaries, imports, reports, functions, changes, api):
        app.register_blueprint(module.bp)
    for blueprint in current_tool(app).blueprints:
        app.register_blueprint(blueprint)
    app.add_template_global(page_url)
    app.add_template_global(size_text)


def current_tool(app: Flask | None = None) -> Tool:
    return cast(Tool, (app or current_app).extensions["deskwork.tool"])


def get_db() -> sqlite_utils.Database:
    """This request's database connection, opened on first use and closed at teardown."""
    if "db" not in g:
        storage = cast(Storage, current_app.extensions["deskwork.storage"])
        g.db = storage.connect()
    return cast(sqlite_utils.Database, g.db)


def find_page(slug: str, kind: type[P]) -> P:
    """The declared page at ``slug`` if it is of ``kind``; 404 otherwise."""
    page = current_tool().pages.get(slug)
    if not isinstance(page, kind):
        abort(404)
    return page


def page_url(page: Page, **values: Any) -> str:
    """The address of a declared page (``values`` go into its query string)."""
    if isinstance(page, SavedView):
        return url_for(ENDPOINTS[page.kind], slug=page.page.slug, **{**page.args, **values})
    return url_for(ENDPOINTS[page.kind], slug=page.slug, **values)
