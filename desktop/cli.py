"""The ``deskwork`` command: demo, run, flask, backup, restore, settings, new, build.

Errors reach the user as one line and an exit code (``DeskworkError.exit_code``); the
traceback goes to the log file only (``deskwork.desktop.entry``).
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from deskwork import Tool, __version__
from deskwork.errors import AlreadyOpen, NotAllowed

F = TypeVar("F", bound=Callable[..., Any])


def demo_file() -> Path:
    """The bundled demo tool's file, wherever deskwork is installed (found, not run)."""
    import importlib.util

    spec = importlib.util.find_spec("deskwork.demo")
    assert spec is not None and spec.origin is not None  # it ships with deskwork
    return Path(spec.origin)


def _echo(message: str) -> None:
    click.echo(message)  # copes with sys.stdout being None in windowed builds


database_option = click.option(
    "--db",
    "database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Database file to use instead of the one in the user data folder.",
)


def launch_options(*, database: bool = True) -> Callable[[F], F]:
    """The options every way of opening a tool shares (CLI and built executables);
    ``--db`` is for declared tools only."""
    options = [
        click.option(
            "--browser", is_flag=True, help="Serve for a web browser instead of a window."
        ),
        click.option(
            "--self-test",
            is_flag=True,
            help="Open the window, wait until the home page renders, close, exit 0.",
        ),
    ]
    if database:
        options.insert(0, database_option)

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def open_tool(tool: Tool, *, icon: Path | None = None, **options: Any) -> NoReturn:
    from deskwork.desktop.launch import launch

    code = launch(tool, icon=icon, echo=_echo, **options)
    exit_when_closed(code)


def exit_when_closed(code: int, grace: float = 2.0) -> NoReturn:
    """End the process with ``code`` once the window has closed and the server stopped.

    pywebview injects its script after each page load on a thread of its own, which
    waits for ever if the window closes first, and would keep the process alive: past a
    short grace the process ends without it (the log says so).
    """
    main = threading.main_thread()
    left = [t for t in threading.enumerate() if t is not main and not t.daemon]
    deadline = time.monotonic() + grace
    for thread in left:
        thread.join(max(deadline - time.monotonic(), 0))
    stuck = [t.name for t in left if t.is_alive()]
    if stuck:
        logging.getLogger("deskwork").warning("Left behind at exit: %s", ", ".join(stuck))
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        os._exit(code)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="deskwork")
def cli() -> None:
    """deskwork: internal tools in a few lines of Python, in a native window."""


@cli.command()
@launch_options()
@click.option("--reload", is_flag=True, help="Development mode: restart on code changes.")
def demo(reload: bool, **options: Any) -> None:
    """Open the bundled demo tool, "Expenses"."""
    _open(str(demo_file()), reload=reload, **options)


@cli.command()
@click.argument("target")
@launch_options()
@click.option("--reload", is_flag=True, help="Development mode: restart on code changes.")
def run(target: str, reload: bool, **options: Any) -> None:
    """Open TARGET: a tool (a .py file, or a folder made by 'deskwork new'), or a plain
    Flask app (a module, a package folder, or a folder with app.py, that has app,
    application or create_app()). FILE:name picks the tool, app or factory."""
    _open(target, reload=reload, **options)


def _open(text: str, *, reload: bool, **options: Any) -> None:
    from deskwork.desktop.hosting import describe, resolve_folder
    from deskwork.loader import load_target

    text = resolve_folder(text)
    if reload:
        from deskwork.desktop.reload import run_with_reload

        if options["self_test"]:
            raise click.UsageError("--self-test and --reload do not go together.")
        sys.exit(run_with_reload(text, options["database"], echo=_echo))
    target = load_target(text)
    icon = target.folder / "icon.png"
    if target.tool is not None:
        open_tool(target.tool, icon=icon if icon.is_file() else None, **options)
    if options["database"] is not None:
        raise click.UsageError("--db is for declared tools: a Flask app keeps its own data.")
    from deskwork.desktop.launch import launch

    del options["database"]
    title, name, config = describe(target)
    code = launch(
        target.app, title=title, name=name, config=config,
        icon=icon if icon.is_file() else None, echo=_echo, **options,
    )  # fmt: skip
    exit_when_closed(code)


@cli.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.option(
    "--app",
    "target",
    default=".",
    show_default=True,
    help="The Flask app, as for 'deskwork run' (a folder whose pyproject.toml names it).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def flask(target: str, args: tuple[str, ...]) -> None:
    """Run the app's own flask commands (deskwork flask init-db), as 'flask --app' would."""
    from deskwork.desktop.hosting import resolve_folder, run_flask_command
    from deskwork.loader import load_target

    text = resolve_folder(target)
    found = load_target(text)
    if found.app is None:
        raise click.UsageError(f"{text} is a deskwork tool, not a Flask app: no flask commands.")
    run_flask_command(found.app, list(args) or ["--help"])


def _tool_and_database(
    target: str, database: Path | None, *, doing: str = "backup and restore are",
    team: bool = False,
) -> tuple[Tool, Path]:  # fmt: skip
    """The declared tool at ``target`` and its database (``--db`` or its usual one). With
    ``team``, a plain Flask app's team tool (``_team_target``)."""
    from deskwork.desktop import paths

    if team:
        tool, _app, _config = _team_target(target)
    else:
        found = _target(target)
        if found.tool is None:
            raise click.UsageError(
                f"{target} is a plain Flask app: its data is its own (its instance folder). "
                f"{doing} for declared tools."
            )
        tool = found.tool
    return tool, (database or paths.default_database(tool.name)).resolve()


def _target(target: str) -> Any:
    from deskwork.loader import load_target

    if target == "demo" and not Path(target).exists():  # the bundled demo, as 'deskwork demo'
        target = str(demo_file())
    return load_target(target)


def _team_target(target: str) -> tuple[Tool, Any, Any]:
    """What ``deskwork serve`` serves at ``target``: a declared tool (no app, no app
    settings); or, for a plain Flask app, the tool whose database keeps its people
    (``deskwork.team_door``), the app and its ``[tool.deskwork]`` settings."""
    from deskwork.desktop.hosting import describe
    from deskwork.team_door import team_tool

    found = _target(target)
    if found.tool is not None:
        return found.tool, None, None
    title, name, config = describe(found)
    return team_tool(title, name), found.app, config


def _backups_of(tool: Any, database: Path) -> Any:
    from deskwork.db.backups import Backups
    from deskwork.desktop.settings import Settings

    settings = Settings.load(name=tool.name)
    return Backups(database, folder=settings.backup_dir, keep=settings.backups)


@cli.command()
@click.argument("target")
@database_option
def backup(target: str, database: Path | None) -> None:
    """Back up the database of the tool at TARGET (a tool's file or folder, or demo) now
    (the newest DESKWORK_BACKUPS, 10, are kept, beside it in backups/)."""
    tool, path = _tool_and_database(target, database)
    made = _backups_of(tool, path).take("manual")
    _echo(f"Backed up {tool.title}: {made.path} ({made.size:,} bytes)")


@cli.command()
@click.argument("target")
@click.argument("backup", required=False)
@database_option
def restore(target: str, backup: str | None, database: Path | None) -> None:
    """Restore the tool at TARGET (a tool's file or folder, or demo) from BACKUP (a file,
    or a number from the list this command prints without one). What the database holds
    now is backed up first."""
    from deskwork.db.storage import Storage
    from deskwork.desktop import single
    from deskwork.desktop.settings import Settings

    tool, path = _tool_and_database(target, database)
    backups = _backups_of(tool, path)
    found = backups.all()
    if backup is None:
        if not found:
            _echo(f"No backups of {tool.title} yet in {backups.folder}.")
            return
        _echo(f"Backups of {tool.title} in {backups.folder}, newest first:")
        for number, item in enumerate(found, 1):
            _echo(f"  {number:>2}. {item.at:%Y-%m-%d %H:%M:%S}  {item.why:<14} {item.path.name}")
        again = f" --db {shlex.quote(str(database))}" if database is not None else ""
        _echo(f"Restore one with:  deskwork restore {shlex.quote(target)}{again} NUMBER")
        return
    said = Settings.load(name=tool.name)
    if not said.restore:
        where = (said.found("restore") or ("", "the restore setting"))[1]
        raise NotAllowed(f"Restoring a backup of {tool.title} is turned off on this desk "
                         f"(restore = no, from {where}): ask IT. Nothing was changed.")  # fmt: skip
    if backup.isdigit() and not Path(backup).exists():
        if not 1 <= int(backup) <= len(found):
            raise click.BadParameter(f"there are {len(found)} backups: pick 1 to {len(found)}.")
        chosen = found[int(backup) - 1].path
    else:
        chosen = Path(backup).resolve()
    lock = single.InstanceLock(single.lock_beside(path))
    if not lock.acquire():
        raise AlreadyOpen(
            f"{tool.title} is open: close it first, or use Restore… in its File menu."
        )
    try:
        # An older backup's tables are brought up to the tool's declarations.
        kept = Storage(path).restore(tool, backups, chosen, bin_days=said.bin_days)
    finally:
        lock.release()
    _echo(f"Restored {tool.title} from {chosen.name}. What it held before: {kept.path}")


def _table_page(tool: Tool, name: str) -> Any:
    """The table page ``name`` (its address word), or the first of the table ``name``."""
    from deskwork.model import TablePage

    pages = {p.slug: p for p in tool.pages.values() if isinstance(p, TablePage)}
    page = pages.get(name) or next((p for p in pages.values() if p.table.name == name), None)
    if page is None:
        raise click.BadParameter(
            f"{tool.title} has no table page {name!r}: it has {', '.join(pages) or 'none'}.",
            param_hint="--table",
        )
    return page


@cli.command()
@click.argument("target")
@click.option("--table", "name", required=True,
              help="The table page to export (its address word, as in /tables/NAME), or "
              "the table whose page it is.")  # fmt: skip
@click.option("--where", "where", multiple=True, metavar="WORD=VALUE",
              help="A word of the table page's address, as the page writes it: "
              "category=Travel, date.in=this-month, amount.min=100, sort=-amount, q=taxi, "
              "cols=date (again for more).")  # fmt: skip
@click.option("--format", "key", type=click.Choice(sorted(("csv", "excel-csv", "xlsx"))),
              help="csv (UTF-8, ',' and '.' decimals), excel-csv (';' and ',' decimals, "
              "as Excel expects in much of Europe) or xlsx (default: from the file's "
              "name).")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              required=True, help="The file to write ('-': the standard output).")  # fmt: skip
@database_option
def export(
    target: str, name: str, where: tuple[str, ...], key: str | None, output: str,
    database: Path | None,
) -> None:  # fmt: skip
    """Export the rows of a table page of the tool at TARGET (a tool's file or folder, or
    demo) as it would show them with the address words given, to a CSV file or an Excel
    workbook: written under a temporary name, renamed when complete."""
    from werkzeug.datastructures import MultiDict

    from deskwork import exports
    from deskwork.db.storage import Storage
    from deskwork.errors import ExportError
    from deskwork.filters import read_view, unknown_words

    tool, path = _tool_and_database(target, database)
    page = _table_page(tool, name)
    args: MultiDict[str, str] = MultiDict()
    for pair in where:
        word, equals, value = pair.partition("=")
        if not equals or not word.strip():
            raise click.BadParameter(f"{pair!r} is not WORD=VALUE.", param_hint="--where")
        args.add(word.strip(), value)
    view = read_view(page, args)
    unknown = unknown_words(page, args)
    if unknown:
        view.problems.append(unknown)
    if view.problems:
        raise click.BadParameter(" ".join(view.problems), param_hint="--where")
    key = key or ("xlsx" if output.lower().endswith(".xlsx") else "csv")
    fmt = exports.FORMATS[key]
    if not path.exists():
        raise ExportError(f"{tool.title} has no data yet: {path} does not exist.")
    with Storage(path).open() as db:
        sheet = exports.page_sheet(tool, db, page.slug, args, fmt)
        chunks = exports.encode(sheet, fmt)
        if output == "-":
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            return
        try:
            exports.write_file(chunks, output)
        except OSError as error:
            raise ExportError(
                f"{output} could not be written: {error.strerror or error}."
            ) from None
    _echo(f"Exported {page.table.counted(sheet.done)} to {output}")


@cli.command(name="import")
@click.argument("target")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--table", "name", required=True,
              help="The table to import into (its name, or its table page's address "
              "word).")  # fmt: skip
@click.option("--sheet", help="A workbook's sheet to read (default: the first).")
@click.option("--day-first/--month-first", "day_first", default=None,
              help="How to read dates such as 03/04/2025 where the file doesn't tell.")  # fmt: skip
@click.option("--unknown-ids-as-new", "unknown_ids_new", is_flag=True,
              help="Import rows whose ID is no record here (a file from another copy of "
              "the tool) as new records, instead of refusing them.")  # fmt: skip
@click.option("--dry-run", is_flag=True,
              help="Check every row and say what would change; save nothing.")  # fmt: skip
@database_option
def import_file(
    target: str, file: Path, name: str, sheet: str | None, day_first: bool | None,
    unknown_ids_new: bool, dry_run: bool, database: Path | None,
) -> None:  # fmt: skip
    """Import FILE (CSV or an Excel workbook) into a table of the tool at TARGET: every
    row checked as the table's form checks it, then all saved in one transaction (one
    Undo in the tool takes it back), or nothing if any row is wrong."""
    from deskwork import imports, locales, reading
    from deskwork.db.storage import Storage
    from deskwork.desktop.settings import Settings
    from deskwork.errors import NotDone
    from deskwork.model import FormPage

    tool, path = _tool_and_database(target, database)
    table = tool.tables.get(name) or _table_page(tool, name).table
    page = tool.form_for(table) or FormPage(table.name, table, table.name)
    settings_now = Settings.load(name=tool.name)
    found = reading.read(file.name, file.read_bytes(), sheet=sheet,
                         max_rows=settings_now.import_rows)  # fmt: skip
    locale = locales.chosen_locale(settings_now.locale, tool.locale, settings_now.user_locale)
    if not path.exists():
        raise NotDone(f"{tool.title} has no data yet: {path} does not exist (open it once).")
    # While the tool is open too: the import is one write transaction, as a save is.
    with Storage(path).open() as db, locales.using(locales.for_locale(locale)):
        checked = imports.check(db, page, found, day_first=day_first,
                                unknown_ids_new=unknown_ids_new)  # fmt: skip
        for note in found.notes:
            _echo(note)
        if checked.ignored:
            _echo(f"Not imported (no field of that name): {', '.join(checked.ignored)}.")
        _echo(checked.summary())
        for row in checked.bad[:50]:
            for column, why in row.errors.items():
                label = table.fields[column].label if column in table.fields else (
                    "ID" if column == imports.ID else "the row")  # fmt: skip
                _echo(f"  row {row.number}, {label}: {why}")
        if not checked.ready:
            raise NotDone(checked.refusal())
        if dry_run:
            _echo("Dry run: nothing was saved.")
            return
        action, new, changed = imports.commit(db, checked, label=f"Imported {file.name}")
    if action is None:
        _echo("Nothing to import: every row is there already.")
    else:
        _echo(f"Imported {table.counted(new + changed)} from {file.name}: {new:,} new, "
              f"{changed:,} changed, in one transaction.")  # fmt: skip


@cli.command()
@click.argument("target")
def settings(target: str) -> None:
    """Print the settings in force for TARGET (a tool, a Flask app, or demo) and where
    each value came from: the environment, the tool file, the user's session, or the
    default. A value that can't be used is an error here, as it is at launch."""
    from deskwork.desktop.hosting import describe, resolve_folder
    from deskwork.desktop.settings import Settings
    from deskwork.loader import load_target

    if target == "demo" and not Path(target).exists():
        target = str(demo_file())
    found = load_target(resolve_folder(target))
    name = found.tool.name if found.tool is not None else describe(found)[1]
    shown = Settings.load(name=name).explain(found.tool)
    width = max(len(s.setting.variable) for s in shown)
    _echo(f"Settings of {found.title}:")
    for item in shown:
        _echo(f"  {item.setting.variable:<{width}}  {item.value}  ({item.origin})")


@cli.command()
@click.argument("url")
@click.option("--title", help="The window's title (default: the server's name).")
def connect(url: str, title: str | None) -> None:
    """Open the team's server at URL (deskwork serve) in the native window: its log-in
    page, then its pages; while it can't be reached the window says so and tries again."""
    from deskwork.desktop.connect import connect as open_server

    exit_when_closed(open_server(url, title=title))  # (pywebview may leave a thread waiting)


def _checked_address(value: str | None) -> str | None:
    from deskwork.desktop.settings import SETTINGS

    if value is None:
        return None
    try:
        return str(next(s for s in SETTINGS if s.name == "address").parse(value))
    except ValueError as reason:
        raise click.BadParameter(f"{value!r} {reason}.") from None


@cli.command()
@click.argument("target")
@database_option
@click.option("--address", callback=lambda _ctx, _param, value: _checked_address(value),
              help="Where to listen, HOST:PORT (the address setting; default "
              "127.0.0.1:8000; 0.0.0.0:8000 for every network interface).")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes (the workers setting; default: the cores, "
              "up to 8).")  # fmt: skip
def serve(target: str, database: Path | None, address: str | None, workers: int | None) -> None:
    """Serve the tool (or plain Flask app) at TARGET to a team: people log in (add them
    with deskwork users), each with a role; several worker processes share its one
    database file. Behind the organisation's reverse proxy; logs in the combined format on
    standard output."""
    from deskwork.desktop.hosting import prepare
    from deskwork.desktop.settings import Settings
    from deskwork.desktop.team_server import serve as serve_tool

    tool, app, config = _team_target(target)
    given = {"DESKWORK_ADDRESS": address, "DESKWORK_WORKERS": str(workers) if workers else None}
    environ = {**os.environ, **{k: v for k, v in given.items() if v is not None}}
    settings = Settings.load(environ, name=tool.name)
    for setting in ("address", "workers", "threads"):
        settings.value(setting)  # a value that can't be used stops here, saying which
    settings.served()  # and so do the log-in's settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s", stream=sys.stderr)  # fmt: skip
    if app is not None:  # a plain app's secret key and first-launch set-up, as on a desk
        prepare(app, config, tool.name, settings)
    path = database.resolve() if database else None
    sys.exit(serve_tool(tool, path, settings, target=target, echo=_echo, app=app))


@cli.command()
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder to create the project in.",
)
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A spreadsheet (.xlsx, .xls, .ods) or CSV file: the tool gets a table "
              "typed from its columns, and its rows as first data.")  # fmt: skip
@click.option("--sheet", help="With --from: the workbook's sheet to read (default: the first).")
@click.option("--day-first/--month-first", "day_first", default=None,
              help="With --from: how to read dates such as 03/04/2025 where the file "
              "doesn't tell.")  # fmt: skip
def new(
    name: str, parent: Path, source: Path | None, sheet: str | None, day_first: bool | None
) -> None:
    """Write a small working tool project called NAME; with --from FILE, a tool made from
    a spreadsheet or CSV file, its rows imported into the tool's database."""
    if source is not None:
        from deskwork.desktop.from_sheet import make_project

        folder = make_project(name, parent, source, sheet=sheet, day_first=day_first,
                              echo=_echo)  # fmt: skip
    elif sheet is not None or day_first is not None:
        raise click.UsageError("--sheet, --day-first and --month-first go with --from FILE.")
    else:
        from deskwork.desktop.scaffold import write_project

        folder = write_project(name, parent)
    _echo(f"Created {folder}. Open it with:  deskwork run {folder}")
    _echo(f"Package it with:  deskwork build {folder}")


@cli.command()
@click.argument("target")
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    help="Where the executable goes.",
)
@click.option("--onedir", is_flag=True, help="A folder instead of one file (starts faster).")
@click.option("--name", help="Executable name (default: the tool's name).")
@click.option(
    "--installer", is_flag=True,
    help="Also make this OS's installer from a folder build (on Linux, a .deb).",
)  # fmt: skip
def build(target: str, dist: Path, onedir: bool, name: str | None, installer: bool) -> None:
    """Package TARGET (a tool or a Flask app, as 'deskwork run' takes it) as one
    executable for this OS, in dist/; with --installer, its installer too."""
    from deskwork.desktop.building import build_executable, build_installer, sign_program

    if installer:
        for made in build_installer(target, dist=dist, name=name, echo=_echo):
            _echo(f"Built {made}")
        return
    result = build_executable(target, dist=dist, onedir=onedir, name=name, echo=_echo)
    _echo(f"Built {result}")
    for line in sign_program(result):
        _echo(line)


@cli.group()
def users() -> None:
    """The people who log in to a served tool (deskwork serve), and their roles."""


def _at_the_command_line() -> str:
    """Who changes people from the command line, for the audit trail."""
    import getpass

    try:
        return f"{getpass.getuser()} (command line)"
    except Exception:  # no user name to be had (a container's)
        return "command line"


def _accounts_of(target: str, database: Path | None) -> tuple[Any, Any]:
    """The tool at ``target`` and its people (its database must exist)."""
    from deskwork.db.storage import Storage
    from deskwork.errors import NotDone

    tool, path = _tool_and_database(target, database, team=True)
    if not path.exists():
        raise NotDone(f"{tool.title} has no data yet: {path} does not exist (open or serve it "
                      "once).")  # fmt: skip
    storage = Storage(path)
    storage.prepare(tool, seed=False, backups=_backups_of(tool, path))  # its tables up to date
    return tool, storage


def _new_password(name: str) -> str:
    """Asked twice, unseen, at a terminal; else one line of standard input (a script's)."""
    if sys.stdin.isatty():
        return str(click.prompt(f"Password for {name}", hide_input=True,
                                confirmation_prompt="Again, to be sure"))  # fmt: skip
    return sys.stdin.readline().rstrip("\r\n")  # the line's end only (Windows' too)


@users.command(name="add")
@click.argument("target")
@click.argument("name")
@click.option("--role", required=True,
              help="viewer: sees; editor: adds and changes; admin: all, and people; or a "
              "role the tool declares (tool.role).")  # fmt: skip
@database_option
def users_add(target: str, name: str, role: str, database: Path | None) -> None:
    """Let NAME log in to TARGET with ROLE; the password is asked at the terminal (or read
    from standard input)."""
    from deskwork.accounts import Accounts, check_role

    tool, storage = _accounts_of(target, database)
    check_role(role, tool.roles)  # said before the password is asked for
    password = _new_password(name)
    with storage.open() as db:
        account = Accounts(db, by=_at_the_command_line(), roles=tool.roles).add(
            name, role, password
        )
    _echo(f"{account.name} may now log in to {tool.title} as {account.role}.")


@users.command(name="remove")
@click.argument("target")
@click.argument("name")
@database_option
def users_remove(target: str, name: str, database: Path | None) -> None:
    """NAME may no longer log in to TARGET (their sessions end; what they did stays in
    the history)."""
    from deskwork.accounts import Accounts

    tool, storage = _accounts_of(target, database)
    with storage.open() as db:
        account = Accounts(db, by=_at_the_command_line()).remove(name)
    _echo(f"{account.name} may no longer log in to {tool.title}.")


@users.command(name="reset")
@click.argument("target")
@click.argument("name")
@click.option("--role", help="A new role instead of a new password.")
@database_option
def users_reset(target: str, name: str, role: str | None, database: Path | None) -> None:
    """A new password for NAME (asked as for add), or with --role a new role; either way
    every session of theirs so far ends."""
    from deskwork.accounts import Accounts

    tool, storage = _accounts_of(target, database)
    with storage.open() as db:
        accounts = Accounts(db, by=_at_the_command_line(), roles=tool.roles)
        if role is not None:
            account = accounts.set_role(name, role)
            _echo(f"{account.name} is now {account.role} in {tool.title}; logged out everywhere.")
            return
        accounts.find(name)  # no one of that name: said before the password is asked for
        password = _new_password(name)
        account = accounts.reset(name, password)
    _echo(f"{account.name} has a new password for {tool.title}; logged out everywhere.")


@users.command(name="token")
@click.argument("target")
@click.argument("name")
@click.option("--label", default="script", show_default=True,
              help="What the token is for, as its list shows it.")  # fmt: skip
@click.option("--revoke", is_flag=True, help="Revoke every API token of NAME instead.")
@database_option
def users_token(target: str, name: str, label: str, revoke: bool, database: Path | None) -> None:
    """A new API token for NAME, for scripts calling the served tool's JSON API with NAME's
    role (Authorization: Bearer TOKEN): printed once, on its own line; or --revoke."""
    from deskwork.accounts import Accounts
    from deskwork.db import audit, sessions

    tool, storage = _accounts_of(target, database)
    with storage.open() as db:
        account = Accounts(db).find(name)
        if revoke:
            gone = sessions.revoke_api_keys(db, account.name)
            audit.record(db, "API tokens revoked", _at_the_command_line(),
                         detail=f"{account.name}: {gone}")  # fmt: skip
            _echo(f"Revoked {gone} API token{'' if gone == 1 else 's'} of {account.name}.")
            return
        key = sessions.new_api_key(db, account.name, label.strip()[:100] or "script")
        audit.record(db, "API token made", _at_the_command_line(),
                     detail=f"{account.name}: {label}")  # fmt: skip
    click.echo(f"A new API token for {account.name} ({account.role}) in {tool.title}, shown "
               "this once: keep it as a password.", err=True)  # fmt: skip
    _echo(key)


@users.command(name="list")
@click.argument("target")
@database_option
def users_list(target: str, database: Path | None) -> None:
    """The people who may log in to TARGET, with their roles."""
    from deskwork.accounts import Accounts

    tool, storage = _accounts_of(target, database)
    with storage.open() as db:
        people = Accounts(db).all()
    if not people:
        _echo(f"No one may log in to {tool.title} yet: deskwork users add {target} NAME "
              "--role admin")  # fmt: skip
        return
    width = max(len(p.name) for p in people)
    for person in people:
        _echo(f"{person.name:<{width}}  {person.role:<6}  since {person.created[:10]}")


@cli.group()
def keys() -> None:
    """Signing keys for releases."""


@keys.command(name="new")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def keys_new(file: Path) -> None:
    """Make a key pair for signing releases: the private key in FILE (never overwritten;
    keep it secret, and keep a copy), the public key in FILE.pub."""
    from deskwork.desktop.updates import new_keys

    public = new_keys(file)
    _echo(f"Private key (keep it secret, keep a copy): {file}")
    _echo(f"Public key, in {file.with_suffix('.pub')}:")
    _echo(public)
    _echo("Releases signed with it are trusted by builds 'deskwork release --key' makes, or "
          f'by IT\'s settings: update_key = "{public}"')  # fmt: skip


@cli.command()
@click.argument("target")
@click.option("--to", "places", required=True, multiple=True, metavar="PLACE",
              help="A folder (a network share) or an http(s) address taking PUT; repeat it "
                   "to publish in several places (the first is built in).")  # fmt: skip
@click.option("--key", "key_file", required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The private key from 'deskwork keys new'.")  # fmt: skip
@click.option("--dist", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"),
              help="Where the executable is built.")  # fmt: skip
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="How long its manifest holds (desks refuse it after).")  # fmt: skip
def release(target: str, places: tuple[str, ...], key_file: Path, dist: Path, days: int) -> None:
    """Build TARGET as one file that looks for updates at the first PLACE, sign it, and
    publish it with a signed manifest: desks running an earlier version download it,
    verify it, and put it in place at their next launch."""
    from deskwork.desktop.building import release_executable

    for line in release_executable(target, places=list(places), key_file=key_file, dist=dist,
                                   days=days, echo=_echo):  # fmt: skip
        _echo(line)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: every error becomes one line (or a message box) and an exit code
    (``deskwork.desktop.entry``)."""
    from deskwork.desktop.entry import run_command

    run_command(cli, name="deskwork", args=argv)
