"""The WSGI server on a background thread, bound to 127.0.0.1 on a port the OS picks.

cheroot (CherryPy's server) binds port 0 once and keeps that socket, so there is no
probe-then-bind race; it serves from a pool of threads and writes no access log, so the
per-launch secret in the first address never reaches a log. It can also be handed a
socket that is already listening: ``--reload``'s child process serves its parent's that
way, with the same server as a normal run.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from cheroot import server as http
from cheroot import wsgi
from cheroot.makefile import MakeFile

from deskwork.desktop.sockets import no_delay

log = logging.getLogger("deskwork")

WSGIApp = Callable[..., Any]


class _Connection(http.HTTPConnection):
    """cheroot's connection, with ``TCP_NODELAY`` set on it whatever socket it came from
    (cheroot sets it only on a socket it binds itself)."""

    def __init__(self, server: Any, sock: socket.socket, makefile: Any = MakeFile) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            no_delay(sock)
        super().__init__(server, sock, makefile)


class _Server(wsgi.Server):
    ConnectionClass = _Connection

    listening: socket.socket | None = None  # handed over already listening: serve it as is

    def bind(self, family: int, type: int, proto: int = 0) -> socket.socket:
        # cheroot's prepare() makes its socket here, then sets a timeout and listens on it.
        if self.listening is None:
            made: socket.socket = super().bind(family, type, proto)
            return made
        no_delay(self.listening)
        self.socket = self.listening
        self.bind_addr = self.listening.getsockname()[:2]
        return self.listening

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes to stderr by default; route it to the log, without the request line.
        log.log(level, "server: %s", msg, exc_info=traceback)


#: Event streams (live pages) served at once, each on a thread of its own.
MAX_STREAMS = 200


class Streams:
    """Threads for the responses that last (live pages' event streams,
    ``deskwork.live``): while more streams are open than ever before, the pool gets one
    more thread, so the threads that serve pages and saves stay free however many pages
    listen, up to ``limit``. The pool keeps those threads after (cheroot's ``shrink`` can't
    be counted on to take one away at a time): it is as large as the most streams ever
    open at once, plus its own. Offered to the app as ``environ["deskwork.streams"]``."""

    def __init__(self, server: _Server, limit: int = MAX_STREAMS) -> None:
        self._server = server
        self.limit = limit
        self.count = 0
        self.added = 0  # threads added to the pool for streams
        self._lock = threading.Lock()
        self._on_stop: list[Callable[[], None]] = []

    def open(self, on_stop: Callable[[], None] | None = None) -> bool:
        """A thread for one more stream, if under the limit; ``on_stop`` ends the
        streams when the server stops."""
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            if on_stop is not None and on_stop not in self._on_stop:
                self._on_stop.append(on_stop)
            if self.count > self.added:
                self._server.requests.grow(1)
                self.added += 1
        return True

    def close(self) -> None:
        """A stream has ended: its thread is free for the next one."""
        with self._lock:
            self.count -= 1

    def stop(self) -> None:
        with self._lock:
            stopping, self._on_stop = self._on_stop, []
        for end in stopping:
            end()


class ServerThread:
    """Serve ``app`` from a background thread until ``stop()``.

    ``ServerThread(app)`` binds at once, so ``port`` is known before the app needs it;
    ``start()`` returns when the server accepts connections. ``ServerThread(sock=...)``
    serves a socket already bound and listening instead (``--reload``'s child serves its
    parent's); the server owns it from then on and closes it on ``stop()``.
    """

    def __init__(
        self, app: WSGIApp | None = None, *, threads: int = 8, sock: socket.socket | None = None
    ) -> None:
        self._app: WSGIApp | None = app
        address = sock.getsockname()[:2] if sock is not None else ("127.0.0.1", 0)
        self._server = _Server(address, self._dispatch, numthreads=threads, shutdown_timeout=2)
        self._server.listening = sock
        self._server.prepare()  # binds (unless handed a socket) and listens: the port is ours
        self.host: str = self._server.bind_addr[0]
        self.port: int = self._server.bind_addr[1]
        self._thread = threading.Thread(target=self._serve, name="deskwork-server", daemon=True)
        self._stopped = threading.Event()
        self.streams = Streams(self._server)

    def __repr__(self) -> str:
        return f"<ServerThread {self.url}>"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def set_app(self, app: WSGIApp) -> None:
        """Serve ``app``; lets the app be built after the port is known."""
        self._app = app

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"Starting..."]
        environ["deskwork.streams"] = self.streams
        return self._app(environ, start_response)

    def _serve(self) -> None:
        try:
            self._server.serve()
        finally:
            self._stopped.set()

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped serving, or ``timeout``; whether it has."""
        return self._stopped.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end the event streams, finish the requests under way, close the
        socket, join threads."""
        self.streams.stop()
        self._server.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
