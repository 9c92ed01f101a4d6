"""``deskwork build``: find the packaging files and run the build driver on a tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deskwork.desktop.launch import Echo
from deskwork.desktop.window import missing_binding
from deskwork.errors import DeskworkError
from deskwork.loader import load_tool, resolve_tool_file


class BuildError(DeskworkError):
    exit_code = 4


def packaging_dir() -> Path:
    """``deskwork/desktop/_packaging`` in a wheel, ``packaging/`` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_packaging", here.parent / "packaging"):
        if (candidate / "deskwork.spec").is_file():
            return candidate
    raise BuildError("deskwork's packaging files are missing: reinstall deskwork.")


def default_icon() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_assets", here.parent / "assets"):
        if (candidate / "deskwork.png").is_file():
            return candidate / "deskwork.png"
    return None


def build_executable(
    path: Path, *, dist: Path, onedir: bool = False, name: str | None = None, echo: Echo = print
) -> Path:
    tool_file = resolve_tool_file(path)
    tool = load_tool(tool_file)  # fail early, with the tool's own message
    missing = missing_binding()  # the executable would bundle no toolkit for its window
    if missing is not None:
        raise BuildError(f"Can't build {tool.title} with a window: {missing}.")
    name = name or tool.name
    icon = tool_file.parent / "icon.png"
    command = [
        sys.executable,
        str(packaging_dir() / "build.py"),
        str(tool_file),
        f"--name={name}",
        f"--dist={dist.resolve()}",
    ]
    chosen_icon = icon if icon.is_file() else default_icon()
    if chosen_icon:
        command.append(f"--icon={chosen_icon}")
    if onedir:
        command.append("--onedir")
    echo(f"Building {tool.title} as {'a folder' if onedir else 'one file'} with PyInstaller...")
    done = subprocess.run(command, stdout=subprocess.PIPE, encoding="utf-8")
    if done.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {done.returncode}); its messages are above.")
    return Path(done.stdout.strip().splitlines()[-1])
