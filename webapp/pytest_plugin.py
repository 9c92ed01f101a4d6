"""pytest fixtures for a tool's own tests, installed with deskwork (no conftest needed).

``deskwork_client`` is a Flask test client for the tool on a fresh, empty database::

    from tool import tool

    def test_a_saved_note_is_listed(deskwork_client):
        deskwork_client.submit("/forms/new-note", {"title": "Call the printer"})
        assert "Call the printer" in deskwork_client.get("/tables/notes").text

The tool is the test module's ``tool`` if it has one, else the one in ``tool.py`` beside
the test file; a ``deskwork_tool`` fixture of your own overrides both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: pytest loads this plugin in every project
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import Client

    from deskwork.model import Tool


@pytest.fixture
def deskwork_tool(request: pytest.FixtureRequest) -> Tool | Flask:
    """The tool under test: the test module's ``tool`` (or Flask ``app``), else what
    ``deskwork run`` opens in the test file's folder (``tool.py``, ``app.py``, ...)."""
    from flask import Flask

    from deskwork.loader import load_target
    from deskwork.model import Tool

    found = getattr(request.module, "tool", None)
    if isinstance(found, Tool):
        return found
    for name in ("app", "application"):
        app = getattr(request.module, name, None)
        if isinstance(app, Flask):
            return app
    target = load_target(str(Path(request.path).parent))
    return target.tool if target.tool is not None else target.app


@pytest.fixture
def deskwork_client(deskwork_tool: Tool | Flask, tmp_path: Path) -> FlaskClient | Client:
    """A test client for the tool, signed in, on a fresh database with no sample data;
    for a plain Flask app, its own test client behind deskwork's security."""
    from deskwork.model import Tool
    from deskwork.testing import app_client, tool_client

    if isinstance(deskwork_tool, Tool):
        return tool_client(deskwork_tool, tmp_path / "test.sqlite3")
    return app_client(deskwork_tool)


@pytest.fixture
def deskwork_seeded_client(deskwork_tool: Tool, tmp_path: Path) -> FlaskClient:
    """Like ``deskwork_client``, with the tool's sample data (its ``@tool.seed`` functions)."""
    from deskwork.model import Tool
    from deskwork.testing import tool_client

    if not isinstance(deskwork_tool, Tool):
        raise pytest.UsageError("deskwork_seeded_client is for declared tools (they seed).")

    return tool_client(deskwork_tool, tmp_path / "seeded.sqlite3", seed=True)
