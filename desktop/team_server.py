"""``deskwork serve``: one tool served to a team from a server, people logging in.

The same tool file a desk opens, assembled by the same ``deskwork.assembly.assemble``
with ``Options.served`` (``deskwork.team``: log-in, roles, CSRF), served by a production
server:

* **Linux and macOS: gunicorn**, with ``workers`` processes of ``threads`` threads each
  (its ``gthread`` worker). Each worker assembles the app itself after the fork, so no
  SQLite connection crosses a fork; the database is prepared (migrated, backed up) once
  before, in the first process. A worker that dies is replaced by gunicorn's arbiter.
* **Windows: cheroot**, the server every desk already runs deskwork on (tested there by
  the whole suite's launches), one process with ``threads`` threads: gunicorn does not
  run on Windows, and waitress would be a second server to trust for the same job.

The data stays one SQLite file on the server's own disk, in WAL mode: several worker
processes write to it, each write one immediate transaction that waits its turn
(``deskwork.db.connection``), never "database is locked". Live pages see every worker's
saves, since SQLite's ``data_version`` moves for any connection's commit
(``deskwork.live``); a live page's stream holds a thread while it is open, so each worker
takes at most half its threads' worth of them (a page beyond that works without live
updates).

Access logs go to standard output in the combined log format, and deskwork's own log to
standard error (as a service manager, systemd or a container, collects them). A server
that runs for days backs the database up once a day (``DailyBackups``), as a desk does at
the first launch of a day: at start, then from a thread of each worker process, one
worker at a time (a lock file), so no thread runs in the process that forks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deskwork.desktop import paths, single
from deskwork.desktop.places import check_database_place
from deskwork.desktop.settings import Settings
from deskwork.errors import AlreadyOpen
from deskwork.model import Tool

log = logging.getLogger("deskwork")

WSGIApp = Callable[..., Any]
Echo = Callable[[str], None]

#: Apache's combined log format, the one proxies and log tools read (gunicorn's atoms).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


class StreamSlots:
    """``environ["deskwork.streams"]`` under a server that has no threads of its own for
    live pages' streams (``deskwork.live``): at most ``limit`` at once in a process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open_now = 0
        self._lock = threading.Lock()

    def open(self, on_stop: Callable[[], None] | None = None) -> bool:
        with self._lock:
            if self.open_now >= self.limit:
                return False
            self.open_now += 1
            return True

    def close(self) -> None:
        with self._lock:
            self.open_now = max(0, self.open_now - 1)


def with_stream_slots(app: WSGIApp, limit: int) -> WSGIApp:
    slots = StreamSlots(limit)

    def served(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["deskwork.streams"] = slots
        return app(environ, start_response)

    return served


class DailyBackups:
    """A backup on each new day while the server runs (``Backups.daily``, checked every
    ``every`` seconds by a thread): each process checks, one at a time
    (``NAME.sqlite3-daily.lock``), so one backup is taken a day whichever worker does."""

    def __init__(
        self, backups: Any, every: float = 600.0, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        self.backups = backups
        self.every = every
        self.today = today
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deskwork daily backups",
                                        daemon=True)  # fmt: skip

    def start(self) -> DailyBackups:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def once(self) -> Any:
        """Today's backup, if none was taken yet (logged); a failure is logged and tried
        again at the next check."""
        try:
            with _one_at_a_time(self.backups.database) as mine:
                made = self.backups.daily(self.today()) if mine else None
        except Exception:
            log.exception("The daily backup of %s failed", self.backups.database)
            return None
        if made is not None:
            log.info("Backed up %s: %s", self.backups.database, made.path)
        return made

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.once()


@contextlib.contextmanager
def _one_at_a_time(database: Path) -> Iterator[bool]:
    """Whether this process may take the daily backup now: no other holds its lock
    (Windows: one process serves there, so always)."""
    if sys.platform == "win32":
        yield True
        return
    import fcntl

    path = database.with_name(f"{database.name}-daily.lock")
    with open(path, "a+b") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another worker is at it
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def server_key(database: Path) -> bytes:
    """The served tool's key for its signed cookies: made once, kept beside its database
    (``NAME.sqlite3-server.key``), readable by the server's own user only."""
    path = database.with_name(f"{database.name}-server.key")
    try:
        found = bytes.fromhex(json.loads(path.read_text(encoding="utf-8"))["key"])
        if len(found) == 32:
            return found
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or not a whole key: a new one
    key = secrets.token_bytes(32)
    paths.write_private_json(path, {"key": key.hex()})
    return key


class TeamServer:
    """What ``deskwork serve`` serves: the tool, its database and the settings' choices."""

    def __init__(
        self, tool: Tool, database: Path, settings: Settings, *, target: str = "TOOL",
        echo: Echo = print, app: WSGIApp | None = None,
    ) -> None:  # fmt: skip
        self.tool = tool
        #: A plain Flask app (any WSGI app) served behind the tool's log-in
        #: (``deskwork.team_door``); None for a declared tool.
        self.app = app
        self.target = target
        self.database = database
        self.settings = settings
        self.echo = echo
        # One key for every worker's signed cookies (messages, the forms' tokens), kept
        # across restarts so that a form open meanwhile still saves (``server_key``).
        self.secret_key = server_key(database)
        self.daily_backups: DailyBackups | None = None

    def prepare(self) -> None:
        """Migrate and back up the database once, before any worker opens it."""
        from deskwork.db.backups import Backups
        from deskwork.db.storage import Storage

        settings = self.settings
        backups = Backups(self.database, folder=settings.backup_dir, keep=settings.backups)
        storage = Storage(self.database)
        created = storage.prepare(self.tool, seed=False, bin_days=settings.bin_days,
                                  backups=backups)  # fmt: skip
        if created:
            log.info("Created %s", self.database)
        self.daily_backups = DailyBackups(backups)
        self.daily_backups.once()
        directory = settings.served().directory
        if directory is not None and _in_clear(directory.url):
            log.warning("DESKWORK_LDAP_URL is %s: people's passwords cross the network "
                        "unencrypted to the directory; use ldaps://", directory.url)  # fmt: skip
        if settings.value("public_url") is None:
            log.warning("DESKWORK_PUBLIC_URL is not set: requests for any host name are "
                        "answered; set it to the address people use (DNS rebinding)")  # fmt: skip
        with storage.open() as db:
            from deskwork.accounts import Accounts

            if not Accounts(db).all():
                self.echo(
                    f"No one may log in to {self.tool.title} yet: add an admin with "
                    f"deskwork users add {self.target} NAME --role admin"
                )

    def build(self) -> WSGIApp:
        """The app, as each worker process builds it."""
        from deskwork.assembly import Options, assemble

        settings = self.settings
        options = Options(
            locale=settings.locale, bin_days=settings.bin_days, backups=settings.backups,
            backup_dir=settings.backup_dir, import_rows=settings.import_rows,
            read_only=settings.read_only, served=settings.served(),
            config={"SECRET_KEY": self.secret_key},
        )  # fmt: skip
        assembled = assemble(self.tool, self.database, options=options, seed=False)
        self.daily_backups = DailyBackups(assembled.backups).start()  # in this process
        app: WSGIApp = assembled.app
        if self.app is not None:
            from deskwork.team_door import TeamDoor

            app = TeamDoor(self.app, assembled.app)
            hops = settings.served().proxies
            if hops:  # the door reads who the client is too (as the tool's app does)
                from werkzeug.middleware.proxy_fix import ProxyFix

                app = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops)
        return with_stream_slots(app, max(1, settings.threads // 2))


def serve(
    tool: Tool, database: Path | None, settings: Settings, *, target: str = "TOOL",
    echo: Echo = print, app: WSGIApp | None = None,
) -> int:  # fmt: skip
    """Serve ``tool`` (found at ``target``) as the settings say until stopped (SIGTERM or
    Ctrl+C): 0. With ``app``, a plain app is served, ``tool`` keeping its team."""
    database = (database or paths.default_database(tool.name, settings)).resolve()
    check_database_place(database)
    claim = single.Claim(single.lock_beside(database), settings)
    if not claim.take():
        raise AlreadyOpen(
            f"{tool.title} is open on this computer with {database} (a window, or another "
            "deskwork serve): close it first. A served tool is the only one writing its file."
        )
    first = os.getpid()
    server: TeamServer | None = None
    try:
        server = TeamServer(tool, database, settings, target=target, echo=echo, app=app)
        server.prepare()
        if sys.platform == "win32":
            return _serve_with_cheroot(server)
        return _serve_with_gunicorn(server)
    finally:
        if os.getpid() == first:  # a worker process ending here holds no claim of its own
            if server is not None and server.daily_backups is not None:
                server.daily_backups.stop()
            claim.release()


def _in_clear(url: str) -> bool:
    """Whether a directory's address sends passwords unencrypted over a network
    (``ldap://`` to another machine than this one)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    here = ("localhost", "127.0.0.1", "::1")
    return parts.scheme.lower() == "ldap" and parts.hostname not in here


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _serve_with_cheroot(server: TeamServer) -> int:
    from deskwork.desktop.server import ServerThread
    from deskwork.desktop.sockets import no_delay

    settings = server.settings
    host, port = _address(settings.address)
    sock = socket.create_server((host, port))
    no_delay(sock)
    running = ServerThread(server.build(), sock=sock, threads=settings.threads).start()
    server.echo(f"Serving {server.tool.title} at http://{host}:{running.port}/ with "
                f"{settings.threads} threads (cheroot). Stop with Ctrl+C.")  # fmt: skip
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    running.stop()
    return 0


def _serve_with_gunicorn(server: TeamServer) -> int:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    settings = server.settings
    config = {
        "bind": [settings.address],
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        # The proxies are deskwork's to believe (the proxies setting), not gunicorn's own
        # list: no forwarded header is taken from anyone else.
        "forwarded_allow_ips": "",
        "proxy_allow_ips": "",
        "graceful_timeout": 10,
        # An idle kept-alive connection stays open longer than a proxy's or a load
        # balancer's own idle timeout (60 s is common): closed first by the server, a
        # request sent on it at that moment fails (gunicorn's default is 2 s).
        "keepalive": 75,
        "control_socket_disable": True,
        "proc_name": f"deskwork serve {server.tool.name}",
        "when_ready": lambda arbiter: _ready(server, arbiter),
    }

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self) -> WSGIApp:
            return server.build()

    Gunicorn().run()
    return 0


def _ready(server: TeamServer, arbiter: Any) -> None:
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        server.echo(
            f"Serving {server.tool.title} at http://{shown}:{port}/ with "
            f"{server.settings.workers} worker processes of {server.settings.threads} "
            f"threads (gunicorn, pid {os.getpid()}). Stop with Ctrl+C."
        )
