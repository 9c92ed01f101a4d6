"""``deskwork new NAME --from FILE``: a working tool made from a spreadsheet or a CSV file.

The file is read as ``deskwork import`` reads it (``deskwork.reading``: its encoding and
separator found, a title and empty rows above the header skipped, merged cells filled,
empty rows and columns at the end left out). Each column becomes one field of one table,
typed from what its filled cells hold, by the first rule that fits:

- ``YesNo``: every cell a tick (Excel's TRUE/FALSE) or yes/no, y/n, true/false.
- ``Date``: every cell a date between 1900 and 2200: Excel's, ISO text (2026-01-31), or
  day and month text (31/01/2026, 31.01.26), which the import reads day first or month
  first as the column shows (``--day-first``/``--month-first`` where it doesn't).
  ``DateTime`` where some also have a time of day.
- ``Integer``: whole numbers (Excel's, or text written as the locale in force writes
  numbers), none with a leading zero ("007" is a code: text), none of more than 18 digits
  (a longer one is an identifier: text).
- ``Money``: numbers with at most two decimals, some with decimals; or any written with a
  currency sign. ``Number(places=N)`` for up to nine decimals; more is text.
- ``Email``; ``Url`` (every cell starting http://, https:// or www.).
- ``Choice``: text in a column of at least ``CHOICE_ROWS`` (20) filled cells, with at most
  ``CHOICE_MAX`` (12) values, case and accents aside, each in at least ``CHOICE_REPEATS``
  (2) cells and none over ``CHOICE_LENGTH`` (60) characters. The choices are listed in
  alphabetical order, each spelt as most of its cells spell it.
- ``LongText`` where a cell has a line break or more than ``LINE`` (200) characters, else
  ``Text``.

A column holding cells of several kinds (numbers and text, dates and text, ticks and text)
becomes text, and the command says which column and why; so does one of numbers written
with the other decimal mark than the locale in force reads (with what to set instead), and
one whose cells its field would refuse. That last is found by the import itself: every row
is checked by ``deskwork.imports.check``, as ``deskwork import`` checks it, before anything
is written. A field is ``required`` where no cell of its column is empty (never a
``YesNo``: required means ticked).

Field names are the headers as Python names: accents folded, lower case, words joined by
``_`` ("Date d'achat" -> ``date_d_achat``), ``column_N`` for an empty header, a second
"Amount" ``amount_2`` (labelled "Amount 2"), at most ``NAME_LENGTH`` (40) characters,
``_`` after a Python keyword or a word of a table page's address. ``label=`` keeps the
header where the name's own label would differ. A header "ID" or "#" becomes ``sheet_id``
or ``sheet`` labelled "Sheet ID" or "Sheet #": an import takes a column labelled ID for the
record's own number.

The rows are the tool's first data, in its database where ``deskwork run NAME`` finds it
(the user data folder, or ``DESKWORK_DATA_DIR``): the file is made as the tool's first
launch makes it (``Storage.prepare``, after the launch's check of the place) and the rows
saved by ``deskwork.imports.commit``, in one transaction, as one action of its history
("Imported FILE": one Undo takes it back). A database already there is refused, never
added to. Whatever fails leaves nothing behind: no project folder, no database.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
import shutil
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from markupsafe import escape

from deskwork import imports, locales, reading
from deskwork.db.storage import Storage
from deskwork.desktop import paths
from deskwork.desktop.places import check_database_place
from deskwork.desktop.scaffold import copy_icon, project_folder, project_title
from deskwork.desktop.settings import Settings
from deskwork.errors import NotDone, ToolError, ValidationError
from deskwork.fields import Email, Field, Url
from deskwork.fields.numbers import CURRENCY_SIGNS, MAX_DIGITS
from deskwork.model import ADDRESS_WORDS, Tool
from deskwork.names import ascii_name, singular, slugify

Echo = Callable[[str], None]

#: A choice: at least this many filled cells ...
CHOICE_ROWS = 20
#: ... with at most this many values (case and accents aside) ...
CHOICE_MAX = 12
#: ... each in at least this many cells ...
CHOICE_REPEATS = 2
#: ... and none longer than this.
CHOICE_LENGTH = 60
#: A cell longer than this (``Text``'s own limit) makes its column ``LongText``.
LINE = 200
#: ``LongText``'s own limit: a longer cell gives its field a ``max_length`` of its own.
LONG = 10_000
#: The longest field name made from a header.
NAME_LENGTH = 40
#: The words a ``YesNo`` column holds (case aside), besides Excel's ticks.
YES_NO = frozenset({"yes", "no", "y", "n", "true", "false"})
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
#: Day and month text, written as the import reads it (``deskwork.imports``).
_SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2}))?")
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]")
#: What each kind of cell is, in the words of a column that holds several.
_GROUPS = {"tick": "ticks", "date": "dates", "datetime": "dates", "whole": "numbers",
           "decimal": "numbers", "money": "numbers", "text": "text"}  # fmt: skip
_TEXT_KINDS = ("Text", "LongText")


@dataclass
class Column:
    """One column of the file, and the field it becomes."""

    index: int  # in the file's rows
    header: str
    name: str
    label: str | None = None  # label=, where the name's own label is not the header
    kind: str = "Text"  # the field's class
    full: bool = False  # no cell empty
    arguments: dict[str, str] = field(default_factory=dict)  # keyword arguments, as source
    choices: list[str] = field(default_factory=list)
    why: str | None = None  # why it is text though its cells looked like something else
    long: bool = False  # a cell with a line break, or longer than LINE
    longest: int = 0

    @property
    def required(self) -> bool:
        return self.full and self.kind != "YesNo"

    def as_text(self, why: str | None = None) -> None:
        """Make it text: ``LongText`` if its cells are long, with room for the longest."""
        self.kind = "LongText" if self.long else "Text"
        self.choices, self.arguments = [], {}
        if self.longest > LONG:
            self.arguments["max_length"] = f"{-(-self.longest // 1000) * 1000:_}"
        self.why = why or self.why

    def describe(self) -> str:
        """``Choice (3: Meals, Office, Travel), required`` as the command lists it."""
        what = self.kind
        if self.choices:
            shown = ", ".join(self.choices[:6]) + (", …" if len(self.choices) > 6 else "")
            what += f" ({len(self.choices)}: {shown})"
        if "places" in self.arguments:
            what += f" ({self.arguments['places']} decimals)"
        return what + (", required" if self.required else "")


@dataclass(frozen=True)
class Names:
    """What the project's name gives the tool: its title, its table and its pages."""

    title: str
    tool: str  # its data folder's name
    table: str
    variable: str  # the table's in tool.py
    form: str
    page: str

    @classmethod
    def of(cls, project: str) -> Names:
        title = project_title(project)
        table = ascii_name(project).replace("-", "_")
        variable = table if table != "tool" and not keyword.iskeyword(table) else f"{table}_table"
        words = table.replace("_", " ")
        return cls(title, ascii_name(title), table, variable, f"New {singular(words)}",
                   words.capitalize())  # fmt: skip


def make_project(
    project: str,
    parent: Path,
    source: Path,
    *,
    sheet: str | None = None,
    day_first: bool | None = None,
    echo: Echo = print,
) -> Path:
    """Write PROJECT/ below ``parent`` (tool.py, test_tool.py, icon.png), a tool made from
    the spreadsheet or CSV file ``source``, and import its rows as the tool's first data
    (see the module's docstring). Returns the project's folder."""
    folder = project_folder(project, parent)
    names = Names.of(project)
    settings = Settings.load()
    database = paths.default_database(names.tool, settings)
    if any(Path(f"{database}{end}").exists() for end in ("", "-wal")):
        raise ToolError(
            f"{database} is there already: a tool called {names.tool} keeps its data there. "
            "Choose another name, or move that file away first."
        )
    found = reading.read(source.name, source.read_bytes(), sheet=sheet,
                         max_rows=settings.import_rows)  # fmt: skip
    locale = locales.chosen_locale(settings.locale, None, settings.user_locale)
    with locales.using(locales.for_locale(locale)):
        columns = infer_columns(found)
        code, tool, checked = fit(names, columns, found, folder, source.name, day_first=day_first)
    for note in found.notes:
        echo(note)
    _list_fields(columns, source.name, found, echo)
    tests = test_source(names, tool, columns, source.name)
    new = _write(folder, code, tests, database, tool, checked, settings, source.name)
    echo(f"Imported {checked.table.counted(new)} from {source.name} into {database}, in one "
         "transaction (one Undo in the tool takes them back).")  # fmt: skip
    return folder


def _list_fields(columns: Sequence[Column], source: str, found: reading.Read, echo: Echo) -> None:
    sheet = f" (sheet {found.sheet!r})" if found.sheet else ""
    echo(f"The {len(columns)} columns of {source}{sheet} are these fields:")
    width = max((len(c.name) for c in columns), default=0)
    for c in columns:
        echo(f"  {c.name:<{width}}  {c.describe()}" + (f"  “{c.header}”" if c.label else ""))
    for c in columns:
        if c.why:
            echo(f"{c.header or c.name} is {c.kind}: {c.why.rstrip('.')}.")


def _write(
    folder: Path, code: str, tests: str, database: Path, tool: Tool,
    checked: imports.Checked, settings: Settings, source: str,
) -> int:  # fmt: skip
    """Write the project and import the rows; on any failure, remove what this made."""
    made: list[Path] = []
    data_folder = database.parent
    fresh_data_folder = not data_folder.exists()
    making_database = False
    try:
        folder.mkdir(parents=True)
        made.append(folder)
        (folder / "tool.py").write_text(code, encoding="utf-8")
        (folder / "test_tool.py").write_text(tests, encoding="utf-8")
        copy_icon(folder)
        check_database_place(database)  # as a launch checks it: a local disk, writable
        if fresh_data_folder:
            made.append(data_folder)
        if database.exists():  # made meanwhile: someone else's
            raise ToolError(f"{database} is there already: choose another name.")
        making_database = True
        storage = Storage(database)
        storage.prepare(tool, seed=False, bin_days=settings.bin_days)
        with storage.open() as db:
            _, new, _ = imports.commit(db, checked, label=f"Imported {source}")
        return new
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        if making_database and not fresh_data_folder:
            for end in ("", "-wal", "-shm"):
                Path(f"{database}{end}").unlink(missing_ok=True)
        raise


# -- what each column holds ---------------------------------------------------------------


def infer_columns(found: reading.Read) -> list[Column]:
    """A column for each of the file's columns with a header or a filled cell, typed as
    the module's docstring says (numbers as the locale in force writes them)."""
    fmt = locales.current()
    columns = []
    for (name, label), (i, header) in zip(field_names(found.header), enumerate(found.header),
                                          strict=True):  # fmt: skip
        cells = [(n, c[i]) for n, c in found.rows if c[i] not in ("", None)]
        if not header and not cells:
            continue
        column = Column(i, header, name, label, full=len(cells) == len(found.rows))
        type_column(column, cells, fmt)
        columns.append(column)
    return columns


def field_names(header: Sequence[str]) -> list[tuple[str, str | None]]:
    """Each header's field name, and its label where the name's own label differs."""
    out: list[tuple[str, str | None]] = []
    taken: set[str] = set()
    for i, raw in enumerate(header):
        text = " ".join(str(raw).split())
        if imports.fold(text) == "id" or (text and not imports.fold(text)):
            text = f"Sheet {text}"  # an import would take it for the record's number
        base = _identifier(text) or f"column_{i + 1}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        label = f"{text} {n}" if text and n > 1 else text
        own = name.replace("_", " ").capitalize()
        out.append((name, label if label and label != own else None))
    return out


def _identifier(text: str) -> str:
    name = ascii_name(text).replace("-", "_")
    if len(name) > NAME_LENGTH:
        cut = name[:NAME_LENGTH]
        name = cut.rsplit("_", 1)[0] if "_" in cut else cut
    if name[:1].isdigit():
        name = f"column_{name}"
    if keyword.iskeyword(name) or name in ADDRESS_WORDS:
        name += "_"
    return name


def type_column(
    column: Column, cells: Sequence[tuple[int, Any]], fmt: locales.NumberFormat
) -> None:
    """Give ``column`` the field its filled ``cells`` (row number, value) call for."""
    kinds: dict[str, list[tuple[int, Any]]] = {}
    places = 0
    for number, cell in cells:
        kind, decimals = cell_kind(cell, fmt)
        kinds.setdefault(kind, []).append((number, cell))
        places = max(places, decimals)
    texts = [str(cell) for _, cell in cells]
    column.longest = max((len(t) for t in texts), default=0)
    column.long = column.longest > LINE or any("\n" in t or "\r" in t for t in texts)
    groups = {_GROUPS[kind] for kind in kinds}
    if not cells:
        column.as_text()
    elif all(isinstance(c, bool) or str(c).casefold() in YES_NO for _, c in cells):
        column.kind = "YesNo"
    elif len(groups) > 1:
        column.as_text(_mixed(kinds))
    elif groups == {"dates"}:
        column.kind = "DateTime" if "datetime" in kinds else "Date"
    elif groups == {"numbers"}:
        _number_field(column, kinds, places)
    else:
        _text_field(column, [(n, str(c)) for n, c in cells], fmt)


def cell_kind(cell: Any, fmt: locales.NumberFormat) -> tuple[str, int]:
    """What one filled cell holds (tick, date, datetime, whole, decimal, money or text),
    and how many decimals, as the import will read it."""
    if isinstance(cell, bool):
        return "tick", 0
    if isinstance(cell, int | Decimal):
        return _number_kind(Decimal(cell), "whole")
    if isinstance(cell, dt.datetime):
        kind = "date" if cell.time() == dt.time() else "datetime"
        return (kind if EARLIEST <= cell.date() <= LATEST else "text"), 0
    if isinstance(cell, dt.date):
        return ("date" if EARLIEST <= cell <= LATEST else "text"), 0
    text = str(cell).strip()
    if _ISO_DAY.fullmatch(text) or _ISO_TIME.fullmatch(text):
        kind = "date" if len(text) == 10 else "datetime"
        return (kind if _iso_day(text[:10]) else "text"), 0
    slashed = _SLASHED.fullmatch(text)
    if slashed:
        return (("datetime" if slashed[4] else "date") if _a_day(slashed) else "text"), 0
    if _LEADING_ZERO.match(text):
        return "text", 0  # a code, such as 007 or a postcode: its zeros are part of it
    bare = text.strip(CURRENCY_SIGNS).strip()
    value = fmt.parse(bare, None) if bare else None
    if value is None:
        return "text", 0
    return _number_kind(value, "money" if bare != text else "whole")


def _number_kind(value: Decimal, kind: str) -> tuple[str, int]:
    if not value.is_finite() or abs(value) >= 10**MAX_DIGITS:
        return "text", 0  # more digits than a number field holds: an identifier
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return ("decimal" if kind == "whole" and places else kind), places


def _iso_day(text: str) -> bool:
    try:
        return EARLIEST <= dt.date.fromisoformat(text) <= LATEST
    except ValueError:
        return False


def _a_day(found: re.Match[str]) -> bool:
    """Whether day and month text is a date read one way or the other."""
    year = int(found[3]) + (2000 if len(found[3]) == 2 else 0)
    first, second = int(found[1]), int(found[2])
    for day, month in ((first, second), (second, first)):
        try:
            if EARLIEST <= dt.date(year, month, day) <= LATEST:
                return True
        except ValueError:
            continue
    return False


def _mixed(kinds: dict[str, list[tuple[int, Any]]]) -> str:
    """``it holds numbers (14) and text (3, as in row 9: “n/a”)``."""
    groups: dict[str, list[tuple[int, Any]]] = {}
    for kind, cells in kinds.items():
        groups.setdefault(_GROUPS[kind], []).extend(cells)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    number, cell = min(ordered[-1][1])
    parts = [f"{what} ({len(cells):,})" for what, cells in ordered]
    parts[-1] = parts[-1][:-1] + f", as in row {number}: “{_short(cell)}”)"
    return f"it holds {', '.join(parts[:-1])} and {parts[-1]}"


def _short(cell: Any) -> str:
    text = " ".join(str(cell).split())
    return text if len(text) <= 30 else text[:29] + "…"


def _number_field(column: Column, kinds: dict[str, list[tuple[int, Any]]], places: int) -> None:
    if places > 9:
        column.as_text(f"its numbers have up to {places} decimals, more than a number field "
                       "keeps (9)")  # fmt: skip
    elif "money" in kinds or places in (1, 2):
        column.kind = "Money"
    elif places == 0:
        column.kind = "Integer"
    else:
        column.kind, column.arguments = "Number", {"places": str(places)}


def _text_field(
    column: Column, cells: Sequence[tuple[int, str]], fmt: locales.NumberFormat
) -> None:
    texts = [text for _, text in cells]
    other = locales.for_locale("de") if fmt.decimal == "." else locales.DEFAULT
    if any(other.decimal in t for t in texts) and all(
        not _LEADING_ZERO.match(t) and other.parse(t.strip(CURRENCY_SIGNS).strip(), None)
        for t in texts
    ):
        number, text = cells[0]
        mark = "comma" if other.decimal == "," else "point"
        column.as_text(
            f"its numbers are written with a decimal {mark} (as “{_short(text)}” in row "
            f"{number}), which the locale in force reads otherwise: to have them as numbers, "
            f"run this again with DESKWORK_LOCALE (or LANG) set to a locale that writes them "
            f"so, such as {'de_DE' if mark == 'comma' else 'en_US'}"
        )
    elif all(_accepted(Email(), t) for t in texts):
        column.kind = "Email"
    elif all(t.lower().startswith(("http://", "https://", "www.")) and _accepted(Url(), t)
             for t in texts):  # fmt: skip
        column.kind = "Url"
    elif not column.long and (choices := _choices(texts)):
        column.kind, column.choices = "Choice", choices
    else:
        column.as_text()


def _accepted(f: Field, text: str) -> bool:
    try:
        f.parse(text)
    except ValidationError:
        return False
    return True


def _choices(texts: Sequence[str]) -> list[str] | None:
    """The choices a column of text holds, or None if it is not one (``CHOICE_*``)."""
    if len(texts) < CHOICE_ROWS or any(len(t) > CHOICE_LENGTH for t in texts):
        return None
    spellings: dict[str, Counter[str]] = {}
    for text in texts:
        spellings.setdefault(imports.fold(text), Counter())[text] += 1
    if len(spellings) > CHOICE_MAX:
        return None
    if any(sum(counts.values()) < CHOICE_REPEATS for counts in spellings.values()):
        return None
    return sorted((counts.most_common(1)[0][0] for counts in spellings.values()), key=str.casefold)


# -- the tool, tried on every row ---------------------------------------------------------


def fit(
    names: Names, columns: list[Column], found: reading.Read, folder: Path, source: str, *,
    day_first: bool | None,
) -> tuple[str, Tool, imports.Checked]:  # fmt: skip
    """tool.py's source, the tool it declares, and every row of ``found`` checked by the
    import against it; a column whose cells its field refuses is made text and all tried
    again. ``NotDone`` if rows are still refused (by a text field: control characters),
    or the order of day and month is not told."""
    # Excel's ticks go to the import as the words a form sends: its YesNo reading refuses
    # a bool cell (YesNo.parse compares the cell with words), which a fix there makes moot.
    for _, cells in found.rows:
        cells[:] = [("yes" if c else "no") if isinstance(c, bool) else c for c in cells]
    with tempfile.TemporaryDirectory(prefix="deskwork-new-", ignore_cleanup_errors=True) as scratch:
        for attempt in range(len(columns) + 1):
            code = tool_source(names, columns, source)
            tool = declare(code, folder / "tool.py")
            trial = Storage(Path(scratch) / f"trial-{attempt}.sqlite3")
            trial.prepare(tool, seed=False)
            table = tool.tables[names.table]
            page = tool.form_for(table)
            assert page is not None  # tool.py declares its form
            with trial.open() as db:
                checked = imports.check(db, page, found, {c.index: c.name for c in columns},
                                        day_first=day_first)  # fmt: skip
            if checked.ready or checked.problems or checked.ask_dates:
                break
            if not _make_text(columns, checked):
                break
    if checked.ask_dates:
        raise NotDone(f"{checked.refusal()} Run it again with --day-first or --month-first.")
    if not checked.ready:
        raise NotDone(checked.refusal().replace("Nothing was imported", "Nothing was written"))
    return code, tool, checked


def _make_text(columns: Sequence[Column], checked: imports.Checked) -> bool:
    """Make text of the columns the import refuses cells of; whether there was one."""
    first: dict[str, tuple[int, str]] = {}
    for row in checked.bad:
        for name, why in row.errors.items():
            first.setdefault(name, (row.number, why))
    changed = False
    for column in columns:
        if column.name in first and column.kind not in _TEXT_KINDS:
            number, why = first[column.name]
            column.as_text(f"as {column.kind} the import would refuse row {number}: {why}")
            changed = True
    return changed


def declare(code: str, file: Path) -> Tool:
    """The tool ``code`` declares, run as loading it from ``file`` would run it (before it
    is written there: code that would not load is never written)."""
    namespace: dict[str, Any] = {"__name__": "deskwork_new_tool", "__file__": str(file)}
    exec(compile(code, str(file), "exec"), namespace)
    tool = namespace["tool"]
    assert isinstance(tool, Tool)
    return tool


# -- the code written ---------------------------------------------------------------------

TOOL = '''\
"""{title}: a deskwork tool made from {source} by `deskwork new --from`.

Each field was typed from what its column held, and the rows were imported as the tool's
first data (into its database in the user data folder). Change the fields as you like: a
change that would lose data already saved is refused when the tool opens, saying why.
Open it with `deskwork run .`, test it with `python -m pytest`, package it with
`deskwork build .`.
"""

from deskwork import {imports}

# name= names the data folder the rows were imported into: keep it if the title changes.
tool = Tool({title_literal}, name={name_literal})

{variable} = tool.table(
    {table_literal},
{fields}
)

{form}
{listing}
'''


def tool_source(names: Names, columns: Sequence[Column], source: str) -> str:
    """tool.py: the tool, its table (a field for each column), its form and table page."""
    kinds = sorted({c.kind for c in columns} | {"Tool"})
    searched = [_quoted(c.name) for c in columns if c.kind in (*_TEXT_KINDS, "Email", "Url")]
    page, variable = _quoted(names.page), names.variable
    after = f"after={_quoted(slugify(names.page))}"
    listing: list[Argument] = [page, variable, 'order="-id"']
    if searched:
        listing.append(("search=", searched))
    return TOOL.format(
        title=names.title, source=_plain(source), imports=", ".join(kinds),
        title_literal=_quoted(names.title), name_literal=_quoted(names.tool),
        variable=variable, table_literal=_quoted(names.table),
        fields="\n".join(_field_source(c) for c in columns),
        form=_call("tool.form", [_quoted(names.form), variable, after], "", ""),
        listing=_call("tool.table_page", listing, "", ""),
    )  # fmt: skip


def _plain(source: str) -> str:
    """A file's name for a docstring: no quote or backslash in it can end it."""
    return re.sub(r"[^\w .,()+-]", "_", source)


def _field_source(column: Column) -> str:
    """``    amount=Money(required=True),``, after a comment saying why a column is text
    where it is."""
    args: list[Argument] = [("", [_quoted(c) for c in column.choices])] if column.choices else []
    if column.label is not None:
        args.append(f"label={_quoted(column.label)}")
    args += [f"{key}={value}" for key, value in column.arguments.items()]
    if column.required:
        args.append("required=True")
    comment = ""
    if column.why:
        lines = textwrap.wrap(f"{column.kind}: {column.why.rstrip('.')}.", 84)
        comment = "".join(f"    # {line}\n" for line in lines)
    return comment + _call(f"{column.name}={column.kind}", args, "    ", ",")


#: A call's argument as source: its text, or (``key=``, a list's items) for a list.
Argument = str | tuple[str, Sequence[str]]


def _call(head: str, args: Sequence[Argument], indent: str, end: str) -> str:
    """``head(args)`` as ruff formats it: on one line if it fits in 88 characters, else
    an argument a line (a list's items too, where the list does not fit on its own)."""

    def flat(arg: Argument) -> str:
        return arg if isinstance(arg, str) else f"{arg[0]}[{', '.join(arg[1])}]"

    line = f"{indent}{head}({', '.join(flat(a) for a in args)}){end}"
    if len(line) <= 88:
        return line
    inner = indent + "    "
    lines = []
    for arg in args:
        text = flat(arg)
        if not isinstance(arg, str) and len(inner) + len(text) + 1 > 88:
            items = "".join(f"{inner}    {item},\n" for item in arg[1])
            text = f"{arg[0]}[\n{items}{inner}]"
        lines.append(f"{inner}{text},\n")
    return f"{indent}{head}(\n{''.join(lines)}{indent}){end}"


def _quoted(text: str) -> str:
    """``text`` as a Python string literal, in double quotes where it can be."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


TEST = '''\
"""Tests for {title}: run them with `python -m pytest` in this folder.

``deskwork_client`` (installed with deskwork) is a test client for tool.py on a fresh,
empty database: the rows imported from {source} are not in it.
"""

#: One {record} as its form sends it, every field filled in.
GOOD = {{
{good}
}}


def test_saved_{records}_are_listed_and_counted(deskwork_client) -> None:
    for _ in range(3):
        assert deskwork_client.submit({form}, GOOD).status_code == 303
{listed}    summary = deskwork_client.get({summary}).get_json()
    assert summary["text"] == {three}


def test_{test_name}_is_refused(deskwork_client) -> None:
    response = deskwork_client.submit({form}, {{**GOOD, {field}: {bad}}})
    assert response.status_code == 400
    assert {message} in response.text
    assert deskwork_client.get({summary}).get_json()["text"] == {none}
'''

#: A value each kind of field takes, as a form sends it.
EXAMPLES = {"Text": "Example", "LongText": "Example", "Email": "ann@example.com",
            "Url": "https://example.com/page", "Integer": "42", "Number": "1.5",
            "Money": "12.50", "Date": "2026-01-31", "DateTime": "2026-01-31T09:30",
            "YesNo": "on"}  # fmt: skip
#: A value each kind refuses (a text field: one character too many).
WRONG = {"Email": "nobody", "Url": "no address", "Integer": "many", "Number": "lots",
         "Money": "lots", "Date": "31/31/2026", "DateTime": "soon",
         "Choice": "Not one of the choices", "YesNo": "maybe"}  # fmt: skip


def test_source(names: Names, tool: Tool, columns: Sequence[Column], source: str) -> str:
    """test_tool.py: records saved by the form are listed and counted; one refused."""
    table = tool.tables[names.table]
    form, listing = tool.form_for(table), tool.listing_for(table)
    assert form is not None and listing is not None
    good = {c.name: c.choices[0] if c.choices else EXAMPLES[c.kind] for c in columns}
    # Text typed in, where there is some: a choice is on the page's filters too.
    texts = [c for c in columns if c.kind in _TEXT_KINDS] or [c for c in columns if c.choices]
    shown = good[texts[0].name] if texts else None
    name, bad, message = _refused(tool, names, columns)
    record = ascii_name(table.record_name).replace("-", "_")
    listed = (f"    assert {_quoted(str(escape(shown)))} in deskwork_client.get("
              f"{_quoted(f'/tables/{listing.slug}')}).text\n") if shown else ""  # fmt: skip
    how = "without" if bad == '""' else "with_a_wrong"
    return TEST.format(
        title=names.title, source=_plain(source), record=table.record_name,
        good="\n".join(f"    {_quoted(k)}: {_quoted(v)}," for k, v in good.items()),
        records=ascii_name(table.name).replace("-", "_"), form=_quoted(f"/forms/{form.slug}"),
        listed=listed, summary=_quoted(f"/tables/{listing.slug}/summary"),
        three=_quoted(table.counted(3)), none=_quoted(table.counted(0)),
        test_name=f"{record}_{how}_{name}", field=_quoted(name), bad=bad,
        message=_quoted(str(escape(message))),
    )  # fmt: skip


def _refused(tool: Tool, names: Names, columns: Sequence[Column]) -> tuple[str, str, str]:
    """A field, a value it refuses (as source: blank where one is required) and what the
    form says of it, in the English the test client reads numbers in."""
    fields = tool.tables[names.table].fields
    chosen = next((c for c in columns if c.required), None)
    if chosen is not None:
        value, bad = "", '""'
    else:
        chosen = next((c for c in columns if c.kind in WRONG), columns[0])
        if chosen.kind in WRONG:
            value = WRONG[chosen.kind]
            bad = _quoted(value)
        else:  # text: one character more than it holds
            length = getattr(fields[chosen.name], "max_length", LINE) + 1
            value, bad = "x" * length, f'"x" * {length}'
    with locales.using(locales.DEFAULT):
        try:
            fields[chosen.name].parse(value)
        except ValidationError as error:
            return chosen.name, bad, str(error)
    raise AssertionError(f"{chosen.kind} took {bad}")  # pragma: no cover
