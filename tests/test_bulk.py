"""Acting on many rows: ask first, say how many, one transaction, one undo."""

from __future__ import annotations

import html
import re

from conftest import rows, text


def database(client):
    return client.application.extensions["deskwork.storage"].open()


def picked_on(page: str) -> list[str]:
    return re.findall(r'name="id" value="(\d+)" form="bulk"', page)


def ask(client, data: dict) -> tuple[int, str]:
    response = client.post("/tables/expenses/bulk", data=data)
    return response.status_code, text(response)


def token(page: str) -> str:
    return re.search(r'name="_once" value="([^"]+)"', page).group(1)


def apply(client, question: str, data: dict):
    """Confirm the question, as its page's form does (its token, the rows it showed)."""
    rows_asked = re.search(r'name="_rows" value="([0-9a-f]+)"', question).group(1)
    return client.post(
        "/tables/expenses/bulk/apply",
        data={**data, "_once": token(question), "_rows": rows_asked},
    )


def categories(client, ids) -> dict[int, str]:
    with database(client) as db:
        marks = ",".join("?" for _ in ids)
        found = db.execute(f"SELECT id, category FROM expenses WHERE id IN ({marks})", ids)
        return dict(found.fetchall())


def undo_button(client, response) -> str:
    """The Undo in the message on the page a bulk action goes to."""
    return re.search(r'action="(/undo/\d+)"', text(client.get(response.location))).group(1)


def undo(client, action: str, where: str) -> None:
    client.post(action, headers={"Referer": f"http://127.0.0.1{where}"})


def test_setting_a_field_on_ticked_rows_asks_then_changes_them_and_undoes_as_one(
    seeded_client,
):
    page = text(seeded_client.get("/tables/expenses?category=Travel"))
    view = html.unescape(re.search(r'name="_view" value="([^"]*)"', page).group(1))
    assert view == "category=Travel"
    ids = [int(i) for i in picked_on(page)[:3]]
    data = {"_view": view, "id": ids, "_do": "set", "_field": "category"}
    status, question = ask(seeded_client, data)
    assert status == 200
    assert "<h1>Set category on 3 expenses</h1>" in question
    assert question.count("<tbody>") == 1 and question.split("<tbody>")[1].count("<tr>") == 3
    assert '<select id="bulk-category" name="category"' in question  # the field's own input
    assert categories(seeded_client, ids) == dict.fromkeys(ids, "Travel")  # nothing yet

    done = apply(seeded_client, question, {**data, "category": "Meals"})
    assert done.status_code == 303 and done.location == "/tables/expenses?category=Travel"
    assert categories(seeded_client, ids) == dict.fromkeys(ids, "Meals")
    taking_back = undo_button(seeded_client, done)
    with database(seeded_client) as db:
        (label,) = db.execute(
            "SELECT label FROM _deskwork_actions ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
        assert label == "Set category on 3 expenses"
        lines = db.execute("SELECT count(*) FROM _deskwork_history WHERE action_id = "
                           "(SELECT max(id) FROM _deskwork_actions)").fetchone()[0]  # fmt: skip
        assert lines == 3
    # The same confirmation sent again does nothing more.
    again = apply(seeded_client, question, {**data, "category": "Office"})
    assert again.status_code == 400 and "done already" in text(again)
    assert categories(seeded_client, ids) == dict.fromkeys(ids, "Meals")

    undo(seeded_client, taking_back, done.location)
    assert categories(seeded_client, ids) == dict.fromkeys(ids, "Travel")


def test_a_money_change_works_out_computed_fields_again(seeded_client):
    ids = [int(i) for i in picked_on(text(seeded_client.get("/tables/expenses")))[:2]]
    data = {"_view": "", "id": ids, "_do": "set", "_field": "amount"}
    _, question = ask(seeded_client, data)
    apply(seeded_client, question, {**data, "amount": "60.00"})
    with database(seeded_client) as db:
        found = db.execute(f"SELECT amount, vat FROM expenses WHERE id IN ({ids[0]}, {ids[1]})")
        assert found.fetchall() == [(6000, 1000), (6000, 1000)]


def test_a_bad_value_or_a_broken_rule_changes_nothing_and_says_which(seeded_client):
    with database(seeded_client) as db:
        small = [r[0] for r in db.execute(
            "SELECT id FROM expenses WHERE receipt IS NULL AND category != 'Hardware' "
            "LIMIT 2")]  # fmt: skip
    with database(seeded_client) as db, db.conn:  # two large expenses, no receipts
        db.execute(f"UPDATE expenses SET amount = 150000 WHERE id IN ({small[0]}, {small[1]})")
    before = {r["id"]: r for r in rows(seeded_client)}
    data = {"_view": "", "id": small, "_do": "set", "_field": "amount"}
    _, question = ask(seeded_client, data)
    bad = apply(seeded_client, question, {**data, "amount": "lots"})
    assert bad.status_code == 400 and 'id="bulk-amount-error"' in text(bad)

    data = {"_view": "", "id": small, "_do": "set", "_field": "category"}
    _, question = ask(seeded_client, data)
    refused = apply(seeded_client, question, {**data, "category": "Hardware"})
    page = text(refused)
    assert refused.status_code == 400
    assert "Nothing was changed: 2 of the 2 expenses can&#39;t take it." in page
    assert f"#{small[0]}: Hardware over 1,000.00 needs a receipt" in page
    assert {r["id"]: r for r in rows(seeded_client)} == before


def test_a_rule_broken_before_does_not_stop_a_change_to_another_field(seeded_client):
    """Old rows that break a newer rule (large hardware, no receipt) can still be marked
    paid by card: the change does not break the rule, it was broken already."""
    with database(seeded_client) as db:
        old = [r[0] for r in db.execute(
            "SELECT id FROM expenses WHERE category = 'Hardware' AND amount > 100000 "
            "AND receipt IS NULL AND coalesce(paid_by_card, 0) = 0 LIMIT 3")]  # fmt: skip
    assert len(old) == 3
    data = {"_view": "", "id": old, "_do": "set", "_field": "paid_by_card"}
    _, question = ask(seeded_client, data)
    assert apply(seeded_client, question, {**data, "paid_by_card": "on"}).status_code == 303
    with database(seeded_client) as db:
        assert db.execute(f"SELECT sum(paid_by_card) FROM expenses WHERE id IN "
                          f"({','.join(map(str, old))})").fetchone()[0] == 3  # fmt: skip


def test_all_rows_that_match_are_deleted_into_the_bin_and_come_back_as_one(seeded_client):
    view = "category=Training&date.from=2025-01-01&date.to=2025-03-31"
    with database(seeded_client) as db:
        ids = [r[0] for r in db.execute(
            "SELECT id FROM expenses WHERE category = 'Training' "
            "AND date BETWEEN '2025-01-01' AND '2025-03-31' ORDER BY id")]  # fmt: skip
        total = db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    assert len(ids) > 50  # more than a page
    data = {"_view": view, "_all": "1", "_do": "delete"}
    _, question = ask(seeded_client, data)
    assert f"<h1>Delete {len(ids):,} expenses?</h1>" in question
    assert f"…and {len(ids) - 10:,} more." in question
    done = apply(seeded_client, question, data)
    assert done.status_code == 303
    with database(seeded_client) as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == total - len(ids)
        binned = db.execute("SELECT count(*) FROM _deskwork_bin").fetchone()[0]
        assert binned == len(ids)
    landed = text(seeded_client.get(done.location))
    assert f"Deleted {len(ids):,} expenses." in landed
    undo(seeded_client, re.search(r'action="(/undo/\d+)"', landed).group(1), done.location)
    with database(seeded_client) as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == total
        back = [r[0] for r in db.execute(
            "SELECT id FROM expenses WHERE category = 'Training' "
            "AND date BETWEEN '2025-01-01' AND '2025-03-31' ORDER BY id")]  # fmt: skip
    assert back == ids  # the same records, the same ids


def test_looked_up_records_are_not_deleted_in_bulk(seeded_client):
    response = seeded_client.post("/tables/employees/bulk", data={"_view": "", "id": [1, 2],
                                                                  "_do": "delete"})  # fmt: skip
    question = text(response)
    done = seeded_client.post("/tables/employees/bulk/apply",
                              data={"_view": "", "id": [1, 2], "_do": "delete",
                                    "_once": token(question)})  # fmt: skip
    assert done.status_code == 400
    assert "Nothing was changed: 2 of the 2 employees can&#39;t take it." in text(done)
    assert len(rows(seeded_client, "employees")) == 50


def test_rows_that_come_to_match_after_the_question_are_not_acted_on(seeded_client):
    view = "category=Training&date.from=2025-01-01&date.to=2025-01-31"
    data = {"_view": view, "_all": "1", "_do": "set", "_field": "note"}
    _, question = ask(seeded_client, data)
    asked = int(re.search(r"<h1>Set note on (\d+) expenses</h1>", question).group(1))
    with database(seeded_client) as db, db.conn:  # meanwhile, one more, and one fewer
        db.execute("INSERT INTO expenses (date, amount, category, employee) "
                   "VALUES ('2025-01-15', 100, 'Training', 1)")  # fmt: skip
        db.execute("UPDATE expenses SET category = 'Meals' WHERE id = (SELECT min(id) FROM "
                   "expenses WHERE category = 'Training' AND date LIKE '2025-01-%')")  # fmt: skip
    refused = apply(seeded_client, question, {**data, "note": "Reviewed"})
    page = text(refused)
    assert refused.status_code == 400
    assert f"changed since you were asked ({asked:,} now): nothing was changed" in page
    assert 'value="Reviewed"' in page  # what was typed, kept
    with database(seeded_client) as db:
        reviewed = db.execute("SELECT count(*) FROM expenses WHERE note = 'Reviewed'")
        assert reviewed.fetchone()[0] == 0


def test_nothing_selected_or_a_made_up_confirmation_changes_nothing(seeded_client):
    response = seeded_client.post("/tables/expenses/bulk", data={"_view": "", "_do": "delete"})
    assert response.status_code == 303
    assert "Select rows first" in text(seeded_client.get(response.location))
    made_up = seeded_client.post("/tables/expenses/bulk/apply",
                                 data={"_view": "", "_all": "1", "_do": "delete",
                                       "_once": "made.up"})  # fmt: skip
    assert made_up.status_code == 303
    assert len(rows(seeded_client)) == 10_000


def test_history_of_a_bulk_set_holds_the_rows_exactly_and_undo_restores_them(tmp_path):
    """Values another program wrote (a REAL, a column outside the declarations) come back
    exactly: the history's rows are the rows as SQLite stores them."""
    from deskwork import Choice, Text, Tool
    from deskwork.testing import tool_client

    t = Tool("Odd")
    things = t.table("things", name=Text(), kind=Choice(["a", "b"]))
    t.form("New thing", things)
    t.table_page("Things", things)
    client = tool_client(t, tmp_path / "o.sqlite3")
    with client.application.extensions["deskwork.storage"].open() as db, db.conn:
        db.execute("ALTER TABLE things ADD COLUMN ratio REAL")
        db.table("things").insert_all(
            {"name": f"n{i}", "kind": "a", "ratio": (i + 1) / 3 + 0.1 + 0.2} for i in range(5)
        )
        before = db.execute("SELECT * FROM things ORDER BY id").fetchall()
    page = text(
        client.post(
            "/tables/things/bulk", data={"_view": "", "_all": "1", "_do": "set", "_field": "kind"}
        )
    )
    rows_asked = re.search(r'name="_rows" value="([0-9a-f]+)"', page).group(1)
    done = client.post("/tables/things/bulk/apply", data={
        "_view": "", "_all": "1", "_do": "set", "_field": "kind", "kind": "b",
        "_once": token(page), "_rows": rows_asked})  # fmt: skip
    assert done.status_code == 303
    with client.application.extensions["deskwork.storage"].open() as db:
        import json

        for before_json, after_json, row_id in db.execute(
            "SELECT before, after, row_id FROM _deskwork_history WHERE kind = 'edit'"
        ):
            stored = db.execute("SELECT * FROM things WHERE id = ?", [row_id])
            names = [d[0] for d in stored.description]
            assert json.loads(after_json) == dict(zip(names, stored.fetchone(), strict=True))
            assert json.loads(before_json)["ratio"] == before[row_id - 1][3]
    landed = text(client.get(done.location))
    client.post(re.search(r'action="(/undo/\d+)"', landed).group(1))
    with client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT * FROM things ORDER BY id").fetchall() == before
