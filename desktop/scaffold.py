"""``deskwork new``: a small working tool project to start from."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from deskwork.desktop.building import default_icon
from deskwork.errors import ToolError

TOOL = '''\
"""{title}: a deskwork tool. Open it with `deskwork run .`; package it with `deskwork build .`."""

from flask import render_template

from deskwork import Date, LongText, Text, Tool, get_db

tool = Tool("{title}")

notes = tool.table(
    "notes",
    title=Text(required=True),
    day=Date(),
    detail=LongText(max_length=1000),
)

tool.form("New note", notes, after="notes")
tool.table_page("Notes", notes, order="-id", search=["title", "detail"])


@tool.page("Summary")
def summary() -> str:
    """A plain Flask view beside the declared pages: its template extends base.html."""
    count = get_db().execute("select count(*) from notes").fetchone()[0]
    return render_template("summary.html", count=count)
'''

SUMMARY = """\
{% extends "base.html" %}
{% block title %}Summary · {{ tool.title }}{% endblock %}
{% block main %}
<h1>Summary</h1>
<p>{{ count }} note{{ "" if count == 1 else "s" }} so far.</p>
{% endblock %}
"""

TEST = '''\
"""Tests for {title}: run them with `python -m pytest` in this folder.

``deskwork_client`` (installed with deskwork) is a test client for tool.py on a fresh
database.
"""


def test_a_saved_note_is_listed(deskwork_client) -> None:
    response = deskwork_client.submit("/forms/new-note", {{"title": "Call the printer man"}})
    assert response.status_code == 303
    assert "Call the printer man" in deskwork_client.get("/tables/notes").text
    assert "1 note so far." in deskwork_client.get("/pages/summary").text


def test_a_note_needs_a_title(deskwork_client) -> None:
    response = deskwork_client.submit("/forms/new-note", {{"title": ""}})
    assert response.status_code == 400
    assert "Title is required." in response.text
'''


def project_folder(name: str, parent: Path) -> Path:
    """Where project NAME goes below ``parent``: a ``ToolError`` if the name can't be a
    folder's and a tool's, or if the folder is there already."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name):
        raise ToolError(
            f"{name!r} can't be a project name: use letters, digits, - and _, "
            "starting with a letter."
        )
    folder = parent / name
    if folder.exists():
        raise ToolError(f"{folder} already exists: choose another name or remove it.")
    return folder


def project_title(name: str) -> str:
    """The tool's title made from the project's name: ``stock-room`` -> ``Stock room``."""
    return re.sub(r"[-_]+", " ", name).strip().capitalize()


def copy_icon(folder: Path) -> None:
    """deskwork's icon as the project's ``icon.png`` (its window's and executable's)."""
    icon = default_icon()
    if icon:
        shutil.copyfile(icon, folder / "icon.png")


def write_project(name: str, parent: Path) -> Path:
    """Write NAME/ (tool.py, templates/, icon.png, test_tool.py) below ``parent``."""
    folder = project_folder(name, parent)
    title = project_title(name)
    folder.mkdir(parents=True)
    (folder / "tool.py").write_text(TOOL.format(title=title), encoding="utf-8")
    (folder / "test_tool.py").write_text(TEST.format(title=title), encoding="utf-8")
    (folder / "templates").mkdir()
    (folder / "templates" / "summary.html").write_text(SUMMARY, encoding="utf-8")
    copy_icon(folder)
    return folder
