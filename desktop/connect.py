"""``deskwork connect URL``: the native window as a team's client.

Staff still double-click a desktop app: it opens the team's server (``deskwork serve``) in
the native window instead of a database of its own. The window shows the server's log-in
page, and the server's pages from then on; the browser engine is the system's own, which
trusts the operating system's certificate store, as the check below does (Python's
default context: the system's store).

When the server can't be reached, the window says so plainly, with the reason, and tries
again every ``RETRY_S`` seconds, opening the server's pages as soon as it answers. Once
open, a form sent while the server is away is held in the page with what was typed, and
sent when it answers again (``deskwork.js``).
"""

from __future__ import annotations

import html
import logging
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from deskwork.desktop.settings import Settings
from deskwork.desktop.window import NoDisplay, check_display, run_window
from deskwork.errors import LaunchError

log = logging.getLogger("deskwork")

#: Seconds between two tries while the server can't be reached.
RETRY_S = 5.0
TIMEOUT_S = 5.0

WAITING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>body{{font:16px system-ui,sans-serif;margin:3rem;color:#1f2933}}
h1{{font-size:1.4rem}}p{{max-width:40rem}}</style></head><body><main>
<h1>{title} can't be reached</h1>
<p role="alert">The team's server at <strong>{url}</strong> does not answer: {reason}.</p>
<p>Trying again every {every:g} seconds; its pages open here as soon as it answers. If it
stays this way, check the network, or ask IT.</p></main></body></html>"""


def server_address(text: str) -> str:
    """``text`` as a server's address (``https://tools.example/expenses/``), or a
    ``LaunchError`` saying what is wrong with it."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LaunchError(f"{text!r} is not a server's address: give one such as "
                          "https://tools.example/expenses/")  # fmt: skip
    return text.strip().rstrip("/") + "/"


def unreachable(url: str) -> str | None:
    """Why the server at ``url`` can't be reached now; None when it answers its health
    page."""
    context = ssl.create_default_context()  # the system's certificate store
    try:
        with urllib.request.urlopen(f"{url}health", timeout=TIMEOUT_S, context=context) as answer:
            return None if answer.status == 200 else f"it answered {answer.status}"
    except urllib.error.HTTPError as error:
        return f"it answered {error.code} {error.reason}"
    except urllib.error.URLError as error:
        return str(error.reason)
    except OSError as error:  # a timeout, a reset connection
        return str(error) or type(error).__name__


def connect(
    url: str,
    *,
    title: str | None = None,
    settings: Settings | None = None,
    on_window: Callable[[Any], None] | None = None,
) -> int:
    """Open the team server at ``url`` in the native window until it is closed: 0."""
    settings = settings or Settings.load()
    url = server_address(url)
    title = title or urlsplit(url).netloc
    try:
        check_display(settings)
    except NoDisplay as no_display:
        raise LaunchError(
            f"No window can open here: {no_display}. Open {url} in a browser."
        ) from None
    reason = unreachable(url)
    waiting = None if reason is None else _waiting_page(title, url, reason)
    stopped = threading.Event()

    def keep_trying(window: Any) -> None:
        shown = reason
        while shown is not None and not stopped.wait(RETRY_S):
            now = unreachable(url)
            if now is None:
                log.info("%s answers: opening its pages", url)
                window.load_url(url)
                return
            if now != shown:  # a new reason: said (the same one is left as it is)
                window.load_html(_waiting_page(title, url, now))
                shown = now

    log.info("Opening %s in the window%s", url, "" if reason is None else f" ({reason})")
    try:
        run_window(title, url, html=waiting, background=keep_trying, settings=settings,
                   on_window=on_window)  # fmt: skip
    finally:
        stopped.set()
    return 0


def _waiting_page(title: str, url: str, reason: str) -> str:
    return WAITING_PAGE.format(title=html.escape(title), url=html.escape(url),
                               reason=html.escape(reason), every=RETRY_S)  # fmt: skip
