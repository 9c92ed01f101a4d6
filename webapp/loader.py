"""Loading a tool, or a plain Flask app, from its Python file or package (used by the
CLI, builds and the pytest fixtures)."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from deskwork import Tool
from deskwork.errors import ToolError


def resolve_tool_file(path: Path) -> Path:
    """A tool file, or the folder ``deskwork new`` made (its ``tool.py``)."""
    path = path.expanduser().resolve()
    if path.is_dir():
        path = path / "tool.py"
    if not path.is_file():
        raise ToolError(f"No tool file at {path}: give a .py file or a folder with tool.py.")
    return path


def find_tool(module: ModuleType) -> Tool:
    """The module's ``tool``, or its only ``Tool``."""
    named = getattr(module, "tool", None)
    if isinstance(named, Tool):
        return named
    found = [v for v in vars(module).values() if isinstance(v, Tool)]
    if len(found) != 1:
        raise ToolError(
            f"{module.__file__} must define one Tool (found {len(found)}): "
            "name it 'tool', as in tool = Tool(\"My tool\")."
        )
    return found[0]


def failed_to_load(what: object, error: BaseException) -> ToolError:
    """The one way a tool or app that fails to import is reported: what failed and why,
    in one line (the traceback stays on the error, for the log)."""
    failed = ToolError(f"{what} failed to load: {type(error).__name__}: {error}")
    failed.__cause__ = error
    return failed


def load_module(path: Path) -> ModuleType:
    name = f"deskwork_tool_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ToolError(f"{path} is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    # Let the tool import modules that sit beside it.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ToolError:
        raise
    except Exception as error:
        del sys.modules[name]
        raise failed_to_load(path, error) from error
    return module


def import_name(file: Path) -> tuple[str, Path]:
    """The dotted name a module (or a package, for its ``__init__.py``) is imported by
    when the folder it starts in is on ``sys.path``, and that folder."""
    parts = [] if file.stem == "__init__" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def load_tool(path: Path) -> Tool:
    return find_tool(load_module(resolve_tool_file(path)))


#: Where a plain Flask app is looked for, as ``flask --app`` does: these names first,
#: then the module's only Flask app, then a factory called with no arguments.
APP_NAMES = ("app", "application")
FACTORY_NAMES = ("create_app", "make_app")
#: A folder's file to open when it is not a package: a tool first, then an app.
FOLDER_FILES = ("tool.py", "app.py", "wsgi.py")


@dataclass
class Target:
    """What ``deskwork run TARGET`` opens: a declared tool, or a plain Flask app."""

    folder: Path  # where its icon.png may be
    file: Path  # its file (a package's __init__.py): --reload watches its folder
    tool: Tool | None = None
    app: Any = None  # a Flask app (any WSGI app) when there is no tool
    title: str = ""


def split_target(text: str) -> tuple[Path, str | None]:
    """``path`` or ``path:name`` (a drive letter's colon is part of the path)."""
    path, colon, name = text.rpartition(":")
    if colon and re.fullmatch(r"[A-Za-z_]\w*(\(\))?", name) and path not in ("", "."):
        return Path(path), name.removesuffix("()")
    return Path(text), None


def load_target(text: str) -> Target:
    """The tool or Flask app at ``text``: a ``.py`` file, a package folder or a folder
    with ``tool.py`` or ``app.py``; ``path:name`` names the tool, app or app factory."""
    path, name = split_target(text)
    path = path.expanduser().resolve()
    if path.is_dir() and (path / "__init__.py").is_file():
        module = _import_package(path)
    else:
        if path.is_dir():
            path = next((path / f for f in FOLDER_FILES if (path / f).is_file()), path)
        if not path.is_file():
            raise ToolError(
                f"No tool or app at {path}: give a .py file, a package folder, or a folder "
                "with tool.py or app.py."
            )
        module = load_module(path)
    found = _pick(module, name) if name else _find(module)
    folder, file = (path, path / "__init__.py") if path.is_dir() else (path.parent, path)
    if isinstance(found, Tool):
        return Target(folder, file, tool=found, title=found.title)
    stem = path.name if path.is_dir() else path.stem
    title = folder.name if stem in ("app", "wsgi", "main") else stem
    title = re.sub(r"[-_]+", " ", title).strip().capitalize()
    return Target(folder, file, app=found, title=title)


def find_app(module: ModuleType, name: str | None = None) -> Any:
    """The plain Flask app in ``module`` (made by its factory if need be), as
    ``load_target`` finds it; ``name`` names the app or factory."""
    found = _pick(module, name) if name else _find(module)
    if isinstance(found, Tool):
        raise ToolError(f"{module.__name__} defines a Tool, not a Flask app.")
    return found


def _import_package(folder: Path) -> ModuleType:
    if str(folder.parent) not in sys.path:
        sys.path.insert(0, str(folder.parent))
    try:
        module = importlib.import_module(folder.name)
    except Exception as error:
        raise failed_to_load(folder, error) from error
    found = Path(module.__file__ or "").resolve().parent
    if found != folder:
        raise ToolError(
            f"{folder} can't be imported as {folder.name!r}: that name is {found}'s, "
            "already loaded or earlier on the path. Rename the folder."
        )
    return module


def _flask_class() -> type | None:
    # A module with a Flask app has imported Flask: no need to import it for a tool.
    flask = sys.modules.get("flask")
    return None if flask is None else flask.Flask


def _pick(module: ModuleType, name: str) -> Any:
    found = getattr(module, name, None)
    if found is None:
        raise ToolError(f"{module.__name__} has no {name!r}.")
    flask = _flask_class()
    if isinstance(found, Tool) or (flask is not None and isinstance(found, flask)):
        return found
    if callable(found):
        return _call_factory(module, name, found)
    raise ToolError(f"{module.__name__}.{name} is neither a Tool, a Flask app nor a factory.")


def _call_factory(module: ModuleType, name: str, factory: Any) -> Any:
    try:
        made = factory()
    except Exception as error:
        raise ToolError(
            f"{module.__name__}.{name}() failed: {type(error).__name__}: {error}"
        ) from error
    if not callable(made):
        raise ToolError(f"{module.__name__}.{name}() did not return a Flask app.")
    return made


def _find(module: ModuleType) -> Any:
    if any(isinstance(v, Tool) for v in vars(module).values()):
        return find_tool(module)  # a tool file (with several Tools, it says to name one)
    flask = _flask_class()
    if flask is not None:
        for name in APP_NAMES:
            if isinstance(getattr(module, name, None), flask):
                return getattr(module, name)
        apps = [v for v in vars(module).values() if isinstance(v, flask)]
        if len(apps) == 1:
            return apps[0]
        if len(apps) > 1:
            raise ToolError(
                f"{module.__file__} has {len(apps)} Flask apps: pick one with FILE:name."
            )
    for name in FACTORY_NAMES:
        factory = getattr(module, name, None)
        if callable(factory):
            return _call_factory(module, name, factory)
    raise ToolError(
        f"{module.__file__} defines no Tool and no Flask app: deskwork looked for a Tool "
        '(as in tool = Tool("My tool")), a Flask app called app or application, and a '
        "factory create_app() or make_app(). Pick one with FILE:name."
    )
