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
"""

from __future__ import annotations

import sqlite_utils

from deskwork.fields import Choice, Lookup, Text
from deskwork.fields.text import without_controls
from deskwork.model import TablePage

#: Words of up to this many letters have their own prefix index.
PREFIX_MAX = 6
TOKENIZE = "unicode61 remove_diacritics 2"


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
