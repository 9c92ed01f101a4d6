"""Use the window's File menu ("Back up now", "Restore…") in a real pywebview window.

    python tests/window_menu_driver.py DATABASE

Run by tests/test_window.py under Xvfb. The menu's items are GTK application actions:
they are activated as a click on them would (on the GUI thread). The system's open and
confirmation dialogs are answered by stand-ins that note what they were asked (a
keyboard can't be relied on to reach them under Xvfb). Prints what it saw as one JSON
line.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from window_driving import Report, click_menu, drive_window, until

from deskwork import Integer, Text, Tool
from deskwork.desktop.serving import ToolServing

tool = Tool("Stock", templates=None)
items = tool.table("items", name=Text(required=True), count=Integer())
tool.table_page("Items", items)


def names(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        return [n for (n,) in db.execute("SELECT name FROM items ORDER BY id")]


def drive(serving: ToolServing, report: Report) -> None:
    database = serving.database
    win = serving.window
    asked: list[str] = []
    chosen: list[str] = []
    win.create_confirmation_dialog = lambda title, message: asked.append(title) or True
    win.create_file_dialog = lambda *args, **kwargs: list(chosen)

    assert serving.backups is not None
    click_menu("Back up now")
    manual = until(lambda: [b for b in serving.backups.all() if b.why == "manual"])[0]
    report["backed up"] = manual.path.name
    until(lambda: asked)  # the window says so once the backup is made, not as it appears
    report["told"] = list(asked)

    with closing(sqlite3.connect(database)) as db, db:
        db.execute("INSERT INTO items (name, count) VALUES ('Added after the backup', 1)")
    report["before restore"] = names(database)
    chosen.append(str(manual.path))
    loads = win.events.loaded.is_set()
    win.events.loaded.clear()
    click_menu("Restore…")
    until(lambda: "Restored" in asked)
    report["after restore"] = names(database)
    report["asked"] = list(asked)
    report["reloaded"] = loads and win.events.loaded.wait(20)
    report["page"] = win.run_js("document.querySelector('h1').textContent")
    report["kept"] = sorted(b.why for b in serving.backups.all())


if __name__ == "__main__":
    drive_window(tool, Path(sys.argv[1]), drive)
