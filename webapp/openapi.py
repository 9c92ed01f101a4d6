"""The API's OpenAPI 3.1 document, made from the tool's declarations.

Every table gets its list (with its table page's address words as parameters), one
record, create, change and delete; every report its parameters; each table a schema of
its record as sent (``<Table>``) and of what may be sent (``<Table>Input``), from the
fields' own schemas (``deskwork.api``). Nothing is written by hand, so the document
can't drift from what the API does; a property-based run (schemathesis) in the tests
holds the API to it.
"""

from __future__ import annotations

from typing import Any

from deskwork import api
from deskwork.fields import Field, Lookup
from deskwork.filters import PRESETS, filter_kind, filter_words, sortable
from deskwork.model import ReportPage, Table, TablePage, Tool

VERSION = "3.1.0"
#: The list's own words besides a table page's: where a page starts.
PAGING = ("after", "before", "last")

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in words."},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "What is wrong with each field named."},
        "current": {"type": "object", "description": "The record as it is now (409)."},
    },
}  # fmt: skip

FAILURES = {
    "400": "The request can't be done as sent: the error says why.",
    "401": "The API token is missing, wrong or out of date.",
    "403": "Refused: not from this computer's own programs or pages.",
    "404": "No such table, record or report.",
    "409": "Changed by someone else meanwhile, or still looked up: nothing was written.",
    "415": "The body is not JSON.",
    "428": "A change must say which version of the record it was made from.",
}

DELETED = {"type": "object", "required": ["deleted", "undo"], "properties": {
    "deleted": {"type": "integer"}, "undo": {"type": "string"}}}  # fmt: skip


def document(tool: Tool, server: str) -> dict[str, Any]:
    """The whole document for ``tool`` served at ``server`` (``http://127.0.0.1:PORT``)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR}
    for table in tool.tables.values():
        page = tool.listing_for(table) or TablePage(table.name, table, table.name)
        schemas[_name(table)] = record_schema(table)
        schemas[_name(table) + "Input"] = input_schema(table, new=True)
        schemas[_name(table) + "Change"] = input_schema(table, new=False)
        paths.update(table_paths(table, page))
    for report in tool.pages.values():
        if isinstance(report, ReportPage):
            paths[f"/api/reports/{report.slug}"] = {"get": report_operation(report)}
    return {
        "openapi": VERSION,
        "info": {
            "title": f"{tool.title} API",
            "version": str(getattr(tool, "version", None) or "1"),
            "description": (
                "Every table and report of the tool, as JSON. Money is an exact decimal "
                "string; dates are ISO text; a lookup is a row's id. A program on this "
                "computer sends the token from the tool's API file as "
                "`Authorization: Bearer TOKEN`; the tool's own pages need nothing more."
            ),
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }


def _name(table: Table) -> str:
    return "".join(part.capitalize() for part in table.name.split("_")) or "Record"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _failures(*codes: str) -> dict[str, Any]:
    return {code: _json(_ref("Error"), FAILURES[code]) for code in ("400", "401", "403", *codes)}


def record_schema(table: Table) -> dict[str, Any]:
    """A record as the API sends it."""
    properties: dict[str, Any] = {"id": {"type": "integer", "readOnly": True}}
    properties.update({n: api.schema_out(f) for n, f in table.fields.items()})
    properties[api.VERSION] = {
        "type": "string", "readOnly": True,
        "description": "The record's version: send it back with a change.",
    }  # fmt: skip
    return {
        "type": "object",
        "required": ["id", *table.fields, api.VERSION],
        "properties": properties,
        "additionalProperties": False,
    }


def input_schema(table: Table, *, new: bool) -> dict[str, Any]:
    """What a ``new`` record sends (its required fields), or a change (only what
    changes, and the version it was made from)."""
    fields = {n: f for n, f in table.editable.items() if f.widget != "file"}
    properties = {n: api.schema_in(f, new=new) for n, f in fields.items()}
    if new:
        required = [n for n, f in fields.items() if f.required]
        return {"type": "object", "properties": properties, "required": required,
                "additionalProperties": False}  # fmt: skip
    properties[api.VERSION] = {"type": "string", "description": "The version read."}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def table_paths(table: Table, page: TablePage) -> dict[str, Any]:
    name, record = _name(table), table.record_name
    rows = {"type": "object", "required": ["rows", "next", "previous"], "properties": {
        "rows": {"type": "array", "items": _ref(name)},
        "next": {"type": ["string", "null"], "description": "The next page's address."},
        "previous": {"type": ["string", "null"], "description": "The previous page's address."},
    }}  # fmt: skip
    counted = {"type": "object", "required": ["count", "totals"], "properties": {
        "count": {"type": "integer"},
        "totals": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
    }}  # fmt: skip
    body = {"required": True, "content": {"application/json": {"schema": _ref(name + "Input")}}}
    change = {"required": True, "content": {"application/json": {"schema": _ref(name + "Change")}}}
    links = {verb: {"operationId": f"{verb}_{table.name}",
                    "parameters": {"record_id": "$response.body#/id"}}
             for verb in ("get", "change", "delete")}  # fmt: skip
    one_id = [{"name": "record_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}}]  # fmt: skip
    words = list_parameters(page)
    base = f"/api/tables/{table.name}"
    return {
        base: {
            "get": {"summary": f"List {table.name}", "operationId": f"list_{table.name}",
                    "parameters": words,
                    "responses": {"200": _json(rows, f"A page of {table.name}."),
                                  **_failures()}},
            "post": {"summary": f"Add a {record}", "operationId": f"create_{table.name}",
                     "requestBody": body,
                     "responses": {"201": {**_json(_ref(name), f"The {record} saved."),
                                           "links": links},
                                   **_failures("415")}},
        },
        f"{base}/count": {
            "get": {"summary": f"Count {table.name}", "operationId": f"count_{table.name}",
                    "parameters": [w for w in words if w["name"] not in PAGING],
                    "responses": {"200": _json(counted, "How many, and the totals."),
                                  **_failures()}},
        },
        base + "/{record_id}": {
            "parameters": one_id,
            "get": {"summary": f"One {record}", "operationId": f"get_{table.name}",
                    "responses": {"200": _json(_ref(name), f"The {record}."),
                                  **_failures("404")}},
            "patch": {"summary": f"Change a {record}", "operationId": f"change_{table.name}",
                      "requestBody": change,
                      "responses": {"200": _json(_ref(name), f"The {record} as saved."),
                                    **_failures("404", "409", "415", "428")}},
            "delete": {"summary": f"Delete a {record} (to the bin)",
                       "operationId": f"delete_{table.name}",
                       "responses": {"200": _json(DELETED, "Deleted: undo says how back."),
                                     **_failures("404", "409")}},
        },
    }  # fmt: skip


def list_parameters(page: TablePage) -> list[dict[str, Any]]:
    """The table page's address words, as query parameters."""
    fields = page.table.fields
    sorts = ["id", *[n for n, f in fields.items() if sortable(f)]]
    out = [
        _query("sort", {"type": "string", "enum": [*sorts, *[f"-{s}" for s in sorts]]},
               "A column to sort by; '-' first for largest or newest first."),
        _query("q", {"type": "string", "maxLength": 200}, "Words to search for."),
        _query("after", {"type": "string"}, "The next page: as in the answer's next."),
        _query("before", {"type": "string"}, "The previous page: as in the answer's previous."),
        _query("last", {"type": "string", "enum": ["yes"]}, "The last page."),
    ]  # fmt: skip
    for word, (name, f) in filter_words(page).items():
        out.append(_query(word, word_schema(word, name, f), f"Filter: {f.label}."))
    return out


def word_schema(word: str, name: str, f: Field) -> dict[str, Any]:
    """The schema of a filter word's value."""
    end = word[len(name) :]
    if end == ".empty" or filter_kind(f) == "yesno":
        return {"type": "string", "enum": ["yes", "no"]}
    if end == ".in":
        return {"type": "string", "enum": list(PRESETS)}
    if end in (".from", ".to"):
        return {"type": "string", "format": "date"}
    if end in (".min", ".max"):
        return {"type": "string", "description": "A number, as 12.50."}
    if end == ".has":
        return {"type": "string", "maxLength": 200}
    item = {"type": "integer"} if isinstance(f, Lookup) else {
        "type": "string", "enum": list(getattr(f, "choices", []))}  # fmt: skip
    return {"type": "array", "items": item}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    schema = dict(schema)  # a query string holds no null
    if isinstance(schema.get("type"), list):
        kinds = [k for k in schema["type"] if k != "null"]
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "enum" in schema:
        schema["enum"] = [v for v in schema["enum"] if v is not None]
    found = {"name": name, "in": "query", "required": False, "schema": schema,
             "description": description}  # fmt: skip
    if schema.get("type") == "array":
        found.update(style="form", explode=True)
    return found


def report_operation(report: ReportPage) -> dict[str, Any]:
    params = [_query(n, api.schema_in(f), f.label) for n, f in report.params.items()]
    for param in params:
        param["schema"] = {k: v for k, v in param["schema"].items() if k != "description"}
    result = {"type": "object", "required": ["parameters", "columns", "rows", "totals"],
              "properties": {"parameters": {"type": "object"}, "columns": {"type": "array"},
                             "rows": {"type": "array", "items": {"type": "object"}},
                             "totals": {"type": "object"}}}  # fmt: skip
    return {"summary": report.title, "operationId": f"report_{report.slug.replace('-', '_')}",
            "parameters": params,
            "responses": {"200": _json(result, "The report's rows and totals."),
                          **_failures()}}  # fmt: skip
