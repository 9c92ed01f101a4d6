"""Table pages: rows newest first (or as declared), searchable, fifty at a time."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from deskwork.attachments import FILES
from deskwork.fields import File, Lookup
from deskwork.fields.text import without_controls
from deskwork.model import TablePage
from deskwork.views import current_tool, find_page, get_db

bp = Blueprint("tables", __name__)


def fts_query(text: str) -> str:
    """Typed words as an FTS5 query: every word must match, as a prefix; no syntax.

    Each word is quoted, so FTS5's own syntax (AND, NEAR, ``*``, ``^``) typed by someone is
    searched for as words; control characters are dropped (FTS5 reads a NUL as the end of
    the query).
    """
    words = [w.replace('"', "") for w in without_controls(text).split()]
    return " ".join(f'"{w}"*' for w in words if w)


def table_query(page: TablePage, q: str, offset: int) -> tuple[list[str], list[dict[str, Any]]]:
    table = page.table
    columns = list(page.columns or table.fields)
    select = ["t.id AS id"]
    joins = []
    for name in columns:
        f = table.fields.get(name)
        alias = f"j_{name}"
        if isinstance(f, Lookup):
            joins.append(f"LEFT JOIN [{f.table_name}] {alias} ON {alias}.id = t.[{name}]")
            select.append(f"{alias}.[{f.show}] AS [{name}]")
        elif isinstance(f, File):
            joins.append(f"LEFT JOIN {FILES} {alias} ON {alias}.id = t.[{name}]")
            select.append(f"{alias}.name AS [{name}]")
            select.append(f"t.[{name}] AS [{name}__file]")
        else:
            select.append(f"t.[{name}] AS [{name}]")
    direction = "DESC" if page.descending else "ASC"
    sql = f"SELECT {', '.join(select)} FROM [{table.name}] t {' '.join(joins)}"
    params: list[Any] = []
    match = fts_query(q) if page.search else ""
    if match:
        fts = get_db().table(table.name).detect_fts()
        sql += f" WHERE t.rowid IN (SELECT rowid FROM [{fts}] WHERE [{fts}] MATCH ?)"
        params.append(match)
    sql += f" ORDER BY t.[{page.order_column}] {direction}, t.id {direction} LIMIT ? OFFSET ?"
    params += [page.page_size + 1, offset]
    cursor = get_db().execute(sql, params)
    names = [d[0] for d in cursor.description]
    return columns, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@bp.get("/tables/<slug>")
def listing(slug: str) -> str:
    page: TablePage = find_page(slug, TablePage)
    q = request.args.get("q", "").strip()[:200]
    offset = min(max(request.args.get("offset", 0, type=int), 0), 2**62)
    columns, rows = table_query(page, q, offset)
    more = len(rows) > page.page_size
    return render_template(
        "table.html",
        page=page,
        form=current_tool().form_for(page.table),
        columns=columns,
        rows=rows[: page.page_size],
        q=q,
        offset=offset,
        more=more,
    )
