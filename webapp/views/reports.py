"""Report pages: parameters in, rows, totals and a chart out.

Two kinds, served alike: a function's SQL (``@tool.report``) and a report declared from
a table page (``Tool.table_report``, ``deskwork.grouping``), whose groups each open
their rows on the table page and whose rows within rows have subtotals.

- **Reading only, for a while only**: a report runs on a read-only connection with a
  time limit (``Storage.reading``): its SQL can't write, and a runaway query is stopped.
  A report that fails says so plainly on its page; the traceback goes to the log.
- **The same result everywhere**: the page, its exports (``deskwork.exports``, as
  table pages export) and the JSON API read the rows through ``run``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import MultiDict

from deskwork import charts, exports, locales, team
from deskwork.db import groups
from deskwork.errors import DeskworkError, TimeUp, ValidationError
from deskwork.fields import Field
from deskwork.model import FunctionPage, ReportPage
from deskwork.views import find_page
from deskwork.views.widgets import controls

bp = Blueprint("reports", __name__)
T = TypeVar("T")
log = logging.getLogger("deskwork")

#: Categories a bar, stacked bar or pie chart shows (the table shows every row).
CHARTED = 40
#: Points a line or area chart shows.
PLOTTED = 400


class ReportFailed(Exception):
    """A report's function or SQL failed; its words are for the page."""


def parse_params(
    params: Mapping[str, Field], args: Any, *, use_defaults: bool = True,
    check: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:  # fmt: skip
    """Read parameters from a query string: (values, what was typed, errors); ``check``
    finds errors of the values taken together (a range's last day before its first)."""
    values: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, f in params.items():
        raw = f.raw(args)
        if raw is None and use_defaults and f.widget not in ("checkbox", "checkboxes"):
            values[name] = f.default()
            typed[name] = f.form_value(f.to_db(values[name]))
            continue
        typed[name] = raw
        try:
            values[name] = f.parse(raw)
        except ValidationError as error:
            errors[name] = str(error)
    if check is not None and not errors:
        errors.update(check(values))
    return values, typed, errors


def report_params(page: ReportPage, args: Any) -> tuple[
    dict[str, Any], dict[str, Any], dict[str, str]
]:  # fmt: skip
    """A report's parameters from a query string, checked as a whole. A declared report
    given From or To but no period takes them as its period (as a link or script means)."""
    grouping = page.grouping
    if grouping is not None and grouping.dates and "period" not in args and (
            "start" in args or "end" in args):  # fmt: skip
        args = MultiDict(args)
        args["period"] = ""
    return parse_params(page.params, args, check=grouping.check if grouping else None)


def run(page: ReportPage, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's rows for ``values``, read on a read-only connection with a time
    limit; ``ReportFailed`` with plain words if it can't be made (the log has why)."""
    if page.grouping is not None:
        grouping = page.grouping
        return _reading(page, lambda db: grouping.run(db, **values))
    return _reading(page, lambda db: as_rows(page.function(db, **values)))


def _reading(page: ReportPage, read: Callable[[Any], T]) -> T:
    """``read(db)`` on a read-only connection with a time limit; ``ReportFailed`` with
    plain words if it fails (the log has why). A tool's own ``DeskworkError`` passes."""
    storage = current_app.extensions["deskwork.storage"]
    try:
        with storage.reading() as db:
            return read(db)
    except TimeUp as error:
        raise ReportFailed(f"{error} Narrow the report's parameters (a shorter period) "
                           "and show it again.") from error  # fmt: skip
    except DeskworkError:  # the tool's own word (a conflict, a refusal): its status, its words
        raise
    except Exception as error:  # the tool author's SQL or code: the page says so plainly
        log.exception("The report %r failed", page.title)
        raise ReportFailed(f"{page.title} could not be made: its query failed "
                           f"({type(error).__name__}). The log has the details; "
                           "nothing was changed.") from error  # fmt: skip


def show(f: Field | None, value: Any) -> str:
    if f is None:
        return "" if value is None else str(value)
    return f.display(value)


def axis_writer(f: Field | None) -> Callable[[float], str]:
    """How a value axis writes its ticks: as the column writes its values."""
    if f is None:
        return lambda v: f"{v:,g}"
    if f.sql_type is int:
        return lambda v: f.display(round(v))
    return lambda v: f.display(v)


def rows_chart(page: ReportPage | FunctionPage, rows: list[dict[str, Any]]) -> charts.Figure | None:
    """The page's declared chart (``chart=(label column, value column)``) of its rows."""
    if not page.chart or not rows:
        return None
    label, value = page.chart
    f = (page.columns or {}).get(value)
    kind = page.chart_type if isinstance(page, ReportPage) else "bar"
    shown = rows[: PLOTTED if kind in ("line", "area") else CHARTED]
    series = charts.Series(
        f.label if f else value, [charts.as_number(r[value]) for r in shown],
        [show(f, r[value]) for r in shown], [None] * len(shown),
    )  # fmt: skip
    title = f"{kind.capitalize()} chart of {series.name} by {label}"
    return charts.draw(kind, title, [str(r[label]) for r in shown], [series], axis_writer(f))


def measured_chart(
    kind: str, title: str, found: groups.Measured, name: str, f: Field,
    drill: Callable[[dict[str, Any] | None], str | None],
) -> charts.Figure | None:  # fmt: skip
    """A chart of one measure of grouped rows: one grouping across, a second (if any)
    as the series; each mark opens its rows."""
    if not found.rows:
        return None
    limit = PLOTTED if kind in ("line", "area") else CHARTED
    by = found.bys[0]
    if len(found.bys) == 1 or kind in ("pie", "donut"):
        rows = found.rows if len(found.bys) == 1 else [sub for sub, _ in found.sections()]
        rows = rows[:limit]
        series = [charts.Series(f.label, [charts.as_number(r.values[name]) for r in rows],
                                [f.display(r.values[name]) for r in rows],
                                [drill(r.address) for r in rows])]  # fmt: skip
        categories = [r.labels[0] for r in rows]
        keys = [r.keys[0] for r in rows]
    else:
        sections = found.sections()[:limit]
        categories = [sub.labels[0] for sub, _ in sections]
        keys = [sub.keys[0] for sub, _ in sections]
        names: dict[Any, str] = {}
        for r in found.rows:
            names.setdefault(r.keys[1], r.labels[1])
        series = []
        for key, label in names.items():
            cells = [next((r for r in rows if r.keys[1] == key), None) for _, rows in sections]
            series.append(charts.Series(
                label, [charts.as_number(c.values[name]) if c else None for c in cells],
                [f.display(c.values[name]) if c else "" for c in cells],
                [drill(c.address) if c else None for c in cells]))  # fmt: skip
    days = [groups.day_of(k) for k in keys] if by.part else []
    return charts.draw(kind, title, categories, series, axis_writer(f), days=days)


def as_rows(result: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in result]


def _shape(page: ReportPage, rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """A result's columns and the totals of those the report totals."""
    columns = list(rows[0]) if rows else list(page.columns)
    return columns, {c: sum(r[c] or 0 for r in rows) for c in page.total}


def header(page: ReportPage, column: str) -> str:
    """A result column's heading: its field's label, else its name in words."""
    f = page.columns.get(column)
    return f.label if f is not None else column.replace("_", " ").capitalize()


@bp.get("/reports/<slug>/export/<key>", endpoint="export")
def export_report(slug: str, key: str) -> Any:
    """The report's result for the address's parameters as a file, with its totals
    (``deskwork.exports``, as table pages export)."""
    page: ReportPage = find_page(slug, ReportPage)
    fmt = exports.FORMATS.get(key) or abort(404)
    values, _typed, errors = report_params(page, request.args)
    try:
        rows = [] if errors else run(page, values)
    except ReportFailed:
        errors = {"": "failed"}
    if errors:  # the report's own page says what to correct, or what failed
        back = url_for("reports.show", slug=slug)
        return redirect(f"{back}?{request.query_string.decode()}")
    sheet = _sheet(page, rows, fmt)
    name = exports.file_name(page.title, fmt)
    team.note("export", f"{page.title}: {len(rows):,} rows as {fmt.label}")
    return Response(
        exports.encode(sheet, fmt),
        mimetype=fmt.mimetype.split(";")[0],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/reports/<slug>/export/<key>")
def save_report(slug: str, key: str) -> Response:
    """In the native window: the report's result saved where the save dialog says
    (``deskwork.exports.Saving``, as a table's export is)."""
    saving = current_app.extensions.get("deskwork.saving") or abort(404)
    page: ReportPage = find_page(slug, ReportPage)
    fmt = exports.FORMATS.get(key) or abort(404)
    values, _typed, errors = report_params(page, request.args)
    if errors:
        return jsonify({"state": "failed", "text": "Correct the report's parameters first: "
                        + " ".join(errors.values())})  # fmt: skip

    def make(db: Any) -> exports.Sheet:
        rows = as_rows(page.function(db, **values))
        return _sheet(page, rows, fmt)

    storage = current_app.extensions["deskwork.storage"]
    return jsonify(saving.start(exports.file_name(page.title, fmt), fmt, storage, make))


def _sheet(page: ReportPage, rows: list[dict[str, Any]], fmt: exports.Format) -> exports.Sheet:
    columns, totals = _shape(page, rows)
    return exports.rows_sheet(
        page.title, [(c, header(page, c), page.columns.get(c)) for c in columns], rows, fmt,
        totals=totals or None,
    )  # fmt: skip


@bp.get("/reports/<slug>", endpoint="show")
def show_report(slug: str) -> tuple[str, int] | str:
    page: ReportPage = find_page(slug, ReportPage)
    values, typed, errors = report_params(page, request.args)
    failed = ""
    rows: list[dict[str, Any]] = []
    found = None
    try:
        if errors:
            pass
        elif page.grouping is not None:
            found = _measured(page, values)
        else:
            rows = run(page, values)
    except ReportFailed as error:
        failed = str(error)
    columns, totals = _shape(page, rows)
    html = render_template(
        "report.html",
        page=page,
        params=controls(page.params, {}, typed, errors, prefix="p"),
        errors=errors,
        failed=failed,
        columns=columns,
        rows=rows,
        totals=totals,
        found=found,
        chart=_chart(page, rows, found),
        show=show,
        header=header,
        drill=_drill(page),
        range_shown=page.grouping.range_shown(values) if page.grouping and not errors else "",
        exports=exports.offered(locales.current().decimal) if team.may("reports.export") else [],
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        live=True,
    )
    return (html, 400) if errors else (html, 500) if failed else html


def figure(page: ReportPage) -> charts.Figure | None:
    """The report's chart with its first parameters (a dashboard's), or None."""
    values, _typed, errors = report_params(page, MultiDict())
    if errors:
        return None
    if page.grouping is not None:
        return _chart(page, [], _measured(page, values))
    return rows_chart(page, run(page, values))


def _measured(page: ReportPage, values: Mapping[str, Any]) -> groups.Measured:
    """A declared report's groups (with their addresses), read as ``run`` reads."""
    grouping = page.grouping
    assert grouping is not None
    return _reading(page, lambda db: grouping.measured(db, values))


def _drill(page: ReportPage) -> Callable[[dict[str, Any] | None], str | None]:
    """The table page's address for a group's arguments (None: no link)."""
    slug = page.grouping.page.slug if page.grouping else ""

    def drill(address: dict[str, Any] | None) -> str | None:
        return None if address is None else url_for("tables.listing", slug=slug, **address)

    return drill


def _chart(page: ReportPage, rows: list[dict[str, Any]],
           found: groups.Measured | None) -> charts.Figure | None:  # fmt: skip
    if found is None or not page.chart:
        return rows_chart(page, rows)
    name = page.chart[1]
    f = page.columns[name]
    by = page.columns[page.chart[0]]
    title = f"{page.chart_type.capitalize()} chart of {f.label} by {by.label}"
    if len(found.bys) > 1:
        title += f" and {page.columns[found.bys[1].column].label}"
    return measured_chart(page.chart_type, title, found, name, f, _drill(page))
