"""Text fields: a short line, several lines, an email address, a web address."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field


class Text(Field):
    """A short line of text.

    ``min_length``/``max_length`` limit its length; ``pattern`` (a regular expression the
    whole text must match) with ``pattern_help`` (how to say it to a person, e.g.
    ``"like AB-1234"``) constrains its form.
    """

    def __init__(
        self,
        label: str | None = None,
        *,
        max_length: int = 200,
        min_length: int = 0,
        pattern: str | None = None,
        pattern_help: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(label, **kw)
        if min_length > max_length:
            raise ToolError(f"min_length {min_length} is above max_length {max_length}.")
        self.max_length = max_length
        self.min_length = min_length
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as error:
            raise ToolError(f"pattern {pattern!r} is not a regular expression: {error}") from None
        self.pattern_help = pattern_help

    def parse_text(self, text: Any) -> str:
        return str(text)

    def check(self, value: str) -> None:
        if len(value) > self.max_length:
            raise ValidationError(
                f"{self.label} is too long: at most {self.max_length} characters."
            )
        if len(value) < self.min_length:
            raise ValidationError(
                f"{self.label} is too short: at least {self.min_length} characters."
            )
        if self.pattern and not self.pattern.fullmatch(value):
            hint = self.pattern_help or f"the pattern {self.pattern.pattern}"
            raise ValidationError(f"{self.label} must be written {hint}.")

    def input_attrs(self) -> dict[str, str]:
        attrs = {**super().input_attrs(), "maxlength": str(self.max_length)}
        if self.min_length:
            attrs["minlength"] = str(self.min_length)
        if self.pattern:
            attrs["pattern"] = self.pattern.pattern
            if self.pattern_help:
                attrs["title"] = f"Written {self.pattern_help}"
        return attrs


class LongText(Text):
    """Several lines of text."""

    widget = "textarea"

    def __init__(self, label: str | None = None, *, max_length: int = 10_000, **kw: Any) -> None:
        super().__init__(label, max_length=max_length, **kw)


class Email(Text):
    """An email address (one @, a dotted domain, no spaces)."""

    input_type = "email"
    _address = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

    def __init__(self, label: str | None = None, *, max_length: int = 254, **kw: Any) -> None:
        super().__init__(label, max_length=max_length, **kw)

    def check(self, value: str) -> None:
        super().check(value)
        if not self._address.fullmatch(value):
            raise ValidationError(f"{self.label} must be an email address, like ann@example.com.")


class Url(Text):
    """A web address (http or https)."""

    input_type = "url"

    def __init__(self, label: str | None = None, *, max_length: int = 2000, **kw: Any) -> None:
        super().__init__(label, max_length=max_length, **kw)

    def parse_text(self, text: Any) -> str:
        address = str(text)
        if "://" not in address and re.match(r"[\w-]+(\.[\w-]+)+(/|$)", address):
            address = "https://" + address  # "example.com/x" is what people type
        return address

    def check(self, value: str) -> None:
        super().check(value)
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
        except ValueError:  # a malformed port or IPv6 address
            ok = False
        if not ok:
            raise ValidationError(
                f"{self.label} must be a web address, like https://example.com/page."
            )
