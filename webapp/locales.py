"""How numbers are written where the user is: decimal mark and digit grouping.

Office staff type amounts the way their country writes them ("1.234,56" in Germany,
"1 234,56" in France) and expect to read them back the same way. A ``NumberFormat`` turns
exact ``Decimal`` values into such text and back, without binary floating point.

Digits of any script are read as the digits they are: "123" in Arabic-Indic, Devanagari
or full-width digits (typed with an East Asian input method left in full-width mode) is
123, because each is a decimal digit with its place value (Unicode category Nd): the
number read is the number typed. It is stored, and shown back, in ASCII digits.
Superscripts ("²") and other number-like signs are not digits, and are refused.

The format in force is a context variable: the app sets it for each request (``init_app``)
from the locale the host hands it (``create_app(locale=...)``), the tool's ``locale`` or
the user's session's, and ``using()`` sets
it for a block of code, such as a test.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
APOSTROPHE = "\u2019"  # Swiss grouping

#: The full-width forms of ASCII (U+FF01 to U+FF5E) as ASCII: full-width "12,5" is "12,5".
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
MINUS = "\u2212"  # what a document pasted from has for "-"
ARABIC_DECIMAL = "\u066b"
ARABIC_GROUP = "\u066c"


def ascii_digits(text: str) -> str:
    """``text`` with full-width ASCII and the decimal digits of every script as ASCII.

    Only decimal digits (category Nd) change, each to its own value: the number read is
    the number typed, whatever script typed it.
    """
    text = text.translate(FULL_WIDTH)
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text
    )


@dataclass(frozen=True)
class NumberFormat:
    """A decimal mark and a thousands separator, e.g. ``NumberFormat(",", ".")`` for German;
    and how weeks are counted there (``sunday_weeks``)."""

    decimal: str = "."
    group: str = ","
    #: Weeks start on Sunday and week 1 holds 1 January (the US, Canada, Japan …);
    #: otherwise ISO 8601's: Monday first, week 1 holds the year's first Thursday.
    sunday_weeks: bool = False

    def week_start(self, day: dt.date) -> dt.date:
        """The first day of ``day``'s week."""
        back = (day.weekday() + 1) % 7 if self.sunday_weeks else day.weekday()
        return day - dt.timedelta(days=back)

    def week_number(self, day: dt.date) -> tuple[int, int]:
        """(year, week) of ``day``'s week, as the week is counted here."""
        if not self.sunday_weeks:
            year, week, _ = day.isocalendar()
            return year, week
        start = self.week_start(day)
        year = (start + dt.timedelta(days=6)).year  # the week holding 1 January is week 1
        first = self.week_start(dt.date(year, 1, 1))
        return year, (start - first).days // 7 + 1

    def format(self, value: Decimal | int, places: int, *, grouping: bool = True) -> str:
        """``value`` with exactly ``places`` decimals, grouped by thousands if asked."""
        quantum = Decimal(1).scaleb(-places)
        text = f"{Decimal(value).quantize(quantum):{',' if grouping else ''}.{places}f}"
        return text.translate({ord(","): self.group, ord("."): self.decimal})

    def parse(self, text: str, max_places: int | None) -> Decimal | None:
        """The number in ``text`` written this way (or plainly, as 1234.56), else None.

        Grouping must be in threes; at most ``max_places`` decimals (None: any). Digits
        of any script are read as ASCII ones (``ascii_digits``), and so are the Arabic
        decimal and thousands separators and a true minus sign.
        """
        text = text.strip()
        if len(text) > 60:  # before any work on it: a form field may be megabytes long
            return None
        if _plain_pattern(self.decimal, max_places).fullmatch(text):  # most are: 1234.56
            return Decimal(text if self.decimal == "." else text.replace(self.decimal, "."))
        text = ascii_digits(text).replace(MINUS, "-")
        text = text.replace(ARABIC_DECIMAL, self.decimal).replace(ARABIC_GROUP, self.group)
        # What people type for the separators they read: a space for a (narrow)
        # non-breaking one, a straight apostrophe for the Swiss curly one.
        if self.group in (" ", NBSP, NARROW_NBSP):
            for space in (" ", NBSP, NARROW_NBSP):
                text = text.replace(space, self.group)
        elif self.group == APOSTROPHE:
            text = text.replace("'", APOSTROPHE)
        for decimal, group in self._readings(text):
            found = _number_pattern(decimal, group, max_places).fullmatch(text)
            if found:
                sign, whole = found["sign"] or "", found["whole"]
                fraction = found["fraction"] or found["fraction2"]
                plain = (
                    sign + (whole or "0").replace(group, "") + (f".{fraction}" if fraction else "")
                )
                try:
                    return Decimal(plain)
                except InvalidOperation:  # pragma: no cover - the pattern rules this out
                    return None
        return None

    def _readings(self, text: str) -> list[tuple[str, str]]:
        # The user's own convention first; where the decimal mark is a comma, a lone "."
        # that cannot be grouping ("12.5") is read as a decimal point, as spreadsheets do.
        readings = [(self.decimal, self.group)]
        if self.decimal != "." and self.decimal not in text:
            readings.append((".", ""))
        return readings


@lru_cache(maxsize=64)
def _plain_pattern(decimal: str, max_places: int | None) -> re.Pattern[str]:
    """A number as most are written, ungrouped ASCII digits: what ``_number_pattern``
    reads too, to the same value, only quicker (an import reads 100,000 of them)."""
    digits = r"[0-9]+" if max_places is None else rf"[0-9]{{1,{max_places}}}"
    fraction = "" if max_places == 0 else rf"(?:{re.escape(decimal)}{digits})?"
    return re.compile(rf"[+-]?[0-9]+{fraction}")


@lru_cache(maxsize=64)
def _number_pattern(decimal: str, group: str, max_places: int | None) -> re.Pattern[str]:
    # A grouped number never starts with a 0 group: "0.125" in German is not 125.
    # [0-9], not \d: any other digit has been made ASCII by then (``ascii_digits``).
    whole = rf"[1-9][0-9]{{0,2}}(?:{re.escape(group)}[0-9]{{3}})+|[0-9]+" if group else r"[0-9]+"
    if max_places == 0:
        return re.compile(rf"(?P<sign>[+-])?(?P<whole>{whole})(?P<fraction>)(?P<fraction2>)")
    digits = r"[0-9]+" if max_places is None else rf"[0-9]{{1,{max_places}}}"
    mark = re.escape(decimal)
    return re.compile(
        rf"(?P<sign>[+-])?(?:(?P<whole>{whole})(?:{mark}(?P<fraction>{digits}))?"
        rf"|{mark}(?P<fraction2>{digits}))"
    )


# Conventions by language (and a few countries that differ from their language).
FORMATS: dict[str, NumberFormat] = {
    "en": NumberFormat(".", ","),
    "ja": NumberFormat(".", ","),
    "zh": NumberFormat(".", ","),
    "ko": NumberFormat(".", ","),
    "he": NumberFormat(".", ","),
    "th": NumberFormat(".", ","),
    "de": NumberFormat(",", "."),
    "nl": NumberFormat(",", "."),
    "it": NumberFormat(",", "."),
    "es": NumberFormat(",", "."),
    "pt": NumberFormat(",", "."),
    "da": NumberFormat(",", "."),
    "id": NumberFormat(",", "."),
    "tr": NumberFormat(",", "."),
    "el": NumberFormat(",", "."),
    "ro": NumberFormat(",", "."),
    "fr": NumberFormat(",", NARROW_NBSP),
    "sv": NumberFormat(",", NBSP),
    "nb": NumberFormat(",", NBSP),
    "no": NumberFormat(",", NBSP),
    "fi": NumberFormat(",", NBSP),
    "pl": NumberFormat(",", NBSP),
    "cs": NumberFormat(",", NBSP),
    "sk": NumberFormat(",", NBSP),
    "hu": NumberFormat(",", NBSP),
    "ru": NumberFormat(",", NBSP),
    "uk": NumberFormat(",", NBSP),
    "de_CH": NumberFormat(".", APOSTROPHE),
    "fr_CH": NumberFormat(".", APOSTROPHE),
    "it_CH": NumberFormat(".", APOSTROPHE),
    "en_ZA": NumberFormat(",", NBSP),
    "es_MX": NumberFormat(".", ","),
    "pt_PT": NumberFormat(",", NBSP),
}

DEFAULT = FORMATS["en"]
#: Countries whose weeks start on Sunday, with week 1 holding 1 January (CLDR's first
#: day of the week; the rest count ISO 8601 weeks).
SUNDAY_WEEKS = frozenset([
    "US", "CA", "MX", "BR", "JP", "KR", "TW", "HK", "MO", "PH", "IL", "SA", "IN", "ZA",
    "CO", "PE", "VE", "GT", "HN", "SV", "NI", "PA", "DO", "PR", "PY", "TH", "ID", "SG",
    "KE", "PK", "BD",
])  # fmt: skip


def for_locale(name: str | None) -> NumberFormat:
    """The format for a locale name such as ``de_DE.UTF-8``, ``fr-CA`` or ``en``.

    Unknown names, ``C`` and ``POSIX`` give the English format.
    """
    if not name:
        return DEFAULT
    base = re.split(r"[.@]", name.strip())[0].replace("-", "_")
    language, _, country = base.partition("_")
    found = (
        FORMATS.get(f"{language.lower()}_{country.upper()}")
        or FORMATS.get(language.lower())
        or DEFAULT
    )
    if country.upper() in SUNDAY_WEEKS:
        return replace(found, sunday_weeks=True)
    return found


def chosen_locale(
    override: str | None, tool_locale: str | None, user_locale: str | None
) -> str | None:
    """The locale that writes numbers: the one whoever installs the tool set (IT), else
    the tool's own, else the user's session's. The host reads the first and the last and
    hands them over: nothing here reads the environment."""
    return override or tool_locale or user_locale


_current: ContextVar[NumberFormat] = ContextVar("deskwork_number_format", default=DEFAULT)


def current() -> NumberFormat:
    """The number format in force for this request (or test)."""
    return _current.get()


def init_app(app: Flask, fmt: NumberFormat) -> None:
    """Put ``fmt`` in force for each request of ``app``, and only for it."""
    from flask import g  # here, not at the top: declaring a tool needs no Flask

    def activate() -> None:
        g.deskwork_number_format = _current.set(fmt)

    def restore(_exc: BaseException | None) -> None:
        token = g.pop("deskwork_number_format", None)
        if token is not None:
            _current.reset(token)

    app.before_request(activate)
    app.teardown_request(restore)


@contextmanager
def using(fmt: NumberFormat | str) -> Iterator[NumberFormat]:
    """Put a format (or a locale name's) in force inside a ``with`` block."""
    chosen = for_locale(fmt) if isinstance(fmt, str) else fmt
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)
