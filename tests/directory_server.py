"""A real directory server for the log-in tests: Debian's slapd (OpenLDAP), started in a
folder of its own on 127.0.0.1, with a few people and groups."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ADMIN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "directory-admin-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

#: name -> (password, the groups they are in)
PEOPLE_IN_IT = {
    "lena": ("lena's directory passphrase", ("finance",)),
    "omar": ("omar's directory passphrase", ("staff",)),
    "ivy": ("ivy's directory passphrase", ()),
}


def person_dn(name: str) -> str:
    return f"uid={name},{PEOPLE}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def _ldif() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for name, (password, _groups) in PEOPLE_IN_IT.items():
        title = name.title()
        entries.append(f"dn: {person_dn(name)}\nobjectClass: inetOrgPerson\nuid: {name}\n"
                       f"cn: {title}\nsn: {title}\nuserPassword: {password}")  # fmt: skip
    for group in ("finance", "staff", "nobody"):
        members = [person_dn(n) for n, (_, groups) in PEOPLE_IN_IT.items() if group in groups]
        lines = "".join(f"\nmember: {m}" for m in members or [ADMIN])
        entries.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}{lines}")
    return "\n\n".join(entries) + "\n"


class DirectoryServer:
    """slapd serving ``BASE`` from ``folder`` until ``stop``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "db").mkdir(parents=True)
        includes = "".join(f"include /etc/ldap/schema/{s}.schema\n" for s in SCHEMAS)
        self.config = folder / "slapd.conf"
        self.config.write_text(
            f"{includes}pidfile {folder / 'slapd.pid'}\nmodulepath /usr/lib/ldap\n"
            f"moduleload back_mdb\ndatabase mdb\nmaxsize 10485760\nsuffix \"{BASE}\"\n"
            f"rootdn \"{ADMIN}\"\nrootpw {ADMIN_PASSWORD}\ndirectory {folder / 'db'}\n",
            encoding="utf-8",
        )  # fmt: skip
        (folder / "data.ldif").write_text(_ldif(), encoding="utf-8")
        subprocess.run(["slapadd", "-f", str(self.config), "-l", str(folder / "data.ldif")],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        """Start slapd on a free port (slapd binds the port itself: tried again if another
        process took it meanwhile)."""
        for _ in range(5):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            process = subprocess.Popen(
                ["slapd", "-f", str(self.config), "-h", f"ldap://127.0.0.1:{port}/", "-d", "0"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._answers(port, process):
                self.process, self.port = process, port
                return
            process.kill()
            process.wait(10)
        raise RuntimeError("slapd did not start")

    @staticmethod
    def _answers(port: int, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def add_to_group(self, name: str, group: str) -> None:
        """Put ``name`` in ``group``, as IT would (bound as the directory's admin)."""
        from deskwork.directory import _load_ldap3

        _load_ldap3()
        from ldap3 import MODIFY_ADD, Connection, Server

        conn = Connection(Server(self.url), user=ADMIN, password=ADMIN_PASSWORD, auto_bind=True)
        try:
            assert conn.modify(group_dn(group), {"member": [(MODIFY_ADD, [person_dn(name)])]})
        finally:
            conn.unbind()  # (its context manager leaves the socket open)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
