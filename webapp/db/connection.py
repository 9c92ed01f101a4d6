"""Connecting to a tool's SQLite file: the one place connections are made, written
through, limited in time, and where SQLite's refusals are put in words.

* Every connection is in WAL mode (readers never wait for the writer; a crash never
  corrupts the file), with ``synchronous=FULL`` (each commit is on the disk before the
  person is told it is saved) and foreign keys on. A busy file is waited for
  ``BUSY_TIMEOUT_S``, never answered with "database is locked" at once.
* Every write is one ``BEGIN IMMEDIATE`` transaction (``write_transaction``): other
  writers wait, and all of it is saved or none.
* While a restore runs (``restoring``), every write is refused before it writes
  (``RestoreUnderWay``), in every process: nothing saved meanwhile is lost under the
  restored data.
* A read-only connection (``read_only=True``) can't write whatever SQL it is given
  (reports run there), and ``time_limit`` stops a query that runs too long.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from deskwork.errors import RestoreUnderWay, TimeUp

#: How long a connection waits for another writer before giving up.
BUSY_TIMEOUT_S = 10.0
#: Who is restoring the file, while they do (``restoring``).
RESTORING = "_deskwork_restoring"


def open_file(
    path: str | Path, *, read_only: bool = False, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A plain sqlite3 connection to ``path``, set up as every deskwork connection is."""
    if read_only:
        uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=check_same_thread
        )
        conn.execute("PRAGMA query_only=ON")  # not even a PRAGMA that writes
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=check_same_thread)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode, each commit is on the disk (fsync of the WAL) before the user
        # is told it is saved; NORMAL could lose the last saves to a power cut.
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def connect(
    path: str | Path, *, read_only: bool = False, check_same_thread: bool = True
) -> sqlite_utils.Database:
    """``open_file``, through sqlite-utils."""
    conn = open_file(path, read_only=read_only, check_same_thread=check_same_thread)
    # No sqlite-utils plugins: a tool's database behaves the same on every machine, and
    # looking for them scans every installed package (about 20 ms at each launch).
    return sqlite_utils.Database(conn, execute_plugins=False)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One immediate transaction: other writers wait; all of it is saved, or none."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()  # a read left a transaction open: end it, it changed nothing
    conn.execute("BEGIN IMMEDIATE")
    try:
        _not_while_restoring(conn)
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _not_while_restoring(conn: sqlite3.Connection) -> None:
    try:
        found = conn.execute(f"SELECT 1 FROM {RESTORING}").fetchone()
    except sqlite3.OperationalError:  # no such table: no restore has marked the file
        return
    if found is None:
        return
    path = conn.execute("PRAGMA main.database_list").fetchone()[2]
    if path and _restore_lock_held(Path(path)):
        raise RestoreUnderWay(
            "A backup is being restored: nothing was saved. Try again in a moment (what "
            "you typed is still here: go back)."
        )
    # A mark whose restore died (its lock went with its process): writes go on.


def _lock_path(database: Path) -> Path:
    return database.with_name(f"{database.name}-restoring.lock")


@contextmanager
def _restore_lock(database: Path) -> Iterator[bool]:
    """The restore's own lock, beside the database: whether it was had (held until the
    block ends). The system lets go of it when its process ends, however it ends."""
    with open(_lock_path(database), "a+b") as file:
        if not _try_lock(file.fileno()):
            yield False
            return
        try:
            yield True
        finally:
            _unlock(file.fileno())


def _try_lock(descriptor: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(descriptor, 0, os.SEEK_SET)  # the file's first byte, whatever its size
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(descriptor: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(descriptor, fcntl.LOCK_UN)


def _restore_lock_held(database: Path) -> bool:
    """Whether a restore is running on ``database`` now (in any process)."""
    if not _lock_path(database).exists():
        return False
    with _restore_lock(database) as had:
        return not had


@contextmanager
def restoring(path: Path) -> Iterator[None]:
    """Refuse every write to ``path``'s database while the block runs (a restore), in
    every process and thread; a write under way finishes first. One restore at a time:
    another is refused (``RestoreUnderWay``). The mark is a table in the file, trusted
    while the restore's lock file is held (a restore that died leaves a mark no one
    heeds); it is left out of the file the block puts in place, and dropped otherwise."""
    with _restore_lock(path) as had:
        if not had:
            raise RestoreUnderWay("Another restore is under way: nothing was changed.")
        with closing(open_file(path)) as conn:
            conn.execute("BEGIN IMMEDIATE")  # after every write under way
            conn.execute(f"CREATE TABLE IF NOT EXISTS {RESTORING} (since TEXT NOT NULL)")
            conn.execute(f"DELETE FROM {RESTORING}")
            conn.execute(f"INSERT INTO {RESTORING} (since) VALUES (?)",
                         [dt.datetime.now(dt.timezone.utc).isoformat()])  # fmt: skip
            conn.commit()
            try:
                yield
            finally:
                with conn:  # (a restored file has no mark: it was made without one)
                    conn.execute(f"DROP TABLE IF EXISTS {RESTORING}")


def forget_dead_restore(path: Path) -> None:
    """Take the mark of a restore that died out of ``path`` (at a launch: writes go on
    past it anyway, but it need not stay). Nothing is opened for a file never restored
    (a restore makes its lock file before it marks the database)."""
    if path.is_file() and _lock_path(path).exists() and not _restore_lock_held(path):
        forget_restoring(path)


def forget_restoring(path: Path) -> None:
    """Take a restore's mark out of ``path`` (a copy a restore is making ready: a backup
    taken while another restore ran holds its mark)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(f"DROP TABLE IF EXISTS {RESTORING}")


@contextmanager
def time_limit(db: sqlite_utils.Database | sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Stop the queries run inside after ``seconds`` (``TimeUp``)."""
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    deadline = time.perf_counter() + seconds
    stopped = False

    def check() -> int:
        nonlocal stopped
        stopped = time.perf_counter() > deadline
        return 1 if stopped else 0

    conn.set_progress_handler(check, 2000)
    try:
        yield
    except Exception as e:
        if stopped:
            raise TimeUp(f"The query took longer than {seconds:g} s and was stopped.") from e
        raise
    finally:
        conn.set_progress_handler(None, 0)


def refusal(error: sqlite3.IntegrityError) -> str:
    """What SQLite refused, in words (a unique value taken, a looked-up row gone)."""
    text = str(error)
    if text.startswith("UNIQUE constraint failed: "):
        return "a value that must be unique is taken (" + text.split(": ", 1)[1] + ")"
    if "FOREIGN KEY" in text:
        return "a record it looks up is gone"
    return text
