"""The app factory: a Flask app serving one tool over one database."""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, render_template, request
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.exceptions import HTTPException

from deskwork import live, locales, security, team, views
from deskwork.db.storage import Storage
from deskwork.errors import DeskworkError, NotAllowed
from deskwork.fields.files import size_text
from deskwork.model import Tool
from deskwork.served import Served

log = logging.getLogger("deskwork")

#: The class of every page's <html>: the window is on this same machine, and its fonts are.
PLATFORMS = {"win32": "windows", "darwin": "macos"}

#: The largest request, attached files included: over it, nothing sent can be kept.
MAX_REQUEST_SIZE = 64 * 1024 * 1024

#: deskwork's own keys in a Flask app's config, declared once (a test checks that no other
#: ``DESKWORK_`` key is used): what each holds, and who sets it.
CONFIG_KEYS: dict[str, str] = {
    "DESKWORK_SECRET": "the per-launch secret every request must carry (create_app)",
    "DESKWORK_PORT": "the port the server bound: the Host check's (create_app)",
    "DESKWORK_LOCALE": "the locale numbers are written and read in (create_app; a host "
    "app's own config for a mounted tool)",
    "DESKWORK_LOG_FILE": "the log file an error page names (assembly.Options.log_file)",
    "DESKWORK_MOUNTED": "served inside a host Flask app: the host decides who gets in "
    "(assembly.Options.mounted)",
    "DESKWORK_DATABASE": "a host Flask app's own config: the mounted tool's database file",
    "DESKWORK_IMPORT_ROWS": "the most rows one import may bring (assembly.Options.import_rows)",
    "DESKWORK_API_TOKEN": "the launch's API token a program sends (assembly.Options.api_token)",
    "DESKWORK_API_FILE": "where the host wrote the API's address and token, for the API's "
    "page (assembly.Options.api_file)",
    "DESKWORK_API_ORIGINS": "other sites' origins the API answers, with the token "
    "(assembly.Options.api_origins)",
    "DESKWORK_READ_ONLY": "staff can look but not change: every request that could change "
    "the data is refused (assembly.Options.read_only)",
    "DESKWORK_SERVED": "served to a team: people log in, roles and CSRF are checked "
    "(assembly.Options.served, deskwork.team)",
}

PLAIN_ERROR_PAGE = (
    "<!doctype html><title>Error</title><h1>Something went wrong</h1>"
    "<p>The details are in the log file.</p>"
)


def create_app(
    tool: Tool,
    database: str | Path | Storage,
    *,
    secret: str | None = None,
    port: int | None = None,
    locale: str | None = None,
    user_locale: str | None = None,
    config: dict[str, Any] | None = None,
    served: Served | None = None,
) -> Flask:
    """Build the Flask app for ``tool``, storing its rows in ``database``.

    ``secret`` is the per-launch token every request must carry (a fresh random one if
    not given); ``port`` pins the Host check to the port the server bound. ``locale``
    (set by whoever installs the tool) wins over the tool's own ``locale``, which wins over
    ``user_locale`` (the user's session's): the host reads them, this side reads no
    environment variable. ``served``: the tool is served to a team, who log in
    (``deskwork.team``) instead of carrying the secret.
    The database must already be prepared (``Storage.prepare``).
    """
    app = Flask("deskwork")
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        DESKWORK_SECRET=secret or secrets.token_urlsafe(32),
        DESKWORK_PORT=port,
        # A request may be 64 MB, attached files included, and any one text field as long
        # (Werkzeug's own 500 KB default for a field would answer a bare 413 and lose what
        # was typed): a long field then reaches its field's own "too long", beside it.
        MAX_CONTENT_LENGTH=MAX_REQUEST_SIZE,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_SIZE,
        TEMPLATES_AUTO_RELOAD=False,
        # Cookies do not isolate by port: two tools open at once keep their own session.
        SESSION_COOKIE_NAME=security.session_cookie_name(port or "test"),
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        DESKWORK_LOCALE=locales.chosen_locale(locale, tool.locale, user_locale),
    )
    if served is not None:
        # Cookies are per host, not per port: each served tool keeps its own.
        app.config.update(SESSION_COOKIE_NAME=security.session_cookie_name(tool.name),
                          SESSION_COOKIE_SAMESITE="Lax", DESKWORK_SERVED=True)  # fmt: skip
    app.config.update(config or {})
    app.extensions["deskwork.tool"] = tool
    app.extensions["deskwork.storage"] = (
        database if isinstance(database, Storage) else Storage(database)
    )
    app.jinja_loader = template_loader(tool, Path(app.root_path) / "templates")

    locales.init_app(app, locales.for_locale(app.config["DESKWORK_LOCALE"]))
    security.init_app(app)
    team.init_app(app, served)
    views.init_app(app)
    live.init_app(app, app.extensions["deskwork.storage"].path)
    app.before_request(_refuse_changes_when_read_only)
    app.teardown_appcontext(_close_db)
    # One mapping of errors to pages, the same in --reload's debug mode: a DeskworkError is
    # its status and message there too; only a bug reaches the Werkzeug debugger.
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DeskworkError, _error_page)
    if not app.debug:
        app.register_error_handler(Exception, _error_page)

    platform = PLATFORMS.get(sys.platform, "linux" if sys.platform.startswith("linux") else "")

    @app.context_processor
    def _tool_context() -> dict[str, Any]:
        return {"tool": tool, "platform": platform,
                "saving": "deskwork.saving" in app.extensions}  # fmt: skip

    return app


def template_loader(tool: Tool, own: Path) -> BaseLoader:
    """deskwork's templates, after the tool's own (which may replace any of them), and
    always as ``deskwork/<name>``: a tool's own ``base.html`` can then
    ``{% extends "deskwork/base.html" %}`` and change a block or two of every page."""
    deskworks = FileSystemLoader(own)
    loaders: list[BaseLoader] = [deskworks, PrefixLoader({"deskwork": deskworks})]
    if tool.template_folder is not None and tool.template_folder.is_dir():
        loaders.insert(0, FileSystemLoader(tool.template_folder))
    return ChoiceLoader(loaders)


def _close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _http_error(error: HTTPException) -> Any:
    if security.is_api(request):
        from deskwork.views.api import answer_error

        return answer_error(error)
    if error.code == 403:  # nothing about the tool for whoever has no secret
        return render_template("forbidden.html", error=error), 403
    if error.code == 413:  # over MAX_CONTENT_LENGTH: the form cannot come back as it was
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or MAX_REQUEST_SIZE
        message = (
            f"What was sent is larger than this tool takes: at most {size_text(limit)} in "
            "all, attached files included. Nothing was saved. Go back, attach a smaller "
            "file, and save again."
        )
        return render_template("error.html", error=error, message=message, status=413), 413
    return render_template("error.html", error=error, status=error.code), error.code or 500


def _error_page(error: Exception) -> Any:
    # The host names its log file (DESKWORK_LOG_FILE), so the page can say where to look.
    log_file = current_app.config.get("DESKWORK_LOG_FILE")
    if isinstance(error, DeskworkError):
        status = error.status
        message = str(error)
    else:
        # The log gets the traceback; the person gets a plain page and no internals.
        log.exception("Unexpected error while serving a page")
        status, message = 500, "Something went wrong. The details are in the log file."
    if security.is_api(request):
        from deskwork.views.api import answer_error

        return answer_error(error)
    try:
        shown = log_file if status >= 500 else None  # a 400's message says all there is
        page = render_template("error.html", message=message, status=status, log_file=shown)
        return page, status
    except Exception:  # the templates themselves are broken: a page that cannot fail
        log.exception("The error page failed too")
        return PLAIN_ERROR_PAGE, status


#: Requests with an unsafe method that change nothing: a window's export to a file, and
#: its cancelling; a tool set read-only still answers them.
READING_POSTS = frozenset({"tables.save_export", "tables.cancel_export", "reports.save_report"})


def _refuse_changes_when_read_only() -> None:
    """IT's ``read_only`` setting: every request that could change the data is refused,
    saying why, before anything is read from it (forms, deletes, bulk changes, imports,
    undo, restoring from the bin, the JSON API's writes)."""
    if not current_app.config.get("DESKWORK_READ_ONLY"):
        return
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in READING_POSTS:
        return
    raise NotAllowed(
        "This tool is read-only on this desk (IT's read_only setting): you can look, "
        "search, summarise and export, but not change anything. Nothing was changed."
    )
