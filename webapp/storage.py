"""Storage: one SQLite file per tool, reached through sqlite-utils.

Each request opens its own connection (SQLite connections are cheap and must not cross
threads) in WAL mode, so readers never wait for the writer and a crash never corrupts
the file. ``Storage.prepare`` makes the schema follow the tool's declarations.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from deskwork import attachments, lookups
from deskwork.errors import SchemaError
from deskwork.fields import Lookup
from deskwork.model import Table, TablePage, Tool

BUSY_TIMEOUT_MS = 10_000
KINDS = "_deskwork_columns"  # what each column was declared as: its values' meaning


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
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return sqlite_utils.Database(conn)

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

    def prepare(self, tool: Tool, *, seed: bool = True) -> bool:
        """Create or migrate the tool's tables; seed a new one (unless ``seed`` is False).

        Returns True if the database was new.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.open() as db:
            new = not any(name in db.table_names() for name in tool.tables)
            _create_own_tables(db)
            for table in tool.tables.values():  # every check before any change
                _check_columns(db, table)
            for table in tool.tables.values():
                _create_or_migrate(db, table)
                _unique_indexes(db, table)
                _record_kinds(db, table)
            search: dict[str, list[str]] = {}
            for page in tool.pages.values():
                if isinstance(page, TablePage):
                    _index_for(db, page)
                    columns = search.setdefault(page.table.name, [])
                    columns += [c for c in page.search if c not in columns]
            for table_name, columns in search.items():
                _full_text_search(db, table_name, columns)
            for table in tool.tables.values():
                for f in table.lookups().values():
                    lookups.prepare_index(db, f.table_name, f.show)
            if new and seed:
                for function in tool.seeds:
                    function(db)
            return new


def _create_own_tables(db: sqlite_utils.Database) -> None:
    """deskwork's own bookkeeping: attached files, the trash (undo), one-time form tokens."""
    attachments.create_table(db)
    db.execute(
        """CREATE TABLE IF NOT EXISTS _deskwork_trash (
            id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, row_id INTEGER NOT NULL,
            data TEXT NOT NULL, deleted_at TEXT NOT NULL)"""
    )
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {KINDS} (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL, kind TEXT NOT NULL,
            PRIMARY KEY (table_name, column_name))"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS _deskwork_once (
            token TEXT PRIMARY KEY, table_name TEXT NOT NULL, row_id INTEGER NOT NULL,
            at TEXT NOT NULL)"""
    )
    # Forms sent twice arrive within seconds; a week of tokens is plenty.
    week_ago = (dt.datetime.now() - dt.timedelta(days=7)).isoformat(timespec="seconds")
    with db.conn:
        db.execute("DELETE FROM _deskwork_once WHERE at < ?", [week_ago])
    attachments.sweep_pending(db, dt.timedelta(days=1))


def _unique_indexes(db: sqlite_utils.Database, table: Table) -> None:
    for name, f in table.fields.items():
        if f.unique:
            db.table(table.name).create_index([name], unique=True, if_not_exists=True)


def _check_unique(db: sqlite_utils.Database, table: Table, have: dict[str, type]) -> None:
    for name, f in table.fields.items():
        if not f.unique or name not in have:
            continue
        clash = db.execute(
            f"SELECT [{name}], count(*) FROM [{table.name}] WHERE [{name}] IS NOT NULL "
            f"GROUP BY [{name}] HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if clash is not None:
            raise SchemaError(
                f"{table.name}.{name} is declared unique, but {clash[1]} rows hold "
                f"{clash[0]!r}. Change those rows first, or drop unique=True."
            )


def _columns(table: Table) -> dict[str, type]:
    return {name: f.sql_type for name, f in table.fields.items()}


def _check_columns(db: sqlite_utils.Database, table: Table) -> None:
    """Refuse a declaration that would change what stored values mean."""
    existing = db.table(table.name)
    if not existing.exists():
        return
    have = existing.columns_dict
    _check_unique(db, table, have)
    recorded = dict(
        db.execute(
            f"SELECT column_name, kind FROM {KINDS} WHERE table_name = ?", [table.name]
        ).fetchall()
    )
    for name, f in table.fields.items():
        if name not in have:
            continue
        was = recorded.get(name)
        if was is not None and was != f.storage_kind:
            raise SchemaError(
                f"Column {table.name}.{name} was saved as {describe_kind(was)} and is now "
                f"declared {describe_kind(f.storage_kind)}: converting the rows there could "
                "change or lose them. Give the new field a new name, or convert the column "
                "yourself first."
            )
        if was is None and f.sql_type is str and have[name] in (int, float):
            raise SchemaError(
                f"Column {table.name}.{name} holds numbers but the tool now declares "
                f"{describe_kind(f.storage_kind)}: converting them could lose data. Rename "
                "the field, or convert the column yourself first."
            )
        if f.sql_type is not str and have[name] is not f.sql_type:
            # A column made elsewhere: numbers must already be whole numbers, or missing.
            column = f"[{name}]"
            whole = (
                f"typeof({column}) IN ('integer', 'null') OR (typeof({column}) = 'text' AND "
                f"ltrim({column}, '-') GLOB '[0-9]*' AND ltrim({column}, '-') NOT GLOB '*[^0-9]*')"
            )
            odd = db.execute(f"SELECT count(*) FROM [{table.name}] WHERE NOT ({whole})").fetchone()[
                0
            ]
            if odd:
                raise SchemaError(
                    f"Column {table.name}.{name} holds {odd:,} values that are not whole "
                    f"numbers, but the tool now declares it {describe_kind(f.storage_kind)}: "
                    "converting them could lose data. Rename the field, or convert the "
                    "column yourself first."
                )


def describe_kind(kind: str) -> str:
    family, _, detail = kind.partition(":")
    if family == "number":
        if detail == "0":
            return "whole numbers"
        return f"numbers with {detail} decimals"
    if family == "lookup":
        return f"a lookup of {detail}"
    return {"text": "text", "yesno": "yes/no", "date": "dates", "datetime": "dates and times",
            "list": "lists of choices", "file": "files"}.get(family, family)  # fmt: skip


def _record_kinds(db: sqlite_utils.Database, table: Table) -> None:
    with db.conn:
        db.conn.executemany(
            f"INSERT OR REPLACE INTO {KINDS} (table_name, column_name, kind) VALUES (?, ?, ?)",
            [(table.name, name, f.storage_kind) for name, f in table.fields.items()],
        )


def _create_or_migrate(db: sqlite_utils.Database, table: Table) -> None:
    declared = _columns(table)
    existing = db.table(table.name)
    if not existing.exists():
        existing.create(
            {"id": int, **declared},
            pk="id",
            foreign_keys=[
                (name, f.table_name, "id")
                for name, f in table.fields.items()
                if isinstance(f, Lookup)
            ],
        )
        return
    have = existing.columns_dict
    # A text column (made outside deskwork) declared a number holds whole numbers by now
    # (checked): give it integer affinity, or SQLite would keep storing and sorting text.
    to_integer = {n: int for n, f in table.fields.items() if n in have and have[n] is str
                  and f.sql_type is int}  # fmt: skip
    if to_integer:
        existing.transform(types=to_integer)
    for name, f in table.fields.items():
        if name in have:
            continue
        if isinstance(f, Lookup):
            existing.add_column(name, int, fk=f.table_name, fk_col="id")
        else:
            existing.add_column(name, f.sql_type)


def _index_for(db: sqlite_utils.Database, page: TablePage) -> None:
    if page.order_column != "id":
        db.table(page.table.name).create_index([page.order_column, "id"], if_not_exists=True)


def _full_text_search(db: sqlite_utils.Database, table_name: str, columns: list[str]) -> None:
    """FTS5 over ``columns``, kept up to date by triggers; rebuilt only when they change."""
    table = db.table(table_name)
    if not columns:
        return
    table.enable_fts(columns, create_triggers=True, tokenize="porter", replace=True)
