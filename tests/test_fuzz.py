"""Property tests: anything typed into every field of the forms of the tests' tool
(``fixture_tool``), new and edited, through the test client: never a 500, and never a
partial write.

Each example fills every field with something plausible, except a few (chosen by
Hypothesis) that get anything at all: text of any characters (control characters
included), numbers too large for SQLite, digits of other scripts, far-off dates, files of
any name and content. A refused form must write nothing; an accepted one must write exactly
one row (or change exactly the one edited) whose values are what its fields parse the typed
text to. Run with ``-s`` to see how many examples were tried and rows written.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from conftest import add_employee, text
from deskwork import locales
from deskwork.db import attachments
from deskwork.db.tokens import TABLE as ONCE
from deskwork.fields import (
    Choice,
    Date,
    DateTime,
    Email,
    Field,
    File,
    Integer,
    Lookup,
    MultiChoice,
    Number,
    Text,
    Url,
    YesNo,
)
from deskwork.fields.choices import TypedName
from deskwork.model import FormPage
from deskwork.testing import tool_client
from fixture_tool import tool

FORMS = {p.slug: p for p in tool.pages.values() if isinstance(p, FormPage)}
EXERCISED: Counter[str] = Counter()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NASTY = ["", " ", "\x00", "a\x00b", "\x1b[2J", "\u202e", "\ufeff", "\u3000", "0", "-0", "+1",
         "1e400", "NaN", "Infinity", "9" * 19, "9" * 400, "-9223372036854775809",
         "9223372036854775808", "١٢٣", "１２３", "१२३", "²", "0001-01-01", "9999-12-31",
         "9999-12-31T23:59", "2026-02-30", "' OR 1=1 --", '"); DROP TABLE expenses; --',
         "<script>alert(1)</script>", "{{ 7 * 7 }}", "%s%n", "x" * 5000, "1,234.56",
         "1.234,56", "employee", "Ann Okafor"]  # fmt: skip
SCRIPTS = [str.maketrans("0123456789", digits) for digits in
           ("0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९")]  # fmt: skip

#: What full-text search reads as syntax (and a NUL, which ends its query), among letters.
SEARCH_SYNTAX = "\x00\x01\"'*^:()-+. NEARANDORNOTaé"

Entries = dict[str, Any]


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The tests' tool on its own database for the whole module, one employee to look up."""
    client = tool_client(tool, tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3")
    add_employee(client, name="Ann Okafor", email="ann@example.com", staff_number=1)
    yield client
    print(
        "\nfuzzed the tests' tool's forms: "
        + ", ".join(f"{what} {count}" for what, count in sorted(EXERCISED.items()))
    )


# -- what goes into a field ---------------------------------------------------------------------


def anything(f: Field) -> st.SearchStrategy[Entries]:
    """Any input at all for ``f``, as the form entries it sends."""
    wild = st.one_of(
        st.text(),
        st.sampled_from(NASTY),
        st.integers(-(2**80), 2**80).map(str),
        st.text(st.characters(codec="utf-8"), min_size=200, max_size=3000),
    )
    name = f.name
    if isinstance(f, File):
        upload = st.builds(
            lambda filename, data: FileStorage(io.BytesIO(data), filename, content_type="x/y"),
            st.text(max_size=300),
            st.binary(max_size=2048),
        )
        return st.one_of(st.none(), upload).map(lambda u: {} if u is None else {name: u})
    if isinstance(f, MultiChoice):
        return st.lists(wild, max_size=4).map(lambda values: {name: values})
    if isinstance(f, Lookup):
        return st.builds(lambda i, t: {name: i, f"{name}__text": t}, wild, wild)
    return wild.map(lambda value: {name: value})


def plausible(f: Field, fmt: locales.NumberFormat) -> st.SearchStrategy[Entries]:
    """What a person would type into ``f`` (still refused at times: a date in the future, a
    taken address, a required field left blank)."""
    name = f.name

    def written(places: int) -> Any:
        return lambda pair: fmt.format(pair[0], places, grouping=pair[1]).translate(pair[2])

    one: st.SearchStrategy[Any]
    if isinstance(f, File):
        upload = st.builds(
            lambda ending, data: FileStorage(io.BytesIO(data), f"receipt{ending}", "image/png"),
            st.sampled_from(f.accept),
            st.binary(min_size=1, max_size=4096),
        )
        return st.one_of(st.none(), upload).map(lambda u: {} if u is None else {name: u})
    if isinstance(f, MultiChoice):
        return st.lists(st.sampled_from(f.choices), unique=True).map(lambda v: {name: v})
    if isinstance(f, Lookup):
        return st.just({name: "1"})
    if isinstance(f, YesNo):
        return st.sampled_from([{}, {name: "on"}])
    if isinstance(f, Choice):
        one = st.sampled_from(f.choices)
    elif isinstance(f, DateTime):
        one = st.datetimes(f.min, f.max).map(lambda at: at.isoformat(timespec="minutes"))
    elif isinstance(f, Date):
        latest = min(f.max, dt.date.today())
        one = st.tuples(st.dates(f.min, latest).map(dt.date.isoformat), st.sampled_from(SCRIPTS))
        one = one.map(lambda pair: pair[0].translate(pair[1]))
    elif isinstance(f, Number):
        low = f.min if f.min is not None else Decimal(-(10**12))
        high = f.max if f.max is not None else Decimal(10**12)
        amounts = st.decimals(low, high, places=f.places, allow_nan=False, allow_infinity=False)
        one = st.tuples(amounts, st.booleans(), st.sampled_from(SCRIPTS)).map(written(f.places))
    elif isinstance(f, Integer):
        low = f.min if f.min is not None else -(10**17)
        high = f.max if f.max is not None else 10**17
        one = st.tuples(st.integers(low, high), st.booleans(), st.sampled_from(SCRIPTS))
        one = one.map(written(0))
    elif isinstance(f, Email):
        one = st.emails()
    elif isinstance(f, Url):
        one = st.from_regex(r"(https?://)?[a-z0-9]{1,20}\.[a-z]{2,6}(/[A-Za-z0-9_-]{0,20}){0,3}",
                            fullmatch=True)  # fmt: skip
    elif isinstance(f, Text) and f.pattern is not None:
        one = st.from_regex(f.pattern, fullmatch=True)
    elif isinstance(f, Text):
        letters = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
        if f.kept_controls:
            letters = st.one_of(letters, st.sampled_from(f.kept_controls))
        one = st.text(letters, max_size=min(f.max_length, 600))
    else:  # pragma: no cover - a field kind this test does not know yet
        raise AssertionError(f"no plausible input for {f!r}: teach test_fuzz.py")
    return one.map(lambda value: {name: value})


@st.composite
def submissions(draw: Any, page: FormPage, fmt: locales.NumberFormat) -> Entries:
    """A whole form: a few fields get anything, the others something plausible."""
    fields = page.table.editable
    wild = draw(st.sets(st.sampled_from(sorted(fields)), max_size=3))
    entries: Entries = {}
    for name, f in fields.items():
        entries.update(draw(anything(f) if name in wild else plausible(f, fmt)))
    return entries


# -- what must follow ---------------------------------------------------------------------------


def sane_upload(upload: FileStorage) -> bool:
    """An upload whose name a browser could send as it is (none breaks the form's encoding)."""
    name = upload.filename or ""
    return bool(name) and not re.search(r'[\x00-\x1f\x7f"\\]', name)


def read_back(client: Any, page: FormPage, record_id: int) -> dict[str, Any]:
    with client.application.extensions["deskwork.storage"].open() as db:
        return dict(db.table(page.table.name).get(record_id))


def counts(client: Any, page: FormPage) -> tuple[int, int]:
    with client.application.extensions["deskwork.storage"].open() as db:
        return db.table(page.table.name).count, db.table(ONCE).count


def expected_values(client: Any, page: FormPage, entries: Entries) -> dict[str, Any]:
    """What each field parses the entries of a saved form to, as stored (a field refusing
    what was saved fails the test)."""
    form = MultiDict(
        [(k, v) for k, vs in entries.items() for v in (vs if isinstance(vs, list) else [vs])]
    )
    values: dict[str, Any] = {}
    python: dict[str, Any] = {}
    with locales.using(locales.for_locale(client.application.config["DESKWORK_LOCALE"])):
        for name, f in page.table.editable.items():
            if isinstance(f, File):
                continue
            value = f.parse(f.raw(form))
            if isinstance(value, TypedName):
                continue  # which row a name means is the database's to say: not compared
            python[name] = value
            values[name] = f.to_db(value)
        for name, f in page.table.fields.items():
            if f.compute is not None:
                values[name] = f.to_db(f.compute(python))
    return values


def check_saved(client: Any, page: FormPage, entries: Entries, row: dict[str, Any],
                before: dict[str, Any] | None) -> None:  # fmt: skip
    """The row holds what the form's fields parse the entries to, files included."""
    uploads = {k: v for k, v in entries.items() if isinstance(v, FileStorage)}
    if any(not sane_upload(u) for u in uploads.values()):
        return  # the form's encoding was broken on purpose: only "no 500, no half write"
    expected = expected_values(client, page, entries)
    for name, value in expected.items():
        assert row[name] == value, (name, entries.get(name), row[name], value)
    for name in page.table.files():
        upload = uploads.get(name)
        if upload is None:
            assert row[name] == (None if before is None else before[name])
            continue
        with client.application.extensions["deskwork.storage"].open() as db:
            found = attachments.read(db, row[name])
        upload.stream.seek(0)
        assert found is not None and found[1] == upload.stream.read()
        EXERCISED["files attached"] += 1


def send(client: Any, url: str, entries: Entries, hidden: dict[str, str]) -> Any:
    for upload in entries.values():
        if isinstance(upload, FileStorage):
            upload.stream.seek(0)
    boundary, body = encode_multipart(MultiDict({**entries, **hidden}))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def hidden_value(page_text: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page_text)
    assert found, f"no {name} in the form"
    return found[1]


# -- the properties -----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", sorted(FORMS))
@FUZZ
@given(data=st.data())
def test_a_new_record_form_never_errors_and_never_half_saves(fuzz_client, slug, data):
    page = FORMS[slug]
    fmt = locales.for_locale(fuzz_client.application.config["DESKWORK_LOCALE"])
    entries = data.draw(submissions(page, fmt))
    once = hidden_value(text(fuzz_client.get(f"/forms/{slug}")), "_once")
    rows_before, tokens_before = counts(fuzz_client, page)

    response = send(fuzz_client, f"/forms/{slug}", entries, {"_once": once})

    assert response.status_code in (303, 400), text(response)[:2000]
    rows_after, tokens_after = counts(fuzz_client, page)
    EXERCISED[f"new {slug}"] += 1
    if response.status_code == 400:
        assert (rows_after, tokens_after) == (rows_before, tokens_before)
        EXERCISED["refused, nothing written"] += 1
        return
    assert (rows_after, tokens_after) == (rows_before + 1, tokens_before + 1)
    EXERCISED["rows written"] += 1
    with fuzz_client.application.extensions["deskwork.storage"].open() as db:
        record_id = db.execute(f"SELECT max(id) FROM [{page.table.name}]").fetchone()[0]
    check_saved(fuzz_client, page, entries, read_back(fuzz_client, page, record_id), None)
    assert fuzz_client.get(f"/forms/{slug}/{record_id}").status_code == 200
    assert fuzz_client.get(response.location).status_code == 200


@pytest.mark.parametrize("slug", sorted(FORMS))
@FUZZ
@given(data=st.data())
def test_an_edit_never_errors_and_never_half_saves(fuzz_client, slug, data):
    page = FORMS[slug]
    fmt = locales.for_locale(fuzz_client.application.config["DESKWORK_LOCALE"])
    entries = data.draw(submissions(page, fmt))
    with fuzz_client.application.extensions["deskwork.storage"].open() as db:
        record_id = db.execute(f"SELECT min(id) FROM [{page.table.name}]").fetchone()[0]
    if record_id is None:  # no expense saved yet: one from plain values
        with fuzz_client.application.extensions["deskwork.storage"].open() as db, db.conn:
            plain = {"date": "2026-01-02", "amount": 100, "category": "Meals", "employee": 1}
            record_id = db.table(page.table.name).insert(plain).last_pk
    url = f"/forms/{slug}/{record_id}"
    version = hidden_value(text(fuzz_client.get(url)), "_version")
    before = read_back(fuzz_client, page, record_id)
    rows_before = counts(fuzz_client, page)

    response = send(fuzz_client, url, entries, {"_version": version})

    assert response.status_code in (303, 400), text(response)[:2000]
    assert counts(fuzz_client, page) == rows_before
    after = read_back(fuzz_client, page, record_id)
    EXERCISED[f"edit {slug}"] += 1
    if response.status_code == 400:
        assert after == before
        EXERCISED["refused, nothing written"] += 1
        return
    EXERCISED["rows changed"] += 1
    check_saved(fuzz_client, page, entries, after, before)
    assert fuzz_client.get(url).status_code == 200


@FUZZ
@given(
    q=st.one_of(st.text(), st.sampled_from(NASTY), st.text(SEARCH_SYNTAX)),
    offset=st.one_of(st.text(max_size=30), st.integers(-(2**70), 2**70).map(str)),
    start=st.one_of(st.text(max_size=40), st.sampled_from(NASTY)),
    end=st.one_of(st.text(max_size=40), st.dates().map(dt.date.isoformat)),
    distance=st.one_of(st.text(max_size=40), st.sampled_from(NASTY)),
    nights=st.one_of(st.text(max_size=40), st.integers(-(2**70), 2**70).map(str)),
)
@example(q="a\x00b", offset="9" * 30, start="0001-01-01", end="\x00", distance="9" * 400,
         nights="-" + "9" * 20)  # fmt: skip
def test_searches_and_parameters_never_error(fuzz_client, q, offset, start, end, distance, nights):
    asked = {
        "/tables/expenses": {"q": q, "offset": offset},
        "/tables/employees": {"q": q, "offset": offset},
        "/lookups/employees/name": {"q": q},
        "/lookups/employees/id": {"q": q},
        "/reports/spending-by-category": {"start": start, "end": end},
        "/functions/reimbursement-estimate": {"_run": "1", "distance": distance, "nights": nights},
        "/forms/new-expense": {"copy": offset},
    }
    for url, args in asked.items():
        response = fuzz_client.get(url, query_string=args)
        assert response.status_code < 500, (url, args)
        EXERCISED["addresses asked"] += 1
