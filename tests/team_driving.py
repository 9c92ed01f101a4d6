"""Driving a tool served by ``deskwork serve`` as its team's browsers do: a real server
process on a socket the test made (``--address fd://N``), people logging in over kept-alive
connections, their forms sent with the hidden fields each page gives."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from conftest import DESKWORK, TOOL_FILE, deskwork_env, wait_until

HIDDEN = re.compile(r'<input type="hidden" name="(_[a-z]+)" value="([^"]*)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Browser:
    """One person's browser: a kept-alive connection, and the cookies it was given."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.origin = self.origin or f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:  # fmt: skip
        sent = {"Origin": self.origin, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                kept = rest.split(";", 1)[0]
                if "Max-Age=0" in value or "expires=Thu, 01 Jan 1970" in value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = kept
        return Answer(response.status, dict(response.getheaders()), text)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], **kwargs: object) -> Answer:
        return self.request("POST", path, form, **kwargs)  # type: ignore[arg-type]

    def log_in(self, name: str, password: str, at: str = "/log-in") -> Answer:
        return self.post(at, {"name": name, "password": password})

    def submit(self, path: str, form: dict[str, str]) -> Answer:
        """Open the form at ``path``, then send it with what it hid (its one-time token,
        the session's CSRF secret) and ``form``."""
        page = self.get(path)
        assert page.status == 200, (page.status, page.body[:300])
        return self.post(path, {**dict(HIDDEN.findall(page.body)), **form})

    def close(self) -> None:
        self.conn.close()


class ServedTool:
    """``deskwork serve`` in its own process, on a socket bound here and handed over."""

    def __init__(self, database: Path, data_dir: Path, *, workers: int = 2,
                 tool: Path = TOOL_FILE, start: bool = True, **settings: str) -> None:  # fmt: skip
        """``start=False``: the socket listens, but nothing answers until ``resume``."""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        env = deskwork_env(data_dir, **{f"DESKWORK_{k.upper()}": v for k, v in settings.items()})
        self.env = env
        self.database = database
        self.tool = tool
        self.workers_count = workers
        self.browsers: list[Browser] = []
        self.out = open(data_dir / "serve.out", "w+", encoding="utf-8")  # noqa: SIM115
        self.err = open(data_dir / "serve.err", "w+", encoding="utf-8")  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None
        if start:
            self.resume()

    def resume(self) -> None:
        """Start serving on the socket (again): what waited in its queue is answered."""
        served_before = self.output().count("Serving ")
        self.process = subprocess.Popen(
            [str(DESKWORK), "serve", str(self.tool), "--db", str(self.database),
             "--address", f"fd://{self.sock.fileno()}", "--workers", str(self.workers_count)],
            env=self.env, stdout=self.out, stderr=self.err, pass_fds=(self.sock.fileno(),),
        )  # fmt: skip
        process = self.process
        wait_until(lambda: self.output().count("Serving ") > served_before
                   or process.poll() is not None, 60)  # fmt: skip
        assert process.poll() is None, self.output() + self.errors()

    def pause(self) -> None:
        """Stop the server's processes; the socket stays, so requests wait in its queue."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return Path(self.out.name).read_text(encoding="utf-8")

    def errors(self) -> str:
        return Path(self.err.name).read_text(encoding="utf-8")

    def browser(self, **given: str) -> Browser:
        """A new browser (closed when the server stops)."""
        self.browsers.append(Browser(self.port, **given))  # type: ignore[arg-type]
        return self.browsers[-1]

    def users(self, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DESKWORK), "users", args[0], str(self.tool), *args[1:], "--db",
             str(self.database)],
            input=(password + "\n") if password else None, env=self.env, capture_output=True,
            text=True, encoding="utf-8", timeout=120,
        )  # fmt: skip

    def workers(self) -> list[int]:
        """The worker processes' ids (the master's children)."""
        assert self.process is not None
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                               text=True, encoding="utf-8")  # fmt: skip
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> int | None:
        for browser in self.browsers:
            browser.close()
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.sock.close()
        self.out.close()
        self.err.close()
        return None if process is None else process.returncode


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
