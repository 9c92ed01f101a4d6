"""Choosing: yes or no, one of a list, several of a list, a row of another table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field, as_row_id
from deskwork.fields.text import ANY_CONTROL

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    from deskwork.model import Table

Choices = Sequence[str] | Sequence[tuple[str, str]]

TRUE = frozenset({"on", "1", "true", "yes", "y"})
FALSE = frozenset({"off", "0", "false", "no", "n"})


class YesNo(Field):
    """A tick box, stored as 1 or 0. ``required=True`` means it must be ticked."""

    sql_type = int
    input_type = "checkbox"
    widget = "checkbox"

    @property
    def storage_kind(self) -> str:
        return "yesno"

    def parse(self, raw: Any) -> bool:
        if isinstance(raw, bool | int | float) and raw in (0, 1):  # a workbook's TRUE, 1.0
            raw = str(int(raw))
        text = (raw or "").strip().lower() if isinstance(raw, str) else raw
        if text in (None, "") or text in FALSE:
            value = False
        elif text in TRUE:
            value = True
        else:
            raise ValidationError(f"{self.label} must be yes or no.")
        if self.required and not value:
            raise ValidationError(f"{self.label} must be ticked.")
        self.run_validators(value)
        return value

    def to_db(self, value: bool | None) -> int | None:
        return None if value is None else int(bool(value))

    def from_db(self, stored: Any) -> bool | None:
        return None if stored is None else bool(stored)

    def display(self, stored: Any) -> str:
        return "" if stored is None else ("Yes" if stored else "No")

    def form_value(self, stored: Any) -> str:
        return "on" if stored else ""

    def input_attrs(self) -> dict[str, str]:
        return {"required": "required"} if self.required else {}


class Choice(Field):
    """One value from a fixed list: strings, or ``(stored value, label)`` pairs.

    ``radio=True`` shows the choices as radio buttons instead of a drop-down.
    """

    widget = "select"

    def __init__(
        self, choices: Choices, label: str | None = None, *, radio: bool = False, **kw: Any
    ) -> None:
        super().__init__(label, **kw)
        if isinstance(choices, str) or not choices:
            raise ToolError("Choice needs a list of at least one choice.")
        self.options: list[tuple[str, str]] = [
            (c, c) if isinstance(c, str) else (str(c[0]), str(c[1])) for c in choices
        ]
        self.labels = dict(self.options)
        if len(self.labels) != len(self.options):
            raise ToolError("Choice lists a value twice.")
        if radio:
            self.widget = "radio"  # type: ignore[misc]

    @property
    def choices(self) -> list[str]:
        return [value for value, _ in self.options]

    def parse_text(self, text: Any) -> str:
        if text not in self.labels:
            shown = ", ".join(label for _, label in self.options)
            raise ValidationError(f"{self.label} must be one of: {shown}.")
        return str(text)

    def display(self, stored: Any) -> str:
        return "" if stored is None else self.labels.get(str(stored), str(stored))

    def form_value(self, stored: Any) -> str:
        return "" if stored is None else str(stored)

    def input_attrs(self) -> dict[str, str]:
        attrs = super().input_attrs()
        attrs.pop("placeholder", None)  # a drop-down's blank choice says it instead
        return attrs


class MultiChoice(Choice):
    """Several values from a fixed list (tick boxes), stored as a JSON list in list order.

    ``required=True`` asks for at least one; ``max_choices`` limits how many.
    """

    widget = "checkboxes"

    @property
    def storage_kind(self) -> str:
        return "list"

    def __init__(
        self, choices: Choices, label: str | None = None, *, max_choices: int | None = None,
        **kw: Any,
    ) -> None:  # fmt: skip
        super().__init__(choices, label, **kw)
        self.widget = "checkboxes"  # type: ignore[misc]
        self.max_choices = max_choices

    def raw(self, form: MultiDict[str, Any]) -> list[str]:
        return [v for v in form.getlist(self.name) if v.strip()]

    def parse_text(self, text: Any) -> list[str]:  # type: ignore[override]
        picked = [text] if isinstance(text, str) else list(text)
        unknown = [p for p in picked if p not in self.labels]
        if unknown:
            shown = ", ".join(label for _, label in self.options)
            raise ValidationError(f"{self.label} may only hold: {shown}.")
        if self.max_choices is not None and len(set(picked)) > self.max_choices:
            raise ValidationError(f"{self.label}: choose at most {self.max_choices}.")
        return [value for value in self.choices if value in picked]

    def to_db(self, value: list[str] | None) -> str | None:
        return None if not value else json.dumps(value, ensure_ascii=False)

    def from_db(self, stored: Any) -> list[str]:
        if stored in (None, ""):
            return []
        try:
            values = json.loads(stored)
        except (TypeError, ValueError):
            return [str(stored)]
        return [str(v) for v in values] if isinstance(values, list) else [str(values)]

    def display(self, stored: Any) -> str:
        return ", ".join(self.labels.get(v, v) for v in self.from_db(stored))

    def form_values(self, stored: Any) -> list[str]:
        return self.from_db(stored)

    def form_value(self, stored: Any) -> str:
        return json.dumps(self.from_db(stored))


class TypedName(str):
    """Text typed into a lookup rather than a row picked from its list: it is matched
    against the shown column on saving, never read as an id."""

    __slots__ = ()


class Lookup(Field):
    """A row of another table, found by typing (searchable among thousands of rows).

    ``show`` names the other table's column that stands for its row (default: its first).
    Stored as that row's id, with a foreign key.
    """

    sql_type = int
    widget = "lookup"

    @property
    def storage_kind(self) -> str:
        return f"lookup:{self.table_name}"

    def __init__(
        self, table: Table | str, label: str | None = None, *, show: str | None = None, **kw: Any
    ) -> None:
        super().__init__(label, **kw)
        self._table = table
        self._show = show

    @property
    def table_name(self) -> str:
        return self._table if isinstance(self._table, str) else self._table.name

    @property
    def show(self) -> str:
        """The column of the other table that stands for its row."""
        if self._show:
            return self._show
        if isinstance(self._table, str):
            return "id"
        return next(iter(self._table.fields))

    def raw(self, form: MultiDict[str, Any]) -> str:
        """The id picked from the list (the hidden input); else the text typed."""
        picked = str(form.get(self.name) or "").strip()
        if picked:
            return picked
        typed = str(form.get(f"{self.name}__text") or "").strip()
        return TypedName(typed) if typed else ""

    def parse_text(self, text: Any) -> int | str:
        # Whether the row exists, or which row a typed name means, is for the form to
        # find out: it has the database. Here: an id, or the name to look for.
        if isinstance(text, TypedName):
            if len(text) > 200 or ANY_CONTROL.search(text):
                raise ValidationError(f"Choose a {self.label.lower()} from the list.")
            return text
        row_id = as_row_id(text)
        if row_id is None:
            raise ValidationError(f"Choose a {self.label.lower()} from the list.")
        return row_id

    @staticmethod
    def picked_id(raw: Any) -> int | None:
        """``raw`` (typed input or a stored value) as a row id, if it is one."""
        return None if isinstance(raw, TypedName) else as_row_id(raw)
