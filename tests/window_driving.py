"""What the window drivers (``window_*_driver.py``) share: waiting on a condition, a click
on the File menu, and a launch as users run it whose window a function drives on a
thread of its own, printing what it saw as one JSON line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deskwork import Tool
from deskwork.desktop.launch import ToolServing, serve
from deskwork.desktop.settings import Settings

Report = dict[str, Any]


def until(check: Callable[[], Any], seconds: float = 30) -> Any:
    """``check()``'s first true value, asked every 20 ms for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(str(check))


def click_menu(title: str) -> None:
    """Activate the File menu's item ``title``, as a click on it does (on the GUI
    thread: the menu's items are GTK application actions)."""
    import webview.platforms.gtk as gtk
    from gi.repository import GLib

    name = f"_File_{title}".replace(" ", "_")
    assert name in gtk._app_actions, sorted(gtk._app_actions)
    GLib.idle_add(lambda: gtk._app.activate_action(name, None))


def drive_window(tool: Tool, database: Path, drive: Callable[[ToolServing, Report], None],
                 before: Callable[[ToolServing], None] | None = None) -> None:  # fmt: skip
    """Launch ``tool`` on ``database`` in its window, as ``deskwork run`` does; on a thread,
    ``before`` (if any), then ``drive`` once the window has loaded its page. Any error
    goes into the report; the window is closed after; the report is printed."""
    serving = ToolServing(tool, database, Settings.load())
    report: Report = {}

    def run() -> None:
        try:
            if before is not None:
                before(serving)
            win = until(lambda: serving.window)
            win.events.loaded.wait(30)
            drive(serving, report)
        except Exception as error:
            report["error"] = f"{type(error).__name__}: {error}"
        finally:
            if serving.window is not None:
                serving.window.destroy()

    threading.Thread(target=run, daemon=True).start()
    report["exit"] = serve(serving, browser=False, self_test=False, icon=None, echo=print)
    print(json.dumps(report))
