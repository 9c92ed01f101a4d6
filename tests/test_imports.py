"""Imports (``deskwork.imports``): rows checked by the form's own rules, saved in one
transaction as one action, or not at all; round trips with exports, to the cent."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from conftest import DESKWORK, TOOL_FILE, deskwork_env, text
from deskwork import exports, imports, locales, reading
from deskwork.db import history
from deskwork.db.storage import Storage
from deskwork.errors import NotDone
from deskwork.views import imports as views_imports
from fixture_tool import tool

FORM = tool.pages["new-expense"]
COLUMNS = ["date", "amount", "category", "employee", "note", "tags", "paid_by_card"]


@pytest.fixture
def database(tmp_path: Path, seeded_database: Path) -> Path:
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    return copy


def rows_of(db, where: str = "1") -> list[tuple]:
    return db.execute(f"SELECT {', '.join(COLUMNS)} FROM expenses WHERE {where} "
                      "ORDER BY id").fetchall()  # fmt: skip


def export(db, fmt, address: str) -> bytes:
    sheet = exports.page_sheet(tool, db, "expenses", MultiDict(
        [tuple(p.split("=", 1)) for p in address.split("&")]), fmt)  # fmt: skip
    return b"".join(exports.encode(sheet, fmt))


ROUND_TRIPS = [("en", exports.CSV), ("de_DE", exports.EXCEL_CSV), ("de_DE", exports.EXCEL),
               ("en", exports.EXCEL)]  # fmt: skip


@pytest.mark.parametrize(("locale", "fmt"), ROUND_TRIPS)
def test_exported_rows_imported_into_an_empty_copy_are_the_same_to_the_cent(
    database, tmp_path, locale, fmt
):
    address = "category=Travel&" + "&".join(f"cols={c}" for c in COLUMNS)
    with Storage(database).open() as db:
        data = export(db, fmt, address)
        wanted = rows_of(db, "category = 'Travel'")
    empty = tmp_path / "empty.sqlite3"
    Storage(empty).prepare(tool, seed=False)
    with Storage(empty).open() as db:
        db.conn.execute("ATTACH DATABASE ? AS seeded", [str(database)])
        with db.conn:
            db.conn.execute("INSERT INTO employees SELECT * FROM seeded.employees")
        db.conn.execute("DETACH DATABASE seeded")
        found = reading.read(f"travel.{fmt.extension}", data)
        with locales.using(locale):
            checked = imports.check(db, FORM, found)
        # The ID column names records this database doesn't have: import them as new.
        assert {r.errors.get("id", "")[:12] for r in checked.rows} == {"There is no "}
        mapping = {i: n for i, n in checked.mapping.items() if n != imports.ID}
        with locales.using(locale):
            checked = imports.check(db, FORM, found, mapping)
        assert checked.ready, checked.refusal()
        assert checked.count("new") == len(wanted) > 100
        action, new, changed = imports.commit(db, checked)
        assert (new, changed) == (len(wanted), 0)
        assert sorted(rows_of(db)) == sorted(wanted)  # every value, to the cent, tags too
        (label,) = db.execute(
            "SELECT label FROM _deskwork_actions WHERE id = ?", [action]
        ).fetchone()
        assert label == f"Imported {len(wanted):,} expenses ({len(wanted):,} new)"


def csv_file(*lines: str) -> reading.Read:
    return reading.read("file.csv", ("\r\n".join(lines) + "\r\n").encode())


def test_one_bad_row_imports_nothing_and_is_named_then_fixed_all_come_and_undo_takes_all(
    database,
):
    header = "Date,Amount,Category,Employee,Note"
    good = ["2026-01-05,12.50,Travel,Ada Okafor,Taxi", "2026-01-06,7.20,Meals,Ada Okafor,Lunch"]
    with Storage(database).open() as db:
        db.execute("UPDATE employees SET name = 'Ada Okafor' WHERE id = 1")
        db.conn.commit()
        before = rows_of(db)
        wrong = ["2026-01-07,-3,Travel,Ada Okafor,x", "2026-01-08,4,Holidays,Nobody,y"]
        checked = imports.check(db, FORM, csv_file(header, *good, *wrong))
        assert [r.kind for r in checked.rows] == ["new", "new", "bad", "bad"]
        assert checked.rows[2].errors == {"amount": "Amount must be at least 0.01."}
        assert set(checked.rows[3].errors) == {"category", "employee"}
        assert checked.rows[3].errors["employee"] == "No employee is called “Nobody”."
        with pytest.raises(NotDone, match=r"2 of 4 rows can't be saved\. row 4: Amount must"):
            imports.commit(db, checked)
        assert rows_of(db) == before  # nothing at all
        checked = imports.check(db, FORM, csv_file(header, *good))
        action, new, _ = imports.commit(db, checked)
        assert new == 2 and len(rows_of(db)) == len(before) + 2
        history.undo(db, tool, action)
        assert rows_of(db) == before


def test_rows_with_an_id_update_their_records_with_the_forms_version_check(database):
    with Storage(database).open() as db:
        (one, amount), (two, _) = db.execute("SELECT id, amount FROM expenses ORDER BY id "
                                             "LIMIT 2").fetchall()  # fmt: skip
        found = csv_file("ID,Amount,Note", f"{one},{Decimal(amount).scaleb(-2)},Same amount",
                         f"{two},99.99,New note")  # fmt: skip
        checked = imports.check(db, FORM, found)
        assert [r.kind for r in checked.rows] == ["change", "change"]
        assert set(checked.rows[0].changes) == {"note"}
        assert checked.rows[1].changes["amount"][1] == 9999
        assert "vat" in checked.rows[1].changes  # computed again, as the form does
        db.execute("UPDATE expenses SET note = 'Someone else' WHERE id = ?", [two])
        db.conn.commit()
        with pytest.raises(NotDone, match=rf"expense #{two} \(row 3\) was changed since"):
            imports.commit(db, checked)
        assert db.execute("SELECT note FROM expenses WHERE id = ?", [one]).fetchone()[0] != (
            "Same amount"
        )
        checked = imports.check(db, FORM, found)
        action, new, changed = imports.commit(db, checked)
        assert (new, changed) == (0, 2)
        twice = imports.check(db, FORM, csv_file("ID,Note", f"{one},a", f"{one},b"))
        assert twice.rows[1].errors == {"id": f"Expense #{one} is in row 2 too: one row per "
                                              "record."}  # fmt: skip
        history.undo(db, tool, action)
        assert db.execute("SELECT note FROM expenses WHERE id = ?", [two]).fetchone()[0] == (
            "Someone else"
        )


def test_columns_match_by_label_or_name_whatever_the_case_and_accents():
    header = ["DATE", "Amóunt", "paid_by_card", "Paid with the company card", "Colour", "id"]
    mapping = imports.match_columns(header, tool.tables["expenses"])
    assert mapping == {0: "date", 1: "amount", 2: "paid_by_card", 5: "id"}


def test_a_required_field_left_unmapped_and_a_file_matching_nothing_are_said(database):
    with Storage(database).open() as db:
        checked = imports.check(db, FORM, csv_file("Note,Colour", "x,red"))
        assert not checked.ready and "No column is matched to Amount, Category, Employee" in (
            checked.refusal()
        )
        assert checked.ignored == ["Colour"]
        nothing = imports.check(db, FORM, csv_file("Colour,Size", "red,big"))
        assert nothing.refusal().startswith("None of the file's columns matches a field")


def test_numbers_and_dates_are_read_as_the_locale_writes_them_and_day_order_from_the_column(
    database,
):
    header = "Date,Amount,Category,Employee"
    with Storage(database).open() as db, locales.using("de_DE"):
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        found = csv_file(header, f"03/04/2025,\"1.234,56\",Travel,{name}",
                         f"25/04/2025,\"0,50\",Travel,{name}")  # fmt: skip
        rows = imports.check(db, FORM, found).rows
        assert [(r.values["date"], r.values["amount"]) for r in rows] == [
            ("2025-04-03", 123456), ("2025-04-25", 50)]  # fmt: skip
        unsure = imports.check(db, FORM, csv_file(header, f"03/04/2025,1,Travel,{name}"))
        assert unsure.ask_dates == ["Date"] and not unsure.ready
        told = imports.check(db, FORM, csv_file(header, f"03/04/2025,1,Travel,{name}"),
                             day_first=False)  # fmt: skip
        assert told.rows[0].values["date"] == "2025-03-04"


def test_ambiguous_names_are_refused_with_the_candidates_and_duplicates_in_the_file(database):
    with Storage(database).open() as db:
        db.execute("UPDATE employees SET name = 'Sam Lee' WHERE id IN (1, 2)")
        db.execute("UPDATE employees SET email = 'x@example.com' WHERE id = 3")
        db.conn.commit()
        checked = imports.check(db, FORM, csv_file(
            "Date,Amount,Category,Employee", "2026-01-05,1,Travel,sam lee"))  # fmt: skip
        assert checked.rows[0].errors["employee"] == (
            "More than one employee is called “sam lee” (#1, #2): make the names differ first."
        )
        people = tool.pages["new-employee"]
        checked = imports.check(db, people, csv_file(
            "Name,Email", "A,a@example.com", "B,A@EXAMPLE.com", "C,x@example.com"))  # fmt: skip
        errors = [r.errors.get("email") for r in checked.rows]
        assert errors == ["Email “a@example.com” is in row 3 too.",
                          "Email “A@EXAMPLE.com” is in row 2 too.",
                          "Email “x@example.com” is already taken by employee #3."]  # fmt: skip


def test_deskwork_import_checks_saves_and_says_so_with_exit_codes(database, tmp_path, data_dir):
    good = tmp_path / "new.csv"
    with Storage(database).open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        count = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    good.write_bytes(f"Date,Amount,Category,Employee,Colour\r\n2026-01-05,12.50,Travel,{name},"
                     f"red\r\n2026-01-06,1,Meals,{name},blue\r\n".encode())  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_bytes(f"Date,Amount,Category,Employee\r\n2026-01-05,0,Travel,{name}\r\n".encode())

    def run(*args):
        return subprocess.run([str(DESKWORK), "import", str(TOOL_FILE), *args, "--db",
                               str(database), "--table", "expenses"], env=deskwork_env(data_dir),
                              capture_output=True, encoding="utf-8", timeout=60)  # fmt: skip

    dry = run(str(good), "--dry-run")
    assert dry.returncode == 0 and "2 rows: 2 new" in dry.stdout and "Dry run" in dry.stdout
    assert "Not imported (no field of that name): Colour." in dry.stdout
    refused = run(str(bad))
    assert refused.returncode == 12
    assert "row 2, Amount: Amount must be at least 0.01." in refused.stdout
    done = run(str(good))
    assert done.returncode == 0 and "Imported 2 expenses from new.csv: 2 new" in done.stdout
    with Storage(database).open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 2
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_bytes(f"ID,Date,Amount,Category,Employee\r\n99999,2026-01-07,2.00,Travel,"
                          f"{name}\r\n".encode())  # fmt: skip
    unknown = run(str(elsewhere))
    assert unknown.returncode == 12 and "There is no expense #99999 to update." in unknown.stdout
    as_new = run(str(elsewhere), "--unknown-ids-as-new")
    assert as_new.returncode == 0 and "1 new" in as_new.stdout
    photo = tmp_path / "photo.csv"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    unreadable = run(str(photo))
    assert unreadable.returncode == 33 and "holds binary data" in unreadable.stderr


def test_a_mapping_onto_a_computed_field_or_a_file_is_refused(database):
    with Storage(database).open() as db:
        found = csv_file("VAT,Receipt", "1.00,x.pdf")
        checked = imports.check(db, FORM, found, {0: "vat", 1: "receipt"})
        assert checked.problems[:2] == [
            "Column 1 can't go into 'vat': only the fields a form fills in, files aside, can "
            "be imported.",
            "Column 2 can't go into 'receipt': only the fields a form fills in, files aside, "
            "can be imported.",
        ]
        with pytest.raises(NotDone):
            imports.commit(db, checked)


def upload(client, name: str, data: bytes):
    return client.post("/tables/expenses/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")  # fmt: skip


def test_the_import_pages_refuse_a_bad_file_show_changes_and_need_their_own_token(
    seeded_client,
):
    files = "SELECT count(*) FROM _deskwork_files"
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        before = db.execute(files).fetchone()[0]
        one, amount = db.execute("SELECT id, amount FROM expenses ORDER BY id LIMIT 1").fetchone()
    refused = upload(seeded_client, "empty.csv", b"")
    assert refused.status_code == 400 and "empty.csv is empty." in text(refused)
    assert upload(seeded_client, "none", b"").status_code == 400
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute(files).fetchone()[0] == before  # nothing kept

    sent = upload(seeded_client, "edit.csv", f"ID,Amount\r\n{one},777.00\r\n".encode())
    assert sent.status_code == 303
    page = text(seeded_client.get(sent.headers["Location"]))
    assert "1 row: 0 new, 1 changing a record, 0 the same already, 0 with problems." in page
    was = Decimal(amount).scaleb(-2)
    assert f"<td>#{one}</td><td>Amount</td><td>{was:,.2f}</td><td>777.00</td>" in page
    refused = seeded_client.post(sent.headers["Location"], data={"_once": "made-up"})
    assert refused.status_code == 400 and "This form was not sent from this tool" in (text(refused))
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT amount FROM expenses WHERE id = ?", [one]).fetchone()[0] == amount
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    done = seeded_client.post(sent.headers["Location"], data={"_once": token})
    assert done.status_code == 303
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT amount FROM expenses WHERE id = ?", [one]).fetchone()[0] == 77700
        assert db.execute(files).fetchone()[0] == before  # the kept file is gone
    assert seeded_client.get(sent.headers["Location"]).status_code == 404


def test_the_most_rows_an_import_may_bring_is_a_setting(tmp_path, seeded_database, data_dir):
    from deskwork.testing import tool_client

    copy = tmp_path / "limited.sqlite3"
    shutil.copyfile(seeded_database, copy)
    client = tool_client(tool, copy, DESKWORK_IMPORT_ROWS=1)
    refused = upload(client, "two.csv", b"Note\r\na\r\nb\r\n")
    assert refused.status_code == 400
    assert "two.csv has 2 rows: at most 1 can be imported at once" in text(refused)
    two = tmp_path / "two.csv"
    two.write_bytes(b"Note\r\na\r\nb\r\n")
    done = subprocess.run(
        [str(DESKWORK), "import", str(TOOL_FILE), str(two), "--db", str(copy), "--table",
         "expenses"], env=deskwork_env(data_dir, DESKWORK_IMPORT_ROWS="1"),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 33 and "at most 1 can be imported" in done.stderr


def test_importing_saves_what_the_preview_checked_without_checking_it_all_again(
    seeded_client, monkeypatch
):
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        count = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    sent = upload(seeded_client, "new.csv", f"Date,Amount,Category,Employee\r\n2026-01-05,"
                                            f"1.00,Travel,{name}\r\n".encode())  # fmt: skip
    page = text(seeded_client.get(sent.headers["Location"]))
    checks = []
    real = imports.check
    monkeypatch.setattr(imports, "check", lambda *a, **k: checks.append(1) or real(*a, **k))
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    assert seeded_client.post(sent.headers["Location"], data={"_once": token}).status_code == 303
    assert checks == []  # the preview's own check was saved
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 1
    # Another matching than the preview's is checked again before saving.
    sent = upload(seeded_client, "new.csv", f"Date,Amount,Category,Employee\r\n2026-01-06,"
                                            f"2.00,Travel,{name}\r\n".encode())  # fmt: skip
    page = text(seeded_client.get(sent.headers["Location"]))
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    form = {"_once": token, "matched": "1", "col0": "date", "col1": "amount",
            "col2": "category", "col3": "employee"}  # fmt: skip
    assert seeded_client.post(sent.headers["Location"], data=form).status_code == 303
    assert checks == [1, 1]  # the preview's, and the import's own


def test_a_file_is_read_once_from_its_upload_to_its_import_unless_another_sheet_is_asked(
    seeded_client, monkeypatch
):
    from test_reading import workbook

    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        count = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    reads = []
    real = reading.read
    monkeypatch.setattr(reading, "read", lambda *a, **k: reads.append(k.get("sheet")) or real(
        *a, **k))  # fmt: skip
    header = ["Date", "Amount", "Category", "Employee"]
    data = workbook(("First", [header, ["2026-01-05", 1, "Travel", name]]),
                    ("Second", [header, ["2026-01-06", 2, "Meals", name],
                                ["2026-01-07", 3, "Meals", name]]))  # fmt: skip
    sent = upload(seeded_client, "two.xlsx", data)
    assert "1 row: 1 new" in text(seeded_client.get(sent.headers["Location"]))
    assert reads == [None]
    file_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    other = upload(seeded_client, "other.csv", b"Date,Amount,Category,Employee\r\n"
                                               b"2026-01-05,1.00,Travel,Nobody\r\n")  # fmt: skip
    other_id = int(other.headers["Location"].rsplit("/", 1)[1])
    with seeded_client.application.extensions["deskwork.storage"].open() as db, db.conn:
        # The same id, other bytes (as a database shared with another process could
        # have): never the rows kept from the upload.
        db.execute("UPDATE _deskwork_files SET (data, sha256) = (SELECT data, sha256 FROM "
                   "_deskwork_files WHERE id = ?) WHERE id = ?", [file_id, other_id])  # fmt: skip
    assert "1 row: 1 new" in text(seeded_client.get(other.headers["Location"]))
    assert reads == [None, None, None]  # the upload's, then the other bytes read again
    reads.clear()
    sent = upload(seeded_client, "two.xlsx", data)
    assert "1 row: 1 new" in text(seeded_client.get(sent.headers["Location"]))
    matching = {"matched": "1", "col0": "date", "col1": "amount", "col2": "category",
                "col3": "employee"}  # fmt: skip
    again = seeded_client.get(sent.headers["Location"], query_string=matching)
    assert "1 row: 1 new" in text(again)
    assert reads == [None]  # the upload's read served both checks
    page = text(seeded_client.get(sent.headers["Location"], query_string={"sheet": "Second"}))
    assert "2 rows: 2 new" in page and reads == [None, "Second"]
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    done = seeded_client.post(sent.headers["Location"], data={"_once": token, "sheet": "Second"})
    assert done.status_code == 303 and reads == [None, "Second"]
    assert seeded_client.application.extensions.get(views_imports.READ) is None  # let go
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 2


def large_csv(db, rows: int = 8_000) -> bytes:
    """A CSV file over ``AT_ONCE`` bytes (a progress page's import), under the 500 KB
    over which the test client would spool it to a file."""
    name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
    lines = ["Date,Amount,Category,Employee,Note"]
    lines += [f"2026-01-{n % 28 + 1:02d},{n % 900 + 1}.25,Meals,{name},Lunch number {n}"
              for n in range(rows)]  # fmt: skip
    data = ("\r\n".join(lines) + "\r\n").encode()
    from deskwork.views.imports import AT_ONCE

    assert len(data) > AT_ONCE
    return data


def job_of(client, file_id: int):
    return client.application.extensions["deskwork.import_jobs"][file_id]


def test_a_large_import_is_checked_and_saved_with_its_progress_shown(seeded_client):
    storage = seeded_client.application.extensions["deskwork.storage"]
    with storage.open() as db:
        data, count = large_csv(db), db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    sent = upload(seeded_client, "lunches.csv", data)
    preview_url = sent.headers["Location"]
    file_id = int(preview_url.rsplit("/", 1)[1])
    waiting = text(seeded_client.get(preview_url))
    assert "Cancel import" in waiting and "data-job-status" in waiting and "<progress" in waiting
    job = job_of(seeded_client, file_id)
    assert job.wait(120) and job.state == "done"
    told = seeded_client.get(f"/tables/expenses/import/{file_id}/status").json
    assert told["state"] == "done" and told["count"] == 8_000
    assert told["text"].startswith("Checking row ")
    page = text(seeded_client.get(preview_url))
    assert "8,000 rows: 8,000 new" in page
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    saving = seeded_client.post(preview_url, data={"_once": token})
    assert saving.status_code == 303 and saving.headers["Location"].endswith("/saving")
    assert job_of(seeded_client, file_id).wait(120)
    done = seeded_client.get(saving.headers["Location"])
    assert done.status_code == 303 and done.headers["Location"] == "/tables/expenses"
    shown = text(seeded_client.get("/tables/expenses"))
    assert "Imported 8,000 expenses from lunches.csv: 8,000 new, 0 changed." in shown
    assert "Undo" in shown
    with storage.open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 8_000


def test_cancel_stops_a_large_import_half_saved_with_nothing_saved_and_no_file_kept(
    seeded_client, monkeypatch
):
    """Cancel pressed while the save is half-way through its transaction: the pages
    answer meanwhile, and the transaction rolls back."""
    import threading

    from deskwork.jobs import Job

    storage = seeded_client.application.extensions["deskwork.storage"]
    with storage.open() as db:
        data = large_csv(db)
        count = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
        kept = db.execute("SELECT count(*) FROM _deskwork_files").fetchone()[0]
    sent = upload(seeded_client, "lunches.csv", data)
    preview_url = sent.headers["Location"]
    file_id = int(preview_url.rsplit("/", 1)[1])
    seeded_client.get(preview_url)
    assert job_of(seeded_client, file_id).wait(120)
    token = re.search(r'name="_once" value="([^"]+)"', text(seeded_client.get(preview_url)))[1]

    half_way = threading.Event()
    real_step = Job.step

    def step(job, done, count=None, phase=None):
        if phase == "Saving" and done > 0 and not half_way.is_set():
            half_way.set()  # rows are written, uncommitted: wait for Cancel
            job.cancelled.wait(60)
        real_step(job, done, count, phase)

    monkeypatch.setattr(Job, "step", step)
    seeded_client.post(preview_url, data={"_once": token})
    assert half_way.wait(60)
    assert seeded_client.get("/tables/expenses").status_code == 200  # still answering
    told = seeded_client.get(f"/tables/expenses/import/{file_id}/status").json
    assert told["state"] == "running" and told["text"].startswith("Saving row ")
    cancelled = seeded_client.post(f"/tables/expenses/import/{file_id}/cancel")
    assert cancelled.status_code == 303
    assert "Import cancelled: nothing was saved." in text(seeded_client.get("/tables/expenses"))
    with storage.open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count
        assert db.execute("SELECT count(*) FROM _deskwork_files").fetchone()[0] == kept
        assert db.execute("SELECT count(*) FROM _deskwork_actions WHERE kind = 'import'"
                          ).fetchone()[0] == 0  # fmt: skip
    assert seeded_client.get(preview_url).status_code == 404


def test_rows_whose_id_is_no_record_here_may_be_imported_as_new(seeded_client):
    storage = seeded_client.application.extensions["deskwork.storage"]
    with storage.open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        count = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
        top = db.execute("SELECT max(id) FROM expenses").fetchone()[0]
    data = (f"ID,Date,Amount,Category,Employee\r\n{top + 500},2026-01-05,3.00,Travel,{name}\r\n"
            f"{top + 501},2026-01-06,4.00,Meals,{name}\r\n").encode()  # fmt: skip
    preview_url = upload(seeded_client, "from-another-copy.csv", data).headers["Location"]
    refused = text(seeded_client.get(preview_url))
    assert f"There is no expense #{top + 500} to update." in refused
    assert "Import rows whose ID is no record here as new records" in refused
    form = {"matched": "1", "col0": "id", "col1": "date", "col2": "amount",
            "col3": "category", "col4": "employee", "unknown_ids": "new"}  # fmt: skip
    page = text(seeded_client.get(preview_url, query_string=form))
    assert "2 rows: 2 new, 0 changing a record" in page
    token = re.search(r'name="_once" value="([^"]+)"', page)[1]
    assert seeded_client.post(preview_url, data={**form, "_once": token}).status_code == 303
    with storage.open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 2
        # Ids of their own: never the other copy's, which may be a deleted record's here.
        assert db.execute("SELECT count(*) FROM expenses WHERE id >= ?", [top + 500]
                          ).fetchone()[0] == 0  # fmt: skip


def test_an_imported_records_history_holds_the_record_as_saved(database):
    """The history of an import's new records is written by SQLite (json_object), not
    row by row in Python: it must read back as the rows themselves."""
    import json

    with Storage(database).open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
        found = csv_file("Date,Amount,Category,Employee,Note",
                         f"2026-01-05,12.50,Travel,{name},Café “Zoë” 🚆")  # fmt: skip
        checked = imports.check(db, FORM, found)
        action, new, _changed = imports.commit(db, checked)
        assert new == 1
        after, kind = db.execute("SELECT after, kind FROM _deskwork_history WHERE action_id = ?",
                                 [action]).fetchone()  # fmt: skip
        row = history.get_row(db.conn, "expenses", json.loads(after)["id"])
    assert kind == "create" and json.loads(after) == row
    assert row["note"] == "Café “Zoë” 🚆" and row["amount"] == 1250


def test_a_workbooks_true_and_false_cells_fill_a_yes_no_field(database):
    from test_reading import workbook

    data = workbook(("Cards", [
        ["Date", "Amount", "Category", "Employee", "Note", "Paid with the company card"],
        ["2026-01-05", 12.5, "Travel", "Ada Okafor", "card 1", True],
        ["2026-01-06", 7.2, "Meals", "Ada Okafor", "card 2", False],
        ["2026-01-07", 3, "Meals", "Ada Okafor", "card 3", 1],
    ]))  # fmt: skip
    with Storage(database).open() as db:
        db.execute("UPDATE employees SET name = 'Ada Okafor' WHERE id = 1")
        db.conn.commit()
        checked = imports.check(db, FORM, reading.read("cards.xlsx", data))
        assert checked.ready, checked.refusal()
        imports.commit(db, checked)
        found = db.execute(
            "SELECT paid_by_card FROM expenses WHERE note LIKE 'card _' ORDER BY note"
        ).fetchall()
    assert [r[0] for r in found] == [1, 0, 1]
