"""Use the window's File menu ("Back up now", "Restore…") in a real pywebview window.

    python tests/window_menu_driver.py DATABASE

Run by tests/test_window.py under Xvfb. The menu's items are GTK application actions:
they are activated as a click on them would (on the GUI thread). The system's open and
confirmation dialogs are answered by stand-ins that note what they were asked (a
keyboard can't be relied on to reach them under Xvfb). Prints what it saw as one JSON
line.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from deskwork import Integer, Text, Tool
from deskwork.desktop.launch import ToolServing, serve
from deskwork.desktop.settings import Settings

tool = Tool("Stock", templates=None)
items = tool.table("items", name=Text(required=True), count=Integer())
tool.table_page("Items", items)


def names(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        return [n for (n,) in db.execute("SELECT name FROM items ORDER BY id")]


def until(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(str(check))


def click(title: str) -> None:
    """Activate the File menu's item ``title``, as a click on it does."""
    import webview.platforms.gtk as gtk
    from gi.repository import GLib

    name = f"_File_{title}".replace(" ", "_")
    assert name in gtk._app_actions, sorted(gtk._app_actions)
    GLib.idle_add(lambda: gtk._app.activate_action(name, None))


def drive(serving: ToolServing, database: Path, report: dict[str, Any]) -> None:
    try:
        win = until(lambda: serving.window, 30)
        win.events.loaded.wait(30)
        asked: list[str] = []
        chosen: list[str] = []
        win.create_confirmation_dialog = lambda title, message: asked.append(title) or True
        win.create_file_dialog = lambda *args, **kwargs: list(chosen)

        assert serving.backups is not None
        click("Back up now")
        manual = until(lambda: [b for b in serving.backups.all() if b.why == "manual"])[0]
        report["backed up"] = manual.path.name
        report["told"] = list(asked)

        with closing(sqlite3.connect(database)) as db, db:
            db.execute("INSERT INTO items (name, count) VALUES ('Added after the backup', 1)")
        report["before restore"] = names(database)
        chosen.append(str(manual.path))
        loads = win.events.loaded.is_set()
        win.events.loaded.clear()
        click("Restore…")
        until(lambda: "Restored" in asked)
        report["after restore"] = names(database)
        report["asked"] = list(asked)
        report["reloaded"] = loads and win.events.loaded.wait(20)
        report["page"] = win.run_js("document.querySelector('h1').textContent")
        report["kept"] = sorted(b.why for b in serving.backups.all())
    except Exception as error:
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        if serving.window is not None:
            serving.window.destroy()


def main() -> None:
    database = Path(sys.argv[1])
    serving = ToolServing(tool, database, Settings.load())
    report: dict[str, Any] = {}
    threading.Thread(target=drive, args=(serving, database, report), daemon=True).start()
    code = serve(serving, browser=False, self_test=False, icon=None, echo=print)
    report["exit"] = code
    print(json.dumps(report))


if __name__ == "__main__":
    main()
