"""Launching a tool: database, server thread, then a window (or a browser address).

One path serves ``deskwork demo``, ``deskwork run`` and a built executable, so what the
tests check is what users run. The window starts first: the database, the app and the
server get ready on a thread of their own meanwhile (``Serving``), so that start-up costs
little more than the window itself.
"""

from __future__ import annotations

import html
import logging
import logging.handlers
import secrets
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
from deskwork.desktop import paths, single
from deskwork.desktop.hosting import AppConfig
from deskwork.desktop.places import check_database_place, check_writable
from deskwork.desktop.settings import Settings
from deskwork.desktop.window import NoDisplay, bring_to_front, check_display, open_window
from deskwork.errors import DeskworkError

if TYPE_CHECKING:  # Flask, sqlite-utils and cheroot are imported while the window opens
    from deskwork.backups import Backup, Backups
    from deskwork.desktop.server import ServerThread
    from deskwork.storage import Storage

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


class LaunchError(DeskworkError):
    exit_code = 1


def port_is_closed(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


class Serving:
    """What a launch serves, on a socket bound at once, made ready on a thread of its own.

    The window needs only the address to open; getting ready (``build``: for a tool,
    preparing its database and building its app) and starting the server happen
    meanwhile, while the GUI toolkit and the browser engine start their own processes
    (``start_in_background``). The window's first request waits in the socket's queue
    until the server accepts. If getting ready fails, the window shows why (and the log
    has the details) instead of waiting for ever.
    """

    #: The home page's heading the self-test expects, if any.
    expect_heading: str | None = None

    def __init__(self, title: str, settings: Settings, *, log_file: Path | None = None) -> None:
        self.title = title
        self.settings = settings
        self.log_file = log_file
        self.secret = secrets.token_urlsafe(32)
        # What a second launch shows to be let in at the focus door (``single``): not the
        # secret, which a window-mode run hands to nobody.
        self.focus_key = single.new_key()
        self.window: Any = None  # the native window, once made
        self.sock = socket.create_server(("127.0.0.1", 0))  # bound once: no probe race
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.error: BaseException | None = None
        self.app: WSGIApp | None = None
        self.server: ServerThread | None = None
        self._thread: threading.Thread | None = None

    @property
    def first_url(self) -> str:
        """The address to open in a browser: the secret, swapped for a cookie at once."""
        return f"{self.url}?token={self.secret}"

    @property
    def window_url(self) -> str:
        """The native window's first address (no address bar, no history to clean): its
        page comes at once, without the redirect (``deskwork.security``, which would load
        Flask here, before the window, to name the parameter)."""
        return f"{self.url}?window_token={self.secret}"

    def build(self) -> WSGIApp:
        """The app to serve, behind deskwork's protection."""
        raise NotImplementedError

    def page_paths(self) -> list[str]:
        """The pages ``--self-test`` asks for."""
        return ["/"]

    def warm_up(self) -> None:
        """Work done once served, before the window's first request comes."""

    def menu(self) -> list[tuple[str, Callable[[], None]]]:
        """The window's File menu: (title, action) pairs."""
        return []

    def close(self) -> None:
        """Let go of what ``build`` took, once the server has stopped."""

    def start(self) -> None:
        """Get ready and serve: on the calling thread."""
        from deskwork.desktop.server import ServerThread

        self.app = self.build()
        self.server = ServerThread(self._with_focus_door(self.app), sock=self.sock).start()
        log.info("Serving %s on %s", self.title, self.url)
        self.warm_up()

    def _with_focus_door(self, app: WSGIApp) -> WSGIApp:
        return single.FocusDoor(app, key=self.focus_key, port=self.port, answer=self.show_itself)

    def show_itself(self, address: bool) -> dict[str, Any]:
        """A second launch asked for this one (``single.FocusDoor``): bring the window to
        the front; give the address with the secret if asked, or if there is no window."""
        focused = self.window is not None and bring_to_front(self.window)
        log.info(
            "A second launch asked for %s: %s", self.title,
            "its window is brought to the front" if focused else "its address is given",
        )  # fmt: skip
        given = self.first_url if address or not focused else None
        return {"title": self.title, "focused": focused, "address": given}

    def start_in_background(self) -> None:
        def run() -> None:
            try:
                self.start()
            except BaseException as error:  # shown in the window, then by the CLI
                log.error("%s could not start", self.title, exc_info=True)
                self.error = error
                self._serve_error(error)

        self._thread = threading.Thread(target=run, name="deskwork-start", daemon=True)
        self._thread.start()

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until started (or failed); whether it is being served."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.server is not None and self.error is None

    def _serve_error(self, error: BaseException) -> None:
        from deskwork.desktop.server import ServerThread

        if self.server is not None:  # the server runs: the error came after, leave it be
            return
        message = str(error) if isinstance(error, DeskworkError) else "Something went wrong."
        where = f": {self.log_file}" if self.log_file else ""
        page = (
            f"<!doctype html><title>{html.escape(self.title)}</title>"
            f"<h1>{html.escape(self.title)} could not open</h1>"
            f"<p>{html.escape(message)}</p><p>The details are in the log file"
            f"{html.escape(where)}.</p>"
        ).encode()

        hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

        def explain(
            environ: dict[str, object], start_response: Callable[..., object]
        ) -> list[bytes]:
            ours = environ.get("HTTP_HOST") in hosts  # DNS rebinding gets nothing, as ever
            start_response("500 Internal Server Error" if ours else "403 Forbidden", [
                ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
            ])  # fmt: skip
            return [page if ours else b"Forbidden"]

        try:
            self.server = ServerThread(self._with_focus_door(explain), sock=self.sock).start()
        except Exception:  # nothing can serve: let the window fail to connect
            log.exception("Could not serve the error page either")
            self.sock.close()

    def stop(self) -> None:
        """Stop serving (after the last request), then let go of what was taken."""
        self.ready()
        if self.server is not None:
            self.server.stop()
        else:
            self.sock.close()
        self.close()
        log.info("Stopped serving %s", self.title)


class ToolServing(Serving):
    """A declared tool: its database prepared, its app built by deskwork."""

    def __init__(
        self, tool: Tool, database: Path, settings: Settings, *, log_file: Path | None = None
    ) -> None:
        super().__init__(tool.title, settings, log_file=log_file)
        self.tool = tool
        self.database = database
        self.expect_heading = tool.title
        self.storage: Storage | None = None
        self.backups: Backups | None = None

    def build(self) -> WSGIApp:
        from deskwork.app import create_app
        from deskwork.backups import Backups
        from deskwork.storage import Storage

        self.storage = Storage(self.database)
        self.backups = Backups(self.database, keep=self.settings.backups)
        if self.storage.prepare(self.tool, bin_days=self.settings.bin_days, backups=self.backups):
            log.info("Created %s with sample data", self.storage.path)
        log.info("Opening %s with %s", self.tool.title, self.storage.path)
        app = create_app(
            self.tool, self.storage, secret=self.secret, port=self.port,
            locale=self.settings.locale, user_locale=self.settings.user_locale,
            config={"DESKWORK_LOG_FILE": str(self.log_file)} if self.log_file else None,
        )  # fmt: skip
        self.storage.hold()
        return app

    def warm_up(self) -> None:
        """Serve the home page once, inside the process, while the browser engine starts:
        its templates are compiled and Flask's first-request work is done by the time the
        window asks for it."""
        from flask import Flask

        from deskwork.security import cookie_name

        assert isinstance(self.app, Flask)
        client = self.app.test_client()
        client.set_cookie(cookie_name(self.port), self.secret, domain="127.0.0.1")
        response = client.get("/", base_url=self.url)
        if response.status_code != 200:
            log.warning("The home page answered %s", response.status_code)
        self.daily_backup()
        self.daily_tidy()

    def daily_backup(self) -> None:
        """The first launch of a day backs the database up (served meanwhile: the copy is
        consistent while the tool saves). A failed backup is logged, never fatal."""
        assert self.backups is not None
        try:
            made = self.backups.daily()
        except Exception:
            log.exception("The daily backup of %s failed", self.database)
            return
        if made is not None:
            log.info("Backed up %s: %s", self.database, made.path)

    def daily_tidy(self) -> None:
        """The first launch of a day tidies the search indexes (saves wait meanwhile: about
        a second and a half at a million rows). A failure is logged, never fatal."""
        assert self.storage is not None
        try:
            started = time.perf_counter()
            done = self.storage.tidy(self.tool)
        except Exception:
            log.exception("Tidying the search indexes of %s failed", self.database)
            return
        if done:
            log.info("Tidied the search indexes of %s in %.2f s", ", ".join(done),
                     time.perf_counter() - started)  # fmt: skip

    def back_up_now(self) -> Backup:
        """A backup now ("Back up now" in the window's menu)."""
        assert self.backups is not None
        made = self.backups.take("manual")
        log.info("Backed up %s: %s", self.database, made.path)
        return made

    def menu(self) -> list[tuple[str, Callable[[], None]]]:
        return [("Back up now", self.menu_back_up), ("Restore…", self.menu_restore)]

    def menu_back_up(self) -> None:
        """ "Back up now": a backup, then where it is (or why not)."""
        try:
            made = self.back_up_now()
        except Exception as error:
            log.exception("Backing up %s failed", self.database)
            self.tell("Not backed up", f"The backup failed: {error}")
            return
        self.tell("Backed up", f"{self.tool.title} is backed up in {made.path}.")

    def menu_restore(self) -> None:
        """ "Restore…": pick a backup in the system's open dialog, confirm, restore, and
        show the tool's pages again."""
        import webview

        window = self.window
        if window is None or self.backups is None:
            return
        self.backups.folder.mkdir(parents=True, exist_ok=True)
        chosen = window.create_file_dialog(
            webview.FileDialog.OPEN,
            directory=str(self.backups.folder),
            file_types=("Backups (*.sqlite3)", "All files (*.*)"),
        )
        if not chosen:
            return
        backup = Path(chosen[0] if isinstance(chosen, list | tuple) else chosen)
        asked = window.create_confirmation_dialog(
            "Restore this backup?",
            f"{self.tool.title} will hold what {backup.name} holds. What it holds now is "
            "kept as a backup first, so this can be undone by restoring that one.",
        )
        if not asked:
            return
        try:
            kept = self.restore_from(backup)
        except Exception as error:
            log.exception("Restoring %s from %s failed", self.database, backup)
            self.tell("Not restored", f"Nothing was changed: {error}")
            return
        window.load_url(self.url)
        self.tell("Restored", f"Restored from {backup.name}. The data as it was is in {kept.path}.")

    def tell(self, title: str, message: str) -> None:
        """A message in a dialog of the window (the log has it too)."""
        log.info("%s: %s", title, message)
        if self.window is not None:
            self.window.create_confirmation_dialog(title, message)

    def restore_from(self, backup: Path) -> Backup:
        """Make the database what ``backup`` holds, while served ("Restore…" in the
        window's menu); returns the copy of the database kept first. An older backup's
        tables are brought up to the tool's declarations again."""
        assert self.backups is not None and self.storage is not None
        kept = self.backups.restore(backup)
        self.storage.prepare(self.tool, seed=False, bin_days=self.settings.bin_days)
        log.info("Restored %s from %s (the file as it was: %s)", self.database, backup, kept.path)
        return kept

    def page_paths(self) -> list[str]:
        from flask import Flask

        from deskwork.views import page_url

        assert isinstance(self.app, Flask)
        with self.app.test_request_context():
            return [page_url(page) for page in self.tool.pages.values()]

    def close(self) -> None:
        if self.storage is not None:
            self.storage.let_go()  # after the last request: the database file is whole again


class AppServing(Serving):
    """A plain Flask app (or any WSGI app), served unchanged behind ``Guard``: first
    given a real secret key and its first-launch set-up (``deskwork.desktop.hosting``)."""

    def __init__(
        self,
        app: WSGIApp,
        title: str,
        settings: Settings,
        *,
        name: str = "app",
        config: AppConfig | None = None,
        log_file: Path | None = None,
    ) -> None:
        super().__init__(title, settings, log_file=log_file)
        self.wrapped = app
        self.name = name
        self.config = config or AppConfig()

    def build(self) -> WSGIApp:
        from deskwork.desktop.hosting import prepare
        from deskwork.security import Guard

        prepare(self.wrapped, self.config, self.name, self.settings)
        return Guard(self.wrapped, secret=self.secret, port=self.port)

    def page_paths(self) -> list[str]:
        return list(self.config.self_test)


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
    settings = Settings.load()  # once: IT's settings, handed on from here
    if isinstance(target, Tool):
        title, name = target.title, target.name
        log_file = setup_logging(name, settings)
        database = database or paths.default_database(name, settings)
        check_database_place(database)  # a network drive, a folder that can't be written
        lock = single.lock_beside(database)
    else:
        title, name = title or "App", name or "app"
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
            serving = ToolServing(target, database, settings, log_file=log_file)
        else:
            serving = AppServing(
                target, title, settings, name=name, config=config, log_file=log_file
            )
        claim.announce(serving.port, serving.focus_key)
        return serve(serving, browser=browser, self_test=self_test, icon=icon, echo=echo)
    finally:
        claim.release()


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
        serving.start_in_background()

        def keep_window(window: Any) -> None:
            serving.window = window

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
