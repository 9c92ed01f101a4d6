"""Every error deskwork raises on purpose, declared here once, with its HTTP status and
its exit code.

One root, ``DeskworkError``. Each class carries ``status`` (what a page answers with:
``deskwork.app`` maps it, in one error handler, in debug mode too) and ``exit_code`` (what
the ``deskwork`` command and a built executable end with: ``deskwork.desktop.entry`` maps
it, in one place). The message is written for the person who has to act on it.

Exit codes come in bands, as Briefcase's do, so that a script (or IT's deployment tool)
can tell what kind of thing went wrong from the number alone, and no two meanings share
one (``EXIT_CODES`` lists them; the README's table is made from it):

====  ======================================================================
0     done
1     an unexpected error (the log file has the details); a self-test failed
2     the command line was wrong (click's usage errors)
10s   the tool or the app: its file, its tables, its set-up
20s   the settings and the places data is kept
30s   the data: backups and restores
40s   launching: the window, another copy already open
50s   building an executable
====  ======================================================================

A plain Flask app's own ``flask`` command keeps its own exit code (``CommandError``).

The errors of the Flask side and of the host (``deskwork.desktop``) are all here: the host
imports its own from this module, and this module imports nothing.
"""

from __future__ import annotations

from typing import Any


class DeskworkError(Exception):
    """Root of every error deskwork raises on purpose.

    ``status`` is the HTTP status a page answers with; ``exit_code`` is what the CLI
    exits with. The message is written for the person who has to act on it.
    """

    status = 500
    exit_code = 1


# -- the tool or the app (10s) ---------------------------------------------------------------


class ToolError(DeskworkError):
    """A tool file is wrong: nothing to load, a bad declaration, a missing table."""

    exit_code = 10


class SchemaError(DeskworkError):
    """The database does not match the tool and changing it would lose data."""

    exit_code = 11


class SetupError(DeskworkError):
    """A plain Flask app's first-launch set-up failed (it runs again at the next launch)."""

    exit_code = 13


class CommandError(DeskworkError):
    """One of a plain Flask app's own ``flask`` commands failed: its exit code is kept."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# -- a change asked for and refused: nothing was written ------------------------------------


class NotDone(DeskworkError):
    """A change that was asked for and refused, with nothing written: the message says
    why. Every way back (undo, the bin, an earlier version) refuses with one of these."""

    status = 400
    exit_code = 12


class ValidationError(NotDone):
    """A value typed into a form is not acceptable; the message says why, in plain words."""


class RecordGone(NotDone):
    """The record is not there (any more)."""

    status = 404


class NothingToUndo(NotDone):
    """What was to be taken back is not there to take back (any more)."""

    status = 404


class Conflict(NotDone):
    """Someone saved the record after this edit began: both versions, for the person."""

    status = 409

    def __init__(self, current: dict[str, Any], version: str) -> None:
        super().__init__("This record was changed by someone else while you were editing it.")
        self.current = current
        self.version = version


class Refused(NotDone):
    """The database refused the write (a unique value or a looked-up row changed in the
    instant between the check and the save); nothing was written."""

    status = 409


class StillReferenced(NotDone):
    """Other rows look this record up: deleting it would leave them pointing nowhere."""

    status = 409


class ChangedSince(NotDone):
    """The record changed after the change to take back: it is left as it is."""

    status = 409


class TimeUp(DeskworkError):
    """A query ran past its time limit and was stopped (nothing was written)."""

    status = 503
    exit_code = 31


# -- settings and places (20s) ---------------------------------------------------------------


class SettingError(DeskworkError):
    """A setting holds a value deskwork can't use; the message names it and where it was
    set."""

    exit_code = 20


class PlaceError(DeskworkError):
    """The database (or a data folder) is somewhere it can't be kept safely."""

    exit_code = 21


class NotAllowed(DeskworkError):
    """IT's settings do not allow it on this desk: a change while the tool is read-only,
    or restoring a backup where restoring is turned off. Nothing was changed."""

    status = 403
    exit_code = 22


# -- the data (30s) ----------------------------------------------------------------------------


class BackupError(DeskworkError):
    """A backup could not be made, or a file can't be restored from."""

    exit_code = 30


class RestoreUnderWay(BackupError):
    """A restore is making the database what a backup holds: nothing is written meanwhile
    (a write would be lost under the restored data). Try again in a moment."""

    status = 503


class ExportError(DeskworkError):
    """An export could not be made: its view can't be read, or its file can't be written."""

    status = 400
    exit_code = 32


class TooManyRows(ExportError):
    """More rows than the export's format holds (an Excel sheet's 1,048,575)."""


class Cancelled(ExportError):
    """An export stopped by the person who asked for it: no file was written."""


class UnreadableFile(DeskworkError):
    """A file to import is no table deskwork can read: the message says why."""

    status = 400
    exit_code = 33


# -- launching (40s) ---------------------------------------------------------------------------


class LaunchError(DeskworkError):
    """The tool could not open: no window can open here, or its start failed."""

    exit_code = 40


class AlreadyOpen(DeskworkError):
    """The tool is open in another process that could not be asked to show itself."""

    exit_code = 41


# -- building (50s) ----------------------------------------------------------------------------


class BuildError(DeskworkError):
    """An executable could not be built."""

    exit_code = 50


class UpdateError(DeskworkError):
    """An update was refused (not signed by the release key, tampered, older, from the
    future, cut short) or could not be published or put in place: nothing changed."""

    exit_code = 51


#: Every exit code, with what it means (the README's table is made from this).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "done (a self-test passed; a second launch showed the first)"),
    (1, "an unexpected error (the details are in the log file), or a self-test failed"),
    (2, "the command line was wrong"),
    (ToolError.exit_code, "the tool file is wrong (nothing to load, a bad declaration)"),
    (SchemaError.exit_code, "the database does not match the tool: changing it would lose data"),
    (NotDone.exit_code, "a change was refused (a bad value, nothing to undo): nothing written"),
    (SetupError.exit_code, "a Flask app's first-launch set-up failed"),
    (SettingError.exit_code, "a setting holds a value deskwork can't use"),
    (PlaceError.exit_code, "the database is somewhere it can't be kept safely"),
    (NotAllowed.exit_code, "IT's settings do not allow it (read-only, or no restoring)"),
    (BackupError.exit_code, "a backup could not be made, or a file can't be restored from"),
    (TimeUp.exit_code, "a query ran past its time limit"),
    (ExportError.exit_code, "an export could not be made (nothing was written)"),
    (UnreadableFile.exit_code, "a file to import can't be read as a table (nothing changed)"),
    (LaunchError.exit_code, "the tool could not open"),
    (AlreadyOpen.exit_code, "the tool is open in another process that could not be asked"),
    (BuildError.exit_code, "an executable could not be built"),
    (UpdateError.exit_code, "an update was refused or could not be published (nothing changed)"),
)


def every_error() -> list[type[DeskworkError]]:
    """Every class declared here, the root first."""
    found: list[type[DeskworkError]] = []
    todo: list[type[DeskworkError]] = [DeskworkError]
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__ == __name__]
