"""Loading a tool from its Python file (used by the CLI, builds and the pytest fixtures)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
        raise ToolError(f"{path} failed to load: {type(error).__name__}: {error}") from error
    return module


def load_tool(path: Path) -> Tool:
    return find_tool(load_module(resolve_tool_file(path)))
