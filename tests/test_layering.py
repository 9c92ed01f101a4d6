"""The architecture holds: webapp never reaches for the native host; the public API is fixed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import webapp

WEBAPP = Path(webapp.__file__).parent
FORBIDDEN = ("webview", "desktop")


def test_no_webapp_module_imports_webview_or_desktop():
    offenders = []
    for path in WEBAPP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_serving_the_demo_loads_neither_webview_nor_desktop():
    code = (
        "import sys, tempfile, pathlib\n"
        "from webapp import create_app, Storage\n"
        "from webapp.demo import tool\n"
        "from webapp.testing import tool_client\n"
        "c = tool_client(tool, pathlib.Path(tempfile.mkdtemp()) / 'x.sqlite3')\n"
        "assert c.get('/').status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('webview', 'desktop')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_public_api_is_exactly_what_is_exported():
    assert sorted(webapp.__all__) == [
        "Choice", "Date", "DateTime", "DeskworkError", "Email", "Field", "File", "FormPage",
        "FunctionPage", "Integer", "LongText", "Lookup", "Money", "MultiChoice", "Number",
        "ReportPage", "SchemaError", "Storage", "Table", "TablePage", "Text", "Tool",
        "ToolError", "Url", "ValidationError", "ViewPage", "YesNo", "__version__", "create_app",
        "get_db",
    ]  # fmt: skip
    for name in webapp.__all__:
        assert getattr(webapp, name) is not None


def test_packaging_is_not_an_importable_package():
    root = WEBAPP.parent
    assert not (root / "packaging" / "__init__.py").exists()
    import packaging  # PyPA's, which PyInstaller needs

    assert "site-packages" in str(Path(packaging.__file__))
