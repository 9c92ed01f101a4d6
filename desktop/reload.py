"""``--reload``: development mode that restarts the tool when its code changes.

The parent process binds the port once and keeps it, with one secret for the whole
session; each change starts a fresh child process that serves on that same socket, so
the window (or browser tab) only has to reload the page. The child serves with the
server of a normal run (``ServerThread``, cheroot) and the window has a normal run's
settings: what works here works in a normal run. This is the only mode with the Werkzeug
debugger, and its console is still behind the per-launch secret and its PIN.

What is watched: the tool's folder, all the way down, and deskwork's own Flask side, for
the kinds of files code is made of (``WATCHED_SUFFIXES``); never databases, caches,
builds or hidden folders. An editor's save in two steps (a temporary file renamed over
the old one, or a truncation then a write) restarts once: watchfiles groups the changes
that come within ``STEP_MS`` of each other.

How the child gets the socket: on POSIX as an inherited file descriptor (``pass_fds``);
on Windows, which has no such thing, as ``socket.share(pid)``'s description of it,
written to the child's stdin and turned back into a socket by ``socket.fromshare``. The
secret goes by an environment variable the child removes at once, never on a command line.

One writer holds here too (``deskwork.desktop.single``): the parent takes the tool's lock
for the whole session, and the child answers a second launch with the address.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import watchfiles

from deskwork.desktop import paths, single
from deskwork.desktop.hosting import describe
from deskwork.desktop.launch import Echo, setup_logging
from deskwork.desktop.places import check_database_place, check_writable
from deskwork.desktop.settings import Settings
from deskwork.desktop.sockets import listening_socket
from deskwork.desktop.window import NoDisplay, check_display, run_window
from deskwork.loader import Target, load_target

SECRET_VARIABLE = "DESKWORK_RELOAD_SECRET"
FOCUS_KEY_VARIABLE = "DESKWORK_RELOAD_FOCUS_KEY"  # the focus door's key (``single``)
SHARED_SOCKET_OPTION = "--shared-socket"  # Windows: the socket's description is on stdin

WATCHED_SUFFIXES = frozenset({".py", ".html", ".css", ".js", ".json", ".sql", ".txt"})
IGNORED_FOLDERS = frozenset({"__pycache__", "dist", "build", "node_modules"})  # and .hidden
STEP_MS = 100  # changes closer together than this are one change (an editor's two steps)
DEBOUNCE_MS = 1_600  # but a steady stream of changes still restarts this often
READY_MS = 100  # an empty batch comes this soon when nothing changed: the watcher is in place


def watched_folders(tool_file: Path) -> list[Path]:
    """The tool's folder and deskwork's own Flask side, neither inside the other."""
    import deskwork

    tool_folder = tool_file.parent.resolve()
    own = Path(deskwork.__file__).parent.resolve()
    if own.is_relative_to(tool_folder):
        return [tool_folder]
    if tool_folder.is_relative_to(own):
        return [own]
    return [tool_folder, own]


class SourceFilter:
    """Which changed paths are the tool's code: a ``watch_filter`` for watchfiles.

    Paths are judged below the folder watched, so a tool kept in ``~/.tools/build/`` is
    still watched while its own ``build/`` is not. Nothing in the folders ``apart`` is
    code (the user data folder, where a running tool writes its API file, its logs and
    its database when the tool's folder holds it), unless one of them holds a watched
    folder.
    """

    def __init__(self, folders: Sequence[Path], apart: Sequence[Path] = ()) -> None:
        self.folders = list(folders)
        self.apart = [
            a for a in (Path(f).resolve() for f in apart)
            if not any(Path(f).resolve().is_relative_to(a) for f in self.folders)
        ]  # fmt: skip

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if any(Path(path).is_relative_to(a) for a in self.apart):
            return False
        for folder in self.folders:
            try:
                parts = Path(path).relative_to(folder).parts
            except ValueError:
                continue
            return bool(parts) and is_source(parts)
        return False


def is_source(parts: Sequence[str]) -> bool:
    """Whether the file at ``parts`` (below a watched folder) is code worth a restart."""
    *folders, name = parts
    if any(f in IGNORED_FOLDERS or f.startswith(".") for f in folders):
        return False
    if name.startswith("."):  # editors' lock and swap files
        return False
    return Path(name).suffix in WATCHED_SUFFIXES  # so never a database, a log or an image


def changed_names(changes: set[tuple[watchfiles.Change, str]], tool_file: Path) -> list[str]:
    """The changed files as the developer knows them: below the tool's folder, or deskwork's."""
    import deskwork

    tool_folder = tool_file.parent.resolve()
    own = Path(deskwork.__file__).parent.resolve()
    names = set()
    for _, path in changes:
        changed = Path(path)
        if changed.is_relative_to(tool_folder):
            names.add(changed.relative_to(tool_folder).as_posix())
        else:
            names.add(f"deskwork/{changed.relative_to(own).as_posix()}")
    return sorted(names)


class ChildServer:
    """The child process that serves the current code on the parent's socket."""

    def __init__(
        self,
        target: str | Path,
        database: Path | None,
        sock: socket.socket,
        secret: str,
        focus_key: str = "",
    ) -> None:
        self.command = [sys.executable, "-m", "deskwork.desktop.reload", str(target)]
        if database is not None:
            self.command.append(f"--db={database}")
        self.sock = sock
        self.env = {**os.environ, SECRET_VARIABLE: secret, FOCUS_KEY_VARIABLE: focus_key}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if sys.platform == "win32":
            # No descriptors to inherit: the socket is shared with the child's process id.
            self.process = subprocess.Popen(
                [*self.command, SHARED_SOCKET_OPTION], env=self.env, stdin=subprocess.PIPE
            )
            assert self.process.stdin is not None  # stdin=PIPE
            with self.process.stdin as stdin:
                stdin.write(self.sock.share(self.process.pid))
        else:
            fd = self.sock.fileno()
            self.process = subprocess.Popen(
                [*self.command, f"--fd={fd}"], env=self.env, pass_fds=[fd]
            )

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


def _nothing() -> None:
    pass


def watch(tool_file: Path, child: ChildServer, stop: threading.Event,
          on_restart: Callable[[], None], echo: Echo, apart: Sequence[Path] = (),
          on_ready: Callable[[], None] = _nothing) -> None:  # fmt: skip
    """Restart ``child`` after each change to the code until ``stop`` is set; changes in
    the folders ``apart`` are not code (``SourceFilter``).

    ``on_ready`` is called once the watcher is in place: a change from then on is seen.
    """
    folders = watched_folders(tool_file)
    ready = False
    for changes in watchfiles.watch(
        *folders,
        watch_filter=SourceFilter(folders, apart),
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        rust_timeout=READY_MS,
        yield_on_timeout=True,  # an empty set first: the watcher is in place
    ):
        if not ready:
            ready = True
            on_ready()
        if changes:
            echo(f"Changed: {', '.join(changed_names(changes, tool_file))}; restarting.")
            child.restart()
            on_restart()


def run_with_reload(text: str, database: Path | None, *, echo: Echo) -> int:
    """Serve the tool or plain Flask app at ``text`` (as ``deskwork run`` takes it) and
    restart it on every change."""
    target = load_target(text)  # fail here, with a clear message, if it is broken already
    icon = target.folder / "icon.png"
    title, name = target.title, target.tool.name if target.tool is not None else ""
    if target.tool is None:
        title, name, _config = describe(target)
    settings = Settings.load(name=name)
    setup_logging(name, settings)
    if target.tool is not None:
        database = database or paths.default_database(name, settings)
        check_database_place(database)
        lock = single.lock_beside(database)
    else:
        check_writable(paths.data_dir(settings), "The user data folder")
        lock = single.app_lock(name, settings)
    claim = single.Claim(lock, settings)
    if not claim.take():  # one writer, in development too
        single.hand_over(claim, title, browser=False, echo=echo)
        return 0
    try:
        return _serve_with_reload(text, target, database, claim, title, icon, settings, echo)
    finally:
        claim.release()


def _serve_with_reload(text: str, target: Target, database: Path | None, claim: single.Claim,
                       title: str, icon: Path, settings: Settings, echo: Echo) -> int:  # fmt: skip
    secret = secrets.token_urlsafe(32)
    focus_key = single.new_key()
    apart = [paths.data_dir(settings)]  # the children write their API file there
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        claim.announce(port, focus_key)
        first_url = f"http://127.0.0.1:{port}/?token={secret}"
        child = ChildServer(text, database, sock, secret, focus_key)
        child.start()
        stop = threading.Event()
        try:
            try:
                check_display(settings)
            except NoDisplay as reason:
                echo(f"No window can open here: {reason}; serving for a browser instead.")
                return _browser(target.file, child, stop, first_url, echo, apart)
            window_url = f"http://127.0.0.1:{port}/?window_token={secret}"  # no redirect
            shown = icon if icon.is_file() else None
            return _window(title, shown, target.file, child, stop, window_url, echo, apart)
        finally:
            stop.set()
            child.stop()


def _browser(tool_file: Path, child: ChildServer, stop: threading.Event, url: str,
             echo: Echo, apart: Sequence[Path]) -> int:  # fmt: skip
    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    def say_ready() -> None:
        echo("Development mode: restarts when the code changes. Open (Ctrl+C stops):")
        echo(url)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        watch(tool_file, child, stop, _nothing, echo, apart, on_ready=say_ready)
        echo("Stopped.")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _window(title: str, icon: Path | None, tool_file: Path, child: ChildServer,
            stop: threading.Event, url: str, echo: Echo,
            apart: Sequence[Path]) -> int:  # fmt: skip
    def watch_in_background(window: Any) -> None:
        window.events.closed += stop.set
        watch(tool_file, child, stop, lambda: window.run_js("location.reload()"), echo, apart)

    run_window(f"{title} (development)", url, icon=icon, background=watch_in_background)
    return 0


def inherited_socket(fd: int | None, shared: IO[bytes] | None) -> socket.socket:
    """Child process: the parent's listening socket, from its descriptor ``fd`` (POSIX) or
    from the description ``shared`` holds (Windows: what ``socket.share`` wrote on stdin)."""
    if sys.platform == "win32" and shared is not None:
        return socket.fromshare(shared.read())
    if fd is not None:
        return socket.socket(fileno=fd)
    raise SystemExit("This module is run by 'deskwork run --reload', which hands it a socket.")


def _serve_child() -> None:
    """Child process: serve the tool on the inherited socket, with the debugger, assembled
    as a normal run assembles it (``deskwork.desktop.serving``)."""
    from deskwork.desktop.serving import AppServing, Serving, ToolServing

    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--fd", type=int)
    parser.add_argument(SHARED_SOCKET_OPTION, action="store_true")
    options = parser.parse_args()
    given = {
        "secret": os.environ.pop(SECRET_VARIABLE),
        "focus_key": os.environ.pop(FOCUS_KEY_VARIABLE, "") or None,
        "sock": inherited_socket(options.fd, sys.stdin.buffer if options.shared_socket else None),
        "debug": True,
    }
    # The parent says when to stop (on a change, or Ctrl+C, which reaches both of us).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # A target that fails to load ends this process with the reason; the next save restarts.
    target = load_target(options.target)
    name = target.tool.name if target.tool is not None else describe(target)[1]
    settings = Settings.load(name=name)
    serving: Serving
    if target.tool is not None:
        serving = ToolServing(target.tool, options.db, settings, **given)
    else:
        title, name, config = describe(target)
        serving = AppServing(target.app, title, settings, name=name, config=config, **given)
    # Asked to stop (a change, or Ctrl+C), the requests under way are answered first:
    # a restart never resets a page that is loading. The window is the parent's: a second
    # launch is given the address (``Serving.show_itself``, with no window of its own).
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    serving.start()
    stopping.wait()
    serving.stop()


if __name__ == "__main__":
    _serve_child()
