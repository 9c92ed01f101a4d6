r"""deskwork's settings: declared once here, read here, handed to the Flask side.

``SETTINGS`` is the one table of every setting: its name, its kind (how a value is read),
its default, what it does, and where it can be set. The README's settings table is made
from it (a test keeps the two equal), ``Settings`` reads every value through one parser
(``Setting.read``), and ``deskwork settings TARGET`` prints each value in force with where
it came from (``Settings.explain``), as ``git config --show-origin`` does.

Where a value comes from, strongest first, as Firefox's enterprise policies work:

1. what IT **locked** (``locked = [...]`` in the machine's file, or the operating system's
   policy: the ``HKLM\SOFTWARE\Policies\deskwork\NAME`` registry key group policy sets
   on Windows, a managed preferences profile on macOS; those lock every value they set);
2. the environment (``DESKWORK_<NAME>``);
3. the user's own file (``<user config folder>/deskwork/NAME.toml``);
4. the machine's file IT keeps (``/etc/deskwork/NAME.toml``,
   ``%ProgramData%\deskwork\NAME.toml``, ``/Library/Application Support/deskwork/NAME.toml``);
5. the tool file (``Tool(locale=..., bin_days=...)``);
6. the user's own session (``LC_ALL``, ``LC_NUMERIC``, ``LANG`` for the locale);
7. the default.

A file is TOML: ``backups = 20``, ``read_only = true``, ``locale = "de_DE"``. A file that
can't be read, a key that is no setting, or a value that can't be used stops the launch
with a message naming the file, the line and the key: never a silent default.

Only ``deskwork.desktop`` reads the environment: the Flask side is handed the values it
needs (``deskwork.assembly.Options``) and reads no environment variable of its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskwork.db import BACKUPS_KEPT
from deskwork.errors import SettingError
from deskwork.model import BIN_DAYS
from deskwork.reading import IMPORT_ROWS
from deskwork.served import DEFAULTS as SERVED
from deskwork.served import Directory, OpenID, Served

if TYPE_CHECKING:
    from deskwork.model import Tool

# pywebview's backends (its GUIType), for a clear message on a typing mistake.
GUI_BACKENDS = ("gtk", "qt", "cef", "edgechromium", "mshtml", "winforms", "cocoa", "android")

#: Where ``deskwork serve`` listens, and its threads per worker process, when unset.
ADDRESS = "127.0.0.1:8000"
THREADS = 16

#: The user's own locale variables, in the order the C library reads them.
USER_LOCALE = ("LC_ALL", "LC_NUMERIC", "LANG")

ENVIRONMENT = "environment"
TOOL_FILE = "tool file"
USER = "user"
MACHINE_FILE = "machine file"
USER_FILE = "user file"
POLICY = "policy"
#: Everywhere a file or IT's policy can set a value, besides the environment.
FILES = (MACHINE_FILE, USER_FILE)


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


def _count(text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError("is not a whole number of 0 or more: set one")
    return number


def _hours(text: str) -> float:
    try:
        hours = float(text.strip())
    except ValueError:
        hours = 0
    if not 0 < hours <= 24 * 366:
        raise ValueError("is not a number of hours above 0 (such as 12, or 0.5)")
    return hours


def _listen_address(text: str) -> str:
    value = text.strip()
    if value.startswith("fd://") and value[5:].isdigit():
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("is not HOST:PORT (such as 0.0.0.0:8000)")
    return value


def _ldap_url(text: str) -> str:
    value = text.strip()
    scheme, sep, rest = value.partition("://")
    if scheme.lower() not in ("ldap", "ldaps") or not sep or not rest:
        raise ValueError("is not an ldap:// or ldaps:// address")
    return value


def _name_template(text: str) -> str:
    value = text.strip()
    if "{name}" not in value:
        raise ValueError("has no {name} for the log-in name: put it where the name goes")
    return value


def _groups(text: str) -> tuple[str, ...]:
    found = tuple(part.strip() for part in text.split(";") if part.strip())
    if not found or not all("=" in dn for dn in found):
        raise ValueError("is not one or more group DNs (cn=finance,ou=groups,dc=example,dc=org)")
    return found


def _issuer(text: str) -> str:
    from urllib.parse import urlsplit

    value = text.strip().rstrip("/")
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (parts.scheme != "https" and not (parts.scheme == "http" and local)) or not parts.netloc:
        raise ValueError("is not an https:// address (http:// only on this computer)")
    return value


def _names(text: str) -> tuple[str, ...]:
    found = tuple(part.strip() for part in text.split(";") if part.strip())
    if not found:
        raise ValueError("names no group")
    return found


def _server(text: str) -> str:
    from urllib.parse import urlsplit

    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("is not a server's address such as https://tools.example/expenses/")
    return value


def default_workers() -> int:
    """``deskwork serve``'s worker processes when unset: the cores, at most 8."""
    return max(1, min(os.cpu_count() or 1, 8))


def _origins(text: str) -> tuple[str, ...]:
    found = tuple(part.strip().rstrip("/") for part in text.replace(",", " ").split())
    for origin in found:
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise ValueError(
                f"has {origin!r}, which is not an origin such as https://intranet.example"
            )
    return found


def _command(text: str) -> str:
    if "{file}" not in text:
        raise ValueError("has no {file} for the file to sign: put it where the file goes")
    return text.strip()


def _place(text: str) -> str:
    value = text.strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme and scheme not in ("http", "https"):
        raise ValueError("is neither a folder nor an http(s) address")
    return value


def _key(text: str) -> str:
    import base64
    import binascii

    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("is not a public key made by 'deskwork keys new' (44 characters)")
    return text.strip()


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "yes", "true", "on"):
        return True
    if value in ("0", "no", "false", "off"):
        return False
    raise ValueError("is not yes or no (true or false)")


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
    #: A secret (a client secret): ``deskwork settings`` shows only that it is set.
    secret: bool = False

    @property
    def variable(self) -> str:
        return f"DESKWORK_{self.name.upper()}"

    def read(self, text: str, where: str = "") -> Any:
        """The value ``text`` stands for; a ``SettingError`` naming the variable (or
        ``where`` it was set: a file, its line and the key) if it can't be used."""
        try:
            return self.parse(text)
        except ValueError as reason:
            if where:
                raise SettingError(f"{where}: {self.name} = {text!r} {reason}.") from None
            raise SettingError(f"{self.variable}={text!r} {reason}, or leave it unset.") from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "data_dir", "folder",
        "the user data folder (`~/.local/share/deskwork` on Linux)",
        "where each tool keeps `<name>/<name>.sqlite3`, and `logs/`",
        (POLICY, ENVIRONMENT, *FILES), _folder,
    ),
    Setting(
        "gui", "backend",
        "`gtk` on Linux, the system's own elsewhere",
        "pywebview backend (`gtk` needs `pip install deskwork[gtk]`, `qt` needs "
        "`pip install deskwork[qt]`)",
        (POLICY, ENVIRONMENT, *FILES), _backend,
    ),
    Setting(
        "locale", "locale",
        "the tool's `locale`, else `LC_ALL`, `LC_NUMERIC` or `LANG`",
        "how numbers are written and read: `de_DE` gives `1.234,56`, `fr_FR` gives `1 234,56`",
        (POLICY, ENVIRONMENT, *FILES, TOOL_FILE, USER),
    ),
    Setting(
        "backups", "whole number",
        f"`{BACKUPS_KEPT}`",
        "how many backups of each tool's database are kept (in `<name>/backups/`; one "
        "on the first launch of a day, one before its tables change)",
        (POLICY, ENVIRONMENT, *FILES), _whole,
    ),
    Setting(
        "backup_dir", "folder",
        "`backups` beside the database",
        "where the tool's backups go (a local folder)",
        (POLICY, ENVIRONMENT, *FILES), _folder,
    ),
    Setting(
        "restore", "yes or no",
        "`yes`",
        "whether staff may restore a backup (the window's Restore… and `deskwork restore`)",
        (POLICY, ENVIRONMENT, *FILES), _yes_no,
    ),
    Setting(
        "read_only", "yes or no",
        "`no`",
        "staff can look but not change: every save, delete, bulk change, import, undo and "
        "JSON API write is refused, saying so",
        (POLICY, ENVIRONMENT, *FILES), _yes_no,
    ),
    Setting(
        "bin_days", "whole number",
        f"the tool's `bin_days` ({BIN_DAYS})",
        'how many days deleted records stay restorable in "Recently deleted"',
        (POLICY, ENVIRONMENT, *FILES, TOOL_FILE), _whole,
    ),
    Setting(
        "import_rows", "whole number",
        f"`{IMPORT_ROWS:,}`",
        "the most rows one import may bring: a larger file is refused, saying so",
        (POLICY, ENVIRONMENT, *FILES), _whole,
    ),
    Setting(
        "api_origins", "origins",
        "none",
        "other sites whose pages may call the tool's JSON API with its token "
        "(`https://intranet.example`, separated by spaces or commas); none may by default",
        (POLICY, ENVIRONMENT, *FILES), _origins,
    ),
    Setting(
        "sign_linux", "command",
        "unset: packages are made unsigned, saying so",
        "the command that signs each Linux package built, `{file}` standing for it (such as "
        "`gpg --batch --detach-sign --armor {file}`)",
        (POLICY, ENVIRONMENT, *FILES), _command,
    ),
    Setting(
        "sign_windows", "command",
        "unset: unsigned, saying so",
        "the command that signs the Windows installer and program, `{file}` standing for "
        "each (such as `signtool sign /a /fd SHA256 {file}`)",
        (POLICY, ENVIRONMENT, *FILES), _command,
    ),
    Setting(
        "sign_macos", "command",
        "unset: unsigned, saying so",
        "the command that signs (and notarises) the macOS app, `{file}` standing for it "
        "(such as `codesign --deep --sign \"Developer ID Application: …\" {file}`)",
        (POLICY, ENVIRONMENT, *FILES), _command,
    ),
    Setting(
        "updates", "yes or no",
        "`yes`",
        "whether the tool looks for a newer version at its update source once its window "
        "is open (a one-file build; an installed package is updated by IT's own tools)",
        (POLICY, ENVIRONMENT, *FILES), _yes_no,
    ),
    Setting(
        "update_source", "folder or address",
        "where `deskwork release --to` published it (built in)",
        "where new versions are published: a folder (a network share) or an http(s) "
        "address",
        (POLICY, ENVIRONMENT, *FILES), _place,
    ),
    Setting(
        "update_key", "public key",
        "the key `deskwork release --key` signed it with (built in)",
        "the public key (from `deskwork keys new`) whose signature an update must carry",
        (POLICY, ENVIRONMENT, *FILES), _key,
    ),
    Setting(
        "address", "host:port",
        f"`{ADDRESS}`",
        "where `deskwork serve` listens: `0.0.0.0:8000` for every network interface, "
        "behind the organisation's proxy (or `fd://N`, a socket handed over)",
        (POLICY, ENVIRONMENT, *FILES), _listen_address,
    ),
    Setting(
        "workers", "whole number",
        "the number of cores, at most 8",
        "`deskwork serve`'s worker processes (gunicorn; one on Windows)",
        (POLICY, ENVIRONMENT, *FILES), _whole,
    ),
    Setting(
        "threads", "whole number",
        f"`{THREADS}`",
        "`deskwork serve`'s threads in each worker process (a live page's stream holds one "
        "while it is open: at most half of them do)",
        (POLICY, ENVIRONMENT, *FILES), _whole,
    ),
    Setting(
        "proxies", "whole number",
        f"`{SERVED.proxies}`",
        "how many reverse proxies stand in front of `deskwork serve`: the client's address, "
        "scheme and host are read from their `X-Forwarded-*` headers only",
        (POLICY, ENVIRONMENT, *FILES), _count,
    ),
    Setting(
        "public_url", "address",
        "unset: any host name is answered",
        "the address people reach `deskwork serve` at (`https://tools.example/`): a request "
        "for any other host is refused (DNS rebinding; the health page answers any, for the "
        "proxy's checks)",
        (POLICY, ENVIRONMENT, *FILES), _server,
    ),
    Setting(
        "session_hours", "number",
        f"`{SERVED.session_hours:g}`",
        "how long a log-in to `deskwork serve` lasts, in hours",
        (POLICY, ENVIRONMENT, *FILES), _hours,
    ),
    Setting(
        "bulk_limit", "whole number",
        f"`{SERVED.bulk_limit}`",
        "the most rows an editor may change at once on `deskwork serve` (an admin any "
        "number; bulk deletes take an admin)",
        (POLICY, ENVIRONMENT, *FILES), _whole,
    ),
    Setting(
        "viewer_exports", "yes or no",
        "`yes`",
        "whether viewers may export tables and reports and read the JSON API on `deskwork "
        "serve` (`no`: those take an editor; viewers only look at the pages)",
        (POLICY, ENVIRONMENT, *FILES), _yes_no,
    ),
    Setting(
        "ldap_url", "address",
        "unset: local accounts only",
        "the organisation's directory for `deskwork serve`'s log-ins: `ldaps://dc.example.org` "
        "(LDAP or Active Directory; the certificate checked against the system's store)",
        (POLICY, ENVIRONMENT, *FILES), _ldap_url,
    ),
    Setting(
        "ldap_user", "name template",
        "unset",
        "how a log-in name binds to the directory, `{name}` standing for it: "
        "`uid={name},ou=people,dc=example,dc=org`, or Active Directory's `{name}@corp.example`",
        (POLICY, ENVIRONMENT, *FILES), _name_template,
    ),
    Setting(
        "ldap_admins", "group DNs",
        "none",
        "the directory groups whose members are admins (several separated by `;`)",
        (POLICY, ENVIRONMENT, *FILES), _groups,
    ),
    Setting(
        "ldap_editors", "group DNs",
        "none",
        "the directory groups whose members are editors",
        (POLICY, ENVIRONMENT, *FILES), _groups,
    ),
    Setting(
        "ldap_viewers", "group DNs",
        "none",
        "the directory groups whose members are viewers",
        (POLICY, ENVIRONMENT, *FILES), _groups,
    ),
    Setting(
        "openid_issuer", "address",
        "unset: not offered",
        "the organisation's OpenID Connect provider for `deskwork serve`'s log-ins "
        "(`https://login.example.org/realms/staff`): its log-in page is offered beside the "
        "tool's own",
        (POLICY, ENVIRONMENT, *FILES), _issuer,
    ),
    Setting(
        "openid_client_id", "text",
        "unset",
        "the tool's client id at the provider (its redirect address: "
        "`https://HOST/log-in/openid/back`)",
        (POLICY, ENVIRONMENT, *FILES),
    ),
    Setting(
        "openid_client_secret", "secret",
        "unset",
        "the tool's client secret at the provider (never printed: `deskwork settings` "
        "shows only that it is set)",
        (POLICY, ENVIRONMENT, *FILES), secret=True,
    ),
    Setting(
        "openid_groups_claim", "text",
        "`groups`",
        "the ID token's claim that lists the person's groups",
        (POLICY, ENVIRONMENT, *FILES),
    ),
    Setting(
        "openid_admins", "group names",
        "none",
        "the provider's groups whose members are admins (several separated by `;`)",
        (POLICY, ENVIRONMENT, *FILES), _names,
    ),
    Setting(
        "openid_editors", "group names",
        "none",
        "the provider's groups whose members are editors",
        (POLICY, ENVIRONMENT, *FILES), _names,
    ),
    Setting(
        "openid_viewers", "group names",
        "none",
        "the provider's groups whose members are viewers",
        (POLICY, ENVIRONMENT, *FILES), _names,
    ),
    Setting(
        "server", "address",
        "unset: the tool's own database",
        "a team server's address (`https://tools.example/expenses/`, where `deskwork serve` "
        "serves the tool): the tool's window opens it instead of a database of its own",
        (POLICY, ENVIRONMENT, *FILES), _server,
    ),
    Setting(
        "launch_stamp", "Unix time",
        "unset",
        "a Unix time; `--self-test` then reports time from it to first paint",
        (ENVIRONMENT,), _stamp,
    ),
)  # fmt: skip

_BY_NAME = {s.name: s for s in SETTINGS}
#: The settings a file (or IT's policy) may set.
_IN_FILES = tuple(s.name for s in SETTINGS if MACHINE_FILE in s.where)


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
class Layer:
    """The values one place sets: IT's policy, the machine's file, the user's file."""

    kind: str  # POLICY, MACHINE_FILE or USER_FILE
    place: str  # the file's path, or the registry key, or the profile
    values: dict[str, str]
    lines: dict[str, int] = field(default_factory=dict)  # key -> its line in the file
    locked: frozenset[str] = frozenset()  # what IT locked (a policy locks all it sets)

    @property
    def origin(self) -> str:
        return f"{self.kind} ({self.place})"

    def where(self, name: str) -> str:
        line = self.lines.get(name)
        return f"{self.place}, line {line}" if line else self.place


def machine_dir() -> Path:
    """Where IT keeps the machine's settings files, on this system."""
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA") or r"C:\ProgramData") / "deskwork"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/deskwork")
    return Path("/etc/deskwork")


def user_dir() -> Path:
    """Where the user's own settings files are (``~/.config/deskwork`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("deskwork", appauthor=False))


def _as_text(value: Any) -> str:
    """A TOML value as the text a setting reads (as if set in the environment)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    raise ValueError("is not text, a number, true or false, or a list of texts")


def read_file(path: Path, kind: str) -> Layer | None:
    """The settings file at ``path`` (None if there is none), every key and value checked
    now: a ``SettingError`` naming the file, the line and the key if one can't be used."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingError(f"{path}: {error}. Correct the file or remove it.") from None
    lines = {key: n for n, line in enumerate(text.splitlines(), 1)
             if (key := line.split("=", 1)[0].strip()) and "=" in line}  # fmt: skip
    values: dict[str, str] = {}
    locked: frozenset[str] = frozenset()
    for key, value in data.items():
        where = f"{path}, line {lines.get(key, '?')}"
        if key == "locked" and kind == MACHINE_FILE:
            names = value if isinstance(value, list) else [value]
            unknown = [str(n) for n in names if n not in _IN_FILES]
            if unknown:
                raise SettingError(f"{where}: locked names {', '.join(map(repr, unknown))}, "
                                   f"which {'is' if len(unknown) == 1 else 'are'} no setting "
                                   f"(they are: {', '.join(_IN_FILES)}).")  # fmt: skip
            locked = frozenset(names)
            continue
        values[key] = _checked(key, value, where)
    return Layer(kind, str(path), values, lines, locked)


def _checked(key: str, value: Any, where: str) -> str:
    """A file's or a policy's ``key = value`` as a setting's text, checked as the launch
    reads it; a ``SettingError`` naming ``where`` (the file and line) if it can't be used."""
    setting = _BY_NAME.get(key)
    if setting is None or key not in _IN_FILES:
        raise SettingError(f"{where}: there is no setting {key!r} "
                           f"(they are: {', '.join(_IN_FILES)}).")  # fmt: skip
    try:
        text = _as_text(value)
    except ValueError as reason:
        raise SettingError(f"{where}: {key} {reason}.") from None
    setting.read(text, where)
    return text


def read_policy(name: str) -> Layer | None:
    r"""The values the operating system's policy sets for tool ``name``, all locked: on
    Windows the ``HKLM\SOFTWARE\Policies\deskwork\NAME`` key group policy writes, on
    macOS the managed preferences profile ``com.deskwork.NAME``; none on Linux (there
    the machine's file locks)."""
    if sys.platform == "win32":
        return _registry_policy(name)
    if sys.platform == "darwin":
        return read_profile(Path("/Library/Managed Preferences") / f"com.deskwork.{name}.plist")
    return None


def read_profile(path: Path) -> Layer | None:
    """A managed preferences profile's values (a property list), all locked."""
    import plistlib

    if not path.is_file():
        return None
    try:
        data = plistlib.loads(path.read_bytes())
    except (OSError, plistlib.InvalidFileException, ValueError) as error:
        raise SettingError(f"{path}: {error}. Ask IT to correct the profile.") from None
    return _policy_layer(str(path), data)


def _policy_layer(place: str, data: Mapping[str, Any]) -> Layer:
    values = {key: _checked(key, value, place) for key, value in data.items()}
    return Layer(POLICY, place, values, locked=frozenset(values))


def _registry_policy(name: str) -> Layer | None:
    if sys.platform != "win32":
        return None
    import winreg

    key_path = rf"SOFTWARE\Policies\deskwork\{name}"
    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path)
    except OSError:
        return None
    data: dict[str, Any] = {}
    with key:
        index = 0
        while True:
            try:
                value_name, value, kind = winreg.EnumValue(key, index)
            except OSError:
                break
            yes_no = value_name in _BY_NAME and _BY_NAME[value_name].parse is _yes_no
            data[value_name] = bool(value) if kind == winreg.REG_DWORD and yes_no else value
            index += 1
    return _policy_layer(rf"HKLM\{key_path}", data)


@dataclass(frozen=True)
class Settings:
    """The settings in force, read once at launch: the environment's ``DESKWORK_*`` (and
    the user's locale), and for a tool ``name`` its policy and settings files."""

    environ: Mapping[str, str]
    layers: tuple[Layer, ...] = ()  # strongest first: policy, machine file, user file

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        machine: Path | None = None,
        user: Path | None = None,
    ) -> Settings:
        """The settings for tool ``name`` (its files in ``machine`` and ``user``, by
        default the system's places); with no name, the environment's alone."""
        source = os.environ if environ is None else environ
        kept = {k: v for k, v in source.items() if k.startswith("DESKWORK_") or k in USER_LOCALE}
        if name is None:
            return cls(kept)
        found = (
            read_policy(name),
            read_file((machine or machine_dir()) / f"{name}.toml", MACHINE_FILE),
            read_file((user or user_dir()) / f"{name}.toml", USER_FILE),
        )
        return cls(kept, tuple(layer for layer in found if layer is not None))

    def _layer(self, kind: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.kind == kind), None)

    def found(self, name: str) -> tuple[str | None, str] | None:
        """Setting ``name``'s text and where it came from, strongest first; None when
        nothing sets it (the text is None when IT locked it at its default)."""
        setting = _BY_NAME[name]
        policy, machine, user = (self._layer(k) for k in (POLICY, MACHINE_FILE, USER_FILE))
        if policy is not None and name in policy.values:
            return policy.values[name], f"{policy.origin}, locked"
        if machine is not None and name in machine.locked:
            return machine.values.get(name), f"{machine.origin}, locked"
        if self.environ.get(setting.variable):
            return self.environ[setting.variable], f"{ENVIRONMENT} ({setting.variable})"
        for layer in (user, machine):
            if layer is not None and name in layer.values:
                return layer.values[name], layer.origin
        return None

    def raw(self, name: str) -> str | None:
        """The value set for setting ``name``, or None when unset, blank or locked at
        its default."""
        found = self.found(name)
        return found[0] if found else None

    def value(self, name: str) -> Any:
        """Setting ``name``'s value as set (read by its kind), or None."""
        found = self.found(name)
        if found is None or found[0] is None:
            return None
        return _BY_NAME[name].read(found[0])

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

    @property
    def backup_dir(self) -> Path | None:
        """Where the tool's backups go (None: ``backups`` beside its database)."""
        found: Path | None = self.value("backup_dir")
        return found

    @property
    def restore(self) -> bool:
        """Whether staff may restore a backup."""
        found: bool | None = self.value("restore")
        return True if found is None else found

    def signing(self, system: str) -> str | None:
        """The command that signs what is built for ``system`` (linux, windows, macos)."""
        found: str | None = self.value(f"sign_{system}")
        return found

    @property
    def read_only(self) -> bool:
        """Staff can look but not change."""
        return bool(self.value("read_only"))

    @property
    def address(self) -> str:
        """Where ``deskwork serve`` listens."""
        return self.raw("address") or ADDRESS

    @property
    def workers(self) -> int:
        found: int | None = self.value("workers")
        return default_workers() if found is None else found

    @property
    def threads(self) -> int:
        found: int | None = self.value("threads")
        return THREADS if found is None else found

    def served(self) -> Served:
        """How ``deskwork serve`` serves a tool to its team."""
        given = {name: self.value(name) for name in ("session_hours", "proxies", "bulk_limit")}
        chosen = {name: value for name, value in given.items() if value is not None}
        public: str | None = self.value("public_url")
        if public is not None:
            from urllib.parse import urlsplit

            chosen["public_host"] = urlsplit(public).netloc
        exports: bool | None = self.value("viewer_exports")
        if exports is not None:
            chosen["viewer_exports"] = exports
        chosen["restores"] = self.restore
        return Served(**chosen, directory=self.directory(), openid=self.openid())

    def openid(self) -> OpenID | None:
        """The organisation's OpenID Connect provider for log-ins, if IT named one."""
        issuer: str | None = self.value("openid_issuer")
        if issuer is None:
            return None
        client_id, secret = self.raw("openid_client_id"), self.raw("openid_client_secret")
        if not client_id or not secret:
            raise SettingError(
                "DESKWORK_OPENID_ISSUER is set, but not both DESKWORK_OPENID_CLIENT_ID and "
                "DESKWORK_OPENID_CLIENT_SECRET: register the tool with the provider and set "
                "its client id and secret."
            )
        groups = tuple((role, names) for role in ("admin", "editor", "viewer")
                       if (names := self.value(f"openid_{role}s")))  # fmt: skip
        claim = self.raw("openid_groups_claim") or "groups"
        return OpenID(issuer, client_id, secret, groups_claim=claim, groups=groups)

    def directory(self) -> Directory | None:
        """The organisation's directory for log-ins, if IT named one."""
        url: str | None = self.value("ldap_url")
        if url is None:
            return None
        user: str | None = self.value("ldap_user")
        if user is None:
            raise SettingError(
                "DESKWORK_LDAP_URL is set but DESKWORK_LDAP_USER is not: say how a log-in "
                "name binds (uid={name},ou=people,dc=example,dc=org, or {name}@corp.example)."
            )
        groups = tuple((role, dns) for role in ("admin", "editor", "viewer")
                       if (dns := self.value(f"ldap_{role}s")))  # fmt: skip
        return Directory(url, user, groups)

    def explain(self, tool: Tool | None = None) -> list[Shown]:
        """Every setting's value in force for ``tool`` (or a plain Flask app, for None),
        with where it came from; a ``SettingError`` for a value that can't be used."""
        return [self._shown(s, tool) for s in SETTINGS]

    def _shown(self, setting: Setting, tool: Tool | None) -> Shown:
        found = self.found(setting.name)
        if found is not None and found[0] is not None:
            setting.read(found[0])  # refused here as it would be at launch
            return Shown(setting, "(set, not shown)" if setting.secret else found[0], found[1])
        if found is not None:  # locked at its default
            return Shown(setting, _default_value(setting.name), found[1])
        if setting.name == "locale":
            if tool is not None and tool.locale:
                return Shown(setting, tool.locale, f"{TOOL_FILE} (Tool(locale=...))")
            variable, session = self._user_locale()
            if session is not None:
                return Shown(setting, session, f"{USER} ({variable})")
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
    if name == "backup_dir":
        return "backups, beside the database"
    if name == "restore":
        return "yes"
    if name == "read_only":
        return "no"
    if name == "viewer_exports":
        return "yes"
    if name == "updates":
        return "yes"
    if name == "workers":
        return str(default_workers())
    if name == "ldap_url":
        return "unset: local accounts only"
    if name == "openid_issuer":
        return "unset: not offered"
    if name == "server":
        return "unset: the tool's own database"
    if name == "public_url":
        return "unset: any host name is answered"
    if name == "openid_groups_claim":
        return "groups"
    if name in ("session_hours", "proxies", "bulk_limit"):
        return f"{getattr(SERVED, name):g}"
    return {"address": ADDRESS, "threads": str(THREADS)}.get(name, "unset")
