"""Table pages and forms as staff work in them: a row opens its record, the navigation
says where one is, a Delete that can't happen says so before the click, "Save and add
another" (issue 13, first part)."""

from __future__ import annotations

import re

import pytest

from conftest import add_employee, expense_form, hidden, rows, text


@pytest.fixture
def client(client):
    add_employee(client)
    return client


def current_nav(page: str) -> list[str]:
    return re.findall(r'<a href="[^"]+"\s+aria-current="page">([^<]+)</a>', page)


def test_every_row_opens_its_record_and_number_headers_line_up_with_numbers(client):
    for note in ("First", "Second"):
        client.submit("/forms/new-expense", expense_form(note=note))
    page = text(client.get("/tables/expenses"))
    assert '<table class="rows open-rows">' in page
    hrefs = re.findall(r'<tr data-href="(/forms/new-expense/\d+)" tabindex="(-?\d)">', page)
    assert [tabindex for _, tabindex in hrefs] == ["0", "-1"]  # one stop for the Tab key
    assert {href for href, _ in hrefs} == {f"/forms/new-expense/{r['id']}" for r in rows(client)}
    assert re.search(r'<th scope="col" class="num"><a [^>]*>Amount</a></th>', page)


def test_the_navigation_marks_the_family_of_the_page(client):
    assert current_nav(text(client.get("/forms/new-expense"))) == ["New expense"]
    record_id = rows(client, "employees")[0]["id"]
    client.submit("/forms/new-expense", expense_form())
    expense = rows(client)[0]["id"]
    for path in (f"/forms/new-expense/{expense}", f"/forms/new-expense/{expense}/history",
                 f"/forms/new-expense/{expense}/delete", "/tables/expenses/deleted"):  # fmt: skip
        assert current_nav(text(client.get(path))) == ["Expenses"], path
    assert current_nav(text(client.get(f"/forms/new-employee/{record_id}"))) == ["Employees"]


def test_a_delete_that_cannot_happen_says_why_before_the_click(client):
    client.submit("/forms/new-expense", expense_form())
    page = text(client.get("/forms/new-employee/1"))
    assert '<button type="button" class="danger" disabled aria-describedby="why-not">' in page
    assert "This employee can&#39;t be deleted: 1 expense refers to it." in page
    assert 'href="/forms/new-employee/1/delete"' not in page
    free = add_employee(client, "Nobody's Boss")
    assert f'href="/forms/new-employee/{free}/delete">Delete…</a>' in text(
        client.get(f"/forms/new-employee/{free}")
    )


def test_save_and_add_another_keeps_the_date_for_the_next_record(client):
    form = expense_form(date="2026-02-03", note="First of the pile")
    saved = client.submit("/forms/new-expense", {**form, "_then": "another"})
    assert saved.status_code == 303
    assert saved.location == "/forms/new-expense?date=2026-02-03"
    page = text(client.get(saved.location))
    assert '<input id="f-date" name="date" type="date" value="2026-02-03"' in page
    assert "Saved expense #" in page  # the message, on the next form
    assert 'value="First of the pile"' not in page  # only the date is kept
    assert [r["note"] for r in rows(client)] == ["First of the pile"]
    # A date that is not good any more is not kept (the form's default instead).
    assert 'value="9999-99-99"' not in text(client.get("/forms/new-expense?date=9999-99-99"))
    plain = client.submit("/forms/new-expense", expense_form(note="Just one"))
    assert plain.location.startswith("/tables/expenses?at=")  # plain Save: to the table
    assert hidden(text(client.get("/forms/new-expense")), "_once")
