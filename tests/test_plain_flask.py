"""Any Flask app behind deskwork's protection: the Guard middleware, through the test
client and a real multi-threaded server."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from flask import Flask, Response, jsonify, redirect, request, session, stream_with_context, url_for
from werkzeug.test import Client

from deskwork.desktop.server import ServerThread
from deskwork.security import Guard, cookie_name

PORT = 5999
SECRET = "plain-secret"
BASE = f"http://127.0.0.1:{PORT}"


def plain_app() -> Flask:
    """A plain Flask app, as its author wrote it for `flask run`."""
    app = Flask("plain")
    app.secret_key = "dev"

    @app.get("/")
    def home():
        session["visits"] = session.get("visits", 0) + 1
        return f"<script>document.title = 'inline';</script><p>visit {session['visits']}</p>"

    @app.get("/go")
    def go():
        return redirect(url_for("home"))

    @app.get("/stream")
    def stream():
        def parts():
            for n in range(3):
                yield f"part {n}\n"

        return Response(stream_with_context(parts()), mimetype="text/plain")

    @app.post("/api/echo")
    def echo():
        return jsonify(got=request.get_json())

    @app.get("/cors")
    def cors():
        return "open", {"Access-Control-Allow-Origin": "*"}

    @app.get("/own-policy")
    def own_policy():
        return "strict", {
            "Content-Security-Policy": "default-src 'none'",
            "X-Frame-Options": "DENY",
        }

    @app.get("/report.csv")
    def report():
        return Response(
            "month,total\n2026-11,12.00\n", mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=report.csv"},
        )  # fmt: skip

    @app.get("/seen")
    def seen():
        raw = [str(request.environ.get(k)) for k in ("REQUEST_URI", "RAW_URI")]
        return jsonify(cookies=sorted(request.cookies), args=sorted(request.args), raw=raw)

    return app


@pytest.fixture
def anonymous() -> Client:
    return Client(Guard(plain_app(), secret=SECRET, port=PORT))


@pytest.fixture
def client(anonymous: Client) -> Client:
    anonymous.set_cookie(cookie_name(PORT), SECRET, domain="127.0.0.1")
    return anonymous


def get(client: Client, path: str, **kwargs):
    return client.get(path, base_url=BASE, **kwargs)


def test_a_plain_app_is_refused_without_the_secret(anonymous):
    assert get(anonymous, "/").status_code == 403
    assert get(anonymous, "/?token=guess").status_code == 403


def test_a_plain_app_is_refused_from_another_host_even_with_the_secret(client):
    response = client.get("/", base_url="http://evil.example:5999")
    assert response.status_code == 403 and "visit" not in response.text


def test_the_first_address_becomes_a_strict_cookie_and_a_clean_address(anonymous):
    response = get(anonymous, f"/?token={SECRET}&tab=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/?tab=2"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{cookie_name(PORT)}={SECRET};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert get(anonymous, "/").status_code == 200


def test_the_windows_address_serves_the_page_at_once_and_the_app_never_sees_the_secret(anonymous):
    response = get(anonymous, f"/seen?window_token={SECRET}&q=1")
    assert response.status_code == 200
    # No secret, no token: not even in the raw request line an app may log.
    assert response.json == {"cookies": [], "args": ["q"], "raw": ["/seen?q=1", "/seen?q=1"]}
    assert f"{cookie_name(PORT)}={SECRET};" in response.headers["Set-Cookie"]
    again = get(anonymous, "/seen")
    assert again.status_code == 200 and again.json["cookies"] == []


def test_the_apps_sessions_redirects_and_inline_scripts_keep_working(client):
    assert "visit 1" in get(client, "/").text
    page = get(client, "/")
    assert "visit 2" in page.text  # the app's own session cookie works beside ours
    assert "Content-Security-Policy" not in page.headers  # none of deskwork's own
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    response = get(client, "/go")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_file_download_keeps_its_name_type_and_bytes(client):
    response = get(client, "/report.csv")
    assert response.headers["Content-Disposition"] == "attachment; filename=report.csv"
    assert response.mimetype == "text/csv"
    assert response.data == b"month,total\n2026-11,12.00\n"


def test_the_apps_own_policy_is_kept_and_a_wildcard_cors_header_dropped(client):
    strict = get(client, "/own-policy")
    assert strict.headers["Content-Security-Policy"] == "default-src 'none'"
    assert strict.headers["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in get(client, "/cors").headers


def test_a_same_origin_json_post_is_served_and_a_cross_site_one_refused(client):
    same = client.post("/api/echo", base_url=BASE, json={"n": 1},
                       headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert same.status_code == 200 and same.json == {"got": {"n": 1}}
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "http://127.0.0.1:6000"}):  # fmt: skip
        assert client.post("/api/echo", base_url=BASE, json={}, headers=headers).status_code == 403


def test_a_plain_app_streams_through_the_real_server():
    server = ServerThread()
    server.set_app(Guard(plain_app(), secret=SECRET, port=server.port))
    with server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request(
                "GET", "/stream", headers={"Cookie": f"{cookie_name(server.port)}={SECRET}"}
            )
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Transfer-Encoding") == "chunked"  # not buffered
            assert response.read().decode() == "part 0\npart 1\npart 2\n"
        finally:
            connection.close()


# -- finding the app, as flask --app does ---------------------------------------------------

APP_FILE = """\
from flask import Flask

{name} = Flask(__name__)


@{name}.get("/")
def home():
    return "<title>Prices</title><h1>House prices</h1>"
"""

FACTORY = """\
from flask import Flask


def {name}():
    app = Flask(__name__)

    @app.get("/")
    def home():
        return "<h1>Made by a factory</h1>"

    return app
"""


def home_of(target) -> str:
    client = Client(Guard(target.app, secret=SECRET, port=PORT))
    client.set_cookie(cookie_name(PORT), SECRET, domain="127.0.0.1")
    return client.get("/", base_url=BASE).text


@pytest.mark.parametrize("name", ["app", "application"])
def test_an_app_called_app_or_application_is_found(tmp_path, name):
    from deskwork.loader import load_target

    path = tmp_path / f"prices_{name}.py"
    path.write_text(APP_FILE.format(name=name), encoding="utf-8")
    target = load_target(str(path))
    assert target.tool is None and target.title == f"Prices {name}"
    assert "<h1>House prices</h1>" in home_of(target)


@pytest.mark.parametrize("name", ["create_app", "make_app"])
def test_a_factory_is_called(tmp_path, name):
    from deskwork.loader import load_target

    path = tmp_path / f"factory_{name}.py"
    path.write_text(FACTORY.format(name=name), encoding="utf-8")
    assert "Made by a factory" in home_of(load_target(str(path)))


def test_file_colon_name_picks_an_app_or_a_factory(tmp_path):
    from deskwork.loader import load_target

    path = tmp_path / "two.py"
    path.write_text(
        APP_FILE.format(name="first") + APP_FILE.format(name="second").split("\n", 2)[2]
        + FACTORY.format(name="build").split("\n", 2)[2],
        encoding="utf-8",
    )  # fmt: skip
    assert "House prices" in home_of(load_target(f"{path}:second"))
    assert "Made by a factory" in home_of(load_target(f"{path}:build()"))


def test_a_package_folder_with_a_factory_and_its_templates_is_found(tmp_path):
    from deskwork.loader import load_target

    package = tmp_path / "flaskr_pkg"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from flask import Flask, render_template\n"
        "from . import words\n\n"
        "def create_app():\n"
        "    app = Flask(__name__)\n"
        "    app.add_url_rule('/', 'home', lambda: render_template('home.html', w=words.W))\n"
        "    return app\n",
        encoding="utf-8",
    )
    (package / "words.py").write_text("W = 'relative imports work'\n", encoding="utf-8")
    (package / "templates" / "home.html").write_text("<h1>{{ w }}</h1>", encoding="utf-8")
    target = load_target(str(package))
    assert target.title == "Flaskr pkg"
    assert "<h1>relative imports work</h1>" in home_of(target)


def test_a_package_folder_named_like_another_module_is_refused_by_name(tmp_path):
    from deskwork.errors import ToolError
    from deskwork.loader import load_target

    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "__init__.py").write_text("app = 1\n", encoding="utf-8")
    with pytest.raises(ToolError, match=r"can't be imported as 'calendar'.*Rename the folder"):
        load_target(str(tmp_path / "calendar"))


def test_a_wrong_target_says_what_was_looked_for(tmp_path):
    from deskwork.errors import ToolError
    from deskwork.loader import load_target

    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ToolError, match=r"looked for a Tool .* app or application, and a factory"):
        load_target(str(empty))
    with pytest.raises(ToolError, match="has no 'nothing'"):
        load_target(f"{empty}:nothing")
    with pytest.raises(ToolError, match="No tool or app at"):
        load_target(str(tmp_path / "missing.py"))


# -- deskwork run on a plain Flask app ------------------------------------------------------


def test_deskwork_run_serves_a_plain_flask_app_to_the_browser(tmp_path, data_dir):
    from test_cli import serve_and_visit

    from conftest import DESKWORK, deskwork_env

    path = tmp_path / "prices.py"
    path.write_text(APP_FILE.format(name="app"), encoding="utf-8")
    lines, status, page = serve_and_visit(
        [str(DESKWORK), "run", str(path), "--browser"], deskwork_env(data_dir), "/"
    )
    assert lines[0] == "Prices is ready. Open this address in a browser (Ctrl+C stops):"
    assert status == 200 and "<h1>House prices</h1>" in page
    assert (data_dir / "logs" / "prices.log").is_file()
    assert not (data_dir / "prices").exists()  # from source, its files stay its own


def test_db_is_refused_for_a_plain_app(tmp_path):
    import subprocess

    from conftest import DESKWORK

    path = tmp_path / "prices.py"
    path.write_text(APP_FILE.format(name="app"), encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "run", str(path), "--db", str(tmp_path / "x.sqlite3")],
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--db is for declared tools" in done.stderr


def self_test_title(path: Path, data_dir: Path, display: str) -> str:
    """``deskwork run PATH --self-test`` in a real window: the title it saw rendered."""
    import re
    import subprocess

    from conftest import DESKWORK, deskwork_env

    done = subprocess.run(
        [str(DESKWORK), "run", str(path), "--self-test"], env=deskwork_env(data_dir, display),
        capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(
        r"^self-test ok: '(?P<title>[^']*)' rendered in [\d.]+ s; ", done.stdout, re.M
    )
    assert found, done.stdout
    return found["title"]


@pytest.mark.gui
def test_a_plain_flask_app_opens_in_the_native_window(tmp_path, data_dir, display):
    path = tmp_path / "prices.py"
    path.write_text(APP_FILE.format(name="app"), encoding="utf-8")
    assert self_test_title(path, data_dir, display) == "Prices"


def test_the_pytest_fixture_gives_a_plain_apps_test_client_behind_the_security(tmp_path):
    import re
    import subprocess
    import sys

    (tmp_path / "app.py").write_text(APP_FILE.format(name="app"), encoding="utf-8")
    (tmp_path / "test_beside.py").write_text(
        "def test_the_home_page_is_served(deskwork_client):\n"
        "    assert '<h1>House prices</h1>' in deskwork_client.get('/').text\n\n\n"
        "def test_another_host_is_refused(deskwork_client):\n"
        "    response = deskwork_client.get('/', base_url='http://evil.example:5999')\n"
        "    assert response.status_code == 403\n",
        encoding="utf-8",
    )
    (tmp_path / "test_named.py").write_text(
        "from app import app\n\n\n"
        "def test_the_modules_own_app_is_used(deskwork_client):\n"
        "    assert deskwork_client.get('/').status_code == 200\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b3 passed\b", done.stdout)


def test_reload_restarts_a_plain_flask_app_on_a_change(tmp_path, data_dir):
    import signal

    from test_cli import read_address, start, visit

    from conftest import deskwork_env

    path = tmp_path / "prices.py"
    path.write_text(APP_FILE.format(name="app"), encoding="utf-8")
    process = start(["run", str(path), "--reload"], deskwork_env(data_dir))
    try:
        _, address = read_address(process)
        assert "<h1>House prices</h1>" in visit(address, "/")[1]
        path.write_text(APP_FILE.format(name="app").replace("House", "Flat"), encoding="utf-8")
        seen: list[str] = []  # on to the restart, then to the new child's PIN line
        while not (seen and seen[-1].startswith("Debugger PIN")
                   and "Changed: prices.py; restarting.\n" in seen):  # fmt: skip
            seen.append(process.stdout.readline())
            assert seen[-1], seen
        assert "<h1>Flat prices</h1>" in visit(address, "/")[1]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


# -- the example: ten lines of plain Flask, unchanged ---------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "house_price.py"


def test_the_house_price_example_is_plain_flask_in_a_few_lines_and_answers():
    from deskwork.loader import load_target
    from deskwork.testing import app_client

    code = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(code) <= 12 and not any("deskwork" in line for line in code)
    target = load_target(str(EXAMPLE))
    assert target.title == "House price"
    page = app_client(target.app).get("/?sqft=1000").text
    assert "<output>$180,000</output>" in page


@pytest.mark.gui
def test_the_house_price_example_opens_in_the_native_window(data_dir, display):
    assert self_test_title(EXAMPLE, data_dir, display) == "House price"
