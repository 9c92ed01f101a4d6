"""What a tool author writes beside the declared pages: function forms, plain Flask views,
blueprints and templates of their own."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Blueprint, render_template

from deskwork import Integer, Money, Number, Text, Tool, ToolError, ValidationError, get_db
from deskwork.testing import tool_client


def test_the_reimbursement_estimate_adds_mileage_and_nights(client):
    page = client.get("/functions/reimbursement-estimate?_run=1&distance=120.5&nights=2").text
    assert "<output>282.18</output>" in page  # 120.5 km x 0.35 = 42.175 -> 42.18, + 240.00
    assert 'value="120.5"' in page and 'value="2"' in page


def test_the_reimbursement_estimate_checks_its_inputs_like_any_form(client):
    response = client.get("/functions/reimbursement-estimate?_run=1&distance=-3&nights=x")
    assert response.status_code == 400
    assert 'id="p-distance-error">Distance in km must be at least 0.0.' in response.text
    assert 'id="p-nights-error">Nights away must be a whole number' in response.text
    assert "<output>" not in response.text
    blank = client.get("/functions/reimbursement-estimate?_run=1&distance=0&nights=")
    assert "Enter a distance or a number of nights to estimate." in blank.text


def test_a_function_form_shows_nothing_before_it_is_asked(client):
    page = client.get("/functions/reimbursement-estimate")
    assert page.status_code == 200
    assert "<output>" not in page.text and "must be" not in page.text


def test_a_function_form_may_return_rows_with_a_chart_or_named_values(tmp_path):
    tool = Tool("Loans")

    @tool.function_form(
        "Repayments",
        columns={"month": Integer("Month"), "payment": Money("Payment")},
        chart=("month", "payment"),
    )
    def repayments(principal: Decimal, months: int) -> list[dict[str, object]]:
        return [{"month": m + 1, "payment": principal / months} for m in range(months)]

    @tool.function_form("Split", columns={"each": Money("Each")})
    def split(total: Decimal, people: int = 2) -> dict[str, object]:
        return {"each": total / people, "people": people}

    client = tool_client(tool, tmp_path / "loans.sqlite3")
    page = client.get("/functions/repayments?_run=1&principal=100&months=3").text
    assert page.count("<rect ") == 3
    assert page.count('<td class="num">33.33</td>') == 3  # rounded half up, to the cent
    named = client.get("/functions/split?_run=1&total=10&people=").text
    assert "<dt>Each</dt><dd>5.00</dd>" in named  # a blank argument takes its default
    assert "<dt>People</dt><dd>2</dd>" in named


def test_function_arguments_need_a_field_or_a_known_type():
    tool = Tool("T")
    with pytest.raises(ToolError, match=r"declare its field in params="):

        @tool.function_form("F")
        def f(thing: object) -> int:
            return 1

    with pytest.raises(ToolError, match="has no argument typo"):

        @tool.function_form("G", params={"typo": Number()})
        def g(amount: Decimal) -> Decimal:
            return amount


def test_a_function_may_read_the_database_and_refuse_its_inputs(tmp_path):
    tool = Tool("Shop")
    items = tool.table("items", name=Text(), price=Money())

    @tool.function_form("Price check", result=Money("Price"))
    def price_check(db, name: str) -> Decimal:
        found = db.execute("select price from items where name = ?", [name]).fetchone()
        if found is None:
            raise ValidationError(f"No item is called {name}.")
        return Money.from_cents(found[0])

    assert items.name == "items"
    client = tool_client(tool, tmp_path / "shop.sqlite3")
    with client.application.extensions["deskwork.storage"].open() as db, db.conn:
        db.table("items").insert({"name": "Tea", "price": 350})
    once = re.search(r'name="_once" value="([^"]+)"', client.get("/functions/price-check").text)
    asked = client.post(
        "/functions/price-check", data={"_run": "1", "_once": once[1], "name": "Tea"}
    )
    assert "<output>3.50</output>" in asked.text
    twice = client.post(
        "/functions/price-check", data={"_run": "1", "_once": once[1], "name": "Tea"}
    )
    assert "it did not run twice" in twice.text and "<output>" not in twice.text
    assert 'name="_once" value="' in asked.text  # a fresh token for the next run
    made_up = client.post("/functions/price-check", data={"_run": "1", "_once": "b", "name": "Tea"})
    assert "it did not run" in made_up.text and "<output>" not in made_up.text
    missing = client.submit("/functions/price-check", {"_run": "1", "name": "Gin"})
    assert missing.status_code == 400 and "No item is called Gin." in missing.text
    # It may write, so a link (GET) never runs it, and another site cannot post to it.
    assert "<output>" not in client.get("/functions/price-check?_run=1&name=Tea").text
    assert (
        '<form method="post" class="record function"' in client.get("/functions/price-check").text
    )
    foreign = client.post(
        "/functions/price-check",
        data={"_run": "1", "name": "Tea"},
        headers={"Origin": "http://127.0.0.1:8000"},
    )
    assert foreign.status_code == 403


def test_a_model_taking_floats_gets_floats(tmp_path):
    tool = Tool("Model")

    @tool.function_form("Predict", result=Number("Score", places=3))
    def predict(x: float, weight: float = 0.5) -> float:
        assert type(x) is float and type(weight) is float
        return x * weight

    client = tool_client(tool, tmp_path / "m.sqlite3")
    assert "<output>1.234</output>" in client.get("/functions/predict?_run=1&x=2.468").text


def test_plain_flask_views_blueprints_and_templates_share_the_tools_look(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "count.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Count</h1><p>{{ n }} things</p>'
        "{% endblock %}",
        encoding="utf-8",
    )
    tool = Tool("Things", templates=templates)
    tool.table("things", name=Text())

    @tool.page("Count")
    def count() -> str:
        n = get_db().execute("select count(*) from things").fetchone()[0]
        return render_template("count.html", n=n)

    extra = Blueprint("extra", __name__)

    @extra.get("/extra/today")
    def today() -> str:
        return dt.date(2026, 11, 25).isoformat()

    tool.add_blueprint(extra)
    client = tool_client(tool, tmp_path / "things.sqlite3")
    page = client.get("/pages/count").text
    assert "<p>0 things</p>" in page
    assert '<a class="brand" href="/">Things</a>' in page  # the shared base template
    assert '<a href="/pages/count"' in client.get("/").text  # listed with the pages
    assert client.get("/extra/today").text == "2026-11-25"


def test_a_tools_own_base_template_extends_deskworks_and_dresses_every_page(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "base.html").write_text(
        '{% extends "deskwork/base.html" %}'
        '{% block head %}<meta name="team" content="Finance">{% endblock %}'
        "{% block footer %}<footer>Kept by the finance team</footer>{% endblock %}",
        encoding="utf-8",
    )
    (templates / "about.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>About</h1>{% endblock %}', encoding="utf-8"
    )
    tool = Tool("Things", templates=templates)
    things = tool.table("things", name=Text())
    tool.form("New thing", things)

    @tool.page("About")
    def about() -> str:
        return render_template("about.html")

    client = tool_client(tool, tmp_path / "things.sqlite3")
    for address in ("/", "/forms/new-thing", "/pages/about", "/nowhere"):
        page = client.get(address).text
        assert "<footer>Kept by the finance team</footer>" in page, address
        assert '<meta name="team" content="Finance">' in page, address
        assert '<a class="brand" href="/">Things</a>' in page, address  # deskwork's own bar
    assert "<h1>About</h1>" in client.get("/pages/about").text


def test_the_tools_own_views_are_behind_the_secret_too(tmp_path):
    tool = Tool("T")

    @tool.page("Hello")
    def hello() -> str:
        return "hello"

    client = tool_client(tool, tmp_path / "t.sqlite3")
    assert client.get("/pages/hello").text == "hello"
    client.delete_cookie("deskwork_5999", domain="127.0.0.1")
    assert client.get("/pages/hello").status_code == 403


def test_templates_default_to_a_folder_beside_the_tool_file():
    tool = Tool("T")
    assert tool.template_folder is not None
    assert tool.template_folder.parent == Path(__file__).parent
