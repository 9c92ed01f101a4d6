"""Table pages: rows sorted, filtered and searched as the address says, a page at a time
(``deskwork.listing``); their count, totals and facet counts arrive on their own."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from deskwork import listing
from deskwork.fields import Lookup
from deskwork.model import TablePage
from deskwork.views import current_tool, find_page, get_db

bp = Blueprint("tables", __name__)


@bp.get("/tables/<slug>", endpoint="listing")
def listing_page(slug: str) -> str:
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    db = get_db()
    rows = listing.page_of_rows(db, view)
    picked = {
        name: listing.lookup_labels(db, f, [c for c in view.raw.getlist(name)])
        for name, f in page.table.fields.items()
        if isinstance(f, Lookup) and view.raw.getlist(name)
    }
    return render_template(
        "table.html",
        page=page,
        view=view,
        form=current_tool().form_for(page.table),
        columns=view.columns,
        rows=rows,
        picked=picked,
        key=lambda row: json.dumps(row["_key"], separators=(",", ":")),
        here=lambda **changes: url_for("tables.listing", slug=slug, **view.arguments(**changes)),
        hidden=_hidden,
        presets=listing.PRESETS,
        filter_kind=listing.filter_kind,
        sortable=listing.sortable,
        totalled=[c for c in view.columns if listing.totalled(page.table.fields[c])],
    )


def _hidden(view: listing.View, *leave_out: str) -> list[tuple[str, str]]:
    """The view's arguments as hidden inputs for a form that changes some of them."""
    out = []
    for key, value in view.arguments().items():
        if key in leave_out or key.split(".")[0] in leave_out:
            continue
        for one in value if isinstance(value, list) else [value]:
            out.append((key, str(one)))
    return out


@bp.get("/tables/<slug>/summary")
def summary(slug: str) -> Response:
    """How many rows the view holds and its totals, as the page shows them (JSON)."""
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    found = listing.summary(get_db(), view)
    noun = page.table.name.replace("_", " ") if found["count"] != 1 else page.table.record_name
    found["text"] = f"{found['count']:,} {noun}" + (" match" if view.filtered else "")
    return jsonify(found)


@bp.get("/tables/<slug>/facets")
def facets(slug: str) -> Response:
    """The most frequent values of each value-filtered column in the view, with counts."""
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    out: dict[str, Any] = listing.facets(get_db(), view)
    return jsonify(out)
