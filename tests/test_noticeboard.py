"""examples/noticeboard, a plain Flask app (Flask-Login, Flask-WTF's CSRF protection), run
behind deskwork's security: through the test client, and in a real browser on a real server."""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import Client

from deskwork.testing import TEST_PORT, app_client

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "noticeboard"
BASE = f"http://127.0.0.1:{TEST_PORT}"
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def noticeboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The example's package, imported from a copy: its instance folder is made there."""
    copy = tmp_path / "noticeboard-example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "instance"))
    monkeypatch.syspath_prepend(str(copy))
    import noticeboard

    assert Path(noticeboard.__file__).is_relative_to(copy)
    yield noticeboard
    for name in [n for n in sys.modules if n == "noticeboard" or n.startswith("noticeboard.")]:
        del sys.modules[name]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "nb.sqlite"


@pytest.fixture
def app(noticeboard, database: Path) -> Flask:
    app = noticeboard.create_app({"DATABASE": str(database), "SECRET_KEY": "test"})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert result.output == "Initialized the database.\n"
    return app


@pytest.fixture
def client(app: Flask) -> Client:
    return app_client(app)


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: Client, path: str) -> str:
    """The token in the form at ``path``, as a browser would send it back."""
    response = client.get(path)
    assert response.status_code == 200
    match = CSRF_INPUT.search(text(response))
    assert match, f"no csrf_token input on {path}"
    return match.group(1)


def register(client: Client, username: str = "ann", password: str = "s3cret!"):
    token = csrf_token(client, "/auth/register")
    form = {"csrf_token": token, "username": username, "password": password}
    return client.post("/auth/register", data=form, follow_redirects=True)


def log_in(client: Client, username: str = "ann", password: str = "s3cret!"):
    token = csrf_token(client, "/auth/login")
    form = {"csrf_token": token, "username": username, "password": password}
    return client.post("/auth/login", data=form, follow_redirects=True)


def post_notice(client: Client, title: str, body: str):
    token = csrf_token(client, "/create")
    form = {"csrf_token": token, "title": title, "body": body}
    return client.post("/create", data=form, follow_redirects=True)


def rows(database: Path, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(query, params).fetchall()


def test_init_db_creates_the_tables_in_the_configured_file(app, database, tmp_path):
    tables = rows(database, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert ("notice",) in tables and ("user",) in tables
    # The instance folder was made in the copy, not in the repository.
    assert Path(app.instance_path) == tmp_path / "noticeboard-example" / "instance"
    assert Path(app.instance_path).is_dir()
    assert not (EXAMPLE / "instance").exists()


def test_the_board_shows_the_welcome_line_from_package_data(client):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert '<p class="welcome">Notices for the whole office.</p>' in page
    assert "No notices yet." in page
    assert 'href="/auth/register">Register</a>' in page
    assert 'href="/auth/login">Log in</a>' in page
    assert 'href="/static/style.css"' in page
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"  # Guard's headers
    with client.get("/static/style.css") as stylesheet:
        assert stylesheet.status_code == 200
        assert "font-family" in text(stylesheet)


def test_without_deskwork_s_secret_nothing_is_served(app):
    anonymous = app_client(app)
    anonymous.delete_cookie(f"deskwork_{TEST_PORT}", domain="127.0.0.1")
    response = anonymous.get("/")
    assert response.status_code == 403
    assert "Notices for the whole office." not in text(response)


def test_register_log_in_post_and_see_the_notice(client, database):
    registered = register(client)
    assert registered.request.path == "/auth/login"
    assert "Registered: you can log in now." in text(registered)
    (stored,) = rows(database, "SELECT username, password FROM user")
    assert stored[0] == "ann" and stored[1] != "s3cret!"  # hashed

    logged_in = log_in(client)
    assert logged_in.request.path == "/"
    page = text(logged_in)
    assert "Welcome, ann." in page
    assert 'href="/create">New notice</a>' in page
    assert 'href="/auth/logout">Log out</a>' in page

    posted = post_notice(client, "Fire drill", "Thursday at 10:00, meet in the car park.")
    assert posted.request.path == "/"
    page = text(posted)
    assert "Notice posted." in page
    assert "<h3>Fire drill</h3>" in page
    assert "Thursday at 10:00, meet in the car park." in page
    assert "by ann on " in page
    assert rows(database, "SELECT title, likes FROM notice") == [("Fire drill", 0)]


def test_notices_are_listed_newest_first(client):
    register(client)
    log_in(client)
    post_notice(client, "First", "one")
    post_notice(client, "Second", "two")
    page = text(client.get("/"))
    assert page.index("<h3>Second</h3>") < page.index("<h3>First</h3>")


def test_a_taken_username_and_a_wrong_password_are_refused(client, database):
    register(client)
    again = register(client)
    assert again.request.path == "/auth/register"
    assert "User ann is already registered." in text(again)
    wrong = log_in(client, password="guess")
    assert wrong.request.path == "/auth/login"
    assert "Incorrect username or password." in text(wrong)
    assert 'href="/auth/logout"' not in text(wrong)
    assert rows(database, "SELECT count(*) FROM user") == [(1,)]


def test_posting_needs_a_login(client):
    response = client.get("/create")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Fcreate"


def test_a_post_without_the_csrf_token_is_refused_by_flask_wtf(client, database):
    register(client)
    log_in(client)
    response = client.post("/create", data={"title": "Sneaky", "body": "no token"})
    assert response.status_code == 400
    assert "The CSRF token is missing." in text(response)
    bad = client.post("/create", data={"csrf_token": "forged", "title": "Sneaky", "body": "x"})
    assert bad.status_code == 400
    assert "The CSRF token is invalid." in text(bad)
    assert rows(database, "SELECT count(*) FROM notice") == [(0,)]


def test_like_by_json_post_with_the_csrf_header(client, database):
    register(client)
    log_in(client)
    post_notice(client, "Cake", "In the kitchen.")
    (notice_id,) = rows(database, "SELECT id FROM notice")[0]
    page = text(client.get("/"))
    token = CSRF_META.search(page).group(1)
    assert f'data-url="/{notice_id}/like">Like</button>' in page

    for expected in (1, 2):
        response = client.post(f"/{notice_id}/like", headers={"X-CSRFToken": token})
        assert response.status_code == 200
        assert response.is_json
        assert response.get_json() == {"likes": expected}
    assert rows(database, "SELECT likes FROM notice") == [(2,)]

    same_site = client.post(f"/{notice_id}/like", headers={"X-CSRFToken": token, "Origin": BASE})
    assert same_site.get_json() == {"likes": 3}
    assert client.post("/999/like", headers={"X-CSRFToken": token}).status_code == 404
    assert client.post(f"/{notice_id}/like").status_code == 400  # no token: Flask-WTF
    # Another origin is stopped by deskwork's Guard, before Flask-WTF sees the request.
    other = client.post(
        f"/{notice_id}/like",
        headers={"X-CSRFToken": token, "Origin": "http://evil.example"},
    )
    assert other.status_code == 403
    assert "Requests from other sites are refused." in text(other)
    assert rows(database, "SELECT likes FROM notice") == [(3,)]


def test_log_out(client):
    register(client)
    log_in(client)
    response = client.get("/auth/logout", follow_redirects=True)
    page = text(response)
    assert "Logged out." in page
    assert 'href="/auth/login">Log in</a>' in page
    assert 'href="/create"' not in page
    assert client.get("/create").status_code == 302


@pytest.fixture
def serving(app: Flask, tmp_path: Path) -> Iterator[object]:
    """The example on deskwork's real server (cheroot on 127.0.0.1), behind its Guard."""
    from deskwork.desktop.launch import AppServing
    from deskwork.desktop.settings import Settings

    settings = Settings.load({"DESKWORK_DATA_DIR": str(tmp_path / "data")})  # its secret key
    serving = AppServing(app, "Noticeboard", settings)
    serving.start()
    try:
        yield serving
    finally:
        serving.stop()


@pytest.mark.browser
def test_in_a_browser_register_log_in_post_like_and_log_out(browser, serving, database):
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    fetched: list[tuple[str, int]] = []
    page.on("response", lambda r: fetched.append((r.request.method, r.status)))
    try:
        page.goto(serving.first_url)
        assert page.url == serving.url  # the token swapped for a cookie, gone from the address
        assert page.title() == "Notices - Noticeboard"
        expect(page.locator(".welcome")).to_have_text("Notices for the whole office.")
        expect(page.locator("link[rel=stylesheet]")).to_have_attribute("href", "/static/style.css")

        page.get_by_role("navigation").get_by_role("link", name="Register").click()
        page.get_by_label("Username").fill("chloé")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_role("button", name="Register").click()
        page.wait_for_url(f"{serving.url}auth/login")
        expect(page.get_by_role("status")).to_have_text("Registered: you can log in now.")

        page.get_by_label("Username").fill("chloé")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(serving.url)
        expect(page.get_by_role("status")).to_have_text("Welcome, chloé.")

        page.get_by_role("link", name="New notice").click()
        page.get_by_label("Title").fill("Boiler service")
        page.get_by_label("Body").fill("No hot water on Friday morning.")
        page.get_by_role("button", name="Post notice").click()
        page.wait_for_url(serving.url)
        expect(page.get_by_role("status")).to_have_text("Notice posted.")
        notice = page.locator("article.notice", has_text="Boiler service")
        expect(notice).to_contain_text("No hot water on Friday morning.")
        expect(notice).to_contain_text("by chloé on ")
        expect(notice.locator(".count")).to_have_text("0")

        with page.expect_response(lambda r: r.url.endswith("/like")) as liked:
            notice.get_by_role("button", name="Like").click()
        assert liked.value.status == 200
        assert liked.value.json() == {"likes": 1}
        expect(notice.locator(".count")).to_have_text("1")
        notice.get_by_role("button", name="Like").click()
        expect(notice.locator(".count")).to_have_text("2")
        assert rows(
            database,
            "SELECT title, body, likes, username FROM notice JOIN user ON author_id = user.id",
        ) == [("Boiler service", "No hot water on Friday morning.", 2, "chloé")]

        page.get_by_role("link", name="Log out").click()
        expect(page.get_by_role("status")).to_have_text("Logged out.")
        expect(page.get_by_role("link", name="Log in")).to_be_visible()
        expect(page.get_by_role("link", name="New notice")).to_have_count(0)
        expect(page.get_by_role("button", name="Like")).to_have_count(0)
        expect(page.locator(".count")).to_have_text("2")  # the notice stays
    finally:
        context.close()
    refused = [(method, status) for method, status in fetched if status in (400, 403)]
    assert refused == []  # neither Guard nor Flask-WTF turned down the browser's own requests
