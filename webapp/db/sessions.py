"""Who is logged in to a served tool: one row per session, in the tool's database, so
that every worker process of the server knows every session.

The browser holds a random key (256 bits); only its SHA-256 is stored, so the table (or
a backup of it) lets nobody in. Each session carries its own CSRF secret, which every
change sent with it must carry back. A session is void once it expires, once its person
is removed, or once their password or role changed after it began
(``_deskwork_users.sessions_from``): that is "log out everywhere".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlite_utils

from deskwork.db.audit import now, stamp
from deskwork.db.connection import write_transaction
from deskwork.db.migrations import SESSIONS, USERS


@dataclass(frozen=True)
class Session:
    """A logged-in person, as a request finds them."""

    key: str  # the stored hash, never the browser's key
    name: str
    role: str
    csrf: str
    expires: str


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def open_session(
    db: sqlite_utils.Database, name: str, *, address: str, hours: float
) -> tuple[str, Session]:
    """A new session for ``name``: the key for the browser, and the session."""
    cookie = secrets.token_urlsafe(32)
    at = now()
    expires = stamp(at + dt.timedelta(hours=hours))
    csrf = secrets.token_urlsafe(32)
    with write_transaction(db) as conn:
        conn.execute(f"DELETE FROM {SESSIONS} WHERE expires < ?", [stamp(at)])
        conn.execute(
            f"INSERT INTO {SESSIONS} (key, name, csrf, created, expires, address) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [_hash(cookie), name, csrf, stamp(at), expires, address],
        )
    found = find(db, cookie)
    assert found is not None
    return cookie, found


def find(db: sqlite_utils.Database, cookie: str | None) -> Session | None:
    """The live session whose browser holds ``cookie``; None if there is none."""
    if not cookie or len(cookie) > 100:
        return None
    row = db.execute(
        f"""SELECT s.key, u.name, u.role, s.csrf, s.expires FROM {SESSIONS} s
            JOIN {USERS} u ON u.name = s.name
            WHERE s.key = ? AND s.expires > ? AND s.created >= u.sessions_from""",
        [_hash(cookie), stamp(now())],
    ).fetchone()
    return Session(*row) if row else None


def close(db: sqlite_utils.Database, cookie: str | None) -> None:
    """End the session whose browser holds ``cookie`` (log out)."""
    if cookie:
        with write_transaction(db) as conn:
            conn.execute(f"DELETE FROM {SESSIONS} WHERE key = ?", [_hash(cookie)])


def close_all(db: sqlite_utils.Database, name: str) -> int:
    """End every session of ``name``; how many there were."""
    with write_transaction(db) as conn:
        return conn.execute(f"DELETE FROM {SESSIONS} WHERE name = ?", [name]).rowcount


def count(db: sqlite_utils.Database, name: str) -> int:
    """How many live sessions ``name`` has."""
    row = db.execute(
        f"SELECT count(*) FROM {SESSIONS} WHERE name = ? AND expires > ?", [name, stamp(now())]
    ).fetchone()
    return int(row[0])
