"""The entry point of a built executable: the tool's own command line.

``deskwork build`` writes a three-line script that imports the tool and calls
``main(module)``; PyInstaller freezes that script.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from deskwork import __version__
from deskwork.desktop.cli import launch_options, open_tool
from deskwork.errors import DeskworkError
from deskwork.loader import find_tool


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
    @launch_options
    def command(**options: Any) -> None:
        open_tool(tool, icon=bundled("icon.png"), **options)

    try:
        command.main(prog_name=tool.name)
    except DeskworkError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
