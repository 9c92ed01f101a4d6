"""Open a served tool in the native window as staff do (``deskwork.desktop.connect``),
log in and save a new expense through it.

    python tests/window_connect_driver.py URL NAME PASSWORD

Run by tests/test_connect.py under Xvfb. If the server can't be reached at first, prints
``waiting: <the page's heading>`` and waits for the server's log-in page to open by itself;
then logs in, saves, and prints what it saw as one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from deskwork.desktop.cli import exit_when_closed
from deskwork.desktop.connect import connect

NOTE = "Saved through deskwork connect"


def until(win: Any, script: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = win.run_js(script)
        except Exception:  # a page being replaced meanwhile
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(script)


HEADING = "(document.querySelector('h1') || {}).textContent"
ALERT = "(document.querySelector('[role=alert]') || {}).textContent"
WHO = "(document.querySelector('.who span') || {}).textContent"


def drive(win: Any, url: str, name: str, password: str) -> None:
    report: dict[str, Any] = {}
    try:
        win.events.loaded.wait(60)
        heading = until(win, HEADING)
        if "can't be reached" in heading:
            report["waited"] = heading
            report["reason"] = until(
                win, "(document.querySelector('[role=alert]')||{}).textContent"
            )
            print(f"waiting: {heading}", flush=True)
            until(win, f"{HEADING}.startsWith('Log in')", 120)
        report["first page"] = until(win, HEADING)
        win.run_js(
            f"document.getElementById('log-in-name').value = {json.dumps(name)};"
            f"document.getElementById('log-in-password').value = {json.dumps(password)};"
            "document.querySelector('form.log-in').requestSubmit();"
        )
        report["logged in as"] = until(
            win, "(document.querySelector('.who span') || {}).textContent"
        )
        win.load_url(f"{url}forms/new-expense")
        until(win, "!!document.getElementById('f-amount')")
        win.run_js(
            "document.getElementById('f-amount').value = '12.30';"
            "document.getElementById('f-category').value = 'Office';"
            f"document.getElementById('f-note').value = {json.dumps(NOTE)};"
            "document.querySelector('[name=employee]').value = '1';"
            "document.querySelector('form.record').requestSubmit();"
        )
        report["saved"] = until(win, "(document.querySelector('p.flash') || {}).textContent")
    except Exception as error:
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        print(json.dumps(report), flush=True)
        win.destroy()


def main() -> None:
    url, name, password = sys.argv[1:4]
    code = connect(url, title="Expenses", on_window=lambda win: threading.Thread(
        target=drive, args=(win, url, name, password), daemon=True).start())  # fmt: skip
    exit_when_closed(code)  # as deskwork connect ends: past a thread pywebview leaves waiting


if __name__ == "__main__":
    main()
