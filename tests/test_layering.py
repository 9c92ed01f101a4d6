"""The architecture holds: one import name, the Flask side never reaches for the native
host, the public API is exactly what the README documents, importing stays light."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import deskwork
from conftest import ROOT

WEBAPP = Path(deskwork.__file__).parent  # webapp/ in this checkout, installed as deskwork
FORBIDDEN = ("webview", "deskwork.desktop")


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_no_flask_side_module_imports_webview_or_the_native_host():
    offenders = []
    for path in WEBAPP.rglob("*.py"):
        offenders += [
            f"{path.relative_to(WEBAPP)}: {name}"
            for name in imported_names(path)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
        ]
    assert offenders == []


def test_no_module_imports_the_old_top_level_names():
    offenders = []
    for folder in ("webapp", "desktop", "tests", "packaging"):
        for path in (ROOT / folder).rglob("*.py"):
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in imported_names(path)
                if name.split(".")[0] in ("webapp", "desktop")
            ]
    assert offenders == []


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", cwd=ROOT / "tests"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_serving_the_demo_loads_neither_webview_nor_the_native_host():
    out = run_python(
        "import sys, tempfile, pathlib\n"
        "from deskwork.demo import tool\n"
        "from deskwork.testing import tool_client\n"
        "c = tool_client(tool, pathlib.Path(tempfile.mkdtemp()) / 'x.sqlite3')\n"
        "assert c.get('/').status_code == 200\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] == 'webview' or m.startswith('deskwork.desktop')))\n"
    )
    assert out == "[]"


def test_import_deskwork_pulls_in_only_what_declaring_a_tool_needs():
    # As Click tests its own import cost: a tool file's first line stays cheap. Serving
    # needs Flask and sqlite-utils; declaring tables and fields does not.
    out = run_python(
        "import sys\n"
        "before = set(sys.modules)\n"
        "import deskwork\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    loaded = set(out.splitlines())
    heavy = {"flask", "werkzeug", "jinja2", "sqlite_utils", "click", "webview", "sqlite3"}
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
    ours = sorted(m for m in loaded if m.split(".")[0] == "deskwork")
    assert ours == [
        "deskwork", "deskwork.errors", "deskwork.fields", "deskwork.fields.base",
        "deskwork.fields.choices", "deskwork.fields.dates", "deskwork.fields.files",
        "deskwork.fields.numbers", "deskwork.fields.text", "deskwork.locales", "deskwork.model",
        "deskwork.names",
    ]  # fmt: skip


def documented_api() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z_]+)", section, re.M))


def test_the_public_api_is_exactly_what_the_readme_documents():
    assert documented_api() == set(deskwork.__all__) - {"__version__"}
    for name in deskwork.__all__:
        member = getattr(deskwork, name)
        if not name.startswith("__"):
            assert member.__module__ == "deskwork", name  # shown as deskwork.Text


def test_internals_stay_importable_from_their_modules_but_are_not_exported():
    from deskwork.app import create_app
    from deskwork.model import FormPage, Table, TablePage
    from deskwork.storage import Storage

    for internal in (create_app, FormPage, Table, TablePage, Storage):
        assert internal.__name__ not in deskwork.__all__


def test_packaging_is_not_an_importable_package():
    assert not (ROOT / "packaging" / "__init__.py").exists()
    import packaging  # PyPA's, which PyInstaller needs

    assert "site-packages" in str(Path(packaging.__file__))


def test_every_third_party_import_is_a_declared_dependency_and_every_dependency_is_used():
    import importlib.metadata

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    from packaging.requirements import Requirement  # PyPA's, which PyInstaller needs

    wanted = [Requirement(d) for d in project["dependencies"]]
    # Those for other Pythons (tomli before 3.11) are neither installed nor imported here.
    declared = {r.name.lower() for r in wanted if r.marker is None or r.marker.evaluate()}
    distributions = importlib.metadata.packages_distributions()
    imported = set()
    for folder in ("webapp", "desktop", "packaging"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in imported_names(path):
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "deskwork":
                    continue
                for distribution in distributions.get(top, []):
                    imported.add(distribution.lower())
    # pytest loads the pytest plugin, so pytest is there whenever it is imported.
    assert imported - declared == {"pytest"}
    assert declared - imported == set()
