"""Launching a tool: database, server thread, then a window (or a browser address).

One path serves ``deskwork demo``, ``deskwork run`` and a built executable, so what the
tests check is what users run.
"""

from __future__ import annotations

import http.client
import logging
import logging.handlers
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from flask import Flask

from deskwork import Tool
from deskwork.app import create_app
from deskwork.desktop import paths
from deskwork.desktop.server import ServerThread
from deskwork.desktop.settings import Settings
from deskwork.desktop.window import NoDisplay, check_display, open_window
from deskwork.errors import DeskworkError
from deskwork.security import cookie_name
from deskwork.storage import Storage
from deskwork.views import page_url

log = logging.getLogger("deskwork")

Echo = Callable[[str], None]


def setup_logging(tool_name: str, settings: Settings | None = None) -> Path:
    """Log to ``<log dir>/<tool>.log`` (rotated); returns the file's path."""
    folder = paths.log_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tool_name}.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("deskwork",):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_deskwork", False)]
        handler._deskwork = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return path


class LaunchError(DeskworkError):
    exit_code = 1


def port_is_closed(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def launch(
    tool: Tool,
    *,
    database: Path | None = None,
    browser: bool = False,
    self_test: bool = False,
    icon: Path | None = None,
    echo: Echo = print,
) -> int:
    """Open ``tool``; return the process exit code once the window is closed."""
    settings = Settings.load()  # once: IT's settings, handed on from here
    log_file = setup_logging(tool.name, settings)
    storage = Storage(database or paths.default_database(tool.name, settings))
    if storage.prepare(tool):
        log.info("Created %s with sample data", storage.path)
    log.info("Opening %s with %s", tool.title, storage.path)

    if not browser:
        try:
            check_display(settings)
        except NoDisplay as reason:
            if self_test:
                echo(f"self-test failed: {reason}")
                return 1
            echo(f"No window can open here: {reason}; serving for a browser instead.")
            browser = True

    secret = secrets.token_urlsafe(32)
    server = ServerThread()
    app = create_app(
        tool, storage, secret=secret, port=server.port,
        locale=settings.locale, user_locale=settings.user_locale,
    )  # fmt: skip
    server.set_app(app)
    storage.hold()
    server.start()
    log.info("Serving %s on %s (log: %s)", tool.title, server.url, log_file)
    first_url = f"{server.url}?token={secret}"
    try:
        if browser:
            return serve_for_browser(tool, first_url, echo)
        result = open_window(
            tool.title,
            first_url,
            icon=icon,
            self_test=self_test,
            expect_heading=tool.title,
            check=lambda: broken_pages(app, server.port, secret),
        )
    finally:
        server.stop()
        storage.let_go()  # after the last request: the database file is whole again
        log.info("Stopped serving %s", tool.title)

    if result is None:
        return 0
    if result.ok and not port_is_closed(server.port):
        result.ok, result.message = False, f"port {server.port} still accepts connections"
    left = threads_left()
    if result.ok and left:
        result.ok, result.message = False, f"threads still running: {', '.join(left)}"
    echo(
        f"self-test {'ok' if result.ok else 'failed'}: {result.message}; "
        f"server on port {server.port} stopped, no thread left"
        if result.ok
        else f"self-test failed: {result.message}"
    )
    return 0 if result.ok else 1


def broken_pages(app: Flask, port: int, secret: str) -> str | None:
    """Ask the running server for every declared page; say which ones fail, if any."""
    with app.test_request_context():
        addresses = [page_url(page) for page in app.extensions["deskwork.tool"].pages.values()]
    failed = []
    for address in addresses:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", address, headers={"Cookie": f"{cookie_name(port)}={secret}"})
            status = connection.getresponse().status
        except OSError as error:
            failed.append(f"{address} ({error})")
            continue
        finally:
            connection.close()
        if status != 200:
            failed.append(f"{address} ({status})")
    return f"pages failed: {', '.join(failed)}" if failed else None


def threads_left(grace: float = 5.0) -> list[str]:
    """Names of threads other than the main one still alive after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is not threading.main_thread():
            thread.join(max(deadline - time.monotonic(), 0))
    return [t.name for t in threading.enumerate() if t is not threading.main_thread()]


def serve_for_browser(tool: Tool, first_url: str, echo: Echo) -> int:
    """Print the address to open and serve until Ctrl+C (or SIGTERM)."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        echo(f"{tool.title} is ready. Open this address in a browser (Ctrl+C stops):")
        echo(first_url)
        while not stop.wait(0.5):
            pass
        echo("Stopped.")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
