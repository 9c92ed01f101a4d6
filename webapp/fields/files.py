"""File attachments: checked on the way in, kept inside the tool's database.

An attached file is stored in the database itself (``deskwork.db.attachments``), never at a
path the user typed: saving a record and its file is one transaction, a backup of the
database holds the files too, and a file name can never reach outside the tool's folder.
The column holds the attachment's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field, as_row_id

MB = 1024 * 1024


class File(Field):
    """An attached file of at most ``max_size`` bytes (default 10 MB).

    ``accept`` lists the file name endings allowed, such as ``[".pdf", ".png"]``.
    """

    sql_type = int
    input_type = "file"
    widget = "file"

    @property
    def storage_kind(self) -> str:
        return "file"

    def __init__(
        self,
        label: str | None = None,
        *,
        max_size: int = 10 * MB,
        accept: Sequence[str] = (),
        **kw: Any,
    ) -> None:
        super().__init__(label, **kw)
        if max_size <= 0:
            raise ToolError("max_size must be a positive number of bytes.")
        self.max_size = max_size
        self.accept = [a.lower() if a.startswith(".") else f".{a.lower()}" for a in accept]
        if self.unique:
            raise ToolError("A file field cannot be unique.")

    def check_upload(self, filename: str, size: int) -> None:
        """Refuse a file that is too large or of a kind not accepted."""
        if size > self.max_size:
            raise ValidationError(
                f"{self.label} is too large: {size_text(size)}; at most {size_text(self.max_size)}."
            )
        if size == 0:
            raise ValidationError(f"{self.label} is empty: choose another file.")
        if self.accept and not filename.lower().endswith(tuple(self.accept)):
            raise ValidationError(f"{self.label} must be a {' or '.join(self.accept)} file.")

    def parse_text(self, text: Any) -> int:
        # The form stores the upload first and hands over its id.
        file_id = as_row_id(text)
        if file_id is not None:
            return file_id
        raise ValidationError(f"Choose a file for {self.label.lower()}.")

    def input_attrs(self) -> dict[str, str]:
        attrs = super().input_attrs()
        if self.accept:
            attrs["accept"] = ",".join(self.accept)
        return attrs


def size_text(size: int) -> str:
    """``1536`` -> ``1.5 KB``."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
