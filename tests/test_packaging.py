"""Real PyInstaller builds, run as a user would run them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import DESKWORK, deskwork_env, run
from deskwork.errors import SchemaError

pytestmark = pytest.mark.packaging

SELF_TEST_OK = re.compile(r"^self-test ok: '(?P<title>[^']+)' rendered in [\d.]+ s; ", re.M)


def test_the_wheel_carries_the_spec_hooks_templates_and_icon(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "deskwork/desktop/_packaging/deskwork.spec",
        "deskwork/desktop/_packaging/build.py",
        "deskwork/desktop/_packaging/hooks/hook-deskwork.py",
        "deskwork/desktop/_packaging/hooks/hook-gi.repository.WebKit2.py",
        "deskwork/desktop/_assets/deskwork.png",
        "deskwork/templates/base.html",
        "deskwork/static/deskwork.css",
        "deskwork/demo.py",
        "deskwork/py.typed",
    ):
        assert name in names, name
    # One import package: nothing else at the top (PyPA's packaging, generic webapp/desktop).
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"deskwork"}


def check_executable(executable: Path, title: str, display: str, data_dir: Path, cwd: Path):
    assert executable.is_file() and os.access(executable, os.X_OK)
    env = deskwork_env(data_dir, display)
    version = run([str(executable), "--version"], env=env, cwd=cwd, timeout=120)
    assert re.match(rf"{title} \d+(\.\d+)* \(deskwork ", version.stdout), version.stdout
    done = run([str(executable), "--self-test"], env=env, cwd=cwd, timeout=180)
    match = SELF_TEST_OK.search(done.stdout)
    assert match and match["title"] == title, done.stdout
    # Data went to the user data folder, nothing beside the executable.
    assert list(executable.parent.iterdir()) == [executable]
    assert any(data_dir.rglob("*.sqlite3"))


def test_the_demo_builds_from_an_installed_wheel_and_runs_without_python(
    wheel, tmp_path, display, data_dir
):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    # With the GTK extra: a build bundles the window's toolkit.
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[gtk]"], timeout=1200)
    workdir = tmp_path / "work"
    workdir.mkdir()
    # The installed package's demo.py, not this checkout's.
    demo = run(
        [str(venv / "bin" / "python"), "-c", "import deskwork.demo; print(deskwork.demo.__file__)"],
        cwd=workdir,
    ).stdout.strip()
    assert str(venv) in demo  # the installed copy, not this checkout
    run([str(venv / "bin" / "deskwork"), "build", demo], cwd=workdir, timeout=1200)
    executable = workdir / "dist" / "expenses"
    size_mb = executable.stat().st_size / 1e6
    print(f"onefile size: {size_mb:.1f} MB")
    assert size_mb < 150  # GTK, not Qt: a Qt build is over 200 MB
    bundled = run([str(venv / "bin" / "pyi-archive_viewer"), "--list", str(executable)]).stdout
    assert "'deskwork/templates/base.html'" in bundled
    assert "_packaging" not in bundled and "_assets" not in bundled  # build files stay out
    # Run it with no virtualenv on PATH and from elsewhere, as a double-click would.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check_executable(executable, "Expenses", display, data_dir, elsewhere)


def test_a_new_project_builds_with_its_own_name(tmp_path, display, data_dir):
    run([str(DESKWORK), "new", "stock-room", "--dir", str(tmp_path)])
    project = tmp_path / "stock-room"
    run([str(DESKWORK), "build", str(project), "--onedir"], cwd=tmp_path, timeout=1200)
    folder = tmp_path / "dist" / "stock-room"
    executable = folder / "stock-room"
    assert executable.is_file()
    assert (folder / "_internal" / "icon.png").is_file()
    env = deskwork_env(data_dir, display)
    done = run([str(executable), "--self-test"], env=env, cwd=tmp_path, timeout=180)
    assert SELF_TEST_OK.search(done.stdout)["title"] == "Stock room"
    assert (data_dir / "stock-room" / "stock-room.sqlite3").is_file()


# -- plain Flask apps -------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_a_package_style_flask_app_builds_and_keeps_its_data_between_runs(
    tmp_path, display, data_dir
):
    """examples/noticeboard (flaskr's layout: a factory, blueprints, templates, static
    files, schema.sql read with open_resource, a text file read with importlib.resources,
    an instance-folder SQLite database made by `flask init-db`) as one file."""
    import shutil
    import sqlite3
    from contextlib import closing

    from test_cli import serve_and_visit

    project = tmp_path / "noticeboard"
    shutil.copytree(EXAMPLES / "noticeboard", project, ignore=shutil.ignore_patterns(
        "__pycache__", "instance"
    ))  # fmt: skip
    run([str(DESKWORK), "build", str(project)], cwd=tmp_path, timeout=1200)
    desk = tmp_path / "desk"  # where a user keeps it: nothing else may appear there
    desk.mkdir()
    executable = desk / "noticeboard"
    (tmp_path / "dist" / "noticeboard").rename(executable)
    print(f"onefile size: {executable.stat().st_size / 1e6:.1f} MB")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = deskwork_env(data_dir, display)

    # First run, in the window: the set-up makes the database; both self-test pages load.
    done = run([str(executable), "--self-test"], env=env, cwd=elsewhere, timeout=180)
    assert SELF_TEST_OK.search(done.stdout)["title"] == "Notices - Noticeboard", done.stdout
    instance = data_dir / "noticeboard" / "instance"
    database = instance / "noticeboard.sqlite"
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("insert into user (username, password) values ('ada', 'x')")
        db.execute("insert into notice (author_id, title, body) values (1, 'Kept', 'across runs')")

    # Second run, for a browser: the data is still there (no second init-db), and the
    # bundled templates, static file and importlib.resources text are served.
    command = [str(executable), "--browser"]
    _, status, page = serve_and_visit(command, env, "/", cwd=elsewhere)
    assert status == 200 and "Kept" in page and "Notices for the whole office." in page
    _, status, css = serve_and_visit(command, env, "/static/style.css", cwd=elsewhere)
    assert status == 200 and "{" in css

    mark = json.loads((instance / ".deskwork-setup").read_text(encoding="utf-8"))
    assert mark == {"plan": ["init-db"], "done": ["init-db"]}
    log = (data_dir / "logs" / "noticeboard.log").read_text(encoding="utf-8")
    assert log.count("First launch: running flask init-db") == 1
    assert "development placeholder ('dev')" in log
    assert (data_dir / "noticeboard" / "secret_key").is_file()
    assert list(desk.iterdir()) == [executable]  # nothing beside the executable
    assert list(elsewhere.iterdir()) == []  # nor in the folder it was started from
    assert not (project / "noticeboard" / "instance").exists()


def test_the_ten_line_house_price_app_builds_unchanged(tmp_path, display, data_dir):
    run([str(DESKWORK), "build", str(EXAMPLES / "house_price.py"), "--onedir"],
        cwd=tmp_path, timeout=1200)  # fmt: skip
    executable = tmp_path / "dist" / "house-price" / "house-price"
    env = deskwork_env(data_dir, display)
    version = run([str(executable), "--version"], env=env, cwd=tmp_path, timeout=120)
    assert version.stdout.strip().startswith("House price (deskwork ")
    done = run([str(executable), "--self-test"], env=env, cwd=tmp_path, timeout=180)
    assert SELF_TEST_OK.search(done.stdout)["title"] == "House price", done.stdout


# -- errors are never silent ------------------------------------------------------------------

PRICES = (
    "from deskwork import Tool, {kind}\ntool = Tool('Prices')\n"
    "tool.table('things', price={kind}())\n"
)

# Stands in for zenity, the first dialog program deskwork looks for: records what it was
# asked to show (one argument per line), and closes at once.
FAKE_ZENITY = '#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/shown.txt"\n'


def test_a_refused_schema_change_in_a_build_with_no_console_is_logged_and_shown(
    tmp_path, display, data_dir
):
    """A built tool whose schema change is refused, started with no console (its output
    closed, as a double-click starts a windowed build): the log has the message and the
    traceback, and a message box shows the message."""
    from deskwork.db.storage import Storage
    from deskwork.loader import load_tool

    earlier = tmp_path / "earlier" / "prices.py"
    earlier.parent.mkdir()
    earlier.write_text(PRICES.format(kind="Money"), encoding="utf-8")
    Storage(data_dir / "prices" / "prices.sqlite3").prepare(load_tool(earlier))  # numbers
    project = tmp_path / "prices"
    project.mkdir()
    (project / "prices.py").write_text(PRICES.format(kind="Text"), encoding="utf-8")
    run([str(DESKWORK), "build", str(project / "prices.py")], cwd=tmp_path, timeout=1200)
    executable = tmp_path / "dist" / "prices"

    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "zenity").write_text(FAKE_ZENITY, encoding="utf-8")
    (dialogs / "zenity").chmod(0o755)
    env = deskwork_env(data_dir, display, PATH=f"{dialogs}{os.pathsep}{os.environ['PATH']}")
    # The shell closes stdout and stderr, then becomes the executable: Python starts with
    # sys.stdout and sys.stderr None, as a windowed build on Windows does.
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" --browser >&- 2>&-', str(executable)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=180,
    )  # fmt: skip
    print(f"exit {done.returncode}")
    assert done.returncode == SchemaError.exit_code
    assert done.stdout == done.stderr == b""
    log_file = data_dir / "logs" / "prices.log"
    log = log_file.read_text(encoding="utf-8")
    assert "ERROR deskwork: Stopped: Column things.price was saved as numbers" in log
    assert "Traceback (most recent call last)" in log and "deskwork.SchemaError" in log
    shown = (dialogs / "shown.txt").read_text(encoding="utf-8")
    print(shown)
    assert "--title=Prices" in shown
    assert "--text=Column things.price was saved as numbers" in shown
    assert f"The details are in {log_file}." in shown


# -- installers -------------------------------------------------------------------------------


def test_the_deb_and_rpm_hold_a_launcher_menu_entry_and_icons_and_removing_the_deb_keeps_data(
    tmp_path,
    display,
    data_dir,
):
    run([str(DESKWORK), "new", "deb-probe", "--dir", str(tmp_path)])
    project = tmp_path / "deb-probe"
    keys = tmp_path / "gnupg"  # IT's signing key, made for the test
    keys.mkdir(mode=0o700)
    run(["gpg", "--batch", "--homedir", str(keys), "--passphrase", "", "--quick-gen-key",
         "IT <it@example.org>", "ed25519", "sign", "never"])  # fmt: skip
    signing = f"gpg --batch --yes --homedir {keys} --detach-sign --armor {{file}}"
    built = run([str(DESKWORK), "build", str(project), "--installer"], cwd=tmp_path,
                timeout=1200, env={**os.environ, "DESKWORK_SIGN_LINUX": signing})  # fmt: skip
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    deb = tmp_path / "dist" / f"deb-probe_1.0.0_{arch}.deb"
    assert f"Built {deb}" in built.stdout
    info = run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"]).stdout
    assert info.splitlines() == ["Package: deb-probe", "Version: 1.0.0", f"Architecture: {arch}"]
    contents = run(["dpkg-deb", "--contents", str(deb)]).stdout
    for path in ("./usr/bin/deb-probe", "./usr/share/applications/deb-probe.desktop",
                 "./opt/deskwork/deb-probe/deb-probe",
                 *(f"./usr/share/icons/hicolor/{s}x{s}/apps/deb-probe.png"
                   for s in (16, 24, 32, 48, 64, 128, 256))):  # fmt: skip
        assert re.search(rf" {re.escape(path)}$", contents, re.M), path
    rpm = next((tmp_path / "dist").glob("deb-probe-1.0.0-1.*.rpm"))  # the same files
    assert f"Built {rpm}" in built.stdout
    asked = run(["rpm", "-qp", "--queryformat", "%{NAME} %{VERSION}", str(rpm)]).stdout
    assert asked == "deb-probe 1.0.0"
    listed = set(run(["rpm", "-qlp", str(rpm)]).stdout.splitlines())
    assert {"/usr/bin/deb-probe", "/usr/share/applications/deb-probe.desktop",
            "/opt/deskwork/deb-probe/deb-probe",
            "/usr/share/icons/hicolor/256x256/apps/deb-probe.png"} <= listed  # fmt: skip
    assert len(listed) > 100  # the whole folder build
    for package in (deb, rpm):  # signed with IT's key, as the settings say
        assert f"Signed: {package.name}" in built.stdout
        run(["gpg", "--homedir", str(keys), "--verify", f"{package}.asc", str(package)])
    try:
        run(["dpkg", "-i", str(deb)], timeout=300)
        entry = Path("/usr/share/applications/deb-probe.desktop").read_text(encoding="utf-8")
        assert "Exec=/usr/bin/deb-probe %U" in entry and "Icon=deb-probe" in entry
        env = deskwork_env(data_dir, display)
        done = run(["deb-probe", "--self-test"], env=env, cwd=tmp_path, timeout=180)  # on PATH
        assert SELF_TEST_OK.search(done.stdout)["title"] == "Deb probe"
        database = data_dir / "deb-probe" / "deb-probe.sqlite3"
        assert database.is_file()
        run(["dpkg", "-r", "deb-probe"], timeout=300)
        assert not Path("/usr/bin/deb-probe").exists()
        assert not Path("/opt/deskwork/deb-probe").exists()
        assert database.is_file()  # the user's data stays
    finally:
        subprocess.run(["dpkg", "-r", "deb-probe"], capture_output=True, timeout=300)
