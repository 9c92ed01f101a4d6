"""Hosting a plain Flask app as a desktop app.

What a Flask developer's app needs besides a server and a window, and how it can ask
for it in one table of its ``pyproject.toml``::

    [tool.deskwork]
    app = "flaskr:create_app"     # what `deskwork run` and `deskwork build` open here
    title = "Flaskr"              # the window's title and the executable's name
    setup = ["init-db"]           # flask commands run once, on the first launch
    self-test = ["/", "/auth/login"]  # pages the --self-test loads (default "/")
    data = ["schema.sql"]         # files a single-module app needs bundled

* **First launch**: the ``setup`` commands (the app's own ``flask`` commands, run
  in-process) run on the first launch of an instance folder, one that held nothing
  (``first_launch``); a folder with files in it counts as set up.
* **SECRET_KEY**: a development placeholder (``"dev"``, ``"change-me"`` and the like) is
  replaced by a secret made once for this install and kept in its data folder.
* **Built executables** (``use_data_folder``): the app's ``instance_path``, and the
  working folder, are ``<user data>/<name>/instance``, not the temporary folder a
  onefile build unpacks to, nor the folder beside the executable.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskwork.desktop import paths
from deskwork.desktop.settings import Settings
from deskwork.errors import CommandError, SetupError, ToolError

if TYPE_CHECKING:
    from flask import Flask

    from deskwork.loader import Target

log = logging.getLogger("deskwork")

SETUP_MARK = ".deskwork-setup"

#: SECRET_KEYs seen in tutorials and templates, compared lower-case with only letters
#: and digits kept: "dev" (Flask's tutorial), "you-will-never-guess" (the Mega-Tutorial).
PLACEHOLDER_KEYS = frozenset(
    {
        "", "dev", "development", "devkey", "test", "testing", "secret", "secretkey",
        "mysecretkey", "yoursecretkey", "supersecret", "supersecretkey", "changeme",
        "changethis", "changeit", "replaceme", "youwillneverguess", "notsecret",
        "insecure", "password", "key", "default",
    }
)  # fmt: skip


@dataclass(frozen=True)
class AppConfig:
    """The ``[tool.deskwork]`` table of a plain Flask app's ``pyproject.toml``."""

    app: str | None = None
    title: str | None = None
    setup: tuple[str, ...] = ()
    self_test: tuple[str, ...] = ("/",)
    data: tuple[str, ...] = ()
    #: The folder of the pyproject.toml it came from (``app`` and ``data`` are relative
    #: to it); None when there is none.
    folder: Path | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """What a built executable needs of it (``from_dict`` reads it back)."""
        return {"title": self.title, "setup": list(self.setup), "self-test": list(self.self_test)}

    @classmethod
    def from_dict(cls, table: dict[str, Any], folder: Path | None = None) -> AppConfig:
        where = "the app's settings"
        if folder is not None:
            where = f"[tool.deskwork] in {folder / 'pyproject.toml'}"
        known = {"app", "title", "setup", "self-test", "data"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ToolError(
                f"{where} has unknown keys: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})."
            )

        def text(key: str) -> str | None:
            value = table.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ToolError(f"{where}: {key} must be a non-empty string.")
            return value

        def texts(key: str) -> tuple[str, ...] | None:
            value = table.get(key)
            if value is None:
                return None
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                raise ToolError(f"{where}: {key} must be a list of strings.")
            return tuple(value)

        pages = texts("self-test") or ("/",)
        for page in pages:
            if not page.startswith("/"):
                raise ToolError(f"{where}: self-test pages start with '/': {page!r}.")
        return cls(
            app=text("app"),
            title=text("title"),
            setup=texts("setup") or (),
            self_test=pages,
            data=texts("data") or (),
            folder=folder,
        )


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at ``start`` (a file's folder) or above it."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def read_config(start: Path) -> AppConfig:
    """The ``[tool.deskwork]`` table of the nearest ``pyproject.toml`` (empty if none)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    pyproject = find_pyproject(start.resolve())
    if pyproject is None:
        return AppConfig()
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ToolError(f"{pyproject} could not be read: {error}") from error
    table = document.get("tool", {}).get("deskwork")
    if table is None:
        return AppConfig()
    if not isinstance(table, dict):
        raise ToolError(f"{pyproject}: [tool.deskwork] must be a table.")
    return AppConfig.from_dict(table, pyproject.parent)


def resolve_folder(text: str) -> str:
    """``deskwork run TEXT``'s target: a folder whose ``pyproject.toml`` names an ``app``
    (``[tool.deskwork] app = "flaskr:create_app"``) opens that app."""
    path = Path(text).expanduser()
    if not path.is_dir() or not (path / "pyproject.toml").is_file():
        return text
    config = read_config(path)
    return str(path / config.app) if config.app else text


def names_target(config: AppConfig, target: Target) -> bool:
    """Whether ``config.app`` is ``target`` (its file, or its package's folder)."""
    from deskwork.loader import split_target

    assert config.app is not None and config.folder is not None
    path = (config.folder / split_target(config.app)[0]).resolve()
    return target.file in (path, path / "__init__.py", path.with_suffix(".py"))


def describe(target: Target) -> tuple[str, str, AppConfig]:
    """A plain app's title, name (of its data folder, log and executable) and settings,
    from its ``[tool.deskwork]`` table if it has one."""
    from deskwork.names import ascii_name

    config = read_config(target.file)
    if config.app and config.folder and not names_target(config, target):
        config = AppConfig()  # the project's table is for its own app, not this one
    title = config.title or target.title
    return title, ascii_name(title) or "app", config


def is_placeholder(key: object) -> bool:
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    if not isinstance(key, str):
        return False
    return re.sub(r"[^a-z0-9]", "", key.lower()) in PLACEHOLDER_KEYS


def install_secret(folder: Path) -> str:
    """This install's own secret key, made once (only its owner may read it).

    The key is written whole to a file of its own, then linked into place: two launches
    at once agree on the first one in, and none ever reads half a key."""
    path = folder / "secret_key"
    folder.mkdir(parents=True, exist_ok=True)
    key = _read_key(path)
    if key:
        return key
    descriptor, name = tempfile.mkstemp(prefix="secret_key.", suffix=".partial", dir=folder)
    partial = Path(name)  # made readable by its owner only
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32) + "\n")
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(partial, path)  # fails if there is one: another launch was first, say
    except FileExistsError:
        if not _read_key(path):  # there, but damaged: replaced
            log.warning("%s was damaged: a new secret key replaces it", path)
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    key = _read_key(path)
    if not key:
        raise SetupError(f"Could not keep a secret key in {path}.")
    return key


def _read_key(path: Path) -> str | None:
    """The key kept at ``path``; None if there is none, or it is damaged."""
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return key if len(key) >= 32 and key.isalnum() else None


def replace_placeholder_secret(app: Flask, folder: Path) -> bool:
    """Give ``app`` this install's secret key if it has a placeholder; whether it did."""
    key = app.config.get("SECRET_KEY")
    if not is_placeholder(key):
        return False
    path = folder / "secret_key"
    app.config["SECRET_KEY"] = install_secret(folder)
    log.info(
        "The app's SECRET_KEY is a development placeholder (%r): this install's own "
        "secret key, kept in %s, is used instead",
        key if isinstance(key, str) and len(key) <= 24 else "...",
        path,
    )
    return True


def run_flask_command(app: Flask, args: list[str]) -> None:
    """Run one of the app's own ``flask`` commands in this process (``deskwork flask``)."""
    import click
    from flask.cli import FlaskGroup, routes_command, shell_command

    group = FlaskGroup(
        name="flask",
        create_app=lambda: app,
        add_default_commands=False,  # no `run`: deskwork serves it, behind its Guard
        load_dotenv=False,
        set_debug_flag=False,
    )
    group.add_command(routes_command)
    group.add_command(shell_command)
    # The app is this one: no --app (nor --env-file, --debug) to choose another.
    group.params = [p for p in group.params if p.name not in ("app", "env_file", "debug")]
    where = f"deskwork flask {shlex.join(args)}"
    try:
        # Without standalone mode, click returns the code a command exits with.
        code = group.main(args=args, prog_name="deskwork flask", standalone_mode=False)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as error:
        raise CommandError(f"{where}: {error.format_message()}", error.exit_code) from error
    except click.Abort:
        raise CommandError(f"{where}: aborted.") from None
    except SystemExit as done:  # sys.exit() in a command
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        raise CommandError(f"{where} stopped with code {code}.", code)


#: Instance folders that held nothing before their app was made (``use_data_folder``).
_FRESH: dict[str, bool] = {}


def first_launch(app: Flask, commands: tuple[str, ...], *, fresh: bool | None = None) -> list[str]:
    """Run the set-up ``commands`` on the first launch of the app's instance folder; the
    commands it ran.

    A first launch is one whose instance folder holds no data (settings files such as
    IT's ``config.py`` may be there): ``fresh`` says whether it did before the app was
    made (a built app knows), else what it holds now counts (run from source, a
    developer's folder with their data in it is taken as set up and a second ``init-db``
    never wipes it). The plan is noted in the folder (``.deskwork-setup``)
    before the first command and each command once done: a set-up cut short resumes at
    the next launch, and commands added to ``setup`` later never run on a folder that was
    set up before (they would meet its data)."""
    if not commands:
        return []
    instance = Path(app.instance_path)
    mark = instance / SETUP_MARK
    if mark.is_file():
        plan, done = _read_mark(mark)
    else:
        if fresh is None:
            fresh = not holds_data(instance)
        if not fresh:
            log.info(
                "%s already held files: taken as set up (%s not run)",
                instance, ", ".join(f"flask {c}" for c in commands),
            )  # fmt: skip
            _write_mark(mark, [], [])
            return []
        plan, done = list(commands), []
        _write_mark(mark, plan, done)
    later = [c for c in commands if c not in plan]
    if later:
        log.info("Not run (added to the set-up after the first launch): %s", ", ".join(later))
    ran = []
    for command in plan:
        if command in done:
            continue
        log.info("First launch: running flask %s", command)
        try:
            run_flask_command(app, shlex.split(command))
        except CommandError as error:
            log.error("First-launch set-up failed", exc_info=True)
            raise SetupError(f"The first-launch set-up failed: {error}") from error
        except Exception as error:
            log.error("First-launch set-up failed", exc_info=True)
            raise SetupError(
                f"The first-launch set-up (flask {command}) failed: {type(error).__name__}: {error}"
            ) from error
        done.append(command)
        ran.append(command)
        _write_mark(mark, plan, done)
    return ran


#: Files an instance folder may hold before its first launch: settings (IT's
#: ``config.py``, say), not data.
SETTINGS_SUFFIXES = frozenset({".py", ".cfg", ".toml", ".ini", ".json", ".yaml", ".yml", ".env"})


def holds_data(folder: Path) -> bool:
    """Whether ``folder`` holds anything but settings files (a database, uploads...)."""
    if not folder.is_dir():
        return False
    return any(
        entry.is_dir() or (entry.suffix.lower() not in SETTINGS_SUFFIXES and entry.name != ".env")
        for entry in folder.iterdir()
        if entry.name != SETUP_MARK
    )


def _read_mark(mark: Path) -> tuple[list[str], list[str]]:
    try:
        noted = json.loads(mark.read_text(encoding="utf-8"))
        return list(noted["plan"]), list(noted["done"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SetupError(
            f"{mark} is damaged ({error}): delete it only if the app's data is safe to set "
            "up again."
        ) from error


def _write_mark(mark: Path, plan: list[str], done: list[str]) -> None:
    mark.parent.mkdir(parents=True, exist_ok=True)
    partial = mark.with_name(mark.name + ".partial")
    partial.write_text(json.dumps({"plan": plan, "done": done}, indent=1), encoding="utf-8")
    os.replace(partial, mark)


def app_folder(name: str, settings: Settings | None = None) -> Path:
    """``<user data>/<name>``: the app's secret key, and its instance folder when built."""
    return paths.data_dir(settings) / name


def prepare(app: Any, config: AppConfig, name: str, settings: Settings | None = None) -> None:
    """What a launch does to a plain Flask app before serving it (any other WSGI app is
    served as it is)."""
    from flask import Flask

    if not isinstance(app, Flask):
        return
    replace_placeholder_secret(app, app_folder(name, settings))
    fresh = _FRESH.get(app.instance_path)
    for command in first_launch(app, config.setup, fresh=fresh):
        log.info("First-launch set-up done: flask %s", command)


def use_data_folder(name: str, settings: Settings | None = None) -> Path:
    """In a built executable, before the app is made: Flask apps find their instance
    folder in the user data folder, which is also the working folder."""
    import flask

    instance = app_folder(name, settings) / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    _FRESH[str(instance)] = not holds_data(instance)  # before the app adds its files

    def auto_find_instance_path(_app: Any) -> str:
        return str(instance)

    # Flask documents this method as the one to override; the app's own
    # Flask(instance_path=...) still wins.
    flask.Flask.auto_find_instance_path = auto_find_instance_path  # type: ignore[method-assign, assignment]
    os.chdir(instance)
    return instance
