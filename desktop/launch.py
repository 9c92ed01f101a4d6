"""Launching a tool: database, server thread, then a window (or a browser address).

One path serves ``deskwork demo``, ``deskwork run`` and a built executable, so what the
tests check is what users run; what is served is assembled in one place
(``deskwork.desktop.serving``). The window starts first: the database, the app and the
server get ready on a thread of their own meanwhile (``Serving``), so that start-up costs
little more than the window itself.
"""

from __future__ import annotations

import logging
import logging.handlers
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from deskwork import Tool
from deskwork.desktop import paths, single, updates
from deskwork.desktop.hosting import AppConfig
from deskwork.desktop.places import check_database_place, check_writable
from deskwork.desktop.serving import AppServing, Serving, ToolServing
from deskwork.desktop.settings import Settings
from deskwork.desktop.window import NoDisplay, check_display, open_window
from deskwork.errors import DeskworkError, LaunchError

if TYPE_CHECKING:  # Flask, sqlite-utils and cheroot are imported while the window opens
    pass

log = logging.getLogger("deskwork")

Echo = Callable[[str], None]
WSGIApp = Callable[..., Any]


def setup_logging(tool_name: str, settings: Settings | None = None) -> Path:
    """Log to ``<log dir>/<tool>.log`` (rotated); returns the file's path."""
    folder = paths.log_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tool_name}.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("deskwork")  # every module of deskwork logs below it
    logger.handlers = [h for h in logger.handlers if not getattr(h, "_deskwork", False)]
    handler._deskwork = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path


def current_log_file() -> Path | None:
    """The log file ``setup_logging`` opened in this process, if any."""
    for handler in logging.getLogger("deskwork").handlers:
        if getattr(handler, "_deskwork", False):
            return Path(handler.baseFilename)  # type: ignore[attr-defined]
    return None


def has_console() -> bool:
    """Whether printed messages reach anyone: a windowed build on Windows (and any
    process started with its output closed) has ``sys.stdout``/``sys.stderr`` None."""
    return sys.stdout is not None and sys.stderr is not None


def port_is_closed(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def launch(
    target: Tool | WSGIApp,
    *,
    title: str | None = None,
    name: str | None = None,
    database: Path | None = None,
    browser: bool = False,
    self_test: bool = False,
    icon: Path | None = None,
    config: AppConfig | None = None,
    echo: Echo = print,
) -> int:
    """Open ``target`` (a declared tool, or a plain Flask app called ``title``, logged as
    ``name``, set up as its ``config`` says); return the process exit code once the
    window is closed."""
    if isinstance(target, Tool):
        title, name = target.title, target.name
    else:
        title, name = title or "App", name or "app"
    settings = Settings.load(name=name)  # once: IT's settings, handed on from here
    server: str | None = settings.value("server")
    if isinstance(target, Tool) and server is not None:  # the team's server, not a file
        from deskwork.desktop.connect import connect

        log.info("Log file: %s", setup_logging(name, settings))
        return connect(server, title=title, settings=settings)
    if isinstance(target, Tool):
        log_file = setup_logging(name, settings)
        database = database or paths.default_database(name, settings)
        check_database_place(database)  # a network drive, a folder that can't be written
        lock = single.lock_beside(database)
    else:
        log_file = setup_logging(name, settings)
        # Its own data is its own; deskwork's (a secret key, a built app's instance
        # folder, the lock) is in the user data folder.
        check_writable(paths.data_dir(settings), "The user data folder")
        lock = single.app_lock(name, settings)
    log.info("Log file: %s", log_file)
    claim = single.Claim(lock, settings)
    if not claim.take():  # one writer: the running one shows itself instead
        if self_test:
            echo(f"self-test failed: {title} is already open")
            return 1
        return hand_over(claim, title, browser=browser, echo=echo)
    try:
        serving: Serving
        if isinstance(target, Tool):
            assert database is not None
            update = updates.at_launch(target, settings, database)  # before the database opens
            if update.updated or update.restart:  # the new version; or the previous, put back
                claim.release()
                updates.run_again(update.program)
            if update.rolled_back:
                tell(title, update.message, echo)
            serving = ToolServing(target, database, settings, log_file=log_file)
        else:
            serving = AppServing(
                target, title, settings, name=name, config=config, log_file=log_file
            )
        claim.announce(serving.port, serving.focus_key)
        code = serve(serving, browser=browser, self_test=self_test, icon=icon, echo=echo)
    finally:
        claim.release()
    if serving.restart_into is not None:  # the user chose to restart into a new version
        updates.run_again(serving.restart_into)
    return code


def finish_update_here(tool: Tool, database: Path | None, echo: Echo = print) -> int:
    """The first run of a new version, with no window (``updates.apply_pending`` runs
    it): the database prepared as a launch prepares it (migrated, backed up first), then
    every page asked for over the real server. 0 when all of it works."""
    settings = Settings.load(name=tool.name)
    setup_logging(tool.name, settings)
    database = database or paths.default_database(tool.name, settings)
    check_database_place(database)
    serving = ToolServing(tool, database, settings)
    try:
        serving.start()  # a database this version can't open stops here, with its message
        broken = broken_pages(serving)
    finally:
        serving.stop()
    if broken is not None:
        echo(f"{tool.title} {tool.version} can't serve its pages: {broken}")
        return 1
    echo(f"{tool.title} {tool.version} is ready: its database is up to date, every page opens.")
    return 0


def tell(title: str, message: str, echo: Echo) -> None:
    """Say ``message`` where the user sees it: printed, or in a box with no console."""
    if has_console():
        echo(message)
        return
    from deskwork.desktop.entry import show_message_box

    show_message_box(title, message)


def hand_over(claim: single.Claim, title: str, *, browser: bool, echo: Echo) -> int:
    """A second launch: the running one shows itself; with no console to print its
    address on (a windowed build, the running one serving a browser), a box shows it."""
    if has_console():
        single.hand_over(claim, title, browser=browser, echo=echo)
        return 0
    told: list[str] = []
    answer = single.hand_over(claim, title, browser=browser, echo=told.append)
    if not answer.focused:
        from deskwork.desktop.entry import show_message_box

        show_message_box(title, "\n".join(told))
    return 0


def serve(
    serving: Serving, *, browser: bool, self_test: bool, icon: Path | None, echo: Echo
) -> int:
    """Serve ``serving`` in a window (or for a browser) until closed; the exit code."""
    settings = serving.settings
    try:
        if not browser:
            try:
                check_display(settings)
            except NoDisplay as reason:
                if self_test:
                    echo(f"self-test failed: {reason}")
                    return 1
                if not has_console():  # an address printed to no one: nothing would happen
                    raise LaunchError(f"No window can open here: {reason}.") from None
                echo(f"No window can open here: {reason}; serving for a browser instead.")
                browser = True
        if browser:
            serving.start()  # here: a database that can't open stops with its message
            return serve_for_browser(serving.title, serving.first_url, echo)
        # The database, the app and the server get ready while the window and its browser
        # engine start (after the GUI toolkit's import, which would only compete with them
        # for the interpreter).
        serving.in_window = True  # exports go through the save dialog
        serving.start_in_background()

        def keep_window(window: Any) -> None:
            serving.window = window

        if not self_test:
            serving.watch_for_updates()

        result = open_window(
            serving.title,
            serving.window_url,
            icon=icon,
            self_test=self_test,
            expect_heading=serving.expect_heading,
            check=lambda: broken_pages(serving),
            settings=settings,
            on_window=keep_window,
            menu=serving.menu(),
        )
        serving.window = None
    finally:
        serving.stop()

    if serving.error is not None:
        raise_start_error(serving.title, serving.error, shown=True)
    if result is None:
        return 0
    if result.ok and not port_is_closed(serving.port):
        result.ok, result.message = False, f"port {serving.port} still accepts connections"
    left = threads_left()
    if result.ok and left:
        result.ok, result.message = False, f"threads still running: {', '.join(left)}"
    echo(
        f"self-test {'ok' if result.ok else 'failed'}: {result.message}; "
        f"server on port {serving.port} stopped, no thread left"
        if result.ok
        else f"self-test failed: {result.message}"
    )
    return 0 if result.ok else 1


def raise_start_error(title: str, error: BaseException | None, *, shown: bool = False) -> NoReturn:
    """Raise what stopped the tool from starting, as the CLI reports it; ``shown``: the
    window showed it already (a windowed build then needs no message box as well)."""
    raised = error if isinstance(error, DeskworkError) else None
    if raised is None:
        raised = LaunchError(f"{title} could not start: {error}")
        raised.__cause__ = error
    raised.shown_in_window = shown  # type: ignore[attr-defined]
    raise raised


def broken_pages(serving: Serving) -> str | None:
    """Ask the running server for every declared page; say which ones fail, if any."""
    import http.client

    from deskwork.security import cookie_name

    if not serving.ready(60) or serving.app is None:
        return f"the tool could not start: {serving.error}"
    port, secret = serving.port, serving.secret
    addresses = serving.page_paths()
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


def serve_for_browser(title: str, first_url: str, echo: Echo) -> int:
    """Print the address to open and serve until Ctrl+C (or SIGTERM)."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        echo(f"{title} is ready. Open this address in a browser (Ctrl+C stops):")
        echo(first_url)
        while not stop.wait(0.5):
            pass
        echo("Stopped.")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
