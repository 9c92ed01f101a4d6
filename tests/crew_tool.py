"""A small tool with a role of its own, for the tests of ``Tool.role``: team leads change
only their own team's jobs (their team is in the tool's own ``staff`` table)."""

from __future__ import annotations

import sqlite_utils

from deskwork import Text, Tool

tool = Tool("Crew", templates=None)
staff = tool.table("staff", login=Text(required=True), team=Text(required=True))
jobs = tool.table("jobs", title=Text(required=True), team=Text(required=True))
tool.form("New job", jobs)
tool.table_page("Jobs", jobs)
tool.role(
    "team lead",
    like="editor",
    rows="their own team's jobs",
    changes={jobs: "team = (SELECT team FROM staff WHERE login = :person)"},
)


@tool.function_form("Rename every job", button="Rename")
def rename_every_job(db: sqlite_utils.Database, title: str) -> str:
    """A function that gets the database: it may write any row."""
    db.execute("UPDATE jobs SET title = ?", [title])
    return "Renamed"


@tool.seed
def _crew(db: sqlite_utils.Database) -> None:
    db["staff"].insert_all([{"login": "lee", "team": "North"}, {"login": "sam", "team": "South"}])
    db["jobs"].insert_all([{"title": "Fix the roof", "team": "North"},
                           {"title": "Paint the hall", "team": "South"}])  # fmt: skip
