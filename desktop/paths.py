"""Where a tool keeps its data and logs: the user's folders, never beside the code."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "deskwork"


def data_dir() -> Path:
    """The user data folder; ``DESKWORK_DATA_DIR`` overrides it."""
    override = os.environ.get("DESKWORK_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The log folder: ``logs`` inside ``DESKWORK_DATA_DIR`` if set, else the user log folder."""
    override = os.environ.get("DESKWORK_DATA_DIR")
    if override:
        return Path(override).expanduser() / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_database(tool_name: str) -> Path:
    return data_dir() / tool_name / f"{tool_name}.sqlite3"
