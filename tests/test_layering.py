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
        "from fixture_tool import tool\n"  # run_python runs in tests/
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
        "deskwork.fields.numbers", "deskwork.fields.text", "deskwork.locales",
        "deskwork.measures", "deskwork.model", "deskwork.names",
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
    from deskwork.db.storage import Storage
    from deskwork.model import FormPage, Table, TablePage

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


# -- the SQLite layer (deskwork.db) -----------------------------------------------------------

DB = WEBAPP / "db"
WEB_ONLY = ("flask", "werkzeug", "jinja2", "markupsafe", "webview", "deskwork.desktop")


def db_modules() -> list[str]:
    """Every module of the SQLite layer, found on the disk (not listed by hand)."""
    return sorted(
        "deskwork.db" + ("" if p.stem == "__init__" else f".{p.stem}") for p in DB.glob("*.py")
    )


def test_nothing_in_the_sqlite_layer_reaches_flask_or_the_host_even_through_other_modules():
    # Each module imported alone, in a process of its own: whatever it pulls in, directly,
    # through another deskwork module, or lazily at first use, is in sys.modules.
    found = db_modules()
    assert "deskwork.db.storage" in found and len(found) >= 10
    for module in found:
        out = run_python(
            f"import sys, importlib\nimportlib.import_module({module!r})\n"
            f"print(sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') "
            f"for f in {WEB_ONLY!r})))\n"
        )
        assert out == "[]", module


def run_time_imports(path: Path) -> list[str]:
    """What ``path`` imports when it runs, anywhere in it (names for type hints only,
    under ``if TYPE_CHECKING:``, are no import)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


def test_no_module_of_the_sqlite_layer_names_flask_even_in_a_function():
    # A lazy import inside a function would not show until it runs.
    assert "werkzeug.datastructures" in imported_names(DB / "records.py")  # a type hint's
    assert "werkzeug.datastructures" not in run_time_imports(DB / "records.py")
    offenders = [
        f"{path.name}: {name}"
        for path in DB.glob("*.py")
        for name in run_time_imports(path)
        if any(name == f or name.startswith(f + ".") for f in WEB_ONLY)
        or name.startswith("deskwork.views")
        or name in ("deskwork.app", "deskwork.once")
    ]
    assert offenders == []


def deskwork_imports(path: Path) -> set[str]:
    """The deskwork modules ``path`` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "deskwork.db":
                out |= {f"deskwork.db.{a.name}" for a in node.names}
            elif node.module.startswith("deskwork"):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("deskwork")}
    return out


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle of ``graph`` (module -> modules it imports), as a path."""
    cycles = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its least module
                walk([*path, nxt])

    for module in sorted(graph):
        walk([module])
    return cycles


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_modules_of_the_sqlite_layer_import_each_other_without_a_cycle():
    graph = {
        module: {m for m in deskwork_imports(DB / f"{module.rsplit('.', 1)[1]}.py")
                 if m.startswith("deskwork.db.")}
        for module in db_modules() if module != "deskwork.db"
    }  # fmt: skip
    assert "deskwork.db.history" in graph["deskwork.db.records"]  # the graph is read
    assert find_cycles(graph) == []


def test_every_deskwork_config_key_used_is_declared_once_in_the_app_factory():
    from deskwork.app import CONFIG_KEYS

    used = set()
    for path in WEBAPP.rglob("*.py"):
        used |= set(re.findall(r"\bDESKWORK_[A-Z_]+\b", path.read_text(encoding="utf-8")))
    assert "DESKWORK_SECRET" in used  # the search reads the code
    assert used == set(CONFIG_KEYS)


def test_every_word_a_table_address_reads_is_one_a_column_may_not_be_named():
    # model.ADDRESS_WORDS refuses columns that would clash with the address's own words;
    # the words filters.py reads and writes are found in its code, not listed again here.
    from deskwork.model import ADDRESS_WORDS

    used = set()
    for node in ast.walk(ast.parse((WEBAPP / "filters.py").read_text(encoding="utf-8"))):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if (
                node.func.attr in ("get", "getlist")
                and getattr(node.func.value, "id", "") == "args"
            ):
                target = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "args":
            target = node.slice
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            used.add(target.value)
    assert {"sort", "q", "after", "jump"} <= used  # the search reads the code
    assert used <= ADDRESS_WORDS, used - ADDRESS_WORDS
