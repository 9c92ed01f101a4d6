"""A record's life: new, edit, duplicate, delete and undo, with nothing saved twice or lost.

Everything here works on a database connection and the tool's declarations, with no web
request in sight, so the rules hold for every way in (forms now, imports later).

* A record is parsed and checked whole: every field's rules, lookups (by id, or by the name
  typed), unique values, the form's own check, then computed fields. Errors come back by
  field name; nothing is written unless there are none.
* Every write is one ``BEGIN IMMEDIATE`` transaction: the check of a record's version and
  the update that follows cannot be split by another writer.
* A form carries a one-time token, so a double click or a resent POST saves once.
* An edit carries the version of the record it started from; if the record changed in the
  meantime the save is refused as a ``Conflict`` with both versions, never overwritten.
* Every change is noted in the record's history, in the same transaction, and a delete
  goes to the bin (``deskwork.db.history``): any of it can be taken back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlite_utils

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

from deskwork.db import history, tokens
from deskwork.db.attachments import Upload, attach, describe, store_pending
from deskwork.db.connection import refusal, write_transaction
from deskwork.db.history import version_of
from deskwork.errors import Conflict, RecordGone, Refused, ValidationError
from deskwork.fields import File, Lookup
from deskwork.model import FormPage, Table, Tool


@dataclass
class Parsed:
    """A parsed form: values as stored, errors by field name, and what was typed."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def get_row(db: sqlite_utils.Database, table: Table, record_id: int) -> dict[str, Any] | None:
    return history.get_row(db.conn, table.name, record_id)


# -- parsing and checking -------------------------------------------------------------------


def parse_record(
    db: sqlite_utils.Database,
    tool: Tool,
    page: FormPage,
    form: MultiDict[str, Any],
    uploads: Mapping[str, Upload] | MultiDict[str, Any] | None = None,
    *,
    record_id: int | None = None,
    current: Mapping[str, Any] | None = None,
) -> Parsed:
    """Parse and check a submitted record of ``page.table``.

    ``form`` is the submitted form (a werkzeug ``MultiDict``); ``uploads`` the files
    sent, by field name; ``record_id``/``current`` the record being edited, if any.
    Uploaded files are stored as pending attachments at once, so that a form sent back
    with errors keeps them.
    """
    table = page.table
    parsed = Parsed()
    python: dict[str, Any] = {}
    for name, f in table.editable.items():
        raw = f.raw(form)
        parsed.typed[name] = raw
        try:
            if isinstance(f, File):
                parsed.typed[name] = None  # until the file is read and checked
                value = _parse_file(db, f, form, (uploads or {}).get(name), current, parsed.typed)
                if not parsed.typed.get(f"{name}__remove"):
                    parsed.typed[name] = value
            else:
                value = f.parse(raw)
            if isinstance(f, Lookup) and value is not None:
                value = _resolve_lookup(db, f, value)
                parsed.typed[name] = str(value)
            python[name] = value
            stored = f.to_db(value)
            if f.unique and stored is not None:
                _check_unique(db, table, name, stored, record_id)
            parsed.values[name] = stored
        except ValidationError as error:
            parsed.errors[name] = str(error)
    if not parsed.errors and page.check is not None:
        for name, message in (page.check(python) or {}).items():
            parsed.errors[name if name in table.fields else "__all__"] = str(message)
    if not parsed.errors:
        for name, f in table.fields.items():
            if f.compute is not None:
                try:
                    parsed.values[name] = f.to_db(f.compute(python))
                except ValidationError as error:
                    parsed.errors["__all__"] = str(error)
    return parsed


def _parse_file(
    db: sqlite_utils.Database,
    f: File,
    form: Any,
    upload: Upload | None,
    current: Mapping[str, Any] | None,
    typed: dict[str, Any],
) -> int | None:
    if upload is not None and upload.filename:
        data = upload.read(f.max_size + 1)
        f.check_upload(upload.filename, len(data))
        return store_pending(db, upload.filename, upload.content_type, data)
    saved = None if current is None else current.get(f.name)
    kept = str(form.get(f"{f.name}__kept", "")).strip()
    if not kept and saved is not None and f"{f.name}__kept" not in form:
        kept = str(saved)  # the form did not show the file at all: leave it as it is
    file_id: int | None = f.parse(kept or None)
    if file_id is not None and file_id != saved and describe(db, file_id) is None:
        raise ValidationError(f"That file for {f.label.lower()} is gone: choose it again.")
    if form.get(f"{f.name}__remove"):
        # Shown as still there, with its box ticked, should the form come back with errors.
        typed[f"{f.name}__remove"] = "1"
        typed[f.name] = file_id
        return None
    return file_id


def _resolve_lookup(db: sqlite_utils.Database, f: Lookup, value: int | str) -> int:
    if isinstance(value, int):
        found = db.execute(f"SELECT 1 FROM [{f.table_name}] WHERE id = ?", [value]).fetchone()
        if found is None:
            raise ValidationError(f"That {f.label.lower()} no longer exists; choose another.")
        return value
    rows = db.execute(
        f"SELECT id FROM [{f.table_name}] WHERE [{f.show}] = ? COLLATE NOCASE LIMIT 2", [value]
    ).fetchall()
    if len(rows) == 1:
        return int(rows[0][0])
    if not rows:
        raise ValidationError(
            f"No {f.label.lower()} is called “{value}”: choose one from the list."
        )
    raise ValidationError(
        f"More than one {f.label.lower()} is called “{value}”: choose one from the list."
    )


def _check_unique(
    db: sqlite_utils.Database, table: Table, name: str, stored: Any, record_id: int | None
) -> None:
    f = table.fields[name]
    collate = f" COLLATE {f.collate}" if f.collate else ""  # as the unique index compares
    clash = db.execute(
        f"SELECT id FROM [{table.name}] WHERE [{name}] = ?{collate} AND id IS NOT ? LIMIT 1",
        [stored, record_id],
    ).fetchone()
    if clash is not None:
        raise ValidationError(
            f"{f.label} “{f.display(stored)}” is already taken by {table.record_name} #{clash[0]}."
        )


# -- writing --------------------------------------------------------------------------------


def already_saved(db: sqlite_utils.Database, once: str | None) -> int | None:
    """The id of the record a form with this one-time token saved, if it was sent before."""
    return tokens.spent_on(db, once)


def use_once(db: sqlite_utils.Database, once: str | None, what: str) -> bool:
    """Spend a one-time token on ``what``; False if it was spent before (or is missing)."""
    if not once:
        return False
    with write_transaction(db) as conn:
        return tokens.spend(conn, once, what)


@contextmanager
def _refusals(table: Table) -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as error:
        raise Refused(
            f"The {table.record_name} was not saved: {refusal(error)}. Someone may have "
            "saved the same value, or removed a record it looks up, a moment ago: check "
            "and save again."
        ) from None


def create(
    db: sqlite_utils.Database, table: Table, values: Mapping[str, Any], once: str | None
) -> tuple[int, bool]:
    """Insert a record; returns (id, True), or (the earlier id, False) if ``once`` was
    already used (the same form sent twice)."""
    with write_transaction(db) as conn, _refusals(table):
        earlier = already_saved(db, once)
        if earlier is not None:
            return earlier, False
        row_id = history.fresh_id(conn, table.name)  # never a deleted record's id
        columns = ["id", *values]
        conn.execute(
            f"INSERT INTO [{table.name}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [row_id, *values.values()],
        )
        _attach_files(conn, table, values)
        action = history.begin(conn, "create", f"Saved new {table.record_name} #{row_id}")
        history.log(conn, action, table, row_id, None, get_row(db, table, row_id))
        if once:
            tokens.spend(conn, once, table.name, row_id)
    return row_id, True


def update(
    db: sqlite_utils.Database,
    table: Table,
    record_id: int,
    values: Mapping[str, Any],
    base_version: str,
) -> None:
    """Save an edit made from ``base_version`` of the record.

    Raises ``Conflict`` (with the record as it is now) if it changed since, and
    ``RecordGone`` if it was deleted. An edit the record already holds (the same form sent
    twice) is no conflict: there is nothing left to save.
    """
    with write_transaction(db) as conn, _refusals(table):
        current = get_row(db, table, record_id)
        if current is None:
            raise RecordGone(
                f"This {table.record_name} was deleted while you were editing it. "
                "Your changes are below: save them as a new record if you still need them."
            )
        version = version_of(current)
        if version != base_version:
            if all(current.get(name) == value for name, value in values.items()):
                return
            raise Conflict(current, version)
        if values:
            assignments = ", ".join(f"[{c}] = ?" for c in values)
            conn.execute(
                f"UPDATE [{table.name}] SET {assignments} WHERE id = ?",
                [*values.values(), record_id],
            )
        _attach_files(conn, table, values)
        after = get_row(db, table, record_id)
        if after != current:  # saving the same values again is no change
            action = history.begin(conn, "edit", f"Saved {table.record_name} #{record_id}")
            history.log(conn, action, table, record_id, current, after)


def delete(db: sqlite_utils.Database, tool: Tool, table: Table, record_id: int) -> int:
    """Delete a record into the bin (``deskwork.db.history``); returns the action's id, to
    undo it with ``history.undo``."""
    with write_transaction(db) as conn:
        row = get_row(db, table, record_id)
        if row is None:
            raise RecordGone(f"This {table.record_name} is already gone.")
        action = history.begin(conn, "delete", f"Deleted {table.record_name} #{record_id}")
        history.put(conn, tool, action, table, record_id, row, None)
        return action


def _attach_files(conn: sqlite3.Connection, table: Table, values: Mapping[str, Any]) -> None:
    for name in table.files():
        if values.get(name) is not None:
            attach(conn, int(values[name]))
