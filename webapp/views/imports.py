"""The import pages: upload a file, see its columns matched to fields and every row
checked (``deskwork.imports``), change the matching, then import it all in one go.

The file is kept as a pending attached file (``deskwork.db.attachments``) between the
pages, so that checking again (another matching, the day order of dates) reads the same
bytes; it goes once imported (or cancelled), and the day's upkeep sweeps one left behind.

A large file (over ``AT_ONCE`` bytes) is checked, and saved, as a ``Job``
(``deskwork.jobs``) on a thread of its own: a page shows how far it is, the other pages
keep answering meanwhile, and **Cancel** stops it with nothing saved (the save's one
transaction rolls back) and the file gone.
"""

from __future__ import annotations

from typing import Any, cast

import sqlite_utils
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import MultiDict

from deskwork import imports, reading, team
from deskwork import once as tokens
from deskwork.db import attachments
from deskwork.db.connection import write_transaction
from deskwork.db.migrations import FILES
from deskwork.db.storage import Storage
from deskwork.errors import NotDone, UnreadableFile
from deskwork.jobs import Job
from deskwork.model import FormPage, TablePage
from deskwork.views import current_tool, find_page, get_db

bp = Blueprint("imports", __name__)

#: Bad rows the preview lists, and changes it shows.
LISTED = 50
#: Where the app keeps the last check made: (what was asked, the file's name, read, checked).
CHECKED = "deskwork.last_import"
#: Where the app keeps the file last uploaded, as read: (its id, the SHA-256 kept with
#: it, ``reading.Read``).
READ = "deskwork.last_read"
#: A file this large or smaller is checked and saved while the page waits (about
#: 5,000 rows of CSV: under a second); a larger one gets a progress page and Cancel.
AT_ONCE = 256 * 1024


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
            read = reading.read(sent.filename, data, max_rows=_most_rows())
        except UnreadableFile as refused:
            error = str(refused)
    if error:
        html = render_template("import_upload.html", page=page, nav_current=page.slug,
                               error=error)  # fmt: skip
        return html, 400
    assert sent is not None and sent.filename
    db = get_db()
    file_id = attachments.store_pending(db, sent.filename, sent.content_type, data)
    # For its first check: the same bytes (the id and the digest kept with them), read once.
    digest = db.execute(f"SELECT sha256 FROM {FILES} WHERE id = ?", [file_id]).fetchone()[0]
    current_app.extensions[READ] = (file_id, digest, read)
    return redirect(url_for("imports.preview", slug=slug, file_id=file_id), code=303)


def _asked(file_id: int, args: MultiDict[str, str]) -> tuple[Any, ...]:
    """What a check was asked for: the file and the matching, sheet and dates chosen."""
    return (file_id, *sorted((k, v) for k, v in args.items(multi=True) if k != "_once"))


def _last(file_id: int, args: MultiDict[str, str]) -> tuple[Any, ...] | None:
    """The last check made, if it was of this file as ``args`` say: (name, read, checked)."""
    last = current_app.extensions.get(CHECKED)
    if last is not None and last[0] == _asked(file_id, args):
        return tuple(last[1:])
    return None


def _kept_file(db: sqlite_utils.Database, file_id: int) -> tuple[attachments.Attachment, bytes]:
    found = attachments.read(db, file_id)
    if found is None or db.execute(f"SELECT pending FROM {FILES} WHERE id = ?",
                                   [file_id]).fetchone()[0] != 1:  # fmt: skip
        abort(404, "That file is no longer here: upload it again.")
    return found


def _checked(page: TablePage, file_id: int, args: MultiDict[str, str], *,
             again: bool = True) -> tuple[Any, ...]:  # fmt: skip
    """The kept file read and checked as ``args`` say: (file name, read, checked). Unless
    asked ``again``, the preview's own check if it was the last one made (checking 100,000
    rows takes seconds): what changed in the table since is refused at saving, by the
    version check and by SQLite's own constraints, as a form's save is."""
    if not again and (last := _last(file_id, args)) is not None:
        return last
    return _check(current_app, get_db(), _form(page), file_id, args, None)


def _check(app: Flask, db: sqlite_utils.Database, form: FormPage, file_id: int,
           args: MultiDict[str, str], job: Job | None) -> tuple[Any, ...]:  # fmt: skip
    """Read and check the kept file (telling ``job`` how far, if there is one), and keep
    the check for the save."""
    attachment, data = _kept_file(db, file_id)
    if job is not None:
        job.step(0, None, "Reading")
    uploaded = app.extensions.get(READ)
    if (uploaded is not None and uploaded[0] == file_id and not args.get("sheet")
            and uploaded[1] == attachment.sha256):  # fmt: skip
        read = uploaded[2]  # as the upload read it (the first sheet): no need to again
    else:
        read = reading.read(attachment.name, data, sheet=args.get("sheet") or None,
                            max_rows=int(app.config.get("DESKWORK_IMPORT_ROWS",
                                                        reading.IMPORT_ROWS)))  # fmt: skip
    mapping: dict[int, str] | None = None
    if "matched" in args:  # the person's own matching, from the form on the page
        mapping = {}
        for i in range(len(read.header)):
            chosen = args.get(f"col{i}", "")
            if chosen:
                mapping[i] = chosen
    dates = args.get("dates")
    day_first = True if dates == "day" else False if dates == "month" else None
    step = None
    if job is not None:
        total = len(read.rows)
        step = lambda done: job.step(done, total, "Checking")  # noqa: E731
    checked = imports.check(db, form, read, mapping, day_first=day_first, step=step,
                            unknown_ids_new=args.get("unknown_ids") == "new")  # fmt: skip
    app.extensions[CHECKED] = (_asked(file_id, args), attachment.name,
                                              read, checked)  # fmt: skip
    return attachment.name, read, checked


def _jobs() -> dict[int, Job]:
    """The import jobs under way (or just done), by the file they import."""
    return cast(dict[int, Job], current_app.extensions.setdefault("deskwork.import_jobs", {}))


def _large(file_id: int) -> bool:
    """Whether the file's check and save run on a thread, with a progress page. Not on a
    served tool: its worker processes can't follow a job another one runs, so the
    request itself does the work (seconds, at the most rows an import takes)."""
    if team.served() is not None:
        return False
    found = get_db().execute(f"SELECT size FROM {FILES} WHERE id = ?", [file_id]).fetchone()
    return found is not None and found[0] > AT_ONCE


def _start(file_id: int, name: str, work: Any) -> Job:
    """A job for the file, unless one is under way already."""
    jobs = _jobs()
    job = jobs.get(file_id)
    if job is None or not job.running:
        storage = cast(Storage, current_app.extensions["deskwork.storage"])

        def with_db(job: Job) -> Any:
            with storage.open() as db:
                return work(db, job)

        job = jobs[file_id] = Job(name, with_db).start()
    return job


@bp.get("/tables/<slug>/import/<row_id:file_id>", endpoint="preview")
def preview(slug: str, file_id: int) -> Any:
    page: TablePage = find_page(slug, TablePage)
    args = request.args
    job = _jobs().get(file_id)
    found = _last(file_id, args)
    if found is None and _large(file_id):  # checked on a thread, with a progress page
        if job is not None and job.state == "failed":  # unreadable, or gone: say so
            _jobs().pop(file_id, None)
            flash(job.reason if isinstance(job.error, UnreadableFile) else
                  "The file could not be checked: upload it again.", "error")  # fmt: skip
            return redirect(url_for("imports.upload", slug=slug), code=303)
        app = cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
        form, copy = _form(page), MultiDict(args)
        job = _start(file_id, f"Checking the file to import into {page.title}",
                     lambda db, job: _check(app, db, form, file_id, copy, job))  # fmt: skip
        return _progress_page(page, file_id, job)
    try:
        name, read, checked = found or _checked(page, file_id, args)
    except UnreadableFile as error:
        flash(str(error), "error")
        return redirect(url_for("imports.upload", slug=slug), code=303)
    return _preview_page(page, file_id, name, read, checked)


def _progress_page(page: TablePage, file_id: int, job: Job) -> str:
    return render_template(
        "import_progress.html", page=page, nav_current=page.slug, job=job,
        status=url_for("imports.status", slug=page.slug, file_id=file_id),
        cancel=url_for("imports.cancel", slug=page.slug, file_id=file_id),
        here=request.full_path if request.method == "GET" else url_for(
            "imports.saving", slug=page.slug, file_id=file_id),
    )  # fmt: skip


def _told(job: Job) -> dict[str, Any]:
    count = job.count
    text = f"{job.phase} row {job.done:,} of {count:,}" if count else f"{job.phase or 'Starting'}…"
    return {"state": job.state, "done": job.done, "count": count, "text": text}


@bp.get("/tables/<slug>/import/<row_id:file_id>/status", endpoint="status")
def status(slug: str, file_id: int) -> Response:
    """How far the file's check or save is (JSON, for the progress page)."""
    find_page(slug, TablePage)
    job = _jobs().get(file_id)
    if job is None:
        return jsonify({"state": "idle", "text": ""})
    return jsonify(_told(job))


@bp.post("/tables/<slug>/import/<row_id:file_id>/cancel", endpoint="cancel")
def cancel(slug: str, file_id: int) -> Any:
    """Stop the file's check or save, with nothing saved, and let go of the file."""
    page: TablePage = find_page(slug, TablePage)
    job = _jobs().pop(file_id, None)
    if job is not None:
        job.cancel()
        job.wait(60)  # the next thousand rows: the save's transaction rolls back
    if job is not None and job.state == "done" and job.phase == "Saving":
        _finish(page, job.result)  # it was done before Cancel came
    else:
        with write_transaction(get_db()) as conn:
            conn.execute(f"DELETE FROM {FILES} WHERE id = ? AND pending = 1", [file_id])
        current_app.extensions.pop(CHECKED, None)
        current_app.extensions.pop(READ, None)
        flash("Import cancelled: nothing was saved.")
    return redirect(url_for("tables.listing", slug=slug), code=303)


def _preview_page(page: TablePage, file_id: int, name: str, read: Any, checked: Any,
                  error: str | None = None) -> Any:  # fmt: skip
    table = page.table
    choices = [("", "Leave out"), (imports.ID, "ID (update that record)")] + [
        (n, f.label) for n, f in table.editable.items() if n in imports.importable(table)
    ]
    html = render_template(
        "import_preview.html", page=page, nav_current=page.slug, name=name, read=read,
        checked=checked, choices=choices, file_id=file_id, error=error,
        bad=checked.bad[:LISTED], unknown_ids=any(r.unknown_id for r in checked.bad),
        changes=[r for r in checked.rows if r.kind == "change"][:LISTED],
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
    """Import every row of the kept file as checked: one transaction, one action (a
    large file on a thread of its own, with a progress page)."""
    page: TablePage = find_page(slug, TablePage)
    args = MultiDict(request.form)
    name, read, checked = _checked(page, file_id, args, again=False)
    if not tokens.valid(request.form.get("_once"), f"import:{page.slug}:{file_id}"):
        return _preview_page(page, file_id, name, read, checked, tokens.REFUSED)
    team.note("import", f"{name} into {page.title}: {len(checked.rows):,} rows")
    if _large(file_id):
        _start(file_id, f"Importing {name} into {page.title}",
               lambda db, job: _save(db, file_id, name, checked, job))  # fmt: skip
        return redirect(url_for("imports.saving", slug=slug, file_id=file_id), code=303)
    try:
        result = _save(get_db(), file_id, name, checked, None)
    except NotDone as refused:
        return _preview_page(page, file_id, name, read, checked, str(refused))
    _finish(page, result)
    return redirect(url_for("tables.listing", slug=slug), code=303)


def _save(db: sqlite_utils.Database, file_id: int, name: str, checked: imports.Checked,
          job: Job | None) -> tuple[Any, ...]:  # fmt: skip
    """Save the checked rows, then let go of the file: (action, new, changed, rows, name)."""
    total = len(checked.rows)
    step = None if job is None else (lambda done: job.step(done, total, "Saving"))
    action, new, changed = imports.commit(db, checked, label=f"Imported {name}", step=step)
    with write_transaction(db) as conn:
        conn.execute(f"DELETE FROM {FILES} WHERE id = ? AND pending = 1", [file_id])
    return action, new, changed, total, name


def _finish(page: TablePage, result: tuple[Any, ...]) -> None:
    """Say what the import did, with its Undo."""
    current_app.extensions.pop(CHECKED, None)
    current_app.extensions.pop(READ, None)
    action, new, changed, total, name = result
    if action is None:
        flash(f"Nothing to import: the {total:,} rows of {name} are there already.")
        return
    flash(f"Imported {page.table.counted(new + changed)} from {name}: {new:,} new, "
          f"{changed:,} changed.", f"undo:{action}")  # fmt: skip


@bp.get("/tables/<slug>/import/<row_id:file_id>/saving", endpoint="saving")
def saving(slug: str, file_id: int) -> Any:
    """A large import's save: how far it is, then (once done) what it did."""
    page: TablePage = find_page(slug, TablePage)
    job = _jobs().get(file_id)
    if job is None:
        return redirect(url_for("tables.listing", slug=slug), code=303)
    if job.running:
        return _progress_page(page, file_id, job)
    _jobs().pop(file_id, None)
    if job.state == "done":
        _finish(page, job.result)
        return redirect(url_for("tables.listing", slug=slug), code=303)
    flash(f"Nothing was imported: {job.reason}" if job.state == "failed"
          else "Import cancelled: nothing was saved.", "error")  # fmt: skip
    return redirect(url_for("imports.preview", slug=slug, file_id=file_id), code=303)
