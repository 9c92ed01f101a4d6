"""Print from a real pywebview window: the File menu's "Print…" and a report's Print
button each ask for the system's print dialog, on a live page (whose open event stream
WebKit would otherwise take for a page still loading, and hold the print back).

    python tests/window_print_driver.py DATABASE

Run by tests/test_window.py under Xvfb. WebKit emits its "print" signal before it shows
the print dialog; the driver notes each, lets the dialog open, finds it among the
application's windows and cancels it (a keyboard can't be relied on to reach it under
Xvfb). Prints what it saw as one JSON line.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from window_driving import Report, click_menu, drive_window, until

from deskwork import Count, Date, Money, Sum, Tool
from deskwork.desktop.serving import ToolServing

tool = Tool("Ledger", templates=None)
entries = tool.table("entries", day=Date(required=True), amount=Money(required=True))
entries_page = tool.table_page("Entries", entries)
tool.table_report("Totals by month", entries_page, by="day.month",
                  values={"total": Sum("amount"), "entries": Count()})  # fmt: skip


@tool.seed
def seed(db: Any) -> None:
    db.table("entries").insert_all({"day": f"2026-0{m}-15", "amount": m * 1000} for m in (1, 2, 3))


def watch_printing(win: Any, seen: list[str]) -> None:
    """Note each print request, and cancel each print dialog once it shows."""
    import webview.platforms.gtk as gtk
    from gi.repository import GLib, Gtk

    view = gtk.BrowserView.instances[win.uid].webview

    def asked(_view: Any, _operation: Any) -> bool:
        seen.append("print requested")
        GLib.timeout_add(100, cancel_dialog)
        return False  # WebKit goes on to show the print dialog

    def cancel_dialog() -> bool:
        for window in Gtk.Window.list_toplevels():
            if window.__gtype__.name == "GtkPrintUnixDialog" and window.get_visible():
                seen.append(f"dialog: {window.get_title()}")
                window.response(Gtk.ResponseType.CANCEL)
                return False
        return True  # not shown yet: look again

    GLib.idle_add(lambda: view.connect("print", asked) and False)


def drive(serving: ToolServing, report: Report) -> None:
    win = serving.window
    seen: list[str] = []
    watch_printing(win, seen)
    win.events.loaded.clear()
    win.load_url(serving.url + "reports/totals-by-month")  # a live page: it listens
    win.events.loaded.wait(30)
    until(lambda: win.run_js("document.body.dataset.events || ''"))
    click_menu("Print…")
    until(lambda: any(s.startswith("dialog") for s in seen))
    report["menu"] = list(seen)
    seen.clear()
    report["button"] = win.run_js("document.querySelector('[data-print]').textContent")
    threading.Thread(target=win.run_js, daemon=True, args=(
        "document.querySelector('[data-print]').click()",)).start()  # fmt: skip
    until(lambda: any(s.startswith("dialog") for s in seen))
    report["report"] = list(seen)


if __name__ == "__main__":
    drive_window(tool, Path(sys.argv[1]), drive)
