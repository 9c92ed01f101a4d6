"""**Summarise** this view, on every table page: the rows the page shows now (its filters
and search) grouped by a column or a date's part (``deskwork.db.groups``), with counts
and sums, as a table and a chart; each group opens the table page showing exactly its
rows. All of it is in the address (the view's own words and ``by``), so it can be
bookmarked, and the way back is the same view.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request, url_for

from deskwork import charts, grouping
from deskwork.db import groups, listing
from deskwork.db.connection import time_limit
from deskwork.errors import TimeUp, ValidationError
from deskwork.model import TablePage
from deskwork.views import current_tool, find_page, get_db, reports

bp = Blueprint("summaries", __name__)

#: How long grouping the rows of a view may take before the page says so.
TIME_LIMIT_S = 30.0
#: Groups a chart shows (the table shows every one).
CHARTED = 40


def default_by(page: TablePage) -> grouping.By | None:
    """What a table's rows are grouped by when the address doesn't say: its first
    choice or lookup, else its first date by month."""
    offered = grouping.choices(page.table)
    plain = [by for by, _ in offered if not by.part]
    months = [by for by, _ in offered if by.part == "month"]
    found = plain or months
    return found[0] if found else None


@bp.get("/tables/<slug>/summarise", endpoint="show")
def summary_page(slug: str) -> Any:
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    problems = list(view.problems)
    word = request.args.get("by", "").strip()
    by = default_by(page)
    if word:
        try:
            by = grouping.read_by(page.table, word)
        except ValidationError as error:
            problems.append(f"{error} Grouped by {by.word if by else 'nothing'} instead.")
    grouped = None
    if by is not None:
        try:
            db = get_db()
            with time_limit(db, TIME_LIMIT_S):
                grouped = groups.group(db, view, by, dt.date.today())
        except TimeUp:
            problems.append("Grouping these rows took too long: filter the view first.")
    named = listing.named_view(current_tool(), view)

    def drill(group: groups.Group) -> str:
        return url_for("tables.listing", slug=slug, **(group.address or {}))

    args = view.arguments()
    fields = page.table.fields
    return render_template(
        "summary.html",
        page=page,
        view=view,
        nav_current=named.slug if named else page.slug,
        heading=named.title if named else page.title,
        problems=problems,
        by=by,
        offered=grouping.choices(page.table),
        grouped=grouped,
        fields=fields,
        chart=_chart(grouped, fields, drill),
        charted=CHARTED,
        back=url_for("tables.listing", slug=slug, **args),
        kept=[(k, v) for k, values in args.items() for v in _listed(values)],
        drill=drill,
        empty=groups.EMPTY,
        live=True,
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _chart(grouped: groups.Grouped | None, fields: dict[str, Any],
           drill: Any) -> charts.Figure | None:  # fmt: skip
    """The groups' bar chart: of the first sum, else of the count; each bar opens its rows."""
    if grouped is None or not grouped.groups:
        return None
    column = grouped.columns[0] if grouped.columns else None
    by = grouped.by
    what = fields[column].label if column else "the count of rows"
    title = f"Bar chart of {what} by {fields[by.column].label}" + (
        f" ({by.part})" if by.part else "")  # fmt: skip
    shown = grouped.groups[:CHARTED]
    values = [g.sums[column] if column else g.count for g in shown]
    write = reports.axis_writer(fields[column] if column else None)
    series = charts.Series(what, [float(v) for v in values], [
        fields[column].display(v) if column else f"{v:,}" for v in values
    ], [drill(g) if g.address else None for g in shown])  # fmt: skip
    return charts.draw("bar", title, [g.label for g in shown], [series], write)
