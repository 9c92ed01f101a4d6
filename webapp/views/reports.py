"""Report pages: parameters in, rows, totals and a bar chart out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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

from deskwork import exports, locales
from deskwork.errors import ValidationError
from deskwork.fields import Field
from deskwork.model import FunctionPage, ReportPage
from deskwork.views import find_page, get_db
from deskwork.views.widgets import controls

bp = Blueprint("reports", __name__)


def parse_params(
    params: Mapping[str, Field], args: Any, *, use_defaults: bool = True
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Read parameters from a query string: (values, what was typed, errors)."""
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
    return values, typed, errors


def show(f: Field | None, value: Any) -> str:
    if f is None:
        return "" if value is None else str(value)
    return f.display(value)


@dataclass
class Bar:
    label: str
    shown: str  # the value as the page shows it
    share: float  # of the largest value's length
    href: str | None = None  # where clicking it goes
    negative: bool = False


@dataclass
class Chart:
    """A bar chart (``_chart.html``): what it shows, and a bar per row."""

    title: str
    bars: list[Bar]


def chart_of(title: str, values: list[tuple[str, Any, str, str | None]]) -> Chart:
    """A bar chart of (label, value, the value shown, link) rows, each bar's length its
    share of the largest value (negative ones marked)."""
    top = max((abs(v or 0) for _, v, _, _ in values), default=0) or 1
    return Chart(title, [Bar(label, shown, abs(v or 0) / top, href, (v or 0) < 0)
                         for label, v, shown, href in values])  # fmt: skip


def bar_chart(page: ReportPage | FunctionPage, rows: list[dict[str, Any]]) -> Chart | None:
    """The page's declared chart (``chart=(label column, value column)``) of its rows."""
    if not page.chart or not rows:
        return None
    label, value = page.chart
    f = (page.columns or {}).get(value)
    return chart_of(f"Bar chart of {value} by {label}",
                    [(str(r[label]), r[value], show(f, r[value]), None) for r in rows])  # fmt: skip


def as_rows(result: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in result]


def _result(page: ReportPage) -> tuple[
    dict[str, Any], dict[str, str], list[dict[str, Any]], list[str], dict[str, Any]
]:  # fmt: skip
    """The report for the address's parameters: (typed, errors, rows, columns, totals)."""
    values, typed, errors = parse_params(page.params, request.args)
    rows = [] if errors else as_rows(page.function(get_db(), **values))
    return (typed, errors, rows, *_shape(page, rows))


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
    _typed, errors, rows, _columns, _totals = _result(page)
    if errors:  # the report's own page says what to correct
        back = url_for("reports.show", slug=slug)
        return redirect(f"{back}?{request.query_string.decode()}")
    sheet = _sheet(page, rows, fmt)
    name = exports.file_name(page.title, fmt)
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
    values, _typed, errors = parse_params(page.params, request.args)
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
    typed, errors, rows, columns, totals = _result(page)
    html = render_template(
        "report.html",
        page=page,
        params=controls(page.params, {}, typed, errors, prefix="p"),
        errors=errors,
        columns=columns,
        rows=rows,
        totals=totals,
        chart=bar_chart(page, rows),
        show=show,
        header=header,
        exports=exports.offered(locales.current().decimal),
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    return (html, 400) if errors else html
