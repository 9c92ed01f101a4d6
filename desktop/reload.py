"""``--reload``: development mode that restarts the tool when its code changes.

The parent process binds the port once and keeps it, with one secret for the whole
session; each change starts a fresh child process that serves on that same socket, so
the window (or browser tab) only has to reload the page. This is the only mode with the
Werkzeug debugger, and its console is still behind the per-launch secret and its PIN.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from deskwork.desktop import paths
from deskwork.desktop.launch import Echo, setup_logging
from deskwork.desktop.window import NoDisplay, check_display, gui_name
from deskwork.loader import load_tool

SECRET_VARIABLE = "DESKWORK_RELOAD_SECRET"
POLL_SECONDS = 0.5


def watched_files(tool_file: Path) -> Iterator[Path]:
    """The tool's folder and deskwork's own Flask side (code and templates)."""
    import deskwork

    for pattern in ("*.py", "templates/*.html"):
        yield from tool_file.parent.glob(pattern)
    for pattern in ("**/*.py", "templates/*.html", "static/*"):
        yield from Path(deskwork.__file__).parent.glob(pattern)


def snapshot(tool_file: Path) -> dict[Path, float]:
    stamps = {}
    for path in watched_files(tool_file):
        try:
            stamps[path] = path.stat().st_mtime
        except OSError:
            continue
    return stamps


class ChildServer:
    """The child process that serves the current code on the parent's socket."""

    def __init__(self, tool_file: Path, database: Path, sock: socket.socket, secret: str) -> None:
        self.command = [
            sys.executable, "-m", "deskwork.desktop.reload", str(tool_file),
            f"--fd={sock.fileno()}", f"--port={sock.getsockname()[1]}", f"--db={database}",
        ]  # fmt: skip
        self.sock = sock
        self.env = {**os.environ, SECRET_VARIABLE: secret}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, pass_fds=[self.sock.fileno()])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def watch(tool_file: Path, child: ChildServer, stop: threading.Event,
          on_restart: Callable[[], None], echo: Echo) -> None:  # fmt: skip
    before = snapshot(tool_file)
    while not stop.wait(POLL_SECONDS):
        now = snapshot(tool_file)
        if now != before:
            changed = sorted(p.name for p in set(now) | set(before) if now.get(p) != before.get(p))
            echo(f"Changed: {', '.join(changed)}; restarting.")
            child.restart()
            on_restart()
            before = now


def run_with_reload(tool_file: Path, database: Path | None, *, echo: Echo) -> int:
    tool = load_tool(tool_file)  # fail here, with a clear message, if it is broken already
    setup_logging(tool.name)
    database = database or paths.default_database(tool.name)
    secret = secrets.token_urlsafe(32)
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.set_inheritable(True)
        port = sock.getsockname()[1]
        first_url = f"http://127.0.0.1:{port}/?token={secret}"
        child = ChildServer(tool_file, database, sock, secret)
        child.start()
        stop = threading.Event()
        try:
            try:
                check_display()
            except NoDisplay as reason:
                echo(f"No window can open here: {reason}; serving for a browser instead.")
                return _browser(tool_file, child, stop, first_url, echo)
            return _window(tool.title, tool_file, child, stop, first_url, echo)
        finally:
            stop.set()
            child.stop()


def _browser(tool_file: Path, child: ChildServer, stop: threading.Event, url: str,
             echo: Echo) -> int:  # fmt: skip
    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        echo("Development mode: restarts when the code changes. Open (Ctrl+C stops):")
        echo(url)
        watch(tool_file, child, stop, lambda: None, echo)
        echo("Stopped.")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _window(title: str, tool_file: Path, child: ChildServer, stop: threading.Event, url: str,
            echo: Echo) -> int:  # fmt: skip
    import webview

    window = webview.create_window(f"{title} (development)", url, width=1100, height=760)
    if window is None:
        raise NoDisplay("pywebview could not create a window")

    def reload_page() -> None:
        window.run_js("location.reload()")

    def watch_in_background(_: Any) -> None:
        watch(tool_file, child, stop, reload_page, echo)

    window.events.closed += stop.set
    webview.start(watch_in_background, (window,), gui=gui_name())
    return 0


def _serve_child() -> None:
    """Child process: serve the tool on the inherited socket, with the debugger."""
    from werkzeug.debug import DebuggedApplication
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from deskwork.app import create_app
    from deskwork.security import cookie_name
    from deskwork.storage import Storage

    parser = argparse.ArgumentParser()
    parser.add_argument("tool_file", type=Path)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    options = parser.parse_args()
    secret = os.environ.pop(SECRET_VARIABLE)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its request log shows the token

    tool = load_tool(options.tool_file)
    storage = Storage(options.db)
    storage.prepare(tool)
    storage.hold()  # the child is killed on the next change; SQLite's WAL makes that safe
    app = create_app(tool, storage, secret=secret, port=options.port, config={"DEBUG": True})
    debugged = DebuggedApplication(app, evalex=True, pin_logging=False)
    print(f"Debugger PIN: {debugged.pin}", flush=True)

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        # The debugger answers before Flask does: keep it behind the same secret.
        request = Request(environ)
        if (
            "__debugger__" in request.args
            and request.cookies.get(cookie_name(options.port)) != secret
        ):
            return Response("Forbidden", status=403)(environ, start_response)
        return debugged(environ, start_response)

    server = make_server("127.0.0.1", options.port, guarded, threaded=True, fd=options.fd)
    server.serve_forever()


if __name__ == "__main__":
    _serve_child()
