"""The import pages: upload a file, see its columns matched to fields and every row
checked (``deskwork.imports``), change the matching, then import it all in one go.

The file is kept as a pending attached file (``deskwork.db.attachments``) between the
pages, so that checking again (another matching, the day order of dates) reads the same
bytes; it goes once imported, and the day's upkeep sweeps one left behind.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from deskwork import imports, reading
from deskwork import once as tokens
from deskwork.db import attachments
from deskwork.db.migrations import FILES
from deskwork.errors import NotDone, UnreadableFile
from deskwork.model import FormPage, TablePage
from deskwork.views import current_tool, find_page, get_db

bp = Blueprint("imports", __name__)

#: Bad rows the preview lists, and changes it shows.
LISTED = 50


def _most_rows() -> int:
    return int(current_app.config.get("DESKWORK_IMPORT_ROWS", reading.IMPORT_ROWS))


def _form(page: TablePage) -> FormPage:
    form = current_tool().form_for(page.table)
    if form is None:
        abort(404)
    return form


@bp.get("/tables/<slug>/import", endpoint="upload")
def upload_page(slug: str) -> str:
    page: TablePage = find_page(slug, TablePage)
    _form(page)
    return render_template("import_upload.html", page=page, nav_current=page.slug)


@bp.post("/tables/<slug>/import", endpoint="receive")
def upload(slug: str) -> Any:
    """Read the file sent; if it is a table, keep it and show its preview."""
    page: TablePage = find_page(slug, TablePage)
    _form(page)
    sent = request.files.get("file")
    error = None
    if sent is None or not sent.filename:
        error = "Choose a file to import: a CSV file or an Excel workbook."
    else:
        data = sent.read()
        try:
            reading.read(sent.filename, data, max_rows=_most_rows())
        except UnreadableFile as refused:
            error = str(refused)
    if error:
        html = render_template("import_upload.html", page=page, nav_current=page.slug,
                               error=error)  # fmt: skip
        return html, 400
    assert sent is not None and sent.filename
    file_id = attachments.store_pending(get_db(), sent.filename, sent.content_type, data)
    return redirect(url_for("imports.preview", slug=slug, file_id=file_id), code=303)


def _asked(file_id: int, args: MultiDict[str, str]) -> tuple[Any, ...]:
    """What a check was asked for: the file and the matching, sheet and dates chosen."""
    return (file_id, *sorted((k, v) for k, v in args.items(multi=True) if k != "_once"))


def _checked(page: TablePage, file_id: int, args: MultiDict[str, str], *,
             again: bool = True) -> tuple[Any, ...]:  # fmt: skip
    """The kept file read and checked as ``args`` say: (file name, read, checked). Unless
    asked ``again``, the preview's own check if it was the last one made (checking 100,000
    rows takes seconds): what changed in the table since is refused at saving, by the
    version check and by SQLite's own constraints, as a form's save is."""
    last = current_app.extensions.get("deskwork.last_import")
    if not again and last is not None and last[0] == _asked(file_id, args):
        return tuple(last[1:])
    db = get_db()
    found = attachments.read(db, file_id)
    if found is None or db.execute(f"SELECT pending FROM {FILES} WHERE id = ?",
                                   [file_id]).fetchone()[0] != 1:  # fmt: skip
        abort(404, "That file is no longer here: upload it again.")
    attachment, data = found
    read = reading.read(attachment.name, data, sheet=args.get("sheet") or None,
                        max_rows=_most_rows())  # fmt: skip
    form = _form(page)
    mapping: dict[int, str] | None = None
    if "matched" in args:  # the person's own matching, from the form on the page
        mapping = {}
        for i in range(len(read.header)):
            chosen = args.get(f"col{i}", "")
            if chosen:
                mapping[i] = chosen
    dates = args.get("dates")
    day_first = True if dates == "day" else False if dates == "month" else None
    checked = imports.check(db, form, read, mapping, day_first=day_first)
    current_app.extensions["deskwork.last_import"] = (_asked(file_id, args), attachment.name,
                                                      read, checked)  # fmt: skip
    return attachment.name, read, checked


@bp.get("/tables/<slug>/import/<row_id:file_id>", endpoint="preview")
def preview(slug: str, file_id: int) -> Any:
    page: TablePage = find_page(slug, TablePage)
    try:
        name, read, checked = _checked(page, file_id, request.args)
    except UnreadableFile as error:
        flash(str(error), "error")
        return redirect(url_for("imports.upload", slug=slug), code=303)
    return _preview_page(page, file_id, name, read, checked)


def _preview_page(page: TablePage, file_id: int, name: str, read: Any, checked: Any,
                  error: str | None = None) -> Any:  # fmt: skip
    table = page.table
    choices = [("", "Leave out"), (imports.ID, "ID (update that record)")] + [
        (n, f.label) for n, f in table.editable.items() if n in imports.importable(table)
    ]
    html = render_template(
        "import_preview.html", page=page, nav_current=page.slug, name=name, read=read,
        checked=checked, choices=choices, file_id=file_id, error=error,
        bad=checked.bad[:LISTED], changes=[r for r in checked.rows if r.kind == "change"][:LISTED],
        label=lambda column: table.fields[column].label if column in table.fields else (
            "ID" if column == imports.ID else "The row"),
        shown=lambda column, value: table.fields[column].display(value)
        if column in table.fields else str(value),
        once=tokens.issue(f"import:{page.slug}:{file_id}"),
        args=request.args,
    )  # fmt: skip
    return (html, 400) if error else html


@bp.post("/tables/<slug>/import/<row_id:file_id>")
def commit(slug: str, file_id: int) -> Any:
    """Import every row of the kept file as checked: one transaction, one action."""
    page: TablePage = find_page(slug, TablePage)
    args = MultiDict(request.form)
    name, read, checked = _checked(page, file_id, args, again=False)
    if not tokens.valid(request.form.get("_once"), f"import:{page.slug}:{file_id}"):
        return _preview_page(page, file_id, name, read, checked, tokens.REFUSED)
    db = get_db()
    try:
        action, new, changed = imports.commit(db, checked, label=f"Imported {name}")
    except NotDone as refused:
        return _preview_page(page, file_id, name, read, checked, str(refused))
    current_app.extensions.pop("deskwork.last_import", None)
    with db.conn:
        db.conn.execute(f"DELETE FROM {FILES} WHERE id = ? AND pending = 1", [file_id])
    back = url_for("tables.listing", slug=slug)
    if action is None:
        flash(f"Nothing to import: the {len(checked.rows):,} rows of {name} are there already.")
        return redirect(back, code=303)
    flash(f"Imported {page.table.counted(new + changed)} from {name}: {new:,} new, "
          f"{changed:,} changed.", f"undo:{action}")  # fmt: skip
    return redirect(back, code=303)
