"""pytest fixtures for a tool's own tests, installed with deskwork (no conftest needed).

``deskwork_client`` is a Flask test client for the tool on a fresh, empty database::

    from tool import tool

    def test_a_saved_note_is_listed(deskwork_client):
        deskwork_client.post("/forms/new-note", data={"title": "Call the printer"})
        assert "Call the printer" in deskwork_client.get("/tables/notes").text

The tool is the test module's ``tool`` if it has one, else the one in ``tool.py`` beside
the test file; a ``deskwork_tool`` fixture of your own overrides both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: pytest loads this plugin in every project
    from flask.testing import FlaskClient

    from deskwork.model import Tool


@pytest.fixture
def deskwork_tool(request: pytest.FixtureRequest) -> Tool:
    """The tool under test."""
    from deskwork.loader import load_tool
    from deskwork.model import Tool

    found = getattr(request.module, "tool", None)
    if isinstance(found, Tool):
        return found
    return load_tool(Path(request.path).parent / "tool.py")


@pytest.fixture
def deskwork_client(deskwork_tool: Tool, tmp_path: Path) -> FlaskClient:
    """A test client for the tool, signed in, on a fresh database with no sample data."""
    from deskwork.testing import tool_client

    return tool_client(deskwork_tool, tmp_path / "test.sqlite3")


@pytest.fixture
def deskwork_seeded_client(deskwork_tool: Tool, tmp_path: Path) -> FlaskClient:
    """Like ``deskwork_client``, with the tool's sample data (its ``@tool.seed`` functions)."""
    from deskwork.testing import tool_client

    return tool_client(deskwork_tool, tmp_path / "seeded.sqlite3", seed=True)
