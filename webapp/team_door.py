"""A plain Flask app (any WSGI app) served to a team by ``deskwork serve``, behind the
same log-in, roles and protection as a declared tool.

``TeamDoor`` is WSGI middleware around the plain app, with a deskwork app of its own
(``team_app``: an empty tool assembled as every served tool is, whose database holds only
the people, their sessions and tokens, and the audit trail):

* ``/_deskwork/...`` is deskwork's: the log-in pages (``/_deskwork/log-in``, OpenID
  Connect's too), "Log out" and "Log out everywhere" (``/_deskwork/``, the person's page),
  the audit trail and backups (admins), ``/_deskwork/health``, its style sheet.
* Every other request is first admitted by ``deskwork.team`` as a request of the team app
  (``team.admit_plain``): whoever is not logged in is sent to log in (and back), an API
  token is taken from scripts, a change must come from the app's own origin
  (``Origin``/``Sec-Fetch-Site``; the session cookie is SameSite=Lax too: the plain app's
  own forms carry no deskwork secret), and the role must allow it (``permissions.DEFAULT``:
  viewers look, editors change). A refusal is deskwork's page, audited; the app never sees
  the request.
* What gets through reaches the app with who sent it: ``REMOTE_USER`` (Flask's
  ``request.remote_user``) and ``environ["deskwork.person"]`` (``{"name", "role"}``); the
  session cookie and deskwork's API token are taken out of what it gets (a bearer token
  of the app's own is not deskwork's, and is passed on with a log-in). Its responses get
  ``PLAIN_APP_HEADERS`` (its own values win), HSTS over HTTPS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response

from deskwork import team
from deskwork.db.sessions import API_PREFIX
from deskwork.model import Tool
from deskwork.security import PLAIN_APP_HEADERS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Where deskwork's own pages are, beside the app's.
PREFIX = "/_deskwork"


def team_tool(title: str, name: str) -> Tool:
    """The tool whose database keeps a plain app's team (people, sessions, tokens, the
    audit trail): no tables of its own."""
    return Tool(title, name=name, templates=None)


class TeamDoor:
    """``app`` served to a team, people admitted by ``team_app`` (see the module)."""

    def __init__(self, app: WSGIApp, team_app: Flask) -> None:
        self.app = app
        self.team_app = team_app
        # After logging in, and the pages' title: the app's own home.
        team_app.extensions["deskwork.home"] = "/"
        team_app.jinja_env.globals["plain_home"] = "/"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        if path == PREFIX or path.startswith(f"{PREFIX}/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
            environ["PATH_INFO"] = path[len(PREFIX) :] or "/"
            return self.team_app(environ, start_response)
        refusal, who = self._admit(environ)
        if refusal is not None:
            return refusal(environ, start_response)
        assert who is not None
        environ["REMOTE_USER"] = who.name
        environ["deskwork.person"] = {"name": who.name, "role": who.role}
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip().startswith(API_PREFIX):
            del environ["HTTP_AUTHORIZATION"]  # deskwork's, never the app's to see
        own = team.cookie_names(self.team_app)
        environ["HTTP_COOKIE"] = ";".join(
            c for c in environ.get("HTTP_COOKIE", "").split(";")
            if c.strip() and c.split("=", 1)[0].strip() not in own
        )  # fmt: skip
        secure = environ.get("wsgi.url_scheme") == "https"

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            have = {name.lower() for name, _ in headers}
            extra = dict(PLAIN_APP_HEADERS)
            if secure:
                extra["Strict-Transport-Security"] = team.HSTS
            headers = headers + [(n, v) for n, v in extra.items() if n.lower() not in have]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _admit(self, environ: dict[str, Any]) -> tuple[Response | None, Any]:
        """deskwork's answer instead of the app's (a refusal, a redirect to log in), or
        who may go on."""
        app = self.team_app
        # As a request of the team app's, mounted at PREFIX: its addresses (log-in) are
        # made there, while the path asked for is the app's.
        root = environ.get("SCRIPT_NAME", "")
        asked = {**environ, "SCRIPT_NAME": root + PREFIX, "deskwork.door_root": root}
        with app.request_context(asked):
            try:
                answer = team.admit_plain()
            except Exception as error:  # a refusal: deskwork's own page for it
                answer = app.handle_user_exception(error)
            if answer is None:
                return None, team.person()
            response = app.process_response(app.make_response(answer))
            return response, None
