"""Acting on many records at once: delete them, or set one field to one value.

A bulk action is one transaction and one action in the history (``deskwork.db.history``),
so "Undo" takes the whole of it back as one step, the same way as a single delete. Every
record is checked as its form would check it (the field's rules, the form's ``check``,
computed fields worked out again, unique values): if any record can't take the change,
none changes, and the message says which and why.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from deskwork.db import history, listing, search, tokens
from deskwork.db.connection import refusal, write_transaction
from deskwork.db.records import _resolve_lookup
from deskwork.errors import StillReferenced, ValidationError
from deskwork.fields import Field, File, Lookup
from deskwork.model import FormPage, Table, Tool

#: Rows read per query while checking and changing.
CHUNK = 500
#: How many refusals a message lists before "and N more".
SHOWN = 5


def settable(table: Table) -> dict[str, Field]:
    """The fields a bulk action may set: what a form edits, files aside."""
    return {n: f for n, f in table.editable.items() if not isinstance(f, File)}


def matching_ids(db: sqlite_utils.Database, view: listing.View) -> list[int]:
    """The ids of every row the view holds (its filters and search), in id order."""
    query = listing.Query(db, view)
    where, params = query.filters(False)
    sql = f"SELECT t.id FROM [{query.table.name}] t"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [r[0] for r in db.execute(sql + " ORDER BY t.id", params)]


def existing_ids(db: sqlite_utils.Database, table: Table, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` that are records of ``table`` now, in id order."""
    found: list[int] = []
    for part in _chunks(sorted(set(ids))):
        marks = ", ".join("?" for _ in part)
        found += [r[0] for r in db.execute(
            f"SELECT id FROM [{table.name}] WHERE id IN ({marks})", part)]  # fmt: skip
    return sorted(found)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _rows(conn: sqlite3.Connection, table: Table, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    for part in _chunks(ids):
        marks = ", ".join("?" for _ in part)
        cursor = conn.execute(f"SELECT * FROM [{table.name}] WHERE id IN ({marks})", part)
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            yield dict(zip(names, values, strict=True))


def _spend(conn: sqlite3.Connection, once: str | None, what: str) -> None:
    """Spend the confirming form's one-time token: the same form sent twice acts once."""
    if not once:
        raise ValidationError("This action was not confirmed on this tool's own page.")
    if not tokens.spend(conn, once, what):
        raise ValidationError("This was done already: the same form was sent twice.")


def digest(ids: Sequence[int]) -> str:
    """A short fingerprint of a set of rows: the question page and its confirmation must
    be about the same rows."""
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def _refusal(table: Table, problems: list[tuple[int, str]], total: int) -> ValidationError:
    listed = "; ".join(f"#{row_id}: {message}" for row_id, message in problems[:SHOWN])
    more = len(problems) - SHOWN
    return ValidationError(
        f"Nothing was changed: {len(problems):,} of the {table.counted(total)} can't take "
        f"it. {listed}{f'; and {more:,} more' if more > 0 else ''}."
    )


def delete(
    db: sqlite_utils.Database, tool: Tool, table: Table, ids: Sequence[int], once: str | None
) -> tuple[int, int]:
    """Delete the records into the bin, as one action; returns (its id, how many)."""
    ids = sorted(set(ids))
    with write_transaction(db) as conn:
        _spend(conn, once, f"bulk delete {table.name}")
        problems = []
        for row_id in ids:
            reason = history.why_not_deletable(conn, tool, table, row_id)
            if reason is not None:
                problems.append((row_id, reason))
        if problems:
            raise _refusal(table, problems, len(ids))
        action = history.begin(conn, "delete", f"Deleted {table.counted(len(ids))}")
        done = 0
        for row in _rows(conn, table, ids):
            try:
                history.put(conn, tool, action, table, row["id"], row, None)
            except StillReferenced as refused:  # looked up a moment ago
                raise ValidationError(f"Nothing was deleted: {refused}") from None
            done += 1
        search.tidy_after_write(conn, [table.name], done)
        return action, done


def parse_value(db: sqlite_utils.Database, f: Field, raw: Any) -> Any:
    """The value to set, from what the confirming form sent, parsed as its form would."""
    value = f.parse(raw)
    if isinstance(f, Lookup) and value is not None:
        value = _resolve_lookup(db, f, value)
    return value


def _broken(page: FormPage, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The rule of the form's ``check`` the change would break, if any. A rule a record
    broke already (kept from before the rule was made, say) does not stop a change to
    another field: a bulk change never makes a record break a rule it kept."""
    if page.check is None:
        return None
    now = dict(page.check(after) or {})
    if not now:
        return None
    then = dict(page.check(before) or {})
    new = [message for name, message in now.items() if then.get(name) != message]
    return str(new[0]) if new else None


def set_field(
    db: sqlite_utils.Database,
    page: FormPage,
    ids: Sequence[int],
    name: str,
    value: Any,
    once: str | None,
) -> tuple[int | None, int]:
    """Set field ``name`` of the records to ``value`` (parsed), as one action; returns (its
    id, how many records changed). Records that hold the value already are left alone;
    computed fields are worked out again."""
    table = page.table
    f = settable(table)[name]
    stored = f.to_db(value)
    ids = sorted(set(ids))
    if f.unique and stored is not None and len(ids) > 1:
        raise ValidationError(
            f"{f.label} must be unique: it can't be set to one value on {len(ids):,} records."
        )
    computed = {n: c for n, c in table.fields.items() if c.compute is not None}
    readers = [(n, c.from_db) for n, c in table.fields.items()]
    with write_transaction(db) as conn:
        _spend(conn, once, f"bulk set {table.name}.{name}")
        changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        problems: list[tuple[int, str]] = []
        for row in _rows(conn, table, ids):
            if row.get(name) == stored and not computed:
                continue
            was = {n: read(row.get(n)) for n, read in readers}
            python = {**was, name: value}
            after = dict(row)
            after[name] = stored
            try:
                broken = _broken(page, was, python)
                if broken:
                    raise ValidationError(broken)
                for n, c in computed.items():
                    after[n] = c.to_db(c.compute(python))  # type: ignore[misc]
            except ValidationError as error:
                problems.append((row["id"], str(error)))
                continue
            if after != row:
                changes.append((row, after))
        if problems:
            raise _refusal(table, problems, len(ids))
        if not changes:
            return None, 0
        action = history.begin(
            conn, "edit", f"Set {f.label.lower()} on {table.counted(len(changes))}"
        )
        # One UPDATE for each set of new values (usually one, for all the rows): a
        # statement per row costs twice as much, in statements and in trigger runs.
        columns = [name, *(c for c in computed if any(b[c] != a[c] for b, a in changes))]
        groups: dict[tuple[Any, ...], list[int]] = {}
        for _, after in changes:
            groups.setdefault(tuple(after[c] for c in columns), []).append(after["id"])
        assignments = ", ".join(f"[{c}] = ?" for c in columns)
        try:
            for values, group in groups.items():
                conn.execute(
                    f"UPDATE [{table.name}] SET {assignments} "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    [*values, json.dumps(group)],
                )
        except sqlite3.IntegrityError as error:
            raise ValidationError(f"Nothing was changed: {refusal(error)}.") from None
        history.log_many(conn, action, table, changes)
        search.tidy_after_write(conn, [table.name], len(changes))
        return action, len(changes)
