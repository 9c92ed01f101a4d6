"""The WSGI server on a background thread, bound to 127.0.0.1 on a port the OS picks.

cheroot (CherryPy's server) binds port 0 once and keeps that socket, so there is no
probe-then-bind race; it serves from a pool of threads and writes no access log, so the
per-launch secret in the first address never reaches a log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from cheroot import wsgi

log = logging.getLogger("deskwork")

WSGIApp = Callable[..., Any]


class _Server(wsgi.Server):
    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes to stderr by default; route it to the log, without the request line.
        log.log(level, "server: %s", msg, exc_info=traceback)


class ServerThread:
    """Serve ``app`` from a background thread until ``stop()``.

    ``ServerThread(app)`` binds at once, so ``port`` is known before the app needs it;
    ``start()`` returns when the server accepts connections.
    """

    def __init__(self, app: WSGIApp | None = None, *, threads: int = 8) -> None:
        self._app: WSGIApp | None = app
        self._server = _Server(
            ("127.0.0.1", 0), self._dispatch, numthreads=threads, shutdown_timeout=2
        )
        self._server.prepare()  # binds and listens: the port is ours from here on
        self.host: str = self._server.bind_addr[0]
        self.port: int = self._server.bind_addr[1]
        self._thread = threading.Thread(target=self._serve, name="deskwork-server", daemon=True)
        self._stopped = threading.Event()

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
        return self._app(environ, start_response)

    def _serve(self) -> None:
        try:
            self._server.serve()
        finally:
            self._stopped.set()

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, finish the requests under way, close the socket, join threads."""
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
