"""Signed updates on real one-file builds, as IT publishes them and desks take them:
``deskwork keys new``, ``deskwork release`` to a folder and to a web server, the
program's own ``--check-update``, the next launch putting the new version in place
(backup first, the schema migrated, every row kept), refusals that change nothing, and
a new version that crashes at start rolled back with the data."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from update_place import Place

from conftest import DESKWORK, deskwork_env, run, wait_until
from deskwork.desktop import updates

pytestmark = pytest.mark.packaging

SELF_TEST_OK = "self-test ok: 'Ledger' rendered"


def ledger(folder: Path, version: str, *, more: bool = False, crash: bool = False) -> Path:
    """Ledger at ``version``: version 2 adds a column and a table; the crashing one
    works where it is built and fails on every desk."""
    folder.mkdir(parents=True)
    lines = ["import sys", "from deskwork import Text, Tool",
             f'tool = Tool("Ledger", version="{version}")']  # fmt: skip
    if more:
        lines += ['entries = tool.table("entries", title=Text(required=True), topic=Text())',
                  'topics = tool.table("topics", name=Text(required=True))',
                  'tool.table_page("Topics", topics)']  # fmt: skip
    else:
        lines += ['entries = tool.table("entries", title=Text(required=True))']
    lines += ['tool.table_page("Entries", entries)']
    if crash:
        lines += ['if getattr(sys, "frozen", False):',
                  '    raise RuntimeError("this build of Ledger 2.0.0 is broken")']  # fmt: skip
    (folder / "tool.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "tool.py"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The release key, and Ledger 1.0.0 built and published to a shared folder."""
    root = tmp_path_factory.mktemp("releases")
    made = run([str(DESKWORK), "keys", "new", str(root / "keys" / "release.key")]).stdout
    public = (root / "keys" / "release.pub").read_text(encoding="utf-8").strip()
    assert public in made and f'update_key = "{public}"' in made
    share = root / "share"
    done = run([str(DESKWORK), "release", str(ledger(root / "v1", "1.0.0")), "--to", str(share),
                "--key", str(root / "keys" / "release.key"), "--dist", str(root / "dist1")],
               cwd=root, timeout=1200)  # fmt: skip
    assert f"Published Ledger 1.0.0: {share / updates.manifest_name('ledger')}" in done.stdout
    return root, share, root / "dist1" / "ledger"


class Desk:
    """Someone's desk: their copy of the one-file program, in a folder of theirs, and
    their data folder; ``env`` adds settings."""

    def __init__(self, root: Path, program: Path, display: str, **env: str) -> None:
        self.program = root / "desk" / "ledger"
        self.program.parent.mkdir(parents=True)
        shutil.copy2(program, self.program)
        self.data = root / "data"
        self.data.mkdir()
        self.env = deskwork_env(self.data, display, **env)
        self.database = self.data / "ledger" / "ledger.sqlite3"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.program), *args]
        if check:
            return run(command, env=self.env, cwd=self.program.parent, timeout=600)
        return subprocess.run(command, env=self.env, cwd=self.program.parent, timeout=600,
                              capture_output=True, encoding="utf-8")  # fmt: skip

    def start_with_entries(self) -> None:
        assert SELF_TEST_OK in self.run("--self-test").stdout  # makes the database
        with sqlite3.connect(self.database) as conn:
            conn.executemany("INSERT INTO entries (title) VALUES (?)", [("rent",), ("pens",)])

    def version(self, program: Path | None = None) -> str:
        done = run([str(program or self.program), "--version"], env=self.env, timeout=120)
        return done.stdout.split(" (deskwork")[0]

    def tables(self, database: Path | None = None) -> dict[str, list[str]]:
        with sqlite3.connect(database or self.database) as conn:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name IN ('entries', 'topics')")  # fmt: skip
            names = [r[0] for r in found]
            return {n: [r[1] for r in conn.execute(f"PRAGMA table_info({n})")] for n in names}

    def titles(self, database: Path | None = None) -> list[str]:
        with sqlite3.connect(database or self.database) as conn:
            return [r[0] for r in conn.execute("SELECT title FROM entries ORDER BY title")]

    def backups(self, why: str) -> list[Path]:
        return sorted((self.data / "ledger" / "backups").glob(f"*_{why}.sqlite3"))


def test_a_release_reaches_desks_from_a_folder_and_a_web_server_keeping_every_row(
    released, tmp_path, display
):
    root, share, v1 = released
    key = root / "keys" / "release.key"
    web = Place(tmp_path / "web")
    try:
        desk = Desk(tmp_path / "a", v1, display)
        desk.start_with_entries()
        said = desk.run("--check-update").stdout
        assert said.strip() == f"Ledger 1.0.0 is up to date ({share})."
        done = run([str(DESKWORK), "release", str(ledger(tmp_path / "v2", "2.0.0", more=True)),
                    "--to", str(share), "--to", web.url, "--key", str(key),
                    "--dist", str(tmp_path / "dist2")], cwd=tmp_path, timeout=1200)  # fmt: skip
        assert f"Published Ledger 2.0.0: {web.url}/{updates.manifest_name('ledger')}" in done.stdout
        v2 = tmp_path / "dist2" / "ledger"

        said = desk.run("--check-update").stdout  # from the folder it was released to
        assert said.strip() == ("Ledger 2.0.0 is downloaded and verified; it is put in place "
                                "the next time Ledger starts.")  # fmt: skip
        assert desk.version() == "Ledger 1.0.0" and desk.tables()["entries"] == ["id", "title"]
        assert SELF_TEST_OK in desk.run("--self-test").stdout  # the next launch
        assert desk.version() == "Ledger 2.0.0"
        assert desk.program.read_bytes() == v2.read_bytes()
        assert desk.version(updates.previous_of(desk.program)) == "Ledger 1.0.0"
        tables = desk.tables()
        assert tables["entries"] == ["id", "title", "topic"] and tables["topics"] == ["id", "name"]
        assert desk.titles() == ["pens", "rent"]
        [backup] = desk.backups("before-new-version")  # taken before 2.0.0 changed anything
        assert desk.tables(backup) == {"entries": ["id", "title"]}
        assert desk.titles(backup) == ["pens", "rent"]

        other = Desk(tmp_path / "b", v1, display, DESKWORK_UPDATE_SOURCE=web.url)  # IT's setting
        other.start_with_entries()
        said = other.run("--check-update").stdout
        assert said.startswith("Ledger 2.0.0 is downloaded and verified")
        assert SELF_TEST_OK in other.run("--self-test").stdout
        assert other.version() == "Ledger 2.0.0" and other.titles() == ["pens", "rent"]

        in_window = Desk(tmp_path / "w", v1, display, DESKWORK_UPDATE_SOURCE=web.url)
        in_window.start_with_entries()
        restart_from_the_window(in_window)
        assert in_window.version() == "Ledger 2.0.0" and in_window.titles() == ["pens", "rent"]
        assert in_window.tables()["topics"] == ["id", "name"]

        # Refused, each with its message, and nothing changed on the desk.
        release_key = updates.read_private(key)
        updates.new_keys(tmp_path / "other.key")
        tampered = tmp_path / "tampered"
        updates.publish(v2, str(tampered), key=release_key, name="ledger", version="3.0.0")
        [file] = tampered.glob("ledger-3.0.0-*")
        with open(file, "r+b") as f:
            f.seek(file.stat().st_size // 2)
            f.write(b"\0tampered\0")
        signed_by_other = tmp_path / "other"
        updates.publish(v2, str(signed_by_other), name="ledger", version="3.0.0",
                        key=updates.read_private(tmp_path / "other.key"))  # fmt: skip
        downgrade = tmp_path / "downgrade"
        updates.publish(v1, str(downgrade), key=release_key, name="ledger", version="1.0.0")
        program = desk.program.read_bytes()
        for place, message in [
            (downgrade, "offers ledger 1.0.0, older than 2.0.0 this desk runs: a rollback"),
            (tampered, "does not match its signed hash (tampered with, or damaged): refused"),
            (signed_by_other, "is not signed by this tool's release key"),
        ]:
            desk.env["DESKWORK_UPDATE_SOURCE"] = str(place)
            done = desk.run("--check-update", check=False)
            assert done.returncode == 51 and message in done.stderr, done.stderr
            assert SELF_TEST_OK in desk.run("--self-test").stdout
            assert desk.program.read_bytes() == program and desk.version() == "Ledger 2.0.0"
            assert desk.titles() == ["pens", "rent"]
        assert not (desk.data / "ledger" / "updates" / "pending.json").exists()
        assert len(desk.backups("before-new-version")) == 1
    finally:
        web.close()


def restart_from_the_window(desk: Desk) -> None:
    """Ledger 1.0.0 opened as staff open it, in its window: a few seconds in, it finds
    the new version, downloads it and asks "Restart now?"; OK (Alt+O, as a user's
    keyboard gives it) restarts into 2.0.0, which opens its window in the same place."""
    log = desk.data / "logs" / "ledger.log"

    def logged() -> str:
        return log.read_text(encoding="utf-8") if log.exists() else ""

    def xdotool(*args: str) -> str:
        return run(["xdotool", *args], env=desk.env, timeout=60).stdout.strip()

    def shown() -> set[str]:
        """the visible top-level windows"""
        found = ["xdotool", "search", "--onlyvisible", "--maxdepth", "1", "--name", ".*"]
        done = subprocess.run(found, env=desk.env, capture_output=True, encoding="utf-8")
        return set(done.stdout.split())

    served_before = logged().count("Serving Ledger on")
    opened = subprocess.Popen(
        [str(desk.program)], env=desk.env, cwd=desk.program.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
    )  # fmt: skip
    try:
        xdotool("search", "--sync", "--onlyvisible", "--name", "^Ledger$")
        before = shown()
        asked = "Ledger 2.0.0 is downloaded and verified: asking whether to restart now"
        wait_until(lambda: asked in logged(), timeout=180)
        question = wait_until(lambda: shown() - before, timeout=30)  # the dialog
        assert len(question) == 1, question
        xdotool("windowfocus", "--sync", question.pop(), "key", "alt+o")  # its "_OK"

        def restarted() -> bool:
            """2.0.0 serves its window"""
            text = logged()
            after = text.partition("Restarting into Ledger 2.0.0, as the user chose")[2]
            return "Serving Ledger on" in after.partition("Ledger 2.0.0 is in place")[2]

        wait_until(restarted, timeout=180)
        xdotool("search", "--sync", "--onlyvisible", "--name", "^Ledger$")
        assert opened.poll() is None  # the same program, running on as 2.0.0
        assert desk.version() == "Ledger 2.0.0"
    finally:
        opened.terminate()
        out, err = opened.communicate(timeout=60)
    print(out, err, file=sys.stderr)
    assert logged().count("Serving Ledger on") == served_before + 3  # 1.0.0, the check, 2.0.0


def test_a_new_version_that_crashes_at_start_is_rolled_back_with_the_data(
    released, tmp_path, display
):
    root, _share, v1 = released
    place = tmp_path / "share"
    run([str(DESKWORK), "release", str(ledger(tmp_path / "v2", "2.0.0", more=True, crash=True)),
         "--to", str(place), "--key", str(root / "keys" / "release.key"),
         "--dist", str(tmp_path / "dist")], cwd=tmp_path, timeout=1200)  # fmt: skip
    desk = Desk(tmp_path / "c", v1, display, DESKWORK_UPDATE_SOURCE=str(place))
    desk.start_with_entries()
    assert desk.run("--check-update").stdout.startswith("Ledger 2.0.0 is downloaded and verified")
    done = desk.run("--self-test")
    assert ("Ledger 2.0.0 failed to start (exit 10: " in done.stdout
            and "this build of Ledger 2.0.0 is broken" in done.stdout
            and "Ledger 1.0.0 is back, with your data as it was before the update." in done.stdout
            ), done.stdout  # fmt: skip
    assert SELF_TEST_OK in done.stdout  # and 1.0.0 went on to open
    assert desk.program.read_bytes() == v1.read_bytes() and desk.version() == "Ledger 1.0.0"
    assert desk.tables() == {"entries": ["id", "title"]} and desk.titles() == ["pens", "rent"]
    said = desk.run("--check-update").stdout  # not offered again
    assert said.strip() == ("Ledger 2.0.0 failed to start here, and was rolled back: Ledger "
                            "1.0.0 waits for a newer release.")  # fmt: skip
