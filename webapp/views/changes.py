"""A record's history and a table's bin ("Recently deleted"): see every change, take any
of it back (``deskwork.db.history``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from deskwork.db import attachments, history, lookups, records
from deskwork.errors import Conflict, NotDone
from deskwork.fields import Field, File, Lookup
from deskwork.model import FormPage, Table, TablePage
from deskwork.views import current_tool, find_page, get_db, page_url
from deskwork.views.forms import listing_slug

bp = Blueprint("changes", __name__)

Reply = str | Response | tuple[str, int]

#: What each kind of action is called in a record's history.
ACTION_WORDS = {
    "create": "Created",
    "edit": "Changed",
    "delete": "Deleted",
    "undo": "Undone",
    "restore": "Restored from the bin",
    "revert": "Restored an earlier version",
}


def shown(db: sqlite_utils.Database, f: Field, value: Any) -> str:
    """A stored value as people read it (a looked-up row by its name, a file by its)."""
    if value is None or value == "":
        return ""
    if isinstance(f, Lookup):
        name = lookups.label(db, f, value)
        if name:
            return name
        last = history.last_known(db, f.table_name, value) or {}
        return f"{last.get(f.show) or '#' + str(value)} (deleted)"
    if isinstance(f, File):
        found = attachments.describe(db, value)
        return found.name if found else ""
    return str(f.display(value))


@dataclass
class Line:
    """One line of a record's history, as shown."""

    change: history.Change
    what: str
    details: list[str]
    restorable: bool


def describe(db: sqlite_utils.Database, table: Table, change: history.Change) -> Line:
    words = ACTION_WORDS.get(change.action_kind, change.action_kind.capitalize())
    if change.action_kind in ("undo", "restore", "revert"):
        kind_words = {"create": "back", "delete": "removed", "edit": "changed back"}
        words = f"{words} ({kind_words.get(change.kind, change.kind)})"
    elif change.kind != change.action_kind:
        words = ACTION_WORDS.get(change.kind, words)
    details = []
    if change.kind == "edit":
        for name in history.changed_fields(change, table.fields):
            f = table.fields[name]
            old = shown(db, f, (change.before or {}).get(name)) or "nothing"
            new = shown(db, f, (change.after or {}).get(name)) or "nothing"
            details.append(f"changed {f.label.lower()} from {old} to {new}")
    if change.undone:
        details.append("undone later")
    return Line(change, words, details, restorable=False)


@bp.get("/forms/<slug>/<row_id:record_id>/history")
def record_history(slug: str, record_id: int) -> str:
    page: FormPage = find_page(slug, FormPage)
    db = get_db()
    table = page.table
    changes = history.changes_of(db, table, record_id)
    current = records.get_row(db, table, record_id)
    if not changes and current is None:
        abort(404, f"There is no {table.record_name} #{record_id}.")
    lines = [describe(db, table, c) for c in changes]
    # Any version other than the one it is in now can be brought back.
    for line in lines:
        after = line.change.after
        line.restorable = after is not None and not history.same_row(current, after)
    first = changes[-1] if changes else None
    if first is not None and first.before is not None:  # made before its history began
        start = history.Change(
            first.id, first.action_id, "start", "", table.name, record_id, "start",
            None, first.before, False,
        )  # fmt: skip
        lines.append(
            Line(start, "As it was before these changes", [], restorable=not history.same_row(
                current, first.before
            ))
        )  # fmt: skip
    return render_template(
        "history.html",
        page=page,
        nav_current=listing_slug(page),
        record_id=record_id,
        lines=lines,
        exists=current is not None,
        version=history.version_of(current) if current is not None else "",
        when=_when,
    )


@bp.post("/forms/<slug>/<row_id:record_id>/history/<row_id:change_id>")
def restore_version(slug: str, record_id: int, change_id: int) -> Response:
    page: FormPage = find_page(slug, FormPage)
    back = url_for("changes.record_history", slug=slug, record_id=record_id)
    try:
        row_id = history.restore_version(
            get_db(), current_tool(), page.table, record_id, change_id,
            request.form.get("_version", ""), before=request.form.get("_state") == "before",
        )  # fmt: skip
    except Conflict:
        flash(
            f"This {page.table.record_name} changed while you were looking at its history: "
            "nothing was restored. Here it is as it is now.",
            "error",
        )
        return redirect(back, code=303)
    except NotDone as error:  # refused, nothing written (a looked-up record too)
        flash(str(error), "error")
        return redirect(back, code=303)
    flash(f"Restored an earlier version of {page.table.record_name} #{row_id}.")
    return redirect(url_for("forms.edit", slug=slug, record_id=row_id), code=303)


# -- the bin --------------------------------------------------------------------------------


@bp.get("/tables/<slug>/deleted")
def deleted(slug: str) -> str:
    page: TablePage = find_page(slug, TablePage)
    db = get_db()
    table = page.table
    columns = list(page.columns or table.fields)
    binned = history.in_bin(db, table)
    rows = [
        (item, [shown(db, table.fields[c], item.row.get(c)) for c in columns]) for item in binned
    ]
    return render_template(
        "deleted.html",
        page=page,
        columns=[table.fields[c] for c in columns],
        rows=rows,
        total=history.bin_count(db, table),
        days=current_tool().bin_days,
        when=_when,
    )


@bp.post("/bin/<row_id:change_id>/restore")
def restore(change_id: int) -> Response:
    try:
        table, row_id = history.restore_deleted(get_db(), current_tool(), change_id)
    except NotDone as error:  # refused, nothing written (a looked-up record too)
        flash(str(error), "error")
        return redirect(request.referrer or url_for("views.home"), code=303)
    flash(f"Restored {table.record_name} #{row_id}.")
    form = current_tool().form_for(table)
    if form is None:
        listing = current_tool().listing_for(table)
        return redirect(page_url(listing) if listing else url_for("views.home"), code=303)
    return redirect(url_for("forms.edit", slug=form.slug, record_id=row_id), code=303)


@bp.route("/tables/<slug>/deleted/empty", methods=["GET", "POST"])
def empty(slug: str) -> Reply:
    page: TablePage = find_page(slug, TablePage)
    db = get_db()
    if request.method == "POST":
        gone = history.empty_bin(db, page.table)
        flash(f"Emptied the bin: {gone:,} deleted {page.table.record_name}"
              f"{'' if gone == 1 else 's'} can no longer be restored.")  # fmt: skip
        return redirect(url_for("changes.deleted", slug=slug), code=303)
    return render_template("empty_bin.html", page=page, total=history.bin_count(db, page.table))


def _when(at: str) -> str:
    return at.replace("T", " ")
