"""A real pywebview window (GTK WebKit) on a virtual screen."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DESKWORK, deskwork_env
from deskwork.errors import SchemaError

pytestmark = pytest.mark.gui

SELF_TEST_LINE = re.compile(
    r"self-test ok: 'Expenses' rendered in (?P<seconds>[\d.]+) s; "
    r"server on port (?P<port>\d+) stopped, no thread left"
)


def self_test_of(tool_file, source, data_dir, display):
    """Write a tool file and run its --self-test in a real window."""
    tool_file.write_text(source, encoding="utf-8")
    return subprocess.run(
        [str(DESKWORK), "run", str(tool_file), "--self-test"],
        env=deskwork_env(data_dir, display), capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip


def test_demo_window_loads_renders_its_title_then_closes_cleanly(display, data_dir):
    # --self-test waits for pywebview's loaded event, reads the page's title and heading
    # through the window, closes it, stops the server and checks the port.
    done = subprocess.run(
        [str(DESKWORK), "demo", "--self-test"], env=deskwork_env(data_dir, display),
        capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    match = SELF_TEST_LINE.search(done.stdout)
    assert match, done.stdout
    port = int(match["port"])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    assert (data_dir / "expenses" / "expenses.sqlite3").is_file()


def test_self_test_fails_with_a_reason_when_the_home_page_breaks(display, data_dir, tmp_path):
    # A page of an unknown kind makes the home page fail: the window shows the error page,
    # and the self-test must say so and exit non-zero rather than pass.
    done = self_test_of(
        tmp_path / "odd.py",
        "from types import SimpleNamespace\n"
        "from deskwork import Tool, Text\n"
        "tool = Tool('Odd')\n"
        "tool.table('things', name=Text())\n"
        "tool.pages['x'] = SimpleNamespace(kind='nope', slug='x', title='X')\n",
        data_dir,
        display,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == (
        "self-test failed: the page showed 'Something went wrong', not 'Odd'\n"
    ), done.stdout


def test_self_test_without_a_display_fails_in_one_line(data_dir):
    done = subprocess.run(
        [str(DESKWORK), "demo", "--self-test"], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.strip() == (
        "self-test failed: no display found (DISPLAY and WAYLAND_DISPLAY are not set)"
    )


def test_self_test_asks_every_page_and_names_the_ones_that_fail(display, data_dir, tmp_path):
    done = self_test_of(
        tmp_path / "boom.py",
        "from deskwork import Tool, Text\n"
        "tool = Tool('Boom')\n"
        "things = tool.table('things', name=Text())\n"
        "tool.table_page('Things', things)\n"
        "@tool.page('Broken')\n"
        "def broken():\n"
        "    raise RuntimeError('a bug in the tool')\n",
        data_dir,
        display,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == "self-test failed: pages failed: /pages/broken (500)\n", done.stdout
    log = (data_dir / "logs" / "boom.log").read_text(encoding="utf-8")
    assert "RuntimeError: a bug in the tool" in log  # the traceback goes to the log only


def test_a_person_can_fill_in_and_save_a_form_in_the_native_window(
    display, data_dir, seeded_database, tmp_path
):
    database = tmp_path / "expenses.sqlite3"
    shutil.copyfile(seeded_database, database)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "window_forms_driver.py"), str(database)],
        env=deskwork_env(data_dir, display), capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    assert report["first match"].startswith("Hana ")  # the lookup asked the server
    assert report["shown"] == report["first match"] and report["picked id"].isdigit()
    assert report["landed on"].startswith("Saved expense #")
    assert report["saved"] == [{"amount": 7710, "category": "Office", "name": report["shown"]}]


def test_a_tool_that_cannot_open_its_database_says_why_in_the_window_and_the_exit_code(
    display, data_dir, tmp_path
):
    # The database gets ready while the window opens: a change that would lose data is
    # refused there, the window shows why (it has no console on Windows), the command
    # says it in one line and exits with the schema error's code.
    source = "from deskwork import Tool, {kind}\ntool = Tool('Prices')\n"
    source += "tool.table('things', price={kind}())\n"
    first = self_test_of(tmp_path / "prices.py", source.format(kind="Money"), data_dir, display)
    assert first.returncode == 0, first.stdout + first.stderr
    done = self_test_of(tmp_path / "prices.py", source.format(kind="Text"), data_dir, display)
    assert done.returncode == SchemaError.exit_code, done.stdout + done.stderr
    assert done.stderr.startswith("Error: Column things.price was saved as numbers")
    assert "Traceback" not in done.stderr
    log = (data_dir / "logs" / "prices.log").read_text(encoding="utf-8")
    assert "Prices could not start" in log and "SchemaError" in log


def test_the_file_menu_backs_up_and_restores_in_the_window(tmp_path, data_dir, display):
    database = tmp_path / "stock.sqlite3"
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "window_menu_driver.py"), str(database)],
        env=deskwork_env(data_dir, display), capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    assert report["backed up"].endswith("_manual.sqlite3") and report["told"] == ["Backed up"]
    assert report["before restore"] == ["Added after the backup"]
    assert report["after restore"] == []  # as the backup holds it
    assert report["asked"] == ["Backed up", "Restore this backup?", "Restored"]
    assert report["reloaded"] and report["page"] == "Stock"  # the window shows it again
    assert report["kept"] == ["before-restore", "daily", "manual"]
    print(f"\nFile menu in the window: {report}")


def test_print_in_the_file_menu_and_a_reports_print_button_ask_for_the_print_dialog(
    tmp_path, data_dir, display
):
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "window_print_driver.py"),
         str(tmp_path / "ledger.sqlite3")],
        env=deskwork_env(data_dir, display), capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    assert report["menu"][0] == "print requested" and report["menu"][1].startswith("dialog")
    assert report["button"] == "Print"
    assert report["report"][0] == "print requested" and report["report"][1].startswith("dialog")
    print(f"\nPrint in the window: {report}")


def test_an_export_is_saved_where_the_save_dialog_says_with_its_progress(
    tmp_path, data_dir, display
):
    folder = tmp_path / "Documents"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "window_export_driver.py"),
         str(tmp_path / "stock.sqlite3"), str(folder)],
        env=deskwork_env(data_dir, display), capture_output=True, encoding="utf-8", timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    assert report["links"] == ["Export CSV", "Export Excel"]
    name = f"items-{dt.date.today().isoformat()}.csv"
    assert [d["save_filename"] for d in report["dialog"]] == [name, name]
    assert report["dialog"][0]["file_types"] == ["CSV file (*.csv)", "All files (*.*)"]
    assert report["first text"].startswith(("Choose where to save the CSV", "Exporting"))
    text, value, most = report["running"]
    assert text.startswith(f"Exporting {name}: ") and text.endswith(" of 20,000 rows")
    assert 0 < value < most == 20_000
    assert report["elsewhere"] == ["Stock", "running"]  # another page, the export going on
    assert report["done"] == f"Saved 20,000 rows in {folder / name}."
    assert report["lines"] == 20_001 and report["head"] == [
        "ID,Name,Price",
        "20000,Item 19999,1399.93",
    ]
    assert report["cancelled"] == f"Export cancelled: {name} was not saved."
    assert report["after cancel"] == "kept"
    assert report["folder"] == [name]  # no temporary file left behind
    print(f"\nExport from the window: {report['running']}, {report['done']}")
