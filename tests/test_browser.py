"""End to end in a real browser: Debian's chromium driven by Playwright against a live server."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from deskwork.db.storage import Storage

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.first_url)
    yield page
    context.close()


def at_the_saved_row(page, live_server) -> int:
    """Wait for the table a new record's form goes to, opened at that record; its id."""
    pattern = re.escape(f"{live_server.url}tables/expenses?at=") + r"(\d+)$"
    page.wait_for_url(re.compile(pattern))
    return int(re.match(pattern, page.url).group(1))


def test_the_first_address_opens_the_home_page_and_hides_the_secret(page, live_server):
    assert page.title() == "Expenses"
    assert page.url == live_server.url  # the token is gone from the address bar
    assert page.get_by_role("heading", level=1).inner_text() == "Expenses"


def test_a_new_expense_appears_in_the_table_and_the_report(page, live_server):
    page.get_by_role("link", name="New expense").first.click()
    page.get_by_label("Date").fill("2026-11-20")
    page.get_by_label("Amount").fill("4,321.09")
    page.get_by_label("Category").select_option("Training")
    page.get_by_label("Employee").fill("chloé")
    page.get_by_role("option", name="Chloé Okafor").click()
    page.get_by_label("Note").fill("Playwright conference ticket")
    page.get_by_role("button", name="Save", exact=True).click()

    at_the_saved_row(page, live_server)
    assert page.get_by_role("status").inner_text().startswith("Saved expense #")
    page.get_by_label("Search").fill("Playwright conference")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tbody tr")
    assert row.count() == 1
    assert row.inner_text().split("\t")[1:] == [  # after the tick box
        "2026-11-20", "4,321.09", "Training", "Chloé Okafor", "Playwright conference ticket"
    ]  # fmt: skip

    page.get_by_role("link", name="Spending by category", exact=True).click()
    page.get_by_label("From", exact=True).fill("2026-11-20")
    page.get_by_label("To", exact=True).fill("2026-11-20")
    page.get_by_role("button", name="Show").click()
    training = page.locator("tbody tr", has_text="Training")
    with Storage(live_server.database).open() as db:
        cents = db.execute(
            "select sum(amount) from expenses where category = 'Training' and date = ?",
            ["2026-11-20"],
        ).fetchone()[0]
    assert cents >= 432109  # our ticket is in it
    assert training.inner_text() == f"Training\t{cents / 100:,.2f}"
    assert page.locator("svg.chart rect").count() >= 1


def test_a_bad_entry_shows_the_error_beside_the_field_and_keeps_what_was_typed(page):
    page.get_by_role("link", name="New expense").first.click()
    page.get_by_label("Amount").fill("12.345")
    page.get_by_label("Note").fill("keep this text")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#f-amount-error").inner_text().startswith("Amount must be an amount")
    assert page.get_by_label("Amount").input_value() == "12.345"
    assert page.get_by_label("Note").input_value() == "keep this text"
    assert page.get_by_label("Date").input_value() == dt.date.today().isoformat()
    # What came back is not saved yet: Escape asks before throwing it away (once the
    # page's script runs: on a loaded machine it may come after the fields are shown).
    page.wait_for_load_state("load")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Note").press("Escape")
    assert asked == ["Discard what you typed into this form?"]


def test_the_report_draws_a_bar_per_category_with_a_total(page):
    page.get_by_role("link", name="Spending by category", exact=True).click()
    bars = page.locator("svg.chart rect")
    rows = page.locator("tbody tr")
    rows.first.wait_for()  # count() does not wait: the report's page may be on its way
    assert bars.count() == rows.count() == 7
    assert page.locator("tfoot").inner_text().startswith("Total")


# -- forms end to end ------------------------------------------------------------------------


def insert_expense(live_server, note, **extra):
    with Storage(live_server.database).open() as db, db.conn:
        row = {"date": "2026-01-15", "amount": 4200, "category": "Meals", "employee": 1,
               "note": note, **extra}  # fmt: skip
        return db.table("expenses").insert(row).last_pk


def saved(live_server, note):
    with Storage(live_server.database).open() as db:
        return list(db.query("select * from expenses where note = ?", [note]))


def fill_expense(page, note, amount="12.50"):
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Category").select_option("Meals")
    page.get_by_label("Employee").fill("ivo")
    page.locator("#f-employee-list").get_by_role("option").first.wait_for()
    page.get_by_label("Employee").press("Enter")  # the first match
    page.get_by_label("Note").fill(note)


def test_a_lookup_is_picked_with_the_keyboard_and_enter_saves_the_form(page, live_server):
    page.goto(f"{live_server.url}forms/new-expense")
    page.get_by_label("Amount").fill("31.40")
    page.get_by_label("Category").select_option("Office")
    employee = page.get_by_label("Employee")
    employee.press_sequentially("nakam")
    options = page.locator("#f-employee-list").get_by_role("option")
    options.first.wait_for()
    assert all("Nakamura" in name for name in options.all_inner_texts())
    employee.press("ArrowDown")  # the second match
    chosen = options.nth(1).inner_text()
    employee.press("Enter")  # picks; does not save
    assert employee.input_value() == chosen
    assert page.url.endswith("/forms/new-expense")
    page.get_by_label("Note").fill("Picked by keyboard")
    page.get_by_label("Note").press("Enter")  # saves
    at_the_saved_row(page, live_server)
    (row,) = saved(live_server, "Picked by keyboard")
    with Storage(live_server.database).open() as db:
        name = db.execute("select name from employees where id = ?", [row["employee"]])
        assert name.fetchone()[0] == chosen


def test_escape_cancels_the_form_and_asks_first_if_anything_was_typed(page, live_server):
    page.goto(f"{live_server.url}forms/new-expense")
    page.get_by_label("Note").press("Escape")  # nothing typed: no question
    page.wait_for_url(f"{live_server.url}tables/expenses")

    page.goto(f"{live_server.url}forms/new-expense")
    page.get_by_label("Note").fill("never saved")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Note").press("Escape")
    assert questions == ["Discard what you typed into this form?"]
    assert page.url == f"{live_server.url}forms/new-expense"  # kept
    assert page.get_by_label("Note").input_value() == "never saved"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert saved(live_server, "never saved") == []


def test_a_double_click_on_save_saves_once(page, live_server):
    page.goto(f"{live_server.url}forms/new-expense")
    fill_expense(page, "Clicked twice")
    page.get_by_role("button", name="Save", exact=True).dblclick()
    at_the_saved_row(page, live_server)
    assert len(saved(live_server, "Clicked twice")) == 1


def test_a_file_chosen_before_an_error_is_kept_and_saved(page, live_server):
    page.goto(f"{live_server.url}forms/new-expense")
    fill_expense(page, "Receipt kept", amount="12.345")
    page.get_by_label("Receipt").set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 test"}
    )
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#f-amount-error").is_visible()
    assert page.get_by_role("link", name="receipt.pdf").is_visible()
    page.get_by_label("Amount").fill("12.35")
    page.get_by_role("button", name="Save", exact=True).click()
    at_the_saved_row(page, live_server)
    (row,) = saved(live_server, "Receipt kept")
    with Storage(live_server.database).open() as db:
        data = db.execute("select data from _deskwork_files where id = ?", [row["receipt"]])
        assert data.fetchone()[0] == b"%PDF-1.4 test"


def test_two_windows_editing_one_record_the_second_is_told(browser, live_server):
    record_id = insert_expense(live_server, "Before both edits")
    windows = []
    for _ in range(2):
        context = browser.new_context()
        window = context.new_page()
        window.goto(live_server.first_url)
        window.goto(f"{live_server.url}forms/new-expense/{record_id}")
        windows.append((context, window))
    (first_context, first), (second_context, second) = windows
    try:
        first.get_by_label("Note").fill("Edited in the first window")
        first.get_by_role("button", name="Save", exact=True).click()
        first.get_by_text(f"Saved changes to expense #{record_id}.").wait_for()

        second.get_by_label("Note").fill("Edited in the second window")
        second.get_by_role("button", name="Save", exact=True).click()
        alert = second.get_by_role("alert")
        assert "Someone else saved this expense" in alert.inner_text()
        differs = second.locator(".conflict tbody tr", has_text="Note")
        assert differs.inner_text().split("\t") == [
            "Note", "Edited in the first window", "Edited in the second window"
        ]  # fmt: skip
        assert saved(live_server, "Edited in the first window")  # nothing overwritten
        second.get_by_role("button", name="Save mine").click()
        second.get_by_text(f"Saved changes to expense #{record_id}.").wait_for()
        assert saved(live_server, "Edited in the second window")
    finally:
        first_context.close()
        second_context.close()


def test_delete_asks_then_undo_brings_the_record_back(page, live_server):
    record_id = insert_expense(live_server, "Deleted then restored")
    page.goto(f"{live_server.url}forms/new-expense/{record_id}")
    page.get_by_role("link", name="Delete…").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Delete expense #{record_id}?"
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert page.get_by_role("status").inner_text().startswith(f"Deleted expense #{record_id}.")
    assert saved(live_server, "Deleted then restored") == []
    page.get_by_role("button", name="Undo").click()
    page.wait_for_url(f"{live_server.url}forms/new-expense/{record_id}")
    assert page.get_by_role("status").inner_text() == f"Restored expense #{record_id}."
    assert page.get_by_label("Note").input_value() == "Deleted then restored"
    assert len(saved(live_server, "Deleted then restored")) == 1


def test_the_reimbursement_estimate_shows_its_result_under_the_form(page, live_server):
    page.get_by_role("link", name="Reimbursement estimate").first.click()
    page.get_by_label("Distance in km").fill("120.5")
    page.get_by_label("Nights away").fill("2")
    page.get_by_role("button", name="Estimate").click()
    result = page.get_by_role("region", name="Result")
    assert result.locator("output").inner_text() == "282.18"
    assert page.get_by_label("Distance in km").input_value() == "120.5"


# -- history and the bin ----------------------------------------------------------------------


def test_an_edit_shows_in_the_history_and_an_earlier_version_comes_back(page, live_server):
    record_id = insert_expense(live_server, "Versioned lunch")
    page.goto(f"{live_server.url}forms/new-expense/{record_id}")
    page.get_by_label("Amount").fill("21.00")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}forms/new-expense/{record_id}")
    page.get_by_role("link", name="History").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"History of expense #{record_id}"
    changed = page.get_by_role("row").filter(has_text="changed amount from 42.00 to 21.00")
    assert changed.count() == 1
    # The first version (42.00) is the oldest line: bring it back.
    page.get_by_role("button", name="Restore this version").last.click()
    page.wait_for_url(f"{live_server.url}forms/new-expense/{record_id}")
    assert page.get_by_label("Amount").input_value() == "42.00"
    assert page.get_by_role("status").inner_text().startswith("Restored an earlier version")
    (row,) = saved(live_server, "Versioned lunch")
    assert row["amount"] == 4200
    page.get_by_role("link", name="History").click()
    assert page.get_by_role("row").filter(has_text="Restored an earlier version").count() == 1


def test_a_deleted_expense_is_restored_from_recently_deleted_after_moving_on(page, live_server):
    record_id = insert_expense(live_server, "Binned taxi")
    page.goto(f"{live_server.url}forms/new-expense/{record_id}")
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert saved(live_server, "Binned taxi") == []
    # The Undo in the message is gone once the user moves on...
    page.get_by_role("link", name="Spending by category", exact=True).click()
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Expenses").click()
    assert page.get_by_role("button", name="Undo").count() == 0
    # ...the bin is not.
    page.get_by_role("link", name="Recently deleted").click()
    row = page.get_by_role("row").filter(has_text="Binned taxi")
    assert row.count() == 1
    row.get_by_role("button", name="Restore").click()
    page.wait_for_url(f"{live_server.url}forms/new-expense/{record_id}")
    assert page.get_by_label("Note").input_value() == "Binned taxi"
    assert len(saved(live_server, "Binned taxi")) == 1
    page.get_by_role("link", name="History").click()
    whats = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert whats[:2] == ["Restored from the bin (back)", "Deleted"]


# -- tables and forms as staff work in them ---------------------------------------------------


def test_clicking_a_rows_note_or_pressing_enter_on_it_opens_the_record(page, live_server):
    record_id = insert_expense(live_server, "Row click lunch", date="2099-01-02")
    page.goto(f"{live_server.url}tables/expenses")  # newest first: it is the first row
    page.get_by_role("cell", name="Row click lunch").click()
    page.wait_for_url(f"{live_server.url}forms/new-expense/{record_id}")
    page.go_back()
    first = page.locator("tbody tr").first
    first.focus()
    first.press("ArrowDown")  # the second row
    second = page.locator("tbody tr").nth(1)
    assert second.evaluate("row => row === document.activeElement")
    href = second.get_attribute("data-href")
    second.press("Enter")
    page.wait_for_url(f"{live_server.url}{href.lstrip('/')}")


def test_a_form_opens_ready_to_type_and_save_and_add_another_keeps_the_date(page, live_server):
    page.goto(f"{live_server.url}forms/new-expense")
    assert page.get_by_label("Date").evaluate("input => input === document.activeElement")
    page.get_by_label("Date").fill("2026-02-03")
    fill_expense(page, "Pile of receipts, one")
    page.get_by_role("button", name="Save and add another").click()
    page.wait_for_url(f"{live_server.url}forms/new-expense?date=2026-02-03")
    assert page.get_by_label("Date").input_value() == "2026-02-03"
    assert page.get_by_label("Date").evaluate("input => input === document.activeElement")
    assert page.get_by_label("Note").input_value() == ""
    assert page.get_by_role("status").inner_text().startswith("Saved expense #")
    assert len(saved(live_server, "Pile of receipts, one")) == 1


def wait_for_count(page) -> str:
    counted = page.locator("p.summary [data-count]", has_text=re.compile(r"^(?!Counting)"))
    counted.wait_for()  # a locator, not a string predicate: the page's CSP refuses eval
    return counted.inner_text()


def amounts(page) -> list[str]:
    return page.locator("tbody tr td.num").all_inner_texts()


def test_sort_filter_count_and_page_through_expenses(page, live_server):
    page.goto(f"{live_server.url}tables/expenses")
    with Storage(live_server.database).open() as db:
        count, cents = db.execute("select count(*), sum(amount) from expenses").fetchone()
        largest = db.execute("select max(amount) from expenses").fetchone()[0]
    assert wait_for_count(page) == f"{count:,} expenses"
    assert page.locator("tfoot [data-total=amount]").inner_text() == f"{cents / 100:,.2f}"

    page.get_by_role("link", name="Amount").click()  # smallest first...
    page.wait_for_url(f"{live_server.url}tables/expenses?sort=amount")
    ascending = [float(a.replace(",", "")) for a in amounts(page)]
    assert ascending == sorted(ascending)
    page.get_by_role("link", name="Amount").click()  # ...then largest first
    page.wait_for_url(f"{live_server.url}tables/expenses?sort=-amount")
    assert amounts(page)[0] == f"{largest / 100:,.2f}"

    page.goto(f"{live_server.url}tables/expenses")
    page.get_by_text("Filters", exact=True).click()
    page.locator("fieldset", has_text="Category").get_by_label("Travel").check()
    page.locator("fieldset", has_text="Date").get_by_label("When").select_option("last-year")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/tables/expenses?*category=Travel*")
    year = dt.date.today().year - 1
    days = [f"{year}-01-01", f"{year}-12-31"]
    with Storage(live_server.database).open() as db:
        count, cents = db.execute(
            "select count(*), sum(amount) from expenses where category = 'Travel' "
            "and date between ? and ?", days).fetchone()  # fmt: skip
        oldest = db.execute(
            "select id from expenses where category = 'Travel' and date between ? and ? "
            "order by date, id limit 1", days).fetchone()[0]  # fmt: skip
    assert wait_for_count(page) == f"{count:,} expenses match"
    assert page.locator("p.summary [data-total=amount]").inner_text() == f"{cents / 100:,.2f}"
    in_use = page.get_by_role("list", name="Filters in use").inner_text()
    assert "Category is Travel" in in_use and "Date: last year" in in_use
    first_rows = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.href)")

    page.get_by_role("link", name="Last", exact=True).click()  # to the end...
    page.wait_for_url("**last=1*")
    assert page.locator("tbody tr").last.get_attribute("data-href").endswith(f"/{oldest}")
    assert page.get_by_role("link", name="Next", exact=True).count() == 0
    page.get_by_role("link", name="Previous", exact=True).click()
    page.wait_for_url("**before=*")
    page.get_by_role("link", name="First", exact=True).click()  # ...and back
    page.wait_for_load_state()
    assert page.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.href)") == first_rows  # fmt: skip
    page.go_back()  # the address holds the view: back shows the same rows again
    page.wait_for_url("**before=*")
    assert "Category is Travel" in page.get_by_role("list", name="Filters in use").inner_text()


def test_three_rows_get_a_category_in_one_go_and_one_undo_puts_them_back(page, live_server):
    ids = [insert_expense(live_server, f"Bulk {n}", date="2098-01-0" + str(n)) for n in (1, 2, 3)]
    page.goto(f"{live_server.url}tables/expenses")  # the newest: the first three rows
    page.get_by_label(f"Select expense #{ids[2]}").click()
    page.get_by_label(f"Select expense #{ids[0]}").click(modifiers=["Shift"])  # a range
    assert page.locator("[data-selected]").inner_text() == "3 selected"
    page.get_by_label("Set", exact=True).select_option("category")
    page.get_by_role("button", name="Set on selected…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Set category on 3 expenses"
    page.get_by_label("Category").select_option("Software")
    page.get_by_role("button", name="Set category on 3 expenses").click()
    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert page.get_by_role("status").inner_text().startswith("Set category on 3 expenses.")
    assert [r["category"] for n in (1, 2, 3) for r in saved(live_server, f"Bulk {n}")] == [
        "Software"] * 3  # fmt: skip
    page.get_by_role("button", name="Undo").click()
    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert [r["category"] for n in (1, 2, 3) for r in saved(live_server, f"Bulk {n}")] == [
        "Meals"] * 3  # fmt: skip


def test_a_filtered_view_exports_its_rows_as_a_download(page, live_server, tmp_path):
    import csv
    import io

    import openpyxl

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Expenses").click()
    page.get_by_label("Search").fill("flight")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Amount", exact=True).click()  # sorted by amount
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export CSV").click()
    download = waiting.value
    assert download.suggested_filename == f"expenses-{dt.date.today().isoformat()}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert download.failure() is None
    rows = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig"))))
    with Storage(live_server.database).open() as db:
        expected = [
            [str(i), day, f"{amount / 100:.2f}", category, name, note]
            for i, day, amount, category, name, note in db.execute(
                "SELECT e.id, e.date, e.amount, e.category, p.name, e.note FROM expenses e "
                "JOIN employees p ON p.id = e.employee WHERE lower(e.note) LIKE '%flight%' "
                "ORDER BY e.amount, e.id"
            )
        ]
    assert rows[0] == ["ID", "Date", "Amount", "Category", "Employee", "Note"]
    assert rows[1:] == expected and len(expected) > 100

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export Excel").click()
    workbook = tmp_path / "view.xlsx"
    waiting.value.save_as(workbook)
    sheet = openpyxl.load_workbook(workbook).active
    assert [c.value for c in sheet[2]][:3] == [int(expected[0][0]), dt.datetime.fromisoformat(
        expected[0][1]), float(expected[0][2])]  # fmt: skip
    assert sheet.max_row == len(expected) + 1


def test_an_export_that_fails_half_way_is_a_failed_download(page, live_server, monkeypatch):
    from deskwork import exports

    real = exports.Sheet.batches

    def failing(self):
        for n, batch in enumerate(real(self)):
            if n == 2:
                raise OSError("the disk went away")
            yield batch

    monkeypatch.setattr(exports.Sheet, "batches", failing)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Expenses").click()
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export CSV").click()
    assert waiting.value.failure() is not None  # Chromium says "Failed", keeps no file


def test_an_import_with_a_bad_row_adds_nothing_then_fixed_adds_all_and_undo_takes_all(
    page, live_server, tmp_path
):
    with Storage(live_server.database).open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]

    def count() -> int:
        with Storage(live_server.database).open() as db:
            return db.execute("SELECT count(*) FROM expenses WHERE note LIKE "
                              "'Imported by Playwright%'").fetchone()[0]  # fmt: skip

    rows = [f"2026-01-0{i},1{i}.50,Travel,{name},Imported by Playwright {i}" for i in range(1, 4)]
    bad = tmp_path / "expenses.csv"
    bad.write_text("Date,Amount,Category,Employee,Note\n" + "\n".join(
        [*rows[:2], rows[2].replace("Travel", "Holidays")]) + "\n", encoding="utf-8")  # fmt: skip
    good = tmp_path / "fixed.csv"
    good.write_text("Date,Amount,Category,Employee,Note\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")  # fmt: skip

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Expenses").click()
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File to import").set_input_files(bad)
    page.get_by_role("button", name="Upload").click()
    assert "3 rows: 2 new" in page.get_by_role("status").inner_text()
    problem = page.locator("table.problems tbody tr")
    assert problem.count() == 1
    assert problem.inner_text().split("\t") == [
        "4", "Category", "Category must be one of: Travel, Meals, Office, Software, Hardware, "
        "Training, Other."]  # fmt: skip
    assert page.get_by_role("button", name=re.compile("^Import")).count() == 0
    assert count() == 0

    page.get_by_role("link", name="Upload another file").click()
    page.get_by_label("File to import").set_input_files(good)
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_label("Date", exact=True).input_value() == "date"  # matched by label
    page.get_by_role("button", name="Import 3 rows").click()
    assert (
        page.get_by_role("status")
        .first.inner_text()
        .startswith("Imported 3 expenses from fixed.csv: 3 new, 0 changed.")
    )
    assert count() == 3
    page.get_by_role("button", name="Undo").click()
    assert "Undone: 3 records" in page.get_by_role("status").first.inner_text()
    assert count() == 0


def test_a_large_import_shows_its_progress_then_its_preview_then_what_it_saved(
    page, live_server, tmp_path
):
    with Storage(live_server.database).open() as db:
        name = db.execute("SELECT name FROM employees WHERE id = 1").fetchone()[0]
    lines = [f"2026-02-{n % 28 + 1:02d},{n % 90 + 1}.75,Office,{name},Progress test {n}"
             for n in range(20_000)]  # fmt: skip
    big = tmp_path / "supplies.csv"
    big.write_text("Date,Amount,Category,Employee,Note\n" + "\n".join(lines) + "\n",
                   encoding="utf-8")  # fmt: skip

    def count() -> int:
        with Storage(live_server.database).open() as db:
            return db.execute("SELECT count(*) FROM expenses WHERE note LIKE "
                              "'Progress test %'").fetchone()[0]  # fmt: skip

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Expenses").click()
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File to import").set_input_files(big)
    page.get_by_role("button", name="Upload").click()
    # The progress page first (with its Cancel), then the page moves on by itself.
    page.get_by_role("heading", name=re.compile("^Checking the file")).wait_for()
    assert page.get_by_role("button", name="Cancel import").is_visible()
    page.get_by_role("heading", name="Import supplies.csv into Expenses").wait_for(timeout=60_000)
    assert "20,000 rows: 20,000 new" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Import 20,000 rows").click()
    page.get_by_text("Imported 20,000 expenses from supplies.csv").wait_for(timeout=60_000)
    assert count() == 20_000
    page.get_by_role("button", name="Undo").click()
    assert "Undone: 20,000 records" in page.get_by_role("status").first.inner_text()
    assert count() == 0


def test_summarise_a_filtered_view_by_category_then_a_bar_opens_its_rows(page, live_server):
    page.goto(f"{live_server.url}tables/expenses?date.in=last-year")
    page.get_by_role("link", name="Summarise", exact=True).click()
    page.get_by_label("Group by").select_option(label="Category")
    page.get_by_role("button", name="Summarise").click()
    page.wait_for_url(re.compile(r".*/summarise\?.*by=category"))
    page.locator("table.groups tbody tr").first.wait_for()
    last_year = dt.date.today().year - 1
    with Storage(live_server.database).open() as db:
        wanted = db.execute(
            "SELECT category, count(*), sum(amount) FROM expenses WHERE date LIKE ? "
            "GROUP BY category ORDER BY category", [f"{last_year}-%"]).fetchall()  # fmt: skip
    shown = [row.inner_text().split("\t") for row in page.locator("table.groups tbody tr").all()]
    assert shown == [[c, f"{n:,}", f"{cents / 100:,.2f}"] for c, n, cents in wanted]
    assert page.locator("table.groups tfoot").inner_text().split("\t") == [
        "Total", f"{sum(n for _, n, _ in wanted):,}",
        f"{sum(cents for _, _, cents in wanted) / 100:,.2f}"]  # fmt: skip
    travel = next(row for row in wanted if row[0] == "Travel")
    page.get_by_role("link", name=re.compile(r"^Travel: ")).click()  # its bar in the chart
    page.wait_for_url(re.compile(r".*/tables/expenses\?.*category=Travel"))
    counted = page.locator("[data-summary]")
    counted.get_by_text(re.compile(r"expenses match")).wait_for()
    assert f"{travel[1]:,} expenses match" in counted.inner_text()
    assert f"{travel[2] / 100:,.2f}" in counted.inner_text()
    assert page.locator("tbody tr").count() == min(travel[1], 50)


# -- reports, dashboards and live updates ----------------------------------------------------


def sql_totals(live_server, where: str = "1", params=()) -> tuple[int, int]:
    with Storage(live_server.database).open() as db:
        count, cents = db.execute(f"SELECT count(*), sum(amount) FROM expenses WHERE {where}",
                                  list(params)).fetchone()  # fmt: skip
    return count, cents or 0


def test_a_declared_reports_this_year_preset_shows_sqls_totals_and_a_chart(page, live_server):
    page.goto(f"{live_server.url}reports/category-totals")
    page.get_by_label("Period").select_option(label="This year")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*period=this-year"))
    page.locator("table.groups tfoot").wait_for()
    year = dt.date.today().year
    count, cents = sql_totals(live_server, "date BETWEEN ? AND ?",
                              (f"{year}-01-01", f"{year}-12-31"))  # fmt: skip
    foot = page.locator("table.groups tfoot").inner_text().split("\t")
    assert foot[:3] == ["Total", f"{cents / 100:,.2f}", f"{count:,}"]
    with Storage(live_server.database).open() as db:
        categories = db.execute("SELECT count(DISTINCT category) FROM expenses WHERE date "
                                "LIKE ?", [f"{year}-%"]).fetchone()[0]  # fmt: skip
    assert page.locator("svg.chart rect").count() == categories
    assert page.get_by_text(f"Period: This year: {year}-01-01 to {year}-12-31").is_visible()


def test_a_reports_bar_opens_the_table_with_its_rows_count_and_total(page, live_server):
    page.goto(f"{live_server.url}reports/category-totals?period=last-year")
    page.locator("table.groups tbody tr").first.wait_for()
    row = page.locator("table.groups tbody tr", has_text="Meals").inner_text().split("\t")
    page.get_by_role("link", name=re.compile(r"^Meals: ")).click()  # the bar
    page.wait_for_url(re.compile(r".*/tables/expenses\?.*category=Meals"))
    counted = page.locator("[data-summary]")
    counted.get_by_text(re.compile(r"expenses match")).wait_for()
    last_year = dt.date.today().year - 1
    count, cents = sql_totals(live_server, "category = 'Meals' AND date LIKE ?",
                              (f"{last_year}-%",))  # fmt: skip
    assert row[1:3] == [f"{cents / 100:,.2f}", f"{count:,}"]
    assert f"{count:,} expenses match" in counted.inner_text()
    assert f"{cents / 100:,.2f}" in counted.inner_text()


def test_printing_a_report_drops_the_navigation_and_keeps_its_chart(page, live_server):
    page.goto(f"{live_server.url}reports/monthly-by-category")
    page.locator("svg.chart").wait_for()
    assert page.locator("header.bar nav").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    assert not page.locator("form.params").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.locator("svg.chart").is_visible() and page.locator(".legend").is_visible()
    assert page.get_by_role("heading", level=1).is_visible()
    printed = page.locator(".printed").inner_text()
    assert "Period: All time" in printed and "Generated " in printed
    breaks = page.locator(".report-rows").evaluate("e => getComputedStyle(e).breakBefore")
    assert breaks == "page"  # the table starts a page of its own after the chart
    page.emulate_media(media="screen")


def headline(page, label: str) -> str:
    return page.locator(".headline", has_text=label).locator(".value").inner_text()


def test_a_new_expense_saved_in_one_page_updates_an_open_dashboard_without_a_reload(
    browser,
    live_server,
):
    context = browser.new_context()
    try:
        board = context.new_page()
        board.goto(live_server.first_url)
        board.locator(".headline").first.wait_for()
        before = int(headline(board, "Expenses").replace(",", ""))
        board.evaluate("window.keptAcrossUpdates = 'yes'")
        chart_link = board.get_by_role("link", name="Category totals", exact=True).first
        chart_link.focus()
        form = context.new_page()
        form.goto(f"{live_server.url}forms/new-expense")
        form.get_by_label("Date").fill(dt.date.today().isoformat())
        fill_expense(form, "Seen on the dashboard at once", amount="10.00")
        started = dt.datetime.now()
        form.get_by_role("button", name="Save", exact=True).click()
        at_the_saved_row(form, live_server)
        board.locator(".headline", has_text="Expenses").locator(".value").get_by_text(
            f"{before + 1:,}", exact=True).wait_for(timeout=10_000)  # fmt: skip
        took = (dt.datetime.now() - started).total_seconds()
        assert board.evaluate("window.keptAcrossUpdates") == "yes"  # not reloaded
        assert int(headline(board, "Expenses").replace(",", "")) == before + 1
        focused = board.evaluate("document.activeElement.getAttribute('href')")
        assert focused == "/reports/category-totals"  # the keyboard's place is kept
        print(f"\nThe dashboard showed the expense {took * 1000:.0f} ms after Save was clicked")
    finally:
        context.close()


def test_fifty_open_report_pages_while_a_form_saves_all_show_the_save(browser, live_server):
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(live_server.first_url)
        streams_before = live_server.streams.count  # other tests' closed pages' may linger
        pages = [first] + [context.new_page() for _ in range(49)]
        for p in pages:
            p.goto(f"{live_server.url}reports/category-totals?period=this-month",
                   wait_until="domcontentloaded")  # fmt: skip
        for p in pages:
            p.locator("table.groups").wait_for()
        form = context.new_page()
        form.goto(f"{live_server.url}forms/new-expense")
        form.get_by_label("Date").fill(dt.date.today().isoformat())
        fill_expense(form, "Saved while fifty reports are open", amount="20.00")
        started = dt.datetime.now()
        form.get_by_role("button", name="Save", exact=True).click()
        at_the_saved_row(form, live_server)
        saved_in = (dt.datetime.now() - started).total_seconds()
        for p in pages:  # the page's parts were put in place again (deskwork.js counts it)
            p.locator("body[data-live-refreshed]").wait_for(state="attached", timeout=30_000)
        count, cents = sql_totals(live_server, "date BETWEEN ? AND ?",
                                  (dt.date.today().replace(day=1).isoformat(),
                                   dt.date.today().isoformat()))  # fmt: skip
        for p in (pages[0], pages[-1]):
            assert p.locator("table.groups tfoot").inner_text().split("\t")[:3] == [
                "Total", f"{cents / 100:,.2f}", f"{count:,}"]  # fmt: skip
        # Far fewer streams than pages: the 50 share the browser's one (a page that went
        # elsewhere keeps its old stream on the server until the next write fails it).
        assert live_server.streams.count - streams_before < 10
        print(f"\nWith 50 report pages open the form saved in {saved_in * 1000:.0f} ms")
    finally:
        context.close()
