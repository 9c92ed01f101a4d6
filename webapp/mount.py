"""A declared tool inside an existing Flask app, as a Flask extension.

::

    app = Flask(__name__)
    tool.init_app(app, url_prefix="/tools")

The host app gains the tool's forms, tables and reports under ``/tools/`` without being
rewritten. The tool keeps an app of its own (``create_app``: its pages, templates, static
files and error pages), put in the host's WSGI pipeline by wrapping ``app.wsgi_app``:

* A request for the prefix or below goes to the tool's app, with the prefix moved from
  ``PATH_INFO`` to ``SCRIPT_NAME``: its links and static files are under ``/tools/``.
  ``/tools`` redirects to ``/tools/``. Every other request reaches the host unchanged.
  Middleware wrapped around ``app.wsgi_app`` after ``init_app`` (such as ``ProxyFix``,
  which a host behind a proxy needs) sees the tool's requests too; middleware wrapped
  before it does not.
* Who gets in is the host's to decide: the tool's app runs with ``DESKWORK_MOUNTED``, which
  drops the per-launch secret and the Host check (``deskwork.security``), and keeps the
  rest: unsafe requests from other origins refused, the security headers, the forms'
  one-time tokens. Each request to the tool is first a request of the *host* app: its
  ``before_request`` functions run (one that refuses everyone not logged in refuses the
  tool's pages too), then ``access``, if given (the logged-in user is loaded by then):
  ``None`` or ``True`` lets the request through, ``False`` is a 403 (the host's own 403
  page if it has one), anything else is a response value the host makes a response of,
  such as ``redirect(url_for("auth.login"))``.
* The tool's session cookie has its own name and the prefix as its path (below wherever
  the host itself is mounted), so it never meets the host's; it is signed with a key
  derived from the host's ``SECRET_KEY`` (every worker process then accepts it), or a
  random one if the host has none.
* The database is ``database``, else the host's ``DESKWORK_DATABASE`` setting, else
  ``<instance folder>/<tool name>.sqlite3``. It is created (and seeded) or migrated, backed
  up first if it is to change, on the first request that reaches the tool, not by
  ``init_app``: an app factory also runs for every ``flask`` command. The tool's app is
  assembled then (``deskwork.assembly``, as every way of serving a tool is), with the
  host's ``DEBUG`` and ``TESTING`` as they are by that time, and its ``DESKWORK_LOCALE``
  if set.

``app.extensions["deskwork"]`` maps each prefix to its ``MountedTool``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import Forbidden
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from deskwork.assembly import Options, assemble
from deskwork.db.storage import Storage
from deskwork.errors import ToolError
from deskwork.model import Tool
from deskwork.security import session_cookie_name

log = logging.getLogger("deskwork")

#: Decides, in a request of the host app, whether it reaches the tool: ``None`` or
#: ``True`` lets it through, ``False`` is a 403, anything else is the host's response.
AccessCheck = Callable[[], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PREFIX = re.compile(r"/[A-Za-z0-9][A-Za-z0-9._-]*")


class ToolSessions(SecureCookieSessionInterface):
    """The tool's session cookie goes only to the tool's own addresses: its path is the
    request's ``SCRIPT_NAME`` (the prefix, below wherever the host itself is mounted)."""

    def get_cookie_path(self, app: Flask) -> str:
        return request.script_root or "/"


class MountedTool:
    """One tool served under ``url_prefix`` of a host app: WSGI middleware around the
    host's ``wsgi_app``, which sends the prefix's requests to the tool's own app."""

    def __init__(
        self,
        host: Flask,
        tool: Tool,
        url_prefix: str,
        storage: Storage,
        access: AccessCheck | None,
    ) -> None:
        self.host = host
        self.tool = tool
        self.url_prefix = url_prefix
        self.storage = storage
        self.access = access
        self.host_app: WSGIApp = host.wsgi_app  # what served every request before
        self._app: Flask | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MountedTool {self.tool.title!r} at {self.url_prefix}>"

    @property
    def app(self) -> Flask:
        """The tool's own Flask app, assembled on first use: its database is created (and
        seeded) or migrated then, backed up first if it is to change."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._assemble()
        return self._app

    def _assemble(self) -> Flask:
        host = self.host
        config: dict[str, Any] = {
            "TESTING": host.testing,
            "SESSION_COOKIE_NAME": session_cookie_name(self.tool.name),
            "SESSION_COOKIE_SECURE": host.config.get("SESSION_COOKIE_SECURE", False),
        }
        if host.secret_key:
            key = host.secret_key
            key_bytes = key.encode() if isinstance(key, str) else key
            purpose = f"deskwork.mount:{self.url_prefix}".encode()
            config["SECRET_KEY"] = hmac.new(key_bytes, purpose, hashlib.sha256).digest()
        options = Options(
            locale=host.config.get("DESKWORK_LOCALE"), debug=host.debug, mounted=True,
            config=config,
        )  # fmt: skip
        app = assemble(self.tool, self.storage, options=options).app
        app.session_interface = ToolSessions()
        return app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if path != self.url_prefix and not path.startswith(self.url_prefix + "/"):
            return self.host_app(environ, start_response)
        if path == self.url_prefix:
            query = environ.get("QUERY_STRING", "")
            location = environ.get("SCRIPT_NAME", "") + path + "/" + (query and f"?{query}")
            return redirect(location, 308)(environ, start_response)
        refusal = self._check_access(environ)
        if refusal is not None:
            return refusal(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.url_prefix
        environ["PATH_INFO"] = path[len(self.url_prefix) :]
        return self.app(environ, start_response)

    def _check_access(self, environ: dict[str, Any]) -> Response | None:
        """The host's answer to this request (as its ``full_dispatch_request`` would make
        it), or None to let the tool serve it: the host's ``before_request`` functions
        run first (one that refuses, refuses the tool's pages too), then ``access``."""
        host = self.host
        # The host's hooks see who is asking, not the body: a hook reading the form must
        # not use up the stream the tool's form is read from.
        ctx = host.request_context({**environ, "wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"})
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                try:
                    answer = host.preprocess_request()
                    if answer is None:
                        if self.access is None:
                            return None
                        allowed = host.ensure_sync(self.access)()
                        if allowed is None or allowed is True:
                            return None
                        if allowed is False:
                            raise Forbidden()
                        answer = allowed
                except Exception as e:
                    answer = host.handle_user_exception(e)
                return host.finalize_request(answer)
            except Exception as e:
                error = e
                return host.handle_exception(e)
        finally:
            ctx.pop(error)


def mount(
    tool: Tool,
    app: Flask,
    url_prefix: str = "/tools",
    *,
    database: str | Path | None = None,
    access: AccessCheck | None = None,
) -> MountedTool:
    """Serve ``tool`` from ``app`` under ``url_prefix`` (see the module's docstring)."""
    if not isinstance(url_prefix, str) or not PREFIX.fullmatch(url_prefix):
        raise ToolError(
            f"url_prefix={url_prefix!r} is not a prefix: give one part of an address, "
            "starting with '/', as in url_prefix='/tools'."
        )
    mounts: dict[str, MountedTool] = app.extensions.setdefault("deskwork", {})
    if url_prefix in mounts:
        raise ToolError(
            f"{mounts[url_prefix].tool!r} is already mounted at {url_prefix} in this app: "
            f"give {tool!r} another url_prefix."
        )
    path = database or app.config.get("DESKWORK_DATABASE")
    if not path:
        path = Path(app.instance_path) / f"{tool.name}.sqlite3"
    mounted = MountedTool(app, tool, url_prefix, Storage(path), access)
    app.wsgi_app = mounted  # type: ignore[method-assign]
    mounts[url_prefix] = mounted
    return mounted
