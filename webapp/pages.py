"""The declared pages: home, forms, table pages and reports, as one blueprint."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import sqlite_utils
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from webapp.errors import ValidationError
from webapp.fields import Field, Lookup
from webapp.model import FormPage, Page, ReportPage, Table, TablePage, Tool
from webapp.storage import Storage

bp = Blueprint("pages", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def current_tool() -> Tool:
    return cast(Tool, current_app.extensions["deskwork.tool"])


def get_db() -> sqlite_utils.Database:
    """This request's database connection, opened on first use and closed at teardown."""
    if "db" not in g:
        storage = cast(Storage, current_app.extensions["deskwork.storage"])
        g.db = storage.connect()
    return cast(sqlite_utils.Database, g.db)


def _page(slug: str, kind: type[Page]) -> Any:
    page = current_tool().pages.get(slug)
    if not isinstance(page, kind):
        abort(404)
    return page


@bp.get("/")
def home() -> str:
    return render_template("home.html", pages=list(current_tool().pages.values()))


# -- forms -------------------------------------------------------------------------------


def lookup_options(field: Lookup) -> list[tuple[int, str]]:
    sql = f"select id, [{field.show}] from [{field.table_name}] order by 2, 1"
    return [(row[0], str(row[1])) for row in get_db().execute(sql).fetchall()]


def row_exists(table: str, row_id: int) -> bool:
    sql = f"select 1 from [{table}] where id = ?"
    return get_db().execute(sql, [row_id]).fetchone() is not None


def parse_form(table: Table, form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse every field; return (values for the database, errors by field name)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, f in table.fields.items():
        try:
            values[name] = f.to_db(f.parse(form.get(name)))
        except ValidationError as error:
            errors[name] = str(error)
            continue
        value = values[name]
        if isinstance(f, Lookup) and value is not None and not row_exists(f.table_name, value):
            errors[name] = f"That {f.label.lower()} no longer exists; choose another."
    return values, errors


@bp.route("/forms/<slug>", methods=["GET", "POST"])
def form(slug: str) -> str | Response | tuple[str, int]:
    page: FormPage = _page(slug, FormPage)
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = parse_form(page.table, request.form)
        if not errors:
            db = get_db()
            with db.conn:
                row_id = db.table(page.table.name).insert(values).last_pk
            flash(f"Saved {page.table.record_name} #{row_id}.")
            target = page.after or page.slug
            kind = current_tool().pages[target].kind
            # Post/redirect/get: a refresh shows the page again instead of saving twice.
            return redirect(url_for(f"pages.{kind}", slug=target), code=303)
        typed = {name: request.form.get(name, "") for name in page.table.fields}
    else:
        typed = {n: f.form_value(f.to_db(f.default())) for n, f in page.table.fields.items()}
    options = {n: lookup_options(f) for n, f in page.table.lookups().items()}
    html = render_template("form.html", page=page, typed=typed, errors=errors, options=options)
    return (html, 400) if errors else html


# -- table pages ---------------------------------------------------------------------------


def fts_query(text: str) -> str:
    """Typed words as an FTS5 query: every word must match, as a prefix; no syntax."""
    words = [w.replace('"', "") for w in text.split()]
    return " ".join(f'"{w}"*' for w in words if w)


def table_query(page: TablePage, q: str, offset: int) -> tuple[list[str], list[dict[str, Any]]]:
    table = page.table
    columns = list(page.columns or table.fields)
    select = ["t.id AS id"]
    joins = []
    for name in columns:
        f = table.fields.get(name)
        if isinstance(f, Lookup):
            alias = f"j_{name}"
            joins.append(f"LEFT JOIN [{f.table_name}] {alias} ON {alias}.id = t.[{name}]")
            select.append(f"{alias}.[{f.show}] AS [{name}]")
        else:
            select.append(f"t.[{name}] AS [{name}]")
    direction = "DESC" if page.descending else "ASC"
    sql = f"SELECT {', '.join(select)} FROM [{table.name}] t {' '.join(joins)}"
    params: list[Any] = []
    match = fts_query(q) if page.search else ""
    if match:
        fts = get_db().table(table.name).detect_fts()
        sql += f" WHERE t.rowid IN (SELECT rowid FROM [{fts}] WHERE [{fts}] MATCH ?)"
        params.append(match)
    sql += f" ORDER BY t.[{page.order_column}] {direction}, t.id {direction} LIMIT ? OFFSET ?"
    params += [page.page_size + 1, offset]
    cursor = get_db().execute(sql, params)
    names = [d[0] for d in cursor.description]
    return columns, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@bp.get("/tables/<slug>")
def table(slug: str) -> str:
    page: TablePage = _page(slug, TablePage)
    q = request.args.get("q", "").strip()[:200]
    offset = max(request.args.get("offset", 0, type=int), 0)
    columns, rows = table_query(page, q, offset)
    more = len(rows) > page.page_size
    return render_template(
        "table.html",
        page=page,
        columns=columns,
        rows=rows[: page.page_size],
        q=q,
        offset=offset,
        more=more,
    )


# -- reports -------------------------------------------------------------------------------


def report_params(page: ReportPage) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    values: dict[str, Any] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, f in page.params.items():
        raw = request.args.get(name)
        if raw is None:
            values[name] = f.default()
            typed[name] = f.form_value(f.to_db(values[name]))
            continue
        typed[name] = raw
        try:
            values[name] = f.parse(raw)
        except ValidationError as error:
            errors[name] = str(error)
    return values, typed, errors


def show(f: Field | None, value: Any) -> str:
    if f is None:
        return "" if value is None else str(value)
    return f.display(value)


@bp.get("/reports/<slug>")
def report(slug: str) -> tuple[str, int] | str:
    page: ReportPage = _page(slug, ReportPage)
    values, typed, errors = report_params(page)
    rows: list[dict[str, Any]] = []
    if not errors:
        rows = [dict(r) for r in page.function(get_db(), **values)]
    columns = list(rows[0]) if rows else list(page.columns)
    totals = {c: sum(r[c] or 0 for r in rows) for c in page.total}
    bars: list[tuple[str, Any, float]] = []
    if page.chart and rows:
        label, value = page.chart
        top = max((r[value] or 0 for r in rows), default=0) or 1
        bars = [(str(r[label]), r[value], (r[value] or 0) / top) for r in rows]
    html = render_template(
        "report.html",
        page=page,
        typed=typed,
        errors=errors,
        columns=columns,
        rows=rows,
        totals=totals,
        bars=bars,
        show=show,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    return (html, 400) if errors else html
