"""Updates IT signs, and that never lose data.

**Releasing.** ``deskwork keys new`` makes an Ed25519 key pair (PyNaCl: libsodium's
signatures; the public key is 44 characters IT can paste into a settings file).
``deskwork release TARGET --to PLACE --key KEY`` builds the tool as one file with the
place and the public key built in (``update.json``), then ``publish`` puts it at the
place (a folder, such as a network share, or a web server taking ``PUT``) with a signed
manifest: ``NAME-PLATFORM.json`` names the version, the file, its size and SHA-256, when
it was published and until when it holds. The file goes first and the manifest last, so
a desk never reads a manifest whose file is not there yet.

**Checking** (``check``, on a thread of its own once the window is open, or
``NAME --check-update``): the manifest is verified with the tool's public key before a
word of it is believed; then its name and platform, a publication time not in the
future, an expiry not past (an old manifest replayed), a version newer than this one
and than any seen before (a rollback attack). The file is downloaded beside the pending
one and kept only if its size and hash are the signed ones. Anything refused raises
``UpdateError`` saying why, and leaves nothing behind.

**Putting it in place** (``apply_pending``, at the next launch, before anything else):
the staged file is verified again; the database is backed up; the program is swapped
for the new one in one rename (the previous kept beside it, ``NAME.previous``); the new
version runs ``--finish-update`` (it opens the database, migrates it, and renders every
page, with no window). If that fails, or does not end, the previous program and the
backup are put back, the version is not offered again, and the tool says so. A launch
that finds an update half put in place (a power cut) puts the previous one back first.
Only a one-file program in a folder its user can write is updated in place; an installed
package (``.deb``, ``.rpm``, a per-machine Windows install) is updated by IT's own tools,
and the check says a new version is there.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from deskwork.errors import UpdateError

if TYPE_CHECKING:
    from deskwork import Tool
    from deskwork.desktop.settings import Settings

log = logging.getLogger("deskwork")

FORMAT = 1
#: How far ahead of this desk's clock a manifest's publication time may be.
CLOCK_SKEW = dt.timedelta(minutes=10)
#: How long a published manifest holds, unless the release says otherwise.
LIFETIME_DAYS = 365
#: The most a manifest may weigh (it is a few hundred bytes).
MANIFEST_BYTES = 64 * 1024
CHUNK = 1024 * 1024
#: How long the new version may take to open and migrate the database.
FINISH_SECONDS = 300
#: What a published file may be called: a plain name, nothing a path or Windows reads
#: otherwise (no folder, drive, stream or device), none of a desk's own files.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}")
BOOKKEEPING = frozenset({"state.json", "pending.json", "applying.json"})
#: The file a release builds into the program: where it checks, and the key it trusts.
BUILT_IN = "update.json"


# -- keys -------------------------------------------------------------------------------------


def new_keys(private: Path) -> str:
    """Make a key pair: the private key in ``private`` (readable by its owner only,
    never overwritten), the public key beside it (``.pub``); returns the public key."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    seed = base64.b64encode(bytes(key)).decode()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    private.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UpdateError(
            f"{private} is there already: a signing key is never overwritten "
            "(desks trust its public key). Choose another file."
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"# deskwork release signing key: keep it secret, keep a copy.\n{seed}\n")
    private.with_suffix(".pub").write_text(public + "\n", encoding="utf-8")
    return public


def read_private(path: Path) -> Any:
    """The signing key in ``path`` (as ``new_keys`` wrote it)."""
    from nacl.signing import SigningKey

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        text = next(x for x in lines if x and not x.startswith("#"))
        seed = base64.b64decode(text, validate=True)
        return SigningKey(seed)
    except (OSError, StopIteration, ValueError, TypeError) as error:
        raise UpdateError(
            f"{path} holds no signing key made by 'deskwork keys new' ({error})."
        ) from None


def public_key(text: str) -> Any:
    """A public key as a settings file gives it (base64, 44 characters)."""
    from nacl.signing import VerifyKey

    try:
        return VerifyKey(base64.b64decode(text.strip(), validate=True))
    except (ValueError, TypeError) as error:
        raise UpdateError(
            f"update_key = {text!r} is not a public key made by 'deskwork keys new' ({error})."
        ) from None


def public_text(key: Any) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


# -- manifests --------------------------------------------------------------------------------


def this_platform() -> str:
    """``linux-x86_64``, ``windows-amd64``, ``macos-arm64``: what a build runs on."""
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    system = "linux" if system.startswith("linux") else system
    return f"{system}-{platform.machine().lower() or 'unknown'}"


def version_key(version: str) -> tuple[int, ...]:
    from deskwork.db.schema import version_key as key

    try:
        return key(version)
    except ValueError:
        raise UpdateError(f"{version!r} is not a version (numbers and dots).") from None


@dataclass(frozen=True)
class Manifest:
    """What a release says of itself, once its signature is verified."""

    name: str
    version: str
    platform: str
    file: str
    size: int
    sha256: str
    published: dt.datetime
    expires: dt.datetime
    text: bytes  # the whole signed manifest, as published

    @classmethod
    def read(cls, data: bytes, key: Any, where: str) -> Manifest:
        """Verify ``data`` (a published manifest) with ``key``, then read it."""
        from nacl.exceptions import BadSignatureError

        try:
            outer = json.loads(data)
            signed = outer["signed"].encode("utf-8")
            signature = base64.b64decode(outer["signature"], validate=True)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UpdateError(f"{where} is not an update manifest: refused.") from None
        try:
            key.verify(signed, signature)
        except (BadSignatureError, ValueError):
            raise UpdateError(
                f"{where} is not signed by this tool's release key (another key, "
                "or changed since): refused, nothing changed."
            ) from None
        try:
            body = json.loads(signed)
            if body["format"] != FORMAT:
                raise UpdateError(
                    f"{where} is in a manifest format this version can't read "
                    f"({body['format']}): refused."
                )
            return cls(
                body["name"],
                body["version"],
                body["platform"],
                body["file"],
                int(body["size"]),
                body["sha256"],
                dt.datetime.fromisoformat(body["published"]),
                dt.datetime.fromisoformat(body["expires"]),
                data,
            )
        except (ValueError, KeyError, TypeError):
            raise UpdateError(f"{where} is signed but not readable: refused.") from None

    def check(
        self, name: str, current: str, *, highest: str | None = None, now: dt.datetime | None = None
    ) -> bool:
        """Whether this is a newer version for tool ``name`` at version ``current``;
        ``UpdateError`` for a manifest that must not be believed."""
        now = now or dt.datetime.now(dt.timezone.utc)
        if self.name != name or self.platform != this_platform():
            raise UpdateError(
                f"The manifest is for {self.name} on {self.platform}, not "
                f"{name} on {this_platform()}: refused."
            )
        if not FILE_NAME.fullmatch(self.file) or self.file in BOOKKEEPING:
            raise UpdateError(f"The manifest names the file {self.file!r}: refused.")
        if self.published > now + CLOCK_SKEW:
            raise UpdateError(
                f"The manifest says it was published {self.published:%Y-%m-%d %H:%M} UTC, "
                "in the future: refused (check this desk's clock)."
            )
        if self.expires < now:
            raise UpdateError(
                f"The manifest expired on {self.expires:%Y-%m-%d}: an old one "
                "offered again is refused (publish a release again)."
            )
        newest = max((v for v in (current, highest) if v), key=version_key)
        if version_key(self.version) < version_key(newest):
            had = "this desk runs" if newest == current else "offered to this desk before"
            raise UpdateError(
                f"The manifest offers {name} {self.version}, older than {newest} {had}: "
                "a rollback is refused."
            )
        return version_key(self.version) > version_key(current)


def sign_manifest(key: Any, body: dict[str, Any]) -> bytes:
    signed = json.dumps({"format": FORMAT, **body}, sort_keys=True)
    signature = base64.b64encode(key.sign(signed.encode("utf-8")).signature).decode()
    return json.dumps({"signed": signed, "signature": signature}, indent=1).encode("utf-8")


def manifest_name(name: str) -> str:
    return f"{name}-{this_platform()}.json"


# -- places: a folder or a web server ---------------------------------------------------------


def _is_web(place: str) -> bool:
    return urllib.parse.urlsplit(place).scheme in ("http", "https")


def _join(place: str, name: str) -> str:
    if _is_web(place):
        return place.rstrip("/") + "/" + urllib.parse.quote(name)
    return str(Path(place) / name)


def read_place(place: str, name: str, limit: int) -> bytes | None:
    """The file ``name`` at ``place`` (None: not there), at most ``limit`` bytes."""
    import urllib.error
    import urllib.request  # not before the window: http.client is large

    where = _join(place, name)
    if not _is_web(place):
        try:
            with open(where, "rb") as f:
                return f.read(limit + 1)[:limit]
        except FileNotFoundError:
            return None
        except OSError as error:
            raise UpdateError(f"Can't read {where}: {error.strerror or error}.") from None
    try:
        with urllib.request.urlopen(where, timeout=30) as answer:
            return bytes(answer.read(limit))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise UpdateError(f"{where} answered {error.code} {error.reason}.") from None
    except (urllib.error.URLError, OSError) as error:
        raise UpdateError(f"Can't reach {where}: {getattr(error, 'reason', error)}.") from None


def download(place: str, name: str, target: Path, size: int) -> str:
    """Copy ``name`` from ``place`` to ``target``, at most ``size`` bytes and one more (to
    tell a longer file); returns its SHA-256. ``target`` is removed if this fails."""
    import urllib.error
    import urllib.request  # not before the window: http.client is large

    where = _join(place, name)
    digest = hashlib.sha256()
    got = 0
    try:
        with open(target, "wb") as out:
            source: Any
            if _is_web(place):
                source = urllib.request.urlopen(where, timeout=60)
            else:
                source = open(where, "rb")  # noqa: SIM115 (closed below, as the web's is)
            with source:
                while chunk := source.read(min(CHUNK, size + 1 - got)):
                    out.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    if got > size:
                        break
            out.flush()
            os.fsync(out.fileno())
    except (OSError, urllib.error.URLError) as error:
        target.unlink(missing_ok=True)
        raise UpdateError(
            f"Can't download {where}: {getattr(error, 'reason', error)}; nothing changed."
        ) from None
    if got != size:
        target.unlink(missing_ok=True)
        said = "cut short" if got < size else "longer than signed"
        raise UpdateError(
            f"The download of {name} was {said} ({got:,} bytes of {size:,}): "
            "refused, nothing changed."
        )
    return digest.hexdigest()


def write_place(place: str, name: str, data: Path | bytes) -> None:
    """Put ``data`` at ``place`` as ``name``: in a folder through a temporary name and one
    rename (readers see the old file or the new one); on a web server with ``PUT``."""
    import urllib.error
    import urllib.request  # not before the window: http.client is large

    where = _join(place, name)
    if _is_web(place):
        body = data if isinstance(data, bytes) else data.read_bytes()
        request = urllib.request.Request(where, data=body, method="PUT")
        request.add_header("Content-Type", "application/octet-stream")
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            raise UpdateError(f"{where} refused the upload: {error.code} {error.reason}.") from None
        except (urllib.error.URLError, OSError) as error:
            raise UpdateError(f"Can't reach {where}: {getattr(error, 'reason', error)}.") from None
        return
    folder = Path(place)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.partial"
        if isinstance(data, bytes):
            partial.write_bytes(data)
        else:
            shutil.copyfile(data, partial)
        os.replace(partial, folder / name)
    except OSError as error:
        raise UpdateError(f"Can't write {where}: {error.strerror or error}.") from None


# -- publishing -------------------------------------------------------------------------------


def check_newer(place: str, key: Any, *, name: str, version: str) -> None:
    """Refuse to publish ``version`` where the same key published it, or a newer one,
    already (desks would refuse it as a rollback)."""
    version_key(version)
    found = read_place(place, manifest_name(name), MANIFEST_BYTES)
    if found is None:
        return
    try:
        there = Manifest.read(found, key.verify_key, _join(place, manifest_name(name)))
    except UpdateError:
        return  # another key's, or damaged: this release replaces it
    if version_key(there.version) >= version_key(version):
        raise UpdateError(
            f"{name} {there.version} is published at {place} already: a release must be "
            f"newer than it (this is {version}; raise Tool(version=...))."
        )


def publish(
    program: Path,
    place: str,
    *,
    key: Any,
    name: str,
    version: str,
    days: int = LIFETIME_DAYS,
    now: dt.datetime | None = None,
) -> str:
    """Publish ``program`` (tool ``name`` at ``version``) to ``place``, signed with
    ``key``; returns where its manifest is. A version not newer than the one published
    there is refused (desks would refuse it as a rollback)."""
    check_newer(place, key, name=name, version=version)
    now = now or dt.datetime.now(dt.timezone.utc)
    digest = hashlib.sha256()
    with open(program, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    file_name = f"{name}-{version}-{this_platform()}{program.suffix}"
    write_place(place, file_name, program)  # the file first, the manifest naming it last
    manifest = sign_manifest(
        key,
        {
            "name": name,
            "version": version,
            "platform": this_platform(),
            "file": file_name,
            "size": program.stat().st_size,
            "sha256": digest.hexdigest(),
            "published": now.isoformat(timespec="seconds"),
            "expires": (now + dt.timedelta(days=days)).isoformat(timespec="seconds"),
        },
    )
    write_place(place, manifest_name(name), manifest)
    return _join(place, manifest_name(name))


# -- a desk's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a tool looks for updates, and the key its releases are signed with."""

    place: str
    key: Any

    @classmethod
    def find(cls, settings: Any, built: Path | None) -> Source | None:
        """From IT's settings (``update_source``, ``update_key``), else what the release
        built in (``update.json``); None when there is nowhere to look."""
        made: dict[str, str] = {}
        if built is not None and built.is_file():
            made = json.loads(built.read_text(encoding="utf-8"))
        if settings.value("updates") is False:
            return None
        place = settings.raw("update_source") or made.get("source")
        key = settings.raw("update_key") or made.get("key")
        if not place:
            return None
        if not key:
            raise UpdateError(
                f"update_source is {place}, but no update_key says whose "
                "signature to trust: set it too."
            )
        return cls(place, public_key(key))


@dataclass(frozen=True)
class Folder:
    """A tool's update bookkeeping, in its data folder: the staged file and its
    manifest, the version being put in place, the newest version seen, the ones that
    failed here."""

    path: Path

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    def state(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
            return found
        except (OSError, ValueError):
            return {}

    def save(self, **changes: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _write_json(self.state_file, {**self.state(), **changes})

    @property
    def pending(self) -> Path:
        return self.path / "pending.json"

    @property
    def applying(self) -> Path:
        return self.path / "applying.json"

    def staged(self, manifest: Manifest) -> Path:
        return self.path / manifest.file

    def forget_pending(self) -> None:
        found = self.pending_manifest_file()
        if found is not None:
            found.unlink(missing_ok=True)
        self.pending.unlink(missing_ok=True)

    def pending_manifest_file(self) -> Path | None:
        """The staged file the pending manifest names (read without verifying: to remove)."""
        try:
            outer = json.loads(self.pending.read_text(encoding="utf-8"))
            name = str(json.loads(outer["signed"])["file"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return self.path / Path(name).name


@dataclass(frozen=True)
class Offer:
    """A newer version downloaded and verified, waiting for the next launch."""

    name: str
    version: str
    file: Path


def check(source: Source, folder: Folder, *, name: str, current: str) -> Offer | None:
    """Look for a newer version at ``source``; download and verify it. None: up to date
    (or the newer one failed here before). ``UpdateError`` for anything refused."""
    where = _join(source.place, manifest_name(name))
    data = read_place(source.place, manifest_name(name), MANIFEST_BYTES)
    if data is None:
        return None
    manifest = Manifest.read(data, source.key, where)
    state = folder.state()
    if not manifest.check(name, current, highest=state.get("highest")):
        return None
    folder.save(highest=max(manifest.version, state.get("highest") or current, key=version_key))
    if manifest.version in state.get("failed", []):
        log.info("%s %s failed to start here before: not offered again.", name, manifest.version)
        return None
    staged = folder.staged(manifest)
    if folder.pending.is_file() and _staged_manifest(folder) == manifest.text and staged.is_file():
        return Offer(name, manifest.version, staged)  # downloaded already
    folder.path.mkdir(parents=True, exist_ok=True)
    partial = folder.path / f".{manifest.file}.partial"
    digest = download(source.place, manifest.file, partial, manifest.size)
    if digest != manifest.sha256:
        partial.unlink(missing_ok=True)
        raise UpdateError(
            f"{manifest.file} does not match its signed hash (tampered with, or "
            "damaged): refused, nothing changed."
        )
    folder.forget_pending()
    os.replace(partial, staged)
    staged.chmod(0o755)
    partial_manifest = folder.path / ".pending.json.partial"
    partial_manifest.write_bytes(manifest.text)
    os.replace(partial_manifest, folder.pending)  # the manifest last: it names a whole file
    log.info("%s %s downloaded and verified: %s", name, manifest.version, staged)
    return Offer(name, manifest.version, staged)


def _staged_manifest(folder: Folder) -> bytes | None:
    try:
        return folder.pending.read_bytes()
    except OSError:
        return None


def verify_staged(folder: Folder, key: Any, *, name: str, current: str) -> Manifest | None:
    """The pending update's manifest, verified again with its file (it may have waited
    days); None, forgetting it, if it no longer holds."""
    data = _staged_manifest(folder)
    if data is None:
        return None
    try:
        manifest = Manifest.read(data, key, str(folder.pending))
        if not manifest.check(name, current, now=manifest.published):  # expiry: when checked
            folder.forget_pending()
            return None
        digest = hashlib.sha256()
        with open(folder.staged(manifest), "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != manifest.sha256:
            raise UpdateError(f"{folder.staged(manifest)} changed since it was verified.")
    except (UpdateError, OSError) as error:
        log.warning("The pending update is dropped: %s", error)
        folder.forget_pending()
        return None
    return manifest


def previous_of(program: Path) -> Path:
    """Where the program before an update is kept: ``NAME.previous`` (``.exe`` kept)."""
    return program.with_name(f"{program.stem}.previous{program.suffix}")


def can_replace(program: Path) -> bool:
    """Whether this user may update ``program`` in place: a one-file build in a folder
    they can write (tried with a file: Windows' permissions are not what ``os.access``
    says), not a package's files."""
    if not program.is_file():
        return False
    probe = program.with_name(f".{program.name}.{os.getpid()}.probe")
    try:
        probe.open("xb").close()
        probe.unlink()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Outcome:
    """What ``apply_pending`` did: ``updated`` (run ``program``, the new version),
    ``rolled_back`` (say ``message``; with ``restart``, this process is the version that
    failed: run ``program``, the previous one, which says it), or nothing to do."""

    updated: bool = False
    rolled_back: bool = False
    message: str = ""
    program: Path = Path()
    restart: bool = False


Backup = Callable[[str], Path | None]
#: Puts the backup back; given None (there was no database before), sets aside what the
#: failed version made, which the previous version would refuse as newer.
Restore = Callable[[Path | None], None]
#: How a database is backed up and put back (``keeping``), for the one an update used.
Keeper = Callable[[Path], tuple[Backup, Restore]]
#: Windows can't replace a running program, only rename it (``_put_in_place``).
WINDOWS = sys.platform == "win32"


def apply_pending(
    program: Path, folder: Folder, key: Any, *, name: str, title: str, current: str,
    database: Path, keeper: Keeper, timeout: float = FINISH_SECONDS,
) -> Outcome:  # fmt: skip
    """At launch, before the database opens: put a pending update in place (see the
    module's docstring). Never raises for what goes wrong on the way: the launch goes
    on with a working program and whole data."""
    if folder.applying.is_file():  # a launch cut short while putting one in place
        return _roll_back(program, folder, keeper, title=title, current=current,
                          reason="its launch was cut short")  # fmt: skip
    notice = folder.state().get("notice")
    if notice:  # the version that failed put this one back, and restarted it to say so
        folder.save(notice=None)
        return Outcome(rolled_back=True, message=str(notice))
    if not folder.pending.is_file() or not can_replace(program):
        return Outcome()
    manifest = verify_staged(folder, key, name=name, current=current)
    if manifest is None:
        return Outcome()
    fresh = program.with_name(f".{program.name}.new")
    try:
        backup, _restore = keeper(database)
        saved = backup("before-new-version")
        _copy_synced(folder.staged(manifest), fresh)
        _copy_synced(program, previous_of(program))  # the previous program, whole, first
        _write_json(
            folder.applying,
            {
                "from": current,
                "to": manifest.version,
                "database": str(database),
                "backup": str(saved) if saved else None,
            },
        )
        _put_in_place(fresh, program)
    except Exception as error:  # a disk full, a file held: the program is the previous one
        fresh.unlink(missing_ok=True)
        log.exception("%s %s could not be put in place", title, manifest.version)
        if folder.applying.is_file():
            return _roll_back(
                program,
                folder,
                keeper,
                title=title,
                current=current,
                reason=f"it could not be put in place: {error}",
            )
        return Outcome()  # nothing changed: tried again at the next launch
    log.info(
        "Put %s %s in place of %s (kept as %s); finishing.",
        title,
        manifest.version,
        current,
        previous_of(program),
    )
    failed = _finish(program, database, timeout)
    if failed is not None:
        return _roll_back(program, folder, keeper, title=title, current=current, reason=failed)
    folder.applying.unlink()
    folder.forget_pending()
    folder.save(installed=manifest.version)
    log.info(
        "%s %s is in place; the previous version is kept as %s.",
        title,
        manifest.version,
        previous_of(program),
    )
    return Outcome(
        updated=True, message=f"{title} was updated to {manifest.version}.", program=program
    )


def _finish(program: Path, database: Path, timeout: float) -> str | None:
    """Run the new version's first launch (``--finish-update``), with no window; None if
    it worked, else why not. One that does not end in time is stopped with all its
    processes (a one-file program is two), before anything is put back."""
    command = [str(program), "--finish-update", f"--db={database}"]
    try:
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            encoding="utf-8",
            errors="replace",
            env=fresh_environment(),
            start_new_session=not WINDOWS,
        )
    except OSError as error:
        return f"it could not run: {error}"
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_all(child)
        child.communicate()
        return f"it did not finish within {timeout:.0f} s"
    if child.returncode == 0:
        return None
    return f"exit {child.returncode}: {_last_line(err or out)}"


def _stop_all(child: subprocess.Popen[str]) -> None:
    """Stop ``child`` and the processes it started."""
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(child.pid)], capture_output=True)
    else:
        import contextlib
        import signal

        with contextlib.suppress(ProcessLookupError):  # its own session: all of it
            os.killpg(child.pid, signal.SIGKILL)
    child.kill()


def fresh_environment() -> dict[str, str]:
    """This environment without what PyInstaller's bootloader set for this program, so
    that another program (a new version) unpacks and starts as its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_PYI_") and k != "_MEIPASS2"}
    env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
    if getattr(sys, "frozen", False):
        for variable in ("LD_LIBRARY_PATH", "LIBPATH"):  # the bootloader put its folder first
            original = env.pop(f"{variable}_ORIG", None)
            if original is None:
                env.pop(variable, None)
            else:
                env[variable] = original
    return env


def _roll_back(program: Path, folder: Folder, keeper: Keeper, *, title: str, current: str,
               reason: str) -> Outcome:  # fmt: skip
    """Put the previous program and the database the update used back, after a new
    version failed (or its launch was cut short)."""
    doing = json.loads(folder.applying.read_text(encoding="utf-8"))
    previous = previous_of(program)
    if previous.is_file():
        _swap_back(program, previous)
    if doing.get("database"):
        _backup, restore = keeper(Path(doing["database"]))
        restore(Path(doing["backup"]) if doing.get("backup") else None)
    message = (
        f"{title} {doing['to']} failed to start ({reason}). {title} {doing['from']} is back, "
        "with your data as it was before the update."
    )
    restart = current != doing["from"]  # this process is the version that failed
    failed = [v for v in folder.state().get("failed", []) if v != doing["to"]]
    folder.save(failed=[*failed, doing["to"]], notice=message if restart else None)
    folder.forget_pending()
    folder.applying.unlink()
    log.error("%s", message)
    return Outcome(rolled_back=True, message=message, program=program, restart=restart)


def _copy_synced(source: Path, target: Path) -> None:
    """``source`` copied whole to ``target`` (through a temporary name, on the disk
    before the rename), runnable."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    partial.chmod(0o755)
    os.replace(partial, target)


def _put_in_place(fresh: Path, program: Path) -> None:
    """``fresh`` becomes ``program`` in one rename. Windows can't replace a running
    program, only rename it: it is moved aside first (and back if the rename fails)."""
    if not WINDOWS:
        os.replace(fresh, program)
        return
    aside = program.with_name(f".{program.name}.old")
    aside.unlink(missing_ok=True)  # the one moved aside by the update before (not running)
    os.replace(program, aside)
    try:
        os.replace(fresh, program)
    except OSError:
        os.replace(aside, program)
        raise


def _swap_back(program: Path, previous: Path) -> None:
    back = program.with_name(f".{program.name}.back")
    _copy_synced(previous, back)
    _put_in_place(back, program)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def _last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:300] if lines else "no message"


# -- at launch, and while the window is open ---------------------------------------------------


def running_program() -> Path | None:
    """This one-file build's program (None from source, or from a folder build: those
    are installed, and updated, by IT's own tools)."""
    unpacked = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or unpacked is None:
        return None
    program = Path(sys.executable).resolve()
    return None if Path(unpacked).resolve().is_relative_to(program.parent) else program


def built_in() -> Path | None:
    """What ``deskwork release`` built into the program (``update.json``), if anything."""
    unpacked = getattr(sys, "_MEIPASS", None)
    found = Path(unpacked) / BUILT_IN if unpacked else None
    return found if found is not None and found.is_file() else None


@dataclass(frozen=True)
class Desk:
    """One tool's updates on this desk: where it looks, what it trusts, its bookkeeping."""

    tool: Tool
    source: Source
    folder: Folder

    @classmethod
    def find(cls, tool: Tool, settings: Settings) -> Desk | None:
        from deskwork.desktop import paths

        source = Source.find(settings, built_in())
        if source is None:
            return None
        return cls(tool, source, Folder(paths.data_dir(settings) / tool.name / "updates"))

    def check(self) -> Offer | None:
        return check(self.source, self.folder, name=self.tool.name, current=self.tool.version)


def at_launch(tool: Tool, settings: Settings, database: Path) -> Outcome:
    """Put a pending update of this one-file build in place, before the database opens
    (``apply_pending``): the database backed up as the tool's own backups are. An update
    setting that can't be used is logged; the tool opens all the same."""
    from deskwork.db.backups import Backups
    from deskwork.errors import SettingError

    program = running_program()
    if program is None:
        return Outcome()
    try:
        desk = Desk.find(tool, settings)
    except (UpdateError, SettingError) as error:
        log.warning("No update is looked for: %s", error)
        return Outcome()
    if desk is None:
        return Outcome()

    def keeper(path: Path) -> tuple[Backup, Restore]:
        return keeping(path, Backups(path, folder=settings.backup_dir, keep=settings.backups))

    return apply_pending(
        program,
        desk.folder,
        desk.source.key,
        name=tool.name,
        title=tool.title,
        current=tool.version,
        database=database,
        keeper=keeper,
    )


def check_for_update(tool: Tool, echo: Callable[[str], None] = print) -> int:
    """``NAME --check-update``: look now, download and verify; say what was found. An
    update refused raises ``UpdateError`` (its message, exit code 51)."""
    from deskwork.desktop.settings import Settings

    desk = Desk.find(tool, Settings.load(name=tool.name))
    if desk is None:
        echo(
            f"{tool.title} has no update source: IT sets update_source and update_key, or "
            "'deskwork release' builds them in."
        )
        return 0
    offer = desk.check()
    if offer is None:
        state = desk.folder.state()
        if state.get("highest") in state.get("failed", []):
            echo(f"{tool.title} {state['highest']} failed to start here, and was rolled back: "
                 f"{tool.title} {tool.version} waits for a newer release.")  # fmt: skip
        else:
            echo(f"{tool.title} {tool.version} is up to date ({desk.source.place}).")
        return 0
    program = running_program()
    if program is None or not can_replace(program):
        echo(
            f"{tool.title} {offer.version} is published ({desk.source.place}); this copy is "
            "installed for the whole machine: IT installs the new version."
        )
        return 0
    echo(
        f"{tool.title} {offer.version} is downloaded and verified; it is put in place the "
        f"next time {tool.title} starts."
    )
    return 0


def keeping(database: Path, backups: Any) -> tuple[Backup, Restore]:
    """How ``apply_pending`` backs ``database`` up (None: there is none yet) and puts it
    back: from the backup, or, with none, by setting aside the file the failed version
    made (``NAME.sqlite3.failed-update``, kept, not deleted)."""

    def backup(why: str) -> Path | None:
        return backups.take(why).path if database.is_file() else None

    def restore(path: Path | None) -> None:
        if path is not None:
            backups.restore(path)
            return
        for made in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if made.exists():
                os.replace(made, made.with_name(f"{made.name}.failed-update"))

    return backup, restore


def run_again(program: Path) -> NoReturn:
    """Run ``program`` (the new version, or the previous one put back) as this process
    was run, in its place: on Linux and macOS the same process; on Windows, which has no
    such thing, a new one, as this one ends."""
    logging.shutdown()
    argv = [str(program), *sys.argv[1:]]
    if WINDOWS:
        subprocess.Popen(argv, env=fresh_environment(), close_fds=True)
        os._exit(0)
    os.execve(program, argv, fresh_environment())


def watch(
    desk: Desk,
    ready: Callable[[], bool],
    ask: Callable[[str, str], bool],
    restart: Callable[[], None],
    delay: float = 5.0,
) -> threading.Thread:
    """Look for a newer version on a thread of its own once the tool is ``ready`` (never
    delaying the window); when one is downloaded and verified, ``ask`` the user whether
    to restart now (``restart``), else it goes in at the next launch."""

    def run() -> None:
        if not ready():
            return
        time.sleep(delay)  # the first pages come first
        try:
            offer = desk.check()
        except UpdateError as refused:
            log.warning("Update refused: %s", refused)
            return
        except Exception:
            log.exception("Looking for an update failed")
            return
        if offer is None:
            log.info("%s %s is up to date.", desk.tool.title, desk.tool.version)
            return
        title = desk.tool.title
        log.info("%s %s is downloaded and verified: asking whether to restart now",
                 title, offer.version)  # fmt: skip
        if ask(
            f"{title} {offer.version}",
            f"{title} {offer.version} is ready (you have {desk.tool.version}). Restart now "
            f"to use it? Otherwise it is put in place the next time {title} starts.",
        ):
            log.info("Restarting into %s %s, as the user chose", title, offer.version)
            restart()
        else:
            log.info("%s %s goes in at the next launch, as the user chose", title, offer.version)

    thread = threading.Thread(target=run, name="deskwork-updates", daemon=True)
    thread.start()
    return thread
