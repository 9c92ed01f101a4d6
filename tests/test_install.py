"""pip install deskwork on a machine with no GUI binding, beside projects of every shape.

A fresh virtualenv gets the wheel without the GTK extra (no compiler, no GTK headers
needed): one import name, a command that serves to the browser and says what to install
for a window, and a pytest plugin that stays out of the way of a project's own
``webapp`` and ``desktop`` packages.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import serve_and_visit

from conftest import deskwork_env, run
from deskwork.errors import BuildError

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def plain_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with deskwork (no GUI extra) and pytest, and nothing of this checkout."""
    venv = tmp_path_factory.mktemp("plain") / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "pytest"],
        timeout=1200)  # fmt: skip
    return venv


def python_says(venv: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, encoding="utf-8", cwd=cwd
    )


def test_the_plain_install_has_one_import_name_and_no_gui_binding(plain_venv, tmp_path):
    assert (
        python_says(plain_venv, "import deskwork, deskwork.desktop.cli", tmp_path).returncode == 0
    )
    for name in ("webapp", "desktop"):
        done = python_says(plain_venv, f"import {name}", tmp_path)
        assert f"No module named '{name}'" in done.stderr
    done = python_says(plain_venv, "import importlib.util as u; print(u.find_spec('gi'))", tmp_path)
    assert done.stdout.strip() == "None"  # pywebview came without PyGObject
    assert "Usage: deskwork" in run([str(plain_venv / "bin" / "deskwork"), "--help"]).stdout


def write_stock_tool(folder: Path) -> Path:
    tool_file = folder / "stock.py"
    tool_file.write_text(
        "from deskwork import Tool, Text\n"
        "tool = Tool('Stock')\n"
        "items = tool.table('items', name=Text(required=True))\n"
        "tool.form('New item', items)\n",
        encoding="utf-8",
    )
    return tool_file


def serve(venv: Path, args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """Run ``deskwork ARGS`` from ``venv``, open its new-item form, stop it; returns the
    lines it printed before its address."""
    lines, status, page = serve_and_visit(
        [str(venv / "bin" / "deskwork"), *args], env, "/forms/new-item", cwd=cwd
    )
    assert status == 200 and "<h1>New item</h1>" in page
    return lines


def test_the_plain_install_serves_a_tool_to_the_browser(plain_venv, tmp_path, data_dir):
    tool_file = write_stock_tool(tmp_path)
    lines = serve(plain_venv, ["run", str(tool_file), "--browser"], deskwork_env(data_dir),
                     tmp_path)  # fmt: skip
    assert lines[0] == "Stock is ready. Open this address in a browser (Ctrl+C stops):"
    assert (data_dir / "stock" / "stock.sqlite3").is_file()


def test_without_a_gui_binding_run_serves_to_the_browser_and_says_what_to_install(
    plain_venv, tmp_path, data_dir, display
):
    tool_file = write_stock_tool(tmp_path)
    lines = serve(plain_venv, ["run", str(tool_file)], deskwork_env(data_dir, display), tmp_path)
    assert lines[0] == (
        "No window can open here: pywebview has no GTK binding here (for a window: pip "
        "install 'deskwork[gtk]', or on Debian/Ubuntu apt install python3-gi "
        "gir1.2-webkit2-4.1 and use a virtualenv made with --system-site-packages); "
        "serving for a browser instead."
    )

    build = subprocess.run(
        [str(plain_venv / "bin" / "deskwork"), "build", str(tool_file)],
        capture_output=True, encoding="utf-8", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert build.returncode == BuildError.exit_code
    assert build.stderr.startswith("Error: Can't build Stock with a window: pywebview has no GTK")
    assert not (tmp_path / "dist").exists()


THEIR_TOOL = """\
from deskwork import Text, Tool
from webapp.names import TEAM

tool = Tool(f"{TEAM} notes")
notes = tool.table("notes", title=Text(required=True))
tool.form("New note", notes, after="notes")
tool.table_page("Notes", notes)
"""

THEIR_TEST = """\
import desktop
import webapp
from tool import tool


def test_their_own_packages_are_theirs():
    assert webapp.OURS and desktop.OURS


def test_a_note_is_saved_and_listed(deskwork_client):
    response = deskwork_client.submit("/forms/new-note", {"title": "Order toner"})
    assert response.status_code == 303
    assert "Order toner" in deskwork_client.get("/tables/notes").text
"""


def test_a_project_with_its_own_webapp_and_desktop_packages_tests_green(plain_venv, tmp_path):
    project = tmp_path / "their-project"
    for package in ("webapp", "desktop"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text("OURS = True\n", encoding="utf-8")
    (project / "webapp" / "names.py").write_text('TEAM = "Finance"\n', encoding="utf-8")
    (project / "tool.py").write_text(THEIR_TOOL, encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "test_notes.py").write_text(THEIR_TEST, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n', encoding="utf-8"
    )
    done = subprocess.run(
        [str(plain_venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, encoding="utf-8", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout
