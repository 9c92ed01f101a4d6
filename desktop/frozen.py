"""The entry point of a built executable: the tool's (or the app's) own command line.

``deskwork build`` writes a three-line script that imports the tool and calls
``main(module)``; PyInstaller freezes that script. For a plain Flask app the script first
calls ``use_data_folder`` (before the app is made: its instance folder is then in the
user data folder), then ``main_app(module, attribute, settings)``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from deskwork import __version__
from deskwork.desktop.cli import exit_when_closed, launch_options, open_tool
from deskwork.desktop.hosting import AppConfig, use_data_folder
from deskwork.errors import DeskworkError
from deskwork.loader import find_app, find_tool

__all__ = ["main", "main_app", "use_data_folder"]


def bundled(name: str) -> Path | None:
    """A file PyInstaller unpacked beside the code (``sys._MEIPASS``), if there."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent))
    path = base / name
    return path if path.is_file() else None


def main(module: ModuleType) -> None:
    try:
        tool = find_tool(module)
    except DeskworkError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)

    @click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=tool.title)
    @click.version_option(
        __version__, "--version", "-V", message=f"{tool.title} (deskwork %(version)s)"
    )
    @launch_options()
    def command(**options: Any) -> None:
        open_tool(tool, icon=bundled("icon.png"), **options)

    try:
        command.main(prog_name=tool.name)
    except DeskworkError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)


def main_app(
    module: ModuleType, attribute: str | None, settings: dict[str, Any], name: str
) -> None:
    """A plain Flask app's executable, called ``name`` (its data and log folders too):
    ``attribute`` names its app or factory (None: found as ``deskwork run`` finds it);
    ``settings`` is its ``[tool.deskwork]`` table."""
    from deskwork.desktop.launch import launch

    try:
        config = AppConfig.from_dict(settings)
        app = find_app(module, attribute)
    except DeskworkError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    title = config.title or "App"

    @click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=title)
    @click.version_option(__version__, "--version", "-V", message=f"{title} (deskwork %(version)s)")
    @launch_options(database=False)
    def command(**options: Any) -> None:
        code = launch(
            app, title=title, name=name, config=config, icon=bundled("icon.png"),
            echo=click.echo, **options,
        )  # fmt: skip
        exit_when_closed(code)

    try:
        command.main(prog_name=name)
    except DeskworkError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
