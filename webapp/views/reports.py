"""Report pages: parameters in, rows, totals and a bar chart out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, render_template, request

from deskwork.errors import ValidationError
from deskwork.fields import Field
from deskwork.model import ReportPage
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


def bar_chart(
    rows: list[dict[str, Any]], chart: tuple[str, str] | None
) -> list[tuple[str, Any, float]]:
    """(label, value, share of the largest) per row, for an SVG bar chart."""
    if not chart or not rows:
        return []
    label, value = chart
    top = max((abs(r[value] or 0) for r in rows), default=0) or 1
    return [(str(r[label]), r[value], abs(r[value] or 0) / top) for r in rows]


def as_rows(result: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in result]


@bp.get("/reports/<slug>", endpoint="show")
def show_report(slug: str) -> tuple[str, int] | str:
    page: ReportPage = find_page(slug, ReportPage)
    values, typed, errors = parse_params(page.params, request.args)
    rows = [] if errors else as_rows(page.function(get_db(), **values))
    columns = list(rows[0]) if rows else list(page.columns)
    totals = {c: sum(r[c] or 0 for r in rows) for c in page.total}
    html = render_template(
        "report.html",
        page=page,
        params=controls(page.params, {}, typed, errors, prefix="p"),
        errors=errors,
        columns=columns,
        rows=rows,
        totals=totals,
        bars=bar_chart(rows, page.chart),
        show=show,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    return (html, 400) if errors else html
