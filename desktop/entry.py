"""The one entry point of every deskwork process: the ``deskwork`` command and every built
executable run their click command through ``run_command``.

Every way a command can end is mapped here to a message and an exit code, once:

* click's own endings (``--help``, a usage error, Ctrl+C) as click shows them;
* a ``DeskworkError``: its message, and its class's ``exit_code``;
* anything else: a plain message naming the log file, and exit code 1.

The message goes to stderr. A process with no console (a windowed build on Windows, whose
``sys.stdout`` and ``sys.stderr`` are None; a Linux or macOS build started from a file
manager with its output closed) shows it in a native message box instead
(``show_message_box``). The traceback goes to the log file only, and errors raised before
the tool's log was opened (a tool file that fails to load) go to a log named after the
command. Uncaught exceptions of any thread reach the log too (``install_excepthooks``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import click

from deskwork.errors import DeskworkError

log = logging.getLogger("deskwork")

MessageBox = Callable[[str, str], None]

# Windows' MessageBoxW flags: an error icon, and the box comes to the foreground.
MB_ICONERROR = 0x10
MB_SETFOREGROUND = 0x10000


def run_command(
    command: click.Command,
    *,
    name: str,
    title: str | None = None,
    args: list[str] | None = None,
) -> NoReturn:
    """Run ``command`` (called ``name``: the log file of errors raised before a tool's own
    is opened; ``title`` heads a message box) and end the process with its exit code."""
    install_excepthooks()
    title = title or name
    try:
        result = command.main(args=args, prog_name=name, standalone_mode=False)
        code = result if isinstance(result, int) else 0  # --help, --version: click's Exit
    except click.ClickException as error:
        error.show()
        code = error.exit_code
        if not _has_console():
            _tell(title, error.format_message())
    except click.Abort:
        click.echo("Aborted.")
        code = 1
    except DeskworkError as error:
        code = report(error, str(error), error.exit_code, name=name, title=title)
    except Exception as error:
        where = _ensure_log(name)
        details = f" The details are in {where}." if where else ""
        what = f"{type(error).__name__}: {error}"
        message = f"{title} stopped on an unexpected error ({what}).{details}"
        code = report(error, message, 1, name=name, title=title)
    sys.exit(code)


def report(error: BaseException, message: str, code: int, *, name: str, title: str) -> int:
    """Log ``error`` with its traceback, tell the person ``message``; return ``code``."""
    if _ensure_log(name) is not None:
        log.error("Stopped: %s", message, exc_info=error)
    click.echo(f"Error: {message}", err=True)  # nothing, with no console
    if not _has_console() and not getattr(error, "shown_in_window", False):
        _tell(title, message)
    return code


def _tell(title: str, message: str) -> None:
    where = _ensure_log(None)
    text = message
    if where is not None and str(where) not in message:
        text += f"\n\nThe details are in {where}."
    try:
        show_message_box(title, text)  # a module global: a test may put a recorder there
    except Exception:
        log.warning("The message box could not be shown", exc_info=True)


def _has_console() -> bool:
    from deskwork.desktop.launch import has_console

    return has_console()


def _ensure_log(name: str | None) -> Path | None:
    """The log file in use; opened as ``<name>.log`` if none is yet (and ``name`` given)."""
    from deskwork.desktop.launch import current_log_file, setup_logging

    current = current_log_file()
    if current is not None or name is None:
        return current
    try:
        return setup_logging(name)
    except Exception:  # no log can be written: the message still reaches the person
        return None


def show_message_box(title: str, message: str) -> None:
    """Show ``message`` in the system's own error box and wait until it is closed.

    Windows: ``MessageBoxW``. macOS: ``osascript``'s ``display alert``. Linux and the BSDs:
    ``zenity``, else ``kdialog``, else ``xmessage``, whichever is installed, on the
    display the session has; with none of them (or no display) only the log has it.
    """
    if sys.platform == "win32":
        import ctypes

        ctypes.windll.user32.MessageBoxW(None, message, title, MB_ICONERROR | MB_SETFOREGROUND)
        log.info("Shown in a message box: %s", message)
        return
    command = message_box_command(title, message)
    if command is None:
        log.info("No message box can be shown here (no display, or no dialog program)")
        return
    subprocess.run(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    log.info("Shown in a message box (%s): %s", Path(command[0]).name, message)


def message_box_command(title: str, message: str) -> list[str] | None:
    """The command that shows an error box on macOS, Linux or a BSD; None if none can."""
    if sys.platform == "darwin":
        alert = "display alert (item 1 of argv) message (item 2 of argv) as critical"
        return ["osascript", "-e", "on run argv", "-e", alert, "-e", "end run", title, message]
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    if zenity := shutil.which("zenity"):
        return [zenity, "--error", "--no-markup", f"--title={title}", f"--text={message}"]
    if kdialog := shutil.which("kdialog"):
        return [kdialog, "--title", title, "--error", message]
    if xmessage := shutil.which("xmessage"):
        return [xmessage, "-center", "-title", title, f"{title}\n\n{message}"]
    return None


_previous_hooks: tuple[Any, Any] | None = None


def install_excepthooks() -> None:
    """Send uncaught exceptions of the main thread and of every other thread to the log
    (then to whatever hook was there before, which prints them if there is a console)."""
    global _previous_hooks
    if _previous_hooks is not None:
        return
    _previous_hooks = sys.excepthook, threading.excepthook
    previous_main, previous_thread = _previous_hooks

    def main_hook(
        kind: type[BaseException], value: BaseException, traceback: TracebackType | None
    ) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("Uncaught exception", exc_info=(kind, value, traceback))
        previous_main(kind, value, traceback)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit and args.exc_value is not None:
            name = args.thread.name if args.thread is not None else "?"
            log.error(
                "Uncaught exception in thread %s", name,
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )  # fmt: skip
        previous_thread(args)

    sys.excepthook = main_hook
    threading.excepthook = thread_hook
