"""The JSON API: every declared table and report, for programs on the same desk.

``/api/tables/<table>`` lists rows with the table page's own address words (filters,
sort, search, keyset paging: ``deskwork.filters``), and takes a new record (POST);
``/api/tables/<table>/<id>`` is one record: GET, PATCH (the fields sent, with the
version it was read at: a stale one gets 409, as a form's save does) and DELETE (to the
bin; ``/api/undo/<action>`` takes it back). ``/api/reports/<slug>`` runs a report with
its parameters. Values are as ``deskwork.api`` says; the rules are the forms' own
(``deskwork.db.records``); the document is ``/api/openapi.json`` (``deskwork.openapi``)
and a page of it is ``/api/``.

Who may call: the pages' protection (``deskwork.security``), and a program with the
launch's API token (``Authorization: Bearer``). Every error is JSON: ``{"error": ...}``,
with ``"errors"`` by field where fields are wrong.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from deskwork import api, locales, openapi
from deskwork.db import history, listing, records
from deskwork.db.migrations import FILES
from deskwork.errors import Conflict, DeskworkError
from deskwork.filters import unknown_words
from deskwork.model import FormPage, ReportPage, Table, TablePage
from deskwork.views import current_tool, get_db
from deskwork.views.reports import ReportFailed, header, report_params, run

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(DeskworkError):
    """A request the API can't do: its status, its message and the fields' errors."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def error_response(status: int, message: str, headers: Any = None, **extra: Any) -> Response:
    """Every error the API answers, as JSON."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def answer_error(error: Exception) -> Response:
    """An error while answering an API request, as JSON (the app's handlers ask here)."""
    if isinstance(error, ApiError):
        return error_response(error.status, str(error), **error.extra)
    if isinstance(error, DeskworkError):
        return error_response(error.status, str(error))
    if isinstance(error, HTTPException):
        message = error.description or error.name
        response = error_response(error.code or 500, message, headers=error.get_headers())
        if error.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="deskwork"'
        return response
    return error_response(500, "Something went wrong. The details are in the log file.")


# -- tables ----------------------------------------------------------------------------------


def _table(name: str) -> Table:
    table = current_tool().tables.get(name)
    if table is None:
        raise ApiError(404, f"There is no table {name[:60]!r}: see /api/openapi.json.")
    return table


def table_page(table: Table) -> TablePage:
    """The table page whose address words a table's list takes (a plain one if none)."""
    return current_tool().listing_for(table) or TablePage(table.name, table, table.name)


def form_page(table: Table) -> FormPage:
    """The form whose rules a table's records are checked by (a plain one if none)."""
    return current_tool().form_for(table) or FormPage(table.name, table, table.name)


def _files(rows: list[dict[str, Any]], table: Table) -> dict[int, str]:
    ids = [int(r[c]) for r in rows for c in table.files() if r.get(c) is not None]
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    found = get_db().execute(f"SELECT id, name FROM {FILES} WHERE id IN ({marks})", ids)
    return {int(i): str(n) for i, n in found.fetchall()}


def _records_json(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    files = _files(rows, table)
    return [api.record_out(table, r, files, history.version_of(r)) for r in rows]


def _record_json(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return _records_json(table, [row])[0]


def _view(table: Table) -> listing.View:
    """The view the query string asks for; 400 for a word or value it can't read (a
    script must not get every row for a filter mistyped)."""
    page = table_page(table)
    unknown = unknown_words(page, request.args, also=openapi.PAGING)
    view = listing.read_view(page, request.args)
    problems = [*([unknown] if unknown else []), *view.problems]
    if problems:
        raise ApiError(400, " ".join(problems))
    return view


@bp.get("/tables/<name>", endpoint="list")
def list_rows(name: str) -> Response:
    """A page of the table's rows (as many as its page shows), with the addresses of the
    pages before and after it."""
    table = _table(name)
    view = _view(table)
    db = get_db()
    found = listing.page_of_rows(db, view)
    ids = [int(r["id"]) for r in found.rows]
    rows = _full_rows(table, ids)
    args = view.arguments()
    return jsonify({
        "rows": _records_json(table, rows),
        "next": url_for("api.list", name=name, **args, after=_key(found.rows[-1]))
        if found.has_next and found.rows else None,
        "previous": url_for("api.list", name=name, **args, before=_key(found.rows[0]))
        if found.has_previous and found.rows else None,
    })  # fmt: skip


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row["_key"], separators=(",", ":"))


def _full_rows(table: Table, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    cursor = get_db().execute(f"SELECT * FROM [{table.name}] WHERE id IN ({marks})", ids)
    names = [d[0] for d in cursor.description]
    by_id = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    return [by_id[i] for i in ids if i in by_id]


@bp.get("/tables/<name>/count", endpoint="count")
def count(name: str) -> Response:
    """How many rows the view holds, and the totals of its money and number columns."""
    table = _table(name)
    view = _view(table)
    found = listing.summary_values(get_db(), view)
    totals = {c: api.value_out(table.fields[c], v) for c, v in found["totals"].items()}
    return jsonify({"count": found["count"], "totals": totals})


def _body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "Send the record as JSON (Content-Type: application/json).")
    try:
        body = json.loads(request.get_data(), parse_float=Decimal)
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Send one record: a JSON object of its fields.")
    return body


def _parsed(table: Table, body: dict[str, Any], *, record_id: int | None = None,
            current: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """``body`` parsed and checked by the table's form: the values to store, or 400 with
    the errors by field."""
    unknown = api.unknown_keys(table, body)
    if unknown:
        named = ", ".join(repr(k[:60]) for k in unknown)
        raise ApiError(400, f"{table.name} has no field {named}.",
                       errors={k: "No such field." for k in unknown})  # fmt: skip
    if current is not None:  # a change: what is not sent stays as it is
        kept = api.record_out(table, current, {}, "")
        body = {**{k: v for k, v in kept.items() if k not in table.files()}, **body}
    form, errors = api.form_in(table, body)
    with locales.using(api.WIRE):
        parsed = records.parse_record(get_db(), current_tool(), form_page(table), form,
                                      record_id=record_id, current=current)  # fmt: skip
    errors = {**parsed.errors, **errors}
    if errors:
        errors = {("record" if k == "__all__" else k): v for k, v in errors.items()}
        raise ApiError(400, f"The {table.record_name} was not saved: correct the fields named.",
                       errors=errors)  # fmt: skip
    return parsed.values


@bp.post("/tables/<name>", endpoint="create")
def create(name: str) -> tuple[Response, int, dict[str, str]]:
    """A new record (201, with its address), checked by the table's form."""
    table = _table(name)
    values = _parsed(table, _body())
    row_id, _fresh = records.create(get_db(), table, values, None)
    row = records.get_row(get_db(), table, row_id)
    assert row is not None
    where = url_for("api.record", name=name, record_id=row_id)
    return jsonify(_record_json(table, row)), 201, {"Location": where}


def _load(table: Table, record_id: int) -> dict[str, Any]:
    row = records.get_row(get_db(), table, record_id)
    if row is None:
        raise ApiError(
            404, f"There is no {table.record_name} #{record_id}: it may have been deleted."
        )
    return row


@bp.get("/tables/<name>/<row_id:record_id>", endpoint="record")
def one(name: str, record_id: int) -> Response:
    table = _table(name)
    response = jsonify(_record_json(table, _load(table, record_id)))
    response.headers["ETag"] = f'"{response.json["_version"]}"'  # type: ignore[index]
    return response


@bp.patch("/tables/<name>/<row_id:record_id>")
def change(name: str, record_id: int) -> Response:
    """Change the fields sent. The body's ``_version`` (or an ``If-Match`` header) is the
    version the change was made from: if the record changed since, 409 with it as it
    is now, and nothing written."""
    table = _table(name)
    body = _body()
    base = body.pop(api.VERSION, None) or request.headers.get("If-Match", "").strip('"') or None
    if not isinstance(base, str):
        raise ApiError(428, f"Send the {table.record_name}'s _version (or an If-Match header) "
                       "with the change: it is in the record as read.")  # fmt: skip
    current = _load(table, record_id)
    values = _parsed(table, body, record_id=record_id, current=current)
    try:
        records.update(get_db(), table, record_id, values, base)
    except Conflict as conflict:
        raise ApiError(
            409,
            f"{conflict} Nothing was saved: read it again, and send the "
            "change with its new _version.",
            current=_record_json(table, conflict.current),
        ) from None
    return jsonify(_record_json(table, _load(table, record_id)))


@bp.delete("/tables/<name>/<row_id:record_id>")
def delete(name: str, record_id: int) -> Response:
    """Delete a record into the bin; the answer says how to undo it."""
    table = _table(name)
    _load(table, record_id)
    action = records.delete(get_db(), current_tool(), table, record_id)
    return jsonify({"deleted": record_id, "undo": url_for("api.undo", action_id=action)})


@bp.post("/undo/<row_id:action_id>", endpoint="undo")
def undo(action_id: int) -> Response:
    """Take back an action (a delete, a change): every record it touched, as it was."""
    done = history.undo(get_db(), current_tool(), action_id)
    return jsonify({"undone": [{"table": t.name, "id": i} for t, i in done]})


# -- reports ---------------------------------------------------------------------------------


@bp.get("/reports/<slug>", endpoint="report")
def report(slug: str) -> Response:
    """A report's rows and totals for the parameters given (its defaults for the rest)."""
    page = current_tool().pages.get(slug)
    if not isinstance(page, ReportPage):
        raise ApiError(404, f"There is no report {slug[:60]!r}: see /api/openapi.json.")
    unknown = [k for k in request.args if k not in page.params]
    if unknown:
        raise ApiError(
            400, f"{page.title} has no parameter {', '.join(repr(k[:60]) for k in unknown)}."
        )
    with locales.using(api.WIRE):
        values, _typed, errors = report_params(page, request.args)
    if errors:
        raise ApiError(400, "Correct the parameters named.", errors=errors)
    try:
        rows = run(page, values)  # read-only, with a time limit, as the page reads it
    except ReportFailed as error:
        raise ApiError(500, str(error)) from error
    columns = list(rows[0]) if rows else list(page.columns)
    fields = page.columns
    return jsonify({
        "parameters": {n: api.value_out(f, f.to_db(values[n])) for n, f in page.params.items()},
        "columns": [{"name": c, "label": header(page, c)} for c in columns],
        "rows": [{c: api.value_out(fields.get(c), r.get(c)) for c in columns} for r in rows],
        "totals": {c: api.value_out(fields.get(c), sum(r[c] or 0 for r in rows))
                   for c in page.total},
    })  # fmt: skip


# -- the document ----------------------------------------------------------------------------


@bp.get("/openapi.json", endpoint="document")
def document() -> Response:
    return jsonify(openapi.document(current_tool(), request.host_url.rstrip("/")))


@bp.get("/", endpoint="page")
def page() -> str:
    """The API's document as a page: what a script may ask, and how it gets in."""
    doc = openapi.document(current_tool(), request.host_url.rstrip("/"))
    return render_template("api.html", doc=doc, nav_current="",
                           token_file=current_app.config.get("DESKWORK_API_FILE"))  # fmt: skip
