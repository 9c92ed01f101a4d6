"""Backups: whole dated copies, the newest kept, never half a file; restore gives back the
exact rows; a change of the tables is backed up first (issue 12)."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from test_cli import read_address, serve_and_visit

from conftest import DESKWORK, deskwork_env, run
from deskwork import Integer, Text, Tool
from deskwork.db.backups import NAME, BackupError, Backups, check
from deskwork.db.storage import Storage
from deskwork.errors import AlreadyOpen


def make_tool(*extra: str) -> Tool:
    tool = Tool("Stock", templates=None)
    fields = {"name": Text(required=True), "count": Integer()}
    fields.update({name: Text() for name in extra})
    tool.table_page("Items", tool.table("items", **fields))
    return tool


def items(path: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT name, count FROM items ORDER BY id").fetchall()


@pytest.fixture
def database(tmp_path) -> Path:
    path = tmp_path / "stock.sqlite3"
    Storage(path).prepare(make_tool())
    with Storage(path).open() as db, db.conn:
        db.table("items").insert_all([{"name": f"Item {i}", "count": i} for i in range(100)])
    return path


def test_a_backup_is_a_whole_dated_copy_and_the_newest_ten_are_kept(database):
    backups = Backups(database)
    first = backups.take()
    assert first.path.parent == database.parent / "backups"
    assert NAME.match(first.path.name) and first.why == "manual"
    assert items(first.path) == items(database)
    check(first.path)
    for _ in range(11):
        backups.take()
    kept = backups.all()
    assert len(kept) == 10 and first.path not in [b.path for b in kept]
    assert kept == sorted(kept, key=lambda b: (b.at, b.n), reverse=True)
    assert sorted(p.name for p in backups.folder.iterdir()) == sorted(b.path.name for b in kept)


def test_one_daily_backup_on_the_first_launch_of_a_day(database):
    backups = Backups(database, keep=3)
    assert backups.daily() is not None
    assert backups.daily() is None  # the second launch today
    (old,) = backups.all()
    yesterday = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%d_%H%M%S")
    old.path.rename(old.path.with_name(f"stock_{yesterday}_daily.sqlite3"))
    assert backups.daily() is not None  # a new day


def test_a_server_running_for_days_backs_up_once_on_each_new_day(database):
    from deskwork.desktop.team_server import DailyBackups

    day = [dt.date.today()]
    daily = DailyBackups(Backups(database), every=0.02, today=lambda: day[0])
    assert daily.once() is not None  # at start
    daily.start()
    try:
        time.sleep(0.3)
        assert len(daily.backups.all()) == 1  # the same day: no more
        day[0] += dt.timedelta(days=1)  # the server is still up the next morning
        deadline = time.monotonic() + 10
        while len(daily.backups.all()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        daily.stop()
    assert [b.why for b in daily.backups.all()][:2] == ["daily", "daily"]
    assert not daily._thread.is_alive()
    # two worker processes checking at the same moment on a new day: one backup
    import threading

    later = [DailyBackups(Backups(database), today=lambda: day[0] + dt.timedelta(days=1))
             for _ in range(2)]  # fmt: skip
    start = threading.Barrier(2)
    made: list[object] = []

    def check(worker: DailyBackups) -> None:
        start.wait()
        made.append(worker.once())

    threads = [threading.Thread(target=check, args=(w,)) for w in later]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len([m for m in made if m is not None]) == 1


def test_restore_gives_back_the_exact_rows_and_keeps_the_current_file_first(database):
    backups = Backups(database)
    saved = backups.take()
    before = items(database)
    with Storage(database).open() as db, db.conn:
        db.execute("DELETE FROM items WHERE count % 2 = 0")
        db.execute("UPDATE items SET name = 'changed'")
    changed = items(database)
    kept = backups.restore(saved.path)
    assert items(database) == before
    assert kept.why == "before-restore" and items(kept.path) == changed
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_restore_brings_back_the_data_but_keeps_todays_people_and_audit_trail(database):
    from deskwork.accounts import Accounts
    from deskwork.db import audit

    backups, storage = Backups(database), Storage(database)
    with storage.open() as db:
        Accounts(db).add("ada", "admin", "correct horse battery")
    saved = backups.take()
    with storage.open() as db, db.conn:
        db.table("items").insert({"name": "After", "count": 1})
    with storage.open() as db:
        Accounts(db).add("bea", "editor", "correct horse battery")
        Accounts(db).remove("ada")
        audit.record(db, "log-in", "bea", address="10.0.0.9")
        trail = [(e.event, e.who) for e in audit.recent(db)]
    kept = storage.restore(make_tool(), backups, saved.path)
    assert items(database) == items(saved.path)  # the data is the backup's
    with storage.open() as db:
        assert [a.name for a in Accounts(db).all()] == ["bea"]  # people are today's
        assert [(e.event, e.who) for e in audit.recent(db)] == trail  # the trail whole
    assert ("After", 1) in items(kept.path)
    assert sorted(p.name for p in backups.folder.iterdir()) == sorted(
        b.path.name for b in backups.all()
    )  # nothing half-made left behind


def test_nothing_saved_while_a_restore_runs_is_lost(database):
    """Another thread (or worker process) saving all along: each save is either refused,
    saying a restore is under way, or kept: in the copy taken before the restore, or in
    the database after it."""
    import threading

    from deskwork.db.connection import write_transaction
    from deskwork.errors import RestoreUnderWay

    backups, storage = Backups(database), Storage(database)
    saved = backups.take()
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def clerk() -> None:
        n = 0
        with storage.open() as db:
            while not stop.is_set():
                n += 1
                try:
                    with write_transaction(db) as conn:
                        conn.execute("INSERT INTO items (name, count) VALUES (?, ?)", [f"c{n}", n])
                except RestoreUnderWay as error:
                    assert "being restored: nothing was saved" in str(error)
                    refused.append(f"c{n}")
                    continue
                acknowledged.append(f"c{n}")

    worker = threading.Thread(target=clerk)
    worker.start()
    try:
        time.sleep(0.2)
        kept = storage.restore(make_tool(), backups, saved.path)
        time.sleep(0.2)
    finally:
        stop.set()
        worker.join(30)
    found = {name for name, _ in items(kept.path)} | {name for name, _ in items(database)}
    assert acknowledged and refused  # it saved before and after, and was refused during
    assert [n for n in acknowledged if n not in found] == []
    # no mark is left behind: saving goes on
    with storage.open() as db, write_transaction(db) as conn:
        conn.execute("INSERT INTO items (name, count) VALUES ('after', 1)")
    with closing(sqlite3.connect(kept.path)) as copy:
        names = {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}
    assert "_deskwork_restoring" not in names  # a backup never carries the mark


def test_a_restores_mark_left_by_a_process_that_died_stops_nothing(database, tmp_path):
    from deskwork.db.connection import restoring, write_transaction
    from deskwork.errors import RestoreUnderWay

    # a restore in another process, killed half-way: its mark stays, its lock goes
    script = tmp_path / "dies.py"
    script.write_text(
        "import os, sys\nfrom pathlib import Path\n"
        "from deskwork.db.connection import restoring\n"
        "with restoring(Path(sys.argv[1])):\n    os._exit(9)\n",
        encoding="utf-8",
    )
    died = subprocess.run([sys.executable, str(script), str(database)], capture_output=True,
                          encoding="utf-8")  # fmt: skip
    assert died.returncode == 9, died.stderr
    with closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT count(*) FROM _deskwork_restoring").fetchone() == (1,)
    with Storage(database).open() as db, write_transaction(db) as conn:
        conn.execute("INSERT INTO items (name, count) VALUES ('saved', 1)")
    assert ("saved", 1) in items(database)
    Storage(database).prepare(make_tool(), seed=False)  # the next launch takes the mark away
    with closing(sqlite3.connect(database)) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "_deskwork_restoring" not in names
    # one restore at a time, whichever process or thread asks
    with restoring(database):
        another = restoring(database)
        with pytest.raises(RestoreUnderWay, match="Another restore is under way"):
            another.__enter__()
        with (
            pytest.raises(RestoreUnderWay),
            Storage(database).open() as db,
            write_transaction(db) as conn,
        ):
            conn.execute("INSERT INTO items (name, count) VALUES ('during', 1)")
    assert ("during", 1) not in items(database)


def test_a_damaged_backup_is_refused_and_nothing_changes(database, tmp_path):
    backups = Backups(database)
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 2000)
    before = items(database)
    with pytest.raises(BackupError, match=r"not a database this tool can restore|damaged"):
        backups.restore(broken)
    with pytest.raises(BackupError, match="There is no backup at"):
        backups.restore(tmp_path / "missing.sqlite3")
    assert items(database) == before and backups.all() == []


def test_a_change_of_the_tables_is_backed_up_first(database):
    backups = Backups(database)
    Storage(database).prepare(make_tool(), backups=backups)
    assert backups.all() == []  # the same declarations: nothing to change, no backup
    Storage(database).prepare(make_tool("shelf"), backups=backups)
    (update,) = backups.all()
    assert update.why == "before-update"
    with closing(sqlite3.connect(update.path)) as db:  # the file as it was before
        columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
    assert "shelf" not in columns and items(update.path) == items(database)
    Storage(database).prepare(make_tool("shelf"), backups=backups)
    assert len(backups.all()) == 1


def test_a_backup_killed_mid_way_leaves_the_others_whole_and_no_half_backup(database):
    with Storage(database).open() as db, db.conn:  # big enough to be killed mid-copy
        db.table("items").insert_all(
            ({"name": "x" * 400, "count": i} for i in range(150_000)), batch_size=10_000
        )
    backups = Backups(database, keep=1000)
    earlier = [backups.take("daily"), backups.take("manual")]
    script = (
        "import sys\nfrom deskwork.db.backups import Backups\n"
        f"b = Backups({str(database)!r}, keep=1000)\n"
        "print('ready', flush=True)\n"
        "while True:\n    b.take('manual')\n"
    )
    interrupted = 0
    for attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, encoding="utf-8"
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        child.stdout.close()
        time.sleep(0.3 + attempt * 0.17)
        child.send_signal(signal.SIGKILL)
        child.wait()
        interrupted += bool(list(backups.folder.glob(".*.partial")))
    assert interrupted >= 1, "no kill landed mid-backup"
    found = backups.all()
    assert {b.path for b in earlier} <= {b.path for b in found}
    for backup in found:
        check(backup.path)  # every file with a backup's name is whole
    backups.take()  # the next backup sweeps the dead processes' half files away
    assert list(backups.folder.glob(".*.partial")) == []
    print(f"\n5 kills, {interrupted} mid-backup; {len(found)} backups, all whole")


# -- at launch, and the deskwork command --------------------------------------------------

TOOL_FILE = """\
from deskwork import Integer, Text, Tool

tool = Tool("Stock", templates=None)
items = tool.table("items", name=Text(required=True), count=Integer(){extra})
tool.table_page("Items", items)


@tool.seed
def some(db):
    db["items"].insert_all([{{"name": "Bolts", "count": 12}}, {{"name": "Nuts", "count": 40}}])
"""


def write_tool(folder: Path, extra: str = "") -> Path:
    path = folder / "stock.py"
    path.write_text(TOOL_FILE.format(extra=extra), encoding="utf-8")
    return path


def launch_once(tool_file: Path, data_dir: Path) -> None:
    command = [str(DESKWORK), "run", str(tool_file), "--browser"]
    _, status, _ = serve_and_visit(command, deskwork_env(data_dir), "/tables/items")
    assert status == 200


def test_the_first_launch_of_a_day_and_a_change_of_the_tables_back_up(tmp_path, data_dir):
    tool_file = write_tool(tmp_path)
    launch_once(tool_file, data_dir)
    backups = Backups(data_dir / "stock" / "stock.sqlite3")
    assert [b.why for b in backups.all()] == ["daily"]
    launch_once(tool_file, data_dir)  # the same day: no second one
    assert [b.why for b in backups.all()] == ["daily"]
    write_tool(tmp_path, extra=", shelf=Text()")  # the author adds a field
    launch_once(tool_file, data_dir)
    assert [b.why for b in backups.all()] == ["before-update", "daily"]
    log = (data_dir / "logs" / "stock.log").read_text(encoding="utf-8")
    assert "before updating its tables" in log


def test_deskwork_backup_and_restore_by_number(tmp_path, data_dir):
    tool_file = write_tool(tmp_path)
    database = tmp_path / "mine.sqlite3"
    env = deskwork_env(data_dir)
    Storage(database).prepare(make_tool())  # same table as the tool file's
    with Storage(database).open() as db, db.conn:
        db.table("items").insert_all([{"name": "Bolts", "count": 12}])
    done = run([str(DESKWORK), "backup", str(tool_file), "--db", str(database)], env=env)
    assert done.stdout.startswith("Backed up Stock: ") and "_manual.sqlite3" in done.stdout
    with Storage(database).open() as db, db.conn:
        db.execute("UPDATE items SET count = 0")
    listed = run([str(DESKWORK), "restore", str(tool_file), "--db", str(database)], env=env)
    assert " 1. " in listed.stdout and "manual" in listed.stdout
    # The hint names the same file: following it restores this database, not the default one.
    hint = listed.stdout.strip().splitlines()[-1]
    assert hint == f"Restore one with:  deskwork restore {tool_file} --db {database} NUMBER"
    restored = run([str(DESKWORK), "restore", str(tool_file), "1", "--db", str(database)], env=env)
    assert "Restored Stock from mine_" in restored.stdout
    assert items(database) == [("Bolts", 12)]
    kept = [b for b in Backups(database).all() if b.why == "before-restore"]
    assert len(kept) == 1 and items(kept[0].path) == [("Bolts", 0)]


def test_restore_is_refused_while_the_tool_is_open(tmp_path, data_dir):
    tool_file = write_tool(tmp_path)
    env = deskwork_env(data_dir)
    running = subprocess.Popen(
        [str(DESKWORK), "run", str(tool_file), "--browser"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
    )  # fmt: skip
    try:
        read_address(running)
        backup = Backups(data_dir / "stock" / "stock.sqlite3").all()[0]
        refused = subprocess.run(
            [str(DESKWORK), "restore", str(tool_file), str(backup.path)], env=env,
            capture_output=True, encoding="utf-8",
        )  # fmt: skip
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=30)
    assert refused.returncode == AlreadyOpen.exit_code
    assert "Stock is open: close it first, or use Restore… in its File menu." in refused.stderr


def test_restoring_the_oldest_backup_restores_it_before_anything_is_pruned(database):
    backups = Backups(database, keep=3)
    oldest = backups.take("daily")
    before = items(database)
    with Storage(database).open() as db, db.conn:
        db.execute("DELETE FROM items")
    backups.take("manual")
    backups.take("manual")
    kept = backups.restore(oldest.path)  # the before-restore copy makes four
    assert items(database) == before  # not an empty file made where a pruned one was
    assert items(kept.path) == []
    for backup in backups.all():
        check(backup.path)


def test_a_change_refused_at_every_launch_backs_up_once(database):
    backups = Backups(database, keep=3)
    backups.take("daily")
    for _ in range(4):  # the same refused change, launch after launch: the file unchanged
        backups.before_update()
    assert sorted(b.why for b in backups.all()) == ["before-update", "daily"]
    time.sleep(1.1)
    with Storage(database).open() as db, db.conn:
        db.execute("UPDATE items SET count = count + 1")  # it was used meanwhile
    assert backups.before_update() is not None


def test_the_newest_of_each_kind_outlives_the_count(database):
    backups = Backups(database, keep=2)
    backups.take("daily")
    backups.take("before-update")
    for _ in range(4):
        backups.take("manual")
    assert sorted(b.why for b in backups.all()) == [
        "before-update", "daily", "manual", "manual"
    ]  # fmt: skip


def test_deskwork_backup_demo_and_restore_demo_need_no_file_path(tmp_path, data_dir):
    env = deskwork_env(data_dir)
    database = data_dir / "expenses" / "expenses.sqlite3"
    never_opened = subprocess.run(
        [str(DESKWORK), "backup", "demo"], env=env, cwd=tmp_path, capture_output=True,
        encoding="utf-8",
    )  # fmt: skip
    assert never_opened.returncode == BackupError.exit_code
    assert f"There is no database at {database} to back up." in never_opened.stderr
    from deskwork.demo import tool as demo_tool

    Storage(database).prepare(demo_tool)  # as its first launch does
    done = run([str(DESKWORK), "backup", "demo"], env=env, cwd=tmp_path)
    assert done.stdout.startswith("Backed up Expenses: "), done.stdout + done.stderr
    listed = run([str(DESKWORK), "restore", "demo"], env=env, cwd=tmp_path)
    assert "Backups of Expenses in " in listed.stdout and "manual" in listed.stdout
    assert listed.stdout.strip().endswith("Restore one with:  deskwork restore demo NUMBER")
    restored = run([str(DESKWORK), "restore", "demo", "1"], env=env, cwd=tmp_path)
    assert restored.stdout.startswith("Restored Expenses from expenses_"), restored.stderr
    assert [b.why for b in Backups(database).all()].count("before-restore") == 1
