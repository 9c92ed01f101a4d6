"""The deskwork command as a user runs it: a real process, real server, real files."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from conftest import DESKWORK, deskwork_env
from deskwork import __version__
from deskwork.desktop.cli import cli


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
    process = start(["demo", "--browser", "--db", str(database)], deskwork_env(data_dir, display))
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
    process = start(["run", str(tool_file)], deskwork_env(data_dir))
    try:
        _, address = read_address(process)
        url = urlsplit(address)
        _, cookie, _ = get(url.port, f"/?{url.query}")
        status, _, page = get(url.port, "/forms/new-item", cookie.split(";")[0])
        assert status == 200 and "<h1>New item</h1>" in page
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0
    assert (data_dir / "inventory" / "inventory.sqlite3").is_file()


def test_a_broken_tool_file_is_one_clear_line(tmp_path, data_dir):
    broken = tmp_path / "broken.py"
    broken.write_text("from deskwork import Tool\nraise ValueError('oops')\n", encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "run", str(broken)], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"Error: {broken} failed to load: ValueError: oops"


def test_a_file_without_a_tool_says_how_to_make_one(tmp_path, runner):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    done = subprocess.run(
        [str(DESKWORK), "run", str(empty)], capture_output=True, encoding="utf-8", timeout=60
    )
    assert done.returncode == 2
    assert "must define one Tool (found 0)" in done.stderr


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
        assert lines[1].startswith("Development mode")
        url = urlsplit(address)
        _, cookie, _ = get(url.port, f"/?{url.query}")
        assert "<h1>Notes</h1>" in get(url.port, "/", cookie.split(";")[0])[2]

        tool_file.write_text(source.replace("'Notes'", "'Notes, renamed'"), encoding="utf-8")
        seen = [process.stdout.readline() for _ in range(2)]  # and the debugger's PIN line
        assert "Changed: notes.py; restarting.\n" in seen, seen
        # Same port, same secret: the open page only has to reload. The new child may take
        # a moment to load, but the socket is held, so the request waits rather than fails.
        assert "<h1>Notes, renamed</h1>" in get(url.port, "/", cookie.split(";")[0])[2]
        # The debugger answers only behind the secret.
        assert get(url.port, "/?__debugger__=yes&cmd=resource&f=style.css")[0] == 403
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert port_closed(url.port)
