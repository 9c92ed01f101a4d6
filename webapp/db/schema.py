"""The schema: the tool's tables follow its declarations, and no stored value changes meaning.

``prepare(db, tool)`` runs at every launch. What it guarantees:

- Every check before any change. deskwork's own bookkeeping tables are made first (the
  checks read them); then every declared table is checked against what is already there,
  and only if all of them pass is any table of the tool's created or altered. A refused
  declaration leaves the tool's tables as they were.
- A change of what a column's values mean is refused. What each column was declared as
  (its kind: text, numbers with two decimals, dates, a lookup of employees...) is
  recorded in ``_deskwork_columns``; declaring another kind for it raises ``SchemaError``
  saying what to do instead. So do a column declared unique whose rows hold duplicates,
  and a column made outside deskwork that the declared kind can't take over as it is (a
  number column declared text, text that is not all whole numbers declared a number).
- Changes add; nothing is dropped. New tables, new columns (a lookup with its foreign
  key), unique and ordering indexes, full-text search (rebuilt only when the searched
  columns change). A field no longer declared keeps its column and its values; a text
  column made outside deskwork, once checked to hold whole numbers, is rebuilt with
  integer affinity so it sorts and sums as numbers.
- A file written by a newer version of the tool is never opened by an older one: the
  tool's ``version`` is recorded in ``_deskwork_meta`` and checked before anything else
  (``check_version``), a newer one refused naming both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlite_utils

from deskwork.db import attachments, history, lookups, migrations, rollups, search, tokens
from deskwork.db.migrations import KINDS, META
from deskwork.errors import SchemaError
from deskwork.fields import File, Lookup, Text
from deskwork.filters import filter_kind, sortable, totalled
from deskwork.model import Table, TablePage, Tool

#: deskwork's own tables' version: raised when they change (2: the history and the bin;
#: 3: search indexes that fold accents and index prefixes, an index per sortable column).
OWN_TABLES = 3


def prepare(db: sqlite_utils.Database, tool: Tool, *, bin_days: int | None = None) -> bool:
    """Create or migrate the tool's tables and indexes; True if none of them existed.
    Deleted records older than ``bin_days`` (by default the tool's) leave the bin."""
    check_version(db, tool)  # before any change: an older tool never touches a newer file
    new = not any(name in db.table_names() for name in tool.tables)
    _create_own_tables(db)
    history.empty_bin(db, older_than=dt.timedelta(days=bin_days or tool.bin_days))
    declared = fingerprint(tool)
    # Made for these declarations already: what they record is there (no write, so no
    # flush to the disk, at every launch).
    same = _stored_fingerprint(db) == declared
    for table in tool.tables.values():  # every check before any change
        _check_columns(db, table)
    for table in tool.tables.values():
        _create_or_migrate(db, table)
        _unique_indexes(db, table)
        if not same:
            _record_kinds(db, table)
    _sort_indexes(db, tool)
    for table_name, columns in searched(tool).items():
        search.prepare(db, table_name, columns)
    rollups.prepare(db, tool)
    for table in tool.tables.values():
        for f in table.lookups().values():
            lookups.prepare_index(db, f.table_name, f.show)
    if not same:
        with db.conn:
            db.execute(
                f"INSERT OR REPLACE INTO {META} (key, value) VALUES ('schema', ?)", [declared]
            )
    if _meta(db, "version") != tool.version:
        with db.conn:
            db.execute(
                f"INSERT OR REPLACE INTO {META} (key, value) VALUES ('version', ?)", [tool.version]
            )
    return new


def version_key(version: str) -> tuple[int, ...]:
    """``"1.10.0"`` as numbers, to compare (``Tool`` checks a version is numbers and dots)."""
    return tuple(int(part) for part in version.split("."))


def written_by(db: sqlite_utils.Database) -> str | None:
    """The version of the tool that last prepared the file (None: new, or before deskwork
    recorded it)."""
    return _meta(db, "version")


def check_version(db: sqlite_utils.Database, tool: Tool) -> None:
    """Refuse a file a newer version of ``tool`` wrote: its tables may hold what this
    version can't keep right (``SchemaError`` naming both versions)."""
    found = written_by(db)
    if found is not None and version_key(found) > version_key(tool.version):
        raise SchemaError(
            f"This database was written by {tool.title} {found}, and this is {tool.title} "
            f"{tool.version}: an older version never opens a newer one's data. Open it with "
            f"{tool.title} {found} or newer (nothing was changed)."
        )


def _meta(db: sqlite_utils.Database, key: str) -> str | None:
    if META not in db.table_names():
        return None
    found = db.execute(f"SELECT value FROM {META} WHERE key = ?", [key]).fetchone()
    return None if found is None else str(found[0])


def _stored_fingerprint(db: sqlite_utils.Database) -> str | None:
    """The declarations the file was last prepared for (None: never, or before deskwork
    noted them)."""
    return _meta(db, "schema")


def fingerprint(tool: Tool) -> str:
    """What the file's tables are made from: every declaration ``prepare`` follows, and
    deskwork's own tables' version. Another one means ``prepare`` may change the file."""
    declared = {
        "own": OWN_TABLES,
        "tables": {
            t.name: {n: [f.storage_kind, f.unique, f.collate] for n, f in t.fields.items()}
            for t in tool.tables.values()
        },
        "pages": sorted(
            [p.table.name, p.order_column, list(p.search), list(p.columns)]
            for p in tool.pages.values()
            if isinstance(p, TablePage)
        ),
    }
    text = json.dumps(declared, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def needs_update(db: sqlite_utils.Database, tool: Tool) -> bool:
    """Whether the file holds anything and was made for other declarations (or by an
    older deskwork): ``prepare`` may change it, so it is backed up first."""
    if not db.table_names():
        return False
    check_version(db, tool)  # refused before any backup is taken for it
    if migrations.pending(db) or _stored_fingerprint(db) != fingerprint(tool):
        return True
    return written_by(db) not in (None, tool.version)  # another version: backed up first


def _create_own_tables(db: sqlite_utils.Database) -> None:
    """deskwork's own bookkeeping, by its named migrations (``deskwork.db.migrations``),
    then the day's housekeeping: old one-time tokens forgotten, files never saved swept."""
    migrations.apply(db)
    tokens.forget_old(db)
    attachments.sweep_pending(db, dt.timedelta(days=1))


def _unique_indexes(db: sqlite_utils.Database, table: Table) -> None:
    """A unique index for each unique field, comparing as the field does (``collate``:
    e-mail addresses ignore case)."""
    for name, f in table.fields.items():
        if not f.unique:
            continue
        if f.collate is None:
            db.table(table.name).create_index([name], unique=True, if_not_exists=True)
            continue
        index = f"idx_{table.name}_{name}_{f.collate.lower()}"
        db.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS [{index}] "
            f"ON [{table.name}] ([{name}] COLLATE {f.collate})"
        )


def _check_unique(db: sqlite_utils.Database, table: Table, have: dict[str, type]) -> None:
    for name, f in table.fields.items():
        if not f.unique or name not in have:
            continue
        collate = f" COLLATE {f.collate}" if f.collate else ""
        clash = db.execute(
            f"SELECT [{name}], count(*) FROM [{table.name}] WHERE [{name}] IS NOT NULL "
            f"GROUP BY [{name}]{collate} HAVING count(*) > 1 LIMIT 1"
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


def _sort_indexes(db: sqlite_utils.Database, tool: Tool) -> None:
    """An index on each column a table page can sort and filter by (in the order it
    sorts: text ignoring case), so every page of rows is a seek; the page's totalled
    columns ride along in those it filters by (a category's count and total read the
    index alone). Every lookup column is indexed too: its filter, and finding the rows
    that look up a record, read it."""
    wanted: dict[str, str] = {}
    unwanted: set[str] = set()
    for page in tool.pages.values():
        if not isinstance(page, TablePage):
            continue
        table = page.table
        shown = list(page.columns or table.fields)
        totals = [c for c in shown if totalled(table.fields[c])]
        for name in dict.fromkeys([page.order_column, *shown]):
            f = table.fields.get(name)
            if f is None or not sortable(f) or isinstance(f, File):
                continue
            # Ties in id order (the sort's own tie-break), then the totals.
            parts = [f"[{name}]" + (" COLLATE NOCASE" if isinstance(f, Text) else ""), "[id]"]
            if filter_kind(f) in ("values", "yesno", "dates"):
                parts += [f"[{c}]" for c in totals if c != name]
            index = sort_index(table.name, name)
            wanted[index] = f"CREATE INDEX [{index}] ON [{table.name}] ({', '.join(parts)})"
        # deskwork before version 3 indexed (order, id) for the page: the index above does.
        if page.order_column != "id" and _plain_index_on(
            db, table.name, f"idx_{table.name}_{page.order_column}_id", [page.order_column, "id"]
        ):
            unwanted.add(f"idx_{table.name}_{page.order_column}_id")
    for table in tool.tables.values():
        for name in table.lookups():
            index = sort_index(table.name, name)
            wanted.setdefault(index, f"CREATE INDEX [{index}] ON [{table.name}] ([{name}])")
    have = dict(db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name GLOB '_deskwork_sort*'"
    ).fetchall())  # fmt: skip
    unwanted |= set(have) - set(wanted)  # a page or a column no longer declared
    for index in sorted(unwanted):
        if _has_index(db, index):
            with db.conn:
                db.conn.execute(f"DROP INDEX IF EXISTS [{index}]")
    for index, sql in wanted.items():
        if have.get(index) != sql:
            with db.conn:
                db.conn.execute(f"DROP INDEX IF EXISTS [{index}]")
                db.conn.execute(sql)


def sort_index(table: str, column: str) -> str:
    """The name of the index a table page sorts ``table`` by ``column`` with (a colon
    apart: no table or column name holds one, so no two are the same)."""
    return f"_deskwork_sort:{table}:{column}"


def _plain_index_on(db: sqlite_utils.Database, table: str, name: str, columns: list[str]) -> bool:
    """Whether ``table`` has an index ``name`` on exactly ``columns``, not unique (not one
    a unique column of a similar name has)."""
    listed = {r[1]: r[2] for r in db.execute(f"PRAGMA index_list([{table}])")}
    if name not in listed or listed[name]:
        return False
    return [r[2] for r in db.execute(f"PRAGMA index_info([{name}])")] == columns


def _has_index(db: sqlite_utils.Database, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", [name])
    return found.fetchone() is not None


def tidy_search(db: sqlite_utils.Database, tool: Tool, day: dt.date) -> list[str]:
    """Once a day: merge each search index into one piece (FTS5's ``optimize``). Rows
    saved one by one leave an index in many pieces, and testing a row for a word looks
    in each: merged, a common word's page is several times quicker to find. A million
    rows take about a second and a half; done once for ``day``. Returns the tables done."""
    mark = f"search tidied {day.isoformat()}"
    found = db.execute(f"SELECT value FROM {META} WHERE key = 'search_tidied'").fetchone()
    if found is not None and found[0] == mark:
        return []
    done = []
    for table_name in searched(tool):
        name = search.index_name(table_name)
        if db.table(name).exists():
            with db.conn:
                db.conn.execute(f"INSERT INTO [{name}] ([{name}]) VALUES ('optimize')")
            done.append(table_name)
    with db.conn:
        db.conn.execute(
            f"INSERT OR REPLACE INTO {META} (key, value) VALUES ('search_tidied', ?)", [mark]
        )
    return done


def searched(tool: Tool) -> dict[str, list[str]]:
    """The columns each table's search index covers: those its pages search, then the
    names other tables' lookups show (found when searching those tables)."""
    out: dict[str, list[str]] = {}
    for page in tool.pages.values():
        if isinstance(page, TablePage):
            columns = out.setdefault(page.table.name, [])
            columns += [c for c in search.searched_columns(page)[0] if c not in columns]
    for table in tool.tables.values():
        for f in table.lookups().values():
            if f.show == "id":
                continue
            columns = out.setdefault(f.table_name, [])
            if f.show not in columns:
                columns.append(f.show)
    return {name: columns for name, columns in out.items() if columns}
