"""Storage: one SQLite file per tool, reached through sqlite-utils.

Each request opens its own connection (SQLite connections are cheap and must not cross
threads) in WAL mode, so readers never wait for the writer and a crash never corrupts
the file. ``Storage.prepare`` makes the schema follow the tool's declarations (see
``deskwork.schema``) and seeds a new database.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from deskwork import schema
from deskwork.backups import Backups
from deskwork.model import Tool

log = logging.getLogger("deskwork")

BUSY_TIMEOUT_MS = 10_000


class Storage:
    """The database file of one tool."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._held: sqlite_utils.Database | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Storage {self.path}>"

    def connect(self, *, check_same_thread: bool = True) -> sqlite_utils.Database:
        """A new connection, for the calling thread only."""
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=check_same_thread
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode, each commit is on the disk (fsync of the WAL) before the user
        # is told it is saved; NORMAL could lose the last saves to a power cut.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # No sqlite-utils plugins: a tool's database behaves the same on every machine, and
        # looking for them scans every installed package (about 20 ms at each launch).
        return sqlite_utils.Database(conn, execute_plugins=False)

    def hold(self) -> None:
        """Keep one idle connection open while the tool is served.

        Each request opens and closes its own connection; without this, every close would
        be the last one, and the last connection to close checkpoints the whole WAL: about
        2 ms a request. ``let_go`` closes it (when the server has stopped).
        """
        with self._lock:
            if self._held is None:
                self._held = self.connect(check_same_thread=False)

    def let_go(self) -> None:
        """Close the connection ``hold`` kept: the WAL is checkpointed into the file."""
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            held.close()

    @contextmanager
    def open(self) -> Iterator[sqlite_utils.Database]:
        db = self.connect()
        try:
            yield db
        finally:
            db.close()

    def tidy(self, tool: Tool, day: dt.date | None = None) -> list[str]:
        """The day's upkeep of the search indexes (``schema.tidy_search``), once a day;
        returns the tables whose index was tidied."""
        with self.open() as db:
            return schema.tidy_search(db, tool, day or dt.date.today())

    def prepare(
        self,
        tool: Tool,
        *,
        seed: bool = True,
        bin_days: int | None = None,
        backups: Backups | None = None,
    ) -> bool:
        """Create or migrate the tool's tables; seed a new one (unless ``seed`` is False).
        ``bin_days`` (if set) overrides how long the tool keeps deleted records; with
        ``backups``, a file about to change (other declarations, or an older deskwork) is
        backed up first.

        Returns True if the database was new.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.open() as db:
            if backups is not None and schema.needs_update(db, tool):
                backup = backups.before_update()
                if backup is not None:
                    log.info("Backed up %s before updating its tables: %s", self.path, backup.path)
            new = schema.prepare(db, tool, bin_days=bin_days)
            if new and seed:
                for function in tool.seeds:
                    function(db)
            return new
