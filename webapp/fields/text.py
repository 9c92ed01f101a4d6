"""Text fields: a short line, several lines, an email address, a web address.

Every kind has a maximum length (a short line 200 characters, several lines 10,000), so
that no form field is unbounded; text over it comes back as "too long" beside its field,
with what was typed kept. Control characters (a NUL byte, an escape, C1 controls) are
refused rather than stored or stripped: they are invisible, they break search and other
programs reading the database, and a person can only fix what they are told about. Only a
tab, and in ``LongText`` line breaks, are kept.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field

#: Characters no text field stores: C0 and C1 controls (tab and line breaks are let through
#: per field kind, by ``Text.kept_controls``).
CONTROLS = frozenset(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)))


def control_pattern(kept: str = "") -> re.Pattern[str]:
    """A pattern finding the control characters other than those in ``kept``."""
    refused = "".join(re.escape(c) for c in sorted(CONTROLS - set(kept)))
    return re.compile(f"[{refused}]" if refused else "(?!)")


ANY_CONTROL = control_pattern()


def without_controls(text: str) -> str:
    """``text`` with every control character dropped (for searches: nothing to refuse)."""
    return ANY_CONTROL.sub("", text)


class Text(Field):
    """A short line of text.

    ``min_length``/``max_length`` limit its length; ``pattern`` (a regular expression the
    whole text must match) with ``pattern_help`` (how to say it to a person, e.g.
    ``"like AB-1234"``) constrains its form.
    """

    #: The control characters this kind keeps; any other is refused.
    kept_controls: ClassVar[str] = "\t"

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
        if not isinstance(max_length, int) or max_length < 1:
            raise ToolError(
                f"max_length must be a whole number of characters, not {max_length!r}: every "
                "text field has a limit (LongText's is 10,000; give a larger one if needed)."
            )
        if min_length > max_length:
            raise ToolError(f"min_length {min_length} is above max_length {max_length}.")
        self.max_length = max_length
        self.min_length = min_length
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as error:
            raise ToolError(f"pattern {pattern!r} is not a regular expression: {error}") from None
        self.pattern_help = pattern_help
        self._controls = control_pattern(self.kept_controls)

    def parse_text(self, text: Any) -> str:
        return str(text)

    def check(self, value: str) -> None:
        if len(value) > self.max_length:
            raise ValidationError(
                f"{self.label} is too long: at most {self.max_length:,} characters "
                f"(it has {len(value):,})."
            )
        found = self._controls.search(value)
        if found:
            raise ValidationError(
                f"{self.label} holds an invisible control character (U+{ord(found[0]):04X}) "
                f"at character {found.start() + 1}: delete it and type that part again."
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
    kept_controls = "\t\n\r"

    def __init__(self, label: str | None = None, *, max_length: int = 10_000, **kw: Any) -> None:
        super().__init__(label, max_length=max_length, **kw)


class Email(Text):
    """An email address (one @, a dotted domain, no spaces)."""

    input_type = "email"
    collate = "NOCASE"  # unique addresses: ADA@example.com is ada@example.com
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
            parts.port  # noqa: B018 - raises ValueError for a port out of range, like :99999
        except ValueError:  # a malformed port or IPv6 address
            ok = False
        if not ok:
            raise ValidationError(
                f"{self.label} must be a web address, like https://example.com/page."
            )
