"""Charts drawn on the server (``deskwork.charts``): round ticks with zero among them,
negative values below the axis (left of it for bars), stacks that add up, time spaced as
time, pies of positive values that say what they leave out, and every mark's words."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from conftest import text
from deskwork import charts


def series(values, name="Total", hrefs=None) -> charts.Series:
    return charts.Series(name, values, [f"{v:,.2f}" if v is not None else "" for v in values],
                         hrefs or [None] * len(values))  # fmt: skip


def write(v: float) -> str:
    return f"{v:,g}"


def rect(mark: charts.Mark) -> tuple[float, float, float, float]:
    a = mark.attrs
    return float(a["x"]), float(a["y"]), float(a["width"]), float(a["height"])


@pytest.mark.parametrize(
    "low,high", [(0, 7), (0, 123_456), (-50, 20), (-3, -1), (0, 0), (0.2, 0.9)]
)
def test_ticks_are_round_cover_the_values_and_include_zero(low, high):
    found = charts.ticks(low, high)
    assert found[0] <= min(low, 0) and found[-1] >= max(high, 0) and 0 in found
    steps = {round(b - a, 9) for a, b in itertools.pairwise(found)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
    assert round(mantissa, 6) in (1, 2, 5)
    assert 2 <= len(found) <= 12


def test_negative_columns_go_below_the_zero_line_and_stacks_add_up():
    fig = charts.draw("stacked", "t", ["Jan", "Feb"],
                      [series([100.0, -40.0], "A"), series([50.0, 30.0], "B")], write)  # fmt: skip
    zero = next(y1 for _, y1, _, _, css in fig.lines if css == "axis")
    jan_a, jan_b, feb_a, _feb_b = (rect(m) for m in fig.marks)  # category by category
    assert jan_a[1] + jan_a[3] == pytest.approx(zero, abs=0.1)  # standing on zero
    assert jan_b[1] + jan_b[3] == pytest.approx(jan_a[1], abs=0.1)  # on top of A
    assert feb_a[1] == pytest.approx(zero, abs=0.1) and feb_a[3] > 0  # hanging below
    per_unit = jan_a[3] / 100
    assert jan_b[3] == pytest.approx(50 * per_unit, abs=0.2)
    assert fig.legend == [("s0", "A"), ("s1", "B")]
    assert [m.title for m in fig.marks] == ["Jan, A: 100.00", "Jan, B: 50.00", "Feb, A: -40.00",
                                            "Feb, B: 30.00"]  # fmt: skip


def test_a_negative_bar_runs_left_of_zero_and_is_marked():
    fig = charts.draw("bar", "t", ["Refunds", "Travel"], [series([-25.0, 75.0])], write)
    zero = next(x1 for x1, _, _, _, css in fig.lines if css == "axis")
    refund, travel = (rect(m) for m in fig.marks)
    assert refund[0] + refund[2] == pytest.approx(zero, abs=0.1) and refund[0] < zero
    assert travel[0] == pytest.approx(zero, abs=0.1)
    assert travel[2] == pytest.approx(3 * refund[2], abs=0.5)
    assert "negative" in fig.marks[0].css and "negative" not in fig.marks[1].css


def test_a_line_over_dates_is_spaced_as_time():
    days = [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 31)]
    fig = charts.draw("line", "t", ["1 Jan", "2 Jan", "31 Jan"], [series([1.0, 2.0, 3.0])],
                      write, days=days)  # fmt: skip
    xs = [float(m.attrs["cx"]) for m in fig.marks if m.shape == "circle"]
    assert (xs[2] - xs[1]) == pytest.approx(29 * (xs[1] - xs[0]), rel=0.01)
    area = charts.draw("area", "t", ["a", "b"], [series([1.0, -1.0])], write)
    assert any("area" in m.css and m.attrs["d"].endswith("Z") for m in area.marks)


def test_a_pie_shows_positive_values_and_says_what_it_leaves_out():
    fig = charts.draw("donut", "t", ["A", "B", "C"], [series([30.0, 10.0, -5.0])], write)
    assert [m.title for m in fig.marks] == ["A: 30.00 (75%)", "B: 10.00 (25%)"]
    assert "negative" in fig.note
    whole = charts.draw("pie", "t", ["A"], [series([5.0])], write)
    assert whole.marks[0].attrs["d"].count("A") == 2  # one slice: the whole disc


def test_many_or_long_labels_are_cut_and_rotated_with_the_whole_in_their_title():
    names = [f"A rather long category name {i}" for i in range(12)]
    fig = charts.draw("stacked", "t", names, [series([float(i) for i in range(12)])], write)
    below = [t for t in fig.texts if t.rotate]
    assert len(below) == 12 and all(len(t.text) <= 18 and t.full in names for t in below)


def test_report_pages_draw_each_declared_chart_type(seeded_client):
    for kind in ("bar", "stacked", "line", "area", "pie", "donut"):
        page = seeded_client.application.extensions["deskwork.tool"].pages["monthly-by-category"]
        page.chart_type = kind
        try:
            html = text(seeded_client.get("/reports/monthly-by-category"))
        finally:
            page.chart_type = "stacked"
        svg = re.search(r'<svg class="chart chart-(\w+)"[^>]*aria-label="([^"]+)"', html)
        assert svg and svg.group(1) == kind, kind
        assert svg.group(2).startswith(f"{kind.capitalize()} chart of Total by Date")
        assert re.search(r'<a href="/tables/expenses\?[^"]+" aria-label="[^"]+: [\d,.]+', html)


def test_a_line_sorted_by_its_values_is_still_drawn_in_time_within_the_chart():
    days = [dt.date(2026, 3, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]  # by value
    fig = charts.draw("line", "t", ["March", "January", "February"],
                      [series([9.0, 1.0, 5.0])], write, days=days)  # fmt: skip
    xs = [float(m.attrs["cx"]) for m in fig.marks if m.shape == "circle"]
    assert all(80 <= x <= charts.WIDTH for x in xs)
    assert xs[1] < xs[2] < xs[0]  # January, February, March from left to right
    line = next(m for m in fig.marks if "line" in m.css).attrs["d"]
    firsts = [float(p.split(",")[0]) for p in line.lstrip("M").split(" L")]
    assert firsts == sorted(firsts)


def test_values_that_are_no_length_are_left_out_not_a_failure():
    assert [charts.as_number(v) for v in ("inf", "nan", "-inf", "12.5", None, True)] == [
        None, None, None, 12.5, None, None]  # fmt: skip
