"""Every change kept: each record's history, the bin ("Recently deleted"), and one way
back for undo, the bin and earlier versions (``deskwork.db.history``)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3

import pytest

from conftest import add_employee, expense_form, hidden, rows, text
from deskwork import File, Lookup, Text, Tool
from deskwork.db.history import BIN, HISTORY
from deskwork.db.storage import Storage
from deskwork.testing import tool_client


@pytest.fixture
def client(client):
    add_employee(client)
    return client


def db_of(client):
    return client.application.extensions["deskwork.storage"].open()


def create(client, **overrides):
    once = hidden(text(client.get("/forms/new-expense")), "_once")
    response = client.post("/forms/new-expense", data={**expense_form(**overrides), "_once": once})
    assert response.status_code == 303, text(response)
    return rows(client)[-1]["id"]


def edit(client, record_id, **overrides):
    version = hidden(text(client.get(f"/forms/new-expense/{record_id}")), "_version")
    response = client.post(
        f"/forms/new-expense/{record_id}", data={**expense_form(**overrides), "_version": version}
    )
    assert response.status_code == 303, text(response)


def history_lines(client, record_id):
    """(when, what, changes) of each line of the record's history page, newest first."""
    page = text(client.get(f"/forms/new-expense/{record_id}/history"))
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    lines = []
    for row_html in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", " ", c).split()
            for c in re.findall(r"<td>(.*?)</td>", row_html, re.S)
        ]
        lines.append([" ".join(c) for c in cells[:3]])
    return lines


def test_every_save_is_in_the_records_history_with_what_changed(client):
    record_id = create(client, amount="12.00", note="Taxi")
    edit(client, record_id, amount="21.00", note="Taxi")
    edit(client, record_id, amount="21.00", note="Taxi home")
    edit(client, record_id, amount="21.00", note="Taxi home")  # nothing changed: no line
    lines = history_lines(client, record_id)
    assert [what for _, what, _ in lines] == ["Changed", "Changed", "Created"]
    assert lines[0][2] == "changed note from Taxi to Taxi home"
    # The amount, and the VAT computed from it.
    assert lines[1][2].startswith("changed amount from 12.00 to 21.00 changed vat")
    assert "History" in text(client.get(f"/forms/new-expense/{record_id}"))  # linked


def test_an_earlier_version_is_restored_and_that_is_history_too(client):
    record_id = create(client, amount="12.00", note="First")
    edit(client, record_id, amount="99.00", note="Second")
    page = text(client.get(f"/forms/new-expense/{record_id}/history"))
    version = hidden(page, "_version")
    forms = re.findall(r'action="(/forms/new-expense/\d+/history/(\d+))"', page)
    assert len(forms) == 1  # the current version has no button; the first one has
    restored = client.post(forms[0][0], data={"_version": version})
    assert restored.status_code == 303 and restored.location == f"/forms/new-expense/{record_id}"
    assert [r["note"] for r in rows(client)] == ["First"]
    lines = history_lines(client, record_id)
    assert lines[0][1] == "Restored an earlier version (changed back)"
    assert lines[0][2].startswith("changed amount from 99.00 to 12.00 changed note from Second")
    # A stale page (the record changed since) restores nothing.
    edit(client, record_id, amount="5.00", note="Third")
    again = client.post(forms[0][0], data={"_version": version})
    assert again.status_code == 303 and [r["note"] for r in rows(client)] == ["Third"]
    assert "changed while you were looking" in text(client.get(again.location))


def test_a_deleted_record_waits_in_the_bin_and_comes_back_with_its_id(client):
    keep = create(client, note="Keep me")
    gone = create(client, note="Bin me")
    client.post(f"/forms/new-expense/{gone}/delete")
    for path in ("/", "/tables/expenses", f"/forms/new-expense/{keep}"):  # the user moves on
        client.get(path)
    listing = text(client.get("/tables/expenses"))
    assert 'href="/tables/expenses/deleted">Recently deleted</a>' in listing
    binned = text(client.get("/tables/expenses/deleted"))
    assert "Bin me" in binned and "Keep me" not in binned and "30 days" in binned
    restore = re.search(r'action="(/bin/\d+/restore)"', binned)
    back = client.post(restore[1])
    assert back.location == f"/forms/new-expense/{gone}"
    assert sorted(r["note"] for r in rows(client)) == ["Bin me", "Keep me"]
    assert "Nothing deleted recently." in text(client.get("/tables/expenses/deleted"))
    assert client.post(restore[1]).status_code == 303  # a second restore changes nothing
    assert len(rows(client)) == 2
    whats = [what for _, what, _ in history_lines(client, gone)]
    assert whats == ["Restored from the bin (back)", "Deleted", "Created"]


def test_undo_right_after_a_delete_and_the_bin_are_one_mechanism(client):
    record_id = create(client, note="Oops")
    client.post(f"/forms/new-expense/{record_id}/delete")
    undo = re.search(r'action="(/undo/\d+)"', text(client.get("/tables/expenses")))
    client.post(undo[1])
    assert [r["note"] for r in rows(client)] == ["Oops"]
    assert "Nothing deleted recently." in text(client.get("/tables/expenses/deleted"))
    with db_of(client) as db:
        assert db.execute(f"SELECT count(*) FROM {BIN}").fetchone()[0] == 0
    assert "was undone already" in text(client.post(undo[1], follow_redirects=True))


def test_restoring_brings_back_the_record_it_looked_up(client):
    record_id = create(client, note="Ann's taxi")  # looks up employee 1, Ann Okafor
    client.post(f"/forms/new-expense/{record_id}/delete")
    assert client.post("/forms/new-employee/1/delete").status_code == 303  # no longer used
    assert rows(client, "employees") == []
    binned = text(client.get("/tables/expenses/deleted"))
    assert "Ann Okafor (deleted)" in binned  # still named, from the history
    client.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1])
    assert [r["name"] for r in rows(client, "employees")] == ["Ann Okafor"]
    assert [(r["note"], r["employee"]) for r in rows(client)] == [("Ann's taxi", 1)]
    assert "Nothing deleted recently." in text(client.get("/tables/employees/deleted"))


def test_the_history_is_append_only_even_for_other_programs(client):
    create(client)
    with sqlite3.connect(client.application.extensions["deskwork.storage"].path) as conn:
        for sql in (f"UPDATE {HISTORY} SET kind = 'x'", f"DELETE FROM {HISTORY}",
                    "DELETE FROM _deskwork_actions"):  # fmt: skip
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)


def test_a_refused_save_leaves_no_history(client):
    create(client, note="One")
    with db_of(client) as db:
        before = db.execute(f"SELECT count(*) FROM {HISTORY}").fetchone()[0]
    refused = client.post("/forms/new-expense", data=expense_form(amount="not money"))
    assert refused.status_code == 400
    with db_of(client) as db:
        assert db.execute(f"SELECT count(*) FROM {HISTORY}").fetchone()[0] == before


@pytest.fixture
def docs(tmp_path):
    tool = Tool("Docs", bin_days=7)
    people = tool.table("people", name=Text(required=True))
    docs = tool.table("docs", title=Text(required=True), owner=Lookup(people),
                      scan=File(max_size=2000, accept=[".pdf"]))  # fmt: skip
    tool.form("New person", people)
    tool.form("New doc", docs)
    tool.table_page("Docs", docs, columns=["title", "owner", "scan"])
    tool.table_page("People", people)
    return tool_client(tool, tmp_path / "docs.sqlite3")


def new_doc(client, title, data=b"%PDF-1.4 x"):
    once = hidden(text(client.get("/forms/new-doc")), "_once")
    response = client.post(
        "/forms/new-doc",
        data={"title": title, "scan": (io.BytesIO(data), "scan.pdf"), "_once": once},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, text(response)


def test_a_restored_record_brings_back_its_file(docs):
    new_doc(docs, "Lease", b"%PDF-1.4 lease")
    docs.post("/forms/new-doc/1/delete")
    binned = text(docs.get("/tables/docs/deleted"))
    assert "scan.pdf" in binned and "7 days" in binned
    docs.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1])
    listing = text(docs.get("/tables/docs"))
    link = re.search(r'href="(/files/\d+/scan.pdf)"', listing)
    assert docs.get(link[1]).data == b"%PDF-1.4 lease"


def test_the_bin_keeps_deletes_for_the_tools_days_and_can_be_emptied(docs, tmp_path):
    for title in ("Old", "New", "Third"):
        new_doc(docs, title)
    for record_id in (1, 2, 3):
        docs.post(f"/forms/new-doc/{record_id}/delete")
    storage = Storage(tmp_path / "docs.sqlite3")
    long_ago = (dt.datetime.now() - dt.timedelta(days=8)).isoformat(timespec="seconds")
    with storage.open() as db, db.conn:
        db.execute(f"UPDATE {BIN} SET deleted_at = ? WHERE row_id = 1", [long_ago])
    tool = docs.application.extensions["deskwork.tool"]
    storage.prepare(tool)  # the next launch
    binned = text(docs.get("/tables/docs/deleted"))
    assert "Old" not in binned and "New" in binned and "Third" in binned
    confirm = text(docs.get("/tables/docs/deleted/empty"))
    assert "2 deleted docs will no longer be restorable" in confirm  # asks first
    done = docs.post("/tables/docs/deleted/empty", follow_redirects=True)
    assert "Emptied the bin: 2 deleted docs can no longer be restored." in text(done)
    with storage.open() as db:  # their history stays
        deletes = db.execute(f"SELECT count(*) FROM {HISTORY} WHERE kind = 'delete'")
        assert deletes.fetchone()[0] == 3
    new_doc(docs, "Fourth")
    docs.post("/forms/new-doc/4/delete")
    two_days_ago = (dt.datetime.now() - dt.timedelta(days=2)).isoformat(timespec="seconds")
    with storage.open() as db, db.conn:
        db.execute(f"UPDATE {BIN} SET deleted_at = ?", [two_days_ago])
    storage.prepare(tool)
    assert "Fourth" in text(docs.get("/tables/docs/deleted"))  # the tool keeps 7 days
    storage.prepare(tool, bin_days=1)  # IT's shorter retention wins over the tool's
    assert "Fourth" not in text(docs.get("/tables/docs/deleted"))


def test_ids_are_never_reused_so_histories_and_lookups_stay_their_own(docs):
    docs.submit("/forms/new-person", {"name": "Ann"})
    docs.submit("/forms/new-doc", {"title": "Ann's lease", "owner": "1"})
    docs.post("/forms/new-doc/1/delete")
    docs.post("/forms/new-person/1/delete")  # no doc looks Ann up any more
    docs.submit("/forms/new-person", {"name": "Bob"})  # not id 1: that was Ann's
    assert [(r["id"], r["name"]) for r in rows(docs, "people")] == [(2, "Bob")]
    assert "Ann" not in text(docs.get("/forms/new-person/2/history"))
    binned = text(docs.get("/tables/docs/deleted"))
    docs.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1])
    # The lease comes back with Ann, from the bin, not pointing at Bob.
    assert sorted(r["name"] for r in rows(docs, "people")) == ["Ann", "Bob"]
    assert [(r["title"], r["owner"]) for r in rows(docs, "docs")] == [("Ann's lease", 1)]


def test_an_undo_after_the_record_left_the_bin_is_refused(client):
    record_id = create(client, note="Once")
    client.post(f"/forms/new-expense/{record_id}/delete")
    undo = re.search(r'action="(/undo/\d+)"', text(client.get("/tables/expenses")))[1]
    binned = text(client.get("/tables/expenses/deleted"))
    client.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1])
    edit(client, record_id, note="Once, edited")
    refused = client.post(undo, follow_redirects=True)
    assert "no longer in the bin" in text(refused)
    assert [r["note"] for r in rows(client)] == ["Once, edited"]  # not back twice


def test_a_deleted_record_restored_from_its_history_leaves_the_bin(client):
    record_id = create(client, note="Versioned")
    client.post(f"/forms/new-expense/{record_id}/delete")
    page = text(client.get(f"/forms/new-expense/{record_id}/history"))
    action = re.search(r'action="(/forms/new-expense/\d+/history/\d+)"', page)[1]
    client.post(action, data={"_version": ""})
    assert [r["note"] for r in rows(client)] == ["Versioned"]
    assert "Nothing deleted recently." in text(client.get("/tables/expenses/deleted"))


def test_an_older_databases_trash_moves_into_the_bin(tmp_path):
    from fixture_tool import tool

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE _deskwork_trash (id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, "
            "row_id INTEGER NOT NULL, data TEXT NOT NULL, deleted_at TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO _deskwork_trash (table_name, row_id, data, deleted_at) "
            "VALUES (?, ?, ?, ?)",
            ["employees", 77, json.dumps({"id": 77, "name": "Old Timer"}), "2026-11-20T10:00:00"],
        )
    client = tool_client(tool, path)
    binned = text(client.get("/tables/employees/deleted"))
    assert "Old Timer" in binned
    client.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1])
    assert any(r["name"] == "Old Timer" for r in rows(client, "employees"))
    with Storage(path).open() as db:
        assert "_deskwork_trash" not in db.table_names()


def test_a_record_made_outside_deskwork_can_go_back_to_how_it_was_first(client):
    seeded = {"date": "2026-01-02", "amount": 500, "category": "Meals", "employee": 1,
              "note": "Imported"}  # fmt: skip
    with db_of(client) as db, db.conn:  # a seeded row, or one an IT script wrote
        record_id = db.table("expenses").insert(seeded).last_pk
    edit(client, record_id, note="Edited", amount="9.00")
    page = text(client.get(f"/forms/new-expense/{record_id}/history"))
    assert "As it was before these changes" in page
    action = re.search(r'action="([^"]+)"', page.split("As it was before")[1])[1]
    client.post(action, data={"_version": hidden(page, "_version"), "_state": "before"})
    restored = next(r for r in rows(client) if r["id"] == record_id)
    assert (restored["note"], restored["amount"]) == ("Imported", 500)


def test_undoing_a_create_that_others_now_look_up_is_refused_with_a_message(tmp_path):
    # The undo would delete a record another row now refers to: StillReferenced, a
    # refusal like any other way back (a message and the page again), never an error page.
    tool = Tool("Visits")
    people = tool.table("people", name=Text(required=True))
    visits = tool.table("visits", person=Lookup(people, show="name"))
    tool.form("New person", people)
    tool.form("New visit", visits)
    client = tool_client(tool, tmp_path / "v.sqlite3")
    assert client.submit("/forms/new-person", {"name": "Ada"}).status_code == 303
    assert client.submit("/forms/new-visit", {"person": "1"}).status_code == 303
    with Storage(tmp_path / "v.sqlite3").open() as db:
        (created,) = db.execute(
            "SELECT id FROM _deskwork_actions WHERE kind = 'create' ORDER BY id LIMIT 1"
        ).fetchone()
    refused = client.post(f"/undo/{created}", follow_redirects=True)
    assert refused.status_code == 200
    assert "1 visit refers to it. Change or delete that one first." in text(refused)
    with Storage(tmp_path / "v.sqlite3").open() as db:
        assert db.execute("SELECT name FROM people").fetchall() == [("Ada",)]


def test_a_record_whose_unique_value_was_taken_since_stays_in_the_bin_and_says_why(tmp_path):
    tool = Tool("Codes")
    codes = tool.table("codes", code=Text(unique=True))
    tool.form("New code", codes)
    tool.table_page("Codes", codes)
    client = tool_client(tool, tmp_path / "c.sqlite3")
    client.submit("/forms/new-code", {"code": "A1"})
    client.post("/forms/new-code/1/delete")
    client.submit("/forms/new-code", {"code": "A1"})  # the value is someone else's now
    binned = text(client.get("/tables/codes/deleted"))
    refused = client.post(re.search(r'action="(/bin/\d+/restore)"', binned)[1],
                          follow_redirects=True)  # fmt: skip
    assert (
        "can&#39;t come back as it was: a value that must be unique is taken (codes.code)"
        in text(refused)
    )
    assert "A1" in text(client.get("/tables/codes/deleted"))  # still there to restore later
