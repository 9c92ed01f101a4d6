"""Build one executable for a deskwork tool, or a plain Flask app, with PyInstaller.

    python packaging/build.py path/to/tool.py --name expenses [--dist dist] [--onedir]
    python packaging/build.py path/to/flaskr/__init__.py --name flaskr --app app.json

``deskwork build`` runs this script. It writes a small entry script that hands the tool's
module name (or the app's module or package) to deskwork's entry point, which imports it
(so that a failure is reported), and runs ``deskwork.spec``, which names the module as a
hidden import (so PyInstaller sees everything it imports). ``--app`` is a JSON file: the
app's attribute, its ``[tool.deskwork]`` settings and its data files
(``deskwork.desktop.building``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# The tool (or app) module is imported by deskwork's entry point, where an error in it is
# reported and logged like any other; the spec names it as a hidden import.
ENTRY = """\
# Written by deskwork build: the tool's executable starts here.
from deskwork.desktop.frozen import main

main({module!r})
"""

APP_ENTRY = """\
# Written by deskwork build: the app's executable starts here.
from deskwork.desktop.frozen import main_app, use_data_folder

use_data_folder({name!r})  # before the app is made: its instance folder is the user's
main_app({module!r}, {attribute!r}, {settings!r}, {name!r})
"""


def installed_layout(work: Path) -> Path | None:
    """Where PyInstaller can find the ``deskwork`` package.

    An installed wheel needs nothing: None. An editable install of a deskwork checkout
    maps ``webapp/`` to ``deskwork`` through an import hook that PyInstaller's analysis
    does not follow, so the package is laid out as installed (copies) under ``work``.
    """
    import deskwork
    import deskwork.desktop

    flask_side = Path(deskwork.__file__).parent
    if flask_side.name == "deskwork":
        return None
    skip = shutil.ignore_patterns("__pycache__", "_packaging", "_assets")
    target = work / "layout" / "deskwork"
    shutil.copytree(flask_side, target, ignore=skip)
    shutil.copytree(Path(deskwork.desktop.__file__).parent, target / "desktop", ignore=skip)
    return target.parent


def build(
    tool_file: Path,
    *,
    name: str,
    dist: Path,
    onedir: bool = False,
    icon: Path | None = None,
    app: dict[str, Any] | None = None,
    extra: tuple[Path, ...] = (),
    version: str | None = None,
    title: str | None = None,
) -> Path:
    import PyInstaller.__main__

    from deskwork.loader import import_name

    module, root = import_name(tool_file)
    with tempfile.TemporaryDirectory(prefix="deskwork-build-") as work:
        layout = installed_layout(Path(work))
        # Not named after the app: its own module may have that name.
        entry = Path(work) / "_deskwork_entry.py"
        if app is None:
            entry.write_text(ENTRY.format(module=module), encoding="utf-8")
        else:
            entry.write_text(
                APP_ENTRY.format(
                    name=name, module=module, attribute=app["attribute"], settings=app["settings"]
                ),
                encoding="utf-8",
            )
        args = [
            str(HERE / "deskwork.spec"),
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            f"--distpath={dist}",
            f"--workpath={Path(work) / 'build'}",
            "--",
            f"--entry={entry}",
            f"--name={name}",
            f"--pathex={root}",
            *([f"--pathex={layout}"] if layout else []),
            f"--module={module}",
        ]
        if icon:
            args.append(f"--icon={icon}")
            if sys.platform in ("win32", "darwin"):  # the system's own icon file, made from it
                from deskwork.desktop.installers import icon_files

                made = icon_files(icon, Path(work) / "icons", name)
                args.append(f"--os-icon={made['ico' if sys.platform == 'win32' else 'icns']}")
        if version:
            args.append(f"--version={version}")
        if version and sys.platform == "win32":  # the program's own version resource
            from deskwork.desktop.installers import Product, version_file

            resource = Path(work) / "version.txt"
            product = Product(name, title or name, version, "")
            resource.write_text(version_file(product), encoding="utf-8")
            args.append(f"--version-file={resource}")
        if title:
            args.append(f"--title={title}")
        for source, destination in app["datas"] if app else []:
            args.append(f"--add-data={source}{os.pathsep}{destination}")
        templates = tool_file.parent / "templates"
        if app is None and templates.is_dir():
            # Where the frozen tool module looks for them: beside its own file.
            args.append(
                f"--add-data={templates}{os.pathsep}{Path(*module.split('.')[:-1], 'templates')}"
            )
        for file in extra:  # beside the code (a release's update.json)
            args.append(f"--add-data={file}{os.pathsep}.")
        if onedir:
            args.append("--onedir")
        PyInstaller.__main__.run(args)
    suffix = ".app" if sys.platform == "darwin" else ".exe" if sys.platform == "win32" else ""
    return dist / (name + suffix) if not onedir else dist / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool_file", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--dist", type=Path, default=Path("dist"))
    parser.add_argument("--onedir", action="store_true")
    parser.add_argument("--icon", type=Path)
    parser.add_argument("--version", help="the tool's version (macOS's Info.plist)")
    parser.add_argument("--title", help="the tool's title (macOS's Info.plist)")
    parser.add_argument("--app", type=Path, help="JSON: a plain Flask app's build settings")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="a file to put beside the code")  # fmt: skip
    options = parser.parse_args()
    dist = options.dist.resolve()
    target = dist / options.name
    if target.is_dir():
        shutil.rmtree(target)
    result = build(
        options.tool_file.resolve(),
        name=options.name,
        dist=dist,
        onedir=options.onedir,
        icon=options.icon.resolve() if options.icon else None,
        app=json.loads(options.app.read_text(encoding="utf-8")) if options.app else None,
        extra=tuple(p.resolve() for p in options.extra),
        version=options.version,
        title=options.title,
    )
    print(result)


if __name__ == "__main__":
    main()
