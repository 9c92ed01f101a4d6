"""One writer: a second launch shows the running one instead of serving the database twice."""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_cli import read_address, start, visit

from conftest import DESKWORK, TOOL_FILE, deskwork_env, wait_until
from deskwork.desktop import single
from deskwork.desktop.server import ServerThread
from deskwork.desktop.settings import Settings

#: The tests' tool, opened as a user opens a tool file: ``deskwork run TOOL_FILE``.
RUN = ["run", str(TOOL_FILE)]


# -- the lock ---------------------------------------------------------------------------------


def test_a_lock_is_held_by_one_claim_at_a_time_and_let_go_on_release(tmp_path):
    path = single.lock_beside(tmp_path / "tool.sqlite3")
    assert path.name == "tool.sqlite3-deskwork.lock"
    first, second = single.InstanceLock(path), single.InstanceLock(path)
    assert first.acquire() and first.held
    assert not second.acquire()  # flock: each open of the file is a claim of its own
    first.release()
    assert second.acquire()
    second.release()
    print("lock taken, refused to a second holder, taken again after release")


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "tool.sqlite3-deskwork.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from pathlib import Path\n"
         "from deskwork.desktop.single import InstanceLock\n"
         f"assert InstanceLock(Path({str(path)!r})).acquire()\n"
         "print('held', flush=True)\n"
         "time.sleep(600)\n"],
        stdout=subprocess.PIPE, encoding="utf-8",
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not single.InstanceLock(path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=10)
    lock = single.InstanceLock(path)
    assert lock.acquire()  # the OS let go of it with the process: nothing to clean up
    lock.release()
    print(f"holder pid {holder.pid} SIGKILLed; the lock was free at once")


def test_where_the_running_one_serves_is_written_for_its_owner_only(tmp_path):
    settings = Settings.load({"DESKWORK_DATA_DIR": str(tmp_path / "data")})
    claim = single.Claim(tmp_path / "db" / "tool.sqlite3-deskwork.lock", settings)
    assert claim.take()
    claim.announce(4321, "the-key")
    try:
        assert claim.record.parent == tmp_path / "data" / "running"
        assert stat.S_IMODE(claim.record.stat().st_mode) == 0o600
        assert stat.S_IMODE(claim.record.parent.stat().st_mode) == 0o700
        assert single.read_record(claim.record) == single.Running(4321, os.getpid(), "the-key")
    finally:
        claim.release()
    assert not claim.record.exists()  # a clean exit leaves nothing behind
    assert single.read_record(claim.record) is None


# -- the focus door ---------------------------------------------------------------------------


@pytest.fixture
def door():
    """A real server with the focus door in front of a plain app; yields (port, asked)."""
    asked: list[bool] = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"the app"]

    def answer(address: bool) -> dict:
        asked.append(address)
        return {"title": "Tool", "focused": True, "address": "http://x/" if address else None}

    server = ServerThread()
    server.set_app(single.FocusDoor(app, key="k" * 43, port=server.port, answer=answer))
    with server:
        yield server.port, asked


def post(port, body, headers=None, method="POST", path=single.FOCUS_PATH):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=json.dumps(body).encode(), headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_focus_door_answers_only_a_post_with_the_key(door):
    port, asked = door
    key = {"key": "k" * 43}
    refusals = {
        "GET": post(port, key, method="GET")[0],
        "wrong key": post(port, {"key": "k" * 42 + "x"})[0],
        "no key": post(port, {"address": True})[0],
        "another Host (DNS rebinding)": post(port, key, {"Host": f"evil.example:{port}"})[0],
        "a page's Origin": post(port, key, {"Origin": f"http://127.0.0.1:{port}"})[0],
        "a browser's Sec-Fetch-Site": post(port, key, {"Sec-Fetch-Site": "same-origin"})[0],
        "text/plain (no preflight)": post(port, key, {"Content-Type": "text/plain"})[0],
    }
    print(refusals)
    assert refusals == {
        "GET": 405, "wrong key": 403, "no key": 400, "another Host (DNS rebinding)": 403,
        "a page's Origin": 403, "a browser's Sec-Fetch-Site": 403,
        "text/plain (no preflight)": 415,
    }  # fmt: skip
    assert asked == []
    status, body = post(port, {**key, "address": True})
    assert status == 200
    assert json.loads(body) == {"title": "Tool", "focused": True, "address": "http://x/"}
    assert asked == [True]
    # Every other path is the app's, POST or not.
    assert post(port, key, path="/.deskwork/focus/") == (200, b"the app")
    assert post(port, key, method="GET", path="/") == (200, b"the app")


# -- second launches, as users make them ------------------------------------------------------


def record_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "running").glob("*.json"))


def second_launch(data_dir, *args, display=None):
    return subprocess.run(
        [str(DESKWORK), *RUN, *args], env=deskwork_env(data_dir, display),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip


def test_a_second_launch_prints_the_running_ones_address_and_opens_no_server(data_dir):
    first = start([*RUN, "--browser"], deskwork_env(data_dir))
    try:
        _, address = read_address(first)
        done = second_launch(data_dir, "--browser")
        print(done.stdout)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "Expenses is already open, serving a browser. Open this address in a browser:",
            address,
        ]
        assert done.stderr == ""
        status, page = visit(address, "/")  # the address works: it carries the token
        assert status == 200 and "<h1>Expenses</h1>" in page
        (record,) = record_files(data_dir)
        key = json.loads(record.read_text(encoding="utf-8"))["key"]
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 0
    log = (data_dir / "logs" / "expenses.log").read_text(encoding="utf-8")
    assert log.count("Serving Expenses on") == 1  # one server only
    assert "A second launch asked for Expenses: its address is given" in log
    assert record_files(data_dir) == []  # a clean exit takes its record away
    secret = urlsplit(address).query.removeprefix("token=")
    assert secret not in log and key not in log  # neither the secret nor the focus key


SECOND_WITH_NO_CONSOLE = """
import json, sys
boxes = sys.argv[1]
sys.stdout = sys.stderr = None
import deskwork.desktop.entry as entry

def record(title, message):
    with open(boxes, "a", encoding="utf-8") as file:
        file.write(json.dumps([title, message]) + "\\n")

entry.show_message_box = record
from deskwork.desktop.cli import main
main(sys.argv[2:])  # deskwork run TOOL_FILE
"""


def test_a_second_launch_with_no_console_shows_the_address_in_a_box(data_dir, tmp_path):
    # A windowed build double-clicked while the tool serves a browser: nothing printed
    # would be seen.
    first = start([*RUN, "--browser"], deskwork_env(data_dir))
    boxes = tmp_path / "boxes.jsonl"
    try:
        _, address = read_address(first)
        done = subprocess.run(
            [sys.executable, "-c", SECOND_WITH_NO_CONSOLE, str(boxes), *RUN],
            env=deskwork_env(data_dir), capture_output=True, encoding="utf-8", timeout=60,
        )  # fmt: skip
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    ((title, message),) = [json.loads(line) for line in boxes.read_text("utf-8").splitlines()]
    print(f"message box {title!r}: {message!r}")
    assert title == "Expenses"
    assert message == (
        f"Expenses is already open, serving a browser. Open this address in a browser:\n{address}"
    )


def test_after_a_sigkill_the_next_launch_starts_normally(data_dir):
    killed = start([*RUN, "--browser"], deskwork_env(data_dir))
    try:
        _, old_address = read_address(killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    assert len(record_files(data_dir)) == 1  # its record is stale, its lock gone with it

    fresh = start([*RUN, "--browser"], deskwork_env(data_dir))
    try:
        lines, address = read_address(fresh)
        assert lines[0] == "Expenses is ready. Open this address in a browser (Ctrl+C stops):"
        assert urlsplit(address).port != urlsplit(old_address).port
        assert visit(address, "/")[0] == 200
        done = second_launch(data_dir, "--browser")  # and it is the one found now
        assert done.returncode == 0 and done.stdout.splitlines()[-1] == address
    finally:
        fresh.send_signal(signal.SIGINT)
        fresh.communicate(timeout=30)
    assert fresh.returncode == 0
    print(f"killed pid {killed.pid}; the next launch served on {urlsplit(address).port}")


def test_a_second_launch_during_reload_is_given_the_development_address(data_dir):
    first = start([*RUN, "--reload"], deskwork_env(data_dir))  # no display: a browser
    try:
        _, address = read_address(first)
        done = second_launch(data_dir)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == address
        assert visit(address, "/")[0] == 200
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    print(done.stdout)


def test_a_self_test_while_the_tool_is_open_fails_and_says_why(data_dir):
    first = start([*RUN, "--browser"], deskwork_env(data_dir))
    try:
        read_address(first)
        done = second_launch(data_dir, "--self-test")
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert (done.returncode, done.stdout) == (1, "self-test failed: Expenses is already open\n")


def test_a_lock_held_by_someone_who_says_nothing_is_one_clear_error(data_dir):
    # Another user's launch (whose record is in their own data folder), or a stuck one.
    lock = single.InstanceLock(single.lock_beside(data_dir / "expenses" / "expenses.sqlite3"))
    assert lock.acquire()
    try:
        started = time.monotonic()
        done = second_launch(data_dir, "--browser")
        waited = time.monotonic() - started
    finally:
        lock.release()
    print(f"refused after {waited:.1f} s: {done.stderr.strip()}")
    assert done.returncode == single.AlreadyOpen.exit_code
    assert done.stderr.startswith(
        "Error: Expenses is already open on this computer (another window, or another "
        "user), and it has not said where it serves. Close it there, then open it again."
    )
    assert "Traceback" not in done.stderr


@pytest.mark.gui
def test_a_second_launch_brings_the_first_window_to_the_front(display, data_dir):
    env = deskwork_env(data_dir, display)

    def xdotool(*args: str) -> str:
        return subprocess.run(
            ["xdotool", *args], env=env, capture_output=True, encoding="utf-8", timeout=60,
            check=True,
        ).stdout.strip()  # fmt: skip

    def focused() -> str:
        """the window with the keyboard's focus"""
        return xdotool("getwindowfocus", "getwindowname")

    first = subprocess.Popen([str(DESKWORK), *RUN], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, encoding="utf-8")  # fmt: skip
    elsewhere = None
    try:
        xdotool("search", "--sync", "--onlyvisible", "--name", "^Expenses$")
        # Another program's window takes the focus (there is no window manager to give it).
        elsewhere = subprocess.Popen(["xmessage", "-title", "Elsewhere", "another program"],
                                     env=env)  # fmt: skip
        other = xdotool("search", "--sync", "--onlyvisible", "--name", "^Elsewhere$")
        xdotool("windowfocus", "--sync", other.splitlines()[0])
        assert focused() == "Elsewhere"

        done = second_launch(data_dir, display=display)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Expenses is already open: its window is brought to the front.\n"
        assert wait_until(lambda: focused() == "Expenses", timeout=5)
        assert first.poll() is None  # the first one runs on, its window in front
    finally:
        if elsewhere is not None:
            elsewhere.terminate()
            elsewhere.wait(10)
        first.terminate()
        first.communicate(timeout=30)
    log = (data_dir / "logs" / "expenses.log").read_text(encoding="utf-8")
    assert "A second launch asked for Expenses: its window is brought to the front" in log
    assert log.count("Serving Expenses on") == 1
    print("focus: Elsewhere -> Expenses (xdotool getwindowfocus), second launch exited 0")
