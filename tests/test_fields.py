"""Field types parse exactly, refuse garbage with a plain message, and show values."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from deskwork import (
    Choice,
    Date,
    DateTime,
    Email,
    File,
    Integer,
    Lookup,
    Money,
    MultiChoice,
    Number,
    Text,
    Tool,
    ToolError,
    Url,
    ValidationError,
    YesNo,
    locales,
)


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
    date = bound(Date(min=dt.date.min, max=dt.date.max), "date")  # every date Python has
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


def test_lookup_takes_the_id_picked_or_else_the_name_typed():
    lookup = bound(Lookup("employees"), "employee")
    picked = MultiDict({"employee": "7", "employee__text": "Ann Okafor"})
    assert lookup.parse(lookup.raw(picked)) == 7
    typed = lookup.parse(lookup.raw(MultiDict({"employee": "", "employee__text": "1"})))
    assert typed == "1" and not isinstance(typed, int)  # a name of digits is still a name
    for garbage in ("seven", "-1", "1.0", "9" * 30, "²", "٣"):
        with pytest.raises(ValidationError, match="from the list"):
            lookup.parse(garbage)


@given(st.text(max_size=30), st.text(max_size=30))
def test_lookup_and_file_garbage_only_ever_raises_a_validation_error(picked, typed):
    lookup = bound(Lookup("employees"), "employee")
    receipt = bound(File(), "receipt")
    for f, raw in ((lookup, lookup.raw(MultiDict({"employee": picked, "employee__text": typed}))),
                   (receipt, picked)):  # fmt: skip
        try:
            value = f.parse(raw)
        except ValidationError:
            continue
        assert value is None or isinstance(value, int | str)


def test_labels_default_to_the_capitalised_field_name():
    assert bound(Text(), "first_name").label == "First name"
    assert bound(Text("Given name"), "first_name").label == "Given name"


def test_defaults_may_be_callables():
    assert bound(Date(default=lambda: dt.date(2026, 1, 2)), "d").default() == dt.date(2026, 1, 2)


# -- numbers in the user's own format ----------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "typed", "cents", "shown"),
    [
        ("en_US.UTF-8", "1,234.56", 123456, "1,234.56"),
        ("de_DE.UTF-8", "1.234,56", 123456, "1.234,56"),
        ("de_DE", "12.5", 1250, "12,50"),  # a lone point that cannot be grouping
        ("fr_FR", "1 234,56", 123456, "1\u202f234,56"),
        ("de_CH", "1\u2019234.50", 123450, "1\u2019234.50"),
        ("C.UTF-8", "1234.5", 123450, "1,234.50"),
    ],
)
def test_money_is_read_and_shown_the_way_the_users_country_writes_it(locale, typed, cents, shown):
    money = bound(Money(), "amount")
    with locales.using(locale):
        assert money.to_db(money.parse(typed)) == cents
        assert money.display(cents) == shown
        assert money.to_db(money.parse(money.form_value(cents))) == cents


@pytest.mark.parametrize("locale", ["en", "de", "fr", "sv", "de_CH", "pt_BR"])
@given(cents=st.integers(min_value=-(10**15), max_value=10**15))
def test_money_round_trips_exactly_in_every_format(locale, cents):
    money = bound(Money(), "amount")
    with locales.using(locale):
        assert money.to_db(money.parse(money.display(cents))) == cents
        assert money.to_db(money.parse(money.form_value(cents))) == cents


@given(
    places=st.integers(min_value=0, max_value=6),
    units=st.integers(min_value=-(10**12), max_value=10**12),
)
def test_decimal_numbers_round_trip_exactly(places, units):
    number = bound(Number(places=places), "weight")
    assert number.to_db(number.parse(number.display(units))) == units
    assert number.from_db(units) == Decimal(units).scaleb(-places)


@given(st.text(max_size=40), st.sampled_from(["en", "de", "fr"]))
def test_number_garbage_only_ever_raises_a_validation_error(text, locale):
    number = bound(Number(places=3), "weight")
    with locales.using(locale):
        try:
            value = number.parse(text)
        except ValidationError as error:
            assert str(error).startswith("Weight ")
        else:
            assert value is None or value == value.quantize(Decimal("0.001"))


@given(
    text=st.from_regex(r"\A[+-]?[0-9]{0,14}([.,][0-9]{0,4})?\Z")
    | st.text("0123456789+-., ", max_size=12),
    places=st.sampled_from([None, 0, 1, 2, 3]),
    locale=st.sampled_from(["en", "de", "fr", "de_CH"]),
)
def test_plain_numbers_are_read_quickly_to_the_same_value_as_the_full_reading(text, places, locale):
    fmt = locales.FORMATS[locale]
    quick = fmt.parse(text, places)
    never = re.compile("(?!)")  # the quick path never taken: the full reading
    with mock.patch.object(locales, "_plain_pattern", lambda decimal, places: never):
        full = fmt.parse(text, places)
    assert quick == full and str(quick) == str(full)


def test_the_quick_reading_takes_only_plain_numbers_with_the_users_decimal_mark():
    assert locales._plain_pattern(".", 2).fullmatch("-1234.56")
    assert locales._plain_pattern(",", 2).fullmatch("1234,56")
    for text in ("1,234.56", "1234.567", "1.234", "12 345", "١٢"):
        assert not locales._plain_pattern(".", 2).fullmatch(text)
    assert not locales._plain_pattern(",", 0).fullmatch("12,5")


def test_numbers_never_pass_through_binary_floating_point():
    money = bound(Money(), "amount")
    assert money.to_db(money.parse("0.29")) == 29  # float("0.29") * 100 == 28.999999999999996
    assert money.parse("0.1") + money.parse("0.2") == Decimal("0.3")


def test_decimal_numbers_keep_their_places_and_limits():
    weight = bound(Number(places=1, min=0, max="99.9"), "weight")
    assert weight.to_db(weight.parse("12.5")) == 125
    with pytest.raises(ValidationError, match="at most one decimal"):
        weight.parse("12.55")
    with pytest.raises(ValidationError, match=r"at most 99\.9"):
        weight.parse("100")


@given(st.dates(), st.times())
def test_date_times_round_trip_to_the_minute(day, time):
    at = bound(DateTime(min=dt.datetime.min, max=dt.datetime.max), "at")
    moment = dt.datetime.combine(day, time).replace(second=0, microsecond=0)
    assert at.parse(at.form_value(at.to_db(moment))) == moment
    assert at.parse(at.display(at.to_db(moment))) == moment


@given(st.text(max_size=30))
def test_date_garbage_only_ever_raises_a_validation_error(text):
    for f in (bound(Date(), "day"), bound(DateTime(), "at")):
        try:
            value = f.parse(text)
        except ValidationError:
            continue
        assert value is None or f.parse(f.form_value(f.to_db(value))) == value


def test_dates_keep_to_their_limits():
    day = bound(Date(min="2026-01-01", max=dt.date(2026, 12, 31)), "day")
    assert day.input_attrs()["min"] == "2026-01-01"
    with pytest.raises(ValidationError, match="at least 2026-01-01"):
        day.parse("2025-12-31")
    with pytest.raises(ValidationError, match="at most 2026-12-31"):
        day.parse("2027-01-01")


def test_dates_have_sane_bounds_unless_the_tool_gives_others():
    day, at = bound(Date(), "day"), bound(DateTime(), "at")
    with pytest.raises(ValidationError, match=r"at least 1900-01-01\. Check the year\."):
        day.parse("0001-01-01")
    with pytest.raises(ValidationError, match=r"at most 2200-12-31 23:59\. Check the year\."):
        at.parse("9999-12-31T23:59")
    assert at.parse("2200-12-31T23:59") == dt.datetime(2200, 12, 31, 23, 59)
    assert day.input_attrs()["min"] == "1900-01-01"
    assert bound(Date(min="0001-01-01"), "day").parse("0001-01-01") == dt.date(1, 1, 1)
    with pytest.raises(ToolError, match="give both"):
        Date(max="1850-12-31")


# -- choosing ----------------------------------------------------------------------------------


def test_yes_no_is_a_tick_box_stored_as_one_or_zero():
    paid = bound(YesNo(), "paid")
    assert paid.to_db(paid.parse("on")) == 1
    assert paid.to_db(paid.parse(None)) == 0  # an unticked box sends nothing
    assert paid.display(1) == "Yes" and paid.display(0) == "No"
    with pytest.raises(ValidationError, match="must be ticked"):
        bound(YesNo(required=True), "agree").parse(None)
    with pytest.raises(ValidationError, match="yes or no"):
        paid.parse("maybe")
    # A workbook's TRUE and FALSE cells, and its numbers 1 and 0, are yes and no.
    assert [paid.parse(v) for v in (True, False, 1, 0, 1.0)] == [True, False, True, False, True]
    with pytest.raises(ValidationError, match="yes or no"):
        paid.parse(2)


def test_choices_may_store_a_code_and_show_a_label():
    size = bound(Choice([("s", "Small"), ("l", "Large")]), "size")
    assert size.parse("l") == "l"
    assert size.display("l") == "Large"
    with pytest.raises(ValidationError, match="one of: Small, Large"):
        size.parse("Large")


def test_several_choices_are_stored_in_list_order_as_json():
    tags = bound(MultiChoice(["Billable", "Urgent", "Later"], max_choices=2), "tags")
    form = MultiDict([("tags", "Urgent"), ("tags", "Billable")])
    stored = tags.to_db(tags.parse(tags.raw(form)))
    assert stored == '["Billable", "Urgent"]'
    assert tags.display(stored) == "Billable, Urgent"
    assert tags.to_db(tags.parse(tags.raw(MultiDict()))) is None
    with pytest.raises(ValidationError, match="at most 2"):
        tags.parse(["Billable", "Urgent", "Later"])
    with pytest.raises(ValidationError, match="may only hold"):
        tags.parse(["Yachts"])
    with pytest.raises(ValidationError, match="Tags is required"):
        bound(MultiChoice(["a"], required=True), "tags").parse([])


# -- text rules --------------------------------------------------------------------------------


def test_patterns_are_explained_in_the_users_words():
    code = bound(Text(pattern=r"[A-Z]{2}-\d{4}", pattern_help="like AB-1234"), "code")
    assert code.parse("XY-2026") == "XY-2026"
    assert code.input_attrs()["pattern"] == r"[A-Z]{2}-\d{4}"
    with pytest.raises(ValidationError, match=r"^Code must be written like AB-1234\.$"):
        code.parse("xy-2026")


def test_minimum_length_is_checked_and_hinted():
    code = bound(Text(min_length=3), "code")
    assert code.input_attrs()["minlength"] == "3"
    with pytest.raises(ValidationError, match="at least 3 characters"):
        code.parse("ab")


def test_web_addresses_need_http_and_a_host():
    link = bound(Url(), "link")
    assert link.parse("example.com/a") == "https://example.com/a"
    assert link.parse("http://intranet.local:8080/x") == "http://intranet.local:8080/x"
    for bad in ("javascript:alert(1)", "ftp://example.com", "http://", "http://[::1", "a b"):
        with pytest.raises(ValidationError, match="web address"):
            link.parse(bad)


def test_custom_validators_speak_for_themselves():
    def even(value):
        return None if value % 2 == 0 else "Pairs must be an even number."

    pairs = bound(Integer(validate=[even]), "pairs")
    assert pairs.parse("4") == 4
    with pytest.raises(ValidationError, match=r"^Pairs must be an even number\.$"):
        pairs.parse("3")


def test_files_are_checked_for_size_and_kind():
    receipt = bound(File(max_size=1000, accept=["pdf", ".PNG"]), "receipt")
    assert receipt.accept == [".pdf", ".png"]
    assert receipt.input_attrs()["accept"] == ".pdf,.png"
    receipt.check_upload("scan.PNG", 999)
    with pytest.raises(ValidationError, match=r"too large: 1\.0 KB; at most 1000 bytes"):
        receipt.check_upload("scan.pdf", 1024)
    with pytest.raises(ValidationError, match=r"must be a \.pdf or \.png file"):
        receipt.check_upload("scan.exe", 10)
    with pytest.raises(ValidationError, match="is empty"):
        receipt.check_upload("scan.pdf", 0)


def test_a_field_declared_wrongly_fails_at_once():
    with pytest.raises(ToolError, match="not a regular expression"):
        Text(pattern="[")
    with pytest.raises(ToolError, match="min 5 is above max 1"):
        Integer(min=5, max=1)
    with pytest.raises(ToolError, match="places must be between"):
        Number(places=12)
    shared = Text()
    Tool("T").table("a", name=shared)
    with pytest.raises(ToolError, match="a field of its own"):
        Tool("T").table("b", title=shared)


@pytest.mark.parametrize(
    ("locale", "typed", "cents"),
    [("de", "0.125", None), ("de", "0,125", None), ("en", "0,125", None), ("de", "0.12", 12),
     ("de_CH", "1'234.50", 123450), ("fr", "1 234,5", 123450)],
)  # fmt: skip
def test_grouping_is_never_mistaken_for_decimals(locale, typed, cents):
    money = bound(Money(), "amount")
    with locales.using(locale):
        if cents is None:
            with pytest.raises(ValidationError):
                money.parse(typed)
        else:
            assert money.to_db(money.parse(typed)) == cents


def test_date_limits_that_are_not_dates_fail_when_declared():
    with pytest.raises(ToolError, match="min/max 'soon'"):
        DateTime(min="soon")


def test_whoever_installs_the_tool_can_set_how_numbers_are_written():
    assert locales.chosen_locale(None, None, "fr_FR.UTF-8") == "fr_FR.UTF-8"
    assert locales.chosen_locale(None, "de_DE", "fr_FR.UTF-8") == "de_DE"
    assert locales.chosen_locale("en_GB", "de_DE", "fr_FR.UTF-8") == "en_GB"
