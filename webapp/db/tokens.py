"""One-time tokens spent: a form sent twice (a double click, a resent POST) acts once.

The token is issued and checked by the Flask side (``deskwork.once``: signed, bound to
its form and the person's session); here it is spent, in the transaction of what it
does, so that the spending and the change are saved together or not at all. A spent
token remembers what it made (``row_id``), so the second sending can show it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import sqlite_utils

from deskwork.db.connection import write_transaction

TABLE = "_deskwork_once"

#: Forms sent twice arrive within seconds; a week of tokens is plenty.
KEPT = dt.timedelta(days=7)


def _conn(db: sqlite_utils.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db.conn if isinstance(db, sqlite_utils.Database) else db


def spent_on(db: sqlite_utils.Database | sqlite3.Connection, token: str | None) -> int | None:
    """The row a spent ``token`` made (0 when it made none); None if it is unspent."""
    if not token:
        return None
    found = _conn(db).execute(f"SELECT row_id FROM {TABLE} WHERE token = ?", [token]).fetchone()
    return None if found is None else int(found[0])


def spend(conn: sqlite3.Connection, token: str, what: str, row_id: int = 0) -> bool:
    """Spend ``token`` on ``what`` (a table's name, a form's): inside the caller's write
    transaction. False if it was spent before: then nothing is to be done again."""
    if spent_on(conn, token) is not None:
        return False
    at = dt.datetime.now().isoformat(timespec="seconds")
    conn.execute(
        f"INSERT INTO {TABLE} (token, table_name, row_id, at) VALUES (?, ?, ?, ?)",
        [token, what, row_id, at],
    )
    return True


def forget_old(db: sqlite_utils.Database) -> None:
    """Forget the tokens older than ``KEPT`` (once per launch)."""
    before = (dt.datetime.now() - KEPT).isoformat(timespec="seconds")
    with write_transaction(db) as conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE at < ?", [before])
