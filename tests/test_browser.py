"""End to end in a real browser: Debian's chromium driven by Playwright against a live server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from webapp import Storage

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.first_url)
    yield page
    context.close()


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
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(f"{live_server.url}tables/expenses")
    assert page.get_by_role("status").inner_text().startswith("Saved expense #")
    page.get_by_label("Search").fill("Playwright conference")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tbody tr")
    assert row.count() == 1
    assert row.inner_text().split("\t") == [
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
    page.get_by_role("button", name="Save").click()
    assert page.locator("#f-amount-error").inner_text().startswith("Amount must be an amount")
    assert page.get_by_label("Amount").input_value() == "12.345"
    assert page.get_by_label("Note").input_value() == "keep this text"
    assert page.get_by_label("Date").input_value() == dt.date.today().isoformat()


def test_the_report_draws_a_bar_per_category_with_a_total(page):
    page.get_by_role("link", name="Spending by category", exact=True).click()
    bars = page.locator("svg.chart rect")
    rows = page.locator("tbody tr")
    assert bars.count() == rows.count() == 7
    assert page.locator("tfoot").inner_text().startswith("Total")
