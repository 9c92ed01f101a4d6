"""deskwork's settings: declared once here, read by the native host, handed to the Flask side.

Each setting is a name, a default and a help text (``SETTINGS``); the README's settings
table is made from this list, and a test keeps the two equal. Whoever installs a tool (IT)
sets them as ``DESKWORK_<NAME>`` environment variables. Only ``deskwork.desktop`` reads
them: the Flask side is handed what it needs (``create_app(locale=...)``) and reads no
environment variable of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deskwork.errors import SettingError

# pywebview's backends (its GUIType), for a clear message on a typing mistake.
GUI_BACKENDS = ("gtk", "qt", "cef", "edgechromium", "mshtml", "winforms", "cocoa", "android")


@dataclass(frozen=True)
class Setting:
    """One setting: its name, its default as people read it, and what it does."""

    name: str
    default: str
    help: str

    @property
    def variable(self) -> str:
        return f"DESKWORK_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir",
        "the user data folder (`~/.local/share/deskwork` on Linux)",
        "where each tool keeps `<name>/<name>.sqlite3`, and `logs/`",
    ),
    Setting(
        "gui",
        "`gtk` on Linux, the system's own elsewhere",
        "pywebview backend (`gtk` needs `pip install deskwork[gtk]`, `qt` needs "
        "`pip install deskwork[qt]`)",
    ),
    Setting(
        "locale",
        "the tool's `locale`, else `LC_ALL`, `LC_NUMERIC` or `LANG`",
        "how numbers are written and read: `de_DE` gives `1.234,56`, `fr_FR` gives `1 234,56`",
    ),
    Setting(
        "backups",
        "`10`",
        "how many backups of each tool's database are kept (in `<name>/backups/`; one "
        "on the first launch of a day, one before its tables change)",
    ),
    Setting(
        "bin_days",
        "the tool's `bin_days` (30)",
        'how many days deleted records stay restorable in "Recently deleted"',
    ),
    Setting(
        "launch_stamp",
        "unset",
        "a Unix time; `--self-test` then reports time from it to first paint",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def markdown_table() -> str:
    """The settings as the README's table (a test compares the two)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.variable}` | {s.default} | {s.help} |" for s in SETTINGS]
    return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    """The settings in force, read once at launch from ``environ``."""

    environ: Mapping[str, str]

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        return cls({k: v for k, v in source.items() if k.startswith("DESKWORK_") or
                    k in ("LC_ALL", "LC_NUMERIC", "LANG")})  # fmt: skip

    def raw(self, name: str) -> str | None:
        """The value set for setting ``name``, or None when unset or blank."""
        return self.environ.get(_BY_NAME[name].variable) or None

    @property
    def data_dir(self) -> Path | None:
        value = self.raw("data_dir")
        return Path(value).expanduser() if value else None

    @property
    def gui(self) -> str | None:
        value = self.raw("gui")
        if value is None:
            return None
        value = value.strip().lower()
        if value not in GUI_BACKENDS:
            raise SettingError(
                f"DESKWORK_GUI={value!r} is not a pywebview backend: use one of "
                f"{', '.join(GUI_BACKENDS)}, or leave it unset."
            )
        return value

    @property
    def locale(self) -> str | None:
        """The locale IT chose for numbers: it wins over the tool's own."""
        return self.raw("locale")

    @property
    def user_locale(self) -> str | None:
        """The user's session's locale for numbers (``LC_ALL``, ``LC_NUMERIC``, ``LANG``)."""
        for variable in ("LC_ALL", "LC_NUMERIC", "LANG"):
            if self.environ.get(variable):
                return self.environ[variable]
        return None

    @property
    def backups(self) -> int:
        """How many backups to keep (IT's ``DESKWORK_BACKUPS``, else 10)."""
        return self._whole("backups", default=10, least=1) or 10

    @property
    def bin_days(self) -> int | None:
        """IT's retention of deleted records, over the tool's own (None: the tool's)."""
        return self._whole("bin_days", default=None, least=1)

    def _whole(self, name: str, *, default: int | None, least: int) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            number = least - 1
        if number < least:
            variable = _BY_NAME[name].variable
            raise SettingError(
                f"{variable}={value!r} is not a whole number of {least} or more: set one, "
                "or leave it unset."
            )
        return number

    @property
    def launch_stamp(self) -> float | None:
        value = self.raw("launch_stamp")
        try:
            return float(value) if value else None
        except ValueError:
            return None  # a benchmark's hook: a bad stamp only loses the timing
