"""Exports: what a table page shows (its filters, sort, search and columns) as a CSV file or
an Excel workbook, streamed as SQLite reads the rows.

One path makes every export: a ``Sheet`` (its title, columns and rows in batches) is
``encode``-d into the bytes of a format. The table page's download, the window's save
dialog, ``deskwork export`` and (later) reports all go through it.

Values are what the page shows, typed: money and numbers as exact decimals (formatted in
SQL from the whole numbers stored, never through a float), dates as dates, a lookup as
the name it shows, several choices as one cell ("Travel, Meals"), a file as its name, and
the header row holds the labels. The record's number comes first, as "ID", so that a file
exported, changed and imported again updates the records it came from.

A CSV cell of text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a ``'`` before it, so a spreadsheet opening the file shows the text instead of running
it as a formula (OWASP's "CSV injection"); numbers are never touched, so a negative amount
stays a number. Excel text is always text (``deskwork.xlsx``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils

from deskwork import xlsx
from deskwork.db.listing import Query
from deskwork.db.storage import Storage
from deskwork.errors import TooManyRows
from deskwork.fields import (
    Choice,
    Date,
    DateTime,
    Field,
    File,
    Integer,
    Lookup,
    MultiChoice,
    Number,
    YesNo,
)
from deskwork.filters import View, named_view, read_view
from deskwork.jobs import Job
from deskwork.model import TablePage, Tool
from deskwork.names import ascii_name
from deskwork.xlsx import SERIAL_OF_ORDINAL

log = logging.getLogger("deskwork")

#: Rows read from SQLite at a time, and so written between two parts of the file.
BATCH = 2000
#: What starts a formula in a spreadsheet: such a text cell in a CSV gets a ``'`` first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Format:
    """A kind of file an export makes."""

    key: str  # the address word: /tables/expenses/export.csv?as=...
    label: str  # the button's words
    extension: str
    mimetype: str
    delimiter: str = ","
    decimal: str = "."

    @property
    def is_csv(self) -> bool:
        return self.extension == "csv"


CSV = Format("csv", "Export CSV", "csv", "text/csv; charset=utf-8")
#: Where Excel expects ``;`` between cells and ``,`` in numbers (most of Europe).
EXCEL_CSV = Format("excel-csv", "CSV for Excel", "csv", "text/csv; charset=utf-8", ";", ",")
EXCEL = Format(
    "xlsx",
    "Export Excel",
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
FORMATS = {f.key: f for f in (CSV, EXCEL_CSV, EXCEL)}


def offered(decimal_mark: str) -> list[Format]:
    """The formats offered beside a table or a report: CSV for Excel only where numbers
    are written with a decimal comma (the format Excel expects there)."""
    return [f for f in FORMATS.values() if f is not EXCEL_CSV or decimal_mark == ","]


@dataclass
class Sheet:
    """What an export writes: a title (the sheet's name), columns, and ``batches()`` of
    rows ready for the format (``Format``). ``done`` counts the rows given so far and
    ``count`` is how many there will be, if known: a progress bar's two numbers."""

    title: str
    columns: list[xlsx.Column]
    source: Callable[[], Iterator[Sequence[Sequence[Any]]]]
    count: int | None = None
    done: int = field(default=0, init=False)

    def batches(self) -> Iterator[Sequence[Sequence[Any]]]:
        for batch in self.source():
            self.done += len(batch)
            yield batch


def encode(sheet: Sheet, fmt: Format, *, now: dt.datetime | None = None) -> Iterator[bytes]:
    """The file's bytes, a part after each batch of rows."""
    if fmt.is_csv:
        return _csv(sheet, fmt)
    if sheet.count is not None and sheet.count >= xlsx.MAX_ROWS:
        raise TooManyRows(
            f"An Excel sheet holds at most {xlsx.MAX_ROWS - 1:,} rows below its header, and "
            f"this view has {sheet.count:,}: filter it first, or export CSV."
        )
    created = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return xlsx.workbook(sheet.title, sheet.columns, sheet.batches(), created=created)


def _csv(sheet: Sheet, fmt: Format) -> Iterator[bytes]:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=fmt.delimiter, lineterminator="\r\n")
    writer.writerow([c.header for c in sheet.columns])
    yield "\ufeff".encode() + text.getvalue().encode()  # the BOM: Excel reads it as UTF-8
    for batch in sheet.batches():
        text.seek(0)
        text.truncate()
        writer.writerows(batch)
        yield text.getvalue().encode()


def file_name(title: str, fmt: Format, today: dt.date | None = None) -> str:
    """``expenses-2026-12-02.csv``: the view's title and the day."""
    day = (today or dt.date.today()).isoformat()
    return f"{ascii_name(title) or 'export'}-{day}.{fmt.extension}"


def write_file(chunks: Iterator[bytes], path: str | Path) -> int:
    """Write ``chunks`` to ``path`` under a temporary name beside it, renamed at the end:
    an export that fails or is cancelled half-way (``chunks`` raising ``Cancelled``)
    leaves no file that looks complete (and an existing file at ``path`` as it was).
    Returns the bytes written."""
    path = Path(path)
    part = path.with_name(f".{path.name}.part")
    written = 0
    try:
        with open(part, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return written


#: What the window's save dialog is: given a file name to suggest, the kind of file
#: ("CSV file") and its extension, the path picked, or None if the person cancelled.
SaveAs = Callable[[str, str, str], "str | Path | None"]


class Saving:
    """Exports written to files where a page can't download (the native window drops
    downloads): the window's save dialog says where (``save_as``, the host's), and one
    export at a time is written there as a ``Job`` (``deskwork.jobs``), under a temporary
    name renamed at the end, while the pages keep answering. ``status()`` says how far it
    is, for the pages' progress bar; ``cancel()`` stops it, leaving nothing behind."""

    def __init__(self, save_as: SaveAs) -> None:
        self.save_as = save_as
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._path = Path()

    def start(
        self, name: str, fmt: Format, storage: Storage, make: Callable[[Any], Sheet]
    ) -> dict[str, Any]:
        """Ask where to save ``name`` (waits for the dialog), then write what ``make(db)``
        gives there; the status after starting."""
        with self._lock:
            if self._job is not None and self._job.running:
                return {**self.status(), "text": "An export is under way: wait for it "
                        "to finish, or cancel it, before starting another."}  # fmt: skip
        kind = "Excel workbook" if fmt is EXCEL else "CSV file"
        chosen = self.save_as(name, kind, fmt.extension)
        if not chosen:
            return {"state": "idle", "text": "Not exported: no file was chosen."}
        path = Path(chosen)
        if path.suffix.lower() != f".{fmt.extension}":
            path = path.with_name(f"{path.name}.{fmt.extension}")

        def work(job: Job) -> None:
            with storage.open() as db:
                sheet = make(db)
                job.step(0, sheet.count)
                chunks = encode(sheet, fmt)
                write_file(_counted(chunks, sheet, job), path)

        with self._lock:  # another export may have started while the dialog was open
            if self._job is not None and self._job.running:
                return {**self.status(), "text": "Another export started meanwhile: "
                        "wait for it to finish, or cancel it, first."}  # fmt: skip
            self._job, self._path = Job(f"Exporting to {path}", work).start(), path
        return self.status()

    def status(self) -> dict[str, Any]:
        job, path = self._job, self._path
        if job is None or job.stale:
            return {"state": "idle", "text": ""}
        name = path.name
        if job.running:
            text = (f"Exporting {name}: {job.done:,} of {job.count:,} rows"
                    if job.count is not None else f"Exporting {name}…")  # fmt: skip
        elif job.state == "done":
            text = f"Saved {job.done:,} rows in {path}."
        elif job.state == "cancelled":
            text = f"Export cancelled: {name} was not saved."
        else:
            text = f"The export failed, and {name} was not saved: {job.reason}"
        return {"state": job.state, "name": name, "path": str(path), "done": job.done,
                "count": job.count, "text": text}  # fmt: skip

    def cancel(self) -> dict[str, Any]:
        if self._job is not None:
            self._job.cancel()
        return self.status()


def _counted(chunks: Iterator[bytes], sheet: Sheet, job: Job) -> Iterator[bytes]:
    """``chunks``, telling ``job`` how many rows are written before each (and stopping
    there once it is cancelled)."""
    for chunk in chunks:
        job.step(sheet.done)
        yield chunk
    job.step(sheet.done)


# -- rows made in Python (a report's) ------------------------------------------------------


def rows_sheet(
    title: str,
    columns: Sequence[tuple[str, str, Field | None]],
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    *,
    totals: dict[str, Any] | None = None,
) -> Sheet:
    """A sheet of rows made in Python (a report's): ``columns`` are (key, header, the
    field that says what its values are, if one does); ``totals``, if given, is a last
    row headed "Total". Values are typed as a table's are: exact decimals, dates, text."""
    every = [*rows, totals] if totals else list(rows)
    kinds = []
    sheet_columns = []
    for key, header, f in columns:
        if f is not None:
            column = _projection(key, f, fmt)[2]
            column = xlsx.Column(header, column.kind, column.number_format, column.width)
        else:
            values = [r.get(key) for r in every if r.get(key) is not None]
            numeric = bool(values) and all(
                isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in values
            )
            column = xlsx.Column(header, "number" if numeric else "text")
        kinds.append(column.kind)
        sheet_columns.append(column)

    def line(row: dict[str, Any]) -> list[Any]:
        return [_cell(f, row.get(key), fmt) for key, _, f in columns]

    def source() -> Iterator[list[list[Any]]]:
        batch = [line(r) for r in rows]
        if totals:
            last = line(totals)
            first_key = columns[0][0] if columns else None
            if first_key is not None and first_key not in totals:
                last[0] = "Total"
            batch.append(last)
        yield batch

    return Sheet(title, sheet_columns, source, len(every))


def _cell(f: Field | None, value: Any, fmt: Format) -> Any:
    """One value of a row made in Python, as ``fmt`` wants it (as ``_projection`` does
    in SQL for a table's)."""
    if value is None or value == "":
        return None
    if isinstance(f, Number):
        exact = f.from_db(value)
        return None if exact is None else _decimal(exact, f.places, fmt)
    if isinstance(f, Integer):
        return int(value)
    if isinstance(f, Date):
        if fmt.is_csv:
            return f.display(value)
        moment = f.from_db(value)
        if moment is None:
            return None
        serial = moment.toordinal() + SERIAL_OF_ORDINAL
        if isinstance(moment, dt.datetime):
            return serial + (moment.hour * 60 + moment.minute) / 1440
        return serial
    if f is not None:
        text = f.display(value)
    elif isinstance(value, bool):
        text = "Yes" if value else "No"
    elif isinstance(value, int):
        return value
    elif isinstance(value, (float, Decimal)):
        return _decimal(Decimal(str(value)), None, fmt)
    else:
        text = str(value)
    return "'" + text if fmt.is_csv and text.startswith(FORMULA_STARTS) else text


def _decimal(value: Decimal, places: int | None, fmt: Format) -> str:
    text = format(value, f".{places}f" if places is not None else "f")
    return text.replace(".", fmt.decimal) if fmt.is_csv else text


# -- a table page's rows ----------------------------------------------------------------


def view_title(tool: Tool, view: View) -> str:
    """The view's name: a named view's (``Tool.table_view``) if the address is one, else
    the table page's title."""
    named = named_view(tool, view)
    return named.title if named else view.page.title


def page_sheet(tool: Tool, db: sqlite_utils.Database, slug: str, args: Any, fmt: Format) -> Sheet:
    """The export of table page ``slug`` as the address arguments ``args`` (a MultiDict,
    or ``Arguments``) ask: the download's, the window's and ``deskwork export``'s.
    A ``LookupError`` if there is no such table page."""
    page = tool.pages.get(slug)
    if not isinstance(page, TablePage):
        raise LookupError(f"There is no table page {slug!r}.")
    view = read_view(page, args)
    return table_sheet(db, view, fmt, title=view_title(tool, view))


def table_sheet(
    db: sqlite_utils.Database, view: View, fmt: Format, *, title: str | None = None
) -> Sheet:
    """The rows ``view`` shows, every one of them (not a page), in its order, as ``fmt``
    wants them. Read in one transaction: the file is one moment's rows, however long
    writing it takes. The caller keeps ``db`` open until the last batch is taken."""
    query = Query(db, view)
    columns = [xlsx.Column("ID", "number", "0", 8)]
    exprs, params = ["t.id"], []
    for name in view.columns:
        f = view.fields[name]
        sql, args, column = _projection(name, f, fmt)
        exprs.append(sql)
        params += args
        columns.append(column)
    count = query.count()

    def source() -> Iterator[list[Any]]:
        conn = db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN")  # one snapshot for every segment of the sort
        try:
            for cursor in query.every_row(", ".join(exprs), params):
                while batch := cursor.fetchmany(BATCH):
                    yield batch
        finally:
            conn.rollback()

    return Sheet(title or view.page.title, columns, source, count)


def _exact(column: str, places: int, mark: str) -> str:
    """SQL for the whole number ``column`` holds (of units of 10**-places) as exact text:
    1250 with two places is ``12.50``, -5 is ``-0.05``. Integer arithmetic in SQLite, no
    float; a value that is no whole number (another program's) is given as it is."""
    if places == 0:
        return column
    unit = 10**places
    text = (
        f"(CASE WHEN {column} < 0 THEN '-' ELSE '' END) || (abs({column}) / {unit}) || "
        f"'{mark}' || substr('{'0' * places}' || (abs({column}) % {unit}), -{places})"
    )
    # abs() of the least 64-bit integer overflows: that one value is given as it is.
    return (
        f"(CASE WHEN typeof({column}) = 'integer' AND {column} > {-(2**63)} "
        f"THEN {text} ELSE {column} END)"
    )


#: The first characters of a formula, as the code points SQLite's unicode() gives.
_FORMULA_CODES = ", ".join(str(ord(s)) for s in FORMULA_STARTS)


def _neutral(sql: str) -> str:
    """SQL: text ``sql`` with a ``'`` before it if it would start a formula."""
    quote = "''''"  # a ' in SQL's quotes
    return f"(CASE WHEN unicode({sql}) IN ({_FORMULA_CODES}) THEN {quote} || {sql} ELSE {sql} END)"


def _serial(column: str) -> str:
    """SQL: a date or date-and-time as Excel's serial day (its text if it is none)."""
    day = f"julianday({column})"
    return (
        f"(CASE WHEN typeof({column}) = 'text' AND {day} IS NOT NULL "
        f"THEN {day} - 2415018.5 ELSE {column} END)"
    )


def _labelled(value: str, f: Choice) -> tuple[str, list[Any]]:
    """SQL: a choice's stored value as its label (as it is where the two are the same)."""
    if all(str(v) == label for v, label in f.labels.items()):
        return value, []
    whens = " ".join("WHEN ? THEN ?" for _ in f.labels)
    params = [x for pair in f.labels.items() for x in pair]
    return f"(CASE {value} {whens} ELSE {value} END)", params


def _projection(name: str, f: Field, fmt: Format) -> tuple[str, list[Any], xlsx.Column]:
    """SQL for one column's cells, as the format wants them, and the sheet's column."""
    col = f"t.[{name}]"
    label = f.label
    params: list[Any] = []
    if isinstance(f, Number):
        places = f.places
        code = "#,##0" + ("." + "0" * places if places else "")
        return _exact(col, places, fmt.decimal), [], xlsx.Column(label, "number", code, 14)
    if isinstance(f, Integer):
        return col, [], xlsx.Column(label, "number", "#,##0" if f.grouping else "0")
    if isinstance(f, Date):
        if fmt.is_csv:
            return col, [], xlsx.Column(label)
        stamp = isinstance(f, DateTime)
        code = "m/d/yy h:mm" if stamp else "mm-dd-yy"  # Excel's own: shown as the user's
        return _serial(col), [], xlsx.Column(label, "date", code, 17 if stamp else 12)
    if isinstance(f, YesNo):
        sql = f"(CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 'Yes' ELSE 'No' END)"
        return sql, [], xlsx.Column(label)
    if isinstance(f, MultiChoice):
        each, params = _labelled("v.value", f)
        sql = (
            f"(SELECT group_concat({each}, ', ') FROM json_each(CASE WHEN json_valid({col}) "
            f"THEN {col} ELSE json_array({col}) END) v WHERE v.value IS NOT NULL)"
        )
    elif isinstance(f, Choice):
        sql, params = _labelled(col, f)
    elif isinstance(f, Lookup):
        sql = f"j_{name}.[{f.show}]"
    elif isinstance(f, File):
        sql = f"j_{name}.name"
    else:
        sql = col
    if fmt.is_csv:  # the text is written three times over, and so are its parameters
        sql, params = _neutral(sql), params * 3
    return sql, params, xlsx.Column(label, width=30 if f.widget == "textarea" else None)
