"""The entry point of a built executable: the tool's (or the app's) own command line.

``deskwork build`` writes a two-line script that calls ``main("tool_module")``;
PyInstaller freezes that script (and the module, named in the spec's hidden imports). The
module is imported inside ``main``, so a tool that fails to import is reported like any
other error (``deskwork.desktop.entry``): a windowed build never fails silently. For a
plain Flask app the script first calls ``use_data_folder`` (before the app is made: its
instance folder is then in the user data folder), then
``main_app("app_module", attribute, settings, name)``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import click

from deskwork import __version__
from deskwork.desktop.cli import exit_when_closed, launch_options, open_tool
from deskwork.desktop.entry import run_command
from deskwork.desktop.hosting import AppConfig, use_data_folder
from deskwork.errors import DeskworkError
from deskwork.loader import failed_to_load, find_app, find_tool

__all__ = ["main", "main_app", "use_data_folder"]


def bundled(name: str) -> Path | None:
    """A file PyInstaller unpacked beside the code (``sys._MEIPASS``), if there."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent))
    path = base / name
    return path if path.is_file() else None


def executable_name() -> str:
    """The executable's own name (``expenses``, ``expenses.exe``'s ``expenses``): the
    log file of errors raised before the tool is found."""
    return Path(sys.argv[0] if sys.argv and sys.argv[0] else sys.executable).stem or "deskwork"


def failing_command(error: Exception) -> click.Command:
    """A command that only raises ``error``: a failure before the command line can even be
    made still goes through the one entry point (its message, its log, its box)."""

    def fail() -> NoReturn:
        raise error

    return click.Command(
        executable_name(), callback=fail, add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )  # fmt: skip


def imported(module: ModuleType | str) -> ModuleType:
    """``module``, imported if named: a tool that fails to import says so in one line."""
    if isinstance(module, ModuleType):
        return module
    try:
        return importlib.import_module(module)
    except Exception as error:
        raise failed_to_load(module, error) from error


def main(module: ModuleType | str) -> NoReturn:
    """A built tool's executable: its command line, through deskwork's one entry point.
    ``module`` is the tool's module, or its name (then imported here, where a failure
    is reported like any other)."""
    try:
        tool = find_tool(imported(module))
    except DeskworkError as error:
        run_command(failing_command(error), name=executable_name())

    @click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=tool.title)
    @click.version_option(
        __version__, "--version", "-V",
        message=f"{tool.title} {tool.version} (deskwork %(version)s)",
    )  # fmt: skip
    @launch_options()
    @click.option(
        "--check-update", is_flag=True, help="Look for a newer version now; download and verify it."
    )
    @click.option("--finish-update", is_flag=True, hidden=True)  # run by the version before
    def command(check_update: bool, finish_update: bool, **options: Any) -> None:
        if check_update:
            from deskwork.desktop.updates import check_for_update

            sys.exit(check_for_update(tool, echo=click.echo))
        if finish_update:
            from deskwork.desktop.launch import finish_update_here

            sys.exit(finish_update_here(tool, options["database"], echo=click.echo))
        open_tool(tool, icon=bundled("icon.png"), **options)

    run_command(command, name=tool.name, title=tool.title)


def main_app(
    module: ModuleType | str, attribute: str | None, settings: dict[str, Any], name: str
) -> NoReturn:
    """A plain Flask app's executable, called ``name`` (its data and log folders too):
    ``module`` is the app's module or its name (imported once the command line is read);
    ``attribute`` names its app or factory (None: found as ``deskwork run`` finds it);
    ``settings`` is its ``[tool.deskwork]`` table."""
    from deskwork.desktop.launch import launch

    title = str(settings.get("title") or "App")

    @click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=title)
    @click.version_option(__version__, "--version", "-V", message=f"{title} (deskwork %(version)s)")
    @launch_options(database=False)
    def command(**options: Any) -> None:
        config = AppConfig.from_dict(settings)  # errors here reach the entry point too
        app = find_app(imported(module), attribute)
        code = launch(
            app, title=title, name=name, config=config, icon=bundled("icon.png"),
            echo=click.echo, **options,
        )  # fmt: skip
        exit_when_closed(code)

    run_command(command, name=name, title=title)
