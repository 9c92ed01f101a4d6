"""Expenses: the demo tool that ``deskwork demo`` opens.

It is also the example a tool author reads first: everything a tool declares is here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from webapp import Choice, Date, Email, Lookup, Money, Text, Tool

CATEGORIES = ["Travel", "Meals", "Office", "Software", "Hardware", "Training", "Other"]

tool = Tool("Expenses")

employees = tool.table(
    "employees",
    name=Text(required=True),
    department=Text(),
    email=Email(),
)

expenses = tool.table(
    "expenses",
    date=Date(required=True, default=dt.date.today),
    amount=Money(required=True, min="0.01", max="1000000"),
    category=Choice(CATEGORIES, required=True),
    employee=Lookup(employees, required=True, show="name"),
    note=Text(max_length=500),
)

tool.form("New expense", expenses, after="expenses")
tool.table_page("Expenses", expenses, order="-date", search=["note", "category"])


def _year_ago() -> dt.date:
    return dt.date.today() - dt.timedelta(days=365)


@tool.report(
    "Spending by category",
    params={"start": Date("From", default=_year_ago), "end": Date("To", default=dt.date.today)},
    columns={"category": Text("Category"), "total": Money("Total")},
    chart=("category", "total"),
    total=["total"],
)
def spending_by_category(
    db: sqlite_utils.Database, start: dt.date | None, end: dt.date | None
) -> Iterator[dict[str, Any]]:
    sql = """
        SELECT category, sum(amount) AS total FROM expenses
        WHERE (:start IS NULL OR date >= :start) AND (:end IS NULL OR date <= :end)
        GROUP BY category ORDER BY total DESC
    """
    params = {"start": start and start.isoformat(), "end": end and end.isoformat()}
    return db.query(sql, params)


# -- sample data for a first run -----------------------------------------------------------

FIRST = ["Ada", "Ben", "Chloé", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jun"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Patel", "Nakamura"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "Operations", "Support"]
NOTES = {
    "Travel": ["Train to client", "Taxi from airport", "Flight to conference", "Hotel parking"],
    "Meals": ["Team lunch", "Client dinner", "Coffee with candidate", "Working breakfast"],
    "Office": ["Printer paper", "Desk lamp", "Whiteboard markers", "Postage"],
    "Software": ["Design tool licence", "Cloud backup", "Password manager", "IDE renewal"],
    "Hardware": ["Laptop charger", "Monitor", "USB-C dock", "Keyboard"],
    "Training": ["Online course", "Workshop ticket", "Technical book", "Certification exam"],
    "Other": ["Gift for client", "Charity raffle", "Conference swag", "Misc."],
}


@tool.seed
def sample_data(db: sqlite_utils.Database) -> None:
    """50 employees and 10,000 expenses over the last three years, the same every time."""
    rng = random.Random(2026)
    people = [
        {
            "id": i + 1,
            "name": f"{FIRST[i % 10]} {LAST[i // 10]}",
            "department": DEPARTMENTS[i % 5],
            "email": f"{FIRST[i % 10].lower().replace('é', 'e')}.{LAST[i // 10].lower()}"
            "@example.com",
        }
        for i in range(50)
    ]
    db.table("employees").insert_all(people)
    today = dt.date.today()

    def rows() -> Iterator[dict[str, Any]]:
        for _ in range(10_000):
            category = rng.choice(CATEGORIES)
            yield {
                "date": (today - dt.timedelta(days=rng.randrange(3 * 365))).isoformat(),
                "amount": rng.randrange(100, 150_000 if category == "Hardware" else 40_000),
                "category": category,
                "employee": rng.randrange(1, 51),
                "note": rng.choice(NOTES[category]),
            }

    db.table("expenses").insert_all(rows(), batch_size=1000)
