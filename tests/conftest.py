"""Shared fixtures: the tests' own tool (``fixture_tool``, not the demo) on a fresh database,
a live server, a virtual screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from deskwork.app import create_app
from deskwork.db.storage import Storage
from deskwork.desktop.server import ServerThread
from deskwork.testing import tool_client
from fixture_tool import tool
from xvfb import start_xvfb

ROOT = Path(__file__).resolve().parent.parent
DESKWORK = Path(sys.executable).parent / "deskwork"
#: The tests' tool by its path, for a subprocess: ``deskwork run TOOL_FILE``.
TOOL_FILE = Path(__file__).resolve().parent / "fixture_tool.py"


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' tool's database with its sample data, made once; tests get copies."""
    path = tmp_path_factory.mktemp("seeded") / "expenses.sqlite3"
    Storage(path).prepare(tool)
    with Storage(path).open() as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    """The tests' tool on an empty database."""
    return tool_client(tool, tmp_path / "empty.sqlite3")


@pytest.fixture
def seeded_client(tmp_path: Path, seeded_database: Path) -> FlaskClient:
    """The tests' tool on a copy of the sample data."""
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    return tool_client(tool, copy)


@dataclass
class LiveServer:
    url: str
    secret: str
    port: int
    database: Path
    streams: Any = None  # the server's event streams (deskwork.desktop.server.Streams)

    @property
    def first_url(self) -> str:
        return f"{self.url}?token={self.secret}"


@pytest.fixture
def db(tmp_path: Path, seeded_database: Path) -> Iterator[Any]:
    """A connection (sqlite-utils) to a copy of the sample data."""
    copy = tmp_path / "seeded.sqlite3"
    shutil.copyfile(seeded_database, copy)
    with Storage(copy).open() as opened:
        yield opened


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, seeded_database: Path
                ) -> Iterator[LiveServer]:  # fmt: skip
    """The tests' tool on a real multi-threaded server on 127.0.0.1, once per session."""
    database = tmp_path_factory.mktemp("live") / "expenses.sqlite3"
    shutil.copyfile(seeded_database, database)
    server = ServerThread()
    secret = "live-secret-for-tests"
    server.set_app(create_app(tool, database, secret=secret, port=server.port))
    with server:
        yield LiveServer(server.url, secret, server.port, database, server.streams)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A virtual screen (Xvfb) for real windows; yields its DISPLAY value."""
    xvfb, display = start_xvfb()
    try:
        yield display
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh DESKWORK_DATA_DIR, with a non-ASCII name as some users' folders have."""
    path = tmp_path / "données utilisateur"
    path.mkdir()
    return path


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(client: FlaskClient, table: str = "expenses") -> list[dict[str, object]]:
    """Every row of ``table`` in the client's database."""
    with client.application.extensions["deskwork.storage"].open() as db:
        return list(db.table(table).rows)


def add_employee(client: FlaskClient, name: str = "Ann Okafor", **extra: object) -> int:
    with client.application.extensions["deskwork.storage"].open() as db, db.conn:
        return int(db.table("employees").insert({"name": name, **extra}).last_pk)


def expense_form(**overrides: object) -> dict[str, object]:
    """A good "New expense" form, as a browser sends it, with ``overrides``."""
    return {
        "date": "2026-03-04",
        "amount": "1,234.56",
        "category": "Travel",
        "employee": "1",
        "note": "Train to Leeds",
        **overrides,
    }


def deskwork_env(data_dir: Path, display: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["DESKWORK_DATA_DIR"] = str(data_dir)
    if display:
        env["DISPLAY"] = display
    env.update(extra)
    return env


def wait_until(condition, timeout=10.0, every=0.05):
    """Poll ``condition`` until it holds (then return its value) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout} s: {condition.__doc__ or ''}")
        time.sleep(every)


def run(command, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail the test with its output unless it exits 0."""
    done = subprocess.run(command, capture_output=True, encoding="utf-8", **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deskwork's wheel, built from this checkout once per session."""
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    (path,) = out.glob("deskwork-*.whl")
    return path


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium, driven by Playwright (its own browser download does not work
    here), for the `browser` tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def hidden(page: str, name: str) -> str:
    """The value of the page's hidden input ``name`` (a form's token, a record's version)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the page"
    return found[1]
