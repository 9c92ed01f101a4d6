"""``deskwork build``: find the packaging files and run the build driver on a tool or a
plain Flask app (with the files its package loads besides its code)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from deskwork.desktop.hosting import AppConfig, describe, resolve_folder
from deskwork.desktop.launch import Echo
from deskwork.desktop.window import missing_binding
from deskwork.errors import BuildError
from deskwork.loader import import_name, load_target, split_target


def packaging_dir() -> Path:
    """``deskwork/desktop/_packaging`` in a wheel, ``packaging/`` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_packaging", here.parent / "packaging"):
        if (candidate / "deskwork.spec").is_file():
            return candidate
    raise BuildError("deskwork's packaging files are missing: reinstall deskwork.")


def default_icon() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_assets", here.parent / "assets"):
        if (candidate / "deskwork.png").is_file():
            return candidate / "deskwork.png"
    return None


#: Never bundled from an app's folders: caches, and an instance folder (a developer's
#: own database and secrets; a built app makes its own in the user data folder).
SKIPPED_FOLDERS = frozenset({"__pycache__", "instance", "node_modules"})
SKIPPED_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".pyd"})


def data_files(folder: Path, destination: Path) -> list[tuple[str, str]]:
    """Every file under ``folder`` but code, caches and hidden ones, as PyInstaller's
    (source, destination folder) pairs, ``destination`` standing for ``folder``."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if not path.is_file() or any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts):
            continue
        if path.suffix.lower() in SKIPPED_SUFFIXES:
            continue
        found.append((str(path), str(destination.joinpath(*parts[:-1]))))
    return found


def app_data_files(module_file: Path, root: Path, config: AppConfig) -> list[tuple[str, str]]:
    """What a plain app loads besides its code: all of its package's other files (as
    setuptools' package data, for ``open_resource`` and ``importlib.resources``), or a
    single module's ``templates`` and ``static`` folders; and the ``data`` its
    ``[tool.deskwork]`` table lists. ``root`` is where its import name starts."""
    datas = []
    if module_file.name == "__init__.py":
        package = root / module_file.relative_to(root).parts[0]
        datas += data_files(package, Path(package.name))
    else:
        for name in ("templates", "static"):
            if (module_file.parent / name).is_dir():
                where = module_file.parent.relative_to(root) / name
                datas += data_files(module_file.parent / name, where)
    base = config.folder or module_file.parent
    for item in config.data:
        path = (base / item).resolve()
        if not path.exists():
            raise BuildError(f"[tool.deskwork] data lists {item}, which is not in {base}.")
        where = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
        if path.is_dir():
            datas += data_files(path, where)
        else:
            datas.append((str(path), str(where.parent)))
    return datas


def build_executable(
    path: str,
    *,
    dist: Path,
    onedir: bool = False,
    name: str | None = None,
    echo: Echo = print,
    extra: tuple[Path, ...] = (),
) -> Path:
    """Build the tool, or plain Flask app, at ``path`` (as ``deskwork run`` takes it);
    ``extra`` files go beside the code (``frozen.bundled`` finds them)."""
    import tempfile

    target = load_target(resolve_folder(path))  # fail early, with the target's own message
    missing = missing_binding()  # the executable would bundle no toolkit for its window
    if missing is not None:
        raise BuildError(f"Can't build {target.title} with a window: {missing}.")
    app_spec = None
    version = None
    if target.tool is not None:
        title, name = target.tool.title, name or target.tool.name
        version = target.tool.version
    else:
        title, default_name, config = describe(target)
        name = name or default_name
        _module, root = import_name(target.file)
        attribute = split_target(resolve_folder(path))[1]
        app_spec = {
            "attribute": attribute,
            "settings": {**config.as_dict(), "title": title},
            "datas": app_data_files(target.file, root, config),
        }
    icon = target.folder / "icon.png"
    command = [
        sys.executable,
        str(packaging_dir() / "build.py"),
        str(target.file),
        f"--name={name}",
        f"--dist={dist.resolve()}",
    ]
    chosen_icon = icon if icon.is_file() else default_icon()
    if chosen_icon:
        command.append(f"--icon={chosen_icon}")
    if onedir:
        command.append("--onedir")
    command += [f"--extra={file}" for file in extra]
    command += [f"--title={title}", *([f"--version={version}"] if version else [])]
    echo(f"Building {title} as {'a folder' if onedir else 'one file'} with PyInstaller...")
    with tempfile.TemporaryDirectory(prefix="deskwork-") as work:
        if app_spec is not None:
            spec_file = Path(work) / "app.json"
            spec_file.write_text(json.dumps(app_spec), encoding="utf-8")
            command.append(f"--app={spec_file}")
        done = subprocess.run(command, stdout=subprocess.PIPE, encoding="utf-8")
    if done.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {done.returncode}); its messages are above.")
    return Path(done.stdout.strip().splitlines()[-1])


def build_installer(path: str, *, dist: Path, name: str | None = None,
                    echo: Echo = print) -> list[Path]:  # fmt: skip
    """The installers of this OS for the tool, or plain Flask app, at ``path``: its folder
    build first, then (``deskwork.desktop.installers``) on Linux a ``.deb`` and a ``.rpm``
    (the ``.rpm`` only where rpmbuild is installed, saying so otherwise), on Windows an
    NSIS installer, on macOS the ``.app`` in a ``.dmg``; each signed as IT's settings
    say, or said to be unsigned."""
    from deskwork.desktop import installers
    from deskwork.desktop.settings import Settings

    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    if system == "linux" and not sys.platform.startswith("linux"):
        raise BuildError(f"deskwork makes no installer on {sys.platform}: use 'deskwork build'.")
    target = load_target(resolve_folder(path))
    if target.tool is not None:
        tool = target.tool
        product = installers.Product(name or tool.name, tool.title, tool.version,
                                     tool.description)  # fmt: skip
    else:
        title, default_name, _config = describe(target)
        product = installers.Product(name or default_name, title, "1.0.0", "")
    folder = build_executable(path, dist=dist, onedir=True, name=product.name, echo=echo)
    icon = target.folder / "icon.png"
    chosen = icon if icon.is_file() else default_icon()
    if chosen is None:
        raise BuildError("No icon to put in the installer: add icon.png beside the tool.")
    command = Settings.load(name=product.name).signing(system)
    variable = f"DESKWORK_SIGN_{system.upper()}"
    out = dist.resolve()
    if system == "windows":
        for line in installers.sign([folder / f"{product.name}.exe"], command, variable):
            echo(line)  # the program first, then the installer that carries it
        echo(f"Making the Windows installer of {product.title} {product.version} (NSIS)...")
        made = [installers.windows(folder, product, chosen, out)]
    elif system == "macos":
        app = folder.with_name(f"{product.name}.app")
        for line in installers.sign([app], command, variable):
            echo(line)  # the app, before the .dmg is made of it
        echo(f"Making the .dmg of {product.title} {product.version}...")
        return [installers.macos(app, product, out)]
    else:
        echo(f"Making the .deb and the .rpm of {product.title} {product.version}...")
        made = [installers.deb(folder, product, chosen, out)]
        try:
            made.append(installers.rpm(folder, product, chosen, out))
        except BuildError as missing:  # the .deb stands on its own
            echo(f"No .rpm: {missing}")
    for line in installers.sign(made, command, variable):
        echo(line)
    return made


def release_executable(path: str, *, places: list[str], key_file: Path, dist: Path,
                       days: int, echo: Echo = print) -> list[str]:  # fmt: skip
    """``deskwork release``: the tool at ``path`` built as one file with its update source
    (the first of ``places``) and the public key of ``key_file`` built in, signed where
    its OS signs programs, and published with a signed manifest to each place. What was
    done, a line each."""
    import tempfile

    from deskwork import Tool
    from deskwork.desktop import updates

    if sys.platform == "darwin":
        raise BuildError(
            "Releases update one-file programs in place, on Linux and Windows. On macOS an "
            "app is a signed bundle that a swapped file would break: ship its .dmg "
            "('deskwork build --installer') through IT's own tools."
        )
    key = updates.read_private(key_file)
    target = load_target(resolve_folder(path))
    if not isinstance(target.tool, Tool):
        raise BuildError("Releases are made of declared tools (they carry a version): build a "
                         "plain Flask app with 'deskwork build'.")  # fmt: skip
    tool = target.tool
    for place in places:  # before a build: a version not newer is refused at once
        updates.check_newer(place, key, name=tool.name, version=tool.version)
    with tempfile.TemporaryDirectory(prefix="deskwork-release-") as work:
        built_in = Path(work) / updates.BUILT_IN
        built_in.write_text(json.dumps({"source": places[0], "key": updates.public_text(key)}),
                            encoding="utf-8")  # fmt: skip
        program = build_executable(path, dist=dist, echo=echo, extra=(built_in,))
    said = [f"Built {program}", *sign_program(program)]
    for place in places:
        manifest = updates.publish(program, place, key=key, name=tool.name, version=tool.version,
                                   days=days)  # fmt: skip
        said.append(f"Published {tool.title} {tool.version}: {manifest}")
    return said


def sign_program(program: Path) -> list[str]:
    """Sign a built program where its OS expects it (``sign_windows`` for ``NAME.exe``,
    ``sign_macos`` for ``NAME.app``), or say it is unsigned; on Linux the packages are
    what is signed (``build_installer``)."""
    from deskwork.desktop import installers
    from deskwork.desktop.settings import Settings

    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform)
    if system is None:
        return []
    name = program.stem if program.suffix in (".exe", ".app") else program.name
    command = Settings.load(name=name).signing(system)
    return installers.sign([program], command, f"DESKWORK_SIGN_{system.upper()}")
