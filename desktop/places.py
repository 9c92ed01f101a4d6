"""Where a tool's database may live: on this computer's own disk, in a folder the user can write.

SQLite's WAL keeps its shared index in a memory-mapped ``-shm`` file and relies on the
operating system's file locks. Over a network filesystem (NFS, SMB/CIFS, sshfs) the map is
not shared between computers and the locks are unreliable, so the file can be corrupted; in
a folder the user can't write, the first save fails. Both are refused at launch, with what
to do instead (``check_database_place``), before anything is created there.

How the kind of filesystem is found, by system:

* Linux: ``/proc/self/mountinfo``, the mount whose mount point is the longest prefix of the
  folder (``filesystem_from_mountinfo``).
* Windows: a UNC path (``\\\\server\\share``) or a drive ``GetDriveTypeW`` calls
  ``DRIVE_REMOTE`` (a mapped network drive).
* macOS and the BSDs: the ``mount`` command's list (``filesystem_from_mount_list``), whose
  lines read ``//me@server/share on /Volumes/share (smbfs, nodev, nosuid)``. ``statfs``
  would say it too, but its struct differs between macOS's architectures and releases,
  which ``ctypes`` would have to hard-code.

Writability is tried, not inferred from permission bits (an administrator, ACLs, a
read-only mount): a temporary file is made in the folder and removed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from deskwork.errors import PlaceError

#: Filesystems that live on another computer (Linux's names, and macOS's for SMB, NFS,
#: AFP and WebDAV). A FUSE filesystem shows as ``fuse.<program>``.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "afpfs",
        "coda", "ceph", "glusterfs", "lustre", "gpfs", "davfs", "webdav", "9p",
        "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.rclone", "fuse.s3fs",
        "fuse.davfs2", "fuse.smbnetfs", "fuse.gvfsd-fuse",
        "network share", "mapped network drive",  # what windows_network_kind says
    }
)  # fmt: skip

LOCAL_DISK = (
    "this computer's own disk: set DESKWORK_DATA_DIR to a local folder, or give --db a file "
    "on a local disk"
)


def check_database_place(database: Path, *, filesystem: str | None = None) -> None:
    """Refuse ``database`` if its folder is on a network drive or can't be written.

    The folder is created if missing. ``filesystem`` stands for the folder's filesystem
    type, as found by ``filesystem_type`` (tests give it).
    """
    folder = database.parent
    make_folder(folder, "The database's folder")
    kind = filesystem if filesystem is not None else filesystem_type(folder)
    if kind is not None and is_network(kind):
        raise PlaceError(
            f"{database} is on a network drive ({kind}): SQLite's WAL can't work there, and "
            f"two computers saving at once could damage it. Keep it on {LOCAL_DISK}."
        )
    check_writable(folder, "The database's folder")
    if database.exists():
        try:
            with open(database, "r+b"):  # opened for writing, nothing written
                pass
        except OSError as error:
            raise PlaceError(
                f"{database} can't be written to ({reason(error)}). Make it writable, or "
                f"keep the tool's data elsewhere on {LOCAL_DISK}."
            ) from error


def make_folder(folder: Path, what: str) -> None:
    """Create ``folder`` (and its parents) if missing; ``PlaceError`` if it can't be."""
    choose = "Choose a folder on this computer that you can write to."
    if folder.exists() and not folder.is_dir():
        raise PlaceError(f"{what} {folder} is a file, not a folder. {choose}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PlaceError(f"{what} {folder} can't be created ({reason(error)}). {choose}") from error


def check_writable(folder: Path, what: str) -> None:
    """Make and remove a temporary file in ``folder``; ``PlaceError`` if that fails."""
    make_folder(folder, what)
    try:
        descriptor, name = tempfile.mkstemp(prefix=".deskwork-check-", dir=folder)
        os.close(descriptor)
        os.unlink(name)
    except OSError as error:
        raise PlaceError(
            f"{what} {folder} can't be written to ({reason(error)}). "
            "Choose a folder on this computer that you can write to "
            "(DESKWORK_DATA_DIR), or ask whoever manages this computer for write access."
        ) from error


def reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def is_network(filesystem: str) -> bool:
    kind = filesystem.lower()
    return kind in NETWORK_FILESYSTEMS or kind.startswith(("nfs", "smb", "cifs"))


def filesystem_type(folder: Path) -> str | None:
    """The type of the filesystem holding ``folder`` (an existing folder), or None when
    it can't be told (then nothing is refused)."""
    path = folder.resolve()
    if sys.platform == "win32":
        return windows_network_kind(path)
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return filesystem_from_mountinfo(path, text)
    for mount in ("/sbin/mount", "/usr/sbin/mount", "mount"):  # macOS, the BSDs
        try:
            done = subprocess.run(
                [mount], capture_output=True, encoding="utf-8", errors="replace", timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return filesystem_from_mount_list(path, done.stdout)
    return None


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in paths as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def _holds(mount_point: str, path: str) -> bool:
    if mount_point == "/":
        return True
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def filesystem_from_mountinfo(path: Path, mountinfo: str) -> str | None:
    """The filesystem type of the mount holding ``path`` (absolute, resolved), from the
    text of ``/proc/self/mountinfo``: the longest mount point that is a prefix of it (the
    last such line, if mounted over)."""
    target = str(path)
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        before, separator, after = line.partition(" - ")
        fields, kinds = before.split(), after.split()
        if not separator or len(fields) < 5 or not kinds:
            continue
        mount_point = _unescape(fields[4])
        if _holds(mount_point, target) and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), kinds[0])
    return best[1] if best else None


_MOUNT_LINE = re.compile(r"^.*? on (?P<point>/.*?) \((?P<kind>[^,()]+)[^()]*\)\s*$")


def filesystem_from_mount_list(path: Path, mount_list: str) -> str | None:
    """The filesystem type of the mount holding ``path``, from the ``mount`` command's
    output on macOS and the BSDs (``/dev/disk3s1 on / (apfs, local, journaled)``)."""
    target = str(path)
    best: tuple[int, str] | None = None
    for line in mount_list.splitlines():
        found = _MOUNT_LINE.match(line)
        if not found:
            continue
        point = found["point"]
        if _holds(point, target) and (best is None or len(point) >= best[0]):
            best = (len(point), found["kind"].strip())
    return best[1] if best else None


DRIVE_REMOTE = 4


def windows_network_kind(path: Path) -> str | None:
    r"""``"network share"`` for a UNC path (``\\server\share``, ``\\?\UNC\...``),
    ``"mapped network drive"`` for a drive Windows calls remote; else None."""
    text = str(path)
    if text.startswith("\\\\"):
        if text.upper().startswith(("\\\\?\\UNC\\", "\\\\.\\UNC\\")):
            return "network share"
        if not text.startswith(("\\\\?\\", "\\\\.\\")):
            return "network share"
        text = text[4:]  # \\?\C:\... : a local path written the long way
    drive = os.path.splitdrive(text)[0]
    if sys.platform == "win32" and drive:
        import ctypes

        if ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == DRIVE_REMOTE:
            return "mapped network drive"
    return None
