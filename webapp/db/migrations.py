"""deskwork's own tables, made and changed by named migrations recorded in the file.

As sqlite-utils' migrations do it: each migration has a name that never changes, and the
names of those applied are recorded in ``_deskwork_migrations`` with when they were
applied. ``apply`` runs the ones a file has not had yet, once each, in the order listed
here, each inside one transaction with its record: a migration cut short (a crash, a
power cut) leaves the file as it was before it, and runs again at the next launch.
``Storage.prepare`` backs a file up before any migration runs on it (``pending``).

A new version of deskwork that needs its tables changed adds a migration at the end of
``MIGRATIONS``; one already released is never edited, renamed or removed. A migration
is written to be right on a file made by any earlier deskwork, also one from before
migrations were recorded (its tables are then there already: ``IF NOT EXISTS``).

The tool's own tables follow its declarations instead (``deskwork.db.schema``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from deskwork.db import tokens
from deskwork.db.connection import write_transaction

TABLE = "_deskwork_migrations"

# deskwork's own tables, by name: the modules that use them import these.
FILES = "_deskwork_files"  # attached files (``attachments``)
META = "_deskwork_meta"  # what deskwork knows of the file: the declarations it was made for
KINDS = "_deskwork_columns"  # what each column was declared as: its values' meaning
ACTIONS = "_deskwork_actions"  # the history (``history``)
HISTORY = "_deskwork_history"
BIN = "_deskwork_bin"
OLD_TRASH = "_deskwork_trash"  # deskwork 0.1's deleted rows
USERS = "_deskwork_users"  # who may log in to a served tool (``accounts``)
SESSIONS = "_deskwork_sessions"  # who is logged in to a served tool (``team``)
AUDIT = "_deskwork_audit"  # log-ins, exports, imports, restores, role changes (``audit``)
ATTEMPTS = "_deskwork_attempts"  # log-ins being checked right now on a served tool (``audit``)
API_KEYS = "_deskwork_api_keys"  # people's tokens for scripts on a served tool (``sessions``)


@dataclass(frozen=True)
class Migration:
    """One change of deskwork's own tables: a name for ever, and what it does."""

    name: str
    run: Callable[[sqlite3.Connection], None]


def _statements(*sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return run


def _append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{what} BEFORE {what.upper()} ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END"
        for what in ("update", "delete")
    ]


def _move_old_trash(conn: sqlite3.Connection) -> None:
    """deskwork 0.1's trash (the deleted rows, for undo) becomes history and the bin."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [OLD_TRASH]
    ).fetchone():
        return
    entries = conn.execute(
        f"SELECT table_name, row_id, data, deleted_at FROM {OLD_TRASH} ORDER BY id"
    ).fetchall()
    for table_name, row_id, data, deleted_at in entries:
        action = conn.execute(
            f"INSERT INTO {ACTIONS} (at, kind, label) VALUES (?, 'delete', ?)",
            [deleted_at, f"Deleted {table_name} #{row_id}"],
        ).lastrowid
        change = conn.execute(
            f"INSERT INTO {HISTORY} (action_id, at, table_name, row_id, kind, before) "
            "VALUES (?, ?, ?, ?, 'delete', ?)",
            [action, deleted_at, table_name, row_id, data],
        ).lastrowid
        conn.execute(
            f"INSERT INTO {BIN} (change_id, table_name, row_id, deleted_at) VALUES (?, ?, ?, ?)",
            [change, table_name, row_id, deleted_at],
        )
    conn.execute(f"DROP TABLE {OLD_TRASH}")


def _team(conn: sqlite3.Connection) -> None:
    """deskwork serve's sessions and audit trail; each action says who made it."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SESSIONS} (
            key TEXT PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, csrf TEXT NOT NULL,
            created TEXT NOT NULL, expires TEXT NOT NULL, address TEXT NOT NULL)"""
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS {SESSIONS}_name ON {SESSIONS}(name)")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {AUDIT} (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL,
            who TEXT COLLATE NOCASE, address TEXT, detail TEXT NOT NULL DEFAULT '')"""
    )
    for column in ("who", "address"):
        conn.execute(f"CREATE INDEX IF NOT EXISTS {AUDIT}_{column} ON {AUDIT}({column}, at)")
    for statement in _append_only(AUDIT):
        conn.execute(statement.replace("the history", "the audit trail"))
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({ACTIONS})")}
    if "who" not in columns:
        conn.execute(f"ALTER TABLE {ACTIONS} ADD COLUMN who TEXT")


#: Every migration, in the order they run. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "attached-files",
        _statements(
            f"""CREATE TABLE IF NOT EXISTS {FILES} (
                id INTEGER PRIMARY KEY, name TEXT NOT NULL, content_type TEXT NOT NULL,
                size INTEGER NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL,
                pending INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL)"""
        ),
    ),
    Migration(
        "bookkeeping",  # the declarations, the columns' kinds, one-time tokens
        _statements(
            f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"""CREATE TABLE IF NOT EXISTS {KINDS} (
                table_name TEXT NOT NULL, column_name TEXT NOT NULL, kind TEXT NOT NULL,
                PRIMARY KEY (table_name, column_name))""",
            f"""CREATE TABLE IF NOT EXISTS {tokens.TABLE} (
                token TEXT PRIMARY KEY, table_name TEXT NOT NULL, row_id INTEGER NOT NULL,
                at TEXT NOT NULL)""",
        ),
    ),
    Migration(
        "history-and-bin",
        _statements(
            f"""CREATE TABLE IF NOT EXISTS {ACTIONS} (
                id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,
                label TEXT NOT NULL, undoes INTEGER REFERENCES {ACTIONS}(id))""",
            f"CREATE INDEX IF NOT EXISTS {ACTIONS}_undoes ON {ACTIONS}(undoes)",
            f"""CREATE TABLE IF NOT EXISTS {HISTORY} (
                id INTEGER PRIMARY KEY,
                action_id INTEGER NOT NULL REFERENCES {ACTIONS}(id),
                at TEXT NOT NULL, table_name TEXT NOT NULL, row_id INTEGER NOT NULL,
                kind TEXT NOT NULL, before TEXT, after TEXT)""",
            f"CREATE INDEX IF NOT EXISTS {HISTORY}_record ON {HISTORY}(table_name, row_id)",
            f"CREATE INDEX IF NOT EXISTS {HISTORY}_action ON {HISTORY}(action_id)",
            *_append_only(HISTORY),
            *_append_only(ACTIONS),
            f"""CREATE TABLE IF NOT EXISTS {BIN} (
                change_id INTEGER PRIMARY KEY REFERENCES {HISTORY}(id),
                table_name TEXT NOT NULL, row_id INTEGER NOT NULL, deleted_at TEXT NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {BIN}_table ON {BIN}(table_name, deleted_at)",
        ),
    ),
    Migration("trash-into-the-bin", _move_old_trash),
    Migration(
        "accounts",  # deskwork serve's log-ins: a hash, never a password
        _statements(
            f"""CREATE TABLE IF NOT EXISTS {USERS} (
                name TEXT PRIMARY KEY COLLATE NOCASE, role TEXT NOT NULL, password TEXT,
                created TEXT NOT NULL, changed TEXT NOT NULL, sessions_from TEXT NOT NULL)"""
        ),
    ),
    Migration("team", _team),  # deskwork serve: sessions, the audit trail, who acted
    Migration(
        "api-keys",  # deskwork serve: a person's tokens for scripts, kept as hashes
        _statements(
            f"""CREATE TABLE IF NOT EXISTS {API_KEYS} (
                key TEXT PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, label TEXT NOT NULL,
                created TEXT NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {API_KEYS}_name ON {API_KEYS}(name)",
        ),
    ),
    Migration(
        # deskwork serve: who an OpenID Connect provider said a person is (its issuer and
        # their subject), kept at their first log-in: a name the provider gives someone
        # else later logs no one in to this account
        "openid-subject",
        _statements(f"ALTER TABLE {USERS} ADD COLUMN subject TEXT"),
    ),
    Migration(
        # deskwork serve: the log-ins whose password is being checked at this moment, so
        # that attempts sent all at once (several workers, many threads) can't pass the
        # lock's count together
        "log-in-attempts",
        _statements(
            f"""CREATE TABLE IF NOT EXISTS {ATTEMPTS} (
                id INTEGER PRIMARY KEY, who TEXT COLLATE NOCASE, address TEXT,
                at TEXT NOT NULL)"""
        ),
    ),
)


def applied(db: sqlite_utils.Database) -> list[str]:
    """The names of the migrations the file has had, in the order they ran."""
    if not db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [TABLE]
    ).fetchone():
        return []
    return [r[0] for r in db.execute(f"SELECT name FROM {TABLE} ORDER BY rowid")]


def pending(db: sqlite_utils.Database) -> list[Migration]:
    """The migrations the file has not had yet, in the order they will run."""
    done = set(applied(db))
    return [m for m in MIGRATIONS if m.name not in done]


def apply(db: sqlite_utils.Database) -> list[str]:
    """Run the pending migrations, each once, in order, each in one transaction with its
    record; returns the names of those run."""
    todo = pending(db)
    if not todo:
        return []
    with write_transaction(db) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    for migration in todo:
        with write_transaction(db) as conn:
            migration.run(conn)
            conn.execute(
                f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)",
                [migration.name, dt.datetime.now().isoformat(timespec="seconds")],
            )
    return [m.name for m in todo]
