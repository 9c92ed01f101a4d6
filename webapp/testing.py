"""Helpers for testing a tool: a Flask test client on a fresh database.

::

    from deskwork.testing import tool_client

    def test_home_page_shows_the_title(tmp_path):
        client = tool_client(tool, tmp_path / "test.sqlite3")
        assert b"My tool" in client.get("/").data
        saved = client.submit("/forms/new-note", {"title": "Call the printer"})
        assert saved.status_code == 303
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import Client

from deskwork.assembly import Options, assemble
from deskwork.model import Tool
from deskwork.security import Guard, cookie_name

TEST_PORT = 5999
HIDDEN = re.compile(r'<input type="hidden" name="(_[a-z]+)" value="([^"]*)"')
TEST_SECRET = "test-secret"


class LocalRequests(Client):
    """Requests come to ``127.0.0.1:TEST_PORT``, as the window's do."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not args or isinstance(args[0], str):  # not a request being followed
            kwargs.setdefault("base_url", f"http://127.0.0.1:{TEST_PORT}")
        return super().open(*args, **kwargs)


class ToolClient(LocalRequests, FlaskClient):
    """A Flask test client for a declared tool."""

    def submit(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Open the form at ``path`` as a person would, and send it with ``data``: with
        the hidden fields the page gave it (its one-time token, the record's version)."""
        page = self.get(path)
        given = dict(HIDDEN.findall(page.get_data(as_text=True)))
        return self.post(path, data={**given, **(data or {})}, **kwargs)


def app_client(app: Flask) -> Client:
    """A test client for a plain Flask app behind deskwork's ``Guard``, signed in."""
    client = LocalRequests(
        Guard(app, secret=TEST_SECRET, port=TEST_PORT), response_wrapper=app.response_class
    )
    client.set_cookie(cookie_name(TEST_PORT), TEST_SECRET, domain="127.0.0.1")
    return client


def tool_client(
    tool: Tool,
    database: str | Path,
    *,
    seed: bool = False,
    locale: str | None = None,
    **config: Any,
) -> FlaskClient:
    """A test client for ``tool``, signed in, on a freshly prepared database, assembled as
    every way of serving a tool is (``deskwork.assembly``).

    ``seed=True`` also runs the tool's sample-data functions; ``locale`` is the one
    whoever installs the tool would set (``DESKWORK_LOCALE``).
    """
    options = Options(locale=locale, config=config)
    app = assemble(
        tool, database, secret=TEST_SECRET, port=TEST_PORT, options=options, seed=seed
    ).app
    app.testing = True
    app.test_client_class = ToolClient
    client = app.test_client()
    client.set_cookie(cookie_name(TEST_PORT), TEST_SECRET, domain="127.0.0.1")
    return client


#: Where a served tool's test client sends its requests from (and to): a team's server.
TEAM_ORIGIN = "https://tools.example"


class TeamClient(ToolClient):
    """A test client for a tool served to a team: its requests come from the tool's own
    pages, over HTTPS (``Origin``), and ``log_in`` logs a person in."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not args or isinstance(args[0], str):
            kwargs.setdefault("base_url", TEAM_ORIGIN)
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Origin", TEAM_ORIGIN)
            kwargs["headers"] = headers
        return FlaskClient.open(self, *args, **kwargs)

    def log_in(self, name: str, password: str) -> Any:
        """Log in as ``name`` (the response: 303 to the home page, or the refusal)."""
        return self.post("/log-in", data={"name": name, "password": password})


def team_client(
    tool: Tool, database: str | Path, *, seed: bool = False, **served: Any
) -> TeamClient:
    """A test client for ``tool`` served to a team (``deskwork serve``), logged in as
    nobody yet: add people with ``deskwork.accounts.Accounts``, then ``log_in``.
    ``served``: ``deskwork.team.Served``'s settings (``session_hours``, ``bulk_limit``)."""
    from deskwork.served import Served

    options = Options(served=Served(**served))
    app = assemble(tool, database, options=options, seed=seed).app
    app.testing = True
    app.test_client_class = TeamClient
    client = app.test_client()
    assert isinstance(client, TeamClient)
    return client
