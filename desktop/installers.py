"""Installers made from a tool's folder build (``deskwork build TARGET --installer``).

On Windows, an installer compiled by NSIS (``windows``): per user by default, for the
whole machine with ``/AllUsers``, silent with ``/S``. NSIS rather than Inno Setup or WiX
because its compiler runs on Linux too (Debian's ``nsis``), so CI here compiles the very
script Windows runners compile and checks what it holds; Inno Setup and WiX need Windows
(or Wine). On macOS, the ``.app`` PyInstaller makes (its ``Info.plist`` from
``info_plist``) in a ``.dmg`` made by ``hdiutil`` (``macos``).

On Linux, a ``.deb`` for Debian and Ubuntu, made with ``dpkg-deb`` (part of every
Debian system's ``dpkg``), and a ``.rpm`` for Fedora, RHEL and SUSE, made with
``rpmbuild``; both put the same files in the same places::

    /opt/deskwork/NAME/                      the folder build (it starts faster than one file)
    /usr/bin/NAME                            a launcher on the PATH
    /usr/share/applications/NAME.desktop     the applications menu's entry
    /usr/share/icons/hicolor/SxS/apps/NAME.png   the icon, in the theme's sizes

Named ``NAME_VERSION_ARCH.deb`` from the tool's ``name`` and ``version``. Removing the
package removes those files only: each user's data (``~/.local/share/deskwork/NAME``)
and IT's settings file (``/etc/deskwork/NAME.toml``) stay.

The icons are the tool's one PNG (its ``icon.png``, else deskwork's) resized with
Pillow, as PyInstaller resizes it for the executable's own icon.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskwork.errors import BuildError

#: The icon theme's sizes a menu or a launcher asks for.
HICOLOR = (16, 24, 32, 48, 64, 128, 256)


@dataclass(frozen=True)
class Product:
    """What an installer says of the tool."""

    name: str  # the program's and its data folder's name
    title: str
    version: str
    description: str

    @property
    def package(self) -> str:
        """The name a package manager knows it by (lower case, digits, ``-``)."""
        return re.sub(r"[^a-z0-9.+-]+", "-", self.name.lower()).strip("-") or "tool"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a packaging tool; its output read as UTF-8 whatever the locale."""
    return subprocess.run(args, capture_output=True, encoding="utf-8", errors="replace")


def icons(png: Path, folder: Path, name: str, sizes: tuple[int, ...] = HICOLOR) -> list[Path]:
    """``png`` resized into ``folder/SxS/apps/name.png`` for each size."""
    from PIL import Image

    made = []
    with Image.open(png) as original:
        picture = original.convert("RGBA")
        for size in sizes:
            target = folder / f"{size}x{size}" / "apps" / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            picture.resize((size, size), Image.Resampling.LANCZOS).save(target)
            made.append(target)
    return made


def desktop_entry(product: Product) -> str:
    """The applications menu's entry (freedesktop.org's Desktop Entry)."""
    comment = product.description or product.title
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={product.title}\n"
        f"Comment={comment}\n"
        f"Exec=/usr/bin/{product.name} %U\n"
        f"Icon={product.name}\n"
        "Terminal=false\n"
        "Categories=Office;\n"
        f"StartupWMClass={product.title}\n"
    )


def architecture() -> str:
    """This machine's architecture, as dpkg names it (``amd64``)."""
    found = shutil.which("dpkg")
    if found is None:
        raise BuildError("A .deb is made with dpkg-deb: install dpkg (Debian and Ubuntu have it).")
    done = _run([found, "--print-architecture"])
    return done.stdout.strip() or "amd64"


def stage(build: Path, product: Product, icon: Path, root: Path) -> None:
    """Lay the installed files out under ``root`` as they go on the disk: the program,
    its launcher, its menu entry and its icons."""
    if not (build / product.name).is_file():
        raise BuildError(f"{build} holds no program {product.name}: build a folder first.")
    shutil.copytree(build, root / "opt" / "deskwork" / product.name, symlinks=True)
    launcher = root / "usr" / "bin" / product.name
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec /opt/deskwork/{product.name}/{product.name} "$@"\n',
                        encoding="utf-8")  # fmt: skip
    launcher.chmod(0o755)
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{product.name}.desktop").write_text(
        desktop_entry(product), encoding="utf-8")  # fmt: skip
    icons(icon, share / "icons" / "hicolor", product.name)


def deb(build: Path, product: Product, icon: Path, dist: Path) -> Path:
    """The ``.deb`` of ``build`` (a folder build whose program is ``build/NAME``)."""
    arch = architecture()
    out = dist / f"{product.package}_{product.version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="deskwork-deb-") as work:
        root = Path(work) / "root"
        stage(build, product, icon, root)
        _control(root, product, arch)
        dist.mkdir(parents=True, exist_ok=True)
        done = _run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)])
        if done.returncode != 0:
            raise BuildError(f"dpkg-deb could not make {out.name}: {done.stderr.strip()}")
    return out


#: After installing or removing: the desktop told of the menu entry and the icons.
REFRESH = (
    "if command -v update-desktop-database >/dev/null; then "
    "update-desktop-database -q /usr/share/applications || true; fi\n"
    "if command -v gtk-update-icon-cache >/dev/null; then "
    "gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true; fi\n"
)


def rpm(build: Path, product: Product, icon: Path, dist: Path) -> Path:
    """The ``.rpm`` of ``build``, for Fedora, RHEL and SUSE desks, made with ``rpmbuild``
    (Debian's ``rpm`` package has it). The program goes in as built: no stripping, no
    debug package (stripping would break what PyInstaller bundled)."""
    rpmbuild = shutil.which("rpmbuild")
    if rpmbuild is None:
        raise BuildError("A .rpm is made with rpmbuild: install it (on Debian: apt install rpm).")
    machine = _run(["uname", "-m"]).stdout.strip()
    summary = product.description or f"{product.title}, an internal tool made with deskwork"
    with tempfile.TemporaryDirectory(prefix="deskwork-rpm-") as work:
        root = Path(work) / "root"
        stage(build, product, icon, root)
        spec = Path(work) / f"{product.package}.spec"
        name = product.name
        spec.write_text(
            f"Name: {product.package}\nVersion: {product.version}\nRelease: 1\n"
            f"Summary: {summary}\nLicense: Proprietary\nBuildArch: {machine}\n"
            "AutoReqProv: no\n%global debug_package %{nil}\n%global __os_install_post %{nil}\n"
            f"%description\n{product.title}: forms, tables and reports in a window of its own. "
            "Each user's data stays in their own folder when the package is removed.\n"
            f"%install\ncp -a '{root}/.' %{{buildroot}}/\n"
            f"%files\n/opt/deskwork/{name}\n/usr/bin/{name}\n"
            f"/usr/share/applications/{name}.desktop\n"
            f"/usr/share/icons/hicolor/*/apps/{name}.png\n"
            f"%post\n{REFRESH}%postun\n{REFRESH}",
            encoding="utf-8",
        )
        top = Path(work) / "rpmbuild"
        done = _run([rpmbuild, "-bb", "--quiet", "--define", f"_topdir {top}", str(spec)])
        made = sorted((top / "RPMS").rglob("*.rpm"))
        if done.returncode != 0 or not made:
            raise BuildError(f"rpmbuild could not make the .rpm: {done.stderr.strip()[-2000:]}")
        dist.mkdir(parents=True, exist_ok=True)
        out = dist / made[0].name
        shutil.move(made[0], out)
    return out


def _control(root: Path, product: Product, arch: str) -> None:
    """The package's ``DEBIAN/control``, and scripts that tell the desktop of the new
    menu entry and icons (when the desktop's tools are there)."""
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024
    summary = product.description or f"{product.title}, an internal tool made with deskwork"
    debian = root / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(
        f"Package: {product.package}\n"
        f"Version: {product.version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: IT <it@localhost>\n"
        f"Installed-Size: {size}\n"
        "Section: misc\n"
        "Priority: optional\n"
        f"Description: {summary}\n"
        f" {product.title}: forms, tables and reports in a window of its own. Each user's\n"
        " data stays in their own folder when the package is removed.\n",
        encoding="utf-8",
    )
    for script in ("postinst", "postrm"):
        (debian / script).write_text("#!/bin/sh\nset -e\n" + REFRESH, encoding="utf-8")
        (debian / script).chmod(0o755)


def sign(files: list[Path], command: str | None, setting: str) -> list[str]:
    """Sign each of ``files`` with IT's ``command`` (``{file}`` standing for it), as the
    settings give it; with none, say plainly that they are unsigned. What was done, in
    words, a line a file. ``BuildError`` if the command fails (the files stay, unsigned)."""
    if command is None:
        return [f"Unsigned: {f.name} (no {setting} setting holds a signing command)."
                for f in files]  # fmt: skip
    said = []
    for f in files:
        words = [part.replace("{file}", str(f)) for part in shlex.split(command)]
        done = _run(words)
        if done.returncode != 0:
            raise BuildError(f"Signing {f.name} failed ({setting}, exit {done.returncode}): "
                             f"{(done.stderr or done.stdout).strip()[-1000:]}")  # fmt: skip
        said.append(f"Signed: {f.name}")
    return said


# -- Windows ----------------------------------------------------------------------------------

#: The .ico's sizes (Explorer, the Start menu, the taskbar, high-DPI screens).
ICO = (16, 24, 32, 48, 64, 128, 256)


def icon_files(png: Path, folder: Path, name: str) -> dict[str, Path]:
    """The tool's one PNG as every system takes it: ``NAME.ico`` (Windows, with its
    sizes), ``NAME.icns`` (macOS, 16 to 1024 pixels) and the PNGs of the icon theme
    (Linux, ``hicolor/SxS/apps``)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    made = {"ico": folder / f"{name}.ico", "icns": folder / f"{name}.icns"}
    with Image.open(png) as original:
        picture = original.convert("RGBA")
        large = picture.resize((1024, 1024), Image.Resampling.LANCZOS)
        large.save(made["ico"], format="ICO", sizes=[(s, s) for s in ICO])
        large.save(made["icns"], format="ICNS")
    icons(png, folder / "hicolor", name)
    made["png"] = folder / "hicolor"
    return made


def windows_version(version: str) -> str:
    """A version as Windows' version resource takes it: four numbers (``1.2.0.0``)."""
    parts = version.split(".")
    return ".".join((parts + ["0"] * 4)[:4])


def version_file(product: Product) -> str:
    """The program's own version resource (what Explorer's Properties and Apps & features
    show), in PyInstaller's version-file form (``EXE(version=...)`` reads it on Windows)."""
    numbers = tuple(int(n) for n in windows_version(product.version).split("."))
    strings = {
        "CompanyName": product.title, "FileDescription": product.description or product.title,
        "FileVersion": product.version, "InternalName": product.name,
        "OriginalFilename": f"{product.name}.exe", "ProductName": product.title,
        "ProductVersion": product.version,
    }  # fmt: skip
    table = ",\n".join(f"        StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return (
        "VSVersionInfo(\n"
        f"  ffi=FixedFileInfo(filevers={numbers!r}, prodvers={numbers!r}, mask=0x3f, flags=0x0,"
        " OS=0x40004, fileType=0x1, subtype=0x0, date=(0, 0)),\n"
        "  kids=[\n"
        "    StringFileInfo([StringTable('040904B0', [\n"
        f"{table}\n"
        "    ])]),\n"
        "    VarFileInfo([VarStruct('Translation', [1033, 1200])]),\n"
        "  ],\n"
        ")\n"
    )


def _nsis_text(text: str) -> str:
    """``text`` inside an NSIS string in double quotes."""
    return text.replace("$", "$$").replace('"', '$\\"').replace("\n", " ")


def nsis_script(build: Path, product: Product, ico: Path, out: Path) -> str:
    """The NSIS script of the installer of ``build`` (a Windows folder build whose
    program is ``NAME.exe``), writing ``out``.

    Per user by default (``%LOCALAPPDATA%\\Programs\\NAME``, no administrator needed);
    ``/AllUsers`` installs for the whole machine (``Program Files``) as IT does, ``/S``
    silently. A Start menu entry, an uninstaller in Apps & features, a version
    resource. Installing over an earlier version replaces the program's folder and
    nothing else: each user's data is in their own profile and stays, also when
    uninstalled."""
    name, title = product.name, product.title
    key = rf"Software\Microsoft\Windows\CurrentVersion\Uninstall\deskwork-{name}"
    return f"""\
; The installer of {title} {product.version}, written by deskwork (deskwork.desktop.installers).
Unicode true
SetCompressor /SOLID lzma
!define NAME "{name}"
!define TITLE "{_nsis_text(title)}"
!define VERSION "{product.version}"
!define UNINSTALL_KEY "{key}"
!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_INSTALLMODE_INSTDIR "${{NAME}}"
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_MUI
!include MultiUser.nsh
!include MUI2.nsh

Name "${{TITLE}}"
OutFile "{out}"
!define MUI_ICON "{ico}"
!define MUI_UNICON "{ico}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\\${{NAME}}.exe"
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

VIProductVersion "{windows_version(product.version)}"
VIAddVersionKey "ProductName" "${{TITLE}}"
VIAddVersionKey "FileDescription" "{_nsis_text(product.description or title)} (installer)"
VIAddVersionKey "FileVersion" "${{VERSION}}"
VIAddVersionKey "ProductVersion" "${{VERSION}}"
VIAddVersionKey "LegalCopyright" "${{TITLE}}"

Function .onInit
  !insertmacro MULTIUSER_INIT
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

Section "${{TITLE}}"
  ; An earlier version's program goes first (never the user's data, kept in their profile).
  RMDir /r "$INSTDIR\\_internal"
  SetOutPath "$INSTDIR"
  File /r "{build}\\*"
  WriteUninstaller "$INSTDIR\\Uninstall.exe"
  CreateShortcut "$SMPROGRAMS\\${{TITLE}}.lnk" "$INSTDIR\\${{NAME}}.exe"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "DisplayName" "${{TITLE}}"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "DisplayVersion" "${{VERSION}}"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "DisplayIcon" "$INSTDIR\\${{NAME}}.exe"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "Publisher" "${{TITLE}}"
  StrCpy $0 '"$INSTDIR\\Uninstall.exe" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "UninstallString" "$0"
  WriteRegStr SHCTX "${{UNINSTALL_KEY}}" "QuietUninstallString" "$0 /S"
  WriteRegDWORD SHCTX "${{UNINSTALL_KEY}}" "NoModify" 1
  WriteRegDWORD SHCTX "${{UNINSTALL_KEY}}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\\${{TITLE}}.lnk"
  RMDir /r "$INSTDIR\\_internal"
  Delete "$INSTDIR\\${{NAME}}.exe"
  Delete "$INSTDIR\\Uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey SHCTX "${{UNINSTALL_KEY}}"
SectionEnd
"""


def makensis() -> str:
    """NSIS's compiler: on the PATH (Debian's ``nsis``, ``choco install nsis``), or
    where its Windows installer puts it."""
    found = shutil.which("makensis")
    if found is None and sys.platform == "win32":
        for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
            candidate = Path(base or "") / "NSIS" / "makensis.exe"
            if base and candidate.is_file():
                return str(candidate)
    if found is None:
        raise BuildError("The Windows installer is made with NSIS: install it (choco install "
                         "nsis, or on Debian apt install nsis).")  # fmt: skip
    return found


def windows(build: Path, product: Product, icon: Path, dist: Path) -> Path:
    """The Windows installer of ``build``: ``NAME-VERSION-setup.exe``, compiled by NSIS
    from ``nsis_script`` (NSIS runs on Windows and Linux alike, so the same script is
    compiled and checked on both)."""
    if not (build / f"{product.name}.exe").is_file():
        raise BuildError(f"{build} holds no program {product.name}.exe: build a folder on "
                         "Windows first.")  # fmt: skip
    out = dist / f"{product.name}-{product.version}-setup.exe"
    with tempfile.TemporaryDirectory(prefix="deskwork-nsis-") as work:
        made = icon_files(icon, Path(work), product.name)
        script = Path(work) / "installer.nsi"
        script.write_text(nsis_script(build.resolve(), product, made["ico"], out.resolve()),
                          encoding="utf-8-sig")  # fmt: skip
        dist.mkdir(parents=True, exist_ok=True)
        done = _run([makensis(), "-V2", "-INPUTCHARSET", "UTF8", str(script)])
        if done.returncode != 0 or not out.is_file():
            raise BuildError(f"makensis could not make {out.name}: "
                             f"{(done.stderr or done.stdout).strip()[-2000:]}")  # fmt: skip
    return out


# -- macOS ------------------------------------------------------------------------------------


def bundle_id(product: Product) -> str:
    """The app's bundle identifier (``org.deskwork.expenses``)."""
    return f"org.deskwork.{product.package}"


def info_plist(product: Product) -> dict[str, Any]:
    """What the ``.app``'s ``Info.plist`` says besides what PyInstaller writes (its
    executable, its bundle identifier and version, its icon)."""
    return {
        "CFBundleName": product.title[:15],  # the menu bar's name: 15 characters at most
        "CFBundleDisplayName": product.title,
        "CFBundleIdentifier": bundle_id(product),
        "CFBundleShortVersionString": product.version,
        "CFBundleVersion": product.version,
        "LSApplicationCategoryType": "public.app-category.business",
        "LSMinimumSystemVersion": "11.0",
        "NSHighResolutionCapable": True,
        "NSHumanReadableCopyright": product.description or product.title,
    }


def macos(app: Path, product: Product, dist: Path) -> Path:
    """``NAME-VERSION.dmg``: the ``.app`` beside a link to Applications (drag one onto
    the other), made by ``hdiutil`` (macOS's own)."""
    hdiutil = shutil.which("hdiutil")
    if hdiutil is None:
        raise BuildError("A .dmg is made with hdiutil, which macOS has: build on a Mac.")
    if not (app / "Contents" / "Info.plist").is_file():
        raise BuildError(f"{app} is not an app bundle: build a folder on macOS first.")
    out = dist / f"{product.name}-{product.version}.dmg"
    with tempfile.TemporaryDirectory(prefix="deskwork-dmg-") as work:
        shutil.copytree(app, Path(work) / app.name, symlinks=True)
        (Path(work) / "Applications").symlink_to("/Applications")
        done = _run([hdiutil, "create", "-volname", product.title, "-srcfolder", work,
                     "-ov", "-format", "UDZO", str(out)])  # fmt: skip
        if done.returncode != 0:
            raise BuildError(f"hdiutil could not make {out.name}: {done.stderr.strip()}")
    return out
