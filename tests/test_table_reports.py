"""Reports declared from a table page without SQL (``Tool.table_report``), and how every
report runs: measures exact against SQL's own, rows within rows with subtotals, the
period's presets, a reversed range beside its field, each group opening exactly its
rows, exports and the JSON API, and SQL reports on a read-only connection with a time
limit that fail plainly."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import sqlite3
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from conftest import rows, text
from deskwork import Count, Date, Money, Sum, Text, Tool, ToolError
from deskwork.db import storage
from deskwork.filters import preset_range
from deskwork.testing import tool_client
from fixture_tool import expenses_page, tool

TOTALS = "/reports/category-totals"
MONTHLY = "/reports/monthly-by-category"


def sql(client, query: str, params: tuple = ()) -> list[tuple]:
    with client.application.extensions["deskwork.storage"].open() as db:
        return db.execute(query, params).fetchall()


def cents(shown: str) -> int:
    return int(Decimal(shown.replace(",", "")) * 100)


def table_rows(page: str) -> list[list[str]]:
    """The result table's rows (head and foot too) as the words in their cells."""
    body = page.split('<table class="rows groups">', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        found.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return found


def links(page: str) -> dict[str, str]:
    """Each result row's group label -> the address it links to."""
    body = page.split('<table class="rows groups">', 1)[1].split("</table>", 1)[0]
    return {label: href.replace("&amp;", "&")
            for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', body)}  # fmt: skip


def test_each_measure_of_a_declared_report_equals_sqls_own_to_the_cent(seeded_client):
    page = text(seeded_client.get(TOTALS))
    found = {r[0]: r[1:] for r in table_rows(page)[1:-1]}
    wanted = sql(seeded_client, "SELECT category, sum(amount), count(*), sum(amount), count(*), "
                 "min(amount), max(amount) FROM expenses GROUP BY category")  # fmt: skip
    assert len(found) == len(wanted) == 7
    for category, total, count, whole, n, low, high in wanted:
        shown = found[category]
        assert cents(shown[0]) == total and int(shown[1].replace(",", "")) == count
        average = (Decimal(whole) / n).quantize(Decimal(1), "ROUND_HALF_UP")
        assert cents(shown[2]) == average  # from the exact sum and count, half up
        assert (cents(shown[3]), cents(shown[4])) == (low, high)
    totals = table_rows(page)[-1]
    ((everything, count, low, high),) = sql(
        seeded_client, "SELECT sum(amount), count(*), min(amount), max(amount) FROM expenses"
    )
    assert totals[0] == "Total" and cents(totals[1]) == everything
    assert int(totals[2].replace(",", "")) == count
    assert (cents(totals[4]), cents(totals[5])) == (low, high)
    # sort="-total": largest first
    assert [cents(v[0]) for v in found.values()] == sorted(
        (cents(v[0]) for v in found.values()), reverse=True
    )


def test_rows_within_rows_have_subtotals_equal_to_sql_and_a_stacked_chart(seeded_client):
    page = text(seeded_client.get(MONTHLY))
    wanted = dict(((m, c), (t, n)) for m, c, t, n in sql(
        seeded_client, "SELECT substr(date, 1, 7), category, sum(amount), count(*) "
        "FROM expenses GROUP BY 1, 2"))  # fmt: skip
    months = dict(
        (m, t)
        for m, t in sql(
            seeded_client, "SELECT substr(date, 1, 7), sum(amount) FROM expenses GROUP BY 1"
        )
    )
    subtotals = re.findall(r'<tr class="subtotal"><th scope="row">Subtotal</th><td class="num">'
                           r"([^<]+)</td>", page)  # fmt: skip
    assert [cents(s) for s in subtotals] == [months[m] for m in sorted(months)]  # in time
    first = sorted(months)[0]
    shown = dict(re.findall(r"<th scope=\"row\"><a [^>]+>(\w+)</a></th><td class=\"num\">"
                            r"([^<]+)</td>", page.split("Subtotal", 1)[0]))  # fmt: skip
    assert {c: cents(v) for c, v in shown.items()} == {
        c: t for (m, c), (t, _) in wanted.items() if m == first
    }
    assert 'class="chart chart-stacked"' in page
    assert page.count('class="swatch') == 7  # a colour per category, in the legend


def test_the_period_preset_this_year_keeps_exactly_that_years_rows(seeded_client):
    first, last = preset_range("this-year", dt.date.today())
    page = text(seeded_client.get(f"{TOTALS}?period=this-year"))
    ((total, count),) = sql(
        seeded_client,
        "SELECT sum(amount), count(*) FROM expenses WHERE date BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    )
    foot = table_rows(page)[-1]
    assert (cents(foot[1]), int(foot[2].replace(",", ""))) == (total, count)
    assert f"Period: This year: {first.isoformat()} to {last.isoformat()}" in page
    assert '<option value="this-year" selected>This year</option>' in page


def test_a_custom_range_reads_from_and_to_and_a_reversed_one_is_an_error_beside_to(
    seeded_client,
):
    page = text(seeded_client.get(f"{TOTALS}?period=&start=2025-03-01&end=2025-03-31"))
    ((total,),) = sql(
        seeded_client,
        "SELECT sum(amount) FROM expenses WHERE date BETWEEN '2025-03-01' AND '2025-03-31'",
    )
    assert cents(table_rows(page)[-1][1]) == total
    # From and To without a period: the range they say (as a link or a script means it)
    same = text(seeded_client.get(f"{TOTALS}?start=2025-03-01&end=2025-03-31"))
    assert cents(table_rows(same)[-1][1]) == total
    reversed_ = seeded_client.get(f"{TOTALS}?period=&start=2025-03-31&end=2025-03-01")
    assert reversed_.status_code == 400
    page = text(reversed_)
    error = re.search(r'id="p-end-error"[^>]*>([^<]+)<', page)
    assert error and "before From" in error.group(1)
    assert 'aria-invalid="true"' in page.split('id="p-end"', 1)[1].split(">", 1)[0]
    assert "No rows" not in page and "Correct the parameters above." in page
    bad = seeded_client.get(f"{TOTALS}?period=&start=2025-02-30")
    assert bad.status_code == 400 and 'id="p-start-error"' in text(bad)
    unknown = seeded_client.get(f"{TOTALS}?period=next-decade")
    assert unknown.status_code == 400 and 'id="p-period-error"' in text(unknown)


def groups_shown(page: str) -> list[tuple[str, str, int]]:
    """(address, total, count) of each group and subtotal the result table links."""
    body = page.split('<table class="rows groups">', 1)[1].split("</table>", 1)[0]
    found = []
    for section in re.split(r"<tbody[^>]*>", body)[1:]:
        first = re.search(r'<th scope="rowgroup"[^>]*><a href="([^"]+)">', section)
        if first:
            sub = re.search(r'class="subtotal">.*?<td class="num">([^<]+)</td>'
                            r'<td class="num">([^<]+)</td>', section, re.S)  # fmt: skip
            found.append((first.group(1), sub.group(1), int(sub.group(2).replace(",", ""))))
        for href, total, count in re.findall(
                r'<th scope="row"><a href="([^"]+)">[^<]*</a></th><td class="num">([^<]+)</td>'
                r'<td class="num">([^<]+)</td>', section):  # fmt: skip
            found.append((href, total, int(count.replace(",", ""))))
    return [(h.replace("&amp;", "&"), t, n) for h, t, n in found]


def test_each_group_and_subtotal_opens_the_table_page_with_its_count_and_total(seeded_client):
    for address in (f"{TOTALS}?period=last-year", MONTHLY):
        shown = groups_shown(text(seeded_client.get(address)))
        assert len(shown) >= 7
        for href, total, count in shown[:40]:
            parts = urlsplit(href)
            assert parts.path == "/tables/expenses"
            summary = seeded_client.get("/tables/expenses/summary",
                                        query_string=parse_qsl(parts.query)).json  # fmt: skip
            assert (summary["count"], summary["totals"]["amount"]) == (count, total), href


def test_employee_parameter_narrows_to_that_employees_rows(seeded_client):
    ((employee, name),) = sql(seeded_client, "SELECT id, name FROM employees LIMIT 1")
    page = text(seeded_client.get(f"{TOTALS}?employee={employee}"))
    ((total,),) = sql(
        seeded_client, "SELECT sum(amount) FROM expenses WHERE employee = ?", (employee,)
    )
    assert cents(table_rows(page)[-1][1]) == total
    assert f"employee={employee}" in next(iter(links(page).values()))
    assert f"Employee: {name}" in page  # the parameters, on the page (and on paper)


def test_a_declared_reports_export_and_json_are_its_rows(seeded_client):
    page = text(seeded_client.get(f"{TOTALS}?period=last-year"))
    shown = table_rows(page)[1:-1]
    response = seeded_client.get("/reports/category-totals/export/csv?period=last-year")
    assert response.status_code == 200
    exported = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert exported[0][:3] == ["Category", "Total", "Expenses"]
    assert [(r[0], cents(r[1])) for r in exported[1 : len(shown) + 1]] == [
        (r[0], cents(r[1])) for r in shown
    ]
    assert exported[len(shown) + 1][0] == "Total"


def test_a_declared_report_answers_the_json_api(seeded_client):
    token = seeded_client.application.config.get("DESKWORK_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    found = seeded_client.get("/api/reports/category-totals?period=last-year",
                              headers=headers).json  # fmt: skip
    first, last = preset_range("last-year", dt.date.today())
    ((total,),) = sql(
        seeded_client,
        "SELECT sum(amount) FROM expenses WHERE date BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    )
    assert Decimal(found["totals"]["total"]) * 100 == total
    assert {r["category"] for r in found["rows"]} <= set(
        c for (c,) in sql(seeded_client, "SELECT DISTINCT category FROM expenses")
    )


def test_declaring_a_report_checks_every_word(tmp_path):
    cases = [
        (dict(by="note"), "can't be grouped by 'note'"),
        (dict(by="category", values={"x": Sum("category")}), "money or number"),
        (dict(by="category", values={"x": Sum("nothing")}), "no column 'nothing'"),
        (dict(by="category", sort="-nothing"), "names none of the values"),
        (dict(by="category", dates="amount"), "not a date column"),
        (dict(by="category", dates="date", period="someday"), "none of"),
        (dict(by="category", params=["note"]), "choice and lookup"),
        (dict(by="category", chart="radar"), "no chart 'radar'"),
        (dict(by=("date.month", "category", "employee")), "one or two"),
    ]
    for kw, words in cases:
        with pytest.raises(ToolError, match=re.escape(words)):
            tool.table_report("Wrong", expenses_page, **kw)
    with pytest.raises(ToolError, match="table's page"):
        tool.table_report("Wrong", expenses_page.table, by="category")  # type: ignore[arg-type]


def sql_tool(function) -> Tool:
    made = Tool("Reports", templates=None)
    things = made.table("things", name=Text(), amount=Money(), day=Date())
    made.table_page("Things", things)
    made.report("Things report", columns={"name": Text()})(function)
    return made


def test_a_reports_sql_runs_read_only_and_a_write_fails_plainly_with_nothing_changed(
    tmp_path,
    caplog,
):
    def sneaky(db):
        db.execute("INSERT INTO things (name) VALUES ('written by a report')")
        return db.query("SELECT name FROM things")

    client = tool_client(sql_tool(sneaky), tmp_path / "r.sqlite3")
    with caplog.at_level(logging.ERROR, logger="deskwork"):
        response = client.get("/reports/things-report")
    assert response.status_code == 500
    page = text(response)
    assert "Things report could not be made: its query failed (OperationalError)" in page
    assert "Traceback" not in page and "readonly" not in page
    assert rows(client, "things") == []  # nothing written
    assert any("Things report" in r.getMessage() and r.exc_info for r in caplog.records)
    assert client.get("/reports/things-report/export/csv").status_code == 302  # to the page


def test_a_runaway_report_is_stopped_at_its_time_limit(tmp_path, monkeypatch):
    def forever(db):
        return db.query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                        "SELECT count(*) AS name FROM n")  # fmt: skip

    monkeypatch.setattr(storage, "READ_LIMIT_S", 0.3)
    client = tool_client(sql_tool(forever), tmp_path / "r.sqlite3")
    started = dt.datetime.now()
    response = client.get("/reports/things-report")
    assert (dt.datetime.now() - started).total_seconds() < 10
    assert response.status_code == 500
    assert "took longer than 0.3 s and was stopped" in text(response)
    assert client.get("/").status_code == 200  # the tool goes on


def test_the_read_only_connection_refuses_writes(tmp_path):
    client = tool_client(sql_tool(lambda db: []), tmp_path / "r.sqlite3")
    reading = client.application.extensions["deskwork.storage"].reading()
    with reading as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM things")


def test_an_empty_period_shows_no_rows_and_no_chart(client):
    page = text(client.get(f"{TOTALS}?period=this-month"))
    assert "No rows for these parameters." in page
    assert "<svg" not in page
    counted = Count()
    assert counted.value(counted.combine([])) == 0


def test_the_dashboards_headlines_are_this_month_so_far_against_last_month_to_the_same_day(
    seeded_client,
):
    today = dt.date.today()
    first = today.replace(day=1)
    before = (first - dt.timedelta(days=1)).replace(day=1)
    last_before = min(before + (today - first), first - dt.timedelta(days=1))
    page = text(seeded_client.get("/"))
    (now_cents, now_count), = sql(seeded_client, "SELECT coalesce(sum(amount), 0), count(*) "
                                  "FROM expenses WHERE date BETWEEN ? AND ?",
                                  (first.isoformat(), today.isoformat()))  # fmt: skip
    (_then_cents, then_count), = sql(seeded_client, "SELECT coalesce(sum(amount), 0), count(*) "
                                    "FROM expenses WHERE date BETWEEN ? AND ?",
                                    (before.isoformat(), last_before.isoformat()))  # fmt: skip
    shown = dict(re.findall(r'<span class="what">([^<]+)</span>\s*<span class="value">'
                            r"<a [^>]+>([^<]+)</a>", page))  # fmt: skip
    assert cents(shown["Spent"]) == now_cents
    assert int(shown["Expenses"].replace(",", "")) == now_count
    change = (now_count - then_count) / then_count
    sign = "+" if change > 0 else "\N{MINUS SIGN}"
    assert (
        f"{sign}{abs(change):.1%}</span> against {then_count:,} last month to the same day" in page
    )
    assert 'aria-labelledby="chart-category-totals"' in page and "<svg" in page
    assert 'data-events="/events"' in page and 'id="live-dashboard" data-live' in page


def test_declaring_a_dashboard_checks_its_words():
    with pytest.raises(ToolError, match="not a date column"):
        tool.dashboard(expenses_page, dates="note", headlines={"n": Count()})
    with pytest.raises(ToolError, match="period='last-week' is none of"):
        tool.dashboard(expenses_page, dates="date", period="last-week", headlines={"n": Count()})
    with pytest.raises(ToolError, match="charts= takes reports with a chart"):
        tool.dashboard(expenses_page, dates="date", headlines={"n": Count()}, charts=["x"])


@pytest.mark.parametrize("today,period,wanted", [
    (dt.date(2025, 12, 31), "this-year", (dt.date(2024, 1, 1), dt.date(2024, 12, 31))),
    (dt.date(2025, 3, 1), "this-quarter", (dt.date(2024, 10, 1), dt.date(2024, 12, 1))),
    (dt.date(2025, 3, 31), "this-month", (dt.date(2025, 2, 1), dt.date(2025, 2, 28))),
    (dt.date(2024, 2, 29), "this-year", (dt.date(2023, 1, 1), dt.date(2023, 2, 28))),
    (dt.date(2026, 1, 15), "this-month", (dt.date(2025, 12, 1), dt.date(2025, 12, 15))),
])  # fmt: skip
def test_the_previous_period_runs_to_the_same_day_of_it(today, period, wanted):
    from deskwork.grouping import Dashboard

    board = Dashboard(expenses_page, "date", period, {}, {}, [])
    now, before = board.spans(today)
    assert now[1] == today and before == wanted
