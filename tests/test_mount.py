"""A declared tool mounted in an existing plain Flask app with ``tool.init_app``: the host
keeps its pages and session, the tool is served under the prefix, the host says who gets in."""

from __future__ import annotations

import http.client
import re
import sqlite3
from pathlib import Path

import pytest
from flask import Flask, g, redirect, request, session, url_for

from deskwork import Email, Text, Tool, ToolError
from deskwork.desktop.server import ServerThread
from deskwork.security import Guard, cookie_name


def contacts_tool() -> Tool:
    tool = Tool("Contacts", templates=None)
    contacts = tool.table("contacts", name=Text(required=True), email=Email())
    tool.form("New contact", contacts, after="Contacts")
    tool.table_page("Contacts", contacts, order="name")
    return tool


def host_app(tmp_path: Path) -> Flask:
    """A plain Flask app, as its author wrote it: its own pages, log-in and session."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.secret_key = "host-secret"
    app.testing = True
    app.config["HOOKS_SAW"] = []

    @app.before_request
    def load_logged_in_user():
        g.user = session.get("user")
        app.config["HOOKS_SAW"].append((request.path, dict(request.form)))

    @app.get("/")
    def home():
        session["visits"] = session.get("visits", 0) + 1
        return f"<h1>Host</h1><p>visit {session['visits']}</p>"

    @app.get("/login")
    def login():
        session["user"] = request.args["name"]
        return "signed in"

    return app


def stored(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT name, email FROM contacts ORDER BY id").fetchall()


def save_contact(client, name: str = "Ann Okafor", email: str = "ann@example.com", **kwargs):
    form = client.get("/tools/forms/new-contact").text
    once = re.search(r'name="_once" value="([^"]*)"', form)
    assert once, form
    return client.post(
        "/tools/forms/new-contact",
        data={"name": name, "email": email, "_once": once[1]},
        **kwargs,
    )


# -- serving -------------------------------------------------------------------------------


def test_the_hosts_own_pages_and_session_keep_working_beside_the_tool(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app)
    client = app.test_client()
    assert "visit 1" in client.get("/").text
    assert "<h1>Contacts</h1>" in client.get("/tools/").text
    assert "visit 2" in client.get("/").text  # the host's session cookie is untouched
    assert client.get("/missing").status_code == 404  # the host's 404, not the tool's
    assert "Contacts" not in client.get("/missing").text


def test_the_tools_pages_links_and_static_files_are_under_the_prefix(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app, url_prefix="/tools")
    client = app.test_client()
    page = client.get("/tools/")
    assert page.status_code == 200 and "<h1>Contacts</h1>" in page.text
    links = re.findall(r'(?:href|src|action)="([^"]*)"', page.text)
    assert "/tools/forms/new-contact" in links and "/tools/tables/contacts" in links
    assert [link for link in links if not link.startswith("/tools/")] == []
    with client.get("/tools/static/deskwork.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "Content-Security-Policy" not in client.get("/").headers  # the host's own
    bare = client.get("/tools?q=1")
    assert bare.status_code == 308 and bare.headers["Location"] == "/tools/?q=1"
    assert client.get("/toolsbox").status_code == 404  # the host's, not the prefix's


def test_a_record_saved_through_the_mounted_form_lands_in_the_instance_folder(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app)
    database = tmp_path / "instance" / "contacts.sqlite3"
    client = app.test_client()
    client.get("/")
    assert not (tmp_path / "instance").exists()  # nothing made until the tool is asked for
    saved = save_contact(client)
    assert saved.status_code == 303 and saved.headers["Location"] == "/tools/tables/contacts?at=1"
    assert stored(database) == [("Ann Okafor", "ann@example.com")]
    # The message waits in the tool's own session cookie, beside the host's.
    assert client.get_cookie("deskwork_session_contacts", path="/tools") is not None
    assert client.get_cookie("deskwork_session_contacts") is None  # not for the host's pages
    assert client.get_cookie("session") is not None
    listing = client.get(saved.headers["Location"]).text
    assert "Saved contact #1." in listing and "Ann Okafor" in listing
    assert app.extensions["deskwork"]["/tools"].storage.path == database


def test_under_a_host_mounted_at_a_sub_path_the_tools_session_still_comes_back(tmp_path):
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    app = host_app(tmp_path)
    contacts_tool().init_app(app)
    client = Client(DispatcherMiddleware(Flask("outer"), {"/app": app}))
    form = client.get("/app/tools/forms/new-contact").text
    once = re.search(r'name="_once" value="([^"]*)"', form)
    assert once and 'action="/app/tools/forms/new-contact"' in form
    saved = client.post(
        "/app/tools/forms/new-contact",
        data={"name": "Ann Okafor", "email": "", "_once": once[1]},
    )
    assert saved.status_code == 303, saved.text
    assert client.get_cookie("deskwork_session_contacts", path="/app/tools") is not None
    assert "Saved contact #1." in client.get(saved.headers["Location"]).text


def test_the_database_argument_and_the_hosts_setting_choose_the_file(tmp_path):
    given = tmp_path / "given" / "people.sqlite3"
    app = host_app(tmp_path)
    contacts_tool().init_app(app, database=given)
    assert save_contact(app.test_client()).status_code == 303
    assert stored(given) == [("Ann Okafor", "ann@example.com")]

    configured = tmp_path / "configured.sqlite3"
    other = host_app(tmp_path)
    other.config["DESKWORK_DATABASE"] = str(configured)
    contacts_tool().init_app(other)
    assert save_contact(other.test_client(), name="Bo").status_code == 303
    assert stored(configured) == [("Bo", "ann@example.com")]
    assert not (tmp_path / "instance").exists()


def test_a_post_from_another_site_to_the_mounted_tool_is_refused_and_saves_nothing(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3")
    client = app.test_client()
    refused = save_contact(client, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    same = save_contact(client, name="Bo", headers={"Origin": "http://localhost"})
    assert same.status_code == 303
    assert stored(tmp_path / "c.sqlite3") == [("Bo", "ann@example.com")]


def test_the_tool_follows_the_hosts_testing_flag_and_signs_its_session_from_its_key(tmp_path):
    first, second = host_app(tmp_path), host_app(tmp_path)
    first.testing = False
    for app in (first, second):
        contacts_tool().init_app(app, database=tmp_path / "c.sqlite3")
    second.testing = True  # set after init_app, before the first request: still followed
    one, two = (
        first.extensions["deskwork"]["/tools"].app,
        second.extensions["deskwork"]["/tools"].app,
    )
    assert not one.testing and two.testing
    # Two worker processes of the same host accept each other's tool sessions.
    assert one.secret_key == two.secret_key and one.secret_key != first.secret_key


# -- who gets in ---------------------------------------------------------------------------


def test_access_false_is_a_403_after_the_hosts_hooks_have_run(tmp_path):
    app = host_app(tmp_path)
    seen = []

    def only_ann():
        seen.append(g.user)
        return g.user == "ann"

    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3", access=only_ann)
    client = app.test_client()
    assert client.get("/tools/").status_code == 403
    assert client.get("/tools/static/deskwork.css").status_code == 403
    client.get("/login?name=bo")
    assert client.get("/tools/").status_code == 403
    client.get("/login?name=ann")
    assert "<h1>Contacts</h1>" in client.get("/tools/").text
    assert seen == [None, None, "bo", "ann"]


def test_access_returning_a_redirect_sends_people_to_the_hosts_log_in(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(
        app, database=tmp_path / "c.sqlite3",
        access=lambda: g.user is not None or redirect(url_for("login", next=request.path)),
    )  # fmt: skip
    client = app.test_client()
    response = client.get("/tools/tables/contacts")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/tools/tables/contacts"
    assert not (tmp_path / "c.sqlite3").exists()  # no one got in: nothing made
    client.get("/login?name=ann")
    assert client.get("/tools/tables/contacts").status_code == 200


def test_the_hosts_hooks_do_not_use_up_the_tools_form(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3", access=lambda: True)
    client = app.test_client()
    assert save_contact(client).status_code == 303
    assert ("/tools/forms/new-contact", {}) in app.config["HOOKS_SAW"]  # read, saw no body
    assert stored(tmp_path / "c.sqlite3") == [("Ann Okafor", "ann@example.com")]


def test_without_access_the_hosts_own_hooks_still_guard_the_tool(tmp_path):
    app = host_app(tmp_path)

    @app.before_request
    def members_only():
        if request.args.get("member") != "yes":
            return "members only", 401
        return None

    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3")
    client = app.test_client()
    assert client.get("/").status_code == 401
    refused = client.get("/tools/")
    assert refused.status_code == 401 and refused.text == "members only"
    assert not (tmp_path / "c.sqlite3").exists()  # refused before the tool was reached
    assert client.get("/tools/?member=yes").status_code == 200
    assert [path for path, _ in app.config["HOOKS_SAW"]] == ["/", "/tools/", "/tools/"]


def test_flask_login_protects_the_mounted_tool(tmp_path):
    import flask_login

    app = host_app(tmp_path)
    manager = flask_login.LoginManager(app)

    class User(flask_login.UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    manager.user_loader(User)

    @app.get("/sign-in")
    def sign_in():
        flask_login.login_user(User("ann"))
        return "in"

    contacts_tool().init_app(
        app, database=tmp_path / "c.sqlite3",
        access=lambda: flask_login.current_user.is_authenticated or redirect(url_for("sign_in")),
    )  # fmt: skip
    client = app.test_client()
    response = client.get("/tools/")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    client.get("/sign-in")
    assert "<h1>Contacts</h1>" in client.get("/tools/").text


def test_the_hosts_csrf_protection_leaves_the_tools_own_forms_alone(tmp_path):
    import flask_wtf.csrf

    app = host_app(tmp_path)
    flask_wtf.CSRFProtect(app)

    @app.post("/note")
    def note():
        return "noted"

    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3", access=lambda: True)
    client = app.test_client()
    assert client.post("/note").status_code == 400  # the host's forms keep their protection
    assert save_contact(client).status_code == 303  # the tool's have their own
    assert stored(tmp_path / "c.sqlite3") == [("Ann Okafor", "ann@example.com")]


# -- mistakes ------------------------------------------------------------------------------


def test_mounting_twice_at_one_prefix_is_refused(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app)
    with pytest.raises(ToolError, match=r"<Tool 'Contacts'> is already mounted at /tools .*"
                       "another url_prefix"):  # fmt: skip
        contacts_tool().init_app(app, url_prefix="/tools")
    contacts_tool().init_app(app, url_prefix="/people")  # another prefix is fine
    client = app.test_client()
    assert "<h1>Contacts</h1>" in client.get("/people/").text
    assert "<h1>Contacts</h1>" in client.get("/tools/").text


@pytest.mark.parametrize("prefix", ["tools", "/tools/", "/", "", "/a/b", "/two words"])
def test_a_prefix_that_is_not_one_part_of_an_address_is_refused(tmp_path, prefix):
    app = host_app(tmp_path)
    with pytest.raises(ToolError, match=r"is not a prefix: .* as in url_prefix='/tools'"):
        contacts_tool().init_app(app, url_prefix=prefix)
    assert "deskwork" not in app.extensions or app.extensions["deskwork"] == {}
    assert app.test_client().get("/").status_code == 200


# -- a real server -------------------------------------------------------------------------


def test_a_mounted_tool_is_served_by_the_real_server_behind_deskworks_guard(tmp_path):
    app = host_app(tmp_path)
    contacts_tool().init_app(app, database=tmp_path / "c.sqlite3")
    server = ServerThread()
    server.set_app(Guard(app, secret="mount-secret", port=server.port))

    def fetch(path: str, cookie: str | None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            headers = {"Cookie": f"{cookie_name(server.port)}={cookie}"} if cookie else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    with server:
        status, page = fetch("/tools/", "mount-secret")
        assert status == 200 and "<h1>Contacts</h1>" in page
        assert fetch("/tools/static/deskwork.css", "mount-secret")[0] == 200
        assert fetch("/tools/", None)[0] == 403
        assert fetch("/tools/", "guess")[0] == 403
