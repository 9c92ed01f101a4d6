"""The JSON API as a program on the desk uses it: the tool launched as ``deskwork run``
does, its address and token read from the file it writes, and schemathesis run against
its document."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import DESKWORK, TOOL_FILE, deskwork_env
from deskwork import openapi
from fixture_tool import tool

SCHEMATHESIS = Path(sys.executable).parent / "st"


@contextmanager
def launched(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """``deskwork run`` of the tests' tool for a browser, until it said it is ready."""
    process = subprocess.Popen(
        [str(DESKWORK), "run", str(TOOL_FILE), "--browser"], env=deskwork_env(data_dir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
    )  # fmt: skip
    try:
        assert process.stdout is not None
        next(line for line in process.stdout if line.startswith("http://"))
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def ask(found: dict[str, Any], path: str, body: Any = None, token: str | None = None) -> Any:
    """A request as a script makes it: the address and token from the API file."""
    request = urllib.request.Request(
        found["url"] + path, method="POST" if body is not None else "GET",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token or found['token']}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def test_a_script_finds_the_api_in_a_file_only_the_user_reads(data_dir: Path) -> None:
    api_file = data_dir / "api" / "expenses.json"
    with launched(data_dir) as process:
        found = json.loads(api_file.read_text(encoding="utf-8"))
        assert stat.S_IMODE(api_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(api_file.parent.stat().st_mode) == 0o700
        assert found["pid"] == process.pid and found["url"].startswith("http://127.0.0.1:")
        page = ask(found, "tables/expenses?category=Meals&sort=-amount")
        assert len(page["rows"]) == 50 and {r["category"] for r in page["rows"]} == {"Meals"}
        made = ask(
            found,
            "tables/expenses",
            {"date": "2026-01-02", "amount": "7.25", "category": "Meals", "employee": "Ada Okafor"},
        )
        assert made["amount"] == "7.25" and made["employee"] == 1
        first_token = found["token"]
    assert not api_file.exists()  # gone with the tool: a stale token is no use to anyone
    with launched(data_dir):
        again = json.loads(api_file.read_text(encoding="utf-8"))
        assert again["token"] != first_token
        try:
            ask(again, "tables/expenses", token=first_token)
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
            assert "out of date" in json.load(refused)["error"]
        else:
            raise AssertionError("last launch's token was let in")
        assert ask(again, f"tables/expenses/{made['id']}")["note"] is None


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    data_dir: Path, tmp_path: Path
) -> None:
    """A property-based run over every operation of the launched tool's own document:
    thousands of generated requests, valid and not, and stateful sequences (create, then
    read, change and delete what was made)."""
    checks = ",".join([
        "not_a_server_error", "status_code_conformance", "content_type_conformance",
        "response_schema_conformance", "response_headers_conformance",
        "missing_required_header", "ignored_auth", "unsupported_method", "use_after_free",
        "ensure_resource_availability",
    ])  # fmt: skip
    with launched(data_dir):
        found = json.loads((data_dir / "api" / "expenses.json").read_text(encoding="utf-8"))
        done = subprocess.run(
            [str(SCHEMATHESIS), "run", found["url"] + "openapi.json",
             "-H", f"Authorization: Bearer {found['token']}", "--checks", checks,
             "--max-examples", "30", "--seed", "2026", "--no-color",
             "--report", "junit", "--report-dir", str(tmp_path)],
            capture_output=True, encoding="utf-8", timeout=900, cwd=tmp_path,
        )  # fmt: skip
    print(done.stdout[-1500:])
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    methods = {"get", "post", "put", "patch", "delete"}
    paths = openapi.document(tool, "")["paths"].values()
    operations = sum(len(methods & set(v)) for v in paths)
    assert f"Tested: {operations}" in done.stdout  # every operation of the document was tried
    assert " passed" in done.stdout
