"""Rows grouped (``deskwork.db.groups``) and **Summarise** on every table page: exact sums
equal to SQL's own, date parts across a year's end and ISO week 53, weeks as the locale
counts them, empty values, and each group's address opening exactly its rows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from conftest import text
from deskwork import grouping, locales
from deskwork.db import groups, listing
from deskwork.db.storage import Storage
from deskwork.errors import ValidationError
from deskwork.testing import tool_client
from fixture_tool import tool

PAGE = tool.pages["expenses"]
TODAY = dt.date(2026, 1, 15)


def view(address: str = "") -> listing.View:
    pairs = [tuple(p.split("=", 1)) for p in address.split("&") if p]
    return listing.read_view(PAGE, MultiDict(pairs), TODAY)


def grouped(db, by: str, address: str = "", locale: str = "en") -> groups.Grouped:
    with locales.using(locale):
        return groups.group(db, view(address), grouping.read_by(PAGE.table, by), TODAY)


def test_sums_by_category_are_sqls_own_to_the_cent_and_add_up_to_the_total(db):
    found = grouped(db, "category")
    wanted = db.execute("SELECT category, count(*), sum(amount) FROM expenses "
                        "GROUP BY category ORDER BY category").fetchall()  # fmt: skip
    assert [(g.key, g.count, g.sums["amount"]) for g in found.groups] == wanted
    assert found.columns == ["amount"]
    everything = db.execute("SELECT count(*), sum(amount) FROM expenses").fetchone()
    assert (found.count, found.sums["amount"]) == everything
    assert all(isinstance(g.sums["amount"], int) for g in found.groups)  # cents, never floats


def test_a_lookup_groups_by_the_name_it_shows_and_a_filtered_view_only_its_rows(db):
    found = grouped(db, "employee", "category=Travel&q=train")
    rows = listing.Query(db, view("category=Travel&q=train"))
    assert found.count == rows.count() > 0
    names = dict(db.execute("SELECT id, name FROM employees"))
    assert [g.label for g in found.groups] == sorted((names[g.key] for g in found.groups),
                                                     key=str.casefold)  # fmt: skip


@pytest.mark.parametrize(("part", "keys", "labels"), [
    ("day", ["2020-12-31", "2021-01-03"], ["2020-12-31", "2021-01-03"]),
    ("week", ["2020-12-28"], ["Week 53, 2020"]),  # ISO: Thursday 31 December's week
    ("month", ["2020-12-01", "2021-01-01"], ["December 2020", "January 2021"]),
    ("quarter", ["2020-10-01", "2021-01-01"], ["Q4 2020", "Q1 2021"]),
    ("year", ["2020-01-01", "2021-01-01"], ["2020", "2021"]),
])  # fmt: skip
def test_date_parts_across_a_years_end(db, part, keys, labels):
    ids = new_expenses(db, ["2020-12-31", "2021-01-03"])
    found = grouped(db, f"date.{part}", "date.from=2020-12-31&date.to=2021-01-03")
    assert [g.key for g in found.groups] == keys
    assert [g.label for g in found.groups] == labels
    assert found.count == len(ids) == 2


def test_weeks_are_counted_as_the_locale_counts_them(db):
    new_expenses(db, ["2020-12-31", "2021-01-03"])  # a Thursday, then a Sunday
    address = "date.from=2020-12-31&date.to=2021-01-03"
    iso = grouped(db, "date.week", address, "en_GB")
    assert [(g.key, g.label, g.count) for g in iso.groups] == [("2020-12-28", "Week 53, 2020", 2)]
    us = grouped(db, "date.week", address, "en_US")
    assert [(g.key, g.label, g.count) for g in us.groups] == [
        ("2020-12-27", "Week 1, 2021", 1), ("2021-01-03", "Week 2, 2021", 1)]  # fmt: skip


def new_expenses(db, days: list[str], **values) -> list[int]:
    row = {"amount": 1234, "category": "Meals", "employee": 1, **values}
    with db.conn:
        return [db.table("expenses").insert({**row, "date": day}).last_pk for day in days]


def test_empty_values_are_a_group_of_their_own_last(db):
    with db.conn:
        db.execute("UPDATE expenses SET paid_by_card = NULL WHERE id <= 10")
        db.execute("UPDATE expenses SET submitted_at = NULL WHERE id <= 7")
    by_card = grouped(db, "paid_by_card")
    assert [g.label for g in by_card.groups] == ["No", "Yes"]  # no value is "no", as filters say
    stamped = grouped(db, "submitted_at.year")
    assert stamped.groups[-1].label == groups.EMPTY and stamped.groups[-1].count == 7
    assert stamped.groups[-1].address["submitted_at.empty"] == "yes"


def test_no_rows_make_no_groups(db):
    found = grouped(db, "category", "q=nosuchwordanywhere")
    assert found.groups == [] and found.count == 0 and found.sums == {"amount": 0}


def test_an_unknown_grouping_is_refused_naming_those_offered():
    with pytest.raises(ValidationError, match=r"can't be grouped by 'note'.*category"):
        grouping.read_by(PAGE.table, "note")
    with pytest.raises(ValidationError):
        grouping.read_by(PAGE.table, "date.fortnight")
    offered = [by.word for by, _ in grouping.choices(PAGE.table)]
    assert "tags" not in offered and "date.week" in offered and "submitted_at.day" in offered


def test_each_groups_address_shows_exactly_its_rows_with_the_same_count_and_total(db):
    address = "date.in=last-year&amount.min=10"
    for by in ("category", "employee", "paid_by_card", "date.month", "date.week"):
        for g in grouped(db, by, address).groups:
            assert g.address is not None
            shown = listing.read_view(PAGE, MultiDict(
                [(k, v) for k, vs in g.address.items() for v in
                 (vs if isinstance(vs, list) else [vs])]), TODAY)  # fmt: skip
            summary = listing.summary_values(db, shown)
            assert (summary["count"], summary["totals"]["amount"]) == (g.count, g.sums["amount"])


def test_a_month_drilled_within_a_narrower_range_keeps_the_range(db):
    found = grouped(db, "date.month", "date.from=2025-03-10&date.to=2025-04-20")
    assert [g.label for g in found.groups] == ["March 2025", "April 2025"]
    assert found.groups[0].address["date.from"] == "2025-03-10"
    assert found.groups[0].address["date.to"] == "2025-03-31"
    assert found.groups[1].address["date.from"] == "2025-04-01"
    assert found.groups[1].address["date.to"] == "2025-04-20"


def test_the_sums_stay_exact_after_edits_deletes_and_another_programs_write(db):
    def check() -> None:
        found = grouped(db, "category")
        wanted = db.execute("SELECT category, sum(amount) FROM expenses GROUP BY category "
                            "ORDER BY category").fetchall()  # fmt: skip
        assert [(g.key, g.sums["amount"]) for g in found.groups] == wanted

    with db.conn:
        db.execute("UPDATE expenses SET amount = amount + 1 WHERE id % 3 = 0")
        db.execute("DELETE FROM expenses WHERE id % 7 = 0")
    check()
    path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    with Storage(path).open() as other, other.conn:  # another program's write
        other.execute("UPDATE expenses SET category = 'Meals' WHERE id % 5 = 0")
    check()


def test_summarise_is_on_every_table_page_and_keeps_the_view_in_its_address(seeded_client):
    page = text(seeded_client.get("/tables/expenses?category=Travel&q=train"))
    link = re.search(r'<a href="(/tables/expenses/summarise[^"]*)">Summarise</a>', page)
    assert link is not None
    shown = text(seeded_client.get(link[1].replace("&amp;", "&") + "&by=date.quarter"))
    assert "<h1>Summary of Expenses</h1>" in shown
    assert "Category is Travel" in shown and "Search: “train”" in shown
    assert '<option value="date.quarter" selected>Date, by quarter</option>' in shown
    assert '<label for="by">Group by</label>' in shown and "<svg" in shown
    assert re.search(r'<th scope="row"><a href="/tables/expenses\?[^"]*date.from=[^"]+">Q\d '
                     r"\d{4}</a></th>", shown)  # fmt: skip
    assert '<th scope="row">Total</th>' in shown
    back = re.search(r'<a href="([^"]+)">Back to the table</a>', shown)[1].replace("&amp;", "&")
    assert back.startswith("/tables/expenses?") and "category=Travel" in back and "q=train" in back


def test_summarise_says_what_it_cant_do_and_still_answers(seeded_client):
    shown = seeded_client.get("/tables/expenses/summarise?by=note&amount.min=abc")
    assert shown.status_code == 200
    page = text(shown)
    assert "Rows can&#39;t be grouped by &#39;note&#39;" in page
    assert "Grouped by category instead" in page
    assert "That filter is left out" in page


def test_a_table_with_nothing_to_group_by_says_so(tmp_path):
    from deskwork import Text, Tool

    notes = Tool("Notes")
    table = notes.table("notes", text=Text())
    notes.table_page("Notes", table)
    client = tool_client(notes, tmp_path / "notes.sqlite3")
    page = text(client.get("/tables/notes/summarise"))
    assert "have no column to group them by" in page


def test_a_yes_no_group_within_a_view_of_filled_values_opens_exactly_its_rows(db):
    with db.conn:
        db.execute("UPDATE expenses SET paid_by_card = NULL WHERE id % 4 = 0")
    for g in grouped(db, "paid_by_card", "paid_by_card.empty=no").groups:
        assert_opens_its_rows(db, g)


def assert_opens_its_rows(db, g: groups.Group) -> None:
    pairs = [(k, v) for k, vs in g.address.items() for v in (vs if isinstance(vs, list) else [vs])]
    shown = listing.read_view(PAGE, MultiDict(pairs), TODAY)
    assert shown.problems == []
    summary = listing.summary_values(db, shown)
    assert (summary["count"], summary["totals"]["amount"]) == (g.count, g.sums["amount"])


def test_values_no_filter_can_name_are_groups_without_an_address(db):
    with db.conn:  # as another program, or a choice since taken out of the tool, leaves them
        db.execute("UPDATE expenses SET category = 'Legacy' WHERE id <= 5")
        db.execute("UPDATE expenses SET paid_by_card = 2 WHERE id BETWEEN 6 AND 8")
        db.execute("UPDATE expenses SET date = '2460000' WHERE id = 9")
        db.execute("UPDATE expenses SET date = '9999-12-31' WHERE id = 10")
    legacy = next(g for g in grouped(db, "category").groups if g.key == "Legacy")
    assert (legacy.label, legacy.count, legacy.address) == ("Legacy", 5, None)
    by_card = grouped(db, "paid_by_card")
    assert [(g.label, g.address is None) for g in by_card.groups] == [
        ("2 (not yes or no)", True), ("No", False), ("Yes", False)]  # fmt: skip
    for g in by_card.groups[1:]:
        assert_opens_its_rows(db, g)
    for part in grouping.PARTS:
        found = grouped(db, f"date.{part}").groups
        odd = [g for g in found if g.key == "2460000"]
        assert [(g.label, g.count, g.address) for g in odd] == [("2460000 (not a date)", 1, None)]
        assert sum(g.count for g in found) == 10_000  # nothing lost, nothing counted twice
    last = grouped(db, "date.year").groups[-1]  # past the days a date filter takes
    assert (last.label, last.count, last.address) == ("9999", 1, None)


def test_a_column_called_k_does_not_change_the_groups(tmp_path):
    from deskwork import Choice, Integer, Tool

    odd = Tool("Odd")
    table = odd.table("things", k=Integer(), kind=Choice(["a", "b"]))
    page = odd.table_page("Things", table)
    path = tmp_path / "odd.sqlite3"
    Storage(path).prepare(odd, seed=False)
    with Storage(path).open() as db:
        with db.conn:
            db.table("things").insert_all({"k": n, "kind": "ab"[n % 2]} for n in range(10))
        found = groups.group(db, listing.read_view(page, MultiDict()), grouping.By("kind"))
        assert [(g.key, g.count) for g in found.groups] == [("a", 5), ("b", 5)]
