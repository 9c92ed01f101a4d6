"""Attached files, kept in the tool's database beside the records that use them.

An upload is stored as soon as it arrives, as *pending*: if the form comes back with an
error elsewhere, the file is not lost and need not be chosen again. Saving the record marks
it attached, in the same transaction. Pending files nobody saved are swept after a day.
Names are kept only for display and download: nothing is ever written to a path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import sqlite_utils

from deskwork.db.connection import write_transaction
from deskwork.db.migrations import FILES  # the table is made there


class Upload(Protocol):
    """What a form sends for a file (werkzeug's ``FileStorage`` is one)."""

    filename: str | None
    content_type: str | None

    def read(self, size: int = -1) -> bytes: ...


@dataclass
class Attachment:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


def safe_name(filename: str) -> str:
    """A file name fit to show and to offer for download: no folders, no control codes."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*]", "_", name).strip(" .")
    return name[:200] or "file"


def store_pending(
    db: sqlite_utils.Database, filename: str, content_type: str | None, data: bytes
) -> int:
    """Store an upload as pending; returns its id."""
    with write_transaction(db) as conn:
        cursor = conn.execute(
            f"INSERT INTO {FILES} (name, content_type, size, sha256, data, pending, created) "
            "VALUES (?, ?, ?, ?, ?, 1, ?)",
            [
                safe_name(filename),
                (content_type or "application/octet-stream")[:100],
                len(data),
                hashlib.sha256(data).hexdigest(),
                data,
                dt.datetime.now().isoformat(timespec="seconds"),
            ],
        )
    return int(cursor.lastrowid or 0)


def attach(conn: sqlite3.Connection, file_id: int) -> None:
    """Mark a pending file as kept (inside the transaction that saves its record)."""
    conn.execute(f"UPDATE {FILES} SET pending = 0 WHERE id = ?", [file_id])


def describe(db: sqlite_utils.Database, file_id: int | None) -> Attachment | None:
    """The file's name, type and size (not its bytes)."""
    if file_id is None:
        return None
    row = db.execute(
        f"SELECT id, name, content_type, size, sha256 FROM {FILES} WHERE id = ?", [file_id]
    ).fetchone()
    return Attachment(*row) if row else None


def read(db: sqlite_utils.Database, file_id: int) -> tuple[Attachment, bytes] | None:
    row = db.execute(
        f"SELECT id, name, content_type, size, sha256, data FROM {FILES} WHERE id = ?",
        [file_id],
    ).fetchone()
    return (Attachment(*row[:5]), bytes(row[5])) if row else None


def sweep_pending(db: sqlite_utils.Database, older_than: dt.timedelta) -> int:
    """Delete pending files older than ``older_than``; returns how many."""
    cutoff = (dt.datetime.now() - older_than).isoformat(timespec="seconds")
    with write_transaction(db) as conn:
        cursor = conn.execute(f"DELETE FROM {FILES} WHERE pending = 1 AND created < ?", [cutoff])
    return cursor.rowcount
