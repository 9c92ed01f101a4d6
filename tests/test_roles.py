"""Roles a tool declares (``Tool.role``): a team lead, like an editor, who may change only
their own team's rows, in every form, API call, bulk change and undo; refused with
nothing changed."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest
from crew_tool import jobs, tool

from conftest import DESKWORK, deskwork_env, text
from deskwork import Text, Tool
from deskwork.accounts import Accounts
from deskwork.db import bulk, history
from deskwork.errors import NotAllowed, ToolError, ValidationError
from deskwork.testing import TeamClient, team_client

GOOD = "correct horse battery"
CREW_FILE = Path(__file__).resolve().parent / "crew_tool.py"
OUTSIDE = "You are logged in as lee, a team lead, who may change only their own team's jobs"


@pytest.fixture
def served(tmp_path: Path) -> TeamClient:
    client = team_client(tool, tmp_path / "crew.sqlite3", seed=True)
    with client.application.extensions["deskwork.storage"].open() as db:
        people = Accounts(db, roles=tool.roles)
        people.add("lee", "team lead", GOOD)
        people.add("ada", "admin", GOOD)
    return client


def all_jobs(client: TeamClient) -> list[tuple[int, str, str]]:
    with client.application.extensions["deskwork.storage"].open() as db:
        return [tuple(r) for r in db.execute("SELECT id, title, team FROM jobs ORDER BY id")]


def said(answer: object) -> str:
    return html.unescape(text(answer))


def csrf(client: TeamClient) -> str:
    found = re.search(r'name="deskwork-csrf" content="([^"]+)"', text(client.get("/")))
    assert found
    return found.group(1)


def test_a_team_lead_changes_their_own_teams_rows_and_no_others(served):
    served.log_in("lee", GOOD)
    assert "lee (team lead)" in text(served.get("/tables/jobs"))
    done = served.submit("/forms/new-job/1", {"title": "Fix the roof, north", "team": "North"})
    assert done.status_code == 303
    before = all_jobs(served)
    for path, data in (
        ("/forms/new-job/2", {"title": "Paint it black", "team": "South"}),  # another team's
        ("/forms/new-job/1", {"title": "Fix it", "team": "South"}),  # out of their team
        ("/forms/new-job", {"title": "Dig", "team": "South"}),  # made for another team
    ):
        refused = served.submit(path, data)
        assert refused.status_code == 403, path
        assert OUTSIDE in said(refused) and "Nothing was changed." in said(refused)
    assert served.submit("/forms/new-job", {"title": "Dig", "team": "North"}).status_code == 303
    assert all_jobs(served)[:2] == before
    assert all_jobs(served)[2][1:] == ("Dig", "North")
    refused = served.post("/forms/new-job/2/delete", data={"_csrf": csrf(served)})
    assert refused.status_code == 403 and all_jobs(served)[1] == before[1]
    version = served.get("/api/tables/jobs/2").get_json()["_version"]
    sent = {"X-CSRF-Token": csrf(served), "If-Match": f'"{version}"'}
    api = served.patch("/api/tables/jobs/2", json={"title": "Through the API"}, headers=sent)
    assert api.status_code == 403 and OUTSIDE in api.get_json()["error"]
    assert all_jobs(served)[1] == before[1]
    # a function that gets the database could change any row: not for a limited role
    refused = served.submit("/functions/rename-every-job", {"title": "Mine now"})
    assert refused.status_code == 403
    assert "who may change only their own team's jobs: this page could change" in said(refused)
    assert all_jobs(served)[1] == before[1]
    # an editor's own limits hold too: no import, no audit page
    assert served.get("/tables/jobs/import").status_code == 403
    assert served.get("/audit").status_code == 403
    assert "Audit</a>" not in text(served.get("/"))


def test_bulk_changes_and_undo_are_held_to_the_roles_rows(served):
    storage = served.application.extensions["deskwork.storage"]
    page = tool.form_for(jobs)
    assert page is not None
    before = all_jobs(served)
    limits = history.LIMITS.set(history.Limits(tool.roles["team lead"], "lee"))
    try:
        with storage.open() as db, pytest.raises(NotAllowed, match="job #2 is not one of them"):
            bulk.set_field(db, page, [1, 2], "title", "Everyone's", "once-1")
        assert all_jobs(served) == before  # not even the row of their own team
        with storage.open() as db:
            bulk.set_field(db, page, [1], "title", "Ours", "once-2")
    finally:
        history.LIMITS.reset(limits)
    with storage.open() as db:  # an admin changes the other team's job
        action, _ = bulk.set_field(db, page, [2], "title", "Theirs", "once-3")
    limits = history.LIMITS.set(history.Limits(tool.roles["team lead"], "lee"))
    try:
        with storage.open() as db, pytest.raises(NotAllowed):
            history.undo(db, tool, action)  # nor by undoing someone else's change
    finally:
        history.LIMITS.reset(limits)
    assert [t for _, t, _ in all_jobs(served)] == ["Ours", "Theirs"]


def test_declared_roles_are_checked_where_they_are_declared_and_given(tmp_path, served):
    with storage_db(served) as db, pytest.raises(ValidationError, match="'team lead'"):
        Accounts(db, roles=tool.roles).add("kim", "captain", GOOD)
    with storage_db(served) as db:  # the directory's groups give the role at each log-in
        people = Accounts(db, roles=tool.roles)
        people.from_directory("omar", "editor")
        with pytest.raises(ValidationError, match="would not last"):
            people.set_role("omar", "team lead")
        assert people.set_role("ada", "team lead").role == "team lead"  # a password here
    other = Tool("Other", templates=None)
    things = other.table("things", name=Text())
    for name in ("admin", "Team Lead", ""):
        with pytest.raises(ToolError, match="lower-case words"):
            other.role(name, changes={things: "1"})
    with pytest.raises(ToolError, match="like is one of"):
        other.role("boss", like="owner")
    with pytest.raises(ToolError, match="limited to some rows is like a viewer or an editor"):
        other.role("boss", like="admin", changes={things: "1"})
    other.role("odd", changes={things: "no_such_column = :person"})
    with pytest.raises(ToolError, match="the condition for things can't be run"):
        team_client(other, tmp_path / "other.sqlite3")


def storage_db(client: TeamClient):
    return client.application.extensions["deskwork.storage"].open()


def test_people_are_given_a_declared_role_at_the_command_line(tmp_path):
    env = deskwork_env(tmp_path)
    database = tmp_path / "crew.sqlite3"
    team_client(tool, database, seed=True)  # the database, as a first serve makes it

    def users(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DESKWORK), "users", args[0], str(CREW_FILE), *args[1:], "--db", str(database)],
            input=GOOD + "\n", env=env, capture_output=True, encoding="utf-8", timeout=60,
        )  # fmt: skip

    added = users("add", "lee", "--role", "team lead")
    assert added.returncode == 0, added.stderr
    assert "lee may now log in to Crew as team lead." in added.stdout
    wrong = users("add", "kim", "--role", "captain")
    assert wrong.returncode != 0 and "'captain' is not a role of this tool" in wrong.stderr
    assert "team lead" in users("list").stdout
