"""``deskwork new NAME --from FILE``: a working tool made from a messy spreadsheet or CSV
file, its fields typed from its columns and its rows imported, whose own tests pass."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.styles import Font
from test_cli import serve_and_visit

from conftest import DESKWORK, deskwork_env
from deskwork import (
    Choice,
    Date,
    Email,
    Integer,
    LongText,
    Money,
    Number,
    Text,
    Tool,
    Url,
    YesNo,
)
from deskwork.desktop.cli import cli
from deskwork.errors import NotDone, ToolError, UnreadableFile
from deskwork.loader import load_tool
from deskwork.testing import tool_client

CATEGORIES = ["Travel", "Meals", "Office", "Training"]


def messy_workbook(path: Path, rows: int = 24) -> Path:
    """A workbook as people keep them: a merged title and an empty row above the header,
    a merged cell in the body, an empty row among the rows and more at the end, styled
    empty columns after the last one, and a column of numbers with one "n/a"."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Dépenses"
    sheet["A1"] = "Expenses of the finance team, 2025"
    sheet.merge_cells("A1:H1")
    sheet.append([])
    sheet.append(["Date", "Amount", "Category", "Paid", "E-mail", "Website", "Reference",
                  "Notes", "Montant (€)", "Amount", "ID", "Class", "Rate", None])  # fmt: skip
    for i in range(rows):
        sheet.append([
            dt.datetime(2025, 1, 1) + dt.timedelta(days=i), [12.5, 7.25, 100, 3.99][i % 4],
            CATEGORIES[i % 4], i % 3 == 0, f"person{i}@example.com",
            f"https://example.com/{i}" if i % 5 else None, "n/a" if i == 7 else 1000 + i,
            "Line one\nline two" if i % 2 else None, f"€{i}.50", i, 500 + i,
            f"00{i % 3}", [0.125, 1.5, 2][i % 3], None,
        ])  # fmt: skip
        if i == 10:
            sheet.append([])  # an empty row among the rows
    sheet["C9"] = "Training"
    sheet.merge_cells("C9:C10")  # C10 is filled from C9
    for row in range(3, rows + 10):
        sheet.cell(row=row, column=16).font = Font(bold=True)  # formatted, empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book.save(path)
    return path


def french_csv(path: Path, rows: int = 22) -> Path:
    """A CSV file as French Excel saves it: Windows-1252, ';' between cells, a decimal
    comma, a title line, empty columns at the end of every line and empty lines after."""
    lines = ["Dépenses;;;;;;", ";;;;;;",
             "Date;Montant;Catégorie;Remboursé;Commentaire;;"]  # fmt: skip
    for i in range(rows):
        day = dt.date(2025, 1, 31) - dt.timedelta(days=i)
        lines.append(f"{day:%d/%m/%Y};{1000 + i},{i % 10}0;{['Repas', 'Hôtel', 'Train'][i % 3]};"
                     f"{'yes' if i % 2 else 'no'};Réunion Éric {i};;")  # fmt: skip
    lines += [";;;;;;", ";;;;;;"]
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def new_from(runner, data_dir, *args, locale="C.UTF-8"):
    """``deskwork new ... --from ...`` with the data folder and the locale given."""
    env = {"DESKWORK_DATA_DIR": str(data_dir), "LC_ALL": locale, "DESKWORK_LOCALE": None}
    return runner.invoke(cli, ["new", *args], env=env, catch_exceptions=True)


def own_tests_pass(project: Path, data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-m", "pytest", "-q",
         "-p", "no:cacheprovider", str(project)],
        cwd=project, env=deskwork_env(data_dir), capture_output=True, encoding="utf-8",
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout
    return done.stdout


def fields_of(project: Path) -> tuple[Tool, dict]:
    tool = load_tool(project)
    (table,) = tool.tables.values()
    return tool, table.fields


def imported(tool: Tool, data_dir: Path, tmp_path: Path):
    """A test client on a copy of the database the command filled, where ``deskwork
    run`` finds it."""
    database = data_dir / tool.name / f"{tool.name}.sqlite3"
    assert database.is_file()
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return tool_client(tool, copy)


def test_a_messy_workbook_becomes_a_tool_typed_from_its_columns(runner, tmp_path, data_dir):
    book = messy_workbook(tmp_path / "expenses 2025.xlsx")
    result = new_from(runner, data_dir, "expenses", "--dir", str(tmp_path), "--from", str(book))
    assert result.exit_code == 0, result.output
    project = tmp_path / "expenses"
    assert sorted(p.name for p in project.iterdir()) == ["icon.png", "test_tool.py", "tool.py"]
    assert "Skipped 2 rows above the header." in result.output
    assert (
        "Reference is Text: it holds numbers (23) and text (1, as in row 11: “n/a”)."
        in result.output
    )
    assert f"Imported 24 expenses from {book.name}" in result.output
    assert f"deskwork run {project}" in result.output

    tool, fields = fields_of(project)
    kinds = {name: type(f) for name, f in fields.items()}
    assert kinds == {
        "date": Date, "amount": Money, "category": Choice, "paid": YesNo, "e_mail": Email,
        "website": Url, "reference": Text, "notes": LongText, "montant": Money,
        "amount_2": Integer, "sheet_id": Integer, "class_": Choice, "rate": Number,
    }  # fmt: skip
    required = {name for name, f in fields.items() if f.required}
    assert required == {"date", "amount", "category", "e_mail", "reference", "montant",
                        "amount_2", "sheet_id", "class_", "rate"}  # fmt: skip
    assert fields["category"].choices == sorted(CATEGORIES)  # the merged cell filled C10
    assert fields["rate"].places == 3
    labels = {name: f.label for name, f in fields.items()}
    assert labels["e_mail"] == "E-mail" and labels["montant"] == "Montant (€)"
    assert labels["amount_2"] == "Amount 2" and labels["sheet_id"] == "Sheet ID"
    assert labels["class_"] == "Class"  # 'class' is a Python keyword; 007 a code, not 7
    page = tool.listing_for(next(iter(tool.tables.values())))
    assert list(page.search) == ["e_mail", "website", "reference", "notes"]

    own_tests_pass(project, data_dir)
    client = imported(tool, data_dir, tmp_path)
    assert client.get("/tables/expenses/summary").get_json()["text"] == "24 expenses"
    listed = client.get("/tables/expenses?q=person7").text
    assert "person7@example.com" in listed and "n/a" in listed
    with client.application.extensions["deskwork.storage"].open() as db:
        row = db.execute("SELECT amount, montant, paid, date FROM expenses WHERE id = 1")
        assert row.fetchone() == (1250, 50, 1, "2025-01-01")
        actions = db.execute("SELECT kind, label FROM _deskwork_actions").fetchall()
    assert actions == [("import", f"Imported {book.name}")]  # one Undo takes them back


def test_a_french_csv_with_decimal_commas_gives_money_in_a_french_session(
    runner, tmp_path, data_dir
):
    file = french_csv(tmp_path / "dépenses.csv")
    result = new_from(runner, data_dir, "depenses", "--dir", str(tmp_path), "--from", str(file),
                      locale="fr_FR.UTF-8")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Read as cp1252 text (not UTF-8)." in result.output
    project = tmp_path / "depenses"
    tool, fields = fields_of(project)
    assert {n: type(f) for n, f in fields.items()} == {
        "date": Date, "montant": Money, "categorie": Choice, "rembourse": YesNo,
        "commentaire": Text,
    }  # fmt: skip
    assert fields["categorie"].label == "Catégorie"
    assert fields["categorie"].choices == ["Hôtel", "Repas", "Train"]
    own_tests_pass(project, data_dir)
    client = imported(tool, data_dir, tmp_path)
    assert client.get("/tables/depenses/summary").get_json()["text"] == "22 depenses"
    with client.application.extensions["deskwork.storage"].open() as db:
        first = db.execute("SELECT date, montant, commentaire FROM depenses WHERE id = 1")
        assert first.fetchone() == ("2025-01-31", 100000, "Réunion Éric 0")


def test_decimal_commas_the_locale_does_not_read_stay_text_and_the_command_says_why(
    runner, tmp_path, data_dir
):
    file = french_csv(tmp_path / "depenses.csv")
    result = new_from(runner, data_dir, "depenses", "--dir", str(tmp_path), "--from", str(file))
    assert result.exit_code == 0, result.output
    assert re.search(r"Montant is Text: its numbers are written with a decimal comma \(as "
                     r"“1000,00” in row 4\).*DESKWORK_LOCALE", result.output)  # fmt: skip
    project = tmp_path / "depenses"
    _, fields = fields_of(project)
    assert type(fields["montant"]) is Text and fields["montant"].required
    assert "# Text: its numbers are written with a decimal comma" in (
        project / "tool.py"
    ).read_text(encoding="utf-8")
    own_tests_pass(project, data_dir)


def test_dates_that_can_be_read_either_way_are_asked_about(runner, tmp_path, data_dir):
    file = tmp_path / "visits.csv"
    file.write_text("Visitor,Day\n" + "".join(f"Ann {i},0{i}/04/2025\n" for i in range(1, 6)),
                    encoding="utf-8")  # fmt: skip
    result = new_from(runner, data_dir, "visits", "--dir", str(tmp_path), "--from", str(file))
    assert isinstance(result.exception, NotDone)
    assert "--day-first or --month-first" in str(result.exception)
    assert not (tmp_path / "visits").exists() and not (data_dir / "visits").exists()

    result = new_from(runner, data_dir, "visits", "--dir", str(tmp_path), "--from", str(file),
                      "--month-first")  # fmt: skip
    assert result.exit_code == 0, result.output
    tool, fields = fields_of(tmp_path / "visits")
    assert type(fields["day"]) is Date
    with imported(tool, data_dir, tmp_path).application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT day FROM visits WHERE id = 1").fetchone() == ("2025-01-04",)


def test_a_column_the_import_would_refuse_as_dates_becomes_text_saying_which_row(
    runner, tmp_path, data_dir
):
    file = tmp_path / "visits.csv"
    days = ["13/01/2025", "14/01/2025", "01/15/2025"]  # the last one month first
    file.write_text("Visitor;Day\n" + "".join(f"Ann {i};{d}\n" for i, d in enumerate(days)),
                    encoding="utf-8")  # fmt: skip
    result = new_from(runner, data_dir, "visits", "--dir", str(tmp_path), "--from", str(file),
                      "--day-first")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Day is Text: as Date the import would refuse row 4: " in result.output
    _, fields = fields_of(tmp_path / "visits")
    assert type(fields["day"]) is Text
    own_tests_pass(tmp_path / "visits", data_dir)


def test_deskwork_run_opens_the_made_tool_with_its_rows(runner, tmp_path, data_dir):
    book = messy_workbook(tmp_path / "expenses.xlsx")
    result = new_from(runner, data_dir, "expenses", "--dir", str(tmp_path), "--from", str(book))
    assert result.exit_code == 0, result.output
    _, status, page = serve_and_visit(
        [str(DESKWORK), "run", "expenses", "--browser"], deskwork_env(data_dir),
        "/tables/expenses/summary", cwd=tmp_path,
    )  # fmt: skip
    assert status == 200 and json.loads(page)["text"] == "24 expenses"


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("picture.xlsx", PNG, "picture.xlsx is not a spreadsheet deskwork can read"),
        ("picture.csv", PNG, "picture.csv is not a CSV file or a spreadsheet"),
        ("empty.csv", b"", "empty.csv is empty."),
        ("header.csv", b"Name;Amount\r\n;\r\n", "header.csv has a header but no rows under it."),
    ],
)
def test_a_file_that_is_no_table_is_refused_and_nothing_is_written(
    tmp_path, data_dir, name, content, message
):
    file = tmp_path / name
    file.write_bytes(content)
    done = subprocess.run(
        [str(DESKWORK), "new", "sheet", "--dir", str(tmp_path / "projects"), "--from", str(file)],
        env=deskwork_env(data_dir), capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == UnreadableFile.exit_code, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "projects").exists()
    assert not (data_dir / "sheet").exists()


def test_an_existing_folder_or_database_is_refused_and_left_as_it_was(runner, tmp_path, data_dir):
    book = messy_workbook(tmp_path / "expenses.xlsx")
    (tmp_path / "expenses").mkdir()
    (tmp_path / "expenses" / "mine.txt").write_text("keep me", encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "new", "expenses", "--dir", str(tmp_path), "--from", str(book)],
        env=deskwork_env(data_dir), capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == ToolError.exit_code
    assert "already exists: choose another name or remove it." in done.stderr
    assert [p.name for p in (tmp_path / "expenses").iterdir()] == ["mine.txt"]
    assert not (data_dir / "expenses").exists()

    # A tool of that name has data in the data folder already: it is never added to.
    shutil.rmtree(tmp_path / "expenses")
    (data_dir / "expenses").mkdir()
    (data_dir / "expenses" / "expenses.sqlite3").write_bytes(b"theirs")
    result = new_from(runner, data_dir, "expenses", "--dir", str(tmp_path), "--from", str(book))
    assert isinstance(result.exception, ToolError)
    assert "is there already" in str(result.exception)
    assert not (tmp_path / "expenses").exists()
    assert (data_dir / "expenses" / "expenses.sqlite3").read_bytes() == b"theirs"


def test_sheet_and_day_order_go_with_from_only(runner, tmp_path):
    result = runner.invoke(cli, ["new", "notes", "--dir", str(tmp_path), "--day-first"])
    assert result.exit_code == 2 and "go with --from FILE" in result.output
    assert not (tmp_path / "notes").exists()


def test_sheet_picks_the_workbooks_sheet_to_make_the_tool_from(runner, tmp_path, data_dir):
    book = messy_workbook(tmp_path / "book.xlsx")
    workbook = openpyxl.load_workbook(book)
    second = workbook.create_sheet("Rooms")
    second.append(["Room", "Seats"])
    for i in range(3):
        second.append([f"Room {i}", 10 + i])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workbook.save(book)
    result = new_from(runner, data_dir, "rooms", "--dir", str(tmp_path), "--from", str(book),
                      "--sheet", "Rooms")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Read the sheet 'Rooms' of 2: Dépenses, Rooms." in result.output
    _, fields = fields_of(tmp_path / "rooms")
    assert {n: type(f) for n, f in fields.items()} == {"room": Text, "seats": Integer}
    own_tests_pass(tmp_path / "rooms", data_dir)
