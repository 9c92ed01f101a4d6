"""What a report shows of each group's rows: ``Count()``, ``Sum("amount")``,
``Average("amount")``, ``Minimum("amount")``, ``Maximum("amount")``.

Declared in a tool file (``Tool.table_report``); ``deskwork.db.groups`` runs them.

- **Exact**: a sum is SQLite's ``sum()`` of the stored integers (cents for money); an
  average is worked out from the exact sum and count, rounded half up to the column's
  own unit (a cent), never through a float.
- **Parts combine**: each measure reads *parts* per group (an average reads a sum and a
  count) so subtotals and the total line are made from the groups' parts, exactly, with
  no second pass over the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from deskwork.errors import ToolError
from deskwork.fields import Date, DateTime, Field, Integer, Money, Number

Parts = tuple[Any, ...]


class Measure:
    """One value per group of rows; ``column`` is the table's column it reads."""

    how: ClassVar[str] = ""
    #: Whether the group values add up to the total (the chart may stack them).
    additive: ClassVar[bool] = False

    def __init__(self, column: str | None = None, label: str | None = None) -> None:
        self.column = column
        self.label = label

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.column or ''!r})"

    def check(self, fields: dict[str, Field], what: str) -> None:
        """Refuse a column the table lacks, or one this measure can't read."""
        if self.column is None:
            raise ToolError(f"{what}: {type(self).__name__}() needs a column, like "
                            f"{type(self).__name__}(\"amount\").")  # fmt: skip
        f = fields.get(self.column)
        if f is None:
            raise ToolError(f"{what}: there is no column {self.column!r} to measure.")
        if not self.reads(f):
            raise ToolError(f"{what}: {type(self).__name__}({self.column!r}) needs a "
                            "money or number column.")  # fmt: skip

    def reads(self, f: Field) -> bool:
        return isinstance(f, Money | Number | Integer)

    def sql(self, column: str) -> list[str]:
        """SQL of this measure's parts for one group (``column`` is the quoted column)."""
        raise NotImplementedError

    def combine(self, parts: Sequence[Parts]) -> Parts:
        """The parts of several groups taken together."""
        raise NotImplementedError

    def value(self, parts: Parts) -> Any:
        """The stored value (cents for money) these parts come to; None if there is none."""
        return parts[0]

    def field(self, fields: dict[str, Field]) -> Field:
        """How the value is shown: the column's own field (money stays money)."""
        f = fields[self.column] if self.column else Integer()
        return f


class Count(Measure):
    """How many rows; ``Count("receipt")``: how many have a value in that column."""

    how = "count"
    additive = True

    def check(self, fields: dict[str, Field], what: str) -> None:
        if self.column is not None and self.column not in fields:
            raise ToolError(f"{what}: there is no column {self.column!r} to count.")

    def sql(self, column: str) -> list[str]:
        if self.column is None:
            return ["count(*)"]
        return [f"count(nullif({column}, ''))"]

    def combine(self, parts: Sequence[Parts]) -> Parts:
        return (sum(int(p[0] or 0) for p in parts),)

    def value(self, parts: Parts) -> int:
        return int(parts[0] or 0)

    def field(self, fields: dict[str, Field]) -> Field:
        return Counted()


class Counted(Integer):
    """A count as the page shows it: grouped in the user's locale (12,345)."""

    def display(self, stored: Any) -> str:
        from deskwork import locales

        return "" if stored is None else locales.current().format(int(stored), 0)


class Sum(Measure):
    """The sum of a money or number column, exact."""

    how = "sum"
    additive = True

    def sql(self, column: str) -> list[str]:
        return [f"sum({column})"]

    def combine(self, parts: Sequence[Parts]) -> Parts:
        found = [int(p[0]) for p in parts if p[0] is not None]
        return (sum(found) if found else None,)

    def value(self, parts: Parts) -> int:
        return int(parts[0] or 0)


class Average(Measure):
    """The average of a money or number column, to its own unit (a cent), rounded half up."""

    how = "average"

    def sql(self, column: str) -> list[str]:
        return [f"sum({column})", f"count({column})"]

    def combine(self, parts: Sequence[Parts]) -> Parts:
        return (sum(int(p[0] or 0) for p in parts), sum(int(p[1] or 0) for p in parts))

    def value(self, parts: Parts) -> int | None:
        total, count = parts
        if not count:
            return None
        return int((Decimal(int(total)) / int(count)).quantize(Decimal(1), ROUND_HALF_UP))


class _Extreme(Measure):
    pick: ClassVar[Any] = min

    def reads(self, f: Field) -> bool:
        return super().reads(f) or isinstance(f, Date | DateTime)

    def sql(self, column: str) -> list[str]:
        return [f"{self.how[:3]}(nullif({column}, ''))"]

    def combine(self, parts: Sequence[Parts]) -> Parts:
        found = [p[0] for p in parts if p[0] is not None]
        return (type(self).pick(found) if found else None,)


class Minimum(_Extreme):
    """The smallest value of a money, number or date column."""

    how = "minimum"
    pick = min


class Maximum(_Extreme):
    """The largest value of a money, number or date column."""

    how = "maximum"
    pick = max


def label(name: str, measure: Measure) -> str:
    """A measure's heading: its own label, else its name in words."""
    return measure.label or name.replace("_", " ").capitalize()
