"""Who is logged in to a served tool: one row per session, in the tool's database, so
that every worker process of the server knows every session.

The browser holds a random key (256 bits); only its SHA-256 is stored, so the table (or
a backup of it) lets nobody in. Each session carries its own CSRF secret, which every
change sent with it must carry back. A session is void once it expires, once its person
is removed, or once their password or role changed after it began
(``_deskwork_users.sessions_from``): that is "log out everywhere".

A script calls a served tool's JSON API with an API token of a person's
(``Authorization: Bearer dw_...``), which acts with that person's role as it is now; it is
shown once when made, stored as its hash, and lasts until revoked or the person is
removed. A token is not a browser's ambient credential, so it needs no CSRF secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlite_utils

from deskwork.db.audit import now, stamp
from deskwork.db.connection import write_transaction
from deskwork.db.migrations import API_KEYS, SESSIONS, USERS


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


API_PREFIX = "dw_"


def new_api_key(db: sqlite_utils.Database, name: str, label: str) -> str:
    """A new API token for ``name`` (shown once: only its hash is kept)."""
    key = API_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db) as conn:
        conn.execute(
            f"INSERT INTO {API_KEYS} (key, name, label, created) VALUES (?, ?, ?, ?)",
            [_hash(key), name, label, stamp(now())],
        )
    return key


def find_api_key(db: sqlite_utils.Database, key: str | None) -> Session | None:
    """The person whose API token ``key`` is, as a session; None if it is no token."""
    if not key or not key.startswith(API_PREFIX) or len(key) > 100:
        return None
    row = db.execute(
        f"""SELECT k.key, u.name, u.role FROM {API_KEYS} k JOIN {USERS} u ON u.name = k.name
            WHERE k.key = ?""",
        [_hash(key)],
    ).fetchone()
    return Session(row[0], row[1], row[2], csrf="", expires="") if row else None


def revoke_api_keys(db: sqlite_utils.Database, name: str) -> int:
    """Revoke every API token of ``name``; how many there were."""
    with write_transaction(db) as conn:
        return conn.execute(f"DELETE FROM {API_KEYS} WHERE name = ?", [name]).rowcount


def api_keys(db: sqlite_utils.Database, name: str) -> list[tuple[str, str]]:
    """``name``'s API tokens: (label, made), newest first (never the tokens)."""
    rows = db.execute(
        f"SELECT label, created FROM {API_KEYS} WHERE name = ? ORDER BY created DESC", [name]
    ).fetchall()
    return [(str(label), str(created)) for label, created in rows]
