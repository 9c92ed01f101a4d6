"""The audit trail of a served tool: who logged in (or failed to), exported, imported,
restored, or changed someone's role, from where, and when.

Kept in the tool's own database (``_deskwork_audit``), append-only as the history is
(triggers refuse to change or remove a line), so that a backup carries it. The log-in
throttle reads its failures from here: one record serves the admins' page and the
lockout alike. Nothing secret is ever written here: no password, no session key.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from deskwork.db.connection import write_transaction
from deskwork.db.migrations import ATTEMPTS, AUDIT

#: The events recorded, as the audit page names them.
EVENTS = (
    "log-in", "failed log-in", "refused log-in", "log-out", "log-out everywhere",
    "export", "import", "backup", "restore", "person added", "person removed", "password reset",
    "role changed", "refused", "API token made", "API tokens revoked",
)  # fmt: skip


@dataclass(frozen=True)
class Event:
    """One line of the audit trail."""

    id: int
    at: str
    event: str
    who: str | None
    address: str | None
    detail: str


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stamp(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")


def record(
    db: sqlite_utils.Database | sqlite3.Connection,
    event: str,
    who: str | None,
    *,
    address: str | None = None,
    detail: str = "",
) -> None:
    """Add ``event`` to the trail, in a transaction of its own unless one is open."""
    assert event in EVENTS, event
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    sql = f"INSERT INTO {AUDIT} (at, event, who, address, detail) VALUES (?, ?, ?, ?, ?)"
    values = [stamp(now()), event, who, address, detail[:500]]
    if conn.in_transaction:
        conn.execute(sql, values)
        return
    with write_transaction(sqlite_utils.Database(conn, execute_plugins=False)) as inside:
        inside.execute(sql, values)


def recent(
    db: sqlite_utils.Database, *, before: int | None = None, limit: int = 200
) -> list[Event]:
    """The trail, newest first (``before`` an event's id: the page after it)."""
    rows = db.execute(
        f"SELECT id, at, event, who, address, detail FROM {AUDIT} "
        "WHERE id < ? ORDER BY id DESC LIMIT ?",
        [before if before is not None else 2**62, limit],
    ).fetchall()
    return [Event(*row) for row in rows]


def failures(
    db: sqlite_utils.Database, *, since: dt.datetime, who: str | None = None,
    address: str | None = None,
) -> tuple[int, dt.datetime | None]:  # fmt: skip
    """Failed log-ins since ``since`` for the name ``who`` (since its last log-in) or from
    ``address``: how many, and when the last was."""
    column, value = ("who", who) if who is not None else ("address", address)
    where = f"{column} = ? AND at >= ?"
    args: list[object] = [value, stamp(since)]
    if who is not None:  # a successful log-in starts the count again
        where += (
            f" AND at > coalesce((SELECT max(at) FROM {AUDIT} WHERE event = 'log-in' "
            "AND who = ?), '')"
        )
        args.append(who)
    count, last = db.execute(
        f"SELECT count(*), max(at) FROM {AUDIT} WHERE event = 'failed log-in' AND {where}",
        args,
    ).fetchone()
    return int(count), (dt.datetime.fromisoformat(last) if last else None)


def pending(db: sqlite_utils.Database, who: str) -> int:
    """Log-ins as ``who`` whose password is being checked at this moment."""
    found = db.execute(f"SELECT count(*) FROM {ATTEMPTS} WHERE who = ? AND at >= ?",
                       [who, stamp(now() - ATTEMPT_AT_MOST)]).fetchone()  # fmt: skip
    return int(found[0])


#: Longer than any password check takes (Argon2, or the directory's time-out): an attempt
#: older than this was cut short (its worker killed) and counts no more.
ATTEMPT_AT_MOST = dt.timedelta(minutes=2)


def begin_attempt(conn: sqlite3.Connection, who: str | None, address: str | None) -> int:
    """A log-in whose password is about to be checked (in the caller's transaction, the
    one that found it may go on): ``pending`` counts it until ``end_attempt``. Attempts
    older than ``ATTEMPT_AT_MOST`` (a worker killed while checking) are swept."""
    conn.execute(f"DELETE FROM {ATTEMPTS} WHERE at < ?", [stamp(now() - ATTEMPT_AT_MOST)])
    cursor = conn.execute(f"INSERT INTO {ATTEMPTS} (who, address, at) VALUES (?, ?, ?)",
                          [who, address, stamp(now())])  # fmt: skip
    return int(cursor.lastrowid or 0)


def end_attempt(conn: sqlite3.Connection, attempt: int) -> None:
    """The attempt is decided (its failure, if it failed, recorded in the same
    transaction)."""
    conn.execute(f"DELETE FROM {ATTEMPTS} WHERE id = ?", [attempt])
