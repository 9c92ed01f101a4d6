"""Field types: how a value is typed in, checked, stored and shown.

Every field turns the text of a form input into a Python value (``parse``), that value
into what SQLite stores (``to_db``) and a stored value back into text (``display``).
Money never passes through binary floating point: it is parsed as ``Decimal`` and stored
as a whole number of cents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from webapp.errors import ToolError, ValidationError

if TYPE_CHECKING:
    from webapp.model import Table


class Field:
    """One column of a table, or one parameter of a report.

    ``label`` defaults to the column name, capitalised, with underscores as spaces.
    """

    sql_type: ClassVar[type] = str
    input_type: ClassVar[str] = "text"

    def __init__(
        self,
        label: str | None = None,
        *,
        required: bool = False,
        default: Any = None,
        help: str | None = None,
    ) -> None:
        self.name = ""
        self._label = label
        self.required = required
        self._default = default
        self.help = help

    def bind(self, name: str) -> None:
        """Give the field its column name; called by the table that declares it."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ToolError(
                f"Field name {name!r} must be lower case letters, digits and underscores."
            )
        self.name = name

    @property
    def label(self) -> str:
        return self._label or self.name.replace("_", " ").capitalize()

    def default(self) -> Any:
        """The value a new record starts with (``default`` may be a callable)."""
        return self._default() if callable(self._default) else self._default

    def parse(self, raw: str | None) -> Any:
        """Turn typed text into a value, or raise ``ValidationError`` saying what is wrong."""
        text = (raw or "").strip()
        if not text:
            if self.required:
                raise ValidationError(f"{self.label} is required.")
            return None
        return self.parse_text(text)

    def parse_text(self, text: str) -> Any:
        return text

    def to_db(self, value: Any) -> Any:
        return value

    def display(self, value: Any) -> str:
        return "" if value is None else str(value)

    def form_value(self, value: Any) -> str:
        """The text an input shows for a stored (or default) value."""
        return self.display(value)

    def input_attrs(self) -> dict[str, str]:
        """HTML5 attributes that hint the server's rules to the browser."""
        return {"required": "required"} if self.required else {}


class Text(Field):
    """A short line of text."""

    def __init__(self, label: str | None = None, *, max_length: int = 200, **kw: Any) -> None:
        super().__init__(label, **kw)
        self.max_length = max_length

    def parse_text(self, text: str) -> str:
        if len(text) > self.max_length:
            raise ValidationError(
                f"{self.label} is too long: at most {self.max_length} characters."
            )
        return text

    def input_attrs(self) -> dict[str, str]:
        return {**super().input_attrs(), "maxlength": str(self.max_length)}


class LongText(Text):
    """Several lines of text."""

    input_type = "textarea"

    def __init__(self, label: str | None = None, *, max_length: int = 10_000, **kw: Any) -> None:
        super().__init__(label, max_length=max_length, **kw)


class Email(Text):
    """An email address (checked for one @ and a dotted domain)."""

    input_type = "email"
    _pattern = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

    def parse_text(self, text: str) -> str:
        text = super().parse_text(text)
        if not self._pattern.fullmatch(text):
            raise ValidationError(f"{self.label} must be an email address, like ann@example.com.")
        return text


class Integer(Field):
    """A whole number, optionally between ``min`` and ``max``."""

    sql_type = int
    input_type = "number"

    def __init__(
        self, label: str | None = None, *, min: int | None = None, max: int | None = None, **kw: Any
    ) -> None:
        super().__init__(label, **kw)
        self.min, self.max = min, max

    def parse_text(self, text: str) -> int:
        if not re.fullmatch(r"[+-]?\d{1,18}", text.replace(",", "").replace(" ", "")):
            raise ValidationError(f"{self.label} must be a whole number.")
        value = int(text.replace(",", "").replace(" ", ""))
        if self.min is not None and value < self.min:
            raise ValidationError(f"{self.label} must be at least {self.min}.")
        if self.max is not None and value > self.max:
            raise ValidationError(f"{self.label} must be at most {self.max}.")
        return value

    def input_attrs(self) -> dict[str, str]:
        attrs = super().input_attrs()
        if self.min is not None:
            attrs["min"] = str(self.min)
        if self.max is not None:
            attrs["max"] = str(self.max)
        return attrs


class Money(Field):
    """An amount of money with exact cents, stored as an integer number of cents."""

    sql_type = int
    _pattern = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?|[+-]?\.\d{1,2}")

    def __init__(
        self,
        label: str | None = None,
        *,
        min: Decimal | str | None = None,
        max: Decimal | str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(label, **kw)
        self.min = None if min is None else Decimal(min)
        self.max = None if max is None else Decimal(max)

    def parse_text(self, text: str) -> Decimal:
        cleaned = text.replace(" ", "").lstrip("$€£")
        if not self._pattern.fullmatch(cleaned) or len(cleaned) > 30:
            raise ValidationError(
                f"{self.label} must be an amount with at most two decimals, like 12.50."
            )
        try:
            value = Decimal(cleaned.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern already rules this out
            raise ValidationError(f"{self.label} must be an amount, like 12.50.") from None
        if self.min is not None and value < self.min:
            raise ValidationError(f"{self.label} must be at least {self.min:,.2f}.")
        if self.max is not None and value > self.max:
            raise ValidationError(f"{self.label} must be at most {self.max:,.2f}.")
        return value

    def to_db(self, value: Decimal | None) -> int | None:
        return None if value is None else int(value.scaleb(2).to_integral_exact())

    @staticmethod
    def from_cents(cents: int | None) -> Decimal | None:
        return None if cents is None else Decimal(cents).scaleb(-2)

    def display(self, value: Any) -> str:
        amount = self.from_cents(value)
        return "" if amount is None else f"{amount:,.2f}"

    def form_value(self, value: Any) -> str:
        amount = self.from_cents(value)
        return "" if amount is None else f"{amount:.2f}"

    def input_attrs(self) -> dict[str, str]:
        return {**super().input_attrs(), "inputmode": "decimal", "pattern": r"-?[\d,]*\.?\d{0,2}"}


class Date(Field):
    """A calendar date, stored as ISO text (YYYY-MM-DD) so it sorts and compares."""

    input_type = "date"

    def parse_text(self, text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{self.label} must be a date, like 2026-01-31.") from None

    def to_db(self, value: dt.date | None) -> str | None:
        return None if value is None else value.isoformat()

    def display(self, value: Any) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        return "" if value is None else str(value)


class Choice(Field):
    """One value from a fixed list."""

    input_type = "select"

    def __init__(self, choices: Sequence[str], label: str | None = None, **kw: Any) -> None:
        super().__init__(label, **kw)
        if not choices:
            raise ToolError("Choice needs at least one choice.")
        self.choices = list(choices)

    def parse_text(self, text: str) -> str:
        if text not in self.choices:
            raise ValidationError(f"{self.label} must be one of: {', '.join(self.choices)}.")
        return text


class Lookup(Field):
    """A reference to a row of another table, shown by one of its columns."""

    sql_type = int
    input_type = "select"

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

    def parse_text(self, text: str) -> int:
        # Whether the row exists is for the form to check: it has the database.
        if not text.isdigit() or len(text) > 18:
            raise ValidationError(f"Choose a {self.label.lower()} from the list.")
        return int(text)
