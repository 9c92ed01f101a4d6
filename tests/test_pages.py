"""Pages through Flask's test client, on the tests' own tool: forms save, tables list, reports
add up. And the demo's own sample data, made on its first run."""

from __future__ import annotations

import datetime as dt
import html
import re
import typing

from conftest import add_employee, expense_form, rows, text
from deskwork.db.storage import Storage
from deskwork.demo import tool as demo_tool
from deskwork.model import Page
from deskwork.views import ENDPOINTS
from fixture_tool import tool


def test_home_page_shows_the_title_and_every_page(client):
    page = text(client.get("/"))
    assert "<title>Expenses</title>" in page
    assert "<h1>Expenses</h1>" in page
    for title in ("New expense", "Expenses", "Spending by category"):
        assert title in page


def test_every_kind_of_page_is_served_at_an_endpoint_the_views_name(client):
    kinds = {page_class.kind for page_class in typing.get_args(Page)}
    assert set(ENDPOINTS) == kinds
    for endpoint in ENDPOINTS.values():
        assert endpoint in client.application.view_functions


def test_new_expense_form_labels_are_the_field_names_capitalised(client):
    page = text(client.get("/forms/new-expense"))
    for name in ("date", "amount", "category", "employee", "note"):
        assert f'<label for="f-{name}">{name.capitalize()}' in page
    assert 'name="date" type="date" value="' + dt.date.today().isoformat() + '"' in page


def test_a_good_expense_is_saved_once_and_redirects(client):
    add_employee(client)
    response = client.submit("/forms/new-expense", expense_form())
    assert response.status_code == 303
    assert response.headers["Location"] == "/tables/expenses?at=1"  # the saved row shown
    saved = rows(client)
    assert len(saved) == 1
    assert saved[0]["amount"] == 123456  # exact cents
    assert saved[0]["date"] == "2026-03-04"
    listing = text(client.get("/tables/expenses?at=1"))
    assert "Saved expense #1." in listing
    assert 'class="saved" aria-current="true"' in listing
    assert "1,234.56" in listing and "Ann Okafor" in listing and "Train to Leeds" in listing


def test_a_bad_expense_shows_errors_beside_fields_keeps_input_and_saves_nothing(client):
    add_employee(client)
    form = expense_form(amount="12.345", date="", category="Yachts", note="keep me")
    response = client.submit("/forms/new-expense", form)
    assert response.status_code == 400
    page = text(response)
    assert 'id="f-amount-error">Amount must be an amount with at most two decimals' in page
    assert 'id="f-date-error">Date is required.' in page
    assert 'id="f-category-error">Category must be one of' in page
    assert 'value="12.345"' in page and 'value="keep me"' in page
    assert rows(client) == []


def test_an_expense_for_a_missing_employee_is_refused(client):
    response = client.submit("/forms/new-expense", expense_form(employee="99"))
    assert response.status_code == 400
    assert "That employee no longer exists" in text(response)
    assert rows(client) == []


def test_the_expenses_table_is_newest_first_fifty_a_page(seeded_client):
    page = text(seeded_client.get("/tables/expenses"))
    dates = re.findall(r"<td><a href=\"/forms/new-expense/\d+\">(\d{4}-\d\d-\d\d)</a></td>", page)
    assert len(dates) == 50
    assert dates == sorted(dates, reverse=True)
    assert "Rows 1–50" in page
    after = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    second = text(seeded_client.get(after))
    later = re.findall(r">(\d{4}-\d\d-\d\d)</a></td>", second)
    assert len(later) == 50 and later[0] <= dates[-1]
    assert "Rows 1–50" not in second


def test_searching_expenses_finds_only_matching_rows(seeded_client):
    page = text(seeded_client.get("/tables/expenses?q=taxi"))
    notes = re.findall(r"<td>([^<]*(?:Taxi|taxi)[^<]*)</td>", page)
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert notes and body.count("<tr ") == len(notes)
    nothing = text(seeded_client.get('/tables/expenses?q="no such words"'))
    assert "Nothing matches" in nothing


def test_search_syntax_never_breaks_the_page(seeded_client):
    for q in ['"', "AND OR", "*", "NEAR(", "a'b"]:
        assert seeded_client.get("/tables/expenses", query_string={"q": q}).status_code == 200


def test_spending_report_totals_match_the_rows_exactly(seeded_client):
    start, end = "2025-01-01", "2025-12-31"
    page = text(seeded_client.get(f"/reports/spending-by-category?start={start}&end={end}"))
    with seeded_client.application.extensions["deskwork.storage"].open() as db:
        expected = {
            r["category"]: r["total"]
            for r in db.query(
                "select category, sum(amount) total from expenses "
                "where date between ? and ? group by category",
                [start, end],
            )
        }
    for category, cents in expected.items():
        assert f'<td>{category}</td><td class="num">{cents / 100:,.2f}</td>' in page
    assert f"{sum(expected.values()) / 100:,.2f}" in page.split("<tfoot>")[1]
    assert page.count("<rect ") == len(expected)  # one bar a category


def test_a_report_with_a_bad_date_says_so(seeded_client):
    response = seeded_client.get("/reports/spending-by-category?start=yesterday")
    assert response.status_code == 400
    assert "From must be a date" in text(response)


def test_unknown_pages_are_404(client):
    assert client.get("/forms/nope").status_code == 404
    assert client.get("/tables/new-expense").status_code == 404


def test_first_run_creates_fifty_employees_and_ten_thousand_expenses(tmp_path):
    database = tmp_path / "demo.sqlite3"
    Storage(database).prepare(demo_tool)  # as the demo's first run does
    with Storage(database).open() as db:
        assert db.table("employees").count == 50
        assert db.table("expenses").count == 10_000
        oldest = db.execute("select min(date) from expenses").fetchone()[0]
    assert oldest >= (dt.date.today() - dt.timedelta(days=3 * 365)).isoformat()


def test_sample_data_is_only_added_to_a_new_database(tmp_path):
    storage = Storage(tmp_path / "x.sqlite3")
    assert storage.prepare(demo_tool) is True
    assert storage.prepare(demo_tool) is False
    with storage.open() as db:
        assert db.table("expenses").count == 10_000


def test_money_is_shown_as_the_users_country_writes_it(tmp_path):
    from deskwork.testing import tool_client

    client = tool_client(tool, tmp_path / "de.sqlite3", locale="de_DE")
    add_employee(client)
    response = client.submit("/forms/new-expense", expense_form(amount="1.234,56"))
    assert response.status_code == 303
    assert rows(client)[0]["amount"] == 123456
    assert '<td class="num">1.234,56</td>' in text(client.get("/tables/expenses"))


def test_a_requests_number_format_ends_with_the_request(tmp_path):
    from deskwork import locales
    from deskwork.testing import tool_client

    tool_client(tool, tmp_path / "de.sqlite3", locale="de_DE").get("/tables/expenses")
    assert locales.current() == locales.DEFAULT


def test_on_linux_pages_name_the_desktops_own_font(client):
    # WebKitGTK asks fontconfig for each family it lacks (about 25 ms each at first
    # paint): on Linux the stylesheet names only the generic sans-serif.
    import sys

    page = client.get("/").text
    expected = "linux" if sys.platform.startswith("linux") else ""
    assert f'<html lang="en" class="{expected}">' in page
    response = client.get("/static/deskwork.css")
    css = response.get_data(as_text=True)
    response.close()
    assert ":root.linux { font-family: sans-serif; }" in css
