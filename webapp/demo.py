"""Expenses: the demo tool that ``deskwork demo`` opens.

It is also the example a tool author reads first: everything a tool declares is here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from deskwork import (
    Average,
    Choice,
    Count,
    Date,
    DateTime,
    Email,
    File,
    Integer,
    LongText,
    Lookup,
    Money,
    MultiChoice,
    Number,
    Sum,
    Text,
    Tool,
    Url,
    YesNo,
)
from deskwork.errors import ValidationError

if TYPE_CHECKING:
    import sqlite_utils

CATEGORIES = ["Travel", "Meals", "Office", "Software", "Hardware", "Training", "Other"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "Operations", "Support"]
TAGS = ["Billable", "Urgent", "Needs approval"]
CENT = Decimal("0.01")
RECEIPT_NEEDED_OVER = Decimal("1000")

tool = Tool("Expenses")

employees = tool.table(
    "employees",
    name=Text(required=True, max_length=100),
    department=Choice(DEPARTMENTS),
    email=Email(unique=True),
    staff_number=Integer(unique=True, min=1, max=99_999),
    phone=Text(pattern=r"\+?[0-9][0-9 ()-]{5,19}", pattern_help="like +44 20 7946 0000"),
)


def not_in_the_future(day: dt.date) -> str | None:
    if day > dt.date.today():
        return "Date can't be in the future: enter the day the money was spent."
    return None


def vat_included(values: Mapping[str, Any]) -> Decimal | None:
    """The VAT inside an amount at 20%: a sixth of it, to the cent."""
    amount = values.get("amount")
    return None if amount is None else (amount / 6).quantize(CENT, ROUND_HALF_UP)


def receipts_for_large_hardware(values: Mapping[str, Any]) -> dict[str, str]:
    if (
        values.get("category") == "Hardware"
        and (values.get("amount") or 0) > RECEIPT_NEEDED_OVER
        and values.get("receipt") is None
    ):
        return {"receipt": "Hardware over 1,000.00 needs a receipt: attach it here."}
    return {}


expenses = tool.table(
    "expenses",
    date=Date(required=True, default=dt.date.today, validate=not_in_the_future),
    amount=Money(required=True, min="0.01", max="1000000"),
    category=Choice(CATEGORIES, required=True),
    employee=Lookup(employees, required=True, show="name"),
    note=Text(max_length=500),
    tags=MultiChoice(TAGS),
    paid_by_card=YesNo("Paid with the company card"),
    receipt=File(max_size=5 * 1024 * 1024, accept=[".pdf", ".png", ".jpg", ".jpeg"]),
    booking_link=Url(help="Where it was booked or bought, if online."),
    details=LongText(max_length=2000),
    submitted_at=DateTime(default=lambda: dt.datetime.now().replace(second=0, microsecond=0)),
    vat=Money("VAT included (20%)", compute=vat_included),
)

tool.form("New expense", expenses, after="expenses", check=receipts_for_large_hardware)
expenses_page = tool.table_page(
    "Expenses",
    expenses,
    order="-date",
    search=["note", "category"],
    columns=["date", "amount", "category", "employee", "note"],
)
tool.table_view(
    "This month's travel", expenses_page, filters={"category": "Travel", "date": "this-month"}
)


by_category = tool.table_report(
    "Spending by category",
    expenses_page,
    by="category",
    values={"total": Sum("amount"), "expenses": Count(), "average": Average("amount")},
    dates="date",
    period="this-year",
    params=["employee"],
    sort="-total",
)
monthly = tool.table_report(
    "Monthly spending",
    expenses_page,
    by=("date.month", "category"),
    values={"total": Sum("amount"), "expenses": Count()},
    dates="date",
    period="last-12-months",
    params=["category"],
    chart="stacked",
)


tool.dashboard(
    expenses_page,
    dates="date",
    period="this-month",
    headlines={
        "spent": Sum("amount", label="Spent"),
        "expenses": Count(label="Expenses"),
        "average": Average("amount", label="Average expense"),
    },
    charts=[by_category, monthly],
)


@tool.report(
    "Largest expenses",
    params={
        "start": Date("From"),
        "end": Date("To"),
        "top": Integer("How many", default=20, min=1, max=500),
    },
    columns={
        "date": Date("Date"),
        "employee": Text("Employee"),
        "category": Text("Category"),
        "amount": Money("Amount"),
    },
    total=["amount"],
)
def largest_expenses(
    db: sqlite_utils.Database, start: dt.date | None, end: dt.date | None, top: int | None
) -> Iterator[dict[str, Any]]:
    """SQL of your own, for what a declared report can't say: the largest expenses."""
    sql = """
        SELECT e.date, m.name AS employee, e.category, e.amount FROM expenses e
        LEFT JOIN employees m ON m.id = e.employee
        WHERE (:start IS NULL OR e.date >= :start) AND (:end IS NULL OR e.date <= :end)
        ORDER BY e.amount DESC LIMIT :top
    """
    params = {"start": start and start.isoformat(), "end": end and end.isoformat(),
              "top": top or 20}  # fmt: skip
    return db.query(sql, params)


PER_KM = Decimal("0.35")
PER_NIGHT = Decimal("120.00")


@tool.function_form(
    "Reimbursement estimate",
    params={
        "distance": Number(
            "Distance in km",
            places=1,
            min=0,
            max=20_000,
            required=True,
            help="Mileage is paid at 0.35 a km.",
        ),
        "nights": Integer("Nights away", min=0, max=90, help="120.00 a night for hotel and meals."),
    },
    result=Money("Estimated reimbursement"),
    button="Estimate",
)
def reimbursement_estimate(distance: Decimal, nights: int = 0) -> Decimal:
    """Mileage at 0.35 a km plus 120.00 a night for hotel and meals."""
    if distance == 0 and nights == 0:
        raise ValidationError("Enter a distance or a number of nights to estimate.")
    return distance * PER_KM + nights * PER_NIGHT


tool.form("New employee", employees, after="employees")
tool.table_page("Employees", employees, order="name", search=["name", "department"])


# -- sample data for a first run -----------------------------------------------------------

FIRST = ["Ada", "Ben", "Chloé", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jun"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Patel", "Nakamura"]
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
            "staff_number": 1001 + i,
            "phone": f"+44 20 7946 {i:04d}",
        }
        for i in range(50)
    ]
    db.table("employees").insert_all(people)
    today = dt.date.today()

    def rows() -> Iterator[dict[str, Any]]:
        for _ in range(10_000):
            category = rng.choice(CATEGORIES)
            day = today - dt.timedelta(days=rng.randrange(3 * 365))
            cents = rng.randrange(100, 150_000 if category == "Hardware" else 40_000)
            tags = [t for t in TAGS if rng.random() < 0.15]
            at = f"{day.isoformat()} {rng.randrange(8, 19):02d}:{rng.randrange(60):02d}"
            yield {
                "date": day.isoformat(),
                "amount": cents,
                "category": category,
                "employee": rng.randrange(1, 51),
                "note": rng.choice(NOTES[category]),
                "tags": json.dumps(tags) if tags else None,
                "paid_by_card": int(rng.random() < 0.6),
                "submitted_at": at,
                "vat": vat_field.to_db(vat_included({"amount": money.from_db(cents)})),
            }

    money, vat_field = expenses.fields["amount"], expenses.fields["vat"]
    db.table("expenses").insert_all(rows(), batch_size=1000)
