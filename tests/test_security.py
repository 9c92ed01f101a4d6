"""The localhost threat model: secret, Host, Origin, headers, errors, loopback only."""

from __future__ import annotations

import http.client

import pytest

from deskwork import Text, Tool
from deskwork.app import create_app
from deskwork.security import cookie_name
from deskwork.testing import TEST_PORT, TEST_SECRET, tool_client

HOST = f"127.0.0.1:{TEST_PORT}"


@pytest.fixture
def anonymous(client):
    """A client without the secret's cookie."""
    client.delete_cookie(cookie_name(TEST_PORT), domain="127.0.0.1")
    return client


def test_a_request_without_the_secret_is_refused(anonymous):
    response = anonymous.get("/")
    assert response.status_code == 403
    assert "Expenses" not in response.get_data(as_text=True).split("<main>")[1]


def test_a_wrong_secret_is_refused(anonymous):
    assert anonymous.get("/?token=guess").status_code == 403
    anonymous.set_cookie(cookie_name(TEST_PORT), "guess", domain="127.0.0.1")
    assert anonymous.get("/").status_code == 403


def test_the_first_address_swaps_the_secret_for_a_strict_cookie(anonymous):
    response = anonymous.get(f"/tables/expenses?token={TEST_SECRET}&q=taxi")
    assert response.status_code == 303
    assert response.headers["Location"] == "/tables/expenses?q=taxi"  # secret out of history
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{cookie_name(TEST_PORT)}={TEST_SECRET};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert anonymous.get("/tables/expenses?q=taxi").status_code == 200


def test_the_windows_first_address_serves_its_page_at_once_with_the_same_cookie(anonymous):
    response = anonymous.get(f"/?window_token={TEST_SECRET}")
    assert response.status_code == 200 and "<h1>Expenses</h1>" in response.text
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{cookie_name(TEST_PORT)}={TEST_SECRET};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert anonymous.get("/tables/expenses").status_code == 200  # the cookie does the rest
    assert "Set-Cookie" not in anonymous.get("/").headers  # set once, not on every page


def test_a_wrong_window_secret_or_a_post_with_it_is_refused(anonymous):
    assert anonymous.get("/?window_token=guess").status_code == 403
    assert anonymous.post(f"/forms/new-expense?window_token={TEST_SECRET}").status_code == 403


@pytest.mark.parametrize("host", ["evil.com", "evil.com:5999", "127.0.0.1:80", "localhost"])
def test_a_foreign_host_header_is_refused(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 403


@pytest.mark.parametrize("host", [f"127.0.0.1:{TEST_PORT}", f"localhost:{TEST_PORT}"])
def test_the_tools_own_hosts_are_served(client, host):
    client.set_cookie(cookie_name(TEST_PORT), TEST_SECRET, domain=host.split(":")[0])
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.com"},
        {"Origin": "http://127.0.0.1:1234"},  # another localhost server: same site, not origin
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_origin_post_is_refused_and_saves_nothing(client, headers):
    response = client.post("/forms/new-expense", data={"amount": "1"}, headers=headers)
    assert response.status_code == 403
    with client.application.extensions["deskwork.storage"].open() as db:
        assert db.table("expenses").count == 0


def test_a_same_origin_post_is_let_through(client):
    headers = {"Origin": f"http://{HOST}", "Sec-Fetch-Site": "same-origin"}
    response = client.post("/forms/new-expense", data={"amount": "1"}, headers=headers)
    assert response.status_code == 400  # reached the form, which wants more fields


def test_every_response_forbids_framing_and_sniffing_and_allows_no_cors(client, anonymous):
    for response in (client.get("/"), client.get("/static/deskwork.css"), anonymous.get("/")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in response.headers


def test_static_files_need_the_secret_too(anonymous):
    assert anonymous.get("/static/deskwork.css").status_code == 403


def test_an_unexpected_error_is_a_plain_500_page_and_there_is_no_console(tmp_path):
    tool = Tool("Crashy")
    tool.table("things", name=Text())

    @tool.page("Boom")  # a plain view of the tool's (a report's failure has its own words)
    def boom():
        raise RuntimeError("internal detail: /secret/path")

    client = tool_client(tool, tmp_path / "c.sqlite3")
    response = client.get("/pages/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "internal detail" not in body and "Traceback" not in body
    assert client.get("/console").status_code == 404
    assert client.application.debug is False


def test_the_app_never_runs_with_the_debugger_by_default(tmp_path):
    tool = Tool("Plain")
    tool.table("things", name=Text())
    app = create_app(tool, tmp_path / "p.sqlite3")
    assert app.debug is False
    assert len(app.config["DESKWORK_SECRET"]) >= 32


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as the kernel lists them) listening on ``port``, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                if local.endswith(f":{port:04X}") and state == "0A":  # 0A: LISTEN
                    found.append(local)
    return found


def test_the_live_server_listens_on_loopback_only(live_server):
    # Read the kernel's own socket tables rather than probing other addresses.
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=5)
    try:
        connection.request("GET", "/")
        assert connection.getresponse().status == 403  # there, and locked
    finally:
        connection.close()
    assert _listeners(live_server.port) == [f"0100007F:{live_server.port:04X}"]  # 127.0.0.1


@pytest.mark.parametrize("debug", [False, True])
def test_a_refusal_is_its_own_status_and_message_in_development_mode_too(tmp_path, debug):
    # Under --reload the app runs in debug mode: a DeskworkError (here a conflict, raised
    # by a report) is still its 409 and its message, never the debugger's 500.
    from deskwork.errors import Conflict

    tool = Tool("Refusing")
    tool.table("things", name=Text())

    @tool.report("Clash")
    def clash(db):
        raise Conflict({"id": 1}, "v1")

    client = tool_client(tool, tmp_path / "r.sqlite3", DEBUG=debug)
    assert client.application.debug is debug
    response = client.get("/reports/clash")
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
