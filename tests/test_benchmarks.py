"""The benchmarks, each run once at a small size, so that they can't rot: each starts the
tool as users do and prints its figures beside its peer's and the floor's.

No time is asserted (the machine is shared and noisy): only that each benchmark ran to its
end and printed every row of its tables with a figure in every cell.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"

# A figure as the benchmarks print one: a time ("7.5 ms", "1.25 s"), a size ("47.5 MB"), a
# ratio (a number, bare or followed by the multiplication sign, and by "faster" or not).
FIGURE = re.compile(r"(\d[\d,]*(?:\.\d+)?)(?: ms| s| MB|× faster|×)?")


def run_benchmark(name: str, *args: str, timeout: float) -> str:
    """Run ``tests/benchmarks/<name>`` as a person runs it; what it printed. Any warning
    in it is an error, as in the tests."""
    command = [sys.executable, "-X", "warn_default_encoding", "-W", "error",
               str(BENCHMARKS / name), *args]  # fmt: skip
    done = subprocess.run(command, capture_output=True, encoding="utf-8", timeout=timeout)
    if done.returncode != 0:  # PyInstaller's error can be far above the end of its output
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        pytest.fail(f"{command}\n{done.stdout}\n" + "\n".join(errors) + done.stderr[-5000:])
    return done.stdout


def table(output: str, first_header: str) -> dict[str, list[float]]:
    """The Markdown table whose header's first cell is ``first_header``: each row's first
    cell, and the figures in its other cells (every one of them must be a figure)."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    assert lines[header + 1].startswith("|---|")
    rows: dict[str, list[float]] = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        name, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        figures = [FIGURE.fullmatch(cell) for cell in cells]
        assert all(figures), f"not a figure in: {line}"
        rows[name] = [float(f[1].replace(",", "")) for f in figures if f]
    return rows


def figures_in(output: str, starting: str) -> list[float]:
    """The figures in the line that starts with ``starting`` (one of the sentences)."""
    (line,) = [line for line in output.splitlines() if line.startswith(starting)]
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", line)]


@pytest.fixture(scope="session")
def benchmark_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The table benchmark's work folder, kept for the session: Datasette is installed
    into it from PyPI once (``<work>/datasette-venv``), by the benchmark itself."""
    return tmp_path_factory.mktemp("benchmarks")


def test_the_table_benchmark_runs_deskwork_datasette_and_sqlite_side_by_side(benchmark_work):
    output = run_benchmark(
        "tables.py", "--rows", "2000", "--runs", "2", "--work", str(benchmark_work),
        timeout=900,
    )  # fmt: skip
    assert "2,000 expenses, median of 2 requests" in output
    assert "datasette, version" in output  # Datasette really ran
    pages = table(output, "page")
    kinds = [
        "first page (newest first)",
        "a page half-way down",
        "the last page",
        "sorted by amount (largest first)",
        "one category",
        "one month",
        "search, few matches (“leeds”)",
        "search, many matches (“travel”)",
    ]
    # The table pages, then the JSON API's list of the same rows, asked with its token.
    assert list(pages) == [*kinds, *[f"JSON: {kind}" for kind in kinds]]
    for deskwork, datasette, sqlite, *ratios in pages.values():
        assert deskwork > 0 and datasette > 0 and sqlite > 0
        assert len(ratios) == 2
    # "Bulk: set the category of N selected rows (eleven days' ...), ...: X ms through the
    # server, against Y ms for SQLite's bare UPDATE (the ratio)"
    count, through_the_server, bare, _ratio = figures_in(output, "Bulk: ")
    assert count > 0 and through_the_server > 0 and bare >= 0
    arriving = table(output, "arriving after the rows (deskwork)")
    assert list(arriving) == [
        "count and total, all rows",
        "count and total, one category",
        "count and total, one month",
        "count and total, search “travel”",
        "filter counts (facets), all rows",
    ]
    assert all(len(cells) == 1 for cells in arriving.values())


def test_the_report_benchmark_runs_deskwork_datasette_and_sqlite_before_and_after_changes(
    benchmark_work,
):
    output = run_benchmark(
        "reports.py", "--rows", "2000", "--runs", "2", "--work", str(benchmark_work),
        timeout=900,
    )  # fmt: skip
    assert "median of 2 requests" in output and "datasette, version" in output
    for title in ("report", "report, after the changes"):
        found = table(output, title)
        assert list(found) == ["Spending by category, one year",
                               "Monthly spending, month × category, all rows"]  # fmt: skip
        for figures in found.values():
            assert len(figures) == 8 and all(f >= 0 for f in figures) and figures[0] > 0
    assert "Totals after them equal SQL's own: yes" in output
    event, page = figures_in(output, "A save reaching an open dashboard")
    assert 0 < event <= page
    kept, bare, ratio = figures_in(output, "A form's save through the server")
    assert kept > 0 and bare > 0 and ratio > 0


def test_the_form_benchmark_saves_edits_and_looks_up_beside_plain_sqlite():
    output = run_benchmark("forms.py", "--runs", "5", "--people", "1000", timeout=300)
    assert "median of 5 interleaved runs" in output
    work = table(output, "work")
    assert list(work) == [
        "save a new expense",
        "the same, without HTTP",
        "save an edit (version checked)",
        "lookup search among 1,050 employees",
    ]
    for deskwork, sqlite, ratio in work.values():
        assert deskwork > 0 and sqlite > 0 and ratio >= 0
    (scan,) = figures_in(output, "For scale: ")
    assert scan >= 0
    full, normal, _ratio, _difference = figures_in(output, "Durability: ")
    assert full > 0 and normal > 0


@pytest.mark.gui
@pytest.mark.packaging
def test_the_startup_benchmark_builds_and_launches_the_demo_and_a_bare_app(tmp_path):
    # Its own Xvfb, as when a person runs it.
    output = run_benchmark("startup.py", "--runs", "1", "--work", str(tmp_path), timeout=1800)
    assert "median of 1 interleaved runs" in output
    launches = table(output, "launch → first paint")
    assert list(launches) == [
        "from source",
        "from onedir",
        "installed folder (.deb, from the PATH)",  # CI runs as root: dpkg -i
        "from onefile",
        "onefile size",
        "onedir size (unpacked)",
    ]
    for demo, bare, ratio in launches.values():
        assert demo > 0 and bare > 0 and ratio > 0


def test_the_export_benchmark_runs_deskwork_datasette_sqlite_and_openpyxl(benchmark_work):
    output = run_benchmark(
        "exports.py", "--rows", "2000", "--runs", "1", "--excel-rows", "500",
        "--work", str(benchmark_work), timeout=900,
    )  # fmt: skip
    assert "2,000 expenses, median of 1 runs" in output and "datasette, version" in output
    rows = table(output, "CSV of every row")
    assert list(rows) == [
        "deskwork (launched demo, through its server)",
        "Datasette (streamed CSV, labels on, by rowid)",
        "SQLite alone (csv writer over a bare cursor)",
    ]
    for took, per_second, size, ratio in rows.values():
        assert took >= 0 and per_second > 0 and size > 0 and ratio > 0
    growth, before, after, theirs = figures_in(output, "Memory: ")
    assert before > 0 and after >= before and growth >= 0 and theirs >= 0
    (count,) = [c for c in re.findall(r"Excel workbook of ([\d,]+) rows", output)]
    assert int(count.replace(",", "")) >= 500
    excel = table(output, f"Excel workbook of {count} rows")
    assert list(excel) == [
        "deskwork (launched demo, through its server)",
        "openpyxl write-only alone (a bare cursor, to a file)",
    ]
    assert all(took > 0 and size > 0 for took, size in excel.values())


def test_the_import_benchmark_imports_csv_and_excel_through_the_pages_beside_sqlite(
    benchmark_work,
):
    output = run_benchmark(
        # 7,000 rows: the CSV is over the size checked and saved with a progress page
        # (deskwork.views.imports.AT_ONCE), the workbook under it: both ways are run.
        "imports.py", "--rows", "7000", "--source-rows", "10000", "--runs", "1",
        "--work", str(benchmark_work), timeout=600,
    )  # fmt: skip
    assert "expenses imported, median of 1 runs" in output
    rows = table(output, "import of every row")
    assert [name.split(" (")[0] for name in rows] == ["CSV", "Excel workbook"]
    for sent, checked, saved, total, ratio, saving_ratio in rows.values():
        assert min(sent, checked, saved) >= 0 and total > 0 and ratio > 0 and saving_ratio > 0
    count, at_end, by_triggers, into_bare = figures_in(output, "SQLite alone: ")
    assert count >= 7000 and at_end > 0 and by_triggers > 0 and into_bare >= 0
    ours, theirs = figures_in(output, "Reading the workbook: ")
    assert ours > 0 and theirs > 0
    page, alone, pieces, one = figures_in(output, "Searching right after the import ")
    assert page > 0 and alone > 0 and one > 0 and pieces >= 1


def test_the_load_benchmark_serves_staff_at_once_beside_datasette_and_sqlite(benchmark_work):
    output = run_benchmark(
        "team_load.py", "--rows", "2000", "--staff", "4", "--seconds", "5", "--think", "0.5",
        "--workers", "2", "--writers", "4", "--kill", "--work", str(benchmark_work),
        timeout=900,
    )  # fmt: skip
    assert "deskwork serve under load: 2,000 expenses, 2 worker processes" in output
    assert "datasette, version" in output and "SIGKILLed half-way" in output
    load = table(output.replace("n/a", "0"), "request (4 staff)")
    assert list(load) == ["log in", "table page", "search", "filter", "open a record",
                          "save a record", "report"]  # fmt: skip
    for p50, p95, _theirs_50, _theirs_95, count, _failed in load.values():
        assert count > 0 and 0 < p50 <= p95
    for read in ("table page", "search", "filter", "open a record"):
        assert load[read][2] > 0  # Datasette answered the same reads
    acknowledged, found, lost = figures_in(output, "Saves acknowledged: ")
    assert acknowledged > 0 and found == acknowledged and lost == 0
    writers, ours, failed, floor, _ratio = figures_in(output, "Writers: ")
    assert writers == 4 and ours > 0 and floor > 0 and failed == 0
