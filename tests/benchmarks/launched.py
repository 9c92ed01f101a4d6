"""The tool as users run it, for the benchmarks: ``deskwork demo --browser`` (or ``deskwork
run``) in a process of its own, asked over one kept-alive connection, as the window asks.

A benchmark measured inside its own process (a test client, a server thread made by hand)
would measure a path users never take; this one goes through the command, the one
assembly, the real server and its security checks. The launched tool keeps its data
folder (logs, settings, the single-instance lock) in the benchmark's work folder, never in
the user's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode, urlsplit

DESKWORK = Path(sys.executable).parent / "deskwork"
READY = "is ready. Open this address in a browser"
ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=\S+")


class Connection:
    """One kept-alive HTTP connection that times each request and keeps the cookies the
    server sets, as a browser does: the tool's secret cookie and Flask's session (where
    the forms' one-time tokens live) are sent back with every request after."""

    def __init__(self, port: int, timeout: float = 120, token: str | None = None) -> None:
        """``token``: a program's, sent as ``Authorization: Bearer`` (no cookie then)."""
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.token = token

    def get(self, path: str, ok: tuple[int, ...] = (200,)) -> tuple[float, bytes]:
        """GET ``path``: the seconds from sending to the last byte read, and the body."""
        return self.send("GET", path, ok=ok)

    def post(
        self, path: str, form: dict[str, object], ok: tuple[int, ...] = (303,)
    ) -> tuple[float, bytes]:
        """POST ``form`` as a browser's form does (urlencoded, from the tool's own origin:
        unsafe methods from other origins are refused); a saved form answers 303."""
        return self.send("POST", path, form, ok=ok)

    def send(
        self,
        method: str,
        path: str,
        form: dict[str, object] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[float, bytes]:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            # bytes, so that http.client sends the headers and the body in one packet
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        start = time.perf_counter()
        try:
            response = self._ask(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server let a connection idle for long go (cheroot, after its timeout):
            # as browsers do, ask again on a new one.
            self.conn.close()
            start = time.perf_counter()
            response = self._ask(method, path, body, headers)
        data = response.read()
        took = time.perf_counter() - start
        for value in response.headers.get_all("Set-Cookie") or []:
            self.keep_cookie(value)
        if response.status not in ok:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return took, data

    def _ask(self, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> http.client.HTTPResponse:  # fmt: skip
        self.conn.request(method, path, body=body, headers=headers)
        if self.conn.sock is not None:  # as browsers do: no Nagle delay on small writes
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn.getresponse()

    def keep_cookie(self, header: str) -> None:
        """Keep (or, if it is cleared, forget) the cookie a Set-Cookie header sets."""
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        cleared = any(a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
                      for a in attributes)  # fmt: skip
        if cleared or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def close(self) -> None:
        self.conn.close()


class Launched:
    """The tool in a process of its own, serving a browser on 127.0.0.1, and one
    kept-alive connection to it that has been let in (its first address swapped for
    the secret cookie, as a browser's first visit is)."""

    def __init__(self, arguments: list[str], work: Path, timeout: float = 300) -> None:
        """Run ``deskwork *arguments`` (which must include ``--browser``), with its data
        folder in ``work``; wait up to ``timeout`` seconds for it to be ready (a daily
        backup and tidy of a big database come first, as on the first launch of a day)."""
        data = work / "deskwork-data"
        data.mkdir(parents=True, exist_ok=True)
        self.data = data
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env["DESKWORK_DATA_DIR"] = str(data)
        self.command = [str(DESKWORK), *arguments]
        self.errors = work / "deskwork-stderr.txt"
        with self.errors.open("wb") as errors:
            self.process = subprocess.Popen(
                self.command, env=env, stdout=subprocess.PIPE, stderr=errors,
                stdin=subprocess.DEVNULL, encoding="utf-8",
            )  # fmt: skip
        self.printed: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="read-deskwork", daemon=True)
        self._reader.start()
        try:
            self.first_url = self._wait_for_address(timeout)
            self.port = int(urlsplit(self.first_url).port or 0)
            self.connection = Connection(self.port)
            self.connection.get(self.first_url.removeprefix(f"http://127.0.0.1:{self.port}"),
                                ok=(302, 303))  # fmt: skip
        except BaseException:
            self.stop()
            raise
        if not self.connection.cookies:
            self.stop()
            raise RuntimeError(f"{self.command}: the first address set no cookie")

    def _read(self) -> None:
        """Keep reading what the tool prints (a full pipe would stop it)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.printed.append(line.rstrip("\n"))
            if ADDRESS.search(line) and any(READY in p for p in self.printed):
                self._ready.set()
        self._ready.set()  # it ended: nothing more will come

    def _wait_for_address(self, timeout: float) -> str:
        self._ready.wait(timeout)
        found = [m[0] for line in self.printed if (m := ADDRESS.search(line))]
        if not found:
            raise RuntimeError(
                f"{self.command} printed no address in {timeout:.0f} s "
                f"(exit code {self.process.poll()}):\n"
                + "\n".join(self.printed)
                + "\n"
                + self.errors.read_text(encoding="utf-8", errors="replace")
            )
        return found[0]

    def get(self, path: str, ok: tuple[int, ...] = (200,)) -> tuple[float, bytes]:
        """GET ``path`` on the kept-alive connection: (seconds, body)."""
        return self.connection.get(path, ok=ok)

    def program(self, tool_name: str) -> Connection:
        """A kept-alive connection as a script on the desk makes one: the address and
        token read from the API file the tool wrote, no cookie."""
        found = json.loads((self.data / "api" / f"{tool_name}.json").read_text(encoding="utf-8"))
        port = int(urlsplit(found["url"]).port or 0)
        return Connection(port, token=found["token"])

    def post(
        self, path: str, form: dict[str, object], ok: tuple[int, ...] = (303,)
    ) -> tuple[float, bytes]:
        """POST ``form`` on the kept-alive connection: (seconds, body)."""
        return self.connection.post(path, form, ok=ok)

    def stop(self, timeout: float = 30) -> int:
        """Stop it as Ctrl+C does (the requests under way are answered first); kill it if
        it has not ended after ``timeout`` seconds. Its exit code."""
        if getattr(self, "connection", None) is not None:
            self.connection.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> Launched:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop it; a tool that did not stop cleanly fails the benchmark (a figure from
        a tool in trouble would not be one), unless the benchmark failed already."""
        code = self.stop()
        if code != 0 and error is None:
            raise RuntimeError(
                f"{self.command} ended with exit code {code}:\n" + "\n".join(self.printed)
                + "\n" + self.errors.read_text(encoding="utf-8", errors="replace")
            )  # fmt: skip


def launch_demo(database: Path, work: Path) -> Launched:
    """``deskwork demo --browser --db database``, its data folder in ``work``."""
    return Launched(["demo", "--browser", "--db", str(database)], work)


def launch_tool(target: str | Path, database: Path, work: Path) -> Launched:
    """``deskwork run target --browser --db database``, its data folder in ``work``."""
    return Launched(["run", str(target), "--browser", "--db", str(database)], work)


def hidden(page: bytes, name: str) -> str:
    """The value of the page's hidden input ``name`` (a form's one-time token, a record's
    version, the rows a bulk change was asked for)."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"'.encode(), page)
    if found is None:
        raise RuntimeError(f"no hidden {name} in the page: {page[:500]!r}")
    return found[1].decode()
