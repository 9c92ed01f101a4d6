"""History and the bin: every change to every record, kept; and the one way to undo.

Every write of a record (``deskwork.db.records``) is one *action* (a save, a delete, an undo,
a restore; later a bulk change or an import), made of one *change* per record it
touched, written in the same transaction as the change itself:

* ``_deskwork_actions``: when, what kind, a label for people; ``undoes`` names the action
  an undo took back.
* ``_deskwork_history``: the record (table and id), and the whole row before and after
  (JSON; no row before a create, none after a delete). Append-only: triggers refuse to
  change or remove a line, whoever asks (another program on the file too).
* ``_deskwork_bin``: the deletes that can still be taken back, until the bin is emptied or
  they are older than the tool's retention (``Tool(bin_days=30)``).

One mechanism serves every way back: a change is taken back by putting its record in the
state it had before (``put``), checked against the state the change left it in, so a
record changed since is never overwritten. Undoing a delete, restoring from the bin,
restoring an earlier version, and undoing a whole action (bulk changes, imports) all go
through it, and each is an action of its own in the history.

Since every change of a record is noted here, in its transaction, this is also where a
role a tool declares (``Tool.role``: a team lead changing only their team's rows) is held
to its rows: a change of a row outside them, before or after, is refused (``NotAllowed``)
and its whole transaction rolled back (``LIMITS``, set for each request by
``deskwork.team``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from deskwork.db import search
from deskwork.db.connection import refusal, write_transaction
from deskwork.db.migrations import ACTIONS, BIN, HISTORY
from deskwork.errors import (
    ChangedSince,
    Conflict,
    NotAllowed,
    NothingToUndo,
    StillReferenced,
    ValidationError,
)
from deskwork.model import Role, Table, Tool

Row = dict[str, Any]

#: Who is acting: the person logged in to a served tool (set for each request by
#: ``deskwork.team``); None on a desk, where the tool is the one person's own.
ACTING: ContextVar[str | None] = ContextVar("deskwork_acting", default=None)


@dataclass(frozen=True)
class Limits:
    """The rows a person with a role the tool declares may change."""

    role: Role
    person: str


#: Set for each request of someone whose role the tool declares (``deskwork.team``); None
#: for everyone else, who may change any row their role allows.
LIMITS: ContextVar[Limits | None] = ContextVar("deskwork_limits", default=None)


def _within(conn: sqlite3.Connection, limits: Limits, table: Table, row: Mapping[str, Any]) -> bool:
    """Whether ``row`` (as it was, or as it is to be) meets the role's condition for its
    table: the condition reads the row through a CTE named as the table."""
    condition = limits.role.changes[table.name]
    columns = list(row)
    named = ", ".join(f"[{c}]" for c in columns)
    values = ", ".join(f":_v{i}" for i in range(len(columns)))
    given = {f"_v{i}": row[c] for i, c in enumerate(columns)}
    sql = (f"WITH [{table.name}]({named}) AS (SELECT {values}) "
           f"SELECT 1 FROM [{table.name}] WHERE coalesce(({condition}), 0)")  # fmt: skip
    return conn.execute(sql, {**given, "person": limits.person}).fetchone() is not None


def _hold_to_limits(
    conn: sqlite3.Connection, table: Table, rows: Iterable[Mapping[str, Any] | None]
) -> None:
    """Refuse a change of a row outside the rows the person's declared role may change."""
    limits = LIMITS.get()
    if limits is None or table.name not in limits.role.changes:
        return
    for row in rows:
        if row is not None and not _within(conn, limits, table, row):
            _refuse_outside(limits, table, row.get("id"))


def _refuse_outside(limits: Limits, table: Table, row_id: Any) -> None:
    which = limits.role.rows or f"some {table.name}"
    what = f"{table.record_name} #{row_id}" if row_id else f"this {table.record_name}"
    raise NotAllowed(
        f"You are logged in as {limits.person}, a {limits.role.name}, who may change only "
        f"{which}: {what} is not one of them. Nothing was changed."
    )


@dataclass(frozen=True)
class Change:
    """One line of a record's history."""

    id: int
    action_id: int
    action_kind: str
    at: str
    table_name: str
    row_id: int
    kind: str  # "create", "edit", "delete"
    before: Row | None
    after: Row | None
    undone: bool
    #: Who made it, on a served tool (None on a desk).
    who: str | None = None


def version_of(row: Mapping[str, Any]) -> str:
    """A short fingerprint of a row's values: it changes whenever any value changes."""
    text = json.dumps(dict(row), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


# -- writing: inside the caller's transaction ----------------------------------------------


def begin(conn: sqlite3.Connection, kind: str, label: str, *, undoes: int | None = None) -> int:
    """Start an action (in the caller's transaction); returns its id."""
    cursor = conn.execute(
        f"INSERT INTO {ACTIONS} (at, kind, label, undoes, who) VALUES (?, ?, ?, ?, ?)",
        [now(), kind, label, undoes, ACTING.get()],
    )
    return int(cursor.lastrowid or 0)


def log(
    conn: sqlite3.Connection,
    action_id: int,
    table: Table,
    row_id: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> int:
    """Note one record's change (in the caller's transaction); a delete goes in the bin."""
    _hold_to_limits(conn, table, (before, after))
    kind = "create" if before is None else "delete" if after is None else "edit"
    at = now()
    cursor = conn.execute(
        f"INSERT INTO {HISTORY} (action_id, at, table_name, row_id, kind, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [action_id, at, table.name, row_id, kind, _json(before), _json(after)],
    )
    change_id = int(cursor.lastrowid or 0)
    if kind == "delete":
        conn.execute(
            f"INSERT INTO {BIN} (change_id, table_name, row_id, deleted_at) VALUES (?, ?, ?, ?)",
            [change_id, table.name, row_id, at],
        )
    return change_id


def log_many(
    conn: sqlite3.Connection,
    action_id: int,
    table: Table,
    edits: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
) -> None:
    """Note many records' edits (each whole row before and after) at once: a bulk change
    or an import. A change with no row before is a record made."""
    edits = list(edits)
    for before, after in edits:
        _hold_to_limits(conn, table, (before, after))
    at = now()
    conn.executemany(
        f"INSERT INTO {HISTORY} (action_id, at, table_name, row_id, kind, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ([action_id, at, table.name, after["id"], "create" if before is None else "edit",
          _json(before), _json(after)] for before, after in edits),
    )  # fmt: skip


def log_created(conn: sqlite3.Connection, action_id: int, table: Table, first: int) -> None:
    """Note the records just made with ids from ``first`` on (an import's): each row as
    it is, written as JSON by SQLite itself, with no row read into Python."""
    limits = LIMITS.get()
    if limits is not None and table.name in limits.role.changes:
        condition = limits.role.changes[table.name]
        outside = conn.execute(
            f"SELECT id FROM [{table.name}] WHERE id >= :first AND NOT coalesce(({condition}), 0)",
            {"first": first, "person": limits.person},
        ).fetchone()
        if outside is not None:
            _refuse_outside(limits, table, outside[0])
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info([{table.name}])")]
    pairs = ", ".join(f"'{c}', [{c}]" for c in columns)
    conn.execute(
        f"INSERT INTO {HISTORY} (action_id, at, table_name, row_id, kind, before, after) "
        f"SELECT ?, ?, ?, id, 'create', NULL, json_object({pairs}) FROM [{table.name}] "
        "WHERE id >= ? ORDER BY id",
        [action_id, now(), table.name, first],
    )


def _json(row: Mapping[str, Any] | None) -> str | None:
    return None if row is None else json.dumps(dict(row), ensure_ascii=False, default=str)


def _row(text: str | None) -> Row | None:
    return None if text is None else dict(json.loads(text))


def fresh_id(conn: sqlite3.Connection, table_name: str) -> int:
    """An id no record of the table has had: ids are never handed out again (SQLite would
    give a deleted last record's id to the next), so a record's history and the bin's
    entries are its own, and a record restored finds its looked-up rows, not newcomers."""
    top = conn.execute(f"SELECT max(id) FROM [{table_name}]").fetchone()[0] or 0
    seen = conn.execute(
        f"SELECT max(row_id) FROM {HISTORY} WHERE table_name = ?", [table_name]
    ).fetchone()[0]
    return max(int(top), int(seen or 0)) + 1


def get_row(conn: sqlite3.Connection, table_name: str, row_id: int) -> Row | None:
    cursor = conn.execute(f"SELECT * FROM [{table_name}] WHERE id = ?", [row_id])
    found = cursor.fetchone()
    if found is None:
        return None
    return dict(zip([d[0] for d in cursor.description], found, strict=True))


# -- the one way back -----------------------------------------------------------------------


def put(
    conn: sqlite3.Connection,
    tool: Tool,
    action_id: int,
    table: Table,
    row_id: int,
    expected: Row | None,
    target: Row | None,
) -> int | None:
    """Put record ``row_id`` of ``table`` in state ``target`` (None: gone), if it is in
    state ``expected`` now; note it as a change of ``action_id``. Returns the record's id
    (another one if its old id was taken meanwhile), or None when it is gone."""
    current = get_row(conn, table.name, row_id)
    if expected is None and current is not None and target is not None:
        if same_row(current, target):
            raise ChangedSince(f"{table.record_name.capitalize()} #{row_id} is back already.")
        current = None  # its id went to a new record meanwhile: it comes back as another
        row_id = 0
    if not same_row(current, expected):
        what = f"{table.record_name} #{row_id}"
        if current is None:
            raise ChangedSince(f"{what.capitalize()} was deleted since: nothing to take back.")
        raise ChangedSince(
            f"{what.capitalize()} was changed since: it is left as it is. Its history "
            "shows every version, and any of them can be restored."
        )
    have = {r[1] for r in conn.execute(f"PRAGMA table_info([{table.name}])")}
    if target is None:
        _refuse_if_looked_up(conn, tool, table, row_id)
        conn.execute(f"DELETE FROM [{table.name}] WHERE id = ?", [row_id])
        log(conn, action_id, table, row_id, current, None)
        return None
    values = {k: v for k, v in target.items() if k in have and k != "id"}
    try:
        if current is None:
            _bring_back_looked_up(conn, tool, action_id, table, values)
            taken = row_id == 0 or get_row(conn, table.name, row_id) is not None
            new_id = fresh_id(conn, table.name) if taken else row_id
            columns = ["id", *values]
            conn.execute(
                f"INSERT INTO [{table.name}] ({', '.join(f'[{c}]' for c in columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [new_id, *values.values()],
            )
        else:
            assignments = ", ".join(f"[{c}] = ?" for c in values)
            conn.execute(
                f"UPDATE [{table.name}] SET {assignments} WHERE id = ?", [*values.values(), row_id]
            )
            new_id = row_id
    except sqlite3.IntegrityError as error:
        raise ValidationError(
            f"The {table.record_name} can't come back as it was: {refusal(error)}. A record it "
            "looks up, or one of its unique values, changed meanwhile."
        ) from None
    log(conn, action_id, table, new_id, current, get_row(conn, table.name, new_id))
    return new_id


def same_row(current: Row | None, expected: Row | None) -> bool:
    if current is None or expected is None:
        return current is None and expected is None
    return all(current.get(k) == v for k, v in expected.items() if k in current)


def _bring_back_looked_up(
    conn: sqlite3.Connection, tool: Tool, action_id: int, table: Table, values: Row
) -> None:
    """Restore, from the bin, the rows a record being restored looks up."""
    for name, f in table.lookups().items():
        target_id = values.get(name)
        if target_id is None or f.table_name not in tool.tables:
            continue
        if get_row(conn, f.table_name, int(target_id)) is not None:
            continue
        binned = conn.execute(
            f"SELECT change_id FROM {BIN} WHERE table_name = ? AND row_id = ? "
            "ORDER BY change_id DESC LIMIT 1",
            [f.table_name, int(target_id)],
        ).fetchone()
        if binned is not None:
            _restore_change(conn, tool, action_id, int(binned[0]))


def looking_up(
    conn: sqlite3.Connection, tool: Tool, table: Table, row_id: int
) -> list[tuple[Table, str, int]]:
    """The records that look up record ``row_id``: (their table, its lookup column, how
    many), where there are any. Each count reads the lookup column's index."""
    out = []
    for other in tool.tables.values():
        for name, f in other.lookups().items():
            if f.table_name != table.name:
                continue
            count = conn.execute(
                f"SELECT count(*) FROM [{other.name}] WHERE [{name}] = ?", [row_id]
            ).fetchone()[0]
            if count:
                out.append((other, name, int(count)))
    return out


def why_not_deletable(
    conn: sqlite3.Connection, tool: Tool, table: Table, row_id: int
) -> str | None:
    """Why record ``row_id`` can't be deleted (other records look it up), or None."""
    found = looking_up(conn, tool, table, row_id)
    if not found:
        return None
    other, _, count = found[0]
    return (
        f"This {table.record_name} can't be deleted: {other.counted(count)} "
        f"refer{'s' if count == 1 else ''} to it. Change or delete "
        f"{'those' if count > 1 else 'that one'} first."
    )


def _refuse_if_looked_up(conn: sqlite3.Connection, tool: Tool, table: Table, row_id: int) -> None:
    reason = why_not_deletable(conn, tool, table, row_id)
    if reason is not None:
        raise StillReferenced(reason)


def _restore_change(conn: sqlite3.Connection, tool: Tool, action_id: int, change_id: int) -> int:
    """Take back one delete (from the bin); returns the record's id."""
    found = conn.execute(
        f"SELECT table_name, row_id, before FROM {HISTORY} WHERE id = ? AND kind = 'delete'",
        [change_id],
    ).fetchone()
    if found is None or found[0] not in tool.tables:
        raise NothingToUndo("That record is not in the bin.")
    table = tool.tables[found[0]]
    new_id = put(conn, tool, action_id, table, int(found[1]), None, _row(found[2]))
    conn.execute(f"DELETE FROM {BIN} WHERE change_id = ?", [change_id])
    assert new_id is not None
    return new_id


def undo(db: sqlite_utils.Database, tool: Tool, action_id: int) -> list[tuple[Table, int | None]]:
    """Take back a whole action, as one new action: every record it changed, put back as
    it was before, in the reverse order. Returns (table, id) of each record, id None for
    those it removed (a create taken back)."""
    with write_transaction(db) as conn:
        action = conn.execute(f"SELECT kind, label FROM {ACTIONS} WHERE id = ?", [action_id])
        found = action.fetchone()
        if found is None:
            raise NothingToUndo("There is nothing to undo.")
        if conn.execute(f"SELECT 1 FROM {ACTIONS} WHERE undoes = ?", [action_id]).fetchone():
            raise NothingToUndo("That was undone already.")
        changes = conn.execute(
            f"SELECT id, table_name, row_id, before, after FROM {HISTORY} "
            "WHERE action_id = ? ORDER BY id DESC",
            [action_id],
        ).fetchall()
        undoing = begin(conn, "undo", f"Undid: {found[1]}", undoes=action_id)
        done = []
        for change_id, table_name, row_id, before, after in changes:
            table = tool.tables.get(table_name)
            if table is None:
                raise NothingToUndo(f"The table {table_name} is no longer in this tool.")
            binned = conn.execute(f"SELECT 1 FROM {BIN} WHERE change_id = ?", [change_id])
            if after is None and binned.fetchone() is None:
                raise NothingToUndo(
                    f"{table.record_name.capitalize()} #{row_id} is no longer in the bin: "
                    "it was restored already, or the bin was emptied."
                )
            back = put(conn, tool, undoing, table, int(row_id), _row(after), _row(before))
            conn.execute(f"DELETE FROM {BIN} WHERE change_id = ?", [change_id])  # if a delete
            done.append((table, back))
        search.tidy_after_write(conn, [t.name for t, _ in done], len(done))
        return done


def restore_deleted(db: sqlite_utils.Database, tool: Tool, change_id: int) -> tuple[Table, int]:
    """Bring a deleted record back from the bin (and the rows it looked up, if they are
    there too); returns its table and id."""
    with write_transaction(db) as conn:
        found = conn.execute(
            f"SELECT table_name, row_id FROM {BIN} WHERE change_id = ?", [change_id]
        ).fetchone()
        if found is None or found[0] not in tool.tables:
            raise NothingToUndo("That record is no longer in the bin.")
        table = tool.tables[found[0]]
        action = begin(conn, "restore", f"Restored {table.record_name} #{found[1]} from the bin")
        return table, _restore_change(conn, tool, action, change_id)


def restore_version(
    db: sqlite_utils.Database,
    tool: Tool,
    table: Table,
    row_id: int,
    change_id: int,
    base: str,
    *,
    before: bool = False,
) -> int:
    """Make record ``row_id`` as it was after change ``change_id`` (or, ``before``, as it
    was before it: a record made outside deskwork has no earlier line). ``base`` is the
    version of the record the person saw, so a record changed since is not overwritten."""
    state = "before" if before else "after"
    with write_transaction(db) as conn:
        found = conn.execute(
            f"SELECT {state}, at FROM {HISTORY} WHERE id = ? AND table_name = ? AND row_id = ?",
            [change_id, table.name, row_id],
        ).fetchone()
        if found is None or found[0] is None:
            raise NothingToUndo("There is no such version of this record.")
        current = get_row(conn, table.name, row_id)
        if current is not None and version_of(current) != base:
            raise Conflict(current, version_of(current))
        label = f"Restored {table.record_name} #{row_id} as it was on {_when(found[1])}"
        action = begin(conn, "revert", label)
        new_id = put(conn, tool, action, table, row_id, current, _row(found[0]))
        assert new_id is not None
        if current is None:  # a deleted record back: no longer in the bin
            conn.execute(
                f"DELETE FROM {BIN} WHERE table_name = ? AND row_id = ?", [table.name, row_id]
            )
        return new_id


def _when(at: str) -> str:
    return at.replace("T", " ")


# -- reading --------------------------------------------------------------------------------


def changes_of(db: sqlite_utils.Database, table: Table, row_id: int) -> list[Change]:
    """A record's history, newest first."""
    rows = db.execute(
        f"""SELECT h.id, h.action_id, a.kind, h.at, h.table_name, h.row_id, h.kind, h.before,
                   h.after, EXISTS (SELECT 1 FROM {ACTIONS} u WHERE u.undoes = h.action_id),
                   a.who
            FROM {HISTORY} h JOIN {ACTIONS} a ON a.id = h.action_id
            WHERE h.table_name = ? AND h.row_id = ? ORDER BY h.id DESC""",
        [table.name, row_id],
    ).fetchall()
    return [
        Change(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _row(r[7]), _row(r[8]), bool(r[9]), r[10])
        for r in rows
    ]


def last_known(db: sqlite_utils.Database, table_name: str, row_id: Any) -> Row | None:
    """A record as its history last saw it (for one that is gone)."""
    found = db.execute(
        f"SELECT coalesce(after, before) FROM {HISTORY} WHERE table_name = ? AND row_id = ? "
        "ORDER BY id DESC LIMIT 1",
        [table_name, row_id],
    ).fetchone()
    return None if found is None else _row(found[0])


@dataclass(frozen=True)
class Binned:
    """A deleted record in the bin."""

    change_id: int
    row_id: int
    deleted_at: str
    row: Row


def in_bin(db: sqlite_utils.Database, table: Table, limit: int = 200) -> list[Binned]:
    rows = db.execute(
        f"""SELECT b.change_id, b.row_id, b.deleted_at, h.before FROM {BIN} b
            JOIN {HISTORY} h ON h.id = b.change_id
            WHERE b.table_name = ? ORDER BY b.deleted_at DESC, b.change_id DESC LIMIT ?""",
        [table.name, limit],
    ).fetchall()
    return [Binned(r[0], r[1], r[2], _row(r[3]) or {}) for r in rows]


def bin_count(db: sqlite_utils.Database, table: Table) -> int:
    return int(db.execute(f"SELECT count(*) FROM {BIN} WHERE table_name = ?", [table.name])
               .fetchone()[0])  # fmt: skip


def empty_bin(db: sqlite_utils.Database, table: Table | None = None, *,
              older_than: dt.timedelta | None = None) -> int:  # fmt: skip
    """Let go of deleted records (of ``table``, or all; those older than ``older_than``,
    or all): they can no longer be restored from the bin (their history stays).
    Returns how many."""
    where, params = [], []
    if table is not None:
        where.append("table_name = ?")
        params.append(table.name)
    if older_than is not None:
        where.append("deleted_at < ?")
        params.append((dt.datetime.now() - older_than).isoformat(timespec="seconds"))
    with write_transaction(db) as conn:
        cursor = conn.execute(
            f"DELETE FROM {BIN}" + (f" WHERE {' AND '.join(where)}" if where else ""), params
        )
        return cursor.rowcount


def changed_fields(change: Change, names: Iterable[str]) -> list[str]:
    """The fields whose values an edit changed."""
    before, after = change.before or {}, change.after or {}
    return [n for n in names if before.get(n) != after.get(n)]
