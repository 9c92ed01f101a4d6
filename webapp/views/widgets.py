"""Fields as the templates draw them: one ``Control`` per field, for every kind of form.

Record forms, report parameters and function forms all go through ``controls()`` and the
``field`` macro in ``_fields.html``, so a field looks and behaves the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deskwork.db import attachments, lookups
from deskwork.db.attachments import Attachment
from deskwork.fields import Field, File, Lookup
from deskwork.fields.base import as_row_id
from deskwork.views import get_db


@dataclass
class Control:
    """One field of a form, with what its input holds."""

    name: str
    field: Field
    value: str = ""  # what the input holds
    values: tuple[str, ...] = ()  # the ticked boxes of several choices
    text: str = ""  # a lookup's shown name; a read-only field's shown value
    attachment: Attachment | None = None
    remove: bool = False  # the attached file is to be removed on saving
    error: str | None = None
    prefix: str = "f"

    @property
    def id(self) -> str:
        return f"{self.prefix}-{self.name}"

    @property
    def attrs(self) -> dict[str, str]:
        """The input's HTML attributes: the field's hints, and its error for screen readers."""
        attrs = self.field.input_attrs()
        described = []
        if self.error:
            attrs["aria-invalid"] = "true"
            described.append(f"{self.id}-error")
        if self.field.help:
            described.append(f"{self.id}-help")
        if described:
            attrs["aria-describedby"] = " ".join(described)
        return attrs


def controls(
    fields: Mapping[str, Field],
    stored: Mapping[str, Any],
    typed: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    prefix: str = "f",
) -> list[Control]:
    """The fields with their values: ``typed`` (input sent back with errors) wins over
    ``stored`` (the record as saved, or the defaults)."""
    typed = typed or {}
    errors = errors or {}
    out = []
    for name, f in fields.items():
        control = Control(name, f, error=errors.get(name), prefix=prefix)
        if f.readonly:
            control.text = f.display(stored.get(name))
        elif isinstance(f, File):
            file_id = as_row_id(typed.get(name, stored.get(name)))
            if file_id is not None:
                control.attachment = attachments.describe(get_db(), file_id)
            control.remove = bool(typed.get(f"{name}__remove"))
        elif name in typed:
            raw = typed[name]
            if isinstance(raw, list | tuple):
                control.values = tuple(str(v) for v in raw)
            else:
                control.value = "" if raw is None else str(raw)
        elif f.widget == "checkboxes":
            control.values = tuple(f.from_db(stored.get(name)))
        else:
            control.value = f.form_value(stored.get(name))
        if isinstance(f, Lookup):
            raw = typed[name] if name in typed else stored.get(name)
            row_id = f.picked_id(raw)
            if row_id is not None:
                control.value = str(row_id)
                control.text = lookups.label(get_db(), f, row_id)
            else:  # a name typed that matched nothing: keep the text, with no id
                control.text, control.value = ("" if raw is None else str(raw)), ""
        out.append(control)
    return out
