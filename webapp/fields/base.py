"""The field every type builds on: label, rules, and the path from typed text to the database.

A field turns what a form sends into a Python value (``parse``: text to value, with every
rule checked), that value into what SQLite stores (``to_db``), and a stored value back into
text for a page (``display``) or for an input (``form_value``). Rules are checked on the
server, always, and hinted to the browser through HTML5 attributes (``input_attrs``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from deskwork.errors import ToolError, ValidationError

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

#: A custom rule: gets the parsed value; returns an error message (or raises
#: ``ValidationError``) when the value is wrong, and None when it is fine.
Validator = Callable[[Any], "str | None"]

#: Computes a read-only field from the other values of the record (parsed Python values).
Compute = Callable[[Mapping[str, Any]], Any]

NAME = re.compile(r"[a-z_][a-z0-9_]*")
ROW_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "²".isdigit() is True
#: The collations every SQLite has (``Field(collate=...)``).
COLLATIONS = ("BINARY", "NOCASE", "RTRIM")


def as_row_id(raw: Any) -> int | None:
    """``raw`` (an int, or text from a form or an address) as a row id, if it is one."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and ROW_ID.fullmatch(raw):
        return int(raw)
    return None


class Field:
    """One column of a table, one parameter of a report or one argument of a function form.

    Every field takes:

    * ``label``: what the form and the table say (default: the name, capitalised, with
      underscores as spaces);
    * ``required``: blank is refused;
    * ``default``: the value a new record starts with (a value, or a callable);
    * ``help``: a line of help under the input;
    * ``unique``: no two rows may hold the same value (checked, and a unique index);
    * ``collate``: how values compare for ``unique`` (SQLite's ``"NOCASE"`` or ``"RTRIM"``;
      default: the type's own, ``"NOCASE"`` for an email address, else exactly);
    * ``validate``: a function, or a list of them, for rules of your own;
    * ``compute``: makes the field read-only, computed from the other fields on every save;
    * ``readonly``: shown but never changed by the form.
    """

    sql_type: ClassVar[type] = str
    input_type: ClassVar[str] = "text"
    #: How the form shows it: input, textarea, select, radio, checkbox, checkboxes,
    #: lookup or file.
    widget: ClassVar[str] = "input"
    #: Right-aligned in tables.
    numeric: ClassVar[bool] = False
    #: The SQLite collation ``unique`` compares values with (its check and its index);
    #: None compares them exactly. Email sets ``"NOCASE"``: ADA@example.com is ada@example.com.
    collate: str | None = None

    @property
    def storage_kind(self) -> str:
        """What stored values mean; a column may not change it (``Storage.prepare``)."""
        return "text"

    def __init__(
        self,
        label: str | None = None,
        *,
        required: bool = False,
        default: Any = None,
        help: str | None = None,
        unique: bool = False,
        validate: Validator | Sequence[Validator] = (),
        compute: Compute | None = None,
        readonly: bool = False,
        placeholder: str | None = None,
        collate: str | None = None,
    ) -> None:
        self.name = ""
        self._label = label
        self.required = required
        self._default = default
        self.help = help
        self.unique = unique
        self.validators: list[Validator] = [validate] if callable(validate) else list(validate)
        for validator in self.validators:
            if not callable(validator):
                raise ToolError(f"validate= takes functions; {validator!r} is not one.")
        self.compute = compute
        self.readonly = readonly or compute is not None
        self.placeholder = placeholder
        if collate is not None:
            if collate.upper() not in COLLATIONS:
                raise ToolError(
                    f"collate={collate!r} is not one of SQLite's collations: use "
                    f"{' or '.join(repr(c) for c in COLLATIONS)}."
                )
            self.collate = collate.upper()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or '(unbound)'}>"

    def bind(self, name: str) -> None:
        """Give the field its column name; called by the table that declares it."""
        if not NAME.fullmatch(name):
            raise ToolError(
                f"Field name {name!r} must be lower case letters, digits and underscores."
            )
        if self.name and self.name != name:
            raise ToolError(
                f"One {type(self).__name__}() is used as both {self.name!r} and {name!r}: "
                "give each column a field of its own."
            )
        self.name = name

    @property
    def label(self) -> str:
        return self._label or self.name.replace("_", " ").capitalize()

    def default(self) -> Any:
        """The value a new record starts with (``default`` may be a callable)."""
        return self._default() if callable(self._default) else self._default

    # -- from the form to the database ------------------------------------------------------

    def raw(self, form: MultiDict[str, Any]) -> Any:
        """What the form sent for this field (one string; lists for several choices)."""
        return form.get(self.name)

    def parse(self, raw: Any) -> Any:
        """Typed input to a value, or ``ValidationError`` saying what is wrong, plainly.

        Checks, in order: required, the type's own format and limits, then ``validate``.
        """
        text = type(raw)(raw.strip()) if isinstance(raw, str) else raw  # keeps str subclasses
        if text is None or text == "" or text == []:
            if self.required:
                raise ValidationError(f"{self.label} is required.")
            return self.empty()
        value = self.parse_text(text)
        self.check(value)
        self.run_validators(value)
        return value

    def run_validators(self, value: Any) -> None:
        """The author's own rules (``validate=``), after the type's."""
        for validator in self.validators:
            message = validator(value)
            if message:
                raise ValidationError(str(message))

    def empty(self) -> Any:
        """The value of a blank input."""
        return None

    def parse_text(self, text: Any) -> Any:
        """The type's own reading of non-blank input."""
        return text

    def check(self, value: Any) -> None:
        """The type's limits (min, max, length, pattern); raise ``ValidationError``."""

    def to_db(self, value: Any) -> Any:
        """A parsed value as SQLite stores it."""
        return value

    def from_db(self, stored: Any) -> Any:
        """A stored value as the Python value ``parse`` gives (for computing and checking)."""
        return stored

    # -- from the database to the page ------------------------------------------------------

    def display(self, stored: Any) -> str:
        """A stored value as a page shows it."""
        return "" if stored is None else str(stored)

    def form_value(self, stored: Any) -> str:
        """A stored value as an input holds it, ready to be parsed back."""
        return self.display(stored)

    def input_attrs(self) -> dict[str, str]:
        """HTML5 attributes that hint the server's rules to the browser."""
        attrs: dict[str, str] = {}
        if self.required:
            attrs["required"] = "required"
            attrs["aria-required"] = "true"
        if self.placeholder:
            attrs["placeholder"] = self.placeholder
        return attrs


def check_range(field: Field, value: Any, low: Any, high: Any, shown: Callable[[Any], str]) -> None:
    """Raise the plain-words error when ``value`` is outside ``low``..``high``."""
    if low is not None and value < low:
        raise ValidationError(f"{field.label} must be at least {shown(low)}.")
    if high is not None and value > high:
        raise ValidationError(f"{field.label} must be at most {shown(high)}.")
