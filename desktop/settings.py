"""deskwork's settings: declared once here, read here, handed to the Flask side.

``SETTINGS`` is the one table of every setting: its name, its kind (how a value is read),
its default, what it does, and where it can be set. The README's settings table is made
from it (a test keeps the two equal), ``Settings`` reads every value through one parser
(``Setting.read``), and ``deskwork settings TARGET`` prints each value in force with where
it came from (``Settings.explain``), as ``git config --show-origin`` does.

Where a value comes from, strongest first: the environment (``DESKWORK_<NAME>``, which
whoever installs a tool sets), the tool file (``Tool(locale=..., bin_days=...)``), the
user's own session (``LC_ALL``, ``LC_NUMERIC``, ``LANG`` for the locale), then the
default. (A per-machine file that IT keeps, and can lock, comes with issue 21.)

Only ``deskwork.desktop`` reads the environment: the Flask side is handed the values it
needs (``deskwork.assembly.Options``) and reads no environment variable of its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskwork.db import BACKUPS_KEPT
from deskwork.errors import SettingError
from deskwork.model import BIN_DAYS
from deskwork.reading import IMPORT_ROWS

if TYPE_CHECKING:
    from deskwork.model import Tool

# pywebview's backends (its GUIType), for a clear message on a typing mistake.
GUI_BACKENDS = ("gtk", "qt", "cef", "edgechromium", "mshtml", "winforms", "cocoa", "android")

#: The user's own locale variables, in the order the C library reads them.
USER_LOCALE = ("LC_ALL", "LC_NUMERIC", "LANG")

ENVIRONMENT = "environment"
TOOL_FILE = "tool file"
USER = "user"


def _folder(text: str) -> Path:
    return Path(text).expanduser()


def _backend(text: str) -> str:
    value = text.strip().lower()
    if value not in GUI_BACKENDS:
        raise ValueError(f"is not a pywebview backend: use one of {', '.join(GUI_BACKENDS)}")
    return value


def _whole(text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError("is not a whole number of 1 or more: set one")
    return number


def _origins(text: str) -> tuple[str, ...]:
    found = tuple(part.strip().rstrip("/") for part in text.replace(",", " ").split())
    for origin in found:
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise ValueError(
                f"has {origin!r}, which is not an origin such as https://intranet.example"
            )
    return found


def _stamp(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # a benchmark's hook: a bad stamp only loses the timing


@dataclass(frozen=True)
class Setting:
    """One setting: its name, how a value is read, its default as people read it, what it
    does, and where it can be set."""

    name: str
    kind: str
    default: str
    help: str
    where: tuple[str, ...]
    parse: Callable[[str], Any] = str

    @property
    def variable(self) -> str:
        return f"DESKWORK_{self.name.upper()}"

    def read(self, text: str) -> Any:
        """The value ``text`` (as set in the environment) stands for; a ``SettingError``
        naming the variable if it can't be used."""
        try:
            return self.parse(text)
        except ValueError as reason:
            raise SettingError(f"{self.variable}={text!r} {reason}, or leave it unset.") from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir", "folder",
        "the user data folder (`~/.local/share/deskwork` on Linux)",
        "where each tool keeps `<name>/<name>.sqlite3`, and `logs/`",
        (ENVIRONMENT,), _folder,
    ),
    Setting(
        "gui", "backend",
        "`gtk` on Linux, the system's own elsewhere",
        "pywebview backend (`gtk` needs `pip install deskwork[gtk]`, `qt` needs "
        "`pip install deskwork[qt]`)",
        (ENVIRONMENT,), _backend,
    ),
    Setting(
        "locale", "locale",
        "the tool's `locale`, else `LC_ALL`, `LC_NUMERIC` or `LANG`",
        "how numbers are written and read: `de_DE` gives `1.234,56`, `fr_FR` gives `1 234,56`",
        (ENVIRONMENT, TOOL_FILE, USER),
    ),
    Setting(
        "backups", "whole number",
        f"`{BACKUPS_KEPT}`",
        "how many backups of each tool's database are kept (in `<name>/backups/`; one "
        "on the first launch of a day, one before its tables change)",
        (ENVIRONMENT,), _whole,
    ),
    Setting(
        "bin_days", "whole number",
        f"the tool's `bin_days` ({BIN_DAYS})",
        'how many days deleted records stay restorable in "Recently deleted"',
        (ENVIRONMENT, TOOL_FILE), _whole,
    ),
    Setting(
        "import_rows", "whole number",
        f"`{IMPORT_ROWS:,}`",
        "the most rows one import may bring: a larger file is refused, saying so",
        (ENVIRONMENT,), _whole,
    ),
    Setting(
        "api_origins", "origins",
        "none",
        "other sites whose pages may call the tool's JSON API with its token "
        "(`https://intranet.example`, separated by spaces or commas); none may by default",
        (ENVIRONMENT,), _origins,
    ),
    Setting(
        "launch_stamp", "Unix time",
        "unset",
        "a Unix time; `--self-test` then reports time from it to first paint",
        (ENVIRONMENT,), _stamp,
    ),
)  # fmt: skip

_BY_NAME = {s.name: s for s in SETTINGS}


def markdown_table() -> str:
    """The settings as the README's table (a test compares the two)."""
    lines = ["| variable | kind | default | meaning | set in |", "|---|---|---|---|---|"]
    lines += [
        f"| `{s.variable}` | {s.kind} | {s.default} | {s.help} | {', '.join(s.where)} |"
        for s in SETTINGS
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Shown:
    """A setting's value in force, as ``deskwork settings`` prints it."""

    setting: Setting
    value: str
    origin: str


@dataclass(frozen=True)
class Settings:
    """The settings in force, read once at launch from ``environ``."""

    environ: Mapping[str, str]

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        return cls({k: v for k, v in source.items()
                    if k.startswith("DESKWORK_") or k in USER_LOCALE})  # fmt: skip

    def raw(self, name: str) -> str | None:
        """The value set for setting ``name``, or None when unset or blank."""
        return self.environ.get(_BY_NAME[name].variable) or None

    def value(self, name: str) -> Any:
        """Setting ``name``'s value as set in the environment (read by its kind), or None."""
        text = self.raw(name)
        return None if text is None else _BY_NAME[name].read(text)

    @property
    def data_dir(self) -> Path | None:
        found: Path | None = self.value("data_dir")
        return found

    @property
    def gui(self) -> str | None:
        found: str | None = self.value("gui")
        return found

    @property
    def locale(self) -> str | None:
        """The locale IT chose for numbers: it wins over the tool's own."""
        return self.raw("locale")

    @property
    def user_locale(self) -> str | None:
        """The user's session's locale for numbers (``LC_ALL``, ``LC_NUMERIC``, ``LANG``)."""
        return self._user_locale()[1]

    def _user_locale(self) -> tuple[str | None, str | None]:
        for variable in USER_LOCALE:
            if self.environ.get(variable):
                return variable, self.environ[variable]
        return None, None

    @property
    def backups(self) -> int:
        """How many backups to keep."""
        found: int | None = self.value("backups")
        return BACKUPS_KEPT if found is None else found

    @property
    def bin_days(self) -> int | None:
        """IT's retention of deleted records, over the tool's own (None: the tool's)."""
        found: int | None = self.value("bin_days")
        return found

    @property
    def import_rows(self) -> int:
        """The most rows one import may bring."""
        found: int | None = self.value("import_rows")
        return IMPORT_ROWS if found is None else found

    @property
    def api_origins(self) -> tuple[str, ...]:
        """Other sites' origins the API answers (with its token)."""
        found: tuple[str, ...] | None = self.value("api_origins")
        return found or ()

    @property
    def launch_stamp(self) -> float | None:
        found: float | None = self.value("launch_stamp")
        return found

    def explain(self, tool: Tool | None = None) -> list[Shown]:
        """Every setting's value in force for ``tool`` (or a plain Flask app, for None),
        with where it came from; a ``SettingError`` for a value that can't be used."""
        return [self._shown(s, tool) for s in SETTINGS]

    def _shown(self, setting: Setting, tool: Tool | None) -> Shown:
        text = self.raw(setting.name)
        if text is not None:
            setting.read(text)  # refused here as it would be at launch
            return Shown(setting, text, f"{ENVIRONMENT} ({setting.variable})")
        if setting.name == "locale":
            if tool is not None and tool.locale:
                return Shown(setting, tool.locale, f"{TOOL_FILE} (Tool(locale=...))")
            variable, found = self._user_locale()
            if found is not None:
                return Shown(setting, found, f"{USER} ({variable})")
            return Shown(setting, "en", "default")
        if setting.name == "bin_days" and tool is not None and tool.bin_days != BIN_DAYS:
            return Shown(setting, str(tool.bin_days), f"{TOOL_FILE} (Tool(bin_days=...))")
        return Shown(setting, _default_value(setting.name), "default")


def _default_value(name: str) -> str:
    """What a setting is when nothing sets it, as it applies on this machine."""
    if name == "data_dir":
        import platformdirs

        return platformdirs.user_data_dir("deskwork", appauthor=False)
    if name == "gui":
        return "gtk" if sys.platform.startswith("linux") else "the system's own"
    if name == "backups":
        return str(BACKUPS_KEPT)
    if name == "bin_days":
        return str(BIN_DAYS)
    if name == "import_rows":
        return str(IMPORT_ROWS)
    return "unset"
