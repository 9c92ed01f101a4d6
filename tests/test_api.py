"""The JSON API: lists as the table pages filter them, records checked by the forms'
rules, the version check, the bin, reports, the token and the document."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from conftest import add_employee, rows
from deskwork.testing import TEST_PORT, tool_client
from fixture_tool import tool

TOKEN = "a-token-for-tests"


@pytest.fixture
def api(tmp_path: Path) -> FlaskClient:
    """The tests' tool with one employee, an API token set, and no cookie: a program."""
    client = tool_client(tool, tmp_path / "api.sqlite3", DESKWORK_API_TOKEN=TOKEN)
    add_employee(client, "Ada Okafor")
    client.delete_cookie(f"deskwork_{TEST_PORT}", domain="127.0.0.1")
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client


def new_expense(api: FlaskClient, **overrides: object) -> dict[str, object]:
    body = {"date": "2026-03-04", "amount": "1234.56", "category": "Travel", "employee": 1,
            "note": "Train to Leeds", **overrides}  # fmt: skip
    response = api.post("/api/tables/expenses", json=body)
    assert response.status_code == 201, response.json
    return dict(response.json)


def test_a_new_record_is_checked_saved_and_sent_back_exactly(api: FlaskClient) -> None:
    made = new_expense(api, tags=["Urgent", "Billable"], paid_by_card=True)
    assert made["amount"] == "1234.56"  # an exact decimal string, never a float
    assert made["vat"] == "205.76"  # computed as the form computes it
    assert made["tags"] == ["Billable", "Urgent"]  # in the choices' order
    assert made["paid_by_card"] is True and made["employee"] == 1
    assert made["receipt"] is None and isinstance(made["_version"], str)
    saved = rows(api)[0]
    assert saved["amount"] == 123456 and saved["date"] == "2026-03-04"
    where = api.get(f"/api/tables/expenses/{made['id']}")
    assert where.json == made and where.headers["ETag"] == f'"{made["_version"]}"'


def test_numbers_are_read_the_same_whatever_the_desks_locale(tmp_path: Path) -> None:
    client = tool_client(tool, tmp_path / "de.sqlite3", locale="de_DE", DESKWORK_API_TOKEN=TOKEN)
    add_employee(client)
    body = b'{"date": "2026-03-04", "amount": 12.5, "category": "Meals", "employee": 1}'
    made = client.post("/api/tables/expenses", data=body, content_type="application/json")
    assert made.status_code == 201 and made.json["amount"] == "12.50"
    grouped = client.post(
        "/api/tables/expenses",
        json={"date": "2026-03-04", "amount": "1.234,56", "category": "Meals", "employee": 1},
    )
    assert grouped.status_code == 400 and "amount" in grouped.json["errors"]


def test_a_bad_record_gets_every_fields_error_and_nothing_is_saved(api: FlaskClient) -> None:
    response = api.post("/api/tables/expenses", json={
        "date": "2026-02-30", "amount": "0", "category": "Cake", "employee": "Nobody",
        "paid_by_card": "maybe",
    })  # fmt: skip
    assert response.status_code == 400
    errors = response.json["errors"]
    assert set(errors) >= {"date", "amount", "category", "employee", "paid_by_card"}
    assert "No employee is called “Nobody”" in errors["employee"]
    assert "true or false" in errors["paid_by_card"]
    assert rows(api) == []


def test_a_lookup_may_be_given_by_the_name_it_shows(api: FlaskClient) -> None:
    assert new_expense(api, employee="ada okafor")["employee"] == 1
    add_employee(api, "Ada Okafor")
    twice = api.post(
        "/api/tables/expenses",
        json={"date": "2026-03-04", "amount": "5", "category": "Meals", "employee": "Ada Okafor"},
    )
    assert twice.status_code == 400 and "More than one" in twice.json["errors"]["employee"]


def test_unknown_fields_wrong_kinds_and_non_json_are_refused(api: FlaskClient) -> None:
    unknown = api.post("/api/tables/expenses", json={"amount": "5", "colour": "red"})
    assert unknown.status_code == 400 and unknown.json["errors"] == {"colour": "No such field."}
    float_kind = api.post("/api/tables/expenses", json={"note": 5})
    assert float_kind.status_code == 400 and "must be text" in float_kind.json["errors"]["note"]
    form = api.post("/api/tables/expenses", data={"amount": "5"})
    assert form.status_code == 415 and "JSON" in form.json["error"]
    broken = api.post("/api/tables/expenses", data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.json == {"error": "The body is not JSON."}
    listed = api.post("/api/tables/expenses", json=[1, 2])
    assert listed.status_code == 400
    assert api.post("/api/tables/nothing", json={}).status_code == 404
    assert rows(api) == []


def test_a_change_needs_the_version_it_was_made_from(api: FlaskClient) -> None:
    made = new_expense(api)
    path = f"/api/tables/expenses/{made['id']}"
    unsure = api.patch(path, json={"note": "Train to York"})
    assert unsure.status_code == 428
    changed = api.patch(path, json={"note": "Train to York", "_version": made["_version"]})
    assert changed.status_code == 200
    assert changed.json["note"] == "Train to York" and changed.json["amount"] == "1234.56"
    stale = api.patch(path, json={"amount": "1.00", "_version": made["_version"]})
    assert stale.status_code == 409
    assert stale.json["current"]["note"] == "Train to York"
    assert rows(api)[0]["amount"] == 123456  # nothing written
    by_header = api.patch(path, json={"amount": "2.00"},
                          headers={"If-Match": f'"{changed.json["_version"]}"'})  # fmt: skip
    assert by_header.status_code == 200 and by_header.json["amount"] == "2.00"


def test_a_change_is_checked_whole_by_the_forms_rules(api: FlaskClient) -> None:
    made = new_expense(api)
    path = f"/api/tables/expenses/{made['id']}"
    bad = api.patch(path, json={"category": "Hardware", "amount": "1500.00",
                                "_version": made["_version"]})  # fmt: skip
    assert bad.status_code == 400  # the form's own check: a receipt for large hardware
    assert "receipt" in bad.json["errors"]
    assert rows(api)[0]["category"] == "Travel"


def test_a_delete_goes_to_the_bin_and_is_undone(api: FlaskClient) -> None:
    made = new_expense(api)
    deleted = api.delete(f"/api/tables/expenses/{made['id']}")
    assert deleted.status_code == 200 and deleted.json["deleted"] == made["id"]
    assert api.get(f"/api/tables/expenses/{made['id']}").status_code == 404
    assert rows(api) == []
    undone = api.post(deleted.json["undo"])
    assert undone.status_code == 200
    assert undone.json["undone"] == [{"table": "expenses", "id": made["id"]}]
    assert api.get(f"/api/tables/expenses/{made['id']}").json["note"] == "Train to Leeds"
    again = api.post(deleted.json["undo"])
    assert again.status_code == 404 and "undone already" in again.json["error"]


def test_a_record_looked_up_elsewhere_is_not_deleted(api: FlaskClient) -> None:
    new_expense(api)
    refused = api.delete("/api/tables/employees/1")
    assert refused.status_code == 409 and refused.json["error"]
    assert rows(api, "employees")


def test_the_list_filters_sorts_and_pages_as_the_table_page_does(
    seeded_client: FlaskClient,
) -> None:
    client = seeded_client
    first = client.get("/api/tables/expenses?category=Travel&sort=-amount")
    assert first.status_code == 200
    page = first.json["rows"]
    assert len(page) == 50 and {r["category"] for r in page} == {"Travel"}
    amounts = [Decimal(r["amount"]) for r in page]
    assert amounts == sorted(amounts, reverse=True)
    assert first.json["previous"] is None
    second = client.get(first.json["next"]).json
    assert Decimal(second["rows"][0]["amount"]) <= amounts[-1]
    assert not {r["id"] for r in second["rows"]} & {r["id"] for r in page}
    back = client.get(second["previous"]).json["rows"]
    assert [r["id"] for r in back] == [r["id"] for r in page]
    counted = client.get("/api/tables/expenses/count?category=Travel").json
    with client.application.extensions["deskwork.storage"].open() as db:
        travel = db.execute("SELECT count(*), sum(amount) FROM expenses WHERE category = 'Travel'")
        count, cents = travel.fetchone()
    assert counted["count"] == count
    assert counted["totals"]["amount"] == str(Decimal(cents).scaleb(-2))
    searched = client.get("/api/tables/expenses?q=taxi").json["rows"]
    assert searched and all("taxi" in r["note"].lower() for r in searched)


def test_a_mistyped_filter_is_an_error_not_every_row(api: FlaskClient) -> None:
    typo = api.get("/api/tables/expenses?categroy=Travel")
    assert typo.status_code == 400 and "categroy" in typo.json["error"]
    unreadable = api.get("/api/tables/expenses?amount.min=lots")
    assert unreadable.status_code == 400 and "amount" in unreadable.json["error"].lower()


def test_a_report_answers_with_its_parameters(api: FlaskClient) -> None:
    new_expense(api, amount="10.05")
    new_expense(api, amount="0.10", category="Meals")
    found = api.get("/api/reports/spending-by-category?start=2026-01-01&end=2026-12-31").json
    assert found["parameters"] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert found["rows"] == [{"category": "Travel", "total": "10.05"},
                             {"category": "Meals", "total": "0.10"}]  # fmt: skip
    assert found["totals"] == {"total": "10.15"}
    bad = api.get("/api/reports/spending-by-category?start=soon")
    assert bad.status_code == 400 and "start" in bad.json["errors"]
    assert api.get("/api/reports/spending-by-category?colour=red").status_code == 400


def test_a_program_needs_the_token(api: FlaskClient) -> None:
    assert api.get("/api/tables/expenses").status_code == 200
    del api.environ_base["HTTP_AUTHORIZATION"]
    bare = api.get("/api/tables/expenses")
    assert bare.status_code == 401 and "API file" in bare.json["error"]
    wrong = api.get("/api/tables/expenses", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401 and "out of date" in wrong.json["error"]
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    basic = api.get("/api/tables/expenses", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    other_host = api.get("/api/tables/expenses", headers={"Authorization": f"Bearer {TOKEN}",
                                                          "Host": "evil.example"})  # fmt: skip
    assert other_host.status_code == 403


def test_the_tools_own_pages_may_call_the_api_with_their_cookie(client: FlaskClient) -> None:
    assert client.get("/api/tables/expenses").status_code == 200
    # No token was set for this run: a bearer can't get in.
    refused = client.get("/api/tables/expenses", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401
    other_site = client.post("/api/tables/expenses", json={},
                             headers={"Origin": "https://evil.example"})  # fmt: skip
    assert other_site.status_code == 403 and rows(client) == []


def test_no_other_site_gets_cors_unless_configured(tmp_path: Path) -> None:
    origin = "https://intranet.example"
    closed = tool_client(tool, tmp_path / "a.sqlite3", DESKWORK_API_TOKEN=TOKEN)
    answer = closed.get(
        "/api/tables/expenses", headers={"Origin": origin, "Authorization": f"Bearer {TOKEN}"}
    )
    assert "Access-Control-Allow-Origin" not in answer.headers
    opened = tool_client(tool, tmp_path / "b.sqlite3", DESKWORK_API_TOKEN=TOKEN,
                         DESKWORK_API_ORIGINS=(origin,))  # fmt: skip
    preflight = opened.options("/api/tables/expenses", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    with_token = opened.get("/api/tables/expenses", headers={
        "Origin": origin, "Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert with_token.status_code == 200
    assert with_token.headers["Access-Control-Allow-Origin"] == origin
    without = opened.get("/api/tables/expenses", headers={"Origin": origin})
    assert without.status_code == 401  # the cookie is never enough for another site
    others = opened.get(
        "/api/tables/expenses",
        headers={"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"},
    )
    assert "Access-Control-Allow-Origin" not in others.headers
    page = opened.get("/tables/expenses", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in page.headers  # the API only


def test_the_document_describes_every_table_and_report(api: FlaskClient) -> None:
    doc = api.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert {
        "/api/tables/expenses",
        "/api/tables/expenses/{record_id}",
        "/api/tables/employees",
        "/api/reports/spending-by-category",
    } <= set(doc["paths"])
    schema = doc["components"]["schemas"]["Expenses"]["properties"]
    assert schema["amount"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert schema["vat"]["readOnly"] is True
    assert schema["category"]["enum"][:2] == ["Travel", "Meals"]
    words = {p["name"] for p in doc["paths"]["/api/tables/expenses"]["get"]["parameters"]}
    assert {"category", "amount.min", "date.in", "note.has", "q", "sort", "after"} <= words
    made = new_expense(api)
    assert set(made) == set(schema)


def test_the_apis_page_is_readable_and_linked_from_home(client: FlaskClient) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'href="/api/"' in home and "API for other programs" in home
    page = client.get("/api/").get_data(as_text=True)
    assert "<h1>Expenses API</h1>" in page and "<table>" in page
    assert "GET /api/tables/expenses" in page and "openapi.json" in page
    assert "Authorization" in page


def test_json_errors_for_missing_things_and_methods(api: FlaskClient) -> None:
    missing = api.get("/api/tables/expenses/99")
    assert missing.status_code == 404 and "no expense #99" in missing.json["error"]
    assert api.get("/api/nothing").status_code == 404 and api.get("/api/nothing").is_json
    put = api.put("/api/tables/expenses/1", json={})
    assert put.status_code == 405 and put.is_json and "PATCH" in put.headers["Allow"]


def test_the_body_keeps_exact_decimals(api: FlaskClient) -> None:
    body = json.dumps({"date": "2026-03-04", "amount": 0.1, "category": "Meals", "employee": 1})
    made = api.post("/api/tables/expenses", data=body, content_type="application/json")
    assert made.json["amount"] == "0.10" and rows(api)[0]["amount"] == 10
    too_fine = api.post(
        "/api/tables/expenses",
        json={"date": "2026-03-04", "amount": "0.105", "category": "Meals", "employee": 1},
    )
    assert too_fine.status_code == 400 and "two decimals" in too_fine.json["errors"]["amount"]
