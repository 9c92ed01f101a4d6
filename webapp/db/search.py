"""Full-text search of a table: every typed word must match the start of a word in a row.

Each searched table has one FTS5 index, ``<table>_fts`` (the name sqlite-utils and
Datasette look for), over the columns its table pages search and the columns other
tables' lookups show, kept up to date by triggers in the file itself, so rows written by
another program (sqlite-utils, a script, the command line) are found too.

Words are folded (case, accents: "chloe" finds "Chloé") and matched as prefixes. The index
keeps prefix indexes for words of up to ``PREFIX_MAX`` letters: with them, whether one row
matches is a seek, so a common word ("travel", one row in seven) is answered by walking
the table in its sort order and testing rows until a page is full; a rare word is
answered by collecting its few matches first (``deskwork.db.listing`` picks).

Testing a row looks in every piece (b-tree segment) of the index, and the triggers fill
it a row at a time: SQLite (3.40 and 3.51 alike) writes each row a trigger indexes as a
piece of its own, and merges them four at a time, so an index is in a dozen pieces or
more, of all sizes. Once a day the first launch merges them into one (``optimize``,
``deskwork.db.schema.tidy_search``). An import fills the index at the end instead, in
one statement (``indexed_at_end``): a few large pieces, at a third of the cost. A write of
many rows (an import, a bulk change or delete, the undo of one) tidies what it wrote in
its own transaction (``tidy_after_write``): FTS5's ``merge`` with ``usermerge`` 2, until
each level of the index is one piece, within a budget of pages that grows with the rows
written, not with the table.

Measured through ``imports.commit``, ``bulk`` and ``history.undo`` (2026-12-03, and for
imports 2026-12-06; 2 cores, SQLite 3.40.1, the demo's expenses; the search is the table
page's for "travel", each of the newest rows tested):

- 100,000 rows imported into an empty table, the index filled by the triggers: 9 pieces,
  the table page's search 44 ms; the merge added 0.09 to 0.14 s to the 8.7 s import: 5
  pieces, 4.5 ms. Filled at the end: the save takes 1.6 s in all, and leaves 2 pieces
  (SQLite alone's search 1.2 ms; 1.0 ms in one piece).
- The same into a table of 1,000,000 rows tidied the day before (2.3 ms): by the
  triggers, 10 pieces, 16 ms; the merge added 0.08 s of 9.4 s: 6 pieces, 6.0 ms. Filled
  at the end, 2.3 s in all: 3 pieces, 3.1 ms. ``optimize`` would leave one piece, but adds
  1.15 s, growing with the table whatever the size of the write: hence ``merge``, whose
  cost follows the write. Undoing that import (15 s): 10 pieces and 7.8 ms without the
  merge, 3 pieces and 4.4 ms with it (0.14 s).
- A bulk change of 66,667 rows is one UPDATE, which SQLite's own merging already leaves
  in 3 or 4 pieces; the merge (0.09 s of 3.4 s) makes it 2 or 3 (SQLite alone: 7.1 ms to
  2.8 ms in a table of 100,000 rows, 4.4 to 4.1 ms in 1,100,000).
- A bulk delete of 100,000 rows of 1,100,000: 11 pieces without the merge, 3 with it
  (0.17 s of 20 s), but the search stays at 8.1 ms either way: a deleted row's marks
  leave the index only when merged with the piece holding the row, which only the next
  day's ``optimize`` does (1.5 s; then 3.0 ms).

Below ``TIDY_AFTER_ROWS`` nothing is done: 1,000 rows written at once leave that table of
1,000,000 where a day of 2,000 single saves does (17 pieces and 9.8 ms against 12 and
7.8 ms), which the next day's tidy takes care of; 100,000 at once, 15 ms.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlite_utils

from deskwork.fields import Choice, Lookup, Text
from deskwork.fields.text import without_controls
from deskwork.model import TablePage

#: Words of up to this many letters have their own prefix index.
PREFIX_MAX = 6
TOKENIZE = "unicode61 remove_diacritics 2"
#: A write of this many rows or more tidies the indexes of the tables it wrote.
TIDY_AFTER_ROWS = 1000
#: The tidy's budget: a page (4 KB) merged per this many rows written. The demo's
#: expenses write a page per 47 rows and their merge needs about 0.8 of that, so this is
#: four times what it needs there, and a cap where a merge reaches an older, larger piece
#: (the rest waits for the next write or the next day's tidy).
ROWS_PER_PAGE = 16
#: Pages merged by one ``merge`` command: between two, FTS5 says whether work is left.
MERGE_STEP = 200


def index_name(table: str) -> str:
    return f"{table}_fts"


def words(text: str) -> list[str]:
    """What was typed, as words to match (FTS5 syntax typed by someone is just words)."""
    found = [w.replace('"', "") for w in without_controls(text[:1000]).split()]
    return [w for w in found if w][:20]


def phrase(word: str, columns: list[str] | None = None) -> str:
    """An FTS5 query for rows with a word starting with ``word`` (in ``columns`` only)."""
    query = '"' + word + '"*'
    if columns:
        return "{" + " ".join(columns) + "} : " + query
    return query


def indexed_columns(db: sqlite_utils.Database, table: str) -> list[str]:
    """The columns ``table``'s search index covers (none: no index)."""
    return [r[1] for r in db.execute(f"PRAGMA table_info([{index_name(table)}])")]


def prepare(db: sqlite_utils.Database, table: str, columns: list[str]) -> None:
    """Make ``table``'s index cover ``columns`` (in this order), with its triggers.

    An index made otherwise (other columns, another tokenizer: an older deskwork used
    Porter stemming) is replaced and rebuilt from the rows; an index as wanted is left
    alone (no write at a launch).
    """
    name = index_name(table)
    cols = ", ".join(f"[{c}]" for c in columns)
    prefixes = " ".join(str(n) for n in range(1, PREFIX_MAX + 1))
    want = (
        f"CREATE VIRTUAL TABLE [{name}] USING fts5({cols}, content=[{table}], "
        f"tokenize='{TOKENIZE}', prefix='{prefixes}')"
    )
    found = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [name]).fetchone()
    triggers = {
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [table]
        )
    }
    if found and found[0] == want and {f"{table}_ai", f"{table}_ad", f"{table}_au"} <= triggers:
        return
    new = ", ".join(f"new.[{c}]" for c in columns)
    old = ", ".join(f"old.[{c}]" for c in columns)
    with db.conn:
        for trigger in ("ai", "ad", "au"):
            db.conn.execute(f"DROP TRIGGER IF EXISTS [{table}_{trigger}]")
        db.conn.execute(f"DROP TABLE IF EXISTS [{name}]")
        db.conn.execute(want)
        # One statement at a time: executescript would commit the drop on its own.
        db.conn.execute(
            f"CREATE TRIGGER [{table}_ai] AFTER INSERT ON [{table}] BEGIN "
            f"INSERT INTO [{name}] (rowid, {cols}) VALUES (new.rowid, {new}); END"
        )
        db.conn.execute(
            f"CREATE TRIGGER [{table}_ad] AFTER DELETE ON [{table}] BEGIN "
            f"INSERT INTO [{name}] ([{name}], rowid, {cols}) VALUES ('delete', old.rowid, {old}); "
            "END"
        )
        db.conn.execute(
            f"CREATE TRIGGER [{table}_au] AFTER UPDATE OF {cols} ON [{table}] BEGIN "
            f"INSERT INTO [{name}] ([{name}], rowid, {cols}) VALUES ('delete', old.rowid, {old}); "
            f"INSERT INTO [{name}] (rowid, {cols}) VALUES (new.rowid, {new}); END"
        )
        db.conn.execute(f"INSERT INTO [{name}] ([{name}]) VALUES ('rebuild')")


def searched_columns(page: TablePage) -> tuple[list[str], list[tuple[str, Lookup]]]:
    """What a page's search looks in: the text the rows show and the columns the author
    lists; and the shown lookups, whose names it finds."""
    fields = page.table.fields
    shown = list(page.columns or fields)
    own = [c for c in shown if isinstance(fields[c], Text | Choice)]
    own += [c for c in page.search if c not in own]
    looked_up = [(c, f) for c in shown if isinstance(f := fields[c], Lookup) and f.show != "id"]
    return own, looked_up


def indexes_of(conn: sqlite3.Connection, table: str) -> list[str]:
    """The full-text indexes kept from ``table``'s rows: its search index and its lookup
    columns' trigram indexes (``deskwork.db.lookups``), or one another program made."""
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'"
    )
    return [n for n, sql in found if f"content=[{table}]" in sql or f"content='{table}'" in sql]


def tidy_after_write(conn: sqlite3.Connection, tables: Iterable[str], rows: int) -> list[str]:
    """After a write of ``rows`` rows into ``tables`` (in the caller's transaction), merge
    the pieces of their full-text indexes, if the write was large (``TIDY_AFTER_ROWS``):
    FTS5's ``merge`` with ``usermerge`` 2, until each level of an index is one piece, or
    ``rows / ROWS_PER_PAGE`` pages are merged. Returns the indexes merged."""
    if rows < TIDY_AFTER_ROWS:
        return []
    done = []
    for table in dict.fromkeys(tables):
        for name in indexes_of(conn, table):
            _merge(conn, name, rows // ROWS_PER_PAGE)
            done.append(name)
    return done


def _merge(conn: sqlite3.Connection, name: str, pages: int) -> None:
    # usermerge 2: a 'merge' merges any level of two pieces or more (FTS5 waits for four);
    # kept in the index's own configuration, it changes nothing else (automerge is apart).
    found = conn.execute(f"SELECT v FROM [{name}_config] WHERE k = 'usermerge'").fetchone()
    if found is None or found[0] != 2:
        conn.execute(f"INSERT INTO [{name}] ([{name}], rank) VALUES ('usermerge', 2)")
    while pages > 0:
        before = conn.total_changes
        conn.execute(
            f"INSERT INTO [{name}] ([{name}], rank) VALUES ('merge', ?)", [min(pages, MERGE_STEP)]
        )
        if conn.total_changes - before < 2:  # FTS5's sign that there was nothing to merge
            return
        pages -= MERGE_STEP


#: A trigger that indexes each new row of a table, as ``prepare`` and
#: ``deskwork.db.lookups`` write them (any other, such as sqlite-utils' with its quoted
#: names, is left to index a row at a time).
_INDEXING_TRIGGER = re.compile(
    r"CREATE TRIGGER (?:IF NOT EXISTS )?\[[^\]]+\] AFTER INSERT ON \[(?P<table>[^\]]+)\]\s+"
    r"BEGIN\s+INSERT INTO \[(?P<index>[^\]]+)\] \(rowid, (?P<columns>[^()]+)\) "
    r"VALUES \(new\.(?:rowid|id), (?P<values>[^()]+)\);\s*END",
)


@contextmanager
def indexed_at_end(conn: sqlite3.Connection, table: str) -> Iterator[None]:
    """Rows inserted into ``table`` within (in the caller's write transaction) are added
    to its full-text indexes at the end, one statement an index, instead of a row at a
    time by its insert triggers.

    Why: a trigger's insert is a statement of its own, and FTS5 writes what each one
    indexes as a piece (segment) of its own, then merges them: 100,536 expenses imported
    took 4.6 s that way, and 1.5 s with the index filled at the end by one
    ``INSERT … SELECT`` (SQLite 3.40.1), which also leaves the index in fewer pieces.

    deskwork's own indexing triggers (exactly as ``prepare`` and ``deskwork.db.lookups``
    write them) are dropped for the while and made again as they were before the
    transaction ends, so no other connection ever sees them gone; any other trigger runs
    as ever. Only for inserting new rows (ids above every id there), none of them
    changed or deleted within: a change's trigger would take out of the index what is
    not in it yet. On an error the caller's transaction must roll back, as
    ``write_transaction`` does: that brings the triggers back too.
    """
    if not conn.in_transaction:  # the triggers' drop would be saved on its own
        raise RuntimeError("indexed_at_end is for a write transaction: begin one first.")
    indexes = set(indexes_of(conn, table))
    found = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [table]
    ).fetchall()
    own = []
    for name, sql in found:
        m = _INDEXING_TRIGGER.fullmatch(sql or "")
        if m is None or m["table"] != table or m["index"] not in indexes:
            continue
        columns = m["columns"].split(", ")
        if m["values"] != ", ".join(f"new.{c}" for c in columns):
            continue
        own.append((name, sql, m["index"], m["columns"]))
    top = conn.execute(f"SELECT max(rowid) FROM [{table}]").fetchone()[0] or 0
    for name, *_ in own:
        conn.execute(f"DROP TRIGGER [{name}]")
    yield
    for _, sql, index, columns in own:
        conn.execute(
            f"INSERT INTO [{index}] (rowid, {columns}) SELECT rowid, {columns} "
            f"FROM [{table}] WHERE rowid > ?",
            [top],
        )
        conn.execute(sql)
