"""Where a tool keeps its data and logs: the user's folders, never beside the code."""

from __future__ import annotations

from pathlib import Path

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
    return data_dir(settings) / tool_name / f"{tool_name}.sqlite3"
