"""Declaring a tool: clear errors for mistakes, readable names; the schema follows the
declarations."""

from __future__ import annotations

import pytest

from deskwork import (
    Date,
    Integer,
    LongText,
    Lookup,
    Money,
    Number,
    SchemaError,
    Text,
    Tool,
    ToolError,
)
from deskwork.db.storage import Storage


def prepared(path, **columns):
    """A tool with one table, "things", of ``columns``, prepared on ``path``."""
    tool = Tool("T")
    tool.table("things", **columns)
    Storage(path).prepare(tool)
    return tool


def test_a_lookup_to_an_undeclared_table_is_refused():
    tool = Tool("T")
    with pytest.raises(ToolError, match="declare that table first"):
        tool.table("expenses", employee=Lookup("employees"))


def test_two_pages_with_one_title_are_refused():
    tool = Tool("T")
    things = tool.table("things", name=Text())
    tool.form("Things", things)
    with pytest.raises(ToolError, match="Two pages are called 'Things'"):
        tool.table_page("Things", things)


def test_a_table_page_must_name_real_columns():
    tool = Tool("T")
    things = tool.table("things", name=Text())
    with pytest.raises(ToolError, match="no column 'size'"):
        tool.table_page("List", things, order="-size")


@pytest.mark.parametrize("name", ["Bad Name", "1st", "drop;table"])
def test_table_and_field_names_must_be_plain_identifiers(name):
    with pytest.raises(ToolError):
        Tool("T").table(name, a=Text())
    with pytest.raises(ToolError):
        Tool("T").table("ok", **{name: Text()})


def test_deskworks_own_table_names_are_kept_for_it():
    with pytest.raises(ToolError, match="deskwork's own"):
        Tool("T").table("_deskwork_files", name=Text())


@pytest.mark.parametrize(
    ("title", "name"),
    [("Dépenses", "depenses"), ("Straße", "strasse"), ("Œuvres", "oeuvres"),
     ("Łódź 2024", "lodz-2024"), ("Crème brûlée!", "creme-brulee"), ("Expenses", "expenses")],
)  # fmt: skip
def test_a_tool_is_named_from_its_title_with_accents_folded_not_letters_dropped(title, name):
    assert Tool(title).name == name


def test_page_addresses_fold_accents_as_the_tools_name_does():
    tool = Tool("Dépenses")
    things = tool.table("things", name=Text())
    assert tool.form("Nouvelle dépense", things).slug == "nouvelle-depense"
    assert tool.table_page("Übersicht", things).slug == "ubersicht"


def test_a_title_with_no_latin_letter_or_digit_asks_for_a_name():
    with pytest.raises(ToolError, match=r"as in Tool\('費用', name='expenses'\)"):
        Tool("費用")
    assert Tool("費用", name="feiyong").name == "feiyong"
    assert Tool("Расходы 2024").name == "2024"  # a digit is enough


def test_a_page_title_with_no_latin_letter_or_digit_is_refused_clearly():
    tool = Tool("T")
    things = tool.table("things", name=Text())
    with pytest.raises(ToolError, match=r"has no letter from a to z or digit.*add one"):
        tool.form("新费用", things)


@pytest.mark.parametrize(
    ("table", "one"),
    [("categories", "category"), ("expenses", "expense"), ("addresses", "address"),
     ("boxes", "box"), ("status", "status"), ("statuses", "status"), ("employees", "employee"),
     ("classes", "class"), ("loans", "loan"), ("people", "person"), ("children", "child"),
     ("series", "series"), ("news", "news"), ("houses", "house"), ("buses", "bus"),
     ("matches", "match"), ("analyses", "analysis"), ("kpis", "kpi"), ("days", "day"),
     ("ties", "tie"), ("data", "data"), ("inventory", "inventory")],
)  # fmt: skip
def test_a_row_is_called_by_its_table_name_in_the_singular(table, one):
    assert Tool("T").table(table, name=Text()).record_name == one


def test_only_the_last_word_of_a_table_name_is_made_singular():
    tool = Tool("T")
    assert tool.table("expense_claims", name=Text()).record_name == "expense claim"
    assert tool.table("news_items", name=Text()).record_name == "news item"
    assert tool.table("status_changes", name=Text()).record_name == "status change"


def test_columns_added_later_are_migrated_without_losing_rows(tmp_path):
    path = tmp_path / "m.sqlite3"
    prepared(path, name=Text())
    with Storage(path).open() as db, db.conn:
        db.table("things").insert_all([{"name": "a"}, {"name": "b"}])

    prepared(path, name=Text(), price=Money(), bought=Date())
    with Storage(path).open() as db:
        assert db.table("things").columns_dict == {
            "id": int, "name": str, "price": int, "bought": str
        }  # fmt: skip
        assert [r["name"] for r in db.table("things").rows] == ["a", "b"]


def test_a_change_that_would_lose_data_stops_with_a_clear_message(tmp_path):
    path = tmp_path / "m.sqlite3"
    prepared(path, price=Money())
    with pytest.raises(
        SchemaError, match="saved as numbers with 2 decimals and is now declared text"
    ):
        prepared(path, price=Text())


def test_a_refused_declaration_changes_no_table_not_even_one_declared_before_it(tmp_path):
    path = tmp_path / "r.sqlite3"
    first = Tool("T")
    first.table("places", name=Text())
    first.table("things", price=Money())
    Storage(path).prepare(first)
    second = Tool("T")
    second.table("places", name=Text(), size=Integer())  # would be added...
    second.table("things", price=Text())  # ...but this is refused
    with pytest.raises(SchemaError, match=r"things\.price was saved as numbers"):
        Storage(path).prepare(second)
    with Storage(path).open() as db:
        assert db.table("places").columns_dict == {"id": int, "name": str}


def test_table_pages_get_an_index_per_sortable_column_and_full_text_search(tmp_path):
    tool = Tool("T")
    things = tool.table("things", name=Text(), day=Date(), notes=LongText())
    tool.table_page("Things", things, order="-day", search=["name"])
    storage = Storage(tmp_path / "i.sqlite3")
    storage.prepare(tool)
    with storage.open() as db:
        # Long text is not sorted by, so it gets none.
        assert sorted(i.columns for i in db.table("things").indexes) == [
            ["day", "id"], ["name", "id"]]  # fmt: skip
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM things ORDER BY name COLLATE NOCASE, id LIMIT 5"
        ).fetchall()
        assert "INDEX _deskwork_sort:things:name" in str(plan)
        assert db.table("things").detect_fts() == "things_fts"


def test_indexes_no_longer_wanted_are_dropped_and_older_ones_replaced(tmp_path):
    path = tmp_path / "x.sqlite3"
    with Storage(path).open() as db, db.conn:  # as deskwork 0.2 left it
        db.table("things").create({"id": int, "name": str, "day": str}, pk="id")
        db.table("things").create_index(["day", "id"])
    first = Tool("T")
    things = first.table("things", name=Text(), day=Date())
    first.table_page("Things", things, order="-day", columns=["day", "name"])
    Storage(path).prepare(first)
    with Storage(path).open() as db:
        names = {i.name for i in db.table("things").indexes}
    assert names == {"_deskwork_sort:things:day", "_deskwork_sort:things:name"}
    second = Tool("T")
    things = second.table("things", name=Text(), day=Date())
    second.table_page("Things", things, order="-day", columns=["day"])
    Storage(path).prepare(second)
    with Storage(path).open() as db:
        assert {i.name for i in db.table("things").indexes} == {"_deskwork_sort:things:day"}


def fts_rootpage(path):
    with Storage(path).open() as db:
        found = db.execute("select rootpage from sqlite_master where name = 'things_fts'")
        return found.fetchone()[0]


def test_full_text_search_follows_the_searched_columns_and_is_not_rebuilt_for_nothing(tmp_path):
    path = tmp_path / "f.sqlite3"
    first = Tool("T")
    things = first.table("things", name=Text(), note=Text())
    first.table_page("Things", things, search=["name"])
    Storage(path).prepare(first)
    with Storage(path).open() as db, db.conn:
        db.table("things").insert({"name": "lamp", "note": "blue shade"})
    built = fts_rootpage(path)
    Storage(path).prepare(first)
    assert fts_rootpage(path) == built  # same columns: left as it is

    second = Tool("T")
    things = second.table("things", name=Text(), note=Text())
    second.table_page("Things", things, search=["name", "note"])
    Storage(path).prepare(second)
    with Storage(path).open() as db:
        assert db.table("things").search("shade") and db.table("things_fts").columns_dict == {
            "name": str, "note": str
        }  # fmt: skip


def test_a_column_declared_unique_later_is_checked_against_the_rows_there(tmp_path):
    path = tmp_path / "u.sqlite3"
    first = Tool("T")
    first.table("things", code=Text())
    Storage(path).prepare(first)
    with Storage(path).open() as db, db.conn:
        db.table("things").insert_all([{"code": "A"}, {"code": "A"}])
    second = Tool("T")
    second.table("things", code=Text(unique=True))
    second.table("later", name=Text())
    with pytest.raises(SchemaError, match="declared unique, but 2 rows hold 'A'"):
        Storage(path).prepare(second)
    with Storage(path).open() as db:
        assert "later" not in db.table_names()  # refused before any change
    with Storage(path).open() as db:
        assert db.table("things").count == 2  # nothing lost


def test_a_change_of_meaning_with_the_same_sql_type_is_refused_too(tmp_path):
    path = tmp_path / "k.sqlite3"
    prepared(path, weight=Integer())
    with Storage(path).open() as db, db.conn:
        db.table("things").insert({"weight": 12})
    with pytest.raises(SchemaError, match="saved as whole numbers and is now declared numbers "
                                          "with 2 decimals"):  # fmt: skip
        prepared(path, weight=Number())  # 12 would read as 0.12
    prepared(path, weight=Integer("Weight in kg", min=0))  # same meaning: fine
    with Storage(path).open() as db:
        assert list(db.table("things").rows) == [{"id": 1, "weight": 12}]


def test_a_text_column_made_elsewhere_becomes_money_only_if_it_holds_whole_cents(tmp_path):
    path = tmp_path / "t.sqlite3"
    with Storage(path).open() as db, db.conn:
        db.table("things").insert_all([{"id": 1, "price": "12.50"}], pk="id")
    with pytest.raises(SchemaError, match="holds 1 values that are not whole numbers"):
        prepared(path, price=Money())
    with Storage(path).open() as db, db.conn:
        db.execute("update things set price = 1250")
    prepared(path, price=Money())
    with Storage(path).open() as db, db.conn:
        assert db.table("things").columns_dict["price"] is int  # sorts and sums as numbers
        db.table("things").insert_all([{"price": 999}, {"price": 10000}])
        assert [r[0] for r in db.execute("select price from things order by price")] == [
            999, 1250, 10000
        ]  # fmt: skip


def test_a_lookup_added_later_gets_its_foreign_key(tmp_path):
    path = tmp_path / "l.sqlite3"
    tool = Tool("T")
    tool.table("places", name=Text())
    tool.table("things", name=Text())
    Storage(path).prepare(tool)
    later = Tool("T")
    places = later.table("places", name=Text())
    later.table("things", name=Text(), place=Lookup(places))
    Storage(path).prepare(later)
    with Storage(path).open() as db:
        assert [(fk.column, fk.other_table) for fk in db.table("things").foreign_keys] == [
            ("place", "places")
        ]  # fmt: skip


def test_a_served_database_is_whole_again_once_let_go(tmp_path):
    path = tmp_path / "w.sqlite3"
    storage = Storage(path)
    prepared(path, name=Text())
    storage.hold()
    with storage.open() as db, db.conn:  # a request: its close is not the last one
        db.table("things").insert({"name": "kept"})
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    storage.let_go()  # the last connection closes: SQLite checkpoints the WAL
    assert not wal.exists()
    with storage.open() as db:
        assert [r["name"] for r in db.table("things").rows] == ["kept"]


def test_a_unique_index_of_a_similar_name_is_kept(tmp_path):
    """sqlite-utils names a unique column's index idx_staff_team_id, as deskwork 0.2 named
    the (team, id) index of a page sorted by team: only the latter goes."""
    path = tmp_path / "u.sqlite3"
    tool = Tool("T")
    staff = tool.table("staff", team=Text(), team_id=Integer(unique=True))
    tool.table_page("Staff", staff, order="team")
    Storage(path).prepare(tool)
    Storage(path).prepare(tool)
    with Storage(path).open() as db:
        unique = {i.name for i in db.table("staff").indexes if i.unique}
        assert "idx_staff_team_id" in unique
        with pytest.raises(Exception, match="UNIQUE"), db.conn:
            db.table("staff").insert_all([{"team_id": 1}, {"team_id": 1}])


def test_column_names_starting_with_an_underscore_are_refused():
    with pytest.raises(ToolError, match="names starting with _"):
        Tool("T").table("things", _count=Integer())


def test_a_page_given_a_tables_name_instead_of_the_table_says_so_at_once():
    tool = Tool("T")
    tool.table("visits", note=Text())
    with pytest.raises(ToolError, match=r"'New visit': give the table itself, as tool.table"):
        tool.form("New visit", "visits")  # type: ignore[arg-type]
