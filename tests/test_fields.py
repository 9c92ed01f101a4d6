"""Field types parse exactly, refuse garbage with a plain message, and show values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp import Choice, Date, Email, Integer, Lookup, Money, Text, ValidationError


def bound(field, name="thing"):
    field.bind(name)
    return field


def test_money_is_stored_as_exact_cents():
    money = bound(Money(), "amount")
    assert money.to_db(money.parse("0.10")) == 10
    assert money.to_db(money.parse("1,234.5")) == 123450
    assert money.to_db(money.parse("$19.99")) == 1999
    assert money.display(123450) == "1,234.50"
    assert money.form_value(5) == "0.05"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_money_round_trips_every_amount_of_cents(cents):
    money = bound(Money(), "amount")
    assert money.to_db(money.parse(money.form_value(cents))) == cents
    assert money.to_db(money.parse(money.display(cents))) == cents


@given(st.text(max_size=40))
def test_money_garbage_only_ever_raises_a_validation_error(text):
    money = bound(Money(), "amount")
    try:
        value = money.parse(text)
    except ValidationError as error:
        assert "Amount" in str(error)
    else:
        assert value is None or value == value.quantize(Decimal("0.01"))


@pytest.mark.parametrize("text", ["12.345", "1e3", "NaN", "12,34", "abc", "1.2.3", "--1"])
def test_money_refuses_what_is_not_an_amount_in_cents(text):
    with pytest.raises(ValidationError, match="at most two decimals"):
        bound(Money(), "amount").parse(text)


def test_money_limits_are_checked():
    money = bound(Money(min="0.01", max="100"), "amount")
    with pytest.raises(ValidationError, match=r"at least 0\.01"):
        money.parse("0")
    with pytest.raises(ValidationError, match=r"at most 100\.00"):
        money.parse("100.01")


def test_required_fields_refuse_blank_input():
    with pytest.raises(ValidationError, match=r"Name is required\."):
        bound(Text(required=True), "name").parse("   ")
    assert bound(Text(), "name").parse("") is None


def test_text_length_is_limited():
    with pytest.raises(ValidationError, match="at most 5 characters"):
        bound(Text(max_length=5), "code").parse("abcdef")


@given(st.dates())
def test_dates_round_trip(day):
    date = bound(Date(), "date")
    assert date.parse(date.display(date.to_db(day))) == day


def test_dates_refuse_impossible_days():
    with pytest.raises(ValidationError, match="must be a date"):
        bound(Date(), "date").parse("2026-02-30")


def test_choices_accept_only_their_values():
    choice = bound(Choice(["Travel", "Meals"]), "category")
    assert choice.parse("Meals") == "Meals"
    with pytest.raises(ValidationError, match="one of: Travel, Meals"):
        choice.parse("Yachts")


def test_email_needs_an_address():
    email = bound(Email(), "email")
    assert email.parse("ann@example.com") == "ann@example.com"
    with pytest.raises(ValidationError, match="email address"):
        email.parse("ann at example")


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_integers_round_trip(number):
    assert bound(Integer(), "count").parse(str(number)) == number


def test_integer_limits_and_garbage():
    count = bound(Integer(min=1, max=10), "count")
    with pytest.raises(ValidationError, match="at least 1"):
        count.parse("0")
    with pytest.raises(ValidationError, match="whole number"):
        count.parse("1.5")


def test_lookup_takes_a_row_id_only():
    lookup = bound(Lookup("employees"), "employee")
    assert lookup.parse("7") == 7
    for garbage in ("seven", "-1", "1.0", "9" * 30):
        with pytest.raises(ValidationError, match="from the list"):
            lookup.parse(garbage)


def test_labels_default_to_the_capitalised_field_name():
    assert bound(Text(), "first_name").label == "First name"
    assert bound(Text("Given name"), "first_name").label == "Given name"


def test_defaults_may_be_callables():
    assert bound(Date(default=lambda: dt.date(2026, 1, 2)), "d").default() == dt.date(2026, 1, 2)
