"""Table pages as staff work in them: sort, keyset pages, filters, search, counts, totals.

A small tool with four rows a page, duplicate and empty values in every sortable column,
checked against the order and the sums SQLite itself gives.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient

from conftest import text
from deskwork import (
    Choice,
    Date,
    Lookup,
    Money,
    MultiChoice,
    Text,
    Tool,
    YesNo,
)
from deskwork.db import listing
from deskwork.db.storage import Storage
from deskwork.testing import tool_client

TODAY = dt.date.today()

tool = Tool("Stock")
people = tool.table("people", name=Text(required=True))
items = tool.table(
    "items",
    name=Text(),
    amount=Money(),
    kind=Choice(["Desk", "Chair", "Lamp"]),
    owner=Lookup(people, show="name"),
    done=YesNo(),
    day=Date(),
    tags=MultiChoice(["Red", "Blue"]),
    note=Text(),
)
tool.form("New item", items, after="items")
tool.table_page(
    "Items", items, order="-day", columns=["day", "name", "amount", "kind", "owner"],
    search=["note"], page_size=4,
)  # fmt: skip
tool.form("New person", people, after="people")
tool.table_page("People", people, order="name")

NAMES = ["ada", "Ben", "ben", None, "Chloé", "dev", "Ada"]
OWNERS = ["Zoe Park", "ada Lind", "Ben Ode", "Zoe Park"]  # two people of one name


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    path = tmp_path / "stock.sqlite3"
    made = tool_client(tool, path)
    rng = random.Random(13)
    with Storage(path).open() as db, db.conn:
        db.table("people").insert_all([{"id": i + 1, "name": n} for i, n in enumerate(OWNERS)])
        db.table("items").insert_all(
            {
                "name": rng.choice(NAMES),
                "amount": rng.choice([None, 100, 100, 250, 999, 100000]),
                "kind": rng.choice([None, "Desk", "Chair", "Lamp"]),
                "owner": rng.choice([None, 1, 2, 3, 4]),
                "done": rng.choice([None, 0, 1]),
                "day": rng.choice(
                    [
                        None,
                        TODAY.isoformat(),
                        (TODAY - dt.timedelta(days=40)).isoformat(),
                        (TODAY - dt.timedelta(days=400)).isoformat(),
                        "2020-02-29",
                    ]
                ),
                "tags": rng.choice([None, '["Red"]', '["Blue"]', '["Red", "Blue"]']),
                "note": rng.choice([None, "", "a taxi home", "TAXI back", "lunch"]),
            }
            for _ in range(37)
        )
    return made


def database(client: FlaskClient):
    return client.application.extensions["deskwork.storage"].open()


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-href="/forms/new-item/(\d+)"', page)]


def link(page: str, rel_or_text: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"(?: rel="{rel_or_text}")?>{rel_or_text}</a>', page) or (
        re.search(rf'<a href="([^"]+)" rel="{rel_or_text}">', page)
    )
    return html.unescape(found.group(1)) if found else None


def every_page(client: FlaskClient, url: str) -> tuple[list[int], list[int]]:
    """All ids paging forward with Next from ``url``, and paging back with Previous from
    the Last page: each in the order the table shows them."""
    forward: list[int] = []
    page = text(client.get(url))
    seen = 0
    while True:
        forward += ids_on(page)
        nxt = link(page, "next")
        seen += 1
        assert seen < 40
        if nxt is None:
            break
        page = text(client.get(nxt))
    last = link(text(client.get(url)), "Last")
    backward: list[int] = []
    page = text(client.get(last)) if last else text(client.get(url))
    while True:
        backward = ids_on(page) + backward
        prev = link(page, "prev")
        if prev is None:
            break
        page = text(client.get(prev))
    return forward, backward


def expected(client: FlaskClient, order: str, where: str = "1", params=()) -> list[int]:
    with database(client) as db:
        return [r[0] for r in db.execute(f"SELECT i.id FROM items i LEFT JOIN people p "
                                         f"ON p.id = i.owner WHERE {where} ORDER BY {order}",
                                         params)]  # fmt: skip


SORTS = {
    "amount": "i.amount IS NOT NULL, i.amount, i.id",
    "-amount": "i.amount IS NULL, i.amount DESC, i.id DESC",
    "name": "i.name IS NOT NULL, i.name COLLATE NOCASE, i.id",
    "-name": "i.name IS NULL, i.name COLLATE NOCASE DESC, i.id DESC",
    "owner": "i.owner IS NOT NULL, p.name COLLATE NOCASE, p.id, i.id",
    "-owner": "i.owner IS NULL, p.name COLLATE NOCASE DESC, p.id DESC, i.id DESC",
    "-day": "i.day IS NULL, i.day DESC, i.id DESC",
    "kind": "i.kind IS NOT NULL, i.kind, i.id",
    "id": "i.id",
}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_forward_and_back_over_the_same_rows(client, sort):
    """Keyset pages of four over duplicate and empty values: forward from the first page
    and back from the last land on the same rows, in SQLite's order with id breaking ties."""
    forward, backward = every_page(client, f"/tables/items?sort={sort}")
    want = expected(client, SORTS[sort])
    assert forward == want
    assert backward == want


def test_a_header_sorts_one_way_then_the_other(client):
    page = text(client.get("/tables/items"))
    assert 'aria-sort="descending"' in page and '<a href="/tables/items?sort=amount"' in page
    ascending = text(client.get("/tables/items?sort=amount"))
    assert 'aria-sort="ascending"' in ascending
    assert '<a href="/tables/items?sort=-amount" title="Sort by Amount">Amount' in ascending


def test_filters_of_every_kind_match_sql(client):
    month_ago = TODAY - dt.timedelta(days=40)
    first, last = listing.preset_range("last-month", TODAY)
    year_first, year_last = listing.preset_range("this-year", TODAY)
    cases = {
        "kind=Desk&kind=Lamp": ("i.kind IN ('Desk', 'Lamp')", []),
        "owner=1&owner=4": ("i.owner IN (1, 4)", []),
        "done=yes": ("i.done = 1", []),
        "done=no": ("coalesce(i.done, 0) = 0", []),
        "amount.min=2.50&amount.max=1,000": ("i.amount BETWEEN 250 AND 100000", []),
        f"day.from={month_ago}&day.to={TODAY}": ("i.day BETWEEN ? AND ?",
                                                 [month_ago.isoformat(), TODAY.isoformat()]),
        "day.in=last-month": ("i.day BETWEEN ? AND ?", [first.isoformat(), last.isoformat()]),
        "day.in=this-year": ("i.day BETWEEN ? AND ?",
                             [year_first.isoformat(), year_last.isoformat()]),
        "note.has=TAXI": ("i.note LIKE '%taxi%'", []),
        "note.empty=yes": ("(i.note IS NULL OR i.note = '')", []),
        "note.empty=no": ("NOT (i.note IS NULL OR i.note = '')", []),
        "tags=Blue": ("i.tags LIKE '%Blue%'", []),
        "kind=Chair&done=yes&amount.min=1": ("i.kind = 'Chair' AND i.done = 1 AND i.amount >= 100",
                                             []),
    }  # fmt: skip
    for query, (where, params) in cases.items():
        forward, backward = every_page(client, f"/tables/items?{query}")
        want = expected(client, SORTS["-day"], where, params)
        assert forward == want == backward, query
        summary = client.get(f"/tables/items/summary?{query}").get_json()
        with database(client) as db:
            count, total = db.execute(
                f"SELECT count(*), coalesce(sum(amount), 0) FROM items i WHERE {where}", params
            ).fetchone()
        assert summary["count"] == count, query
        assert summary["totals"]["amount"] == items.fields["amount"].display(total), query
    assert {"Kind is Desk or Lamp", "Done: yes", "Note contains “TAXI”"} <= {
        c.text for q in cases for c in listing.read_view(
            tool.pages["items"], _args(q)).conditions
    }  # fmt: skip


def _args(query: str):
    from urllib.parse import parse_qsl

    from werkzeug.datastructures import MultiDict

    return MultiDict(parse_qsl(query))


def test_a_filter_in_use_can_be_removed_and_the_rest_stay(client):
    page = text(client.get("/tables/items?kind=Desk&done=yes&sort=amount"))
    remove = re.search(r'<a href="([^"]+)" aria-label="Remove filter: Kind is Desk">', page)
    assert remove
    assert html.unescape(remove.group(1)) == "/tables/items?sort=amount&done=yes"


def test_bad_filters_say_so_and_are_left_out(client):
    page = text(client.get("/tables/items?amount.min=lots&kind=Sofa&day.in=someday&sort=tags"))
    alerts = re.findall(r'role="alert">([^<]*)<', page)
    assert len(alerts) == 4, alerts
    assert ids_on(page) == expected(client, SORTS["-day"])[:4]  # the usual view


def test_search_finds_words_by_their_start_in_any_searched_column_and_in_names(client):
    cases = {
        "tax": "i.note LIKE '%taxi%' OR i.name LIKE 'tax%'",
        "ada": "i.name LIKE 'ada%' OR p.name LIKE 'ada%'",  # "Ada" rows and ada Lind's
        "chloe": "i.name = 'Chloé'",  # accents folded
        "zoe ben": "p.name = 'Zoe Park' AND (i.name LIKE 'ben%' OR p.name LIKE 'ben%')",
    }
    for q, where in cases.items():
        forward, backward = every_page(client, f"/tables/items?q={q}")
        want = expected(client, SORTS["-day"], where)
        assert want and forward == want == backward, q
        assert client.get(f"/tables/items/summary?q={q}").get_json()["count"] == len(want)
    # Combined with a filter and another sort.
    forward, _ = every_page(client, "/tables/items?q=ada&kind=Desk&sort=amount")
    assert forward == expected(
        client, SORTS["amount"], "(i.name LIKE 'ada%' OR p.name LIKE 'ada%') AND i.kind = 'Desk'"
    )


def test_search_by_a_looked_up_name_follows_an_edit_of_that_name(client):
    before = every_page(client, "/tables/items?q=Ode")[0]
    assert before == expected(client, SORTS["-day"], "i.owner = 3")
    with database(client) as db, db.conn:  # another program renames Ben Ode
        db.execute("UPDATE people SET name = 'Ben Okafor' WHERE id = 3")
    assert every_page(client, "/tables/items?q=Ode")[0] == []
    assert every_page(client, "/tables/items?q=okaf")[0] == before


def test_rows_written_by_another_program_are_found_counted_and_totalled(client):
    with database(client) as db, db.conn:
        db.table("items").insert({"name": "Walnut desk", "amount": 123456, "kind": "Desk"})
    page = text(client.get("/tables/items?q=walnut"))
    assert len(ids_on(page)) == 1
    summary = client.get("/tables/items/summary?q=walnut").get_json()
    assert summary == {"count": 1, "text": "1 item matches", "totals": {"amount": "1,234.56"}}


@pytest.mark.parametrize("q", ['"', "AND OR", "*", "NEAR(", "a'b", "\x00ada", "{kind}: x",
                               "ada*", "-ben", "^", "x" * 500, "((", "name:ada"])  # fmt: skip
def test_hostile_search_text_never_breaks_the_page(client, q):
    assert client.get("/tables/items", query_string={"q": q}).status_code == 200
    assert client.get("/tables/items/summary", query_string={"q": q}).status_code == 200
    assert client.get("/tables/items/facets", query_string={"q": q}).status_code == 200


def test_both_ways_of_searching_give_the_same_rows(client):
    """A common word is tested row by row, a rare one collected first: same rows."""
    page = tool.pages["items"]
    with database(client) as db:
        for q in ("a", "ta", "ben", "zoe ada", "lunch"):
            view = listing.read_view(page, _args(f"q={q}&sort=amount"))
            query = listing.Query(db, view)
            walked = listing._page(query, view, 50, per_row=True).rows
            collected = listing._page(query, view, 50, per_row=False).rows
            assert [r["id"] for r in walked] == [r["id"] for r in collected], q


def test_facets_count_each_value_leaving_out_their_own_filter(client):
    found = client.get("/tables/items/facets?kind=Desk&done=yes").get_json()
    with database(client) as db:
        kinds = dict(db.execute("SELECT kind, count(*) FROM items WHERE done = 1 "
                                "AND kind IS NOT NULL GROUP BY kind").fetchall())  # fmt: skip
        owners = dict(
            db.execute(
                "SELECT owner, count(*) FROM items WHERE done = 1 "
                "AND kind = 'Desk' AND owner IS NOT NULL GROUP BY owner"
            )
        )
    assert {v: n for v, _, n in found["kind"]} == kinds
    assert {v: n for v, _, n in found["owner"]} == owners
    assert {label for _, label, _ in found["owner"]} <= set(OWNERS)
    with database(client) as db:
        done = dict(db.execute("SELECT coalesce(done, 0), count(*) FROM items "
                               "WHERE kind = 'Desk' GROUP BY 1").fetchall())  # fmt: skip
    assert {v: n for v, _, n in found["done"]} == {"yes" if k else "no": n for k, n in done.items()}


def test_jump_goes_to_a_value_of_the_sort_column(client):
    page = text(client.get("/tables/items?sort=amount&jump=9.99"))
    shown = ids_on(page)
    want = expected(client, SORTS["amount"], "1")
    with database(client) as db:
        first = db.execute("SELECT min(id) FROM items WHERE amount = 999").fetchone()[0]
    assert shown[0] == first and shown == want[want.index(first) :][:4]
    assert link(page, "prev")
    bad = text(client.get("/tables/items?sort=amount&jump=soon"))
    assert "Can&#39;t go to" in bad
    past = text(client.get("/tables/items?sort=amount&jump=99999"))
    assert "No more rows this way" in past and link(past, "First")


def test_a_saved_row_is_shown_where_it_sorts_highlighted(client):
    with database(client) as db:
        old = db.execute("SELECT max(id) FROM items WHERE day = '2020-02-29'").fetchone()[0]
    page = text(client.get(f"/tables/items?at={old}"))
    assert old in ids_on(page)
    assert re.search(rf'<tr data-href="/forms/new-item/{old}" tabindex="0" class="saved"', page)
    assert 'aria-current="true"' in page


def test_a_key_from_a_stale_or_made_up_address_never_breaks_the_page(client):
    for after in ['[1,"x",5]', "[9,1]", "nonsense", "[]", "[1]", '[1,{"a":1},2]', "[0,null,3]"]:
        response = client.get("/tables/items", query_string={"after": after})
        assert response.status_code == 200, after
        response = client.get("/tables/items", query_string={"before": after})
        assert response.status_code == 200, after


def test_the_url_holds_the_whole_view(client):
    """Each link on a filtered, sorted, searched page keeps all three."""
    page = text(client.get("/tables/items?sort=amount&kind=Desk&q=a"))
    nxt = link(page, "next")
    if nxt:
        assert "sort=amount" in nxt and "kind=Desk" in nxt and "q=a" in nxt
        assert json.loads(unquote(re.search(r"after=([^&]+)", nxt).group(1)))
    for href in re.findall(r'<th scope="col"[^>]*><a href="([^"]+)"', page):
        assert "kind=Desk" in html.unescape(href) and "q=a" in html.unescape(href)


def test_a_looked_up_record_links_to_the_rows_that_look_it_up(client):
    with database(client) as db:
        count = db.execute("SELECT count(*) FROM items WHERE owner = 2").fetchone()[0]
    page = text(client.get("/forms/new-person/2"))
    assert f'<a href="/tables/items?owner=2">{count} items</a>' in page
    rows, _ = every_page(client, "/tables/items?owner=2")
    assert rows == expected(client, SORTS["-day"], "i.owner = 2")
    assert "<li>Owner is ada Lind <a" in text(client.get("/tables/items?owner=2"))  # in words


def test_columns_can_be_hidden_and_shown_and_the_choice_stays_in_the_address(client):
    page = text(client.get("/tables/items?cols=name&cols=note&cols=done&sort=name"))
    headers = re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?([A-Z][a-z]+)', page)
    assert headers == ["Name", "Done", "Note"]  # in the table's own order
    nxt = link(page, "next")
    assert nxt and "cols=name" in nxt and "cols=note" in nxt and "cols=done" in nxt
    usual = text(client.get("/tables/items?cols=nonsense"))
    assert re.findall(r'<th scope="col"[^>]*>(?:<a [^>]*>)?([A-Z][a-z]+)', usual) == [
        "Day", "Name", "Amount", "Kind", "Owner"]  # fmt: skip


def test_a_named_view_is_in_the_navigation_and_marked_when_shown(tmp_path):
    from deskwork import ToolError
    from fixture_tool import tool as expenses

    client = tool_client(expenses, tmp_path / "d.sqlite3", seed=True)
    home = text(client.get("/"))
    found = re.search(r'<a href="([^"]+)"\s*>This month&#39;s travel</a>', home)
    assert found
    address = html.unescape(found.group(1))
    assert address == "/tables/expenses?category=Travel&date.in=this-month"
    page = text(client.get(address))
    assert re.search(r'aria-current="page">This month&#39;s travel</a>', page)
    assert "<h1>This month&#39;s travel</h1>" in page
    first, last = listing.preset_range("this-month", TODAY)
    summary = client.get(address.replace("/tables/expenses?", "/tables/expenses/summary?"))
    with database(client) as db:
        count = db.execute(
            "SELECT count(*) FROM expenses WHERE category = 'Travel' AND date BETWEEN ? AND ?",
            [first.isoformat(), last.isoformat()],
        ).fetchone()[0]
    assert summary.get_json()["count"] == count
    plain = text(client.get("/tables/expenses"))
    assert re.search(r'aria-current="page">Expenses</a>', plain)
    with pytest.raises(ToolError, match="no column 'nope'"):
        expenses.table_view("Bad", expenses.pages["expenses"], filters={"nope": 1})
    with pytest.raises(ToolError, match="no date range"):
        expenses.table_view("Bad", expenses.pages["expenses"], filters={"date": "someday"})


def test_the_search_indexes_are_tidied_once_a_day_and_still_find_everything(client):
    storage = client.application.extensions["deskwork.storage"]
    day = dt.date(2026, 1, 5)
    before = every_page(client, "/tables/items?q=ada")[0]
    assert sorted(storage.tidy(tool, day)) == ["items", "people"]
    assert storage.tidy(tool, day) == []  # once a day
    assert sorted(storage.tidy(tool, day + dt.timedelta(days=1))) == ["items", "people"]
    assert every_page(client, "/tables/items?q=ada")[0] == before


def test_a_column_may_not_take_a_word_the_address_uses():
    from deskwork import ToolError

    for word in ("sort", "q", "last", "at", "slug"):
        with pytest.raises(ToolError, match=f"{word!r} is a word of a table page's address"):
            Tool("T").table("things", **{word: Text()})
    Tool("T").table("things", view=Text(), count=Text(), field=Text(), all=Text())  # fine


@pytest.mark.parametrize("query", [
    "day.to=9999-12-31", "day.from=0001-01-01", "after=[0,99999999999999999999999,1]",
    "before=[1,\"x\",99999999999999999999]", "sort=day&jump=9999-12-31", "at=999999999999999999",
])  # fmt: skip
def test_far_values_in_the_address_say_so_and_never_break_the_page(client, query):
    for path in ("/tables/items", "/tables/items/summary", "/tables/items/facets"):
        assert client.get(f"{path}?{query}").status_code == 200, (path, query)
    response = client.post("/tables/items/bulk", data={"_view": query, "_all": "1",
                                                       "_do": "delete"})  # fmt: skip
    assert response.status_code in (200, 303)


def test_sorting_by_a_lookup_whose_name_may_be_empty_keeps_every_row(tmp_path):
    t = Tool("Nicks")
    people = t.table("people", nick=Text())
    things = t.table("things", name=Text(), owner=Lookup(people, show="nick"))
    t.form("New thing", things)
    t.table_page("Things", things, order="owner", page_size=3)
    client = tool_client(t, tmp_path / "n.sqlite3")
    with database(client) as db, db.conn:
        db.table("people").insert_all([{"id": 1, "nick": "b"}, {"id": 2, "nick": None},
                                       {"id": 3, "nick": "A"}])  # fmt: skip
        db.table("things").insert_all(
            {"name": f"t{i}", "owner": [1, 2, 3, None][i % 4]} for i in range(14)
        )
    for sort in ("owner", "-owner"):
        forward, backward = [], []
        page = text(client.get(f"/tables/things?sort={sort}"))
        while True:
            forward += [int(i) for i in re.findall(r'data-href="/forms/new-thing/(\d+)"', page)]
            nxt = link(page, "next")
            if not nxt:
                break
            page = text(client.get(nxt))
        while True:
            backward = [int(i) for i in re.findall(r'data-href="/forms/new-thing/(\d+)"',
                                                    page)] + backward  # fmt: skip
            prev = link(page, "prev")
            if not prev:
                break
            page = text(client.get(prev))
        assert sorted(forward) == list(range(1, 15)) and backward == forward, sort
