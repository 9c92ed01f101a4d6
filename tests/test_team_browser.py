"""A served tool in a real browser: Debian's chromium, driven by Playwright, against
``deskwork serve`` in its own process (gunicorn, two workers): log-in, roles, refusals,
log-out."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from team_driving import ServedTool

pytestmark = pytest.mark.browser

GOOD = "correct horse battery"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, seeded_database: Path):
    folder = tmp_path_factory.mktemp("served")
    database = folder / "team.sqlite3"
    shutil.copyfile(seeded_database, database)
    server = ServedTool(database, folder, workers=2)
    for name, role in {"vic": "viewer", "ana": "editor", "ada": "admin"}.items():
        done = server.users("add", name, "--role", role, password=GOOD)
        assert done.returncode == 0, done.stderr
    yield server
    server.stop()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(base_url=f"http://127.0.0.1:{served.port}")
    page = context.new_page()
    yield page
    context.close()


def log_in(page, name: str, password: str = GOOD) -> None:
    page.goto("/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def fill_in_an_expense(page, date: str, amount: str, note: str) -> None:
    """Type a Training expense of Chloé Okafor's into the open "New expense" form."""
    page.get_by_label("Date").fill(date)
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Category").select_option("Training")
    page.get_by_label("Employee").fill("chloé")
    page.get_by_role("option", name="Chloé Okafor").click()
    page.get_by_label("Note").fill(note)


def count(served: ServedTool) -> int:
    with sqlite3.connect(served.database) as conn:
        return int(conn.execute("SELECT count(*) FROM expenses").fetchone()[0])


def test_a_wrong_password_is_said_and_the_right_one_opens_the_page_asked_for(page, served):
    page.goto("/tables/expenses?sort=amount")
    assert page.get_by_role("heading", level=1).inner_text() == "Log in to Expenses"
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill("not the right one")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "The name or the password is wrong."
    assert page.get_by_label("Name").input_value() == "ana"  # kept; the password is not
    assert page.get_by_label("Password").input_value() == ""
    page.get_by_label("Password").fill(GOOD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/tables/expenses\?sort=amount$"))
    assert page.get_by_text("ana (editor)").is_visible()


def test_a_viewers_save_is_refused_and_nothing_changes(page, served):
    log_in(page, "vic")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="New expense").click()
    assert "you can look, search, summarise and export" in page.get_by_role("note").inner_text()
    before = count(served)
    page.get_by_label("Date").fill("2026-11-20")
    page.get_by_label("Amount").fill("12.50")
    page.get_by_label("Category").select_option("Training")
    page.get_by_label("Note").fill("A viewer tries")
    page.get_by_role("button", name="Save", exact=True).click()
    # (sent once the server answers its health page: deskwork.js)
    page.get_by_role("heading", level=1, name="Not allowed").wait_for()
    assert "only an editor or an admin may change anything" in page.locator("main").inner_text()
    assert count(served) == before


def test_an_editor_saves_but_may_not_import_and_the_history_names_them(page, served):
    log_in(page, "ana")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="New expense").click()
    fill_in_an_expense(page, "2026-11-21", "99.00", "Saved by ana in a browser")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/tables/expenses\?at=(\d+)$"))
    row_id = int(page.url.rsplit("=", 1)[1])
    page.goto(f"/forms/new-expense/{row_id}/history")
    assert page.locator("tbody tr").first.locator("td").nth(1).inner_text() == "ana"
    page.goto("/tables/expenses/import")
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "only an admin may import" in page.locator("main").inner_text()


def test_log_out_ends_the_session_in_the_browser(page, served):
    log_in(page, "ada")
    page.get_by_role("link", name="Audit").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Audit"
    assert page.locator("td", has_text="failed log-in").count() >= 1
    page.get_by_role("button", name="Log out", exact=True).click()
    assert page.get_by_role("status").inner_text() == "You are logged out."
    page.goto("/tables/expenses")
    assert page.get_by_role("heading", level=1).inner_text() == "Log in to Expenses"


def test_a_form_sent_while_the_server_is_away_keeps_what_was_typed_and_saves_when_back(
    browser, tmp_path, seeded_database
):
    database = tmp_path / "away.sqlite3"
    shutil.copyfile(seeded_database, database)
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(database, data, workers=1)
    context = browser.new_context(base_url=f"http://127.0.0.1:{server.port}")
    try:
        assert server.users("add", "ana", "--role", "editor", password=GOOD).returncode == 0
        page = context.new_page()
        log_in(page, "ana")
        page.goto("/forms/new-expense")
        fill_in_an_expense(page, "2026-11-22", "45.60", "Typed while the server restarted")
        server.pause()  # the server's processes stop; its address stays
        page.get_by_role("button", name="Save", exact=True).click()
        held = page.get_by_role("alert")
        held.wait_for(timeout=20_000)
        assert held.inner_text().startswith("The server can't be reached: what you typed is kept")
        assert page.get_by_label("Note").input_value() == "Typed while the server restarted"
        server.resume()
        page.wait_for_url(re.compile(r"/tables/expenses\?at=\d+$"), timeout=60_000)
        assert page.get_by_role("status").inner_text().startswith("Saved expense #")
    finally:
        context.close()
        server.stop()
    with sqlite3.connect(database) as conn:
        assert conn.execute(
            "SELECT count(*) FROM expenses WHERE note = 'Typed while the server restarted'"
        ).fetchone() == (1,)


def test_an_editor_may_not_restore_and_an_admin_restores_a_backup_of_the_server(page, served):
    log_in(page, "ana")
    assert page.get_by_role("link", name="Backups").count() == 0
    page.goto("/backups")
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "only an admin may back up or restore" in page.locator("main").inner_text()
    page.get_by_role("button", name="Log out", exact=True).click()
    assert page.get_by_role("status").inner_text() == "You are logged out."  # loaded first
    log_in(page, "ada")
    page.get_by_role("link", name="Backups").click()
    page.get_by_role("button", name="Back up now").click()
    assert page.get_by_role("status").inner_text().startswith("Backed up: team_")
    before = count(served)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="New expense").click()
    fill_in_an_expense(page, "2026-11-22", "41.00", "Saved after the backup")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/tables/expenses\?at=(\d+)$"))
    assert count(served) == before + 1
    page.get_by_role("link", name="Backups").click()
    newest = page.locator("tbody tr").first
    assert newest.locator("td").nth(1).inner_text() == "backed up by hand"
    newest.get_by_role("link", name=re.compile("^Restore")).click()
    assert "stay as they are now" in page.locator("main").inner_text()
    page.get_by_role("button", name="Restore", exact=True).click()
    assert page.get_by_role("status").inner_text().startswith("Restored from team_")
    assert count(served) == before  # the expense saved after the backup is gone
    page.get_by_role("link", name="Audit").click()  # still logged in: sessions were kept
    assert page.locator("tbody tr").first.locator("td").nth(1).inner_text() == "restore"
