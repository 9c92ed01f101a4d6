"""The native window: pywebview (GTK WebKit on Linux, WebView2 on Windows, WKWebView on macOS)."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskwork.desktop.settings import Settings

log = logging.getLogger("deskwork")

SELF_TEST_TIMEOUT = 60.0

#: A window's File menu: (title, action) pairs.
MenuItems = Sequence[tuple[str, Callable[[], None]]]

# Read the rendered home page: its <title> and its first heading.
_READ_PAGE = "JSON.stringify([document.title, (document.querySelector('h1') || {}).textContent])"


class NoDisplay(Exception):
    """There is no screen to open a window on, or no GUI toolkit to open it with."""


@dataclass
class SelfTestResult:
    ok: bool
    message: str
    first_paint: float | None = None  # seconds from DESKWORK_LAUNCH_STAMP to the loaded event


#: What to install for a window, by backend, when its Python binding is missing.
MISSING_BINDING = {
    "gtk": (
        "pywebview has no GTK binding here (for a window: pip install 'deskwork[gtk]', or "
        "on Debian/Ubuntu apt install python3-gi gir1.2-webkit2-4.1 and use a virtualenv "
        "made with --system-site-packages)"
    ),
    "qt": "pywebview has no Qt binding here (for a window: pip install 'deskwork[qt]')",
}
_BINDING_MODULE = {"gtk": "gi", "qt": "qtpy"}


def missing_binding(settings: Settings | None = None) -> str | None:
    """What to install for a window, if the chosen backend's Python binding is missing
    (on Windows and macOS pywebview's own dependencies bring theirs)."""
    gui = gui_name(settings)
    module = _BINDING_MODULE.get(gui or "")
    if module is not None and importlib.util.find_spec(module) is None:
        return MISSING_BINDING[gui]
    return None


def check_display(settings: Settings | None = None) -> None:
    """Raise ``NoDisplay`` (with the reason, and the remedy) if no window can open here."""
    settings = settings or Settings.load()
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise NoDisplay("no display found (DISPLAY and WAYLAND_DISPLAY are not set)")
    missing = missing_binding(settings)
    if missing is not None:
        raise NoDisplay(missing)
    try:
        from webview.guilib import initialize

        initialize(gui_name(settings))
    except Exception as error:  # pywebview raises its own and the toolkits' errors
        raise NoDisplay(f"no GUI toolkit could start ({error})") from error


def gui_name(settings: Settings | None = None) -> Any:  # pywebview's GUIType (a Literal)
    """The pywebview backend to use: the ``gui`` setting, else GTK on Linux, else the OS's."""
    chosen = (settings or Settings.load()).gui
    # On Linux, GTK: a onefile build is a third the size of one with Qt.
    return chosen or ("gtk" if sys.platform.startswith("linux") else None)


def run_window(
    title: str,
    url: str,
    *,
    icon: Path | None = None,
    background: Callable[[Any], None] | None = None,
    settings: Settings | None = None,
    on_window: Callable[[Any], None] | None = None,
    menu: MenuItems = (),
    html: str | None = None,
) -> None:
    """Make the tool's window for ``url`` (or showing ``html`` instead, a page of its own
    until ``url`` can be loaded), run the GUI and block until the window closes.

    Every window deskwork opens is made here, so ``--reload``'s has the settings of a
    normal run's. ``background(window)`` runs on a thread of its own once the GUI is up;
    ``on_window(window)`` is called as soon as the window is made (before the GUI runs);
    ``menu`` is the File menu's (title, action) items, each action run on a thread of its
    own (so it may open dialogs, which wait for the GUI thread).
    """
    import webview
    from webview.menu import Menu, MenuAction

    # Attached files download through the system's own save dialog (pywebview ignores
    # downloads otherwise). They come only from the tool's server, behind its secret.
    webview.settings["ALLOW_DOWNLOADS"] = True
    window = webview.create_window(
        title, None if html else url, html=html or "", width=1100, height=760,
        min_size=(480, 360), text_select=True,
    )  # fmt: skip
    if window is None:
        raise NoDisplay("pywebview could not create a window")
    if on_window is not None:
        on_window(window)
    menus = [Menu("File", [MenuAction(title, _on_a_thread(action)) for title, action in menu])]
    if menu:
        _menu_for_a_ready_app(menus)
    webview.start(
        background,
        (window,) if background else None,
        gui=gui_name(settings),
        icon=str(icon) if icon else None,
        private_mode=True,
        menu=menus if menu else [],
    )


def _menu_for_a_ready_app(menus: list[Any]) -> None:
    """GTK: ``check_display`` made pywebview's GTK application already (to find the
    display early), and pywebview adds the menu bar only to an application it makes in
    ``start``: give that one its menu bar when it starts."""
    gtk = sys.modules.get("webview.platforms.gtk")
    app = getattr(gtk, "_app", None)
    if gtk is None or app is None:
        return
    menubar = gtk.create_menu(menus)
    app.connect("startup", lambda started: started.set_menubar(menubar))


def _on_a_thread(action: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        threading.Thread(target=action, name="deskwork-menu", daemon=True).start()

    return run


def open_window(
    title: str,
    url: str,
    *,
    icon: Path | None = None,
    self_test: bool = False,
    expect_heading: str | None = None,
    check: Callable[[], str | None] | None = None,
    settings: Settings | None = None,
    on_window: Callable[[Any], None] | None = None,
    menu: MenuItems = (),
) -> SelfTestResult | None:
    """Show ``url`` in a native window and block until the window is closed.

    With ``self_test`` the window closes itself once the page has loaded and rendered,
    and the result says whether the page showed ``expect_heading`` and whether ``check``
    (run then) found nothing wrong.
    """
    settings = settings or Settings.load()
    result: list[SelfTestResult] = []
    started = time.monotonic()

    def run_self_test(win: Any) -> None:
        try:
            if not win.events.loaded.wait(SELF_TEST_TIMEOUT):
                result.append(SelfTestResult(False, "the page did not load within 60 s"))
                return
            stamp = settings.launch_stamp
            first_paint = time.time() - stamp if stamp else time.monotonic() - started
            page_title, heading = _read_page(win)
            if expect_heading is not None and heading != expect_heading:
                result.append(
                    SelfTestResult(
                        False, f"the page showed {heading!r}, not {expect_heading!r}", first_paint
                    )
                )
            elif check is not None and (problem := check()):
                result.append(SelfTestResult(False, problem, first_paint))
            else:
                result.append(
                    SelfTestResult(
                        True, f"{page_title!r} rendered in {first_paint:.2f} s", first_paint
                    )
                )
        except Exception as error:  # reported as a failed self-test, never a traceback
            result.append(SelfTestResult(False, f"the window failed: {error}"))
        finally:
            win.destroy()

    run_window(
        title, url, icon=icon, background=run_self_test if self_test else None,
        settings=settings, on_window=on_window, menu=menu,
    )  # fmt: skip
    if self_test:
        return result[0] if result else SelfTestResult(False, "the window closed by itself")
    return None


def bring_to_front(window: Any, timeout: float = 5.0) -> bool:
    """Un-minimise ``window`` and bring it above the others, with the keyboard's focus;
    whether that was done (a window not shown within ``timeout`` is not).

    Called from a server thread: every call here is run by pywebview on the GUI thread.
    GTK's ``restore`` deiconifies and ``present()``s the window; elsewhere ``show`` brings it
    forward (WinForms' ``Activate``, Cocoa's ``makeKeyAndOrderFront``). On GTK the answer
    waits until the GUI thread has done it, so the caller can tell the user it is done.
    """
    if not window.events.shown.wait(timeout):
        return False
    try:
        window.restore()
        gui: Any = window.gui  # the backend's module, such as webview.platforms.gtk
        if gui.__name__.endswith(".gtk"):
            _after_gui_work(gui.glib, timeout)
        else:
            window.show()
    except Exception:  # a window closing meanwhile: the request is answered, not failed
        log.warning("Could not bring the window to the front", exc_info=True)
        return False
    return True


def _after_gui_work(glib: Any, timeout: float) -> None:
    """Wait until the GTK main loop has run what was queued before this call (``glib``:
    GLib as pywebview's GTK backend imported it)."""
    import threading

    done = threading.Event()

    def mark() -> bool:
        done.set()
        return False  # once

    glib.idle_add(mark)
    done.wait(timeout)


def _read_page(win: Any) -> tuple[str, str]:
    import json

    raw = win.run_js(_READ_PAGE)  # run as is: evaluate_js wraps in eval, which the CSP forbids
    page_title, heading = json.loads(raw) if isinstance(raw, str) else (None, None)
    return str(page_title), str(heading)
