"""Fill in and save "New expense" of the tests' tool (fixture_tool) in a real pywebview window
(GTK WebKit), as a person would.

    python tests/window_forms_driver.py DATABASE

Run by tests/test_window.py under Xvfb. Types into the Employee lookup, picks the first
match with Enter (deskwork.js in WebKitGTK), saves with the form's own submit, waits for
the table page, and prints what it saw as one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import webview

from deskwork.app import create_app
from deskwork.db.storage import Storage
from deskwork.desktop.server import ServerThread
from fixture_tool import tool

NOTE = "Typed in the native window"


def until(win: Any, script: str, seconds: float = 20) -> Any:
    """Poll the page until ``script`` gives something true (the page works on its own)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = win.run_js(script)
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(script)


def drive(win: Any, server: ServerThread, report: dict[str, Any]) -> None:
    try:
        win.events.loaded.wait(30)
        win.load_url(f"{server.url}forms/new-expense")
        win.events.loaded.wait(30)
        win.run_js(
            "document.getElementById('f-amount').value = '77.10';"
            "document.getElementById('f-category').value = 'Office';"
            f"document.getElementById('f-note').value = {json.dumps(NOTE)};"
            "var e = document.getElementById('f-employee'); e.focus(); e.value = 'hana';"
            "e.dispatchEvent(new Event('input', {bubbles: true}));"
        )
        report["first match"] = until(
            win, "(document.querySelector('#f-employee-list [role=option]') || {}).textContent"
        )
        win.run_js(
            "document.getElementById('f-employee').dispatchEvent("
            "new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));"
        )
        report["picked id"] = win.run_js("document.querySelector('[name=employee]').value")
        report["shown"] = win.run_js("document.getElementById('f-employee').value")
        win.run_js("document.querySelector('form.record').requestSubmit();")
        report["landed on"] = until(
            win,
            "location.pathname === '/tables/expenses' && document.readyState === 'complete'"
            " && document.querySelector('[role=status]').textContent",
        )
        # pywebview injects its script after each load on a thread of its own, which
        # waits for ever (and holds the process open) if the window goes first.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            "generate_js_object" in t.name for t in threading.enumerate()
        ):
            time.sleep(0.05)
    except Exception as error:  # reported, never hidden
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        win.destroy()


def main() -> None:
    database = Path(sys.argv[1])
    storage = Storage(database)
    storage.prepare(tool)
    storage.hold()
    server = ServerThread()
    server.set_app(create_app(tool, storage, secret="window-test", port=server.port))
    report: dict[str, Any] = {}
    with server:
        window = webview.create_window("Expenses", f"{server.url}?token=window-test")
        webview.start(drive, (window, server, report), gui="gtk", private_mode=True)
    storage.let_go()
    with storage.open() as db:
        report["saved"] = [
            dict(r)
            for r in db.query(
                "SELECT e.amount, e.category, m.name FROM expenses e "
                "JOIN employees m ON m.id = e.employee WHERE e.note = ?",
                [NOTE],
            )
        ]
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
