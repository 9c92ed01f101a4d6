"""People who log in to a served tool (``deskwork serve``): their names, roles and
passwords, kept in the tool's own database so that backups carry them.

- **Roles**, from least to most: ``viewer`` (sees tables and reports), ``editor`` (adds
  and changes records), ``admin`` (deletes in bulk, imports, restores, manages people).
- **Passwords** are hashed with Argon2id (argon2-cffi, the algorithm OWASP names first;
  its parameters are in each hash, so stronger ones later re-hash at the next log-in).
  A new password has at least ``MIN_LENGTH`` characters, is not the person's name, and is
  none of the 30,000 most common passwords (zxcvbn's list, from real leaks). A password
  is never stored, logged or shown; only its hash is kept.
- **Sessions issued before** a password reset or a removal are void (``sessions_from``):
  a reset logs the person out everywhere.

The names are compared without regard to case ("Ana" and "ana" are one person).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from deskwork.db import audit
from deskwork.db.connection import write_transaction
from deskwork.db.migrations import USERS
from deskwork.errors import NotDone, ValidationError

if TYPE_CHECKING:
    import sqlite_utils
    from argon2 import PasswordHasher

#: The roles, from least to most allowed.
ROLES = ("viewer", "editor", "admin")
#: The shortest password accepted (NIST SP 800-63B asks at least 8; longer is stronger).
MIN_LENGTH = 10
MAX_LENGTH = 256  # Argon2 takes any length: this only bounds the work one attempt costs
NAME = re.compile(r"^[\w.@+-]{1,64}$")


@dataclass(frozen=True)
class Account:
    """One person who may log in (never their password)."""

    name: str
    role: str
    created: str
    changed: str
    #: Sessions issued before this moment are void (a reset, a log-out everywhere).
    sessions_from: str


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106's second recommended parameters


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


class SomeoneElse(NotDone):
    """A name the organisation's log-in gives someone other than the person who first
    logged in with it here."""


def check_role(role: str, declared: Iterable[str] = ()) -> str:
    """``role``, if it is deskwork's or one the tool declares (``Tool.role``)."""
    declared = tuple(declared)
    if role not in ROLES and role not in declared:
        said = ", ".join(f"'{r}'" for r in (*ROLES, *declared))
        raise ValidationError(f"{role!r} is not a role of this tool: say {said}.")
    return role


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise ValidationError(
            f"{name!r} can't be a log-in name: use up to 64 letters, digits and . _ @ + -, "
            "with no spaces."
        )
    return name


def check_password(name: str, password: str) -> None:
    """Refuse a password that is too short, too long, the person's name, or common."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            f"The password is too short: use at least {MIN_LENGTH} characters (a few words "
            "make one that is easy to remember)."
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"The password is too long: at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if name.lower() in lowered:
        raise ValidationError("The password can't contain the log-in name.")
    if lowered in _common() or len(set(password)) < 3:
        raise ValidationError(
            "That password is among the most common ones, which are tried first: choose another."
        )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class Accounts:
    """The people of the tool whose database is ``db``; ``by``: who makes the changes,
    for the audit trail (each change is recorded with it, in the same transaction)."""

    def __init__(
        self, db: sqlite_utils.Database, *, by: str | None = None, roles: Iterable[str] = ()
    ) -> None:
        """``roles``: the roles the tool declares (``Tool.roles``), beside ``ROLES``."""
        self.db = db
        self.by = by
        self.roles = tuple(roles)

    def all(self) -> list[Account]:
        rows = self.db.execute(
            f"SELECT name, role, created, changed, sessions_from FROM {USERS} "
            "ORDER BY name COLLATE NOCASE"
        ).fetchall()
        return [Account(*row) for row in rows]

    def get(self, name: str) -> Account | None:
        row = self.db.execute(
            f"SELECT name, role, created, changed, sessions_from FROM {USERS} WHERE name = ?",
            [name.strip()],
        ).fetchone()
        return Account(*row) if row else None

    def find(self, name: str) -> Account:
        """The account called ``name``; NotDone if there is none."""
        account = self.get(name)
        if account is None:
            raise NotDone(f"There is no one called {name!r}.")
        return account

    def add(self, name: str, role: str, password: str) -> Account:
        name, role = check_name(name), check_role(role, self.roles)
        check_password(name, password)
        hashed = _hasher().hash(password)  # before the write: the transaction stays short
        now = _now()
        with write_transaction(self.db) as conn:
            if conn.execute(f"SELECT 1 FROM {USERS} WHERE name = ?", [name]).fetchone():
                raise NotDone(f"{name!r} is there already: reset their password instead.")
            conn.execute(
                f"INSERT INTO {USERS} (name, role, password, created, changed, sessions_from) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [name, role, hashed, now, now, now],
            )
            audit.record(conn, "person added", self.by, detail=f"{name} as {role}")
        return self.find(name)

    def from_directory(self, name: str, role: str, subject: str | None = None) -> Account:
        """Someone the organisation's directory let in with ``role`` (``deskwork.directory``):
        their account here, with no password of its own, made at their first log-in, its
        role kept as the directory's groups say (a new one ends their sessions so far).
        ``subject``: who an OpenID Connect provider says they are for good, kept at the
        first log-in; ``SomeoneElse`` if another is kept (nothing changed), all in one
        transaction."""
        name, role = check_name(name), check_role(role)
        now = _now()
        with write_transaction(self.db) as conn:
            row = conn.execute(f"SELECT role, subject FROM {USERS} WHERE name = ?",
                               [name]).fetchone()  # fmt: skip
            if subject is not None and row is not None and row[1] not in (None, subject):
                raise SomeoneElse(f"The name {name} belongs to someone else here.")
            if row is None:
                conn.execute(
                    f"INSERT INTO {USERS} (name, role, password, created, changed, "
                    "sessions_from, subject) VALUES (?, ?, NULL, ?, ?, ?, ?)",
                    [name, role, now, now, now, subject],
                )
                audit.record(conn, "person added", self.by,
                             detail=f"{name} as {role}, from the directory")  # fmt: skip
                return self.find(name)
            if subject is not None and row[1] is None:
                conn.execute(f"UPDATE {USERS} SET subject = ? WHERE name = ?", [subject, name])
            if row[0] != role:
                conn.execute(f"UPDATE {USERS} SET role = ?, changed = ?, sessions_from = ? "
                             "WHERE name = ?", [role, now, now, name])  # fmt: skip
                audit.record(conn, "role changed", self.by,
                             detail=f"{name}: {row[0]} to {role}")  # fmt: skip
        return self.find(name)

    def subject(self, name: str) -> str | None:
        """Who the OpenID Connect provider said ``name`` is, at their first log-in through
        it (its issuer and their subject); None before."""
        row = self.db.execute(f"SELECT subject FROM {USERS} WHERE name = ?", [name.strip()])
        found = row.fetchone()
        return str(found[0]) if found and found[0] is not None else None

    def has_password(self, name: str) -> bool:
        """Whether ``name`` logs in with a password of this tool's (not the directory's)."""
        row = self.db.execute(
            f"SELECT password IS NOT NULL FROM {USERS} WHERE name = ?", [name.strip()]
        ).fetchone()
        return bool(row and row[0])

    def remove(self, name: str) -> Account:
        account = self.find(name)
        with write_transaction(self.db) as conn:
            conn.execute(f"DELETE FROM {USERS} WHERE name = ?", [account.name])
            audit.record(conn, "person removed", self.by, detail=account.name)
        return account

    def reset(self, name: str, password: str) -> Account:
        """A new password; every session of theirs so far ends."""
        account = self.find(name)
        check_password(account.name, password)
        return self._change(account, password=_hasher().hash(password))

    def set_role(self, name: str, role: str) -> Account:
        """A new role; every session of theirs so far ends. Someone who logs in through
        the directory or OpenID Connect gets their role from its groups at each log-in:
        not a role the tool declares, which those groups can't give."""
        account = self.find(name)
        role = check_role(role, self.roles)
        if role not in ROLES and not self.has_password(account.name):
            raise ValidationError(
                f"{account.name} logs in through your organisation's directory or log-in, "
                f"whose groups give their role at each log-in ({', '.join(ROLES)}): a role "
                "of the tool's own would not last. Give it to someone with a password here."
            )
        return self._change(account, role=role)

    def end_sessions(self, name: str) -> Account:
        """Every session of theirs so far ends (log out everywhere)."""
        return self._change(self.find(name))

    def _change(self, account: Account, **columns: str) -> Account:
        """Set ``columns`` of ``account`` (names from this module only), ending its
        sessions so far."""
        now = _now()
        values = {**columns, "changed": now, "sessions_from": now}
        with write_transaction(self.db) as conn:
            conn.execute(
                f"UPDATE {USERS} SET {', '.join(f'{c} = ?' for c in values)} WHERE name = ?",
                [*values.values(), account.name],
            )
            if "password" in columns:
                audit.record(conn, "password reset", self.by, detail=account.name)
            if "role" in columns:
                change = f"{account.name}: {account.role} to {columns['role']}"
                audit.record(conn, "role changed", self.by, detail=change)
        return self.find(account.name)

    def log_in(self, name: str, password: str) -> Account | None:
        """The account, if ``password`` is theirs; None otherwise. An unknown name costs
        the same time as a wrong password (no telling who exists)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self.db.execute(
            f"SELECT password FROM {USERS} WHERE name = ?", [name.strip()]
        ).fetchone()
        hasher = _hasher()
        stored = row[0] if row and row[0] else _dummy_hash()
        try:
            hasher.verify(stored, password[:MAX_LENGTH])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row[0]:
            return None
        if hasher.check_needs_rehash(stored):  # stronger parameters since: re-hash now
            with write_transaction(self.db) as conn:
                conn.execute(
                    f"UPDATE {USERS} SET password = ? WHERE name = ?",
                    [hasher.hash(password), name.strip()],
                )
        return self.get(name)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not anyone's password")
