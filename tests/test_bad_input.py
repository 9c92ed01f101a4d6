"""Bad input never loses what was typed and never reaches a 500: searches holding FTS5
syntax or control characters, fields far over their length, control characters in text,
unique email addresses in other capitals, far-off dates, digits of other scripts, numbers
too large for SQLite. Each found by fuzzing through the real server; here through the test
client, and the long field once more through the real server."""

from __future__ import annotations

import http.cookiejar
import io
import re
import sqlite3
import urllib.error
import urllib.request

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from conftest import add_employee, expense_form, rows, text
from deskwork.app import MAX_REQUEST_SIZE
from deskwork.db.storage import Storage
from deskwork.errors import ToolError
from deskwork.fields import Email, LongText, Text, Url
from deskwork.testing import tool_client
from fixture_tool import tool


def once(client, slug="new-expense"):
    found = re.search(r'name="_once" value="([^"]*)"', text(client.get(f"/forms/{slug}")))
    assert found, "no one-time token in the form"
    return found[1]


def multipart(client, url, fields):
    """POST ``fields`` as a browser does. Encoded here, in memory: the test client would
    spool a body over 500 KB to a temporary file it never closes."""
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def post(client, slug="new-expense", **fields):
    """Send a form as a browser does (multipart, with its one-time token)."""
    return multipart(client, f"/forms/{slug}", {**fields, "_once": once(client, slug)})


def error_of(page, name):
    found = re.search(rf'id="f-{name}-error">([^<]*)<', page)
    return found[1] if found else None


@pytest.fixture
def client(client):
    add_employee(client, email="ada@example.com", staff_number=1001)
    return client


# -- searches ---------------------------------------------------------------------------------

SEARCHES = ["\x00", "a\x00b", "Tr\x00ain", '"', '""', "NEAR(a b)", "AND OR NOT", "*", "^x",
            "a:b", "(", "\x1b[31m", "-", "\u200b", "x" * 100_000]  # fmt: skip


@pytest.mark.parametrize("q", SEARCHES)
def test_a_table_search_is_words_never_syntax_and_never_an_error(seeded_client, q):
    for table in ("expenses", "employees"):
        response = seeded_client.get(f"/tables/{table}", query_string={"q": q})
        assert response.status_code == 200, (table, q)


def test_control_characters_are_dropped_from_a_search(seeded_client):
    found = text(seeded_client.get("/tables/expenses", query_string={"q": "Tr\x00ain"}))
    assert "Train to client" in found


@pytest.mark.parametrize("q", SEARCHES)
def test_a_lookup_search_is_never_an_error(seeded_client, q):
    response = seeded_client.get("/lookups/employees/name", query_string={"q": q})
    assert response.status_code == 200, q
    assert isinstance(response.get_json(), list)


def test_control_characters_are_dropped_from_a_lookup_search(seeded_client):
    found = seeded_client.get("/lookups/employees/name", query_string={"q": "Ok\x00afor"})
    assert "Ada Okafor" in [r["label"] for r in found.get_json()]


@pytest.mark.parametrize(
    "query",
    ["offset=abc", "offset=-5", f"offset={'9' * 400}", "offset=1e9", f"q={'%22' * 5000}",
     f"junk={'x' * 50_000}"],
)  # fmt: skip
def test_garbage_in_a_table_address_shows_the_table(seeded_client, query):
    assert seeded_client.get(f"/tables/expenses?{query}").status_code == 200


# -- lengths and the size of a request --------------------------------------------------------


def test_every_text_field_kind_has_a_maximum_length():
    for kind in (Text, LongText, Email, Url):
        assert 0 < kind().max_length <= 10_000, kind


def test_a_field_far_over_its_length_comes_back_too_long_with_everything_kept(client):
    response = post(
        client, **expense_form(note="x" * 600_000, details="Return ticket\nwith a seat")
    )
    assert response.status_code == 400
    page = text(response)
    assert error_of(page, "note") == "Note is too long: at most 500 characters (it has 600,000)."
    assert 'value="1,234.56"' in page
    assert '<option value="Travel" selected>' in page
    assert "Return ticket\nwith a seat</textarea>" in page
    assert "x" * 600_000 in page  # the long text too: cut it down, nothing retyped
    assert rows(client) == []


def test_a_long_text_over_its_length_is_too_long_too(client):
    response = post(client, **expense_form(details="y" * 700_000))
    assert response.status_code == 400
    assert "too long" in error_of(text(response), "details")
    assert rows(client) == []


def test_a_text_field_may_be_as_long_as_the_request(client):
    app = client.application
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_FORM_MEMORY_SIZE"]
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_REQUEST_SIZE == 64 * 1024 * 1024


def test_a_request_over_the_limit_gets_a_page_saying_what_to_do(tmp_path):
    small = tool_client(tool, tmp_path / "small.sqlite3", MAX_CONTENT_LENGTH=100_000)
    add_employee(small)
    receipt = FileStorage(io.BytesIO(b"%" * 200_000), "r.pdf", content_type="application/pdf")
    data = {**expense_form(), "_once": once(small), "receipt": receipt}
    response = multipart(small, "/forms/new-expense", data)
    assert response.status_code == 413
    page = text(response)
    assert "<h1>Too large</h1>" in page
    assert "larger than this tool takes: at most 97.7 KB in all" in page
    assert "attach a smaller file" in page
    assert rows(small) == []


# -- control characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "note", ["a\x00b", "\x1b[31mred", "bell\x07", "tab\tand\nnew line", "c1\x85x"]
)
def test_control_characters_in_a_line_of_text_are_refused(client, note):
    response = post(client, **expense_form(note=note))
    assert response.status_code == 400
    assert "invisible control character (U+" in error_of(text(response), "note")
    assert rows(client) == []


def test_a_nul_in_an_email_address_is_refused(client):
    response = post(client, "new-employee", name="Bo", email="bo\x00@example.com")
    assert response.status_code == 400
    assert error_of(text(response), "email") == (
        "Email holds an invisible control character (U+0000) at character 3: "
        "delete it and type that part again."
    )
    assert len(rows(client, "employees")) == 1


def test_several_lines_keep_their_tabs_and_line_breaks(client):
    response = post(client, **expense_form(details="one\r\ntwo\tthree"))
    assert response.status_code == 303
    assert rows(client)[0]["details"] == "one\r\ntwo\tthree"


def test_a_nul_typed_into_a_lookup_is_asked_to_be_chosen(client):
    response = post(client, **expense_form(employee="", employee__text="Ann\x00"))
    assert response.status_code == 400
    assert "from the list" in error_of(text(response), "employee")


def test_a_web_address_with_an_impossible_port_is_refused(client):
    response = post(client, **expense_form(booking_link="https://example.com:99999999/"))
    assert response.status_code == 400
    assert "must be a web address" in error_of(text(response), "booking_link")


# -- unique email addresses in other capitals -------------------------------------------------


def test_email_compares_without_case_and_other_fields_exactly():
    assert Email().collate == "NOCASE"
    assert Text().collate is None
    assert Text(collate="nocase").collate == "NOCASE"
    with pytest.raises(ToolError, match="not one of SQLite's collations"):
        Text(collate="de_DE")


def test_an_email_address_taken_in_other_capitals_is_refused(client):
    response = post(client, "new-employee", name="Ada Again", email="ADA@Example.COM")
    assert response.status_code == 400
    assert "is already taken by employee #1" in error_of(text(response), "email")
    assert len(rows(client, "employees")) == 1


def test_the_unique_index_on_an_email_address_ignores_case(client):
    storage = client.application.extensions["deskwork.storage"]
    with storage.open() as db, pytest.raises(sqlite3.IntegrityError), db.conn:
        db.conn.execute("INSERT INTO employees (name, email) VALUES ('Ada', 'Ada@EXAMPLE.com')")


# -- dates and digits -------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31"])
def test_a_date_before_1900_is_refused_unless_the_tool_allows_it(client, day):
    response = post(client, **expense_form(date=day))
    assert response.status_code == 400
    assert error_of(text(response), "date") == "Date must be at least 1900-01-01. Check the year."
    assert rows(client) == []


def test_a_date_and_time_after_2200_is_refused(client):
    response = post(client, **expense_form(submitted_at="9999-12-31T23:59"))
    assert response.status_code == 400
    assert "at most 2200-12-31 23:59. Check the year." in error_of(text(response), "submitted_at")


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("١٢٣٫٤٥", 12345), ("１，２３４．５６", 123456), ("१२३", 12300), ("1٢3", 12300),
     ("￥１２", 1200), ("\u2212" + "5", None), ("²", None), ("١٢³", None)],
)  # fmt: skip
def test_digits_of_any_script_are_read_as_the_number_they_are(client, typed, cents):
    response = post(client, **expense_form(amount=typed))
    if cents is None:  # a negative amount (below the minimum), a superscript: refused
        assert response.status_code == 400
        assert rows(client) == []
    else:
        assert response.status_code == 303, error_of(text(response), "amount")
        assert rows(client)[0]["amount"] == cents


def test_a_date_in_other_digits_is_stored_in_ascii_ones(client):
    response = post(client, **expense_form(date="٢٠٢٦-٠١-٣١"))
    assert response.status_code == 303
    assert rows(client)[0]["date"] == "2026-01-31"


@pytest.mark.parametrize(
    ("field", "typed"),
    [("staff_number", "9" * 19), ("staff_number", "9" * 400), ("staff_number", "-" + "9" * 30),
     ("staff_number", "9223372036854775808"), ("staff_number", "1" + "0" * 18)],
)  # fmt: skip
def test_a_whole_number_too_large_for_sqlite_is_refused_not_an_error(client, field, typed):
    response = post(client, "new-employee", name="Bo", **{field: typed})
    assert response.status_code == 400
    assert error_of(text(response), field)
    assert len(rows(client, "employees")) == 1


@pytest.mark.parametrize("amount", ["9" * 19, "9" * 5000, "99999999999999999.99", "1e400"])
def test_an_amount_too_large_for_sqlite_is_refused_not_an_error(client, amount):
    response = post(client, **expense_form(amount=amount))
    assert response.status_code == 400
    assert error_of(text(response), "amount")


def test_report_and_function_parameters_out_of_range_are_refused_not_errors(client):
    report = client.get("/reports/spending-by-category?start=0001-01-01&end=%00")
    assert report.status_code == 400
    assert "Check the year." in text(report)
    estimate = client.get(
        f"/functions/reimbursement-estimate?_run=1&distance={'9' * 500}&nights={'9' * 30}"
    )
    assert estimate.status_code == 400


# -- through the real server ------------------------------------------------------------------


def test_a_600_kb_note_comes_back_too_long_through_the_real_server(live_server):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    opener.open(live_server.first_url, timeout=10).read()  # the secret becomes a cookie
    form_url = f"{live_server.url}forms/new-expense"
    page = opener.open(form_url, timeout=10).read().decode()
    token = re.search(r'name="_once" value="([^"]*)"', page)[1]
    with Storage(live_server.database).open() as db:
        before = db.table("expenses").count
    fields = {**expense_form(note="n" * 600_000, details="Kept\nas typed"), "_once": token}
    boundary, body = encode_multipart(fields)
    request = urllib.request.Request(
        form_url,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=30)
    assert refused.value.code == 400
    page = refused.value.read().decode()
    assert error_of(page, "note") == "Note is too long: at most 500 characters (it has 600,000)."
    assert 'value="1,234.56"' in page and "Kept\nas typed</textarea>" in page
    with Storage(live_server.database).open() as db:
        assert db.table("expenses").count == before
    print(f"real server: a {len(body):,}-byte form came back with its note too long")
