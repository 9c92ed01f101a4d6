"""Table pages: rows sorted, filtered and searched as the address says, a page at a time
(``deskwork.db.listing``); their count, totals and facet counts arrive on their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
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
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from deskwork import exports, locales, team
from deskwork import once as tokens
from deskwork.db import bulk, listing
from deskwork.db.storage import Storage
from deskwork.errors import TooManyRows, ValidationError
from deskwork.fields import Lookup
from deskwork.fields.base import as_row_id
from deskwork.model import FormPage, TablePage
from deskwork.views import current_tool, find_page, get_db
from deskwork.views.widgets import controls

bp = Blueprint("tables", __name__)


@bp.get("/tables/<slug>", endpoint="listing")
def listing_page(slug: str) -> str:
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    db = get_db()
    rows = listing.page_of_rows(db, view)
    picked = {
        name: listing.labels(db, f, [c for c in view.raw.getlist(name)])
        for name, f in page.table.fields.items()
        if isinstance(f, Lookup) and view.raw.getlist(name)
    }
    for c in view.conditions:  # a lookup's filter says whom: "Employee is Ada Okafor"
        if c.column in picked and c.args == (c.column,):
            names = [str(picked[c.column].get(i, f"#{i}")) for i in c.params]
            c.text = f"{page.table.fields[c.column].label} is {' or '.join(names)}"
    form = current_tool().form_for(page.table)
    # Each row's address, made once (a url_for per row is a tenth of the page's time).
    edit = url_for("forms.edit", slug=form.slug, record_id=0)[:-1] if form else ""
    here_args = view.arguments()
    named = listing.named_view(current_tool(), view)
    return render_template(
        "table.html",
        exports=exports.offered(locales.current().decimal) if team.may("tables.export") else [],
        nav_current=named.slug if named else page.slug,
        clear_filters=url_for(
            "tables.listing",
            slug=slug,
            **{k: v for k, v in here_args.items() if k in ("sort", "q", "cols")},
        ),
        heading=named.title if named else page.title,
        page=page,
        view=view,
        form=form,
        tbody=_rows_html(page, view.columns, rows, edit),
        edit=edit,
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
        settable=bulk.settable(page.table),
        view_query=urlencode(here_args, doseq=True),
    )


def _rows_html(page: TablePage, columns: list[str], found: listing.Page, edit: str) -> Markup:
    """The table's rows, as the template would write them, written here: fifty rows of
    cells are most of a page's work, and a loop in Python does it in a third of the time.

    A row opens its record (``data-href``; its first cell is a link too); with a form,
    it has a tick box for acting on many rows; the row just saved is marked."""
    fields = [(c, page.table.fields[c]) for c in columns]
    as_is = {c for c, f in fields if f.widget in ("lookup", "file")}
    name = escape(page.table.record_name)
    edit = escape(edit)
    out = []
    for n, row in enumerate(found.rows):
        row_id = int(row["id"])
        href = f"{edit}{row_id}"
        saved = row_id == found.at
        cells = []
        if edit:
            focus = 0 if saved or (n == 0 and found.at is None) else -1
            opening = f'<tr data-href="{href}" tabindex="{focus}"'
            cells.append(
                f'<td class="pick"><label><input type="checkbox" name="id" value="{row_id}" '
                f'form="bulk"><span class="unseen">Select {name} #{row_id}</span></label></td>'
            )
        else:
            opening = "<tr"
        if saved:
            opening += ' class="saved" aria-current="true"'
        for i, (c, f) in enumerate(fields):
            value = row[c]
            text = escape(("" if value is None else str(value)) if c in as_is else f.display(value))
            file_id = row.get(f"{c}__file")
            if i == 0 and edit:
                text = Markup(f'<a href="{href}">{text or f"#{row_id}"}</a>')
            elif file_id and text:
                where = escape(url_for("forms.download", file_id=file_id, name=str(value)))
                text = Markup(f'<a href="{where}" download>{text}</a>')
            cells.append(f'<td class="num">{text}</td>' if f.numeric else f"<td>{text}</td>")
        out.append(f"{opening}>{''.join(cells)}</tr>")
    return Markup("\n".join(out))


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
    verb = (" matches" if found["count"] == 1 else " match") if view.filtered else ""
    found["text"] = page.table.counted(found["count"]) + verb
    return jsonify(found)


def _saving() -> exports.Saving:
    saving = current_app.extensions.get("deskwork.saving")
    if saving is None:
        abort(404)
    return cast(exports.Saving, saving)


@bp.post("/tables/<slug>/export/<key>")
def save_export(slug: str, key: str) -> Response:
    """In the native window, which drops downloads: the export of the view the address
    holds, saved where the system's save dialog says, on a thread of its own (JSON: how
    far it is, as ``export_status`` tells)."""
    saving = _saving()
    page: TablePage = find_page(slug, TablePage)
    fmt = exports.FORMATS.get(key) or abort(404)
    args = request.args.copy()
    title = exports.view_title(current_tool(), listing.read_view(page, args))
    storage = cast(Storage, current_app.extensions["deskwork.storage"])
    tool = current_tool()
    status = saving.start(
        exports.file_name(title, fmt), fmt, storage,
        lambda db: exports.page_sheet(tool, db, slug, args, fmt),
    )  # fmt: skip
    return jsonify(status)


@bp.get("/exports/status", endpoint="export_status")
def export_status() -> Response:
    return jsonify(_saving().status())


@bp.post("/exports/cancel", endpoint="cancel_export")
def cancel_export() -> Response:
    return jsonify(_saving().cancel())


@bp.get("/tables/<slug>/export/<key>")
def export(slug: str, key: str) -> Any:
    """Every row the table page's address shows, as a file (``deskwork.exports``),
    streamed as SQLite reads them. A failure half-way ends the download in an error
    (the connection closes before the end of its chunks), never in a shorter file."""
    find_page(slug, TablePage)
    fmt = exports.FORMATS.get(key) or abort(404)
    storage = cast(Storage, current_app.extensions["deskwork.storage"])
    db = storage.connect(check_same_thread=False)  # closed with the last byte sent
    try:
        sheet = exports.page_sheet(current_tool(), db, slug, request.args, fmt)
        chunks = exports.encode(sheet, fmt)
    except TooManyRows as error:
        db.close()
        flash(str(error), "error")
        back = url_for("tables.listing", slug=slug)
        return redirect(f"{back}?{request.query_string.decode()}" if request.query_string else back)
    except BaseException:
        db.close()
        raise

    def stream() -> Iterator[bytes]:
        try:
            yield from chunks
        finally:
            db.close()

    name = exports.file_name(sheet.title, fmt)
    team.note("export", f"{sheet.title}: {sheet.count:,} rows as {fmt.label}")
    return Response(
        stream(),
        mimetype=fmt.mimetype.split(";")[0],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Deskwork-Rows": str(sheet.count),
        },
    )


@bp.get("/tables/<slug>/facets")
def facets(slug: str) -> Response:
    """The most frequent values of each value-filtered column in the view, with counts."""
    page: TablePage = find_page(slug, TablePage)
    view = listing.read_view(page, request.args)
    out: dict[str, Any] = listing.facets(get_db(), view)
    return jsonify(out)


# -- acting on many rows --------------------------------------------------------------------

#: Rows a bulk action's page shows of those it will change.
PREVIEW = 10
#: Rows picked one by one in one action (beyond: "all rows that match").
MOST_PICKED = 10_000


class Selection:
    """The rows a bulk form names: ticked ones (``id``), or all the view holds (``_all``),
    the view being the table page's own address (``_view``). The form's own names start
    with ``_``: a column may be called "view" or "count"."""

    def __init__(self, page: TablePage, form: MultiDict[str, str]) -> None:
        self.page = page
        self.query = str(form.get("_view", ""))[:4000]
        self.view = listing.read_view(page, MultiDict(parse_qsl(self.query)))
        self.everything = form.get("_all") == "1"
        picked = [as_row_id(v) for v in form.getlist("id")[:MOST_PICKED]]
        self.picked = [i for i in picked if i is not None]

    def ids(self) -> list[int]:
        db = get_db()
        if self.everything:
            return bulk.matching_ids(db, self.view)
        return bulk.existing_ids(db, self.page.table, self.picked)

    @property
    def back(self) -> str:
        return url_for("tables.listing", slug=self.page.slug) + (
            f"?{self.query}" if self.query else "")  # fmt: skip


def _editing_form(page: TablePage) -> FormPage:
    form = current_tool().form_for(page.table)
    if form is None:
        abort(404)
    return form


@bp.post("/tables/<slug>/bulk")
def bulk_confirm(slug: str) -> Any:
    """The question before a bulk action: what it does, to how many rows, which ones."""
    page: TablePage = find_page(slug, TablePage)
    form = _editing_form(page)
    selection = Selection(page, request.form)
    action = request.form.get("_do")
    name = str(request.form.get("_field", ""))
    if action not in ("delete", "set") or (action == "set" and name not in
                                             bulk.settable(page.table)):  # fmt: skip
        flash("Choose what to do with the selected rows.", "error")
        return redirect(selection.back, code=303)
    ids = selection.ids()
    if not ids:
        flash("Select rows first: tick them, or “All rows that match”.", "error")
        return redirect(selection.back, code=303)
    team.check_bulk(action, len(ids))
    return _confirm_page(page, form, selection, action, name, ids)


def _confirm_page(page: TablePage, form: FormPage, selection: Selection, action: str,
                  name: str, ids: list[int], error: str | None = None,
                  field_error: str | None = None,
                  typed: dict[str, Any] | None = None) -> Any:  # fmt: skip
    db = get_db()
    shown = listing.Condition("id", "", f"t.id IN ({', '.join('?' for _ in ids[:PREVIEW])})",
                              ids[:PREVIEW], ())  # fmt: skip
    preview_view = listing.View(page, selection.view.sort, selection.view.descending,
                                conditions=[shown])  # fmt: skip
    preview = listing.Query(db, preview_view).walk(0, None, True, PREVIEW, False)
    field = bulk.settable(page.table).get(name)
    control = None
    if action == "set" and field is not None:
        stored = {name: None}
        errors = {name: field_error} if field_error else None
        control = controls({name: field}, stored, typed or {}, errors, prefix="bulk")[0]
    html = render_template(
        "bulk.html", page=page, form=form, action=action, field=field, control=control,
        count=len(ids), plural=page.table.counted(len(ids)), preview=preview,
        columns=preview_view.columns, selection=selection,
        error=error,
        once=tokens.issue(f"bulk:{page.slug}"), nav_current=page.slug,
        rows_digest=bulk.digest(ids),
    )  # fmt: skip
    return (html, 400) if error or field_error else html


@bp.post("/tables/<slug>/bulk/apply")
def bulk_apply(slug: str) -> Any:
    """Do the bulk action asked on its question page: one transaction, one undo."""
    page: TablePage = find_page(slug, TablePage)
    form = _editing_form(page)
    selection = Selection(page, request.form)
    action = str(request.form.get("_do", ""))
    name = str(request.form.get("_field", ""))
    once = request.form.get("_once")
    if not tokens.valid(once, f"bulk:{page.slug}"):
        flash(tokens.REFUSED, "error")
        return redirect(selection.back, code=303)
    ids = selection.ids()
    team.check_bulk(action, len(ids))
    if selection.everything and request.form.get("_rows") != bulk.digest(ids):
        f = bulk.settable(page.table).get(name)
        typed = {name: f.raw(request.form)} if f is not None else None
        return _confirm_page(
            page, form, selection, action, name, ids,
            f"The rows that match changed since you were asked ({len(ids):,} now): nothing "
            "was changed. Check them and confirm again.", typed=typed,
        )  # fmt: skip
    db = get_db()
    try:
        if action == "delete":
            action_id, done = bulk.delete(db, current_tool(), page.table, ids, once)
            message = f"Deleted {page.table.counted(done)}."
        elif action == "set" and name in bulk.settable(page.table):
            f = bulk.settable(page.table)[name]
            raw = f.raw(request.form)
            try:
                value = bulk.parse_value(db, f, raw)
            except ValidationError as error:
                return _confirm_page(page, form, selection, action, name, ids,
                                     field_error=str(error), typed={name: raw})  # fmt: skip
            changed_id, done = bulk.set_field(db, form, ids, name, value, once)
            if changed_id is None:
                flash(f"Nothing to change: the {page.table.counted(len(ids))} hold "
                      f"that {f.label.lower()} already.")  # fmt: skip
                return redirect(selection.back, code=303)
            action_id = changed_id
            message = f"Set {f.label.lower()} on {page.table.counted(done)}."
        else:
            abort(400)
    except ValidationError as error:
        return _confirm_page(page, form, selection, action, name, ids, str(error))
    flash(message, f"undo:{action_id}")
    return redirect(selection.back, code=303)
