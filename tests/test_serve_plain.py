"""``deskwork serve`` serving a plain Flask app to a team: the app unchanged, behind the
same log-in, roles and protection as a declared tool (``deskwork.team_door``), on real
gunicorn worker processes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from team_driving import HIDDEN, ServedTool

GOOD = "correct horse battery"
APP = Path(__file__).resolve().parent / "plain_team"


@pytest.fixture
def served(tmp_path: Path):
    folder = tmp_path / "notes-app"
    shutil.copytree(APP, folder, ignore=shutil.ignore_patterns("__pycache__", "instance"))
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(tmp_path / "team.sqlite3", data, workers=2, tool=folder / "app.py")
    for name, role in {"vic": "viewer", "ana": "editor"}.items():
        done = server.users("add", name, "--role", role, password=GOOD)
        assert done.returncode == 0, done.stderr
    yield server
    server.stop()


def notes(served: ServedTool) -> list[tuple[str, str]]:
    found = served.tool.parent / "instance" / "notes.sqlite3"
    with sqlite3.connect(found) as conn:
        return conn.execute("SELECT text, who FROM notes ORDER BY rowid").fetchall()


def test_a_plain_flask_app_is_served_behind_the_log_in_with_who_sent_each_request(served):
    assert "Serving Notes app at http://" in served.output()
    stranger = served.browser()
    asked = stranger.get("/?sort=new")
    assert (
        asked.status == 303 and asked.headers["Location"] == "/_deskwork/log-in?next=/?sort%3Dnew"
    )
    page = stranger.get(asked.headers["Location"])
    assert page.status == 200 and "Log in to Notes app" in page.body
    refused = stranger.post("/notes", {"text": "Not logged in"})
    assert refused.status == 401 and "nothing was changed" in refused.body.lower()
    assert served.browser().get("/_deskwork/health").status == 200
    back = stranger.get("/_deskwork/audit")  # deskwork's own pages come back to themselves
    assert back.headers["Location"] == "/_deskwork/log-in?next=/_deskwork/audit"
    ana = served.browser()
    assert ana.log_in("ana", "wrong password, surely", at="/_deskwork/log-in").status == 401
    logged = ana.post("/_deskwork/log-in", {"name": "ana", "password": GOOD, "next": "/?sort=new"})
    assert logged.status == 303 and logged.headers["Location"] == "/?sort=new"
    home = ana.get("/")
    assert home.status == 200 and "Hello ana, editor." in home.body
    assert "deskwork_app" not in home.body  # the app never sees the session's cookie
    assert home.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert ana.post("/notes", {"text": "From ana"}).status == 303
    elsewhere = ana.post("/notes", {"text": "From another site"},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
    assert elsewhere.status == 403 and "nothing was changed" in elsewhere.body
    vic = served.browser()
    vic.log_in("vic", GOOD, at="/_deskwork/log-in")
    assert "Hello vic, viewer." in vic.get("/").body
    no = vic.post("/notes", {"text": "From vic"})
    assert no.status == 403 and "only an editor or an admin may change anything" in no.body
    assert notes(served) == [("From ana", "ana")]
    # the person's own page: who they are, log out
    mine = vic.get("/_deskwork/")
    assert (
        "You are logged in as vic, a viewer." in mine.body
        and 'href="/">Back to Notes app' in mine.body
    )
    hidden = dict(HIDDEN.findall(mine.body))  # "Log out" sends the session's CSRF secret
    assert vic.post("/_deskwork/log-out", hidden).status == 303
    assert vic.get("/").status == 303


def test_a_plain_app_takes_api_tokens_and_its_people_are_managed_as_a_tools(served):
    made = served.users("token", "ana", "--label", "sync")
    assert made.returncode == 0, made.stderr
    script = served.browser()
    answer = script.request("POST", "/notes", {"text": "From a script"},
                            headers={"Authorization": f"Bearer {made.stdout.strip()}",
                                     "Origin": ""})  # fmt: skip
    assert answer.status == 303
    assert notes(served) == [("From a script", "ana")]
    seen = script.request("GET", "/", headers={"Authorization": f"Bearer {made.stdout.strip()}"})
    assert "Hello ana, editor." in seen.body and "Authorization I see: none." in seen.body
    wrong = script.request("GET", "/", headers={"Authorization": "Bearer dw_nonsense"})
    assert wrong.status == 401
    # a token of the app's own is not deskwork's: with a log-in, it reaches the app
    ana = served.browser()
    ana.log_in("ana", GOOD, at="/_deskwork/log-in")
    own = ana.request("GET", "/", headers={"Authorization": "Bearer apps-own-token"})
    assert "Authorization I see: Bearer apps-own-token." in own.body
    listed = served.users("list")
    assert "ana" in listed.stdout and "vic" in listed.stdout
