"""How a tool is served to a team (``deskwork serve``): the choices the server's settings
make for the Flask side (``deskwork.team``), with their defaults, declared once here.
Nothing is imported: the host's settings read these defaults at every launch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Directory:
    """The organisation's directory (``deskwork.directory``): where it is, how a log-in
    name binds (``{name}`` in a DN or a user principal name), and the groups whose members
    get each role."""

    url: str
    user: str
    #: (role, the DNs of the groups whose members have it), for each role given
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class OpenID:
    """The organisation's OpenID Connect provider (``deskwork.openid``): its issuer, this
    tool's client registration there, and the groups (values of ``groups_claim``) whose
    members get each role."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    groups_claim: str = "groups"
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Served:
    """How a tool is served to a team (from the server's settings)."""

    #: How long a log-in lasts, in hours.
    session_hours: float = 12.0
    #: How many reverse proxies stand in front: the client's address, the scheme and the
    #: host are read from the last this many ``X-Forwarded-*`` entries, and only those.
    proxies: int = 0
    #: The most rows an editor may change at once (an admin any number).
    bulk_limit: int = 100
    #: Whether viewers may export tables and reports and read the JSON API (False: those
    #: take an editor; viewers only look at the pages).
    viewer_exports: bool = True
    #: The host (and port) people reach the tool at (``tools.example``): any other Host
    #: header is refused (DNS rebinding). None: any host is answered.
    public_host: str | None = None
    #: Whether admins may restore a backup from the served pages (IT's ``restore`` setting).
    restores: bool = True
    #: Log-ins checked against the organisation's directory too (None: local accounts only).
    directory: Directory | None = None
    #: Log-ins through the organisation's OpenID Connect provider too (None: not offered).
    openid: OpenID | None = None


DEFAULTS = Served()
