"""Importing a file's rows into a table: its columns matched to fields, every row checked
by the form's own rules, then all of it saved in one transaction, as one action in the
history (one Undo takes it all back), or none of it.

The steps, each its own function, so that the pages and ``deskwork import`` share them:

1. ``deskwork.reading.read`` gives the file's header and rows.
2. ``match_columns`` pairs its columns with the table's fields, by label or name, case
   and accents aside; the person may change it. An ``ID`` column (or a field declared
   ``unique``) says which record a row updates.
3. ``check`` reads every row as the form would (required, ranges, choices by value or
   label, lookups by the name they show, unique values within the file and against the
   table, the form's ``check``, computed fields), and says for each row whether it is
   new, changes a record (and what), or is wrong (each bad cell and why).
4. ``commit`` saves it in one transaction, if no row is wrong, and each record a row
   updates is still as it was when checked (the forms' version check): otherwise nothing
   is saved, and the message names the row.

Numbers and dates in text are read as the user's locale writes them, as forms read them.
A date such as ``03/04/2025`` is read day first or month first as the whole column
shows (a 13 or more in the first place: day first); where no value tells, ``check``
asks (``Checked.ask_dates``) and reads none of them until told.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlite_utils

from deskwork import locales
from deskwork.db import history, search
from deskwork.db.connection import refusal, write_transaction
from deskwork.db.history import version_of
from deskwork.errors import NotDone, ValidationError
from deskwork.exports import FORMULA_STARTS
from deskwork.fields import Choice, Date, DateTime, Field, File, Lookup, MultiChoice, YesNo
from deskwork.fields.base import as_row_id
from deskwork.model import FormPage, Table
from deskwork.reading import Read

#: The column that names the record a row updates.
ID = "id"
#: How many bad rows a refusal lists before "and N more".
SHOWN = 5
#: What a caller is told as rows are checked or saved: how many so far (a job's
#: progress; raising there, as Cancel does, stops the work with nothing saved).
Step = Callable[[int], None]
#: Rows checked between two steps (five times as many saved).
STEP = 1000
_SLASHED = re.compile(
    r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2}))?\s*"
)


def fold(text: str) -> str:
    """``text`` for matching names: no accents, no case, spaces and punctuation as one."""
    split = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in split if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"[^\W_]+", plain))


def importable(table: Table) -> dict[str, Field]:
    """The fields a file's cells can fill: those a form fills in, files aside (a file
    can't come in a cell)."""
    return {n: f for n, f in table.editable.items() if not isinstance(f, File)}


def match_columns(header: Sequence[str], table: Table) -> dict[int, str]:
    """The file's columns (by position) that match a field (by label or name) or the
    record's ID; each field once, the first column that matches it."""
    names = {fold("id"): ID, fold("#"): ID}
    for name, f in importable(table).items():
        names.setdefault(fold(f.label), name)
        names.setdefault(fold(name), name)
    found: dict[int, str] = {}
    for i, title in enumerate(header):
        matched = names.get(fold(title))
        if matched is not None and matched not in found.values():
            found[i] = matched
    return found


@dataclass
class Row:
    """One row of the file, checked."""

    number: int  # in the file
    kind: str = "new"  # new, change, same, bad
    values: dict[str, Any] = field(default_factory=dict)  # as stored
    errors: dict[str, str] = field(default_factory=dict)  # field (or "") -> why
    record_id: int | None = None  # the record it updates
    version: str | None = None  # of that record, when checked
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (was, is)
    unknown_id: bool = False  # its ID is no record here


@dataclass
class Checked:
    """Every row of the file checked, and what the whole import would do."""

    table: Table
    mapping: dict[int, str]
    rows: list[Row]
    problems: list[str] = field(default_factory=list)  # the file's as a whole
    ignored: list[str] = field(default_factory=list)  # columns matched to no field
    ask_dates: list[str] = field(default_factory=list)  # columns whose day order is unsure

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if r.kind == "bad"]

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r.kind == kind)

    def summary(self) -> str:
        """ "1,447 rows: 1,440 new, 5 changing a record, 2 the same already, 0 with
        problems." """
        n = len(self.rows)
        return (f"{n:,} row{'' if n == 1 else 's'}: {self.count('new'):,} new, "
                f"{self.count('change'):,} changing a record, {self.count('same'):,} the same "
                f"already, {len(self.bad):,} with problems.")  # fmt: skip

    @property
    def ready(self) -> bool:
        return not self.problems and not self.ask_dates and not self.bad

    def refusal(self) -> str:
        """Why nothing would be saved, naming the rows."""
        if self.problems or self.ask_dates:
            return " ".join(self.problems + [
                f"Say whether the dates in {', '.join(self.ask_dates)} are day first "
                "(31/12/2025) or month first (12/31/2025)."] * bool(self.ask_dates))  # fmt: skip
        bad = self.bad
        listed = "; ".join(f"row {r.number}: " + " ".join(r.errors.values()) for r in bad[:SHOWN])
        more = f"; and {len(bad) - SHOWN:,} more" if len(bad) > SHOWN else ""
        return (f"Nothing was imported: {len(bad):,} of {len(self.rows):,} rows can't be "
                f"saved. {listed}{more}.")  # fmt: skip


def check(
    db: sqlite_utils.Database,
    page: FormPage,
    found: Read,
    mapping: Mapping[int, str] | None = None,
    *,
    day_first: bool | None = None,
    step: Step | None = None,
    unknown_ids_new: bool = False,
) -> Checked:
    """Every row of ``found`` read into ``page.table`` as ``mapping`` (file column ->
    field, default ``match_columns``) says; ``day_first`` decides dates the columns don't.
    ``step(rows checked)`` is told every ``STEP`` rows (a job's progress, and its Cancel).
    ``unknown_ids_new``: a row whose ID is no record here (a file from another copy of the
    tool) is a new record, with an ID of its own, instead of an error."""
    table = page.table
    mapping = dict(match_columns(found.header, table) if mapping is None else mapping)
    checked = Checked(table, mapping, [])
    for i, name in list(mapping.items()):
        if name != ID and name not in importable(table):
            checked.problems.append(f"Column {i + 1} can't go into {name!r}: only the fields "
                                    "a form fills in, files aside, can be imported.")  # fmt: skip
            del mapping[i]
    mapped = set(mapping.values())
    checked.ignored = [h or f"column {i + 1}" for i, h in enumerate(found.header)
                       if i not in mapping]  # fmt: skip
    if not mapped - {ID}:
        checked.problems.append(
            "None of the file's columns matches a field of "
            f"{table.name.replace('_', ' ')} (its fields: "
            f"{', '.join(f.label for f in table.editable.values())})."
        )
        return checked
    missing = [f.label for n, f in table.editable.items()
               if f.required and n not in mapped and f.compute is None
               and f.default() in (None, "", [])]  # fmt: skip
    if missing and ID not in mapped:  # every row would be new (with an ID: said per row)
        checked.problems.append(f"No column is matched to {', '.join(missing)}, which every "
                                "record needs.")  # fmt: skip
    orders = _date_orders(found, mapping, table, day_first)
    checked.ask_dates = [table.fields[n].label for n, order in orders.items() if order is None]
    reader = _Reader(db, page, mapping, orders, unknown_ids_new)
    for n, (number, cells) in enumerate(found.rows):
        if step is not None and n % STEP == 0:
            step(n)
        checked.rows.append(reader.row(number, cells))
    return checked


def _date_orders(
    found: Read, mapping: Mapping[int, str], table: Table, day_first: bool | None
) -> dict[str, bool | None]:
    """Per date column written like 03/04/2025: whether day first (None: can't tell)."""
    orders: dict[str, bool | None] = {}
    for i, name in mapping.items():
        if not isinstance(table.fields.get(name), Date):
            continue
        firsts, seconds = [], []
        for _, cells in found.rows:
            m = _SLASHED.fullmatch(str(cells[i])) if isinstance(cells[i], str) else None
            if m:
                firsts.append(int(m[1]))
                seconds.append(int(m[2]))
        if not firsts:
            continue
        if max(firsts) > 12 >= max(seconds):
            orders[name] = True
        elif max(seconds) > 12 >= max(firsts):
            orders[name] = False
        elif day_first is not None:
            orders[name] = day_first
        elif all(a == b for a, b in zip(firsts, seconds, strict=True)):
            orders[name] = True  # 03/03/2025: the same either way
        else:
            orders[name] = None
    return orders


class _Reader:
    """Reads rows as the form does, with what every row needs looked up once."""

    def __init__(self, db: sqlite_utils.Database, page: FormPage, mapping: Mapping[int, str],
                 orders: Mapping[str, bool | None], unknown_ids_new: bool) -> None:  # fmt: skip
        self.db, self.page, self.table = db, page, page.table
        self.unknown_ids_new = unknown_ids_new
        self.mapping, self.orders = mapping, orders
        self.fields = {n: f for n, f in self.table.editable.items() if n in mapping.values()}
        self.fmt = locales.current()
        self.names: dict[str, dict[str, list[int]]] = {}  # lookup -> folded name -> ids
        for name, f in self.fields.items():
            if isinstance(f, Lookup):
                shown: dict[str, list[int]] = {}
                for row_id, value in db.execute(f"SELECT id, [{f.show}] FROM [{f.table_name}]"):
                    shown.setdefault(str(value).casefold(), []).append(int(row_id))
                self.names[name] = shown
        self.unique = {n: f for n, f in self.table.fields.items() if f.unique}
        self.taken: dict[str, dict[Any, int]] = {}  # unique field -> value -> record id
        for name, f in self.unique.items():
            key = self._key_of(f)
            held = db.execute(
                f"SELECT id, [{name}] FROM [{self.table.name}] WHERE [{name}] IS NOT NULL"
            )
            self.taken[name] = {key(v): int(i) for i, v in held}
        self.in_file: dict[str, dict[Any, Row]] = {n: {} for n in self.unique}
        self.id_column = next((i for i, n in mapping.items() if n == ID), None)
        self.ids_seen: dict[int, int] = {}  # record id -> the row that updates it
        self.readers = [(n, c.from_db) for n, c in self.table.fields.items()]
        # A new record's fields no column gives: their defaults, worked out once (the
        # rows of one import are made at one moment, as by one form).
        self.left_python: dict[str, Any] = {}
        self.left_stored: dict[str, Any] = {}
        self.left_required: dict[str, str] = {}  # field -> why, for a new record
        for name, f in self.table.editable.items():
            if name not in self.fields and not isinstance(f, File):
                value = self.left_python[name] = f.default()
                self.left_stored[name] = f.to_db(value)
                if f.required and value in (None, "", []):
                    self.left_required[name] = f"{f.label} is required, and no column gives it."
        # Each column read by its field's own kind of reading, chosen once.
        self.columns = [(i, name, self.fields[name], self._reading(name, self.fields[name]))
                        for i, name in mapping.items() if name != ID]  # fmt: skip
        self.computed = {n: c for n, c in self.table.fields.items() if c.compute is not None}

    @staticmethod
    def _key_of(f: Field) -> Any:
        if f.collate == "NOCASE":
            return lambda v: v.casefold() if isinstance(v, str) else v
        if f.collate == "RTRIM":
            return lambda v: v.rstrip(" ") if isinstance(v, str) else v
        return lambda v: v

    def row(self, number: int, cells: Sequence[Any]) -> Row:
        row = Row(number)
        current: dict[str, Any] | None = None
        if self.id_column is not None and cells[self.id_column] not in ("", None):
            record_id = as_row_id(str(cells[self.id_column]).strip().lstrip("#"))
            current = None if record_id is None else history.get_row(
                self.db.conn, self.table.name, record_id)  # fmt: skip
            if (current is None or record_id is None) and not self.unknown_ids_new:
                row.errors[ID] = (f"There is no {self.table.record_name} "
                                  f"#{cells[self.id_column]} to update.")  # fmt: skip
                current, row.unknown_id = None, True
            elif current is None or record_id is None:
                current = None  # a new record, with an ID of its own
            elif record_id in self.ids_seen:
                what = f"{self.table.record_name.capitalize()} #{record_id}"
                row.errors[ID] = (f"{what} is in row {self.ids_seen[record_id]} too: one row "
                                  "per record.")  # fmt: skip
            else:
                row.record_id, row.version = record_id, version_of(current)
                self.ids_seen[record_id] = number
        python: dict[str, Any] = {}
        values, width = row.values, len(cells)
        for i, name, f, read in self.columns:
            try:
                value = read(cells[i] if i < width else "")
            except ValidationError as error:
                row.errors[name] = str(error)
                continue
            python[name] = value
            values[name] = f.to_db(value)
        if current is None and row.record_id is None:  # new: the fields left out get defaults
            row.errors.update(self.left_required)
            python.update(self.left_python)
            values.update(self.left_stored)
        if not row.errors:
            self._whole(row, python, current)
        if row.errors:
            row.kind = "bad"
        return row

    def _whole(self, row: Row, python: dict[str, Any], current: dict[str, Any] | None) -> None:
        """The record as a whole: the form's check, computed fields, unique values."""
        whole = dict(python)
        if current is not None:
            was = {n: read(current.get(n)) for n, read in self.readers}
            whole = {**was, **python}
        if self.page.check is not None:
            for name, message in (self.page.check(whole) or {}).items():
                row.errors[name if name in self.table.fields else ""] = str(message)
            if row.errors:
                return
        for name, c in self.computed.items():
            try:
                row.values[name] = c.to_db(c.compute(whole))  # type: ignore[misc]
            except ValidationError as error:
                row.errors[name] = str(error)
        for name, f in self.unique.items():
            stored = row.values.get(name)
            if stored is None:
                continue
            key = self._key_of(f)(stored)
            holder = self.taken[name].get(key)
            if holder is not None and holder != row.record_id:
                row.errors[name] = (f"{f.label} “{f.display(stored)}” is already taken by "
                                    f"{self.table.record_name} #{holder}.")  # fmt: skip
            earlier = self.in_file[name].get(key)
            if earlier is None:
                self.in_file[name][key] = row
                continue
            row.errors[name] = f"{f.label} “{f.display(stored)}” is in row {earlier.number} too."
            if name not in earlier.errors:  # the first row with it is told, once
                first = f.display(earlier.values.get(name))
                earlier.errors[name] = f"{f.label} “{first}” is in row {row.number} too."
                earlier.kind = "bad"
        if current is not None and not row.errors:
            row.changes = {n: (current.get(n), v) for n, v in row.values.items()
                           if current.get(n) != v}  # fmt: skip
            row.kind = "change" if row.changes else "same"

    def _reading(self, name: str, f: Field) -> Callable[[Any], Any]:
        """How ``f`` reads a cell into its value (``ValidationError`` if it can't)."""
        fmt = self.fmt
        if isinstance(f, Lookup):
            return lambda cell: self._looked_up(name, f, cell)
        if isinstance(f, YesNo):
            return lambda cell: f.parse(cell if isinstance(cell, bool) else _text(cell, fmt))
        if isinstance(f, MultiChoice):
            several = f

            def picked(cell: Any) -> Any:
                parts = re.split(r"[,;\n]", _text(cell, fmt))
                return several.parse([self._choice(several, p) for p in parts if p.strip()])

            return picked
        if isinstance(f, Choice):
            return lambda cell: f.parse(self._choice(f, _text(cell, fmt)))
        if isinstance(f, Date):
            return lambda cell: f.parse(self._date(name, f, cell))
        return lambda cell: f.parse(_text(cell, fmt))

    @staticmethod
    def _choice(f: Choice, text: str) -> str:
        """A choice by its value or its label, case aside."""
        text = text.strip()
        if text in f.labels:
            return text
        folded = fold(text)
        for value, label in f.labels.items():
            if fold(label) == folded or fold(value) == folded:
                return value
        return text  # refused by the field, with the choices listed

    def _date(self, name: str, f: Date, cell: Any) -> Any:
        stamp = isinstance(f, DateTime)
        if isinstance(cell, dt.datetime):
            return cell.isoformat(sep=" ", timespec="minutes") if stamp else cell.date().isoformat()
        if isinstance(cell, dt.date):
            return f"{cell.isoformat()} 00:00" if stamp else cell.isoformat()
        text = str(cell).strip()
        m = _SLASHED.fullmatch(text)
        if m:
            order = self.orders.get(name)
            if order is None:
                raise ValidationError(f"{f.label}: is {text} day first or month first?")
            day, month = (int(m[1]), int(m[2])) if order else (int(m[2]), int(m[1]))
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            try:
                day_text = dt.date(year, month, day).isoformat()
            except ValueError:
                raise ValidationError(f"{f.label}: {text} is no date.") from None
            if stamp:
                return f"{day_text} {int(m[4] or 0):02d}:{m[5] or '00'}"
            return day_text
        if stamp and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return f"{text} 00:00"
        return text

    def _looked_up(self, name: str, f: Lookup, cell: Any) -> int | None:
        text = _text(cell, self.fmt).strip()
        if not text:
            f.parse("")  # "is required", if it is
            return None
        ids = self.names[name].get(text.casefold(), [])
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            listed = ", ".join(f"#{i}" for i in ids[:5])
            raise ValidationError(f"More than one {f.label.lower()} is called “{text}” "
                                  f"({listed}): make the names differ first.")  # fmt: skip
        row_id = as_row_id(text.lstrip("#"))
        if row_id is not None and any(row_id in found for found in self.names[name].values()):
            return row_id
        raise ValidationError(f"No {f.label.lower()} is called “{text}”.")


def _text(cell: Any, fmt: locales.NumberFormat) -> Any:
    """A typed cell as the text a form would send: numbers in the user's own way."""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, Decimal):
        return format(cell, "f").replace(".", fmt.decimal)
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ", timespec="minutes")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    text = "" if cell is None else str(cell)
    if text[:1] == "'" and text[1:2] and text[1] in FORMULA_STARTS:  # an export's ' taken off
        text = text[1:]
    return text


def commit(
    db: sqlite_utils.Database, checked: Checked, *, label: str | None = None,
    step: Step | None = None,
) -> tuple[int | None, int, int]:  # fmt: skip
    """Save the checked rows in one transaction, as one action; returns (the action's id,
    None if nothing changed; how many new; how many changed). ``NotDone`` if any row is
    wrong, or a record changed since it was checked: then nothing is saved. ``step(rows
    saved)`` is told as it goes; if it raises (Cancel), nothing is saved either."""
    if not checked.ready:
        raise NotDone(checked.refusal())
    table = checked.table
    new = [r for r in checked.rows if r.kind == "new"]
    changed = [r for r in checked.rows if r.kind == "change"]
    if not new and not changed:
        return None, 0, 0
    with write_transaction(db) as conn:
        words = [f"{len(new):,} new"] * bool(new) + [f"{len(changed):,} changed"] * bool(changed)
        action = history.begin(conn, "import", label or (
            f"Imported {table.counted(len(new) + len(changed))} ({', '.join(words)})"))  # fmt: skip
        for row in changed:
            current = history.get_row(conn, table.name, row.record_id or 0)
            if current is None or version_of(current) != row.version:
                raise NotDone(
                    f"Nothing was imported: {table.record_name} #{row.record_id} (row "
                    f"{row.number}) was {'deleted' if current is None else 'changed'} "
                    "since the file was checked. Check the file again."
                )
        try:
            with search.indexed_at_end(conn, table.name) if new else nullcontext():
                for start in range(0, len(new), STEP * 5):
                    if step is not None:
                        step(start)
                    _insert(conn, table, new[start : start + STEP * 5], action)
            for n, row in enumerate(changed):
                if step is not None and n % STEP == 0:
                    step(len(new) + n)
                assignments = ", ".join(f"[{c}] = ?" for c in row.changes)
                conn.execute(f"UPDATE [{table.name}] SET {assignments} WHERE id = ?",
                             [*(v for _, v in row.changes.values()), row.record_id])  # fmt: skip
        except sqlite3.IntegrityError as error:
            raise NotDone(f"Nothing was imported: {refusal(error)}.") from None
        edits = []
        for row in changed:
            after = history.get_row(conn, table.name, row.record_id or 0)
            before = {**(after or {}), **{c: was for c, (was, _) in row.changes.items()}}
            edits.append((before, after or {}))
        history.log_many(conn, action, table, edits)
        search.tidy_after_write(conn, [table.name], len(new) + len(changed))
    return action, len(new), len(changed)


def _insert(conn: Any, table: Table, rows: Sequence[Row], action: int) -> None:
    """The new records, with fresh ids (never a deleted record's), and their history."""
    if not rows:
        return
    first = history.fresh_id(conn, table.name)
    columns = ["id", *rows[0].values]
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO [{table.name}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({marks})"
    conn.executemany(sql, ([first + n, *r.values.values()] for n, r in enumerate(rows)))
    history.log_created(conn, action, table, first)
