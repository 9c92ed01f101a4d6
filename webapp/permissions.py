"""What each role may do on a served tool, said once for every address deskwork serves.

Every endpoint is listed here with the least role that may *look* (GET, HEAD) and the
least that may *change* (any other method): ``deskwork.team`` checks it before the view
runs, so a refusal never leaves a change half-done. A test fails if an endpoint is added
without being listed. A tool's own views, and a plain Flask app served by deskwork, are
``DEFAULT``: viewers look, editors change.

- **viewer**: sees every table, record, history, summary and report, and exports them
  (unless the server's ``viewer_exports`` setting is off: exports and the JSON API then
  take an editor, ``EXPORTS``).
- **editor**: adds, changes and deletes records one at a time, restores from the bin and
  earlier versions, undoes, runs functions, and changes up to ``Served.bulk_limit`` rows
  at once.
- **admin**: everything: deletes in bulk, bulk changes of any size, imports, empties the
  bin, backs up and restores (``deskwork.views.backups``), reads the audit trail (and
  manages people, with ``deskwork users``).
"""

from __future__ import annotations

from deskwork.accounts import ROLES

VIEWER, EDITOR, ADMIN = ROLES

#: Anyone may ask for these, logged in or not.
PUBLIC = frozenset({"team.log_in", "team.openid_start", "team.openid_back", "team.health",
                    "static"})  # fmt: skip

#: endpoint -> (least role to look, least role to change).
RULES: dict[str, tuple[str, str]] = {
    "views.home": (VIEWER, EDITOR),
    "views.show": (VIEWER, EDITOR),
    # records
    "forms.new": (VIEWER, EDITOR),
    "forms.edit": (VIEWER, EDITOR),
    "forms.delete": (EDITOR, EDITOR),
    "forms.undo": (EDITOR, EDITOR),
    "forms.download": (VIEWER, VIEWER),
    "forms.lookup": (VIEWER, VIEWER),
    "functions.run": (VIEWER, EDITOR),
    # history and the bin
    "changes.record_history": (VIEWER, EDITOR),
    "changes.restore_version": (EDITOR, EDITOR),
    "changes.deleted": (VIEWER, EDITOR),
    "changes.restore": (EDITOR, EDITOR),
    "changes.empty": (ADMIN, ADMIN),
    # tables, summaries, reports and their exports (a window's export to a file is a POST
    # that changes nothing)
    "tables.listing": (VIEWER, VIEWER),
    "tables.facets": (VIEWER, VIEWER),
    "tables.summary": (VIEWER, VIEWER),
    "tables.export": (VIEWER, VIEWER),
    "tables.save_export": (VIEWER, VIEWER),
    "tables.export_status": (VIEWER, VIEWER),
    "tables.cancel_export": (VIEWER, VIEWER),
    "tables.bulk_confirm": (EDITOR, EDITOR),  # and Served.bulk_limit, and deletes: admin
    "tables.bulk_apply": (EDITOR, EDITOR),
    "summaries.show": (VIEWER, VIEWER),
    "reports.show": (VIEWER, VIEWER),
    "reports.export": (VIEWER, VIEWER),
    "reports.save_report": (VIEWER, VIEWER),
    "live.events": (VIEWER, VIEWER),
    # imports
    "imports.upload": (ADMIN, ADMIN),
    "imports.receive": (ADMIN, ADMIN),
    "imports.preview": (ADMIN, ADMIN),
    "imports.commit": (ADMIN, ADMIN),
    "imports.saving": (ADMIN, ADMIN),
    "imports.status": (ADMIN, ADMIN),
    "imports.cancel": (ADMIN, ADMIN),
    # the JSON API
    "api.page": (VIEWER, EDITOR),
    "api.document": (VIEWER, EDITOR),
    "api.list": (VIEWER, EDITOR),
    "api.count": (VIEWER, EDITOR),
    "api.record": (VIEWER, EDITOR),
    "api.report": (VIEWER, EDITOR),
    "api.create": (EDITOR, EDITOR),
    "api.change": (EDITOR, EDITOR),
    "api.delete": (EDITOR, EDITOR),
    "api.undo": (EDITOR, EDITOR),
    # the team's own pages
    "team.log_out": (VIEWER, VIEWER),
    "team.log_out_everywhere": (VIEWER, VIEWER),
    "team.audit": (ADMIN, ADMIN),
    "backups.list": (ADMIN, ADMIN),
    "backups.restore": (ADMIN, ADMIN),
}

#: What the ``viewer_exports`` setting keeps from viewers when it is off: exports, and the
#: JSON API (all of a table's rows, a page at a time).
EXPORTS = frozenset(
    {"tables.export", "tables.save_export", "tables.export_status", "tables.cancel_export",
     "reports.export", "reports.save_report"}
    | {endpoint for endpoint in RULES if endpoint.startswith("api.")}
)  # fmt: skip

#: All that someone whose role the tool limits to some rows (``Tool.role``) may send that
#: could change something: changes of records, which ``deskwork.db.history`` holds to the
#: rows, logging out, and what changes nothing (a window's export to a file). A function
#: that gets the database is not among them (it may write anything), nor is any view of
#: the tool's own.
LIMITED_CHANGES = frozenset(
    {"forms.new", "forms.edit", "forms.delete", "forms.undo", "changes.restore_version",
     "changes.restore", "tables.bulk_confirm", "tables.bulk_apply", "api.create",
     "api.change", "api.delete", "api.undo", "team.log_out", "team.log_out_everywhere",
     "tables.save_export", "tables.cancel_export", "reports.save_report", "functions.run"}
)  # fmt: skip

#: A tool's own views and a plain Flask app's.
DEFAULT = (VIEWER, EDITOR)

LOOKING = frozenset({"GET", "HEAD", "OPTIONS"})

#: What a refusal says each role may not do, in words.
DOING = {
    "tables.bulk_confirm": "change many rows at once",
    "tables.bulk_apply": "change many rows at once",
    "changes.empty": "empty the bin",
    "team.audit": "read the audit trail",
    "backups.list": "back up or restore",
    "backups.restore": "back up or restore",
}


def needed(endpoint: str | None, method: str, *, viewer_exports: bool = True) -> str:
    """The least role that may send ``method`` to ``endpoint`` (``viewer_exports``: the
    server's setting of that name)."""
    look, change = RULES.get(endpoint or "", DEFAULT)
    role = look if method in LOOKING else change
    if not viewer_exports and endpoint in EXPORTS and role == VIEWER:
        return EDITOR
    return role


def allows(role: str, needed_role: str) -> bool:
    """Whether ``role`` is ``needed_role`` or more."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed_role)


def doing(endpoint: str | None, method: str) -> str:
    """What a request does, for a refusal's message."""
    if endpoint in DOING:
        return DOING[endpoint or ""]
    if endpoint and endpoint.startswith("imports."):
        return "import"
    if endpoint in EXPORTS:
        return "export or use the JSON API" if method in LOOKING else "change anything"
    return "look at this page" if method in LOOKING else "change anything"
