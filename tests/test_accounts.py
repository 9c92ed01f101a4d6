"""The people who log in to a served tool: ``deskwork.accounts`` and ``deskwork users``,
with passwords given at a real terminal (through ``script``'s pseudo-terminal) and on
standard input, as IT's scripts give them."""

from __future__ import annotations

import getpass
import os
import select
import shlex
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DESKWORK, TOOL_FILE, deskwork_env
from deskwork.accounts import Accounts
from deskwork.db import audit
from deskwork.db.migrations import USERS
from deskwork.db.storage import Storage
from deskwork.errors import NotDone, ValidationError

GOOD = "correct horse battery"


def test_a_password_is_kept_only_as_its_argon2id_hash(db):
    people = Accounts(db)
    ana = people.add("ana", "editor", GOOD)
    assert (ana.name, ana.role) == ("ana", "editor")
    [(stored,)] = db.execute(f"SELECT password FROM {USERS}").fetchall()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert people.log_in("ana", GOOD) == ana
    assert people.log_in("ANA", GOOD) == ana  # one person, whatever the case
    assert people.log_in("ana", GOOD.upper()) is None
    assert people.log_in("nobody", GOOD) is None
    assert people.log_in("ana", "") is None


def test_what_a_password_may_not_be(db):
    people = Accounts(db)
    for name, password, message in [
        ("ana", "short pw", "too short: use at least 10 characters"),
        ("ana", "qwertyuiop", "among the most common ones"),
        ("ana", "Password123", "among the most common ones"),
        ("ana", "aaaaaaaaaaaa", "among the most common ones"),
        ("anabelle", "my name is anabelle", "can't contain the log-in name"),
        ("ana", "x" * 257, "too long"),
        ("two words", GOOD, "can't be a log-in name"),
    ]:
        with pytest.raises(ValidationError, match=message):
            people.add(name, "viewer", password)
    with pytest.raises(ValidationError, match="'owner' is not a role"):
        people.add("ana", "owner", GOOD)
    assert people.all() == []  # nothing half-added


def test_reset_role_and_remove_end_every_session_so_far(db):
    people = Accounts(db)
    ana = people.add("ana", "viewer", GOOD)
    assert ana.role == "viewer"
    with pytest.raises(NotDone, match="'Ana' is there already"):
        people.add("Ana", "admin", "another good one")
    again = people.reset("ana", "a new long password")
    assert again.sessions_from > ana.sessions_from
    assert people.log_in("ana", GOOD) is None and people.log_in("ana", "a new long password")
    promoted = people.set_role("ana", "admin")
    assert promoted.role == "admin" and promoted.sessions_from > again.sessions_from
    people.remove("ana")
    assert people.get("ana") is None and people.log_in("ana", "a new long password") is None
    with pytest.raises(NotDone, match="There is no one called 'ana'"):
        people.reset("ana", GOOD)


@pytest.fixture
def tool_db(tmp_path, seeded_database) -> Path:
    copy = tmp_path / "expenses.sqlite3"
    shutil.copyfile(seeded_database, copy)
    return copy


def users(tool_db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DESKWORK), "users", args[0], str(TOOL_FILE), *args[1:], "--db", str(tool_db)],
        input=stdin, capture_output=True, encoding="utf-8", timeout=120,
        env=deskwork_env(tool_db.parent / "data"),
    )  # fmt: skip


def stored(tool_db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tool_db) as conn:
        return conn.execute(f"SELECT name, role FROM {USERS} ORDER BY name").fetchall()


def test_users_from_a_script_password_on_standard_input(tool_db):
    done = users(tool_db, "add", "ana", "--role", "admin", stdin=GOOD + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ana may now log in to Expenses as admin.\n"
    assert GOOD not in done.stdout + done.stderr
    done = users(tool_db, "add", "ben", "--role", "viewer", stdin=GOOD + "!\r\n")  # Windows'
    assert done.returncode == 0, done.stderr
    listed = users(tool_db, "list").stdout.splitlines()
    assert [line.split()[:2] for line in listed] == [["ana", "admin"], ["ben", "viewer"]]

    refused = users(tool_db, "add", "cy", "--role", "editor", stdin="password123\n")
    assert refused.returncode == 12
    assert "That password is among the most common ones" in refused.stderr
    assert "password123" not in refused.stderr
    assert stored(tool_db) == [("ana", "admin"), ("ben", "viewer")]  # nothing changed

    done = users(tool_db, "reset", "ben", "--role", "editor")
    assert done.stdout == "ben is now editor in Expenses; logged out everywhere.\n"
    done = users(tool_db, "reset", "ben", stdin="a brand new passphrase\n")
    assert done.stdout == "ben has a new password for Expenses; logged out everywhere.\n"
    with Storage(tool_db).open() as db:
        assert Accounts(db).log_in("ben", "a brand new passphrase") is not None
        assert Accounts(db).log_in("ana", GOOD) is not None
    missing = users(tool_db, "reset", "cy", stdin="whatever it is\n")
    assert (missing.returncode, missing.stderr.strip()) == (
        12, "Error: There is no one called 'cy'.")  # fmt: skip
    assert users(tool_db, "remove", "ben").stdout == "ben may no longer log in to Expenses.\n"
    assert stored(tool_db) == [("ana", "admin")]
    # each change is in the audit trail, with who made it at the command line (and no
    # password: the refused one left no line either)
    with Storage(tool_db).open() as db:
        trail = [(e.event, e.who, e.detail) for e in reversed(audit.recent(db))]
    me = f"{getpass.getuser()} (command line)"
    assert trail == [
        ("person added", me, "ana as admin"), ("person added", me, "ben as viewer"),
        ("role changed", me, "ben: viewer to editor"), ("password reset", me, "ben"),
        ("person removed", me, "ben"),
    ]  # fmt: skip


class Terminal:
    """A command at a pseudo-terminal (``script`` gives it one, as a person's terminal):
    read what it shows, type when asked."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["script", "-q", "-e", "-c", shlex.join(command), "/dev/null"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )  # fmt: skip
        self.screen = ""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            ready, _, _ = select.select([self.process.stdout], [], [], 1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                self.screen += chunk.decode("utf-8", "replace").replace("\r", "")
            assert time.monotonic() < deadline, f"no {text!r} in {self.screen!r}"
        assert text in self.screen, f"no {text!r} in {self.screen!r}"

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def end(self) -> int:
        rest, _ = self.process.communicate(timeout=60)
        self.screen += rest.decode("utf-8", "replace").replace("\r", "")
        return self.process.returncode


def test_users_at_a_terminal_password_asked_twice_unseen(tool_db):
    command = [str(DESKWORK), "users", "add", str(TOOL_FILE), "dee", "--role", "editor",
               "--db", str(tool_db)]  # fmt: skip
    terminal = Terminal(command, deskwork_env(tool_db.parent / "data"))
    terminal.wait_for("Password for dee: ")
    terminal.type(GOOD)
    terminal.wait_for("Again, to be sure: ")
    terminal.type(GOOD)
    assert terminal.end() == 0, terminal.screen
    assert "dee may now log in to Expenses as editor." in terminal.screen
    assert GOOD not in terminal.screen  # never echoed
    assert stored(tool_db) == [("dee", "editor")]
