"""The JSON API's values: each field as JSON, out and in, and its JSON Schema.

One place says what a field is on the wire, so that the records the API sends, what it
reads, and the OpenAPI document (``deskwork.openapi``) always agree:

* money and decimal numbers are exact decimal strings with their places (``"12.50"``),
  never floats; a number sent in is read exactly too (the body is parsed with
  ``Decimal``); whole numbers are integers;
* dates are ISO text (``2026-12-03``; with a time, ``2026-12-03 14:30``);
* yes/no is ``true``/``false``; a choice is its stored value, several choices a list;
* a lookup is the id of the row it points to; a name sent in is found as a form finds
  a name typed (an ambiguous one is refused);
* an attached file is its name and address, read-only here (files are attached in the
  tool's form).

What is sent in is turned into what a form would send, then parsed and checked by the
form's own rules (``deskwork.db.records.parse_record``), in a number format that is
the same in every locale: the API does not change with the desk's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import MultiDict

from deskwork import locales
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
from deskwork.model import Table

#: Numbers as the API reads and writes them, whatever the desk's locale: a point, no
#: grouping.
WIRE = locales.NumberFormat(".", "")

#: What every record carries besides its fields.
ID, VERSION = "id", "_version"


def value_out(f: Field | None, stored: Any, files: Mapping[int, str] | None = None) -> Any:
    """A stored value as the API sends it (``files``: attached files' names by id)."""
    if isinstance(f, MultiChoice):
        return f.from_db(stored)  # none chosen is an empty list
    if stored is None or f is None:
        return _plain(stored)
    if isinstance(f, YesNo):
        return bool(stored)
    if isinstance(f, Number):
        value = f.from_db(stored)
        return None if value is None else f"{value:.{f.places}f}"
    if isinstance(f, File):
        name = (files or {}).get(int(stored), "")
        return {"id": int(stored), "name": name, "url": f"/files/{int(stored)}/{name}"}
    if isinstance(f, Integer | Lookup):
        return int(stored)
    return str(stored)


def _plain(value: Any) -> Any:
    """A report's value that no field describes, as JSON holds it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def record_out(table: Table, row: Mapping[str, Any], files: Mapping[int, str],
               version: str) -> dict[str, Any]:  # fmt: skip
    """A row as the API sends it: its id, every field, and its version."""
    out: dict[str, Any] = {ID: row[ID]}
    for name, f in table.fields.items():
        out[name] = value_out(f, row.get(name), files)
    out[VERSION] = version
    return out


def form_in(table: Table, body: Mapping[str, Any]) -> tuple[MultiDict[str, str], dict[str, str]]:
    """What a form would send for ``body`` (a record as JSON), and the errors of values
    that are of the wrong kind (by field). Read-only fields, the id and the version
    are left out: they are never set by what is sent."""
    form: MultiDict[str, str] = MultiDict()
    errors: dict[str, str] = {}
    for name, value in body.items():
        f = table.fields.get(name)
        if f is None or f.readonly or name in (ID, VERSION):
            continue
        try:
            _add(form, name, f, value)
        except TypeError as error:
            errors[name] = str(error)
    return form, errors


def unknown_keys(table: Table, body: Mapping[str, Any]) -> list[str]:
    """Keys of ``body`` that are no field of ``table`` (nor its id or version)."""
    return [key for key in body if key not in table.fields and key not in (ID, VERSION)]


def _add(form: MultiDict[str, str], name: str, f: Field, value: Any) -> None:
    if value is None:
        form.add(name, "")
    elif isinstance(f, File):
        raise TypeError(f"{f.label}: files are attached in the tool's form, not through the API.")
    elif isinstance(f, YesNo):
        if not isinstance(value, bool):
            raise TypeError(f"{f.label} must be true or false.")
        form.add(name, "yes" if value else "no")
    elif isinstance(f, MultiChoice):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"{f.label} must be a list of its choices.")
        for one in value:
            form.add(name, one)
    elif isinstance(f, Lookup):
        if isinstance(value, int) and not isinstance(value, bool):
            form.add(name, str(value))
        elif isinstance(value, str):
            form.add(f"{name}__text", value)  # a name, found as a form finds one typed
        else:
            raise TypeError(f"{f.label} must be the id of a row, or its name.")
    elif isinstance(f, Integer | Number):
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise TypeError(f"{f.label} must be a number.")
        form.add(name, format(value, "f") if isinstance(value, Decimal) else str(value))
    elif not isinstance(value, str):
        raise TypeError(f"{f.label} must be text.")
    else:
        form.add(name, value)


# -- schemas ---------------------------------------------------------------------------------


def schema_out(f: Field) -> dict[str, Any]:
    """The JSON Schema of a field's value as the API sends it."""
    if isinstance(f, File):
        return {
            "type": ["object", "null"], "readOnly": True,
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                           "url": {"type": "string"}},
        }  # fmt: skip
    schema = _schema(f)
    if isinstance(f, Number):
        schema = {"type": "string", "pattern": _decimal_pattern(f.places)}
    if isinstance(f, MultiChoice):
        return {**schema, "description": f.label}
    if f.readonly:
        schema["readOnly"] = True
    return _nullable({**schema, "description": f.label})


def schema_in(f: Field, *, new: bool = False) -> dict[str, Any]:
    """The JSON Schema of what the API takes for a field (a number may also be text);
    for a ``new`` record a required field can't be null or blank."""
    schema = _schema(f)
    if isinstance(f, Number):
        schema = {"type": ["string", "number"]}
    elif isinstance(f, Lookup):
        schema = {"type": ["integer", "string"]}
    schema["description"] = f.label
    if isinstance(f, MultiChoice):
        return {**schema, "minItems": 1} if f.required and new else schema
    if not f.required:
        return _nullable(schema)
    if isinstance(f, YesNo):
        schema["enum"] = [True]  # required: it must be ticked
    elif schema["type"] == "string" and "enum" not in schema and "format" not in schema:
        schema["pattern"] = schema.get("pattern", r"\S")  # not blank
    return schema


def _schema(f: Field) -> dict[str, Any]:
    if isinstance(f, YesNo):
        return {"type": "boolean"}
    if isinstance(f, MultiChoice):
        items: dict[str, Any] = {"type": "string", "enum": f.choices}
        return {"type": "array", "items": items, "uniqueItems": True}
    if isinstance(f, Choice):
        return {"type": "string", "enum": f.choices}
    if isinstance(f, Integer):
        schema: dict[str, Any] = {"type": "integer"}
        if f.min is not None:
            schema["minimum"] = f.min
        if f.max is not None:
            schema["maximum"] = f.max
        return schema
    if isinstance(f, Lookup):
        return {"type": "integer", "description": f"The id of a row of {f.table_name}."}
    if isinstance(f, DateTime):
        return {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"}
    if isinstance(f, Date):
        return {"type": "string", "format": "date"}
    if isinstance(f, Email):
        return {"type": "string", "format": "email", "maxLength": f.max_length}
    if isinstance(f, Url):
        return {"type": "string", "format": "uri", "maxLength": f.max_length}
    if isinstance(f, Text):
        return {"type": "string", "maxLength": f.max_length}
    return {"type": "string"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _decimal_pattern(places: int) -> str:
    return rf"^-?[0-9]+\.[0-9]{{{places}}}$" if places else r"^-?[0-9]+$"
