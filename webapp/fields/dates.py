"""Dates and date-times, stored as ISO text so that they sort and compare in SQL.

Every date has bounds, 1900-01-01 to 2200-12-31 unless the tool says otherwise
(``Date(min=..., max=...)``): a year typed as 0001 or 20266 is a slip of the keyboard, not
a date in an office's records. Digits of any script are read as ASCII ones, as in numbers
(``deskwork.locales.ascii_digits``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from deskwork import locales
from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field, check_range

Bound = dt.date | str | None
MAX_LENGTH = 40  # longer text is no date: refused before any work on it


class Date(Field):
    """A calendar date (``YYYY-MM-DD``) between ``min`` and ``max``.

    The bounds default to 1900-01-01 and 2200-12-31; give earlier or later ones (a date, or
    ISO text) for records that need them.
    """

    input_type = "date"
    #: The bounds when the tool gives none.
    earliest: ClassVar[dt.date] = dt.date(1900, 1, 1)
    latest: ClassVar[dt.date] = dt.date(2200, 12, 31)

    @property
    def storage_kind(self) -> str:
        return "date"

    def __init__(
        self, label: str | None = None, *, min: Bound = None, max: Bound = None, **kw: Any
    ) -> None:
        super().__init__(label, **kw)
        # A date, or a date and time for a DateTime.
        self.min: Any = self.earliest if min is None else self._bound(min)
        self.max: Any = self.latest if max is None else self._bound(max)
        if self.min > self.max:
            raise ToolError(
                f"min {self.display(self.min)} is after max {self.display(self.max)}: give "
                f"both (without them a date is between {self.display(self.earliest)} and "
                f"{self.display(self.latest)})."
            )

    def _bound(self, value: Bound) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse_text(value)
        except ValidationError as error:
            raise ToolError(f"min/max {value!r}: {error}") from None

    def parse_text(self, text: Any) -> dt.date:
        text = locales.ascii_digits(str(text)) if len(str(text)) <= MAX_LENGTH else ""
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{self.label} must be a date, like 2026-01-31.") from None

    def check(self, value: dt.date) -> None:
        try:
            check_range(self, value, self.min, self.max, self.display)
        except ValidationError as error:
            if self.earliest <= value <= self.latest:
                raise
            raise ValidationError(f"{error} Check the year.") from None

    def to_db(self, value: dt.date | None) -> str | None:
        return None if value is None else value.isoformat()

    def from_db(self, stored: Any) -> dt.date | None:
        if stored is None or stored == "":
            return None
        return stored if isinstance(stored, dt.date) else dt.date.fromisoformat(str(stored))

    def display(self, stored: Any) -> str:
        if isinstance(stored, dt.date):
            return stored.isoformat()
        return "" if stored is None else str(stored)

    def input_attrs(self) -> dict[str, str]:
        attrs = super().input_attrs()
        if self.min is not None:
            attrs["min"] = self.min.isoformat()
        if self.max is not None:
            attrs["max"] = self.max.isoformat()
        return attrs


class DateTime(Date):
    """A date and a time of day to the minute (local time), stored as ``YYYY-MM-DD HH:MM``."""

    input_type = "datetime-local"
    earliest = dt.datetime(1900, 1, 1)
    latest = dt.datetime(2200, 12, 31, 23, 59)
    _format = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")

    @property
    def storage_kind(self) -> str:
        return "datetime"

    def parse_text(self, text: Any) -> dt.datetime:
        text = locales.ascii_digits(str(text)) if len(str(text)) <= MAX_LENGTH else ""
        try:
            if not self._format.fullmatch(text):
                raise ValueError(text)
            return dt.datetime.fromisoformat(text).replace(second=0, microsecond=0)
        except ValueError:
            raise ValidationError(
                f"{self.label} must be a date and time, like 2026-01-31 14:30."
            ) from None

    def _bound(self, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return super()._bound(value)

    def to_db(self, value: dt.datetime | None) -> str | None:  # type: ignore[override]
        return None if value is None else value.isoformat(sep=" ", timespec="minutes")

    def from_db(self, stored: Any) -> dt.datetime | None:
        if stored is None or stored == "":
            return None
        return stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(stored)

    def display(self, stored: Any) -> str:
        if isinstance(stored, dt.datetime):
            return stored.isoformat(sep=" ", timespec="minutes")
        return "" if stored is None else str(stored)

    def form_value(self, stored: Any) -> str:
        return self.display(stored).replace(" ", "T")  # what datetime-local inputs take

    def input_attrs(self) -> dict[str, str]:
        attrs = Field.input_attrs(self)
        if self.min is not None:
            attrs["min"] = self.min.isoformat(timespec="minutes")
        if self.max is not None:
            attrs["max"] = self.max.isoformat(timespec="minutes")
        return attrs
