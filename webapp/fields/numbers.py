"""Numbers: whole numbers, exact decimals and money.

No binary floating point anywhere: text is read as ``Decimal`` in the user's number format
(``deskwork.locales``), and decimals are stored as whole numbers of their smallest unit (cents
for money), so sums in SQL are exact too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from deskwork import locales
from deskwork.errors import ToolError, ValidationError
from deskwork.fields.base import Field, check_range

CURRENCY_SIGNS = "$€£¥₹₩₽₺₪฿\uff04\uffe5\uffe1\uffe6"  # the last four: full-width $ ¥ £ ₩
MAX_DIGITS = 18  # fits SQLite's 64-bit integers with room to add up many rows


class Integer(Field):
    """A whole number, optionally between ``min`` and ``max``.

    Shown without grouping (years, codes, counts read better as 2026 than 2,026);
    ``grouping=True`` groups thousands.
    """

    sql_type = int
    input_type = "number"
    numeric = True

    def __init__(
        self,
        label: str | None = None,
        *,
        min: int | None = None,
        max: int | None = None,
        grouping: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(label, **kw)
        if min is not None and max is not None and min > max:
            raise ToolError(f"min {min} is above max {max}.")
        self.min, self.max = min, max
        self.grouping = grouping

    @property
    def storage_kind(self) -> str:
        return "number:0"

    def parse_text(self, text: Any) -> int:
        value = locales.current().parse(str(text), 0)
        if value is None or len(value.as_tuple().digits) > MAX_DIGITS:
            raise ValidationError(f"{self.label} must be a whole number, like 42.")
        return int(value)

    def check(self, value: int) -> None:
        check_range(self, value, self.min, self.max, str)

    def display(self, stored: Any) -> str:
        if stored is None or stored == "":
            return ""
        return locales.current().format(Decimal(int(stored)), 0, grouping=self.grouping)

    def form_value(self, stored: Any) -> str:
        return "" if stored is None or stored == "" else str(int(stored))

    def input_attrs(self) -> dict[str, str]:
        attrs = {**super().input_attrs(), "step": "1"}
        if self.min is not None:
            attrs["min"] = str(self.min)
        if self.max is not None:
            attrs["max"] = str(self.max)
        return attrs


class Number(Field):
    """An exact decimal number with at most ``places`` decimals.

    Stored as a whole number of its smallest unit: with ``places=2``, 12.5 is stored as
    1250, so ``sum()`` in SQL is exact. Shown with the user's decimal mark and grouping.
    """

    sql_type = int
    numeric = True
    unit_name = "a number"

    def __init__(
        self,
        label: str | None = None,
        *,
        places: int = 2,
        min: Decimal | int | str | None = None,
        max: Decimal | int | str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(label, **kw)
        if not 0 <= places <= 9:
            raise ToolError(f"places must be between 0 and 9, not {places}.")
        self.places = places
        self.min = None if min is None else Decimal(min)
        self.max = None if max is None else Decimal(max)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ToolError(f"min {self.min} is above max {self.max}.")

    @property
    def storage_kind(self) -> str:
        return f"number:{self.places}"

    def parse_text(self, text: Any) -> Decimal:
        cleaned = self.clean(str(text))
        value = locales.current().parse(cleaned, self.places)
        if value is None:
            raise ValidationError(self.format_error())
        if abs(value.scaleb(self.places)) >= 10**MAX_DIGITS:
            raise ValidationError(f"{self.label} is too large.")
        return value

    def clean(self, text: str) -> str:
        return text

    def format_error(self) -> str:
        example = locales.current().format(Decimal("1234.5"), self.places)
        if self.places == 0:
            return f"{self.label} must be a whole number, like {example}."
        places = {1: "one decimal", 2: "two decimals", 3: "three decimals"}.get(
            self.places, f"{self.places} decimals"
        )
        return f"{self.label} must be {self.unit_name} with at most {places}, like {example}."

    def check(self, value: Decimal) -> None:
        check_range(self, value, self.min, self.max, self.show_decimal)

    def show_decimal(self, value: Decimal) -> str:
        return locales.current().format(value, self.places)

    def to_db(self, value: Decimal | None) -> int | None:
        return None if value is None else int(value.scaleb(self.places).to_integral_exact())

    def from_db(self, stored: Any) -> Decimal | None:
        return None if stored is None or stored == "" else Decimal(int(stored)).scaleb(-self.places)

    def display(self, stored: Any) -> str:
        value = self.from_db(stored)
        return "" if value is None else locales.current().format(value, self.places)

    def form_value(self, stored: Any) -> str:
        value = self.from_db(stored)
        if value is None:
            return ""
        return locales.current().format(value, self.places, grouping=False)

    def input_attrs(self) -> dict[str, str]:
        # A text input: type=number would refuse the user's own decimal comma.
        return {**super().input_attrs(), "inputmode": "decimal"}


class Money(Number):
    """An amount of money with exact cents (stored as a whole number of cents).

    A currency sign typed before or after the amount is ignored.
    """

    unit_name = "an amount"

    def __init__(
        self,
        label: str | None = None,
        *,
        min: Decimal | int | str | None = None,
        max: Decimal | int | str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(label, places=2, min=min, max=max, **kw)

    def clean(self, text: str) -> str:
        return text.strip().strip(CURRENCY_SIGNS).strip()

    @staticmethod
    def from_cents(cents: int | None) -> Decimal | None:
        return None if cents is None else Decimal(cents).scaleb(-2)
