"""The deskwork command as a user runs it: a real process, real server, real files."""

from __future__ import annotations

import http.client
import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import watchfiles
from click.testing import CliRunner

from conftest import DESKWORK, TOOL_FILE, deskwork_env
from deskwork import __version__
from deskwork.desktop import reload
from deskwork.desktop.cli import cli
from deskwork.desktop.server import ServerThread
from deskwork.errors import ToolError


@pytest.fixture
def runner():
    return CliRunner()


def test_version_is_printed(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"deskwork, version {__version__}\n"


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["new"], ["build"]])
def test_every_command_has_help(runner, command):
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output and "--help" in result.output


def start(args, env):
    return subprocess.Popen(
        [str(DESKWORK), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
    )


def read_address(process):
    """Read lines until the address line; return (all lines read, the address)."""
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("http://"):
            return lines, line.strip()
    raise AssertionError(f"no address printed: {lines} {process.stderr.read()}")


def get(port, path, cookie=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Set-Cookie"), response.read().decode()
    finally:
        connection.close()


def visit(address, path):
    """Open the printed address as a browser does (its token becomes a cookie), then
    ``path``; returns (status, page)."""
    url = urlsplit(address)
    _, cookie, _ = get(url.port, f"/?{url.query}")
    status, _, page = get(url.port, path, cookie.split(";")[0])
    return status, page


def serve_and_visit(command, env, path, cwd=None):
    """Run ``command`` until it prints its address, open ``path`` there as a browser does,
    then stop it with Ctrl+C; it must stop cleanly. Returns (lines before the address,
    status, page)."""
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        encoding="utf-8",
    )  # fmt: skip
    try:
        lines, address = read_address(process)
        status, page = visit(address, path)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    return lines, status, page


def port_closed(port):
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_demo_without_a_display_serves_for_a_browser_until_ctrl_c(data_dir):
    process = start(["demo"], deskwork_env(data_dir))
    try:
        lines, address = read_address(process)
        assert lines[0] == (
            "No window can open here: no display found (DISPLAY and WAYLAND_DISPLAY are not set);"
            " serving for a browser instead."
        )
        url = urlsplit(address)
        assert url.hostname == "127.0.0.1" and url.query.startswith("token=")
        status, cookie, _ = get(url.port, f"/?{url.query}")
        assert status == 303
        status, _, page = get(url.port, "/", cookie.split(";")[0])
        assert status == 200 and "<h1>Expenses</h1>" in page
        assert get(url.port, "/")[0] == 403
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Stopped." in out
    assert port_closed(url.port)

    # First run made the database in the user data folder, with sample data, and a log
    # that never shows the secret.
    database = data_dir / "expenses" / "expenses.sqlite3"
    assert database.is_file()
    log = (data_dir / "logs" / "expenses.log").read_text(encoding="utf-8")
    assert f"Serving Expenses on http://127.0.0.1:{url.port}/" in log
    secret = url.query.removeprefix("token=")
    assert secret not in log and secret not in err


def test_browser_flag_and_db_option_pick_the_mode_and_the_file(data_dir, tmp_path, display):
    database = tmp_path / "elsewhere" / "mine.sqlite3"
    process = start(
        ["run", str(TOOL_FILE), "--browser", "--db", str(database)], deskwork_env(data_dir, display)
    )
    try:
        lines, _ = read_address(process)
        assert not any("No window" in line for line in lines)  # asked for, not fallen back to
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert process.returncode == 0
    assert database.is_file()
    assert not (data_dir / "expenses").exists()


def test_run_opens_a_tool_file(data_dir, tmp_path):
    tool_file = tmp_path / "inventory.py"
    tool_file.write_text(
        "from deskwork import Tool, Text\n"
        "tool = Tool('Inventory')\n"
        "items = tool.table('items', name=Text(required=True))\n"
        "tool.form('New item', items)\n",
        encoding="utf-8",
    )
    _, status, page = serve_and_visit(
        [str(DESKWORK), "run", str(tool_file)], deskwork_env(data_dir), "/forms/new-item"
    )
    assert status == 200 and "<h1>New item</h1>" in page
    assert (data_dir / "inventory" / "inventory.sqlite3").is_file()


def test_a_broken_tool_file_is_one_clear_line(tmp_path, data_dir):
    broken = tmp_path / "broken.py"
    broken.write_text("from deskwork import Tool\nraise ValueError('oops')\n", encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "run", str(broken)], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == ToolError.exit_code
    assert done.stderr.strip() == f"Error: {broken} failed to load: ValueError: oops"


def test_a_file_without_a_tool_says_how_to_make_one(tmp_path, runner):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "run", str(empty)], capture_output=True, encoding="utf-8", timeout=60
    )
    assert done.returncode == ToolError.exit_code
    assert "defines no Tool and no Flask app" in done.stderr
    assert 'as in tool = Tool("My tool")' in done.stderr


def test_new_writes_a_project_whose_own_test_passes(tmp_path, runner):
    result = runner.invoke(cli, ["new", "stock-room", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = tmp_path / "stock-room"
    assert sorted(p.name for p in project.iterdir()) == [
        "icon.png", "templates", "test_tool.py", "tool.py"
    ]  # fmt: skip
    assert (project / "icon.png").read_bytes().startswith(b"\x89PNG")
    assert f"deskwork run {project}" in result.output
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project, capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout)


def test_new_refuses_to_overwrite_or_use_a_strange_name(tmp_path, runner):
    assert runner.invoke(cli, ["new", "tool-a", "--dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["new", "tool-a", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    odd = runner.invoke(cli, ["new", "../escape", "--dir", str(tmp_path)])
    assert odd.exit_code != 0 and "can't be a project name" in str(odd.exception)


def test_reload_restarts_on_a_change_and_keeps_address_and_secret(tmp_path, data_dir):
    tool_file = tmp_path / "notes.py"
    source = (
        "from deskwork import Tool, Text\n"
        "tool = Tool('Notes', name='notes')\n"
        "tool.table('notes', title=Text())\n"
    )
    tool_file.write_text(source, encoding="utf-8")
    process = start(["run", str(tool_file), "--reload"], deskwork_env(data_dir))
    try:
        lines, address = read_address(process)
        # The child's "Debugger PIN" line may come first: it shares the parent's output.
        assert any(line.startswith("Development mode") for line in lines), lines
        url = urlsplit(address)
        _, cookie, _ = get(url.port, f"/?{url.query}")
        assert "<h1>Notes</h1>" in get(url.port, "/", cookie.split(";")[0])[2]

        tool_file.write_text(source.replace("'Notes'", "'Notes, renamed'"), encoding="utf-8")
        # The first child's PIN line may still be unread: read on to the restart, then to
        # the new child's PIN line (it has loaded the new code).
        seen = []
        while not (seen and seen[-1].startswith("Debugger PIN")
                   and "Changed: notes.py; restarting.\n" in seen):  # fmt: skip
            seen.append(process.stdout.readline())
            assert seen[-1], seen  # the process ended
        # Same port, same secret: the open page only has to reload. The new child may take
        # a moment to serve, but the socket is held, so the request waits rather than fails.
        assert "<h1>Notes, renamed</h1>" in get(url.port, "/", cookie.split(";")[0])[2]
        # The debugger answers only behind the secret.
        assert get(url.port, "/?__debugger__=yes&cmd=resource&f=style.css")[0] == 403
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert port_closed(url.port)


class Lines:
    """A process's output, read on a thread, so a test waits for a line with a deadline."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def join(self, timeout: float = 10.0) -> None:
        """Wait until the output has ended (every process writing it has exited)."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), "the output did not end"

    def _read(self, stream: io.TextIOBase) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # the end of the output

    def wait_for(self, prefix: str, timeout: float = 30.0) -> list[str]:
        """The lines read up to the first that starts with ``prefix``, that one included."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout} s: {seen}") from None
            if line is None:
                raise AssertionError(f"the output ended before a {prefix!r} line: {seen}")
            seen.append(line)
            if line.startswith(prefix):
                return seen

    def within(self, seconds: float) -> list[str]:
        """Every line printed in the next ``seconds``."""
        seen = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
        return seen


@dataclass
class Reloading:
    """``deskwork run TOOL --reload``, serving, and the cookie the first address gave."""

    output: Lines
    port: int
    cookie: str

    def page(self, path: str) -> str:
        return get(self.port, path, self.cookie)[2]

    def restarts_after(self, change: Callable[[], None], quiet: float = 0.0) -> list[str]:
        """Make ``change``; the "Changed:" lines printed until a new child serves (its PIN
        line: the old one has stopped), and in the ``quiet`` seconds after."""
        change()
        seen = self.output.wait_for("Changed:")
        seen += self.output.wait_for("Debugger PIN")
        seen += self.output.within(quiet)
        return [line for line in seen if line.startswith("Changed:")]


@contextmanager
def reloading(tool_file: Path, data_dir: Path) -> Iterator[Reloading]:
    process = start(["run", str(tool_file), "--reload"], deskwork_env(data_dir))
    output = Lines(process.stdout)
    try:
        seen = output.wait_for("http://")  # printed once the watcher is in place
        if not any(line.startswith("Debugger PIN") for line in seen):
            output.wait_for("Debugger PIN")
        url = urlsplit(seen[-1])
        _, cookie, _ = get(url.port, f"/?{url.query}")
        yield Reloading(output, url.port, cookie.split(";")[0])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        output.join()  # the child, which writes there too, has stopped as well
        with process.stdout, process.stderr:
            errors = process.stderr.read()
    assert process.returncode == 0, errors
    assert port_closed(url.port)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


TOOL_WITH_PARTS = """\
from flask import render_template
from deskwork import Tool
from wording.greetings import GREETING

tool = Tool("Greeter", name="greeter")


@tool.page("Greeting")
def greeting():
    return render_template("sub/part.html", greeting=GREETING)
"""


def test_reload_restarts_on_a_change_in_a_subfolder_of_the_tool(tmp_path, data_dir):
    greetings = tmp_path / "wording" / "greetings.py"
    part = tmp_path / "templates" / "sub" / "part.html"
    write(tmp_path / "wording" / "__init__.py", "")
    write(greetings, "GREETING = 'Hello'\n")
    write(part, "<p>{{ greeting }}, from the first template</p>")
    write(tmp_path / "greeter.py", TOOL_WITH_PARTS)
    with reloading(tmp_path / "greeter.py", data_dir) as tool:
        assert tool.page("/pages/greeting") == "<p>Hello, from the first template</p>"

        changed = tool.restarts_after(lambda: write(greetings, "GREETING = 'Good day'\n"))
        assert changed == ["Changed: wording/greetings.py; restarting."]
        assert tool.page("/pages/greeting") == "<p>Good day, from the first template</p>"

        changed = tool.restarts_after(lambda: write(part, "<p>{{ greeting }}, from the second</p>"))
        assert changed == ["Changed: templates/sub/part.html; restarting."]
        assert tool.page("/pages/greeting") == "<p>Good day, from the second</p>"


NOTES = """\
from deskwork import Text, Tool
tool = Tool('Notes', name='notes')
tool.table('notes', title=Text())
"""
EDITORS_PAUSE = 0.01  # seconds between the two steps of a save
SECOND_RESTART_WINDOW = 1.5  # seconds: a second restart would come within a step of the first


def test_reload_restarts_once_for_an_editors_two_step_save(tmp_path, data_dir):
    tool_file = tmp_path / "notes.py"
    write(tool_file, NOTES)
    with reloading(tool_file, data_dir) as tool:

        def save_by_renaming_a_temporary_file() -> None:
            temporary = tmp_path / "notes.py.tmp"
            write(temporary, NOTES.replace("'Notes'", "'Notes, renamed'"))
            os.replace(temporary, tool_file)

        restarts = tool.restarts_after(save_by_renaming_a_temporary_file, SECOND_RESTART_WINDOW)
        assert restarts == ["Changed: notes.py; restarting."]
        assert "<h1>Notes, renamed</h1>" in tool.page("/")

        def save_by_truncating_then_writing() -> None:
            write(tool_file, "")  # an empty file is no tool: a restart now would fail
            time.sleep(EDITORS_PAUSE)  # part of the save being modelled, not a wait
            write(tool_file, NOTES.replace("'Notes'", "'Notes, again'"))

        restarts = tool.restarts_after(save_by_truncating_then_writing, SECOND_RESTART_WINDOW)
        assert restarts == ["Changed: notes.py; restarting."]
        assert "<h1>Notes, again</h1>" in tool.page("/")


def server_header(port: int, cookie: str | None = None) -> str | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/", headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.getheader("Server")
    finally:
        connection.close()


def test_reload_serves_with_a_normal_runs_server_and_the_debugger_behind_the_secret(
    tmp_path, data_dir
):
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    with ServerThread(hello) as normal_run:
        normal_server = server_header(normal_run.port)
    assert normal_server is not None and normal_server.startswith("Cheroot/")
    write(tmp_path / "notes.py", NOTES)
    with reloading(tmp_path / "notes.py", data_dir) as tool:
        assert server_header(tool.port, tool.cookie) == normal_server
        debugger_file = "/?__debugger__=yes&cmd=resource&f=style.css"
        assert get(tool.port, debugger_file, tool.cookie)[0] == 200
        assert get(tool.port, debugger_file)[0] == 403


def test_reload_watches_code_in_every_subfolder_but_not_data_caches_or_builds(tmp_path):
    folder = tmp_path / ".tools" / "build" / "notes"  # the tool's own folder may be anywhere
    watched = reload.SourceFilter([folder])

    def sees(relative: str) -> bool:
        return watched(watchfiles.Change.modified, str(folder / relative))

    code = ["notes.py", "wording/greetings.py", "templates/sub/part.html", "static/site.css",
            "static/site.js", "seed/rows.json", "schema.sql", "wording/words.txt"]  # fmt: skip
    assert [path for path in code if not sees(path)] == []
    not_code = ["__pycache__/notes.cpython-311.pyc", "wording/__pycache__/greetings.py",
                ".git/config.py", ".venv/lib/site.py", ".idea/x.json", "notes.sqlite3",
                "data/notes.sqlite3-wal", "dist/notes.py", "build/lib/notes.py", ".#notes.py",
                "notes.py~", "notes.py.tmp", "icon.png", "logs/notes.log"]  # fmt: skip
    assert [path for path in not_code if sees(path)] == []
    assert not watched(watchfiles.Change.modified, str(tmp_path / "elsewhere.py"))


def test_reload_never_takes_what_a_running_tool_writes_in_the_data_folder_for_code(tmp_path):
    folder = tmp_path / "notes"
    data = folder / "données"  # DESKWORK_DATA_DIR inside the tool's folder
    watched = reload.SourceFilter([folder], apart=[data])
    assert watched(watchfiles.Change.modified, str(folder / "notes.py"))
    assert watched(watchfiles.Change.modified, str(folder / "api" / "notes.json"))
    for written in ["api/notes.json", "running/notes.json", "notes/notes.sqlite3"]:
        assert not watched(watchfiles.Change.added, str(data / written)), written
    # A data folder that holds the tool's folder keeps it watched.
    around = reload.SourceFilter([folder], apart=[tmp_path])
    assert around(watchfiles.Change.modified, str(folder / "notes.py"))


def test_reload_watches_deskworks_own_folder_once_for_the_demo():
    import deskwork
    import deskwork.demo

    assert reload.watched_folders(Path(deskwork.demo.__file__)) == [
        Path(deskwork.__file__).parent.resolve()
    ]


class FakeProcess:
    """What ``subprocess.Popen`` was asked to start; its stdin pipe keeps what was sent."""

    pid = 4321

    class Pipe(io.BytesIO):
        sent = b""

        def close(self) -> None:
            self.sent = self.getvalue()
            super().close()

    def __init__(self, command: list[str], **options: object) -> None:
        self.command, self.options = command, options
        self.stdin = self.Pipe() if options.get("stdin") is subprocess.PIPE else None


class FakeSocket:
    def fileno(self) -> int:
        return 7

    def share(self, process_id: int) -> bytes:
        return f"socket shared with process {process_id}".encode()


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_reload_hands_the_child_its_socket_and_keeps_the_secret_off_its_command_line(
    platform, monkeypatch, tmp_path
):
    tool_file, database = tmp_path / "notes.py", tmp_path / "notes.sqlite3"
    child = reload.ChildServer(tool_file, database, FakeSocket(), "s3cret")
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(sys, "platform", platform)
    child.start()
    monkeypatch.undo()
    process = child.process
    assert process.command[:5] == [
        sys.executable, "-m", "deskwork.desktop.reload", str(tool_file), f"--db={database}"
    ]  # fmt: skip
    assert process.options["env"][reload.SECRET_VARIABLE] == "s3cret"
    assert not any("s3cret" in part for part in process.command)
    if platform == "win32":  # no pass_fds: a description of the socket, on the child's stdin
        assert process.command[5:] == ["--shared-socket"]
        assert "pass_fds" not in process.options
        assert process.stdin.closed
        assert process.stdin.sent == b"socket shared with process 4321"
    else:
        assert process.command[5:] == ["--fd=7"]
        assert process.options["pass_fds"] == [7]
        assert process.stdin is None


def test_reload_child_on_windows_serves_the_socket_described_on_its_stdin(monkeypatch):
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"served on the parent's socket"]

    with socket.create_server(("127.0.0.1", 0)) as parents:
        described = []

        def fromshare(description: bytes) -> socket.socket:  # Windows' own, made of a dup here
            described.append(description)
            return socket.socket(fileno=os.dup(parents.fileno()))

        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setattr(socket, "fromshare", fromshare, raising=False)
        sock = reload.inherited_socket(None, io.BytesIO(b"the parent's socket, described"))
        monkeypatch.undo()
        assert described == [b"the parent's socket, described"]
        with ServerThread(hello, sock=sock) as server:
            assert server.port == parents.getsockname()[1]
            assert get(server.port, "/")[2] == "served on the parent's socket"


def test_reload_backs_the_database_up_before_a_change_of_its_tables(tmp_path, data_dir):
    # --reload's child is assembled as a normal run is: a declaration that changes the
    # tables backs the file up first, as it does at a launch.
    from deskwork.db.backups import Backups

    tool_file = tmp_path / "notes.py"
    source = "from deskwork import Text, Tool\ntool = Tool('Notes')\ntool.table('notes', {})\n"
    write(tool_file, source.format("title=Text()"))
    backups = Backups(data_dir / "notes" / "notes.sqlite3")
    with reloading(tool_file, data_dir) as tool:
        assert "Notes" in tool.page("/")
        before = [b.why for b in backups.all()]
        tool.restarts_after(lambda: write(tool_file, source.format("title=Text(), due=Text()")))
        assert "Notes" in tool.page("/")
    assert "before-update" not in before
    assert "before-update" in [b.why for b in backups.all()]
