"""A plain Flask app as a desktop app: its [tool.deskwork] table, its first-launch set-up,
its secret key, `deskwork flask`, and what `deskwork build` bundles of it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask

from conftest import DESKWORK, deskwork_env, run
from deskwork.desktop import hosting
from deskwork.desktop.hosting import AppConfig, CommandError, SetupError
from deskwork.errors import ToolError

PYPROJECT = """\
[project]
name = "shelf"
version = "1.0"

[tool.deskwork]
app = "shelf:create_app"
title = "Book shelf"
setup = ["init-db", "add-book 'First book'"]
self-test = ["/", "/about"]
"""

INIT = """\
import os
import sqlite3
from contextlib import closing
from importlib.resources import files

import click
from flask import Flask, current_app


def db():
    return closing(sqlite3.connect(current_app.config["DATABASE"], isolation_level=None))


def create_app():
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev", DATABASE=os.path.join(app.instance_path, "shelf.sqlite")
    )
    os.makedirs(app.instance_path, exist_ok=True)

    @app.cli.command("init-db")
    def init_db():
        with db() as connection, current_app.open_resource("schema.sql") as schema:
            connection.executescript(schema.read().decode())
        click.echo("Initialized the database.")

    @app.cli.command("add-book")
    @click.argument("title")
    def add_book(title):
        with db() as connection:
            connection.execute("insert into book (title) values (?)", [title])

    @app.cli.command("fail")
    def fail():
        raise click.ClickException("the shelf is full")

    @app.cli.command("stop")
    @click.pass_context
    def stop(context):
        context.exit(3)

    @app.get("/")
    def home():
        with db() as connection:
            titles = [t for (t,) in connection.execute("select title from book order by id")]
        motto = files("shelf").joinpath("data/motto.txt").read_text(encoding="utf-8")
        return f"<h1>Book shelf</h1><p>{motto}</p><ul>" + "".join(
            f"<li>{t}</li>" for t in titles
        ) + "</ul>"

    @app.get("/about")
    def about():
        return "<h1>About</h1>"

    return app
"""


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """A package-style Flask app project (flaskr's layout) with a [tool.deskwork] table."""
    project = tmp_path / "shelf-project"
    package = project / "shelf"
    for folder in ("templates", "static/css", "data", "__pycache__"):
        (package / folder).mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (package / "__init__.py").write_text(INIT, encoding="utf-8")
    (package / "schema.sql").write_text(
        "drop table if exists book;\ncreate table book (id integer primary key, title text);\n",
        encoding="utf-8",
    )
    (package / "data" / "motto.txt").write_text("Read more.", encoding="utf-8")
    (package / "templates" / "base.html").write_text("<title>Shelf</title>", encoding="utf-8")
    (package / "static" / "css" / "shelf.css").write_text("h1 {}", encoding="utf-8")
    (package / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (package / ".secret-notes").write_text("not for the build", encoding="utf-8")
    return project


@pytest.fixture
def forget_shelf():
    yield
    for name in [m for m in sys.modules if m == "shelf" or m.startswith("shelf.")]:
        del sys.modules[name]


def load(project: Path):
    from deskwork.loader import load_target

    return load_target(hosting.resolve_folder(str(project)))


# -- [tool.deskwork] ------------------------------------------------------------------------


def test_the_pyproject_table_names_the_app_title_setup_and_self_test_pages(shelf, forget_shelf):
    target = load(shelf)
    assert isinstance(target.app, Flask)
    title, name, config = hosting.describe(target)
    assert (title, name) == ("Book shelf", "book-shelf")
    assert config.setup == ("init-db", "add-book 'First book'")
    assert config.self_test == ("/", "/about")
    assert config.folder == shelf.resolve()
    # Found from the package folder too: the nearest pyproject.toml above it.
    assert hosting.read_config(shelf / "shelf" / "__init__.py") == config


def test_a_projects_table_is_not_applied_to_another_app_in_its_folders(shelf, forget_shelf):
    from deskwork.loader import load_target

    script = shelf / "scripts" / "report.py"
    script.parent.mkdir()
    script.write_text("from flask import Flask\napp = Flask(__name__)\n", encoding="utf-8")
    title, name, config = hosting.describe(load_target(str(script)))
    assert (title, name, config.setup) == ("Report", "report", ())
    assert hosting.describe(load_target(str(shelf / "shelf")))[0] == "Book shelf"


def test_without_a_table_the_defaults_hold(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    config = hosting.read_config(tmp_path / "app.py")
    assert config == AppConfig() and config.self_test == ("/",) and config.setup == ()
    assert hosting.resolve_folder(str(tmp_path)) == str(tmp_path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("sertup = ['init-db']", r"unknown keys: sertup \(known: app, data, self-test"),
        ("setup = 3", "setup must be a list of strings"),
        ("title = ''", "title must be a non-empty string"),
        ("self-test = ['about']", "self-test pages start with '/'"),
        ("[[tool.deskwork]]\nx = 1", r"\[tool.deskwork\] must be a table"),
    ],
)
def test_a_wrong_table_says_what_is_wrong(tmp_path, table, message):
    header = "" if table.startswith("[[") else "[tool.deskwork]\n"
    (tmp_path / "pyproject.toml").write_text(header + table + "\n", encoding="utf-8")
    with pytest.raises(ToolError, match=message):
        hosting.read_config(tmp_path)


def test_a_broken_pyproject_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.deskwork\n", encoding="utf-8")
    with pytest.raises(ToolError, match=r"pyproject\.toml could not be read"):
        hosting.read_config(tmp_path)


# -- first launch ---------------------------------------------------------------------------


def books(app: Flask) -> list[str]:
    with closing(sqlite3.connect(app.config["DATABASE"])) as connection:
        return [t for (t,) in connection.execute("select title from book order by id")]


def mark_of(app: Flask) -> dict[str, list[str]]:
    return json.loads((Path(app.instance_path) / hosting.SETUP_MARK).read_text(encoding="utf-8"))


def test_the_set_up_runs_once_on_the_first_launch(shelf, forget_shelf, tmp_path):
    app = load(shelf).app
    config = hosting.read_config(shelf)
    data = tmp_path / "data"
    hosting.prepare(app, config, "book-shelf", settings_for(data))
    assert books(app) == ["First book"]
    assert mark_of(app) == {"plan": list(config.setup), "done": list(config.setup)}
    hosting.prepare(app, config, "book-shelf", settings_for(data))  # the second launch
    assert books(app) == ["First book"]  # not wiped by a second init-db, nor added twice


def test_commands_added_to_the_set_up_later_never_meet_existing_data(shelf, forget_shelf):
    app = load(shelf).app
    assert hosting.first_launch(app, ("init-db",)) == ["init-db"]
    app.test_cli_runner().invoke(args=["add-book", "Mine"])
    # Version 2 edits its set-up: the folder's first launch is over.
    assert hosting.first_launch(app, ("init-db --again", "add-book Two")) == []
    assert books(app) == ["Mine"]


def test_a_developers_existing_instance_folder_is_taken_as_set_up(shelf, forget_shelf, tmp_path):
    app = load(shelf).app
    app.test_cli_runner().invoke(args=["init-db"])
    app.test_cli_runner().invoke(args=["add-book", "Mine"])
    hosting.prepare(app, hosting.read_config(shelf), "book-shelf", settings_for(tmp_path))
    assert books(app) == ["Mine"]  # init-db would have dropped it
    assert mark_of(app) == {"plan": [], "done": []}


def test_settings_files_in_a_new_instance_folder_are_not_data(shelf, forget_shelf):
    app = load(shelf).app
    (Path(app.instance_path) / "config.py").write_text("X = 1\n", encoding="utf-8")  # IT's
    assert hosting.first_launch(app, ("init-db",)) == ["init-db"] and books(app) == []


def test_a_built_app_knows_whether_its_folder_held_data_before_the_app_was_made(
    shelf, forget_shelf
):
    app = load(shelf).app
    app.test_cli_runner().invoke(args=["init-db"])  # as a factory's create_all() would
    assert hosting.first_launch(app, ("add-book Seed",), fresh=True) == ["add-book Seed"]
    assert books(app) == ["Seed"]


def test_a_failed_set_up_says_why_and_resumes_next_time(shelf, forget_shelf):
    app = load(shelf).app
    with pytest.raises(SetupError, match="set-up failed: deskwork flask fail: the shelf is full"):
        hosting.first_launch(app, ("init-db", "fail"))
    assert mark_of(app) == {"plan": ["init-db", "fail"], "done": ["init-db"]}
    app.test_cli_runner().invoke(args=["add-book", "Kept"])
    with pytest.raises(SetupError, match="the shelf is full"):  # the first plan resumes
        hosting.first_launch(app, ("init-db", "stop"))
    assert books(app) == ["Kept"]  # init-db, done, was not run again


def test_a_command_that_exits_with_a_code_fails(shelf, forget_shelf):
    app = load(shelf).app
    with pytest.raises(CommandError, match="stopped with code 3") as failed:
        hosting.run_flask_command(app, ["stop"])
    assert failed.value.exit_code == 3


def test_an_unknown_command_is_a_command_error_with_its_exit_code(shelf, forget_shelf):
    app = load(shelf).app
    with pytest.raises(CommandError, match="No such command 'nope'") as failed:
        hosting.run_flask_command(app, ["nope"])
    assert failed.value.exit_code == 2


# -- the secret key -------------------------------------------------------------------------


def settings_for(data: Path):
    from deskwork.desktop.settings import Settings

    return Settings.load({"DESKWORK_DATA_DIR": str(data)})


@pytest.mark.parametrize("key", ["dev", "change-me", "You will never guess", b"secret_key", ""])
def test_a_placeholder_secret_key_becomes_this_installs_own(tmp_path, key, caplog):
    app = Flask("plain")
    app.config["SECRET_KEY"] = key
    caplog.set_level("INFO", logger="deskwork")
    assert hosting.replace_placeholder_secret(app, tmp_path / "plain")
    first = app.config["SECRET_KEY"]
    assert len(first) == 64 and first != key
    assert "development placeholder" in caplog.text and first not in caplog.text
    again = Flask("plain")
    again.config["SECRET_KEY"] = key
    hosting.replace_placeholder_secret(again, tmp_path / "plain")
    assert again.config["SECRET_KEY"] == first  # kept: sessions survive a restart
    if sys.platform != "win32":
        assert (tmp_path / "plain" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_damaged_secret_key_file_is_replaced_and_launches_at_once_agree(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: hosting.install_secret(tmp_path / "a"), range(16)))
    assert len(keys) == 1 and [p.name for p in (tmp_path / "a").iterdir()] == ["secret_key"]
    damaged = tmp_path / "b" / "secret_key"
    damaged.parent.mkdir()
    damaged.write_bytes(b"\xff\xfe half")
    key = hosting.install_secret(tmp_path / "b")
    assert len(key) == 64 and damaged.read_text(encoding="ascii").strip() == key


def test_a_real_secret_key_or_none_is_left_alone(tmp_path):
    app = Flask("plain")
    app.config["SECRET_KEY"] = "e3b0c44298fc1c149afbf4c8996fb924"
    assert not hosting.replace_placeholder_secret(app, tmp_path)
    assert app.config["SECRET_KEY"] == "e3b0c44298fc1c149afbf4c8996fb924"
    app.config["SECRET_KEY"] = None
    assert not hosting.replace_placeholder_secret(app, tmp_path)
    assert not (tmp_path / "secret_key").exists()


# -- deskwork flask, deskwork run ---------------------------------------------------------


def test_deskwork_flask_runs_the_apps_own_commands(shelf, tmp_path):
    env = deskwork_env(tmp_path / "data")
    done = run([str(DESKWORK), "flask", "init-db"], cwd=shelf, env=env)
    assert done.stdout.strip() == "Initialized the database."
    run([str(DESKWORK), "flask", "--app", str(shelf), "add-book", "Dune"], env=env)
    with closing(sqlite3.connect(shelf / "instance" / "shelf.sqlite")) as connection:
        assert connection.execute("select title from book").fetchall() == [("Dune",)]
    listed = run([str(DESKWORK), "flask", "--help"], cwd=shelf, env=env).stdout
    assert "init-db" in listed and "add-book" in listed and "routes" in listed
    failed = subprocess.run(
        [str(DESKWORK), "flask", "fail"], cwd=shelf, env=env, capture_output=True, encoding="utf-8"
    )
    assert failed.returncode == 1 and "the shelf is full" in failed.stderr
    assert "Traceback" not in failed.stderr
    stopped = subprocess.run(
        [str(DESKWORK), "flask", "stop"], cwd=shelf, env=env, capture_output=True, encoding="utf-8"
    )
    assert stopped.returncode == 3, stopped.stderr  # the command's own exit code


def test_deskwork_run_on_the_project_folder_sets_up_and_serves_the_app(shelf, tmp_path):
    from test_cli import serve_and_visit

    data = tmp_path / "data"
    command = [str(DESKWORK), "run", str(shelf), "--browser"]
    lines, status, page = serve_and_visit(command, deskwork_env(data), "/")
    assert status == 200 and "<li>First book</li>" in page and "Read more." in page
    assert any("Book shelf is ready" in line for line in lines), lines
    # From source, the instance folder stays where Flask puts it; the secret goes to data.
    assert (shelf / "instance" / "shelf.sqlite").is_file()
    assert (data / "book-shelf" / "secret_key").is_file()
    log = (data / "logs" / "book-shelf.log").read_text(encoding="utf-8")
    assert "First launch: running flask init-db" in log and "development placeholder" in log
    _, status, page = serve_and_visit(command, deskwork_env(data), "/")
    assert page.count("<li>First book</li>") == 1  # set up once


def test_the_built_app_finds_its_instance_folder_in_the_user_data_folder(shelf, tmp_path):
    """What the executable's entry does before the app is made (in a child process: it
    changes Flask for the whole process and the working folder)."""
    data = tmp_path / "data"
    script = (
        "import sys, os\n"
        "from deskwork.desktop.frozen import use_data_folder\n"
        "use_data_folder('book-shelf')\n"
        f"sys.path.insert(0, {str(shelf)!r})\n"
        "import shelf\n"
        "app = shelf.create_app()\n"
        "print(app.instance_path)\n"
        "print(app.config['DATABASE'])\n"
        "print(os.getcwd())\n"
    )
    done = run([sys.executable, "-c", script], env=deskwork_env(data), cwd=tmp_path)
    instance = str(data / "book-shelf" / "instance")
    assert done.stdout.splitlines() == [instance, str(Path(instance, "shelf.sqlite")), instance]
    assert not (shelf / "instance").exists()


# -- what deskwork build bundles ----------------------------------------------------------


def test_a_packages_data_files_are_bundled_and_code_caches_and_hidden_files_are_not(shelf):
    from deskwork.desktop.building import app_data_files

    package = shelf / "shelf"
    (shelf / "instance").mkdir()
    (package / "instance").mkdir()
    (package / "instance" / "dev.sqlite").write_bytes(b"a developer's data")
    datas = app_data_files(package / "__init__.py", shelf, AppConfig())
    bundled = {(Path(s).relative_to(package).as_posix(), d) for s, d in datas}
    assert bundled == {
        ("schema.sql", "shelf"),
        ("data/motto.txt", str(Path("shelf/data"))),
        ("templates/base.html", str(Path("shelf/templates"))),
        ("static/css/shelf.css", str(Path("shelf/static/css"))),
    }


def test_a_single_modules_templates_static_and_listed_data_are_bundled(tmp_path):
    from deskwork.desktop.building import BuildError, app_data_files

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "home.html").write_text("<h1>Home</h1>", encoding="utf-8")
    (tmp_path / "schema.sql").write_text("create table t (x);", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not listed", encoding="utf-8")
    config = AppConfig(data=("schema.sql",), folder=tmp_path)
    datas = app_data_files(tmp_path / "app.py", tmp_path, config)
    assert sorted((Path(s).name, d) for s, d in datas) == [
        ("home.html", "templates"), ("schema.sql", ".")
    ]  # fmt: skip
    with pytest.raises(BuildError, match=r"data lists missing\.sql"):
        app_data_files(tmp_path / "app.py", tmp_path, AppConfig(data=("missing.sql",)))
