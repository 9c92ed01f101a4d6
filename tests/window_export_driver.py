"""Export a table page's rows from a real pywebview window (GTK WebKit), as a person would.

    python tests/window_export_driver.py DATABASE FOLDER

Run by tests/test_window.py under Xvfb, through the launch users run (``serve``). The
system's save dialog is a stand-in that notes what it was asked and answers with a path in
FOLDER (a keyboard can't be relied on to reach it under Xvfb); the writing is real, slowed
a little per batch of rows so that its progress can be seen. Clicks "Export CSV", goes to
another page while it runs, then exports again and cancels. Prints what it saw as one JSON
line.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from window_driving import Report, drive_window, until

from deskwork import Money, Text, Tool, exports
from deskwork.desktop.serving import ToolServing

ROWS = 20_000

tool = Tool("Stock", templates=None)
items = tool.table("items", name=Text(required=True), price=Money())
tool.table_page("Items", items)


def slowed(batches: Any) -> Any:
    for batch in batches:
        time.sleep(0.01)
        yield batch


def drive(serving: ToolServing, folder: Path, report: Report) -> None:
    win = serving.window
    asked: list[dict[str, Any]] = []

    def save_dialog(*args: Any, **kwargs: Any) -> tuple[str]:
        asked.append({"args": [str(a) for a in args], **kwargs})
        return (str(folder / kwargs["save_filename"]),)

    win.create_file_dialog = save_dialog
    bar = "document.querySelector('[data-export-status]')"
    said = f"{bar}.querySelector('[data-export-text]').textContent"
    win.load_url(f"{serving.url}tables/items")
    heading = "(document.querySelector('h1') || {}).textContent"
    until(lambda: win.run_js(heading) == "Items")
    report["links"] = win.run_js(
        "Array.from(document.querySelectorAll('a[data-export]')).map(a => a.textContent)"
    )
    win.run_js("document.querySelector('a[data-export]').click()")
    seen = until(lambda: win.run_js(f"{bar}.hidden ? '' : {said}"))
    report["dialog"] = asked
    running = until(lambda: win.run_js(
        f"{bar}.dataset.state === 'running' && {bar}.querySelector('progress').value > 0 "
        f"? [{bar}.querySelector('[data-export-text]').textContent, "
        f"{bar}.querySelector('progress').value, {bar}.querySelector('progress').max] : ''"
    ))  # fmt: skip
    report["first text"] = seen
    report["running"] = running
    # The window stays usable: another page opens, and shows the export going on.
    win.load_url(f"{serving.url}")
    until(lambda: win.run_js("document.readyState") == "complete")
    report["elsewhere"] = until(lambda: win.run_js(
        f"{bar} && !{bar}.hidden ? [document.querySelector('h1').textContent, "
        f"{bar}.dataset.state] : ''"
    ))  # fmt: skip
    report["done"] = until(
        lambda: win.run_js(f"{bar}.dataset.state === 'done' ? {said} : ''"),
        60,
    )
    saved = folder / asked[0]["save_filename"]
    report["file"] = saved.name
    written = saved.read_bytes().decode("utf-8-sig")
    report["lines"] = written.count("\r\n")
    report["head"] = written.split("\r\n")[:2]

    # Again, to a file that exists, cancelled half-way: the file is left as it was.
    saved.write_text("kept", encoding="utf-8")
    win.load_url(f"{serving.url}tables/items")
    until(lambda: win.run_js(f"{bar} !== null && document.readyState === 'complete'"))
    time.sleep(exports.TOLD_FOR_S + 0.5)  # the last export's outcome is no longer told
    win.run_js("document.querySelector('a[data-export]').click()")
    until(lambda: win.run_js(f"{bar}.dataset.state === 'running'"))
    win.run_js(f"{bar}.querySelector('button').click()")
    report["cancelled"] = until(
        lambda: win.run_js(f"{bar}.dataset.state === 'cancelled' ? {said} : ''")
    )
    report["after cancel"] = saved.read_text(encoding="utf-8")
    report["folder"] = sorted(p.name for p in folder.iterdir())


def main() -> None:
    database, folder = Path(sys.argv[1]), Path(sys.argv[2])
    real = exports.Sheet.batches
    exports.Sheet.batches = lambda self: slowed(real(self))  # type: ignore[method-assign]
    exports.BATCH = 100
    exports.TOLD_FOR_S = 2.0

    def fill(serving: ToolServing) -> None:  # the rows, once the tool has made its table
        until(lambda: serving.storage is not None, 30)
        with closing(sqlite3.connect(database)) as db, db:
            db.executemany("INSERT INTO items (name, price) VALUES (?, ?)",
                           [(f"Item {i}", i * 7) for i in range(ROWS)])  # fmt: skip

    drive_window(tool, database, lambda serving, report: drive(serving, folder, report), fill)


if __name__ == "__main__":
    main()
