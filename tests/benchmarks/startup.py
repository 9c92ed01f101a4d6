"""Launch-to-first-paint and size: the demo against a bare Flask + pywebview "hello".

    python tests/benchmarks/startup.py [--runs 7] [--work DIR]

Builds both apps with the same spec (onefile and onedir), installs both folder builds as
.deb packages made by deskwork's installer code (as root: ``dpkg -i``, removed at the
end), then launches each way of running them in turn (A B A B ...) under Xvfb: the
installed one as a user does, through the launcher on the PATH. Each launch gets
DESKWORK_LAUNCH_STAMP, the time just before exec; the app prints the time from it to
pywebview's ``loaded`` event and closes itself. Prints medians side by side, and the
ratio demo / hello. Not a test: the machine is shared and noisy, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "packaging"))

from build import installed_layout  # noqa: E402
from xvfb import start_xvfb  # noqa: E402

BIN = Path(sys.executable).parent

HELLO = '''\
"""A bare Flask + pywebview app: the floor deskwork is measured against."""
import os
import sys
import time

import webview
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "<!doctype html><title>Hello</title><h1>Hello</h1>"


def on_loaded(window):
    stamp = float(os.environ["DESKWORK_LAUNCH_STAMP"])
    print(f"first paint {time.time() - stamp:.3f} s", flush=True)
    window.destroy()


if __name__ == "__main__":
    window = webview.create_window("Hello", app)
    window.events.loaded += lambda: on_loaded(window)
    webview.start(gui="gtk")
    sys.exit(0)
'''

FIRST_PAINT = re.compile(r"(?:rendered in|first paint) ([\d.]+) s")


def build(
    entry: Path, name: str, module: str, dist: Path, onedir: bool, layout: Path | None
) -> None:
    args = [
        str(BIN / "pyinstaller"),
        str(ROOT / "packaging" / "deskwork.spec"),
        "--noconfirm",
        "--log-level=WARN",
        f"--distpath={dist}",
        f"--workpath={dist.parent / 'build' / name}",
        "--",
        f"--entry={entry}",
        f"--name={name}",
        f"--pathex={entry.parent}",
        *([f"--pathex={layout}"] if layout else []),
        f"--module={module}",
    ]
    if onedir:
        args.append("--onedir")
    subprocess.run(args, check=True)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def launch(command: list[str], env: dict[str, str]) -> float:
    env = {**env, "DESKWORK_LAUNCH_STAMP": repr(time.time())}
    done = subprocess.run(command, env=env, capture_output=True, encoding="utf-8", timeout=120)
    match = FIRST_PAINT.search(done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"{command} failed: {done.stdout}{done.stderr}")
    return float(match[1])


def install_folder_builds(dist: Path, work: Path) -> list[str]:
    """Both folder builds as .deb packages (deskwork.desktop.installers), installed with
    dpkg as IT installs them; the packages' names (none without root)."""
    from deskwork.desktop import installers

    if os.geteuid() != 0:
        print("Not root: the installed builds are not measured (dpkg -i needs root).")
        return []
    icon = ROOT / "assets" / "deskwork.png"
    names = []
    for name, title in (("demo-dir", "Expenses"), ("hello-dir", "Hello")):
        product = installers.Product(name, title, "1.0.0", "")
        deb = installers.deb(dist / name, product, icon, work / "debs")
        subprocess.run(["dpkg", "-i", str(deb)], check=True, capture_output=True)
        names.append(product.package)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=Path)
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="deskwork-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    dist = work / "dist"

    hello = work / "hello.py"
    hello.write_text(HELLO, encoding="utf-8")
    demo_entry = work / "demo_entry.py"
    demo_entry.write_text(
        "import deskwork.demo as tool_module\n"
        "from deskwork.desktop.frozen import main\n"
        "main(tool_module)\n",
        encoding="utf-8",
    )
    print(f"Building in {work} ...", flush=True)
    layout = installed_layout(work)  # deskwork as installed, if this is an editable install
    for onedir in (False, True):
        suffix = "-dir" if onedir else ""
        build(demo_entry, f"demo{suffix}", "deskwork.demo", dist, onedir, layout)
        build(hello, f"hello{suffix}", "flask", dist, onedir, layout)

    installed = install_folder_builds(dist, work)

    xvfb, display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "DESKWORK_DATA_DIR": str(work / "data")}
    # As on a user's machine, Python keeps the bytecode it compiles (pip compiled the
    # installed packages; the first launch compiles a checkout's): this workplace's
    # PYTHONDONTWRITEBYTECODE would make every launch from source compile deskwork again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ways = {
        ("demo", "source"): [str(BIN / "deskwork"), "demo", "--self-test"],
        ("hello", "source"): [sys.executable, str(hello)],
        ("demo", "onedir"): [str(dist / "demo-dir" / "demo-dir"), "--self-test"],
        ("hello", "onedir"): [str(dist / "hello-dir" / "hello-dir")],
        ("demo", "onefile"): [str(dist / "demo"), "--self-test"],
        ("hello", "onefile"): [str(dist / "hello")],
    }
    if installed:
        ways[("demo", "installed")] = ["/usr/bin/demo-dir", "--self-test"]
        ways[("hello", "installed")] = ["/usr/bin/hello-dir"]
    times: dict[tuple[str, str], list[float]] = {key: [] for key in ways}
    try:
        for command in ways.values():  # warm-up: first run, caches, sample data
            launch(command, env)
        for _ in range(options.runs):
            for key, command in ways.items():  # interleaved: A B A B
                times[key].append(launch(command, env))
    finally:
        xvfb.terminate()
        xvfb.wait()
        for package in installed:
            subprocess.run(["dpkg", "-r", package], capture_output=True, check=False)

    sizes = {
        "demo": (dist / "demo").stat().st_size,
        "hello": (dist / "hello").stat().st_size,
    }
    unpacked = {"demo": folder_size(dist / "demo-dir"), "hello": folder_size(dist / "hello-dir")}
    cpu = platform.processor() or platform.machine()
    print()
    print(
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({cpu}), {platform.platform()}, "
        f"Xvfb + GTK WebKit, median of {options.runs} interleaved runs, TMPDIR on "
        f"{os.environ.get('TMPDIR', '/tmp')}"
    )
    print()
    print("| launch → first paint | demo (Expenses) | bare Flask + pywebview | ratio |")
    print("|---|---|---|---|")
    for way in ("source", "onedir", "installed", "onefile"):
        if ("demo", way) not in times:
            print(f"| {way} | not run: installing needs root (dpkg -i) | | |")
            continue
        demo = statistics.median(times[("demo", way)])
        bare = statistics.median(times[("hello", way)])
        said = "installed folder (.deb, from the PATH)" if way == "installed" else f"from {way}"
        print(f"| {said} | {demo:.2f} s | {bare:.2f} s | {demo / bare:.2f} |")
    print(
        f"| onefile size | {sizes['demo'] / 1e6:.1f} MB | {sizes['hello'] / 1e6:.1f} MB | "
        f"{sizes['demo'] / sizes['hello']:.2f} |"
    )
    print(
        f"| onedir size (unpacked) | {unpacked['demo'] / 1e6:.1f} MB | "
        f"{unpacked['hello'] / 1e6:.1f} MB | {unpacked['demo'] / unpacked['hello']:.2f} |"
    )


if __name__ == "__main__":
    main()
