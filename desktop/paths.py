"""Where a tool keeps its data and logs: the user's folders, never beside the code."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from deskwork.desktop.settings import Settings

APP_NAME = "deskwork"


def data_dir(settings: Settings | None = None) -> Path:
    """The user data folder, or the ``data_dir`` setting."""
    settings = settings or Settings.load()
    return settings.data_dir or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir(settings: Settings | None = None) -> Path:
    """``logs`` inside the ``data_dir`` setting if set, else the user log folder."""
    settings = settings or Settings.load()
    if settings.data_dir:
        return settings.data_dir / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_database(tool_name: str, settings: Settings | None = None) -> Path:
    """Where tool ``tool_name`` keeps its data: in the ``data_dir`` its settings give."""
    return data_dir(settings or Settings.load(name=tool_name)) / tool_name / f"{tool_name}.sqlite3"


def api_file(tool_name: str, settings: Settings | None = None) -> Path:
    """Where a running tool says where its JSON API is and its token:
    ``<user data>/api/<name>.json``, readable by the user only."""
    return data_dir(settings) / "api" / f"{tool_name}.json"


def write_private_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` as JSON, readable by its owner only (0600 in a 0700
    folder; on Windows the user's own profile folder), replacing it whole."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(dict(data), file)
    os.replace(partial, path)
