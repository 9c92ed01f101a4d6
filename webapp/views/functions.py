"""Forms bound to a function: the fields are its arguments, its result shows below."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Blueprint, render_template, request

from deskwork import once as tokens
from deskwork.db import records
from deskwork.errors import ValidationError
from deskwork.fields import Field, Number
from deskwork.model import FunctionPage
from deskwork.views import find_page, get_db
from deskwork.views.reports import parse_params, rows_chart, show
from deskwork.views.widgets import controls

bp = Blueprint("functions", __name__)
log = logging.getLogger("deskwork")

RUN = "_run"


def to_stored(f: Field | None, value: Any) -> Any:
    """A value the function returned, as ``f`` stores it (so ``f.display`` can show it).

    Numbers are rounded half up to the field's decimals, as people round money.
    """
    if f is None or value is None:
        return value
    if isinstance(f, Number):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = Decimal(str(value))
        if isinstance(value, Decimal):
            value = value.quantize(Decimal(1).scaleb(-f.places), rounding=ROUND_HALF_UP)
    return f.to_db(value)


def shape(result: Any) -> tuple[str, Any]:
    """What kind of result the function gave: a value, rows, or named values."""
    if isinstance(result, Mapping):
        return "pairs", list(result.items())
    if isinstance(result, Iterable) and not isinstance(result, str | bytes):
        rows = [dict(r) for r in result]
        return "rows", rows
    return "value", result


@bp.route("/functions/<slug>", methods=["GET", "POST"], endpoint="run")
def run(slug: str) -> str | tuple[str, int]:
    page: FunctionPage = find_page(slug, FunctionPage)
    # A function that gets the database may write to it, so it runs only on POST, where
    # the origin checks apply; a pure calculation runs on GET and can be bookmarked.
    sent = request.form if page.wants_db else request.args
    asked = RUN in sent and (request.method == "POST") == page.wants_db
    values, typed, errors = parse_params(page.params, sent, use_defaults=not asked)
    kind: str | None = None
    result: Any = None
    problem: str | None = None
    form_key = f"function:{page.slug}"
    if asked and not errors and page.wants_db and not tokens.valid(sent.get("_once"), form_key):
        problem = tokens.REFUSED.replace("nothing was saved", "it did not run")
    elif (
        asked
        and not errors
        and page.wants_db
        and not records.use_once(get_db(), sent.get("_once"), form_key)
    ):
        # Sent twice (a double click, or a refresh that sends the form again): a function
        # that may write runs once per form.
        problem = "This form was already sent, and the calculation ran then; it did not run twice."
    elif asked and not errors:
        arguments = page.arguments(values)
        if page.wants_db:
            arguments["db"] = get_db()
        try:
            kind, result = shape(page.function(**arguments))
        except ValidationError as error:  # the function's own word on its inputs
            problem = str(error)
    rows: list[dict[str, Any]] = []
    if kind == "rows":
        rows = [{k: to_stored(page.columns.get(k), v) for k, v in r.items()} for r in result]
    elif kind == "pairs":
        result = [(k, to_stored(page.columns.get(k), v)) for k, v in result]
    elif kind == "value":
        result = to_stored(page.result, result)
    columns = list(rows[0]) if rows else list(page.columns)
    html = render_template(
        "function.html",
        page=page,
        params=controls(page.params, {}, typed, errors, prefix="p"),
        errors=errors,
        problem=problem,
        kind=kind,
        result=result,
        rows=rows,
        columns=columns,
        chart=rows_chart(page, rows),
        show=show,
        once=tokens.issue(form_key) if page.wants_db else None,
    )
    return (html, 400) if errors or problem else html
