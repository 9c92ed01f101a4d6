"""Storage: one SQLite file per tool, reached through sqlite-utils.

Each request opens its own connection (SQLite connections are cheap and must not cross
threads), made as every connection is (``deskwork.db.connection``: WAL, ``FULL``, a busy
wait). ``Storage.prepare`` runs deskwork's own migrations, makes the schema follow the
tool's declarations (see ``deskwork.db.schema``), backs the file up first if either
would change it, and seeds a new database. ``Storage.reading`` is a read-only
connection with a time limit, for SQL a tool author wrote (reports).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from deskwork.db import connection, schema
from deskwork.db.backups import TEAM, Backup, Backups
from deskwork.model import Tool

log = logging.getLogger("deskwork")

#: How long a read-only connection's queries may run (``reading``).
READ_LIMIT_S = 10.0


def _check_roles(db: sqlite_utils.Database, tool: Tool) -> None:
    """Refuse a role whose condition this database can't run (said at launch, not at the
    first change it would hold)."""
    import sqlite3

    from deskwork.errors import ToolError

    for role in tool.roles.values():
        for table, condition in role.changes.items():
            try:
                db.execute(f"EXPLAIN SELECT 1 FROM [{table}] WHERE coalesce(({condition}), 0)",
                           {"person": ""})  # fmt: skip
            except sqlite3.Error as error:
                raise ToolError(
                    f"tool.role({role.name!r}): the condition for {table} can't be run: "
                    f"{error}. Write it as an SQL condition on a row of {table}, with "
                    ":person for the log-in name."
                ) from None


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
        return connection.connect(self.path, check_same_thread=check_same_thread)

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

    @contextmanager
    def reading(self, seconds: float | None = None) -> Iterator[sqlite_utils.Database]:
        """A read-only connection whose queries stop after ``seconds`` (``TimeUp``;
        default ``READ_LIMIT_S``): whatever SQL runs there can't write, nor keep the
        tool busy for long."""
        db = connection.connect(self.path, read_only=True)
        try:
            with connection.time_limit(db, READ_LIMIT_S if seconds is None else seconds):
                yield db
        finally:
            db.close()

    def tidy(self, tool: Tool, day: dt.date | None = None) -> list[str]:
        """The day's upkeep of the search indexes (``schema.tidy_search``), once a day;
        returns the tables whose index was tidied."""
        with self.open() as db:
            return schema.tidy_search(db, tool, day or dt.date.today())

    def restore(self, tool: Tool, backups: Backups, backup: Path, *,
                bin_days: int | None = None) -> Backup:  # fmt: skip
        """Make this database what ``backup`` holds, brought up to ``tool``'s declarations,
        keeping today's people, sessions, tokens and audit trail (``backups.TEAM``);
        returns the copy of the database as it was."""

        def prepare(path: Path) -> None:
            Storage(path).prepare(tool, seed=False, bin_days=bin_days)

        return backups.restore(backup, prepare=prepare, keep=TEAM)

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
        connection.forget_dead_restore(self.path)
        with self.open() as db:
            if backups is not None and schema.needs_update(db, tool):
                backup = backups.before_update()
                if backup is not None:
                    log.info("Backed up %s before updating its tables: %s", self.path, backup.path)
            new = schema.prepare(db, tool, bin_days=bin_days)
            _check_roles(db, tool)
            if new and seed:
                for function in tool.seeds:
                    function(db)
            return new
