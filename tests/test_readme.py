"""The README's code runs as written: the tutorial's tool and its test, the function form."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from deskwork.db.storage import Storage
from deskwork.loader import load_tool
from deskwork.testing import tool_client

README = (ROOT / "README.md").read_text(encoding="utf-8")


def snippet(name: str) -> str:
    found = re.search(rf"<!-- test: {name} -->\n```python\n(.*?)```", README, re.S)
    assert found, f"the README has no snippet marked {name!r}"
    return found[1]


@pytest.fixture
def loans_file(tmp_path: Path) -> Path:
    path = tmp_path / "loans.py"
    path.write_text(snippet("tutorial"), encoding="utf-8")
    return path


def test_the_tutorial_tool_is_about_thirty_lines(loans_file):
    code = [line for line in loans_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(code) <= 32


def test_the_tutorial_tool_lends_lists_and_reports(loans_file, tmp_path):
    tool = load_tool(loans_file)
    client = tool_client(tool, tmp_path / "loans.sqlite3")
    for borrower, item, deposit in [("Ann", "Camera", "150"), ("Bo", "Camera", "99.50"),
                                    ("Cy", "Laptop", "1,200.00")]:  # fmt: skip
        response = client.submit(
            "/forms/lend-an-item",
            {"borrower": borrower, "item": item, "deposit": deposit, "lent_on": "2026-11-02"},
        )
        assert response.status_code == 303
        assert response.location.startswith("/tables/loans?at=")
    assert "Cy" in client.get("/tables/loans?q=cy").text
    report = client.get("/reports/deposits-held").text
    assert '<td>Laptop</td><td class="num">1</td><td class="num">1,200.00</td>' in report
    assert '<td>Camera</td><td class="num">2</td><td class="num">249.50</td>' in report
    assert '<td class="num">1,449.50</td>' in report.split("<tfoot>")[1]
    assert report.count("<rect ") == 2


def test_the_tutorial_test_passes_with_the_installed_fixture(loans_file):
    (loans_file.parent / "test_loans.py").write_text(snippet("tutorial-test"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_loans.py"],
        cwd=loans_file.parent, capture_output=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b1 passed\b", done.stdout)


def test_the_house_price_example_is_ten_lines_and_answers(tmp_path):
    code = snippet("house-price")
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    path = tmp_path / "houses.py"
    path.write_text(code, encoding="utf-8")
    client = tool_client(load_tool(path), tmp_path / "houses.sqlite3")
    page = client.get("/functions/house-price?_run=1&square_feet=1,000&garage=on").text
    assert "<output>195,000.00</output>" in page
    assert client.get("/functions/house-price?_run=1&square_feet=50").status_code == 400
    assert (
        "Square feet must be at least 100."
        in client.get("/functions/house-price?_run=1&square_feet=50").text
    )
    # Nothing is stored.
    with Storage(tmp_path / "houses.sqlite3").open() as db:
        assert [t for t in db.table_names() if not t.startswith("_deskwork")] == []


def test_the_readme_lists_every_exit_code_as_errors_declares_them():
    from deskwork.errors import EXIT_CODES, every_error

    lines = ["| exit code | meaning |", "|---|---|"]
    lines += [f"| {code} | {meaning} |" for code, meaning in EXIT_CODES]
    assert "\n".join(lines) in README
    # Every error class's code is listed, and no code means two things.
    codes = [code for code, _ in EXIT_CODES]
    assert len(codes) == len(set(codes))
    declared = {cls.exit_code for cls in every_error()} - {1}
    assert declared <= set(codes), declared - set(codes)
