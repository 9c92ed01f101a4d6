"""Dates and date-times, stored as ISO text so that they sort and compare in SQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field, check_range

Bound = dt.date | str | None


class Date(Field):
    """A calendar date (``YYYY-MM-DD``), optionally between ``min`` and ``max``."""

    input_type = "date"

    @property
    def storage_kind(self) -> str:
        return "date"

    def __init__(
        self, label: str | None = None, *, min: Bound = None, max: Bound = None, **kw: Any
    ) -> None:
        super().__init__(label, **kw)
        self.min = self._bound(min)
        self.max = self._bound(max)

    def _bound(self, value: Bound) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse_text(value)
        except ValidationError as error:
            raise ToolError(f"min/max {value!r}: {error}") from None

    def parse_text(self, text: Any) -> dt.date:
        text = str(text)
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{self.label} must be a date, like 2026-01-31.") from None

    def check(self, value: dt.date) -> None:
        check_range(self, value, self.min, self.max, self.display)

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
    _format = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?")

    @property
    def storage_kind(self) -> str:
        return "datetime"

    def parse_text(self, text: Any) -> dt.datetime:
        text = str(text)
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
