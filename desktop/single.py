"""One writer: a tool's database is served by one process at a time.

A second launch of the same tool on the same database (or of the same plain Flask app, by
its data folder's name) opens no second server: it brings the running window to the front,
or, when the running one serves a browser, prints its address, and ends with exit code 0.

**The lock.** A launch first takes an exclusive lock on a file beside the database
(``expenses.sqlite3-deskwork.lock``; ``<data>/running/<name>.lock`` for a plain app). The
operating system releases it when the process ends, however it ends (closed, crashed,
killed): there is no PID file to go stale. ``fcntl.flock`` on Linux and macOS (local
filesystems; network ones are refused by ``deskwork.desktop.places``), ``msvcrt.locking``
(one byte, non-blocking) on Windows.

**Finding the running one.** The lock's holder writes where it serves to a small file in
the user's data folder, ``running/<hash of the lock's path>.json``, readable by its owner
only (0600 in a 0700 folder; on Windows the user's own profile folder): its port, its
process id and a random *focus key*, which is not the per-launch secret. A second launch
that finds the lock taken reads that file and POSTs the key to ``FOCUS_PATH`` on that port.
Someone else's launch (another user) can't read the file and is told the tool is open
elsewhere.

**The focus door** (``FocusDoor``) answers that one path before the app sees the request,
so no page route of the app is involved, and refuses anything a web page could send: the
Host must be ``127.0.0.1:PORT`` or ``localhost:PORT`` (DNS rebinding), the method POST,
the body JSON (a page can't send that without a CORS preflight, which gets no answer),
with no ``Origin`` or ``Sec-Fetch-*`` header (browsers always send them; our client never),
and the key is compared in constant time. Neither the key nor the secret is ever logged.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskwork.desktop import paths
from deskwork.desktop.settings import Settings
from deskwork.errors import AlreadyOpen

log = logging.getLogger("deskwork")

FOCUS_PATH = "/.deskwork/focus"
LOCK_SUFFIX = "-deskwork.lock"  # beside the database, as SQLite's own -wal and -shm
MAX_BODY = 4096
#: How long a second launch waits for the running one to say where it is (it writes
#: its file just after taking the lock) and to answer.
FIND_TIMEOUT = 5.0
ANSWER_TIMEOUT = 15.0

WSGIApp = Callable[..., Any]
Echo = Callable[[str], None]


def lock_beside(database: Path) -> Path:
    """The lock file of a database: beside it, named after it."""
    return database.with_name(database.name + LOCK_SUFFIX)


def app_lock(name: str, settings: Settings | None = None) -> Path:
    """A plain Flask app's lock, by the name of its data folder: its data is its own (an
    instance folder, anywhere), so the lock is in the user data folder's ``running``."""
    return paths.data_dir(settings) / "running" / f"{name}.lock"


class InstanceLock:
    """An exclusive lock on ``path`` that the operating system lets go of when this
    process ends: ``flock`` on POSIX, ``msvcrt.locking`` on Windows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; whether it is now ours."""
        if self._descriptor is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:  # made by another user: a shared lock file, read-only here
            descriptor = os.open(self.path, os.O_RDONLY)
        try:
            _lock(descriptor)
        except OSError as error:
            os.close(descriptor)
            if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK):
                return False
            raise
        self._descriptor = descriptor  # not inherited by child processes (PEP 446)
        return True

    def release(self) -> None:
        if self._descriptor is None:
            return
        try:
            _unlock(self._descriptor)
        finally:
            os.close(self._descriptor)
            self._descriptor = None

    @property
    def held(self) -> bool:
        return self._descriptor is not None


if sys.platform == "win32":
    import msvcrt

    def _lock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)  # fails at once if another holds it

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Running:
    """Where the process holding a lock serves, as it wrote it down."""

    port: int
    pid: int
    key: str


def record_path(lock: Path, settings: Settings | None = None) -> Path:
    """The file, in the user's data folder, telling where the holder of ``lock`` serves."""
    name = os.path.normcase(str(lock.resolve()))  # Windows: C:\\A and c:\\a are one file
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return paths.data_dir(settings) / "running" / f"{digest}.json"


def write_record(path: Path, running: Running) -> None:
    """Write ``running`` to ``path``, readable by its owner only, replacing it whole."""
    paths.write_private_json(path, {"port": running.port, "pid": running.pid, "key": running.key})


def read_record(path: Path) -> Running | None:
    """What ``path`` says, or None if it is missing, unreadable or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Running(port=int(data["port"]), pid=int(data["pid"]), key=str(data["key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Claim:
    """This launch's claim to a database (or a plain app's data folder): the lock, then,
    once serving, the record of where."""

    def __init__(self, lock: Path, settings: Settings | None = None) -> None:
        self.lock = InstanceLock(lock)
        self.record = record_path(lock, settings)
        self._announced = False

    def take(self) -> bool:
        """Take the lock; False if another process holds it."""
        return self.lock.acquire()

    def announce(self, port: int, key: str) -> None:
        """Say where this process serves, for a second launch to find."""
        write_record(self.record, Running(port=port, pid=os.getpid(), key=key))
        self._announced = True

    def release(self) -> None:
        """Forget the record, then let go of the lock (the OS does it too, at exit)."""
        if self._announced:
            self.record.unlink(missing_ok=True)
            self._announced = False
        self.lock.release()


@dataclass(frozen=True)
class Answer:
    """What the running instance answered: whether its window came to the front, and
    its address with the secret (when asked for it, or when it has no window)."""

    title: str
    focused: bool
    address: str | None


class NoAnswer(Exception):
    """The running instance could not be reached, or refused."""


def ask(running: Running, *, address: bool, timeout: float = ANSWER_TIMEOUT) -> Answer:
    """POST the focus key to the running instance; its answer."""
    import http.client  # only a second launch needs it: not on the window's path

    if sys.platform == "win32":
        # Windows lets a process take the foreground only if the foreground process (this
        # one: the user just started it) allows it.
        import ctypes

        ctypes.windll.user32.AllowSetForegroundWindow(running.pid)
    body = json.dumps({"key": running.key, "address": address}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=timeout)
    try:
        connection.request(
            "POST", FOCUS_PATH, body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        payload = response.read(MAX_BODY)
    except OSError as error:
        raise NoAnswer(str(error)) from error
    finally:
        connection.close()
    if response.status != 200:
        raise NoAnswer(f"answered {response.status}")
    try:
        data = json.loads(payload)
        return Answer(str(data["title"]), bool(data["focused"]), data.get("address"))
    except (ValueError, KeyError, TypeError) as error:
        raise NoAnswer(f"answered {payload[:100]!r}") from error


def find_running(
    claim: Claim, *, address: bool, timeout: float = FIND_TIMEOUT
) -> tuple[Running, Answer]:
    """Ask the process holding ``claim``'s lock to show itself.

    The holder writes its record just after taking the lock, so the record may be missing,
    or be a killed predecessor's, for a moment: tried again until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    problem = "it has not said where it serves"
    while True:
        running = read_record(claim.record)
        if running is not None:
            try:
                return running, ask(running, address=address)
            except NoAnswer as error:
                problem = f"it did not answer ({error})"
        if time.monotonic() >= deadline:
            raise NoAnswer(problem)
        time.sleep(0.1)


def hand_over(claim: Claim, title: str, *, browser: bool, echo: Echo) -> Answer:
    """A second launch: have the running instance show itself, and say so."""
    try:
        running, answer = find_running(claim, address=browser)
    except NoAnswer as reason:
        log.warning("%s is already open and could not be reached: %s", title, reason)
        raise AlreadyOpen(
            f"{title} is already open on this computer (another window, or another user), "
            f"and {reason}. Close it there, then open it again. (Its lock: {claim.lock.path})"
        ) from None
    log.info("%s is already open (process %s): it was asked to show itself", title, running.pid)
    if answer.focused:
        echo(f"{title} is already open: its window is brought to the front.")
        if browser and answer.address:
            echo("To open it in a browser as well, open this address:")
            echo(answer.address)
    else:
        echo(f"{title} is already open, serving a browser. Open this address in a browser:")
        echo(answer.address or f"http://127.0.0.1:{running.port}/")
    return answer


def new_key() -> str:
    return secrets.token_urlsafe(32)


class FocusDoor:
    """WSGI: answers ``FOCUS_PATH`` for a second launch, passes everything else to ``app``.

    ``answer(address)`` shows the running instance and says how (``Answer`` as a dict);
    ``address`` is whether the second launch asked for the address.
    """

    def __init__(
        self, app: WSGIApp, *, key: str, port: int, answer: Callable[[bool], dict[str, Any]]
    ) -> None:
        self.app = app
        self.key = key
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.answer = answer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != FOCUS_PATH:
            return self.app(environ, start_response)
        status, body = self._handle(environ)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
        ]
        if status.startswith("405"):
            headers.append(("Allow", "POST"))
        start_response(status, headers)
        return [body]

    def _handle(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        refused = "403 Forbidden", b'{"error": "forbidden"}'
        if environ.get("HTTP_HOST") not in self.hosts:
            return refused
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", b'{"error": "POST only"}'
        if _from_a_browser(environ):
            return refused
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip() != "application/json":
            return "415 Unsupported Media Type", b'{"error": "JSON only"}'
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return "400 Bad Request", b'{"error": "bad length"}'
        try:
            data = json.loads(environ["wsgi.input"].read(length))
            key = data["key"]
            wants_address = bool(data.get("address"))
        except (ValueError, KeyError, TypeError):
            return "400 Bad Request", b'{"error": "bad body"}'
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), self.key.encode()):
            log.warning("A request to show the window was refused: wrong key")
            return refused
        return "200 OK", json.dumps(self.answer(wants_address)).encode()


def _from_a_browser(environ: dict[str, Any]) -> bool:
    browser_headers: Iterable[str] = (
        "HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE", "HTTP_SEC_FETCH_DEST",
    )  # fmt: skip
    return any(name in environ for name in browser_headers)
