"""``deskwork new``: a small working tool project to start from."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from desktop.building import default_icon
from webapp.errors import ToolError

TOOL = '''\
"""{title}: a deskwork tool. Open it with `deskwork run .`; package it with `deskwork build .`."""

from webapp import Date, Text, Tool

tool = Tool("{title}")

notes = tool.table(
    "notes",
    title=Text(required=True),
    day=Date(),
    detail=Text(max_length=1000),
)

tool.form("New note", notes, after="notes")
tool.table_page("Notes", notes, order="-id", search=["title", "detail"])
'''

TEST = '''\
"""Tests for {title}: run them with `python -m pytest` in this folder."""

from pathlib import Path

from webapp.testing import tool_client

from tool import tool


def test_a_saved_note_is_listed(tmp_path: Path) -> None:
    client = tool_client(tool, tmp_path / "test.sqlite3")
    response = client.post("/forms/new-note", data={{"title": "Call the printer man"}})
    assert response.status_code == 303
    assert "Call the printer man" in client.get("/tables/notes").get_data(as_text=True)


def test_a_note_needs_a_title(tmp_path: Path) -> None:
    client = tool_client(tool, tmp_path / "test.sqlite3")
    response = client.post("/forms/new-note", data={{"title": ""}})
    assert response.status_code == 400
    assert "Title is required." in response.get_data(as_text=True)
'''


def write_project(name: str, parent: Path) -> Path:
    """Write NAME/ (tool.py, icon.png, test_tool.py) below ``parent``; return the folder."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name):
        raise ToolError(
            f"{name!r} can't be a project name: use letters, digits, - and _, "
            "starting with a letter."
        )
    folder = parent / name
    if folder.exists():
        raise ToolError(f"{folder} already exists: choose another name or remove it.")
    title = re.sub(r"[-_]+", " ", name).strip().capitalize()
    folder.mkdir(parents=True)
    (folder / "tool.py").write_text(TOOL.format(title=title), encoding="utf-8")
    (folder / "test_tool.py").write_text(TEST.format(title=title), encoding="utf-8")
    icon = default_icon()
    if icon:
        shutil.copyfile(icon, folder / "icon.png")
    return folder
