"""``deskwork connect``: the native window as a team's client, under Xvfb, against
``deskwork serve`` in its own process."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from team_driving import ServedTool

from conftest import DESKWORK, deskwork_env

pytestmark = pytest.mark.gui

GOOD = "correct horse battery"
DRIVER = Path(__file__).parent / "window_connect_driver.py"


def test_the_window_waits_for_an_unreachable_server_then_logs_in_and_saves(
    tmp_path, seeded_database, display
):
    database = tmp_path / "team.sqlite3"
    shutil.copyfile(seeded_database, database)
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(database, data, start=False)  # listening, not answering
    window: subprocess.Popen[str] | None = None
    try:
        window = subprocess.Popen(
            [sys.executable, str(DRIVER), f"http://127.0.0.1:{server.port}/", "ana", GOOD],
            env=deskwork_env(tmp_path / "window", display), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )  # fmt: skip
        assert window.stdout is not None
        first = window.stdout.readline()
        assert first.startswith("waiting: Expenses can't be reached"), first
        server.resume()
        done = server.users("add", "ana", "--role", "editor", password=GOOD)
        assert done.returncode == 0, done.stderr
        rest, errors = window.communicate(timeout=240)
        report = json.loads(rest.strip().splitlines()[-1])
    finally:
        if window is not None and window.poll() is None:  # nothing left for the next test
            window.kill()
            window.communicate(timeout=30)
        server.stop()
    assert "error" not in report, (report, errors[-3000:])
    assert "timed out" in report["reason"]
    assert report["first page"] == "Log in to Expenses"
    assert report["logged in as"] == "ana (editor)"
    assert report["saved"].startswith("Saved expense #")
    with sqlite3.connect(database) as conn:
        saved = conn.execute(
            "SELECT a.who FROM expenses e JOIN _deskwork_history h ON h.row_id = e.id "
            "AND h.table_name = 'expenses' AND h.kind = 'create' JOIN _deskwork_actions a "
            "ON a.id = h.action_id WHERE e.note = 'Saved through deskwork connect'"
        ).fetchall()
    assert saved == [("ana",)]


def test_connect_refuses_what_is_no_address(tmp_path):
    done = subprocess.run([str(DESKWORK), "connect", "tools.example"],
                          env=deskwork_env(tmp_path), capture_output=True, encoding="utf-8",
                          timeout=60)  # fmt: skip
    assert done.returncode == 40
    assert "'tools.example' is not a server's address" in done.stderr
