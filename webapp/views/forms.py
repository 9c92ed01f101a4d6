"""Form pages: new, edit, duplicate, delete and undo; lookups and attached files (a
record's history and the bin are in ``changes``).

Every save is post/redirect/get, so a refresh never saves twice, and every new-record form
carries a one-time token, so a double click does not either (``deskwork.db.records``).
"""

from __future__ import annotations

import io
from contextlib import suppress
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.wrappers import Response

from deskwork import once as tokens
from deskwork.db import attachments, history, lookups, records
from deskwork.db import listing as listing_rows
from deskwork.errors import Conflict, NotDone, RecordGone, Refused, StillReferenced, ValidationError
from deskwork.fields import Date, DateTime, File, Lookup
from deskwork.model import FormPage, TablePage
from deskwork.views import current_tool, find_page, get_db, page_url, row_id_arg
from deskwork.views.widgets import controls

bp = Blueprint("forms", __name__)

Reply = str | Response | tuple[str, int]


def render_form(
    page: FormPage,
    *,
    stored: dict[str, Any],
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    record_id: int | None = None,
    version: str | None = None,
    once: str | None = None,
    conflict: Conflict | None = None,
    heading: str | None = None,
    status: int = 200,
) -> Reply:
    theirs: list[tuple[str, str, str]] = []
    if conflict is not None and typed is not None:
        theirs = conflict_rows(page, conflict.current, typed)
    why_not = None
    referring: list[tuple[str, str]] = []
    if record_id is not None:
        why_not = history.why_not_deletable(get_db().conn, current_tool(), page.table, record_id)
        for target, column, count in listing_rows.references(
            get_db(), current_tool(), page.table, record_id
        ):
            table = target.table
            text = table.counted(count)
            if sum(f.table_name == page.table.name for f in table.lookups().values()) > 1:
                text += f" ({table.fields[column].label.lower()})"  # which of its lookups
            referring.append((text, page_url(target, **{column: record_id})))
    html = render_template(
        "form.html",
        why_not=why_not,
        referring=referring,
        nav_current=listing_slug(page) if record_id else page.slug,
        page=page,
        heading=heading or page.title,
        controls=controls(page.table.fields, stored, typed, errors),
        errors=errors or {},
        record_id=record_id,
        version=version,
        once=once,
        conflict=conflict,
        theirs=theirs,
        cancel_url=cancel_url(page),
    )
    return (html, status) if status != 200 else html


def conflict_rows(
    page: FormPage, current: dict[str, Any], typed: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(label, saved meanwhile, yours) for every field where the two differ."""
    db = get_db()
    rows = []
    for name, f in page.table.editable.items():
        theirs = f.display(current.get(name))
        raw = typed.get(name)
        if isinstance(f, Lookup):
            theirs = lookups.label(db, f, current.get(name))
            picked = f.picked_id(raw)
            mine = str(raw or "") if picked is None else lookups.label(db, f, picked)
        elif isinstance(f, File):
            mine_file = attachments.describe(db, raw) if raw else None
            theirs_file = attachments.describe(db, current.get(name))
            mine = mine_file.name if mine_file else ""
            theirs = theirs_file.name if theirs_file else ""
        elif isinstance(raw, list):
            mine = ", ".join(f.labels.get(v, v) for v in raw) if hasattr(f, "labels") else ""
        else:
            try:
                mine = f.display(f.to_db(f.parse(raw)))
            except Exception:  # shown as typed: it is only for comparing
                mine = "" if raw is None else str(raw)
        if mine != theirs:
            rows.append((f.label, theirs, mine))
    return rows


def cancel_url(page: FormPage) -> str:
    tool = current_tool()
    target = tool.pages.get(page.after or "")
    if target is not None:
        return page_url(target)
    listing = tool.listing_for(page.table)
    return page_url(listing) if listing else url_for("views.home")


def listing_slug(page: FormPage) -> str:
    """The page family a record of ``page`` belongs to, for the navigation: its table's
    page (editing an expense is "Expenses", not "New expense"), else the form's own."""
    listing = current_tool().listing_for(page.table)
    return listing.slug if listing else page.slug


def defaults(page: FormPage) -> dict[str, Any]:
    return {n: f.to_db(f.default()) for n, f in page.table.fields.items()}


def kept_for_another(page: FormPage) -> dict[str, str]:
    """What "Save and add another" keeps for the next record: its dates, not the times
    (a pile of receipts of one day is typed one after another)."""
    return {
        name: str(request.form.get(name, ""))
        for name, f in page.table.editable.items()
        if isinstance(f, Date) and not isinstance(f, DateTime) and request.form.get(name)
    }


def after_saving(page: FormPage, record_id: int) -> str:
    """Where a new record's form goes once it is saved: its ``after`` page; a table page
    of the record's table opens at the record, highlighted, wherever it sorts."""
    target = current_tool().pages.get(page.after or "")
    if target is None:
        return url_for("forms.new", slug=page.slug)
    if isinstance(target, TablePage) and target.table is page.table:
        return page_url(target, at=record_id)
    return page_url(target)


def load(page: FormPage, record_id: int) -> dict[str, Any]:
    row = records.get_row(get_db(), page.table, record_id)
    if row is None:
        abort(404, f"There is no {page.table.record_name} #{record_id}: it may have been deleted.")
    return row


# -- new, duplicate ---------------------------------------------------------------------------


def saved_once(page: FormPage, row_id: int, *, fresh: bool) -> Response:
    edit_url = url_for("forms.edit", slug=page.slug, record_id=row_id)
    if fresh:
        flash(f"Saved {page.table.record_name} #{row_id}.", f"saved:{edit_url}")
    else:
        name = page.table.record_name.capitalize()
        flash(f"{name} #{row_id} was already saved; it was not saved twice.", f"saved:{edit_url}")
    if request.form.get("_then") == "another":
        kept: dict[str, Any] = kept_for_another(page)
        return redirect(url_for("forms.new", slug=page.slug, **kept), code=303)
    return redirect(after_saving(page, row_id), code=303)


@bp.route("/forms/<slug>", methods=["GET", "POST"])
def new(slug: str) -> Reply:
    page: FormPage = find_page(slug, FormPage)
    form_key = f"form:{slug}"
    if request.method == "POST":
        once = request.form.get("_once") or None
        if not tokens.valid(once, form_key):
            parsed = records.parse_record(
                get_db(), current_tool(), page, request.form, request.files
            )
            return render_form(
                page, stored=defaults(page), typed=parsed.typed,
                errors={**parsed.errors, "__all__": tokens.REFUSED},
                once=tokens.issue(form_key), status=400,
            )  # fmt: skip
        earlier = records.already_saved(get_db(), once)
        if earlier is not None:  # sent twice: the first one saved it; check nothing again
            return saved_once(page, earlier, fresh=False)
        parsed = records.parse_record(get_db(), current_tool(), page, request.form, request.files)
        if parsed.ok:
            try:
                row_id, fresh = records.create(get_db(), page.table, parsed.values, once)
            except Refused as refused:
                parsed.errors["__all__"] = str(refused)
            else:
                return saved_once(page, row_id, fresh=fresh)
        return render_form(
            page, stored=defaults(page), typed=parsed.typed, errors=parsed.errors,
            once=once, status=400,
        )  # fmt: skip

    stored = defaults(page)
    for name, value in request.args.items():  # "Save and add another": the dates kept
        f = page.table.editable.get(name)
        if isinstance(f, Date) and not isinstance(f, DateTime):
            with suppress(ValidationError):  # no longer good: the default, as for a new form
                stored[name] = f.to_db(f.parse(value))
    heading = None
    copy_of = request.args.get("copy", type=row_id_arg)
    if copy_of is not None:
        row = load(page, copy_of)
        for name, f in page.table.fields.items():
            if not f.unique and not f.readonly:
                stored[name] = row.get(name)
        heading = f"{page.title} (a copy of #{copy_of})"
    return render_form(page, stored=stored, once=tokens.issue(form_key), heading=heading)


# -- edit, delete, undo ------------------------------------------------------------------------


@bp.route("/forms/<slug>/<row_id:record_id>", methods=["GET", "POST"])
def edit(slug: str, record_id: int) -> Reply:
    page: FormPage = find_page(slug, FormPage)
    heading = f"{page.table.record_name.capitalize()} #{record_id}"
    if request.method == "GET":
        row = load(page, record_id)
        return render_form(
            page, stored=row, record_id=record_id, version=history.version_of(row),
            heading=heading,
        )  # fmt: skip

    db = get_db()
    current = records.get_row(db, page.table, record_id)
    parsed = records.parse_record(
        db, current_tool(), page, request.form, request.files, record_id=record_id, current=current
    )
    base = request.form.get("_version", "")
    if parsed.ok:
        try:
            records.update(db, page.table, record_id, parsed.values, base)
        except Conflict as conflict:
            return render_form(
                page, stored=conflict.current, typed=parsed.typed, record_id=record_id,
                version=conflict.version, conflict=conflict, heading=heading, status=409,
            )  # fmt: skip
        except RecordGone as gone:
            flash(str(gone), "error")
            return render_form(
                page, stored=defaults(page), typed=parsed.typed, once=tokens.issue(f"form:{slug}"),
                heading=f"{page.title} (from deleted #{record_id})", status=404,
            )  # fmt: skip
        except Refused as refused:
            parsed.errors["__all__"] = str(refused)
        else:
            flash(f"Saved changes to {page.table.record_name} #{record_id}.")
            return redirect(url_for("forms.edit", slug=slug, record_id=record_id), code=303)
    return render_form(
        page, stored=current or defaults(page), typed=parsed.typed, errors=parsed.errors,
        record_id=record_id, version=base, heading=heading, status=400,
    )  # fmt: skip


@bp.route("/forms/<slug>/<row_id:record_id>/delete", methods=["GET", "POST"])
def delete(slug: str, record_id: int) -> Reply:
    page: FormPage = find_page(slug, FormPage)
    row = load(page, record_id)
    problem = None
    if request.method == "POST":
        try:
            action_id = records.delete(get_db(), current_tool(), page.table, record_id)
        except StillReferenced as refused:
            problem = str(refused)
        else:
            flash(f"Deleted {page.table.record_name} #{record_id}.", f"undo:{action_id}")
            return redirect(cancel_url(page), code=303)
    summary = [(c.field.label, c.text or c.value or ", ".join(c.values)
                or (c.attachment.name if c.attachment else ""))
               for c in controls(page.table.fields, row)]  # fmt: skip
    html = render_template(
        "delete.html", page=page, nav_current=listing_slug(page), record_id=record_id,
        summary=summary, problem=problem,
        cancel=url_for("forms.edit", slug=slug, record_id=record_id),
    )  # fmt: skip
    return (html, 409) if problem else html


@bp.post("/undo/<row_id:action_id>")
def undo(action_id: int) -> Response:
    """Take back an action (a delete, from the message after it): ``deskwork.db.history``."""
    try:
        done = history.undo(get_db(), current_tool(), action_id)
    except NotDone as error:  # refused, nothing written (a looked-up record too)
        flash(str(error), "error")
        return redirect(request.referrer or url_for("views.home"), code=303)
    back = [(table, row_id) for table, row_id in done if row_id is not None]
    if len(back) != 1:
        flash(f"Undone: {len(done):,} record{'' if len(done) == 1 else 's'} as they were.")
        return redirect(request.referrer or url_for("views.home"), code=303)
    table, row_id = back[0]
    flash(f"Restored {table.record_name} #{row_id}.")
    form = current_tool().form_for(table)
    if form is None:
        return redirect(url_for("views.home"), code=303)
    return redirect(url_for("forms.edit", slug=form.slug, record_id=row_id), code=303)


# -- lookups and files -------------------------------------------------------------------------


@bp.get("/lookups/<table>/<column>")
def lookup(table: str, column: str) -> Response:
    """Rows of ``table`` whose ``column`` holds ``q``, as JSON ``[{"id", "label"}]``."""
    declared = current_tool().tables.get(table)
    if declared is None or (column != "id" and column not in declared.fields):
        abort(404)
    found = lookups.matches(get_db(), table, column, request.args.get("q", ""))
    return jsonify([{"id": row_id, "label": label} for row_id, label in found])


@bp.get("/files/<row_id:file_id>/<path:name>")
def download(file_id: int, name: str) -> Response:
    found = attachments.read(get_db(), file_id)
    if found is None:
        abort(404, "That file is no longer there.")
    attachment, data = found
    response = send_file(
        io.BytesIO(data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.name,
    )
    # Whatever the file holds, it never runs as a page of this tool.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
