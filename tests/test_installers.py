"""Installers for Windows and macOS, as far as this Linux machine can make them: the icons
of every system from the tool's one PNG, the Windows installer compiled by NSIS (Debian's
``nsis``, the same compiler Windows runners use) and what it holds read back with 7-Zip,
the macOS app's Info.plist, and the hosted runners' workflow checked against GitHub's
schema. The .deb and .rpm are built and installed in tests/test_packaging.py."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, run
from deskwork.desktop import installers
from deskwork.errors import BuildError

PNG = ROOT / "assets" / "deskwork.png"
PRODUCT = installers.Product("expenses", "Expenses & Co", "1.2", 'Spending, by "team"')


def test_the_one_png_becomes_an_ico_with_its_sizes_an_icns_and_the_theme_pngs(tmp_path):
    made = installers.icon_files(PNG, tmp_path, "expenses")
    with Image.open(made["ico"]) as ico:
        assert sorted(ico.info["sizes"]) == [(s, s) for s in installers.ICO]
    with Image.open(made["icns"]) as icns:
        assert {s[:2] for s in icns.info["sizes"]} >= {(16, 16), (32, 32), (128, 128),
                                                       (256, 256), (512, 512)}  # fmt: skip
    for size in installers.HICOLOR:
        with Image.open(made["png"] / f"{size}x{size}" / "apps" / "expenses.png") as png:
            assert png.size == (size, size)


def folder_build(tmp_path: Path) -> Path:
    """A Windows folder build's layout: the program and PyInstaller's _internal folder."""
    build = tmp_path / "build" / "expenses"
    (build / "_internal" / "deskwork" / "templates").mkdir(parents=True)
    (build / "expenses.exe").write_bytes(b"MZ" + b"\0" * 1000)
    (build / "_internal" / "base_library.zip").write_bytes(b"PK" + b"\0" * 100)
    (build / "_internal" / "deskwork" / "templates" / "base.html").write_text(
        "<!doctype html>", encoding="utf-8")  # fmt: skip
    return build


def test_the_windows_installer_compiles_and_holds_the_program_an_uninstaller_and_its_version(
    tmp_path,
):
    setup = installers.windows(folder_build(tmp_path), PRODUCT, PNG, tmp_path / "dist")
    assert setup == tmp_path / "dist" / "expenses-1.2-setup.exe"
    listed = run(["7z", "l", "-ba", "-slt", str(setup)]).stdout
    paths = {line.split(" = ", 1)[1] for line in listed.splitlines() if line.startswith("Path = ")}
    assert {"expenses.exe", "_internal/base_library.zip", "_internal/deskwork/templates/base.html",
            "Uninstall.exe"} <= paths  # fmt: skip
    resources = run(["7z", "l", "-ba", "-tPE", str(setup)]).stdout
    assert ".rsrc/ICON/1" in resources  # the tool's icon, from its PNG
    version = subprocess.run(["7z", "e", "-tPE", "-so", str(setup), ".rsrc/version.txt"],
                             capture_output=True, check=True).stdout.decode("utf-16")  # fmt: skip
    shown = " ".join(version.split())
    assert "FILEVERSION 1,2,0,0" in shown
    assert '"ProductName", "Expenses & Co"' in shown and '"ProductVersion", "1.2"' in shown


def test_the_windows_installer_is_per_user_by_default_per_machine_for_it_and_keeps_data():
    script = installers.nsis_script(Path(r"C:\build\expenses"), PRODUCT, Path("x.ico"),
                                    Path("setup.exe"))  # fmt: skip
    for line in (
        "!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER",  # %LOCALAPPDATA%\Programs
        "!define MULTIUSER_INSTALLMODE_COMMANDLINE",  # /AllUsers, /CurrentUser
        "!define MULTIUSER_USE_PROGRAMFILES64",
        'CreateShortcut "$SMPROGRAMS\\${TITLE}.lnk" "$INSTDIR\\${NAME}.exe"',
        'WriteUninstaller "$INSTDIR\\Uninstall.exe"',
        'WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"',
        'RMDir /r "$INSTDIR\\_internal"',  # an upgrade replaces the program's files
        '!define TITLE "Expenses & Co"',
        'VIAddVersionKey "FileDescription" "Spending, by $\\"team$\\" (installer)"',
    ):
        assert line in script.splitlines() or f"  {line}" in script.splitlines(), line
    uninstall = script.split('Section "Uninstall"')[1]
    assert "APPDATA" not in uninstall.upper()  # each user's data stays


def test_no_windows_installer_without_a_windows_program(tmp_path):
    build = folder_build(tmp_path)
    (build / "expenses.exe").unlink()
    with pytest.raises(BuildError, match=r"holds no program expenses\.exe"):
        installers.windows(build, PRODUCT, PNG, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()


def test_the_mac_app_says_its_name_bundle_id_and_version():
    plist = plistlib.loads(plistlib.dumps(installers.info_plist(PRODUCT)))
    assert plist["CFBundleIdentifier"] == "org.deskwork.expenses"
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == "1.2"
    assert plist["CFBundleDisplayName"] == "Expenses & Co" and plist["NSHighResolutionCapable"]


def test_a_dmg_is_made_on_a_mac_only_saying_so(tmp_path):
    assert shutil.which("hdiutil") is None  # this suite runs on Linux
    with pytest.raises(BuildError, match=r"A \.dmg is made with hdiutil, which macOS has"):
        installers.macos(tmp_path / "expenses.app", PRODUCT, tmp_path / "dist")


def test_the_hosted_runners_workflow_is_valid_for_github_actions():
    workflow = ROOT / ".ci" / "github" / "installers.yml"
    checked = run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                   "vendor.github-workflows", str(workflow)])  # fmt: skip
    assert "ok -- validation done" in checked.stdout
    text = workflow.read_text(encoding="utf-8")
    for step in ('"/S", "/CurrentUser"', '"/S", "/AllUsers"', "--self-test", "hdiutil attach",
                 "deskwork build webapp/demo.py --installer"):  # fmt: skip
        assert step in text, step


def test_the_windows_program_carries_its_version_resource():
    """PyInstaller reads this file with its own classes on Windows: here they are stood
    in for by ones that keep what they are given."""
    import ast

    text = installers.version_file(PRODUCT)
    ast.parse(text)  # Python, as PyInstaller evaluates it

    def keep(kind):
        return lambda *args, **kwargs: (kind, args, kwargs)

    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct")  # fmt: skip
    info = eval(text, {name: keep(name) for name in names})
    fixed = info[2]["ffi"][2]
    assert fixed["filevers"] == fixed["prodvers"] == (1, 2, 0, 0)
    table = info[2]["kids"][0][1][0][0][1][1]
    strings = dict(entry[1] for entry in table)
    assert strings["ProductVersion"] == strings["FileVersion"] == "1.2"
    assert strings["ProductName"] == "Expenses & Co"
    assert strings["OriginalFilename"] == "expenses.exe"
    assert strings["FileDescription"] == 'Spending, by "team"'
