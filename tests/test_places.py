"""A database on a network drive, or in a folder that can't be written, is refused at launch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath

import pytest

from conftest import TOOL_FILE, deskwork_env
from deskwork.desktop import places
from deskwork.desktop.places import PlaceError

# What /proc/self/mountinfo says on a laptop with an office share, a home NAS and a
# server's folder mounted; the mount point "/mnt/my drive" is written with \040.
MOUNTINFO = r"""22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
25 22 0:23 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=8G
30 22 259:3 / /home rw,relatime shared:30 - ext4 /dev/nvme0n1p3 rw
41 22 0:45 / /srv/share rw,relatime shared:40 - nfs4 nas:/export/share rw,vers=4.2
42 22 0:46 / /mnt/office rw,relatime shared:41 - ext4 /dev/sdb1 rw
43 42 0:47 / /mnt/office rw,relatime shared:42 - cifs //fs1/office rw,vers=3.1.1
44 22 0:48 / /mnt/smb3 rw,relatime shared:43 - smb3 //fs2/team rw
45 30 0:49 / /home/ann/remote rw,nosuid,nodev shared:44 - fuse.sshfs ann@build:/srv rw
46 22 0:50 / /mnt/my\040drive rw,relatime shared:45 - nfs nas:/old rw,vers=3
"""


@pytest.mark.parametrize(
    ("folder", "kind", "refused"),
    [
        ("/home/ann/.local/share/deskwork/expenses", "ext4", False),
        ("/srv/share/finance", "nfs4", True),
        ("/srv/shared", "ext4", False),  # a prefix of the name, not of the path
        ("/mnt/office/2026", "cifs", True),  # mounted over the disk that was there
        ("/mnt/smb3", "smb3", True),
        ("/home/ann/remote/tools", "fuse.sshfs", True),
        ("/home/ann/remote-copy", "ext4", False),
        ("/mnt/my drive/tools", "nfs", True),
        ("/tmp/x", "tmpfs", False),
    ],
)
def test_the_filesystem_of_a_folder_is_its_longest_mount_point(folder, kind, refused):
    found = places.filesystem_from_mountinfo(PurePosixPath(folder), MOUNTINFO)
    print(f"{folder}: {found}")
    assert found == kind
    assert places.is_network(found) is refused


def test_a_database_on_a_network_drive_is_refused_with_the_remedy(tmp_path):
    database = tmp_path / "office" / "expenses.sqlite3"
    kind = places.filesystem_from_mountinfo(PurePosixPath("/srv/share/x"), MOUNTINFO)
    with pytest.raises(PlaceError) as refused:
        places.check_database_place(database, filesystem=kind)
    print(refused.value)
    assert str(refused.value) == (
        f"{database} is on a network drive (nfs4): SQLite's WAL can't work there, and two "
        "computers saving at once could damage it. Keep it on this computer's own disk: set "
        "DESKWORK_DATA_DIR to a local folder, or give --db a file on a local disk."
    )
    assert refused.value.exit_code == PlaceError.exit_code == 21
    places.check_database_place(database, filesystem="ext4")  # a local disk is fine


def test_this_machines_own_mountinfo_is_read():
    found = places.filesystem_type(Path.cwd())
    print(f"{Path.cwd()}: {found}")
    assert found and not places.is_network(found)


MOUNT_LIST = """/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
devfs on /dev (devfs, local, nobrowse)
/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse)
//ann@fs1._smb._tcp.local/office on /Volumes/office (smbfs, nodev, nosuid, mounted by ann)
nas:/export/share on /Volumes/share (nfs, nodev, nosuid, mounted by ann)
/dev/disk4s1 on /Volumes/My Stick (msdos, local, nodev, nosuid, noowners)
"""


@pytest.mark.parametrize(
    ("folder", "kind"),
    [
        ("/Users/ann/Library/Application Support/deskwork", "apfs"),
        ("/Volumes/office/tools", "smbfs"),
        ("/Volumes/share", "nfs"),
        ("/Volumes/My Stick/tools", "msdos"),
    ],
)
def test_macos_mount_list_gives_the_filesystem(folder, kind):
    assert places.filesystem_from_mount_list(PurePosixPath(folder), MOUNT_LIST) == kind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (r"\\fs1\office\expenses", "network share"),
        (r"\\?\UNC\fs1\office\expenses", "network share"),
        (r"\\?\C:\Users\ann\AppData", None),
        (r"C:\Users\ann\AppData", None),  # a drive letter: GetDriveTypeW, on Windows only
    ],
)
def test_windows_unc_paths_are_network_shares(path, kind):
    found = places.windows_network_kind(PurePosixPath(path))  # type: ignore[arg-type]
    assert found == kind
    assert kind is None or places.is_network(kind)


def test_a_folder_that_is_a_file_or_cannot_be_made_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(PlaceError) as refused:
        places.check_database_place(notes / "expenses.sqlite3")
    print(refused.value)
    assert str(refused.value) == (
        f"The database's folder {notes} is a file, not a folder. "
        "Choose a folder on this computer that you can write to."
    )
    with pytest.raises(PlaceError) as refused:
        places.check_database_place(notes / "tools" / "expenses.sqlite3")
    print(refused.value)
    assert str(refused.value).startswith(
        f"The database's folder {notes / 'tools'} can't be created (not a directory)."
    )


CHECK_AS_ANOTHER_USER = """
import json, os, sys
from pathlib import Path
from deskwork.desktop.places import PlaceError, check_database_place
if os.geteuid() == 0:  # root writes anywhere: become nobody, once Python has loaded
    os.setgid(65534)
    os.setuid(65534)
try:
    check_database_place(Path(sys.argv[1]), filesystem="ext4")
except PlaceError as error:
    print(json.dumps({"refused": str(error)}))
else:
    print(json.dumps({"refused": None}))
"""


def check_as_someone_else(database: Path) -> str | None:
    """Run the check for real as a user who may not write there: as root (whom no
    permission stops) under the uid of ``nobody``, else as this user after a chmod."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK_AS_ANOTHER_USER, str(database)],
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["refused"]


@pytest.fixture
def shared_folder():
    """A folder in /tmp that another user can reach (pytest's own are its owner's only)."""
    folder = Path(tempfile.mkdtemp(prefix="deskwork-place-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


def test_a_folder_the_user_cannot_write_is_refused(shared_folder):
    readonly = shared_folder / "readonly"
    readonly.mkdir()
    readonly.chmod(0o755 if os.geteuid() == 0 else 0o555)  # root's: not nobody's to write
    refused = check_as_someone_else(readonly / "expenses.sqlite3")
    print(f"uid {65534 if os.geteuid() == 0 else os.geteuid()}: {refused}")
    assert refused is not None
    assert refused.startswith(
        f"The database's folder {readonly} can't be written to (permission denied). "
        "Choose a folder on this computer that you can write to"
    )
    assert list(readonly.iterdir()) == []  # the trial file is not left behind


def test_a_database_file_the_user_cannot_write_is_refused(shared_folder):
    database = shared_folder / "expenses.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o444)
    shared_folder.chmod(0o777)  # the folder is writable, the file is not
    refused = check_as_someone_else(database)
    print(refused)
    assert refused is not None and refused.startswith(
        f"{database} can't be written to (permission denied). Make it writable"
    )


def test_the_command_refuses_a_network_drive_in_one_line_and_creates_nothing(data_dir):
    # The launch asks the real check; only what the OS answers about the filesystem is
    # stood in for, as a network mount would answer.
    script = (
        "import deskwork.desktop.places as places\n"
        "places.filesystem_type = lambda folder: 'cifs'\n"
        "from deskwork.desktop.cli import main\n"
        f"main(['run', {str(TOOL_FILE)!r}, '--browser'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=deskwork_env(data_dir),
        capture_output=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    print(done.stderr)
    assert done.returncode == PlaceError.exit_code
    database = data_dir / "expenses" / "expenses.sqlite3"
    assert done.stderr == (
        f"Error: {database} is on a network drive (cifs): SQLite's WAL can't work there, and "
        "two computers saving at once could damage it. Keep it on this computer's own disk: "
        "set DESKWORK_DATA_DIR to a local folder, or give --db a file on a local disk.\n"
    )
    assert sorted(p.name for p in (data_dir / "expenses").iterdir()) == []  # no db, no lock
    log = (data_dir / "logs" / "expenses.log").read_text(encoding="utf-8")
    assert "PlaceError" in log and "Traceback" in log
