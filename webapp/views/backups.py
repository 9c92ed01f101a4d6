"""Backups and restores from a served tool's own pages, for its admins (a desk has its
window's "Back up now" and "Restore…" instead).

``/backups`` lists the backups on the server (newest first) with "Back up now"; each has
"Restore", which asks first, then makes the database what the backup holds
(``Storage.restore``: the database as it was is kept as a backup first; people, sessions,
tokens and the audit trail stay as they are now). Both go to the audit trail. A backup is
named by its file name, one of the list's: nothing sent is ever taken as a path. IT's
``restore`` setting, off, takes "Restore" away here too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from deskwork import team
from deskwork.db.backups import Backup, Backups
from deskwork.fields.files import size_text

bp = Blueprint("backups", __name__)

WHY = {
    "daily": "daily",
    "manual": "backed up by hand",
    "before-update": "before the tables changed",
    "before-restore": "before a restore",
}


def _backups() -> Backups:
    found: Backups = current_app.extensions["deskwork.backups"]
    return found


def _restores() -> bool:
    config = team.served()
    return config is None or config.restores


def _named(name: str) -> Backup:
    found = next((b for b in _backups().all() if b.path.name == name), None)
    if found is None:
        abort(
            404, f"There is no backup called {name}: it may have been pruned. Nothing was changed."
        )
    return found


@bp.route("/backups", methods=["GET", "POST"], endpoint="list")
def listing() -> Any:
    """The backups, and "Back up now"."""
    if request.method == "POST":
        made = _backups().take("manual")
        team.note("backup", made.path.name)
        flash(f"Backed up: {made.path.name} ({size_text(made.size)}).")
        return redirect(url_for("backups.list"), code=303)
    return render_template(
        "backups.html", backups=_backups().all(), why=WHY, size_text=size_text,
        restores=_restores(), folder=_backups().folder, nav_current=None,
    )  # fmt: skip


@bp.route("/backups/<name>/restore", methods=["GET", "POST"], endpoint="restore")
def restore(name: str) -> Any:
    """Asks first; then the database becomes what the backup holds."""
    if not _restores():
        abort(403, "IT has turned restoring off for this tool (the restore setting). "
                   "Nothing was changed.")  # fmt: skip
    backup = _named(name)
    if request.method == "GET":
        return render_template("restore.html", backup=backup, why=WHY, size_text=size_text,
                               nav_current=None)  # fmt: skip
    restoring: Callable[[Path], Backup] = current_app.extensions["deskwork.restore"]
    kept = restoring(backup.path)
    team.note("restore", f"from {backup.path.name}; the data as it was: {kept.path.name}")
    flash(f"Restored from {backup.path.name}. The data as it was is kept as {kept.path.name}.")
    return redirect(url_for("backups.list"), code=303)
