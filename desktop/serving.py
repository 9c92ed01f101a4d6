"""The one assembly of what a launch serves: the socket, the secret, the app behind its
protection, and the server.

``ToolServing`` (a declared tool) and ``AppServing`` (a plain Flask app) are made by every
way a tool is opened: the window and the browser mode (``deskwork.desktop.launch``),
``--reload``'s child (``deskwork.desktop.reload``, on its parent's socket, with the
debugger), and a built executable (``deskwork.desktop.frozen``, through the CLI). A tool's
database and app come from ``deskwork.assembly.assemble``, the same function the test
client and ``tool.init_app`` use; the socket comes from ``listening_socket`` (bound once,
``TCP_NODELAY``) and is served by ``ServerThread`` (cheroot, the same server everywhere).

Nothing heavy is imported at the top: Flask, sqlite-utils and cheroot load on the thread
that gets ready while the window opens (``Serving.start_in_background``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskwork import Tool
from deskwork.desktop import paths, single
from deskwork.desktop.hosting import AppConfig
from deskwork.desktop.settings import Settings
from deskwork.desktop.sockets import listening_socket
from deskwork.desktop.window import bring_to_front
from deskwork.errors import DeskworkError

if TYPE_CHECKING:  # Flask, sqlite-utils and cheroot are imported while the window opens
    from deskwork.assembly import Assembled, Options
    from deskwork.db.backups import Backup, Backups
    from deskwork.db.storage import Storage
    from deskwork.desktop.server import ServerThread

log = logging.getLogger("deskwork")

WSGIApp = Callable[..., Any]


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

    def __init__(
        self,
        title: str,
        settings: Settings,
        *,
        log_file: Path | None = None,
        sock: socket.socket | None = None,
        secret: str | None = None,
        focus_key: str | None = None,
        debug: bool = False,
    ) -> None:
        """``sock``, ``secret`` and ``focus_key`` are a launch's own unless handed over
        (``--reload``'s child serves its parent's); ``debug``: development mode, with the
        Werkzeug debugger (behind the same secret), never in a normal run."""
        self.title = title
        self.settings = settings
        self.log_file = log_file
        self.debug = debug
        self.secret = secret or secrets.token_urlsafe(32)
        # What a second launch shows to be let in at the focus door (``single``): not the
        # secret, which a window-mode run hands to nobody.
        self.focus_key = focus_key or single.new_key()
        self.window: Any = None  # the native window, once made
        self.in_window = False  # shown in a native window (not served to a browser)
        self.sock = sock if sock is not None else listening_socket()
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.error: BaseException | None = None
        self.app: WSGIApp | None = None
        self.server: ServerThread | None = None
        self._thread: threading.Thread | None = None
        #: A new version to run once the window closes (the user chose to restart).
        self.restart_into: Path | None = None

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

    def watch_for_updates(self) -> None:
        """Look for a newer version once served (a tool's one-file build only)."""

    def menu(self) -> list[tuple[str, Callable[[], None]]]:
        """The window's File menu: (title, action) pairs."""
        return [("Print…", self.menu_print)]

    def menu_print(self) -> None:
        """ "Print…": the page shown, through the system's print dialog (which offers a
        PDF on every system), laid out by the page's print stylesheet."""
        window = self.window
        if window is not None:
            # As is: evaluate_js wraps the script in eval(), which the pages' CSP refuses.
            window.run_js("window.deskworkPrint ? deskworkPrint() : window.print()")

    def close(self) -> None:
        """Let go of what ``build`` took, once the server has stopped."""

    def start(self) -> None:
        """Get ready and serve: on the calling thread."""
        from deskwork.desktop.server import ServerThread

        self.app = self.build()
        served = self._with_debugger(self.app) if self.debug else self.app
        self.server = ServerThread(self._with_focus_door(served), sock=self.sock).start()
        log.info("Serving %s on %s", self.title, self.url)
        self.warm_up()

    def _with_debugger(self, app: WSGIApp) -> WSGIApp:
        """``--reload``'s development mode: the Werkzeug debugger, which answers before
        the app does, so it is kept behind the same secret (and its PIN)."""
        from werkzeug.debug import DebuggedApplication
        from werkzeug.wrappers import Request, Response

        from deskwork.security import cookie_name

        debugged = DebuggedApplication(app, evalex=True, pin_logging=False)
        print(f"Debugger PIN: {debugged.pin}", flush=True)
        name, secret = cookie_name(self.port), self.secret

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            request = Request(environ)
            if "__debugger__" in request.args and request.cookies.get(name) != secret:
                return Response("Forbidden", status=403)(environ, start_response)
            return debugged(environ, start_response)

        return guarded

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

    def __init__(self, tool: Tool, database: Path, settings: Settings, **given: Any) -> None:
        super().__init__(tool.title, settings, **given)
        self.tool = tool
        self.database = database
        self.expect_heading = tool.title
        self.assembled: Assembled | None = None

    @property
    def storage(self) -> Storage | None:
        return self.assembled.storage if self.assembled is not None else None

    @property
    def backups(self) -> Backups | None:
        return self.assembled.backups if self.assembled is not None else None

    def options(self) -> Options:
        """What the settings say of serving the tool."""
        from deskwork.assembly import Options

        settings = self.settings
        return Options(
            locale=settings.locale, user_locale=settings.user_locale,
            bin_days=settings.bin_days, backups=settings.backups, log_file=self.log_file,
            debug=self.debug, save_as=self.save_as if self.in_window else None,
            import_rows=settings.import_rows, api_token=self.api_token,
            api_file=self.api_file, api_origins=settings.api_origins,
            backup_dir=settings.backup_dir, read_only=settings.read_only,
        )  # fmt: skip

    @property
    def api_token(self) -> str:
        """The token a program on this desk sends to the JSON API: made from the launch's
        secret (which it does not reveal), so ``--reload``'s restarts keep it."""
        return hmac.new(self.secret.encode(), b"deskwork api token", hashlib.sha256).hexdigest()

    @property
    def api_file(self) -> Path:
        return paths.api_file(self.tool.name, self.settings)

    def tell_programs(self) -> None:
        """Write where the API is and its token for programs on this desk (the user's
        own, 0600), once served; ``close`` removes it."""
        try:
            paths.write_private_json(self.api_file, {
                "url": f"{self.url}api/", "token": self.api_token, "pid": os.getpid(),
                "tool": self.tool.title, "database": str(self.database),
            })  # fmt: skip
        except OSError:
            log.exception("Could not write %s: the API is for the tool's pages only", self.api_file)
            return
        log.info("The JSON API's address and token: %s", self.api_file)

    def forget_programs(self) -> None:
        """Remove the API file if it is still this launch's."""
        try:
            if json.loads(self.api_file.read_text(encoding="utf-8")).get("pid") == os.getpid():
                self.api_file.unlink()
        except (OSError, ValueError, AttributeError):
            pass

    def save_as(self, name: str, kind: str, extension: str) -> str | None:
        """Where to save an export: the system's save dialog, in the user's documents
        folder, with ``name`` suggested (the window drops downloads)."""
        import webview
        from platformdirs import user_documents_dir

        window = self.window
        if window is None:
            return None
        folder = Path(user_documents_dir())
        chosen = window.create_file_dialog(
            webview.FileDialog.SAVE,
            directory=str(folder if folder.is_dir() else Path.home()),
            save_filename=name,
            file_types=(f"{kind} (*.{extension})", "All files (*.*)"),
        )
        if not chosen:
            return None
        return str(chosen[0] if isinstance(chosen, list | tuple) else chosen)

    def build(self) -> WSGIApp:
        from deskwork.assembly import assemble

        self.assembled = assemble(
            self.tool, self.database, secret=self.secret, port=self.port, options=self.options()
        )
        log.info("Opening %s with %s", self.tool.title, self.database)
        return self.assembled.app

    def start(self) -> None:
        super().start()
        self.tell_programs()

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

    def watch_for_updates(self) -> None:
        """A one-file build with an update source looks for a newer version once served;
        the user is asked before restarting into it."""
        from deskwork.desktop import updates
        from deskwork.errors import SettingError, UpdateError

        program = updates.running_program()
        try:
            desk = updates.Desk.find(self.tool, self.settings) if program is not None else None
        except (UpdateError, SettingError):  # logged at launch already
            return
        if program is None or desk is None:
            return

        def ask(title: str, message: str) -> bool:
            window = self.window
            return bool(window is not None and window.create_confirmation_dialog(title, message))

        def restart() -> None:
            self.restart_into = program
            if self.window is not None:
                self.window.destroy()

        updates.watch(desk, lambda: self.ready(120), ask, restart)

    def menu(self) -> list[tuple[str, Callable[[], None]]]:
        items = [*super().menu(), ("Back up now", self.menu_back_up)]
        if self.settings.restore:  # IT may turn restoring off (the restore setting)
            items.append(("Restore…", self.menu_restore))
        return items

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
        kept = self.storage.restore(self.tool, self.backups, backup,
                                    bin_days=self.options().bin_days)  # fmt: skip
        log.info("Restored %s from %s (the file as it was: %s)", self.database, backup, kept.path)
        return kept

    def page_paths(self) -> list[str]:
        from flask import Flask

        from deskwork.views import page_url

        assert isinstance(self.app, Flask)
        with self.app.test_request_context():
            return [page_url(page) for page in self.tool.pages.values()]

    def close(self) -> None:
        self.forget_programs()
        if self.assembled is not None:
            self.assembled.close()  # after the last request: the database file is whole again


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
        **given: Any,
    ) -> None:
        super().__init__(title, settings, **given)
        self.wrapped = app
        self.name = name
        self.config = config or AppConfig()

    def build(self) -> WSGIApp:
        from flask import Flask

        from deskwork.desktop.hosting import prepare
        from deskwork.security import Guard

        prepare(self.wrapped, self.config, self.name, self.settings)
        if self.debug and isinstance(self.wrapped, Flask):
            self.wrapped.debug = True  # its errors reach the debugger
        return Guard(self.wrapped, secret=self.secret, port=self.port)

    def page_paths(self) -> list[str]:
        return list(self.config.self_test)
