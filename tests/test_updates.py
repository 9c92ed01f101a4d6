"""Signed updates (``deskwork.desktop.updates``): keys, publishing to a folder and to a web
server, checking and downloading, and putting a new version in place with a backup
first and a roll-back when it fails. The programs here are small Python scripts standing
for one-file builds; tests/test_packaging.py runs the same on real PyInstaller builds."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from update_place import Place

from deskwork import Text, Tool
from deskwork.db.backups import Backups
from deskwork.desktop import updates
from deskwork.desktop.settings import Settings
from deskwork.errors import SettingError, UpdateError

V1 = "#!/bin/sh\necho 'Notes 1.0.0'\n"


def program_v2(*, crash: bool = False) -> str:
    """A new version: its first run (--finish-update) adds a column and a table, as a
    tool's version 2 does; the crashing one fails after changing the file."""
    return (
        f"#!{sys.executable}\n"
        "import sqlite3, sys\n"
        "db = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--db=')][0]\n"
        "with sqlite3.connect(db) as conn:\n"
        "    conn.execute('ALTER TABLE notes ADD COLUMN topic TEXT')\n"
        "    conn.execute('CREATE TABLE topics (name TEXT)')\n"
        + ("sys.exit('Traceback: version 2 is broken')\n" if crash else "print('ready')\n")
    )


@pytest.fixture
def key(tmp_path):
    updates.new_keys(tmp_path / "keys" / "release.key")
    return updates.read_private(tmp_path / "keys" / "release.key")


@pytest.fixture
def web(tmp_path):
    place = Place(tmp_path / "web")
    yield place
    place.close()


class Desk:
    """A desk running Notes 1.0.0 as one file, with a database of 3 notes."""

    def __init__(self, root: Path, key) -> None:
        self.folder = root / "desk"
        self.folder.mkdir(parents=True)
        self.program = self.folder / "notes"
        self.program.write_text(V1, encoding="utf-8")
        self.program.chmod(0o755)
        self.database = root / "data" / "notes.sqlite3"
        self.database.parent.mkdir(parents=True)
        with sqlite3.connect(self.database) as conn:
            conn.execute("CREATE TABLE notes (title TEXT)")
            conn.executemany("INSERT INTO notes VALUES (?)", [("a",), ("b",), ("c",)])
        self.backups = Backups(self.database, keep=5)
        self.updates = updates.Folder(root / "data" / "updates")
        self.key = key.verify_key

    def check(self, place: str, *, current: str = "1.0.0") -> updates.Offer | None:
        source = updates.Source(place, self.key)
        return updates.check(source, self.updates, name="notes", current=current)

    def apply(self, current: str = "1.0.0") -> updates.Outcome:
        return updates.apply_pending(
            self.program, self.updates, self.key, name="notes", title="Notes",
            current=current, database=self.database, keeper=self.keeper,
        )  # fmt: skip

    def keeper(self, database: Path):  # as a launch keeps it
        return updates.keeping(database, Backups(database, keep=5))

    def columns(self) -> list[str]:
        with sqlite3.connect(self.database) as conn:
            return [r[1] for r in conn.execute("PRAGMA table_info(notes)")]

    def titles(self) -> list[str]:
        with sqlite3.connect(self.database) as conn:
            return [r[0] for r in conn.execute("SELECT title FROM notes ORDER BY title")]

    def leftovers(self) -> list[str]:
        """What an update left in the bookkeeping folder besides its state."""
        if not self.updates.path.is_dir():
            return []
        return sorted(p.name for p in self.updates.path.iterdir() if p.name != "state.json")


def built(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "build" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_a_key_pair_is_made_private_and_never_overwritten(tmp_path):
    private = tmp_path / "keys" / "release.key"
    public = updates.new_keys(private)
    assert (
        len(public) == 44
        and private.with_suffix(".pub").read_text(encoding="utf-8").strip() == public
    )
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert updates.public_text(updates.read_private(private)) == public
    before = private.read_bytes()
    with pytest.raises(UpdateError, match="is there already: a signing key is never overwritten"):
        updates.new_keys(private)
    assert private.read_bytes() == before
    (tmp_path / "not-a-key").write_text("hello\n", encoding="utf-8")
    with pytest.raises(UpdateError, match="holds no signing key"):
        updates.read_private(tmp_path / "not-a-key")


@pytest.mark.parametrize("where", ["folder", "web server"])
def test_version_2_is_published_downloaded_and_put_in_place_after_a_backup(
    tmp_path, key, web, where
):
    place = str(tmp_path / "share") if where == "folder" else web.url
    desk = Desk(tmp_path, key)
    assert desk.check(place) is None  # nothing published yet
    v2 = built(tmp_path, "notes", program_v2())
    manifest = updates.publish(v2, place, key=key, name="notes", version="2.0.0")
    assert manifest.endswith(f"notes-{updates.this_platform()}.json")
    assert desk.check(place, current="2.0.0") is None  # a desk at 2.0.0 is up to date

    offer = desk.check(place)
    assert offer is not None and offer.version == "2.0.0"
    assert offer.file.read_bytes() == v2.read_bytes()
    assert desk.program.read_text(encoding="utf-8") == V1  # nothing changes before the next launch
    assert desk.check(place) == offer  # asked again: downloaded already

    outcome = desk.apply()
    assert outcome.updated and outcome.program == desk.program
    assert desk.program.read_bytes() == v2.read_bytes()
    assert updates.previous_of(desk.program).read_text(encoding="utf-8") == V1  # kept beside it
    assert desk.columns() == ["title", "topic"] and desk.titles() == ["a", "b", "c"]
    [backup] = desk.backups.all()
    assert backup.why == "before-new-version"
    with sqlite3.connect(backup.path) as conn:  # taken before version 2 changed the file
        assert [r[1] for r in conn.execute("PRAGMA table_info(notes)")] == ["title"]
    assert desk.leftovers() == []
    assert desk.updates.state()["installed"] == "2.0.0"
    assert desk.apply("2.0.0") == updates.Outcome()  # nothing left to do


def test_a_new_version_that_fails_to_start_is_rolled_back_with_the_data(tmp_path, key):
    place = str(tmp_path / "share")
    desk = Desk(tmp_path, key)
    updates.publish(built(tmp_path, "notes", program_v2(crash=True)), place, key=key,
                    name="notes", version="2.0.0")  # fmt: skip
    assert desk.check(place) is not None
    outcome = desk.apply()
    assert outcome.rolled_back and not outcome.updated
    assert outcome.message == (
        "Notes 2.0.0 failed to start (exit 1: Traceback: version 2 is broken). Notes 1.0.0 "
        "is back, with your data as it was before the update."
    )
    assert desk.program.read_text(encoding="utf-8") == V1
    assert desk.columns() == ["title"] and desk.titles() == ["a", "b", "c"]
    assert desk.leftovers() == []
    assert desk.updates.state()["failed"] == ["2.0.0"]
    assert desk.check(place) is None  # not offered again; a newer release will be


def test_a_failed_first_version_on_a_desk_with_no_data_yet_leaves_none_behind(tmp_path, key):
    place = str(tmp_path / "share")
    desk = Desk(tmp_path, key)
    desk.database.unlink()  # installed, never opened
    creates = (
        f"#!{sys.executable}\nimport sqlite3, sys\n"
        "db = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--db=')][0]\n"
        "sqlite3.connect(db).execute('CREATE TABLE stamped (version TEXT)')\n"
        "sys.exit('version 2 is broken')\n"
    )
    updates.publish(built(tmp_path, "notes", creates), place, key=key, name="notes",
                    version="2.0.0")  # fmt: skip
    desk.check(place)
    assert desk.apply().rolled_back
    assert not desk.database.exists()  # 1.0.0 starts afresh, not refused as "newer"
    kept = desk.database.with_name("notes.sqlite3.failed-update")
    with sqlite3.connect(kept) as conn:  # set aside, not deleted
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("stamped",)]
    assert desk.backups.all() == []


@pytest.mark.parametrize("swapped", [True, False])
def test_a_launch_cut_short_while_putting_a_version_in_place_is_rolled_back(tmp_path, key, swapped):
    """A power cut while 2.0.0 migrated the data (2.0.0 is then what starts next), or
    before the program was swapped (1.0.0 starts)."""
    desk = Desk(tmp_path, key)
    backup = desk.backups.take("before-new-version").path
    updates._copy_synced(desk.program, updates.previous_of(desk.program))
    desk.updates.path.mkdir(parents=True)
    desk.updates.applying.write_text(json.dumps({
        "from": "1.0.0", "to": "2.0.0", "database": str(desk.database), "backup": str(backup),
    }), encoding="utf-8")  # fmt: skip
    if swapped:
        desk.program.write_text(program_v2(), encoding="utf-8")
    with sqlite3.connect(desk.database) as conn:
        conn.execute("DELETE FROM notes")  # half done when the power went
    outcome = desk.apply("2.0.0" if swapped else "1.0.0")
    assert outcome.rolled_back and "(its launch was cut short)" in outcome.message
    assert outcome.restart == swapped  # 2.0.0 runs 1.0.0 in its place, which says so
    assert desk.program.read_text(encoding="utf-8") == V1 and desk.titles() == ["a", "b", "c"]
    assert not desk.updates.applying.exists()
    told = desk.apply()  # the next launch: 1.0.0
    assert told == (updates.Outcome(rolled_back=True, message=outcome.message) if swapped
                    else updates.Outcome())  # fmt: skip
    assert desk.apply() == updates.Outcome()  # said once


def test_a_new_version_that_cannot_be_put_in_place_changes_nothing_and_waits(tmp_path, key):
    place = str(tmp_path / "share")
    desk = Desk(tmp_path, key)
    updates.publish(built(tmp_path, "notes", program_v2()), place, key=key, name="notes",
                    version="2.0.0")  # fmt: skip
    desk.check(place)

    def full_disk(database):
        def backup(why):
            raise OSError(28, "No space left on device")

        return backup, None

    outcome = updates.apply_pending(
        desk.program, desk.updates, desk.key, name="notes", title="Notes", current="1.0.0",
        database=desk.database, keeper=full_disk,
    )  # fmt: skip
    assert outcome == updates.Outcome()  # the launch goes on, with 1.0.0
    assert desk.program.read_text(encoding="utf-8") == V1 and desk.columns() == ["title"]
    assert desk.updates.pending.is_file()  # tried again at the next launch
    assert desk.apply().updated


def test_on_windows_the_running_program_is_renamed_aside_not_replaced(tmp_path, key, monkeypatch):
    monkeypatch.setattr(updates, "WINDOWS", True)
    place = str(tmp_path / "share")
    desk = Desk(tmp_path, key)
    v2 = built(tmp_path, "notes", program_v2())
    updates.publish(v2, place, key=key, name="notes", version="2.0.0")
    desk.check(place)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(source, target):
        if Path(target) == desk.program and Path(source).name != ".notes.old":
            assert not desk.program.exists(), "a running program is never overwritten"
        replaced.append((Path(source).name, Path(target).name))
        real_replace(source, target)

    monkeypatch.setattr(updates.os, "replace", replace)
    assert desk.apply().updated
    assert ("notes", ".notes.old") in replaced and (".notes.new", "notes") in replaced
    assert desk.program.read_bytes() == v2.read_bytes()


def published_elsewhere(tmp_path, key, name, **given) -> str:
    place = str(tmp_path / name)
    updates.publish(built(tmp_path, "notes", program_v2()), place, key=key, name="notes",
                    **{"version": "3.0.0", **given})  # fmt: skip
    return place


def tampered(tmp_path, key):
    place = published_elsewhere(tmp_path, key, "tampered")
    [file] = Path(place).glob("notes-3.0.0-*")
    file.write_bytes(file.read_bytes().replace(b"ready", b"owned"))
    return place


def other_key(tmp_path, key):
    updates.new_keys(tmp_path / "other.key")
    return published_elsewhere(tmp_path, updates.read_private(tmp_path / "other.key"), "other")


def edited_manifest(tmp_path, key):
    place = published_elsewhere(tmp_path, key, "edited")
    manifest = Path(place) / updates.manifest_name("notes")
    edited = manifest.read_text(encoding="utf-8").replace("3.0.0", "9.0.0")
    manifest.write_text(edited, encoding="utf-8")
    return place


def downgrade(tmp_path, key):
    return published_elsewhere(tmp_path, key, "older", version="1.5.0")


def future(tmp_path, key):
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    return published_elsewhere(tmp_path, key, "future", now=later)


def expired(tmp_path, key):
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    return published_elsewhere(tmp_path, key, "expired", now=earlier, days=30)


def truncated(tmp_path, key):
    place = published_elsewhere(tmp_path, key, "truncated")
    [file] = Path(place).glob("notes-3.0.0-*")
    file.write_bytes(file.read_bytes()[:-20])
    return place


def a_path_for_a_name(tmp_path, key):
    place = tmp_path / "path"
    place.mkdir()
    now = dt.datetime.now(dt.UTC)
    (place / updates.manifest_name("notes")).write_bytes(updates.sign_manifest(key, {
        "name": "notes", "version": "3.0.0", "platform": updates.this_platform(),
        "file": "../../desk/notes", "size": 1, "sha256": "0" * 64,
        "published": now.isoformat(), "expires": (now + dt.timedelta(days=1)).isoformat(),
    }))  # fmt: skip
    return str(place)


def not_a_manifest(tmp_path, key):
    place = tmp_path / "garbage"
    place.mkdir()
    (place / updates.manifest_name("notes")).write_text("<html>Sign in</html>", encoding="utf-8")
    return str(place)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (tampered, r"does not match its signed hash \(tampered with, or damaged\): refused"),
        (other_key, r"is not signed by this tool's release key \(another key, or changed since\)"),
        (edited_manifest, "is not signed by this tool's release key"),
        (downgrade, "offers notes 1.5.0, older than 2.0.0 this desk runs: a rollback"),
        (future, r"in the future: refused \(check this desk's clock\)"),
        (expired, "expired on .*: an old one offered again is refused"),
        (truncated, r"was cut short \([\d,]+ bytes of [\d,]+\): refused, nothing changed"),
        (not_a_manifest, "is not an update manifest: refused"),
        (a_path_for_a_name, "The manifest names the file '../../desk/notes': refused"),
    ],
)
def test_an_update_that_must_not_be_believed_is_refused_and_nothing_changes(
    tmp_path, key, make, message
):
    desk = Desk(tmp_path, key)
    desk.program.write_text(
        "#!/bin/sh\necho 'Notes 2.0.0'\n", encoding="utf-8"
    )  # the desk is at 2.0.0
    program, data = desk.program.read_bytes(), desk.database.read_bytes()
    place = make(tmp_path, key)
    with pytest.raises(UpdateError, match=message):
        desk.check(place, current="2.0.0")
    assert desk.leftovers() == []  # nothing downloaded is kept
    assert desk.program.read_bytes() == program and desk.database.read_bytes() == data


def test_a_desk_that_saw_a_newer_version_refuses_an_older_one_offered_later(tmp_path, key):
    desk = Desk(tmp_path, key)
    place = published_elsewhere(tmp_path, key, "share")  # 3.0.0: seen, then it fails here
    assert desk.check(place) is not None
    desk.updates.forget_pending()
    refused = r"offers notes 2\.0\.0, older than 3\.0\.0 offered to this desk before"
    with pytest.raises(UpdateError, match=refused):
        desk.check(published_elsewhere(tmp_path, key, "stale", version="2.0.0"))


def test_a_release_must_be_newer_than_the_one_published_there(tmp_path, key):
    place = published_elsewhere(tmp_path, key, "share")
    before = sorted(p.name for p in Path(place).iterdir())
    with pytest.raises(UpdateError, match=r"notes 3\.0\.0 is published at .* already"):
        updates.publish(built(tmp_path, "notes", V1), place, key=key, name="notes",
                        version="3.0.0")  # fmt: skip
    assert sorted(p.name for p in Path(place).iterdir()) == before


def test_the_update_settings_come_from_it_over_what_the_release_built_in(tmp_path, key):
    made = tmp_path / "update.json"
    made.write_text(
        json.dumps({"source": "/srv/share", "key": updates.public_text(key)}), encoding="utf-8"
    )
    found = updates.Source.find(Settings.load({}), made)
    assert found is not None and found.place == "/srv/share"
    moved = Settings.load({"DESKWORK_UPDATE_SOURCE": "https://intranet.example/tools"})
    assert updates.Source.find(moved, made).place == "https://intranet.example/tools"
    assert updates.Source.find(Settings.load({"DESKWORK_UPDATES": "no"}), made) is None
    assert updates.Source.find(Settings.load({}), None) is None  # nowhere to look
    with pytest.raises(UpdateError, match="no update_key says whose signature to trust"):
        updates.Source.find(Settings.load({"DESKWORK_UPDATE_SOURCE": "/srv/share"}), None)
    with pytest.raises(SettingError, match="is not a public key made by 'deskwork keys new'"):
        Settings.load({"DESKWORK_UPDATE_KEY": "c2hvcnQ="}).value("update_key")
    with pytest.raises(SettingError, match="neither a folder nor an http"):
        Settings.load({"DESKWORK_UPDATE_SOURCE": "ftp://x/y"}).value("update_source")


def test_the_running_tool_looks_in_the_background_and_asks_before_restarting(tmp_path, key):
    place = published_elsewhere(tmp_path, key, "share", version="2.0.0")
    tool = Tool("Notes")
    tool.table("notes", title=Text())
    desk = updates.Desk(tool, updates.Source(place, key.verify_key),
                        updates.Folder(tmp_path / "updates"))  # fmt: skip
    asked: list[tuple[str, str]] = []
    restarted = threading.Event()

    def ask(title: str, message: str) -> bool:
        asked.append((title, message))
        return True

    updates.watch(desk, lambda: True, ask, restarted.set, delay=0).join(30)
    assert restarted.is_set()
    said = (
        "Notes 2.0.0 is ready (you have 1.0.0). Restart now to use it? Otherwise it is put "
        "in place the next time Notes starts."
    )
    assert asked == [("Notes 2.0.0", said)]
    assert (tmp_path / "updates" / "pending.json").is_file()


def test_a_new_version_that_never_finishes_is_stopped_whole_and_rolled_back(tmp_path, key):
    place = str(tmp_path / "share")
    desk = Desk(tmp_path, key)
    hangs = (  # as a one-file program is: a process that starts another, which hangs
        f"#!{sys.executable}\nimport subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(307)'])\n"
        "time.sleep(307)\n"
    )
    updates.publish(built(tmp_path, "notes", hangs), place, key=key, name="notes",
                    version="2.0.0")  # fmt: skip
    desk.check(place)
    outcome = updates.apply_pending(
        desk.program, desk.updates, desk.key, name="notes", title="Notes", current="1.0.0",
        database=desk.database, keeper=desk.keeper, timeout=3,
    )  # fmt: skip
    assert outcome.rolled_back and "(it did not finish within 3 s)" in outcome.message
    assert desk.program.read_text(encoding="utf-8") == V1 and desk.titles() == ["a", "b", "c"]
    left = subprocess.run(["pgrep", "-f", "time.sleep\\(307\\)"], capture_output=True)
    assert left.stdout == b"", "a process of the stopped version is still running"
