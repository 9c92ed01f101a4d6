"""Log-ins checked against the organisation's directory: LDAP, or Active Directory over
LDAP (ldap3), for a served tool.

IT names the directory (``ldap_url``), how a log-in name becomes the name to bind with
(``ldap_user``: a DN such as ``uid={name},ou=people,dc=example,dc=org``, or Active
Directory's ``{name}@corp.example``), and the groups whose members get each role
(``ldap_admins``, ``ldap_editors``, ``ldap_viewers``; several separated by ``;``). A log-in
is a bind with the person's own password (never a stored service password), then, on the
same connection, a look at each group for the person as a member (``member``,
``uniqueMember`` or ``memberUid``); the highest role found is theirs, and someone in none
of the groups is refused. The person's entry is found by the DN the template makes, or,
for Active Directory's name forms, by asking the directory whom it bound ("Who am I?",
RFC 4532), else by ``userPrincipalName`` (``{name}@corp.example``) or
``sAMAccountName`` (``CORP\\{name}``) under the groups' domain, whichever the template
binds with; when that finds no entry, or more than one, only a group that lists their
name (``memberUid``) counts them in.

Every name put in a DN or a search filter is escaped; an empty password is refused before
any bind (LDAP would take it as an anonymous bind, which "succeeds"). ``ldaps://`` checks
the server's certificate against the system's store.
"""

from __future__ import annotations

import ssl
import warnings
from typing import Any

from deskwork.accounts import ROLES
from deskwork.errors import DeskworkError
from deskwork.served import Directory

#: Seconds to wait for the directory to answer.
TIMEOUT_S = 8


class DirectoryDown(DeskworkError):
    """The directory could not be reached (nothing is decided: try again)."""

    status = 503


def _load_ldap3() -> None:
    """Import ldap3 once, quietly: its 2.9 release still reads pyasn1's old names, which
    pyasn1 now warns about (DeprecationWarning) on every import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ldap3  # noqa: F401


def role_of(directory: Directory, name: str, password: str) -> str | None:
    """The role of ``name`` if ``password`` is theirs and they are in a group; None if
    the password is wrong; ``""`` if it is right but they are in none of the groups.
    ``DirectoryDown`` if the directory does not answer."""
    _load_ldap3()
    from ldap3.core.exceptions import LDAPException

    if not name or not password:
        return None
    try:
        conn = _bound(directory, name, password)
        if conn is None:
            return None
        try:
            member = _entry(directory, conn, name)
            found = [role for role, dns in directory.groups
                     if any(_in_group(conn, dn, member, name) for dn in dns)]  # fmt: skip
        finally:
            conn.unbind()
    except LDAPException as error:
        raise DirectoryDown(
            f"The directory ({directory.url}) can't be reached: try again in a minute, or ask IT."
        ) from error
    if not found:
        return ""
    return max(found, key=ROLES.index)


def _bound(directory: Directory, name: str, password: str) -> Any:
    from ldap3 import NONE, Connection, Server, Tls
    from ldap3.utils.dn import escape_rdn

    tls = Tls(validate=ssl.CERT_REQUIRED) if directory.url.lower().startswith("ldaps:") else None
    server = Server(directory.url, connect_timeout=TIMEOUT_S, get_info=NONE, tls=tls)
    escaped = escape_rdn(name) if "=" in directory.user else name
    conn = Connection(server, user=directory.user.format(name=escaped), password=password,
                      receive_timeout=TIMEOUT_S, raise_exceptions=False)  # fmt: skip
    from ldap3.core.exceptions import LDAPException

    try:
        bound = conn.bind()
    except LDAPException:
        if getattr(conn, "socket", None) is not None:
            conn.socket.close()  # ldap3 leaves a failed connection's socket open
        raise
    if not bound:
        conn.unbind()  # closes the socket the refused bind opened
        if conn.result and conn.result.get("result") == 49:  # invalid credentials
            return None
        from ldap3.core.exceptions import LDAPBindError

        raise LDAPBindError(str(conn.result))
    return conn


def _entry(directory: Directory, conn: Any, name: str) -> str:
    """The DN of ``name``'s own entry."""
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

    if "=" in directory.user:
        return directory.user.format(name=escape_rdn(name))
    from ldap3.core.exceptions import LDAPException

    try:  # the directory says whom it bound (RFC 4532): no search to go wrong
        me = conn.extend.standard.who_am_i()
    except LDAPException:
        me = None
    if isinstance(me, str) and me.lower().startswith("dn:") and len(me) > 3:
        return me[3:]
    base = _domain_of(next((dn for _, dns in directory.groups for dn in dns), ""))
    bound = directory.user.format(name=name)
    account = me[2:].rpartition("\\")[2] if isinstance(me, str) and me.startswith("u:") else ""
    if account:  # Active Directory answers u:CORP\\account: that account's entry
        query = f"(sAMAccountName={escape_filter_chars(account)})"
    elif "@" in directory.user:  # the user principal name it bound with, and only that
        query = f"(userPrincipalName={escape_filter_chars(bound)})"
    else:  # a down-level name (CORP\name): its account name
        query = f"(sAMAccountName={escape_filter_chars(name)})"
    conn.search(base, query, attributes=[])
    return str(conn.entries[0].entry_dn) if len(conn.entries) == 1 else bound


def _in_group(conn: Any, group: str, member: str, name: str) -> bool:
    from ldap3 import BASE
    from ldap3.utils.conv import escape_filter_chars

    query = (f"(|(member={escape_filter_chars(member)})"
             f"(uniqueMember={escape_filter_chars(member)})"
             f"(memberUid={escape_filter_chars(name)}))")  # fmt: skip
    conn.search(group, query, search_scope=BASE, attributes=[])
    return bool(conn.entries)


def _domain_of(dn: str) -> str:
    """``DC=corp,DC=example`` of any DN in that domain."""
    parts = [part.strip() for part in dn.split(",")]
    return ",".join(part for part in parts if part.lower().startswith("dc="))
