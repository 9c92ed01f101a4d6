"""Errors are never silent: one entry point maps each to a message (or a message box) and an
exit code, the log gets every traceback, of every thread, and never the secret."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from test_cli import get, read_address, start

from conftest import DESKWORK, deskwork_env
from deskwork.db.storage import Storage
from deskwork.desktop import entry
from deskwork.errors import SchemaError, ToolError
from deskwork.loader import load_tool

# A windowed build's start: no console (sys.stdout and sys.stderr are None, as on
# Windows), the message box replaced by a recorder, then the executable's own entry.
NO_CONSOLE = """
import json, sys
boxes, folder = sys.argv[1:3]
sys.argv = sys.argv[3:]  # the executable's name (the tool module's here), its options
sys.path.insert(0, folder)
sys.stdout = sys.stderr = None
import deskwork.desktop.entry as entry

def record(title, message):
    with open(boxes, "a", encoding="utf-8") as file:
        file.write(json.dumps([title, message]) + "\\n")

entry.show_message_box = record
from deskwork.desktop.frozen import main
main(sys.argv[0])
"""


def run_without_console(
    folder: Path, args: list[str], data_dir: Path, boxes: Path
) -> subprocess.CompletedProcess[str]:
    """Run the tool module named ``args[0]`` in ``folder`` as its executable would, with
    no console; message boxes are recorded in ``boxes``."""
    return subprocess.run(
        [sys.executable, "-c", NO_CONSOLE, str(boxes), str(folder), *args],
        env=deskwork_env(data_dir), capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip


PRICES = (
    "from deskwork import Tool, {kind}\ntool = Tool('Prices')\n"
    "tool.table('things', price={kind}())\n"
)


def test_a_refused_schema_change_with_no_console_is_logged_and_shown_in_a_box(tmp_path, data_dir):
    tool_file = tmp_path / "prices.py"
    tool_file.write_text(PRICES.format(kind="Money"), encoding="utf-8")
    database = data_dir / "prices" / "prices.sqlite3"
    Storage(database).prepare(load_tool(tool_file))  # saved as numbers
    tool_file.write_text(PRICES.format(kind="Text"), encoding="utf-8")  # now text: refused
    boxes = tmp_path / "boxes.jsonl"

    done = run_without_console(tmp_path, ["prices", "--browser"], data_dir, boxes)
    print(f"exit {done.returncode}; stdout {done.stdout!r}; stderr {done.stderr!r}")
    assert done.returncode == SchemaError.exit_code
    assert done.stdout == done.stderr == ""  # nothing could be printed
    log_file = data_dir / "logs" / "prices.log"
    log = log_file.read_text(encoding="utf-8")
    assert "ERROR deskwork: Stopped: Column things.price was saved as numbers" in log
    assert "Traceback (most recent call last)" in log and "deskwork.SchemaError" in log
    ((title, message),) = [json.loads(line) for line in boxes.read_text("utf-8").splitlines()]
    print(f"message box {title!r}: {message!r}")
    assert title == "Prices"
    assert message.startswith("Column things.price was saved as numbers")
    assert message.endswith(f"\n\nThe details are in {log_file}.")
    assert "Traceback" not in message


def test_a_tool_that_fails_to_import_with_no_console_is_logged_before_its_log_exists(
    tmp_path, data_dir
):
    (tmp_path / "broken.py").write_text("raise ValueError('oops')\n", encoding="utf-8")
    boxes = tmp_path / "boxes.jsonl"
    done = run_without_console(tmp_path, ["broken"], data_dir, boxes)
    assert done.returncode == ToolError.exit_code
    # The tool's name is unknown: the log is named after the executable.
    log = (data_dir / "logs" / "broken.log").read_text(encoding="utf-8")
    print(log)
    assert "Stopped: broken failed to load: ValueError: oops" in log
    assert "raise ValueError('oops')" in log  # the traceback, down to the tool's line
    ((title, message),) = [json.loads(line) for line in boxes.read_text("utf-8").splitlines()]
    assert (title, message.split("\n")[0]) == ("broken", "broken failed to load: ValueError: oops")


def test_an_unexpected_error_names_the_log_file_and_exits_1(tmp_path, data_dir):
    script = (
        "import click\n"
        "from deskwork.desktop.entry import run_command\n"
        "@click.command()\n"
        "def boom():\n"
        "    raise RuntimeError('disk on fire')\n"
        "run_command(boom, name='boom', title='Boom')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    log_file = data_dir / "logs" / "boom.log"
    print(done.stderr)
    assert done.returncode == 1
    assert done.stderr == (
        "Error: Boom stopped on an unexpected error (RuntimeError: disk on fire). "
        f"The details are in {log_file}.\n"
    )
    assert "Traceback" in log_file.read_text(encoding="utf-8")


def test_uncaught_exceptions_of_every_thread_reach_the_log(tmp_path, data_dir):
    script = (
        "import threading\n"
        "from deskwork.desktop.entry import install_excepthooks\n"
        "from deskwork.desktop.launch import setup_logging\n"
        "setup_logging('threads')\n"
        "install_excepthooks()\n"
        "def work():\n"
        "    raise LookupError('lost in a worker thread')\n"
        "worker = threading.Thread(target=work, name='worker-7')\n"
        "worker.start()\n"
        "worker.join()\n"
        "raise KeyError('lost in the main thread')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    log = (data_dir / "logs" / "threads.log").read_text(encoding="utf-8")
    print(log)
    assert "ERROR deskwork: Uncaught exception in thread worker-7" in log
    assert "LookupError: lost in a worker thread" in log
    assert "CRITICAL deskwork: Uncaught exception" in log
    assert "KeyError: 'lost in the main thread'" in log
    # With a console, Python's own report still shows as well.
    assert "LookupError" in done.stderr and "KeyError" in done.stderr


def test_a_message_box_uses_what_the_desktop_has(monkeypatch):
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert entry.message_box_command("Prices", "It broke.") is None  # no screen: log only
    monkeypatch.setenv("DISPLAY", ":9")
    command = entry.message_box_command("Prices", "It broke.")
    print(command)
    assert command is not None and Path(command[0]).name in ("zenity", "kdialog", "xmessage")
    assert "It broke." in command[-1]


BOOM = (
    "from deskwork import Tool, Text\n"
    "tool = Tool('Boom')\n"
    "things = tool.table('things', name=Text())\n"
    "tool.table_page('Things', things)\n"
    "@tool.page('Broken')\n"
    "def broken():\n"
    "    raise RuntimeError('a bug in the tool')\n"
)


def test_a_full_launch_keeps_the_secret_and_the_focus_key_out_of_the_log(tmp_path, data_dir):
    tool_file = tmp_path / "boom.py"
    tool_file.write_text(BOOM, encoding="utf-8")
    process = start(["run", str(tool_file), "--browser"], deskwork_env(data_dir))
    try:
        _, address = read_address(process)
        url = urlsplit(address)
        secret = url.query.removeprefix("token=")
        (record,) = (data_dir / "running").glob("*.json")
        focus_key = json.loads(record.read_text(encoding="utf-8"))["key"]
        statuses = {}
        status, cookie, _ = get(url.port, f"/?{url.query}")
        statuses["/?token=SECRET"] = status
        cookie = cookie.split(";")[0]
        statuses["/tables/things?token=SECRET&q=x"] = get(
            url.port, f"/tables/things?token={secret}&q=x"
        )[0]
        statuses["/?token=wrong"] = get(url.port, "/?token=wrong")[0]
        status, _, page = get(url.port, "/pages/broken", cookie)
        statuses["/pages/broken (a bug)"] = status
        # A second launch uses the focus key and hands the secret over: neither is logged.
        second = subprocess.run(
            [str(DESKWORK), "run", str(tool_file), "--browser"], env=deskwork_env(data_dir),
            capture_output=True, encoding="utf-8", timeout=60,
        )  # fmt: skip
        assert second.returncode == 0 and second.stdout.splitlines()[-1] == address
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    print(statuses)
    assert statuses == {
        "/?token=SECRET": 303, "/tables/things?token=SECRET&q=x": 303, "/?token=wrong": 403,
        "/pages/broken (a bug)": 500,
    }  # fmt: skip
    log_file = data_dir / "logs" / "boom.log"
    # The friendly page says where the details are.
    assert "Something went wrong. The details are in the log file." in page
    assert f"<code>{log_file}</code>" in page
    assert "RuntimeError" not in page
    log = log_file.read_text(encoding="utf-8")
    assert "RuntimeError: a bug in the tool" in log  # the log has it
    assert secret not in log and focus_key not in log
    print(f"{len(log.splitlines())} log lines; no secret, no focus key")
