"""The exceptions deskwork raises: one root, each carrying its HTTP status and exit code."""

from __future__ import annotations


class DeskworkError(Exception):
    """Root of every error deskwork raises on purpose.

    ``status`` is the HTTP status a page answers with; ``exit_code`` is what the CLI
    exits with. The message is written for the person who has to act on it.
    """

    status = 500
    exit_code = 1


class ToolError(DeskworkError):
    """A tool file is wrong: nothing to load, a bad declaration, a missing table."""

    status = 500
    exit_code = 2


class SchemaError(DeskworkError):
    """The database does not match the tool and changing it would lose data."""

    exit_code = 3


class ValidationError(DeskworkError):
    """A value typed into a form is not acceptable; the message says why, in plain words."""

    status = 400
    exit_code = 2
