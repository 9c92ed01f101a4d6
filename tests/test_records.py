"""Every form action through Flask's test client: new, edit, duplicate, delete, undo,
conflicts, double submissions, lookups, unique values and attached files."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest

from conftest import add_employee, expense_form, hidden, rows, text
from deskwork import Choice, File, Integer, Lookup, Text, Tool, YesNo
from deskwork.db.storage import Storage
from deskwork.security import cookie_name
from deskwork.testing import TEST_PORT, TEST_SECRET, tool_client


def row(client, record_id, table="expenses"):
    with client.application.extensions["deskwork.storage"].open() as db:
        return db.table(table).get(record_id)


@pytest.fixture
def client(client):
    add_employee(client)
    return client


def create(client, **overrides):
    once = hidden(text(client.get("/forms/new-expense")), "_once")
    response = client.post("/forms/new-expense", data={**expense_form(**overrides), "_once": once})
    assert response.status_code == 303, text(response)
    return rows(client)[-1]["id"]


def edit_form(client, record_id):
    page = text(client.get(f"/forms/new-expense/{record_id}"))
    return hidden(page, "_version")


# -- new ---------------------------------------------------------------------------------------


def test_every_field_type_is_saved_as_typed(client):
    record_id = create(
        client,
        tags=["Urgent", "Billable"],
        paid_by_card="on",
        booking_link="trains.example.com/booking/42",
        details="Return ticket\nwith seat reservation",
        submitted_at="2026-03-04T09:15",
    )
    saved = row(client, record_id)
    assert saved["amount"] == 123456
    assert saved["tags"] == '["Billable", "Urgent"]'
    assert saved["paid_by_card"] == 1
    assert saved["booking_link"] == "https://trains.example.com/booking/42"
    assert saved["details"] == "Return ticket\nwith seat reservation"
    assert saved["submitted_at"] == "2026-03-04 09:15"
    assert saved["vat"] == 20576  # a sixth of 1,234.56, computed on saving


def test_the_same_form_sent_twice_saves_once(client):
    once = hidden(text(client.get("/forms/new-expense")), "_once")
    first = client.post("/forms/new-expense", data={**expense_form(), "_once": once})
    second = client.post("/forms/new-expense", data={**expense_form(), "_once": once})
    assert first.status_code == second.status_code == 303
    assert len(rows(client)) == 1
    assert "was already saved; it was not saved twice" in text(client.get(second.location))


def test_each_new_form_gets_its_own_token(client):
    tokens = {hidden(text(client.get("/forms/new-expense")), "_once") for _ in range(3)}
    assert len(tokens) == 3


def test_a_computed_field_cannot_be_set_from_the_form(client):
    record_id = create(client, vat="999999")
    assert row(client, record_id)["vat"] == 20576


def test_the_form_wide_rule_points_at_its_field(client):
    response = client.submit(
        "/forms/new-expense", expense_form(category="Hardware", amount="1,500.00")
    )
    assert response.status_code == 400
    assert 'id="f-receipt-error">Hardware over 1,000.00 needs a receipt' in text(response)
    assert rows(client) == []


def test_a_custom_rule_on_a_field_is_checked(client):
    response = client.submit("/forms/new-expense", expense_form(date="2199-01-01"))
    assert response.status_code == 400
    assert "Date can&#39;t be in the future" in text(response)


def test_every_error_shows_beside_its_field_and_the_input_stays(client):
    response = client.submit("/forms/new-expense", expense_form(
            amount="12.345", booking_link="not a link", tags=["Urgent"], paid_by_card="on",
            submitted_at="yesterday", details="keep these\nlines",
        ),
    )  # fmt: skip
    page = text(response)
    assert response.status_code == 400
    assert 'id="f-amount-error">Amount must be an amount with at most two decimals' in page
    assert 'id="f-booking_link-error">Booking link must be a web address' in page
    assert 'id="f-submitted_at-error">Submitted at must be a date and time' in page
    assert 'aria-invalid="true" aria-describedby="f-amount-error"' in page
    assert 'value="12.345"' in page and 'value="not a link"' in page
    assert 'value="Urgent" checked' in page and 'value="on" checked' in page
    assert ">keep these\nlines</textarea>" in page
    assert 'value="Ann Okafor"' in page  # the looked-up employee, by name
    assert rows(client) == []


# -- lookups -----------------------------------------------------------------------------------


def test_lookups_search_by_name_and_list_prefix_matches_first(client):
    add_employee(client, "Bob Annan")
    add_employee(client, "Zed Quist")
    found = client.get("/lookups/employees/name?q=ann").get_json()
    assert [r["label"] for r in found] == ["Ann Okafor", "Bob Annan"]
    assert client.get("/lookups/employees/name?q=%25").get_json() == []  # % is literal
    assert client.get("/lookups/employees/secret?q=a").status_code == 404
    assert client.get("/lookups/nope/name?q=a").status_code == 404


def test_a_lookup_typed_by_name_finds_its_row(client):
    record_id = create(client, employee="", employee__text="ann okafor")
    assert row(client, record_id)["employee"] == 1


def test_a_lookup_name_that_matches_nothing_or_several_asks_to_choose(client):
    response = client.submit("/forms/new-expense", expense_form(employee="", employee__text="Zoe"))
    assert "No employee is called “Zoe”: choose one from the list." in text(response)
    assert 'value="Zoe"' in text(response)
    add_employee(client, "Ann Okafor")
    response = client.submit(
        "/forms/new-expense", expense_form(employee="", employee__text="Ann Okafor")
    )
    assert "More than one employee is called “Ann Okafor”" in text(response)
    assert rows(client) == []


def test_a_lookup_to_a_missing_row_is_refused(client):
    response = client.submit("/forms/new-expense", expense_form(employee="99"))
    assert response.status_code == 400
    assert "That employee no longer exists" in text(response)


# -- edit, duplicate ---------------------------------------------------------------------------


def test_an_edit_saves_and_comes_back_to_the_record(client):
    record_id = create(client)
    version = edit_form(client, record_id)
    response = client.post(
        f"/forms/new-expense/{record_id}",
        data={**expense_form(amount="99.90"), "_version": version},
    )
    assert response.status_code == 303
    assert response.location == f"/forms/new-expense/{record_id}"
    assert row(client, record_id)["amount"] == 9990
    assert row(client, record_id)["vat"] == 1665  # computed again
    assert f"Saved changes to expense #{record_id}." in text(client.get(response.location))


def test_a_second_window_saving_an_old_version_is_told_and_shown_both(client):
    record_id = create(client)
    version = edit_form(client, record_id)  # both windows open the record
    first = client.post(
        f"/forms/new-expense/{record_id}",
        data={**expense_form(note="Changed in window one"), "_version": version},
    )
    assert first.status_code == 303
    second = client.post(
        f"/forms/new-expense/{record_id}",
        data={**expense_form(note="Changed in window two", amount="5"), "_version": version},
    )
    page = text(second)
    assert second.status_code == 409
    assert "Someone else saved this expense while you were editing it" in page
    assert (
        '<tr><th scope="row">Note</th><td>Changed in window one</td>'
        "<td>Changed in window two</td></tr>"
    ) in page
    assert '<tr><th scope="row">Amount</th><td>1,234.56</td><td>5.00</td></tr>' in page
    assert 'value="Changed in window two"' in page  # theirs is shown; mine stays in the form
    assert row(client, record_id)["note"] == "Changed in window one"  # nothing overwritten

    # "Save mine" sends the form again, now based on the version it was shown.
    again = client.post(
        f"/forms/new-expense/{record_id}",
        data={**expense_form(note="Changed in window two"), "_version": hidden(page, "_version")},
    )
    assert again.status_code == 303
    assert row(client, record_id)["note"] == "Changed in window two"


def test_saving_a_record_deleted_meanwhile_keeps_the_input_to_save_as_new(client):
    record_id = create(client)
    version = edit_form(client, record_id)
    client.post(f"/forms/new-expense/{record_id}/delete")
    response = client.post(
        f"/forms/new-expense/{record_id}",
        data={**expense_form(note="my late change"), "_version": version},
    )
    assert response.status_code == 404
    page = text(response)
    assert "was deleted while you were editing it" in page
    assert 'value="my late change"' in page and 'action="/forms/new-expense"' in page


def test_duplicate_opens_a_new_form_with_the_records_values(client):
    record_id = create(client, note="Monthly parking")
    page = text(client.get(f"/forms/new-expense?copy={record_id}"))
    assert f"New expense (a copy of #{record_id})" in page
    assert 'value="Monthly parking"' in page and 'action="/forms/new-expense"' in page
    copy_id = create(client, note="Monthly parking")
    assert copy_id != record_id


def test_pages_of_missing_records_say_so(client):
    assert client.get("/forms/new-expense/404").status_code == 404
    assert client.get("/forms/new-expense?copy=404").status_code == 404
    assert client.get("/forms/new-expense/404/delete").status_code == 404


# -- delete, undo ------------------------------------------------------------------------------


def test_delete_asks_first_then_can_be_undone_with_the_same_id(client):
    record_id = create(client, note="Delete me")
    confirm = text(client.get(f"/forms/new-expense/{record_id}/delete"))
    assert f"Delete expense #{record_id}?" in confirm and "Delete me" in confirm
    assert row(client, record_id)["note"] == "Delete me"  # asking deletes nothing

    deleted = client.post(f"/forms/new-expense/{record_id}/delete")
    assert deleted.status_code == 303 and deleted.location == "/tables/expenses"
    assert rows(client) == []
    listing = text(client.get(deleted.location))
    undo = re.search(r'action="(/undo/\d+)"', listing)
    assert undo and f"Deleted expense #{record_id}." in listing

    restored = client.post(undo[1])
    assert restored.location == f"/forms/new-expense/{record_id}"
    assert row(client, record_id)["note"] == "Delete me"
    assert client.post(undo[1]).status_code == 303  # a second undo changes nothing
    assert len(rows(client)) == 1


def test_a_deleted_records_id_is_never_given_to_a_new_one(client):
    record_id = create(client, note="Old one")
    client.post(f"/forms/new-expense/{record_id}/delete")
    undo = re.search(r'action="(/undo/\d+)"', text(client.get("/tables/expenses")))
    newer = create(client, note="New one")
    assert newer == record_id + 1  # SQLite alone would hand the freed id out again
    response = client.post(undo[1])
    assert response.location == f"/forms/new-expense/{record_id}"  # back with its own id
    assert sorted((r["id"], r["note"]) for r in rows(client)) == [
        (record_id, "Old one"), (newer, "New one")
    ]  # fmt: skip


def test_a_record_others_refer_to_is_not_deleted(client):
    create(client)
    response = client.post("/forms/new-employee/1/delete")
    assert response.status_code == 409
    assert "This employee can&#39;t be deleted: 1 expense refers to it." in text(response)
    assert len(rows(client, "employees")) == 1


# -- unique values -----------------------------------------------------------------------------


def test_unique_values_are_refused_with_the_record_that_holds_them(client):
    add_employee(client, "Bea", email="bea@example.com", staff_number=7)
    response = client.submit(
        "/forms/new-employee",
        {"name": "Other Bea", "email": "BEA@example.com", "staff_number": "7"},
    )
    assert response.status_code == 400
    assert "Staff number “7” is already taken by employee #2." in text(response)
    # An edit may keep its own value.
    version = hidden(text(client.get("/forms/new-employee/2")), "_version")
    response = client.post(
        "/forms/new-employee/2",
        data={"name": "Bea B", "email": "bea@example.com", "staff_number": "7",
              "_version": version},
    )  # fmt: skip
    assert response.status_code == 303


def test_the_database_refuses_duplicates_the_form_did_not_see(client):
    import sqlite3

    add_employee(client, "Bea", staff_number=7)
    with pytest.raises(sqlite3.IntegrityError):
        add_employee(client, "Cy", staff_number=7)


# -- files -------------------------------------------------------------------------------------


@pytest.fixture
def files_client(tmp_path):
    tool = Tool("Docs")
    docs = tool.table(
        "docs", title=Text(required=True), scan=File(max_size=2000, accept=[".pdf", ".txt"])
    )
    tool.form("New doc", docs)
    tool.table_page("Docs", docs, columns=["title", "scan"])
    return tool_client(tool, tmp_path / "docs.sqlite3")


def upload(data, name="scan.pdf"):
    return (io.BytesIO(data), name)


def test_an_attached_file_is_stored_with_its_record_and_downloads(files_client):
    response = files_client.submit(
        "/forms/new-doc", {"title": "Lease", "scan": upload(b"%PDF-1.4 lease", "../../x.pdf")}
    )
    assert response.status_code == 303
    saved = rows(files_client, "docs")[0]
    page = text(files_client.get(f"/forms/new-doc/{saved['id']}"))
    link = re.search(r'href="(/files/\d+/x.pdf)"', page)
    assert link, page  # the folders in the name are gone
    download = files_client.get(link[1])
    assert download.data == b"%PDF-1.4 lease"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    listing = text(files_client.get("/tables/docs"))
    assert f'<a href="{link[1]}" download>x.pdf</a>' in listing  # downloadable from the table


def test_a_file_survives_a_form_sent_back_with_errors(files_client):
    response = files_client.submit("/forms/new-doc", {"title": "", "scan": upload(b"abc")})
    assert response.status_code == 400
    kept = hidden(text(response), "scan__kept")
    assert "scan.pdf" in text(response)
    response = files_client.submit("/forms/new-doc", {"title": "Now", "scan__kept": kept})
    assert response.status_code == 303
    assert rows(files_client, "docs")[0]["scan"] == int(kept)


def test_files_too_large_or_of_the_wrong_kind_are_refused(files_client):
    big = files_client.submit("/forms/new-doc", {"title": "x", "scan": upload(b"x" * 2001)})
    assert "Scan is too large" in text(big)
    exe = files_client.submit("/forms/new-doc", {"title": "x", "scan": upload(b"MZ", "a.exe")})
    assert "Scan must be a .pdf or .txt file." in text(exe)
    assert rows(files_client, "docs") == []


def test_an_edit_keeps_replaces_or_removes_the_file(files_client):
    files_client.submit("/forms/new-doc", {"title": "A", "scan": upload(b"one")})
    version = hidden(text(files_client.get("/forms/new-doc/1")), "_version")
    files_client.post("/forms/new-doc/1", data={"title": "B", "_version": version})
    first = rows(files_client, "docs")[0]["scan"]
    assert first is not None  # kept
    version = hidden(text(files_client.get("/forms/new-doc/1")), "_version")
    files_client.post(
        "/forms/new-doc/1", data={"title": "B", "_version": version, "scan": upload(b"two")}
    )
    second = rows(files_client, "docs")[0]["scan"]
    assert second != first
    version = hidden(text(files_client.get("/forms/new-doc/1")), "_version")
    files_client.post(
        "/forms/new-doc/1",
        data={"title": "B", "_version": version, "scan__kept": str(second), "scan__remove": "1"},
    )
    assert rows(files_client, "docs")[0]["scan"] is None


# -- declaring ---------------------------------------------------------------------------------


def test_a_tool_in_a_few_lines_gets_every_action(tmp_path):
    tool = Tool("Stock")
    places = tool.table("places", name=Text(required=True, unique=True))
    items = tool.table("items", name=Text(required=True), count=Integer(min=0),
                       place=Lookup(places))  # fmt: skip
    tool.form("New item", items, after="items")
    tool.table_page("Items", items)
    client = tool_client(tool, tmp_path / "stock.sqlite3")
    with Storage(tmp_path / "stock.sqlite3").open() as db, db.conn:
        db.table("places").insert({"name": "Shelf A"})
    form = {"name": "Bolts", "count": "12", "place__text": "shelf a"}
    assert client.submit("/forms/new-item", form).status_code == 303
    listing = text(client.get("/tables/items"))
    assert '<a href="/forms/new-item/1">Bolts</a>' in listing and "Shelf A" in listing


def test_a_lookup_among_thousands_of_rows_sends_only_a_few(client):
    with client.application.extensions["deskwork.storage"].open() as db, db.conn:
        db.table("employees").insert_all({"name": f"Person {i:05d}"} for i in range(5000))
    form = client.get("/forms/new-expense").text
    assert "Person 0" not in form  # the form does not carry the whole table
    found = client.get("/lookups/employees/name?q=person 0123").get_json()
    assert [r["label"] for r in found] == [f"Person 0123{i}" for i in range(10)]
    assert len(client.get("/lookups/employees/name?q=person").get_json()) == 20


# -- sent twice, raced, tampered ---------------------------------------------------------------


def test_a_form_with_a_unique_value_sent_twice_says_saved_not_taken(client):
    once = hidden(text(client.get("/forms/new-employee")), "_once")
    form = {"name": "Dee", "email": "dee@example.com", "staff_number": "12", "_once": once}
    assert client.submit("/forms/new-employee", form).status_code == 303
    again = client.submit("/forms/new-employee", form)
    assert again.status_code == 303
    assert "was already saved; it was not saved twice" in text(client.get(again.location))
    assert len(rows(client, "employees")) == 2  # Ann, and Dee once


def test_an_edit_sent_twice_is_saved_once_and_is_no_conflict(client):
    record_id = create(client)
    form = {**expense_form(note="Twice"), "_version": edit_form(client, record_id)}
    assert client.post(f"/forms/new-expense/{record_id}", data=form).status_code == 303
    again = client.post(f"/forms/new-expense/{record_id}", data=form)
    assert again.status_code == 303
    assert row(client, record_id)["note"] == "Twice"


def test_a_name_made_of_digits_typed_in_a_lookup_is_a_name_not_an_id(client):
    named_one = add_employee(client, "1")
    record_id = create(client, employee="", employee__text="1")
    assert row(client, record_id)["employee"] == named_one != 1


def test_a_save_the_database_refuses_at_the_last_moment_keeps_the_input(client, monkeypatch):
    add_employee(client, "Bea", staff_number=7)
    # The check passes, then another window takes the number before the insert.
    monkeypatch.setattr("deskwork.db.records._check_unique", lambda *args: None)
    response = client.submit("/forms/new-employee", {"name": "Cy", "staff_number": "7"})
    assert response.status_code == 400
    assert "The employee was not saved: a value that must be unique is taken" in text(response)
    assert 'value="Cy"' in text(response)
    assert [r["name"] for r in rows(client, "employees")] == ["Ann Okafor", "Bea"]


def test_a_file_that_is_not_there_is_refused(files_client):
    for forged in ("999", "²", "-1"):
        response = files_client.submit("/forms/new-doc", {"title": "B", "scan__kept": forged})
        assert response.status_code == 400, forged
    assert rows(files_client, "docs") == []


def test_a_duplicated_record_shares_its_file(files_client):
    files_client.submit("/forms/new-doc", {"title": "A", "scan": upload(b"one")})
    page = text(files_client.get("/forms/new-doc?copy=1"))
    kept = hidden(page, "scan__kept")
    once = hidden(page, "_once")
    form = {"title": "A copy", "scan__kept": kept, "_once": once}
    assert files_client.submit("/forms/new-doc", form).status_code == 303
    first, copy = rows(files_client, "docs")
    assert copy["scan"] == first["scan"]


@pytest.mark.parametrize(
    "address",
    ["/forms/new-expense/99999999999999999999", "/forms/new-expense/99999999999999999999/delete",
     "/files/99999999999999999999/a.pdf", "/forms/new-expense/-1"],
)  # fmt: skip
def test_ids_no_row_can_have_are_not_found(client, address):
    assert client.get(address).status_code == 404
    assert client.post("/undo/99999999999999999999").status_code == 404
    assert client.get("/forms/new-expense?copy=99999999999999999999").status_code == 200
    assert client.get("/tables/expenses?offset=99999999999999999999").status_code == 200


def test_removing_a_file_survives_an_error_elsewhere(files_client):
    files_client.submit("/forms/new-doc", {"title": "A", "scan": upload(b"one")})
    kept = str(rows(files_client, "docs")[0]["scan"])
    version = hidden(text(files_client.get("/forms/new-doc/1")), "_version")
    form = {"title": "", "_version": version, "scan__kept": kept, "scan__remove": "1"}
    response = files_client.post("/forms/new-doc/1", data=form)
    assert response.status_code == 400
    assert 'name="scan__remove" value="1" checked' in text(response)
    assert rows(files_client, "docs")[0]["scan"] == int(kept)  # nothing saved yet
    resent = {**form, "title": "A"}
    assert files_client.post("/forms/new-doc/1", data=resent).status_code == 303
    assert rows(files_client, "docs")[0]["scan"] is None


# -- labels and widgets ------------------------------------------------------------------------


class Inputs(HTMLParser):
    """Every visible input of a page, with the labels tied to it."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.inputs.append({**a, "wrapped": "yes" if self.open_labels else None})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


@pytest.mark.parametrize(
    "address",
    ["/forms/new-expense", "/forms/new-employee", "/functions/reimbursement-estimate",
     "/reports/spending-by-category", "/tables/expenses"],
)  # fmt: skip
def test_every_input_has_a_label_tied_to_it(client, address):
    parser = Inputs()
    parser.feed(client.get(address).text)
    assert parser.inputs
    for found in parser.inputs:
        tied = found.get("id") in parser.label_for or found["wrapped"]
        assert tied, f"{address}: {found} has no label"


def test_choices_can_be_radio_buttons_and_a_required_tick_box_must_be_ticked(tmp_path):
    tool = Tool("Survey")
    answers = tool.table(
        "answers",
        size=Choice([("s", "Small"), ("l", "Large")], radio=True, required=True),
        agree=YesNo("I agree to the terms", required=True),
    )
    tool.form("Answer", answers)
    client = tool_client(tool, tmp_path / "s.sqlite3")
    page = client.get("/forms/answer").text
    assert '<legend>Size <span class="req" aria-hidden="true">*</span></legend>' in page
    assert 'type="radio" name="size" value="l"> Large' in page
    refused = client.submit("/forms/answer", {"size": "l"})
    assert "I agree to the terms must be ticked." in refused.text
    assert 'value="l" checked' in refused.text  # the choice stays
    assert client.submit("/forms/answer", {"size": "l", "agree": "on"}).status_code == 303
    assert rows(client, "answers") == [{"id": 1, "size": "l", "agree": 1}]


def test_a_form_token_must_be_the_servers_own_for_that_form_and_session(client):
    form = expense_form(note="Forged?")
    for made_up in (None, "x1", "abc.def", "a" * 500):
        data = form if made_up is None else {**form, "_once": made_up}
        refused = client.post("/forms/new-expense", data=data)
        assert refused.status_code == 400
        assert "not sent from this tool&#39;s own page" in text(refused)
        assert 'value="Forged?"' in text(refused)  # what was typed comes back
    # A token of another form (the employee form's) does not save an expense...
    other = hidden(text(client.get("/forms/new-employee")), "_once")
    crossed = client.post("/forms/new-expense", data={**form, "_once": other})
    assert crossed.status_code == 400 and rows(client) == []
    # ...nor does one from another session (another browser, or before a restart).
    stranger = client.application.test_client()  # its own cookies: another session
    stranger.set_cookie(cookie_name(TEST_PORT), TEST_SECRET, domain="127.0.0.1")
    theirs = hidden(text(stranger.get("/forms/new-expense")), "_once")

    assert client.post("/forms/new-expense", data={**form, "_once": theirs}).status_code == 400
    # The form that came back carries a good token: sent again, it saves.
    again = client.post(
        "/forms/new-expense", data={**form, "_once": hidden(text(refused), "_once")}
    )
    assert again.status_code == 303 and [r["note"] for r in rows(client)] == ["Forged?"]
