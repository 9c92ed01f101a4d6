"""Any Flask app behind deskwork's protection: the Guard middleware, through the test
client and a real multi-threaded server."""

from __future__ import annotations

import http.client

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

    @app.get("/seen")
    def seen():
        return jsonify(cookies=sorted(request.cookies), args=sorted(request.args))

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
    assert response.json == {"cookies": [], "args": ["q"]}  # no secret, no token
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
