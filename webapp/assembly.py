"""The one assembly of a served tool: its database prepared (backed up first if it is to
change), its app built behind deskwork's protection, one idle connection held.

Every way a tool is served goes through ``assemble``: the window and the browser mode
(``deskwork.desktop.serving``), ``--reload``'s child, a built executable, a tool mounted in
a Flask app (``tool.init_app``), the test client (``deskwork.testing``) and the
benchmarks, so that what is tested and measured is what users run. What differs between
them is said in ``Options`` and the arguments, never by building the app another way.

The host (``deskwork.desktop``) reads the settings and hands their values over here: this
side reads no environment variable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from deskwork.app import create_app
from deskwork.db.backups import KEEP, Backups
from deskwork.db.storage import Storage
from deskwork.exports import SaveAs, Saving
from deskwork.model import Tool
from deskwork.reading import IMPORT_ROWS
from deskwork.served import Served

log = logging.getLogger("deskwork")


@dataclass(frozen=True)
class Options:
    """What whoever serves the tool decides (from the settings, for the host)."""

    #: IT's locale for numbers, over the tool's own; the user's session's, under it.
    locale: str | None = None
    user_locale: str | None = None
    #: Days deleted records stay in the bin, over the tool's ``bin_days``.
    bin_days: int | None = None
    #: How many backups of the database are kept, and where (None: beside it).
    backups: int = KEEP
    backup_dir: Path | None = None
    #: The log file the error page names.
    log_file: Path | None = None
    #: ``--reload``'s development mode: Flask's debug mode (errors reach the debugger).
    debug: bool = False
    #: Served inside a host Flask app (``tool.init_app``): the host decides who gets in.
    mounted: bool = False
    #: The most rows one import may bring (a file with more is refused, saying so).
    import_rows: int = IMPORT_ROWS
    #: The native window's save dialog, for exports (it drops downloads); None where
    #: a browser downloads them.
    save_as: SaveAs | None = None
    #: The launch's API token, which a program on the desk sends (the host writes it to
    #: ``api_file``); None: only the pages' own protection lets API calls in.
    api_token: str | None = None
    api_file: Path | None = None
    #: Other sites' origins (``https://intranet.example``) the API answers, with the token.
    api_origins: tuple[str, ...] = ()
    #: Staff can look but not change (IT's ``read_only`` setting).
    read_only: bool = False
    #: Served to a team by ``deskwork serve`` (people log in; ``deskwork.team``); None on
    #: a desk.
    served: Served | None = None
    #: Anything else for the app's config (a mounted tool's cookie name, tests' options).
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Assembled:
    """A tool ready to serve: its storage and backups, and its app."""

    tool: Tool
    storage: Storage
    backups: Backups
    app: Flask
    #: Whether the database was made new by this assembly (and seeded, if asked).
    created: bool

    def close(self) -> None:
        """Let go of the held connection, once nothing is served any more: the WAL is
        checkpointed into the database file; live pages' streams end."""
        self.app.extensions["deskwork.changes"].close()
        self.storage.let_go()


def assemble(
    tool: Tool,
    database: str | Path | Storage,
    *,
    secret: str | None = None,
    port: int | None = None,
    options: Options | None = None,
    seed: bool = True,
) -> Assembled:
    """Prepare ``tool``'s ``database`` and build its app (see the module's docstring).

    ``secret`` is the per-launch token every request must carry, ``port`` the port the
    server bound (the Host check); ``seed``: a new database gets the tool's sample data.
    """
    options = options or Options()
    storage = database if isinstance(database, Storage) else Storage(database)
    backups = Backups(storage.path, folder=options.backup_dir, keep=options.backups)
    created = storage.prepare(tool, seed=seed, bin_days=options.bin_days, backups=backups)
    if created:
        log.info("Created %s%s", storage.path, " with sample data" if seed and tool.seeds else "")
    config: dict[str, Any] = {"DEBUG": options.debug, "DESKWORK_IMPORT_ROWS": options.import_rows}
    if options.log_file is not None:
        config["DESKWORK_LOG_FILE"] = str(options.log_file)
    if options.mounted:
        config["DESKWORK_MOUNTED"] = True
    if options.api_token is not None:
        config["DESKWORK_API_TOKEN"] = options.api_token
    if options.api_file is not None:
        config["DESKWORK_API_FILE"] = str(options.api_file)
    if options.api_origins:
        config["DESKWORK_API_ORIGINS"] = tuple(options.api_origins)
    if options.read_only:
        config["DESKWORK_READ_ONLY"] = True
    app = create_app(
        tool, storage, secret=secret, port=port, locale=options.locale,
        user_locale=options.user_locale, config={**config, **options.config},
        served=options.served,
    )  # fmt: skip
    if options.served is not None and options.served.proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the proxies' own entries are believed: the client's address and scheme, and
        # the host it asked for (the Origin check compares with it).
        hops = options.served.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.extensions["deskwork.backups"] = backups
    app.extensions["deskwork.restore"] = lambda backup: storage.restore(
        tool, backups, backup, bin_days=options.bin_days
    )
    if options.save_as is not None:
        app.extensions["deskwork.saving"] = Saving(options.save_as)
    # Each request opens and closes its own connection; one held open keeps the last close
    # from checkpointing the whole WAL every time (``Storage.hold``).
    storage.hold()
    return Assembled(tool, storage, backups, app, created)
