"""Backups of a tool's database: whole, dated copies, never half a file.

A backup is made with SQLite's backup API (a consistent copy, even while the tool is
saving) into a hidden ``.partial`` file, flushed to the disk, then renamed into place: a
backup cut short (the machine off, the process killed) leaves the earlier ones as they
were and no file with a backup's name. The newest ``keep`` are kept.

They are taken on the first launch of a day (``daily``), before the tool's tables change
(``Storage.prepare``), before a restore, and when asked (``deskwork backup``, "Back up
now"). A restore checks the backup whole first, keeps a copy of the current file, then
copies the backup into the database in one step.

A restore brings back the data, not who may use it: a served tool's people, sessions, API
tokens and audit trail (``TEAM``) stay as they are now. The backup is first copied aside,
brought up to the tool's declarations (``prepare``) and given today's ``TEAM`` tables; that
copy is then copied into the database in one step.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from deskwork.db import BACKUPS_KEPT
from deskwork.db.connection import forget_restoring, open_file, restoring
from deskwork.db.migrations import API_KEYS, ATTEMPTS, AUDIT, SESSIONS, USERS
from deskwork.db.tokens import TABLE as SPENT_TOKENS
from deskwork.errors import BackupError

KEEP = BACKUPS_KEPT
#: What a restore keeps as it is now: who may log in to a served tool, their sessions and
#: tokens, the audit trail (append-only: a restore adds the lines the backup lacks), the
#: log-ins being checked, and the forms' spent one-time tokens (a form sent before stays
#: sent).
TEAM = (USERS, SESSIONS, API_KEYS, AUDIT, ATTEMPTS, SPENT_TOKENS)
APPEND_ONLY = frozenset({AUDIT})
STAMP = "%Y-%m-%d_%H%M%S"
NAME = re.compile(
    r"^(?P<stem>.+)_(?P<at>\d{4}-\d{2}-\d{2}_\d{6})(?:_(?P<n>\d+))?_(?P<why>[a-z-]+)\.sqlite3$"
)


@dataclass(frozen=True)
class Backup:
    """One backup file."""

    path: Path
    at: dt.datetime
    why: str  # "daily", "manual", "before-update", "before-restore"
    n: int = 1  # the second (third...) backup within the same second

    @property
    def size(self) -> int:
        return self.path.stat().st_size


class Backups:
    """The backups of the database at ``database``, in ``folder`` (by default a
    ``backups`` folder beside it); the newest ``keep`` are kept."""

    def __init__(self, database: Path, folder: Path | None = None, keep: int = KEEP) -> None:
        if keep < 1:
            raise BackupError(f"keep={keep}: at least one backup must be kept.")
        self.database = Path(database)
        self.folder = Path(folder) if folder is not None else self.database.parent / "backups"
        self.keep = keep
        self._lock = threading.RLock()  # one take or restore at a time in this process

    def __repr__(self) -> str:
        return f"<Backups of {self.database} in {self.folder}>"

    def all(self) -> list[Backup]:
        """The backups there are, newest first (half-made ones are not backups)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = NAME.match(path.name)
            if match and match["stem"] == self.database.stem and path.is_file():
                at = dt.datetime.strptime(match["at"], STAMP)
                found.append(Backup(path, at, match["why"], int(match["n"] or 1)))
        return sorted(found, key=lambda b: (b.at, b.n), reverse=True)

    def take(
        self,
        why: str = "manual",
        *,
        progress: Callable[[int, int], None] | None = None,
        prune: bool = True,
    ) -> Backup:
        """Back the database up now; returns the new backup. With ``prune``, the oldest
        beyond ``keep`` go (the newest of each kind always stays)."""
        if not self.database.is_file():
            raise BackupError(f"There is no database at {self.database} to back up.")
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep_partials()
            now = dt.datetime.now()
            target = self._free_name(now, why)
            # Its own name (the process, and a random part: two takes at once never meet).
            partial = self.folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
            try:
                _copy(self.database, partial, progress)
                forget_restoring(partial)  # a restore's mark, if one is under way
                _flush(partial)
                os.replace(partial, target)  # the backup appears whole, or not at all
                _flush_folder(self.folder)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            if prune:
                self._prune(spare=target)
        made = next((b for b in self.all() if b.path == target), None)
        return made or Backup(target, now.replace(microsecond=0), why)

    def daily(self, today: dt.date | None = None) -> Backup | None:
        """A backup if none was taken ``today`` (the first launch of a day)."""
        today = today or dt.date.today()
        if any(b.at.date() == today for b in self.all()):
            return None
        return self.take("daily") if self.database.is_file() else None

    def before_update(self) -> Backup | None:
        """A backup before the tables change, unless the newest one is such a backup and
        the database has not changed since (a change refused at every launch would
        otherwise push every other backup out)."""
        newest = next((b for b in self.all() if b.why == "before-update"), None)
        if newest is not None and self._unchanged_since(newest):
            return None
        return self.take("before-update")

    def restore(
        self,
        backup: Path,
        *,
        prepare: Callable[[Path], None] | None = None,
        keep: tuple[str, ...] = (),
    ) -> Backup:
        """Make the database what ``backup`` holds; returns the copy of the database as it
        was, taken first. The backup is checked whole before anything changes, and nothing
        is pruned before it is copied (it may be the oldest). With ``prepare`` (which
        brings a file up to the tool's declarations) or ``keep`` (tables kept as they are
        now, such as ``TEAM``), a copy of the backup is made ready first, aside."""
        backup = Path(backup).resolve()
        check(backup)
        if prepare is None and not keep:  # as it is (a failed update's file, put back)
            with self._lock:
                before = self.take("before-restore", prune=False)
                _put_in(backup, self.database)
                self._prune(spare=before.path)
            return before
        # No write anywhere from here to the end (``restoring``): everything saved before
        # is in the copy taken first, and the team's tables are carried over whole.
        with self._lock, restoring(self.database):
            before = self.take("before-restore", prune=False)
            mark = f"{os.getpid()}.{secrets.token_hex(4)}"
            ready = self.folder / f".{self.database.stem}_restoring.{mark}.partial"
            try:
                _copy(backup, ready, None, read_only=True)
                forget_restoring(ready)
                if prepare is not None:
                    prepare(ready)
                _carry_over(self.database, ready, keep)
                with closing(sqlite3.connect(ready)) as made:
                    made.execute("PRAGMA journal_mode=DELETE")  # all of it in its one file
                _put_in(ready, self.database)
            finally:
                for left in (ready, Path(f"{ready}-wal"), Path(f"{ready}-shm")):
                    left.unlink(missing_ok=True)
            self._prune(spare=before.path)
        return before

    def _unchanged_since(self, backup: Backup) -> bool:
        taken = backup.path.stat().st_mtime
        files = [self.database, Path(f"{self.database}-wal")]
        return all(not f.exists() or f.stat().st_mtime <= taken for f in files)

    def _free_name(self, now: dt.datetime, why: str) -> Path:
        """A name after every backup of the same second (they sort by it)."""
        same = [b.n for b in self.all() if b.at == now.replace(microsecond=0)]
        stamp = now.strftime(STAMP)
        if not same:
            return self.folder / f"{self.database.stem}_{stamp}_{why}.sqlite3"
        return self.folder / f"{self.database.stem}_{stamp}_{max(same) + 1}_{why}.sqlite3"

    def _prune(self, spare: Path) -> None:
        """Keep the newest ``keep``, the newest of each kind, and ``spare``."""
        found = self.all()
        kept = {b.path for b in found[: self.keep]} | {spare}
        for why in {b.why for b in found}:
            kept.add(next(b.path for b in found if b.why == why))
        for old in found:
            if old.path not in kept:
                old.path.unlink(missing_ok=True)

    def _sweep_partials(self) -> None:
        """Half-made backups of processes that died (a running one's is left alone; on
        Windows, where a process can't be asked, those a day old)."""
        day_ago = time.time() - 86_400
        for path in self.folder.glob(f".{self.database.stem}_*.partial*"):
            name = path.name.removesuffix("-wal").removesuffix("-shm")  # beside one, too
            if not name.endswith(".partial"):
                continue
            parts = name.rsplit(".", 3)
            pid = parts[-3] if len(parts) == 4 else ""
            alive = pid.isdigit() and _alive(int(pid))
            if not alive or (os.name != "posix" and path.stat().st_mtime < day_ago):
                path.unlink(missing_ok=True)


def check(path: Path) -> None:
    """Refuse a file that is not a whole SQLite database."""
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    try:
        with closing(open_file(path, read_only=True)) as db:
            result = db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a database this tool can restore: {error}.") from None
    if result != [("ok",)]:
        raise BackupError(f"{path} is damaged ({result[0][0]}): choose another backup.")


def _carry_over(database: Path, ready: Path, tables: tuple[str, ...]) -> None:
    """Give ``ready`` the ``tables`` as ``database`` holds them now (the columns both
    have), in one transaction; append-only ones get the lines they lack."""
    with closing(open_file(ready)) as db:
        db.execute("ATTACH DATABASE ? AS now", [str(database)])
        with db:
            for table in tables:
                here = _columns(db, "main", table)
                there = set(_columns(db, "now", table))
                shared = ", ".join(f'"{c}"' for c in here if c in there)
                if not shared:
                    continue
                copy = f'INSERT INTO main."{table}" ({shared}) SELECT {shared} FROM now."{table}"'
                if table in APPEND_ONLY:
                    db.execute(f'{copy} WHERE rowid NOT IN (SELECT rowid FROM main."{table}")')
                    continue
                db.execute(f'DELETE FROM main."{table}"')
                db.execute(copy)
        db.execute("DETACH DATABASE now")


def _columns(db: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in db.execute(f'PRAGMA {schema}.table_info("{table}")')]


def _put_in(source_file: Path, database: Path) -> None:
    """Copy ``source_file`` into ``database`` in one step: readers see the old database
    or the new one."""
    with (
        closing(open_file(source_file, read_only=True)) as source,
        closing(open_file(database)) as db,
    ):
        source.backup(db)


def _copy(
    database: Path, target: Path, progress: Callable[[int, int], None] | None, *,
    read_only: bool = False,
) -> None:  # fmt: skip
    """A consistent copy of ``database`` at ``target``; ``read_only``: a backup's, left
    exactly as it is."""
    with (
        closing(open_file(database, read_only=read_only)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):

        def report(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        source.backup(copy, pages=-1, progress=report)  # one step: one consistent copy
        copy.execute("PRAGMA journal_mode=DELETE")  # one file: nothing beside it to lose


def _flush(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _flush_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no folder handles to sync)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # can't be asked here: swept by age instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
