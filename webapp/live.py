"""Live pages: an open dashboard, report or summary shows a change within a second,
without a reload, from whatever wrote it.

- **What changed**: SQLite's ``PRAGMA data_version`` on a connection of its own moves
  whenever any other connection commits: deskwork's own, or another program's writing
  the same file. ``Changes`` reads it every tenth of a second while a page listens
  (a read of a number in memory, no query of the data), and at once after a request that
  may have written; when nothing listens, nothing is read.
- **How pages hear it**: server-sent events at ``/events``. An event says only that the
  data moved (its id: this launch's and the change's number); the page then asks for
  itself again and puts in place the parts marked ``data-live`` that differ, keeping its
  scroll position and the keyboard's focus. No page asks anything while nothing changes.
- **Dropped connections catch up**: the browser reconnects by itself and sends the last
  id it saw; a stream that starts behind that id sends a change at once.
- **Streams never starve the server**: each open stream holds a thread while it lasts.
  The host's server may offer ``environ["deskwork.streams"]`` (``open(on_stop)``,
  ``close()``, called when the response is closed),
  which gives each stream a thread of its own beside the pool that serves pages and
  saves (``deskwork.desktop.server``); up to ``open()``'s limit, a page beyond it is
  told to try again later, and the page works on without live updates. In the browser,
  the pages of one tool share one stream (``deskwork.js``: one page holds it and passes
  events on to the others), so a browser's limit of six connections to one address is
  not taken up by streams.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request

bp = Blueprint("live", __name__)
log = logging.getLogger("deskwork")

#: How often the data's version is read while a page listens, in seconds.
CHECK_EVERY_S = 0.1
#: A comment sent on a quiet stream this often, so a closed page's stream ends.
QUIET_S = 15.0
#: How soon a browser reconnects after a stream drops, in milliseconds.
RETRY_MS = 1000


class Changes:
    """The number of changes to the database seen since launch, and who waits for them."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.launch = secrets.token_hex(4)
        self.count = 0
        self.closed = False
        self._listening = 0
        self._moved = threading.Condition()
        self._poked = threading.Event()
        self._watcher: threading.Thread | None = None
        self._db: sqlite3.Connection | None = None  # the watchers' own
        self._version: int | None = None  # the last data_version it read

    @property
    def event_id(self) -> str:
        return f"{self.launch}-{self.count}"

    def poke(self) -> None:
        """Look at the data's version now (after a request that may have written)."""
        self._poked.set()

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._moved:
            self.closed = True
            self._moved.notify_all()
        self._poked.set()
        watcher = self._watcher
        if watcher is not None:
            watcher.join(1)
        if self._db is not None and (watcher is None or not watcher.is_alive()):
            self._db.close()
            self._db = None

    def wait(self, seen: int, timeout: float) -> int:
        """The change count, once it is past ``seen`` or after ``timeout`` seconds."""
        with self._moved:
            self._moved.wait_for(lambda: self.count != seen or self.closed, timeout)
            return self.count

    def listen(self) -> None:
        with self._moved:
            self._listening += 1
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name="deskwork-changes",
                                                 daemon=True)  # fmt: skip
                self._watcher.start()

    def leave(self) -> None:
        with self._moved:
            self._listening -= 1

    def _watch(self) -> None:
        """Read ``data_version`` while anyone listens; count each move. The connection
        stays open between watchers: its versions compare only with its own, so a change
        made while nobody listened is still counted (a reconnecting page catches up)."""
        while True:
            with self._moved:
                if self.closed or self._listening <= 0:
                    self._watcher = None
                    return
            try:
                version = self._version_now()
            except sqlite3.Error:  # the file busy, or gone for a moment: look again soon
                log.warning("Could not read the data's version of %s", self.path, exc_info=True)
                self._poked.wait(1)
                continue
            with self._moved:
                if self._version is not None and version != self._version:
                    self.count += 1
                    self._moved.notify_all()
                self._version = version
            self._poked.wait(CHECK_EVERY_S)
            self._poked.clear()

    def _version_now(self) -> int:
        if self._db is None:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       check_same_thread=False)  # fmt: skip
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def stream(self, last_id: str) -> Iterator[str]:
        """A page's events: a change at once if it has missed one, then one per change,
        and a comment when quiet (a closed page's stream ends at the next write)."""
        self.listen()
        try:
            yield f"retry: {RETRY_MS}\n\n"
            seen = self.count
            if last_id and last_id != self.event_id:
                yield f"id: {self.event_id}\nevent: change\ndata: {self.count}\n\n"
            while not self.closed:
                now = self.wait(seen, QUIET_S)
                if self.closed:
                    break
                if now == seen:
                    yield ": quiet\n\n"
                    continue
                seen = now
                yield f"id: {self.launch}-{now}\nevent: change\ndata: {now}\n\n"
        finally:
            self.leave()


def changes(app: Flask | None = None) -> Changes:
    return (app or current_app).extensions["deskwork.changes"]  # type: ignore[no-any-return]


@bp.get("/events", endpoint="events")
def events() -> Response:
    """Server-sent events: ``change`` whenever the data moves."""
    slots = request.environ.get("deskwork.streams")
    if slots is not None and not slots.open(changes().close):
        return Response("Too many pages are listening for changes; this one is not.\n",
                        503, {"Retry-After": "30"}, mimetype="text/plain")  # fmt: skip
    last = request.headers.get("Last-Event-ID", "") or request.args.get("since", "")
    response = Response(
        changes().stream(last[:40]),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    if slots is not None:  # when the response is closed, even if it never started (HEAD)
        response.call_on_close(slots.close)
    return response


def init_app(app: Flask, path: Path | str) -> None:
    """Serve ``/events`` for the database at ``path``; after a request that may have
    written, look at once."""
    app.extensions["deskwork.changes"] = Changes(path)
    app.register_blueprint(bp)
    # A live page carries the change it shows, so its stream starts from there.
    app.jinja_env.globals["events_since"] = lambda: changes(app).event_id

    @app.teardown_request
    def _look(_error: BaseException | None) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            changes(app).poke()
