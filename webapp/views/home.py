"""The home page, and the plain Flask views a tool declares with ``@tool.page``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, render_template, url_for

from deskwork.errors import TimeUp
from deskwork.model import ReportPage, ViewPage
from deskwork.views import current_tool, find_page, reports

bp = Blueprint("views", __name__)


@bp.get("/", endpoint="home")
def home() -> str:
    """The tool's pages; above them, its dashboard (``Tool.dashboard``) if it has one:
    headline numbers against the previous period, and its reports' charts."""
    tool = current_tool()
    board = tool.board
    headlines: list[Any] = []
    figures: list[tuple[ReportPage, Any, str]] = []
    failed = ""
    if board is not None:
        try:
            with current_app.extensions["deskwork.storage"].reading() as db:
                headlines = board.read(db)
        except TimeUp as error:
            failed = f"{error} The headlines are left out."
        for page in board.charts:
            try:
                figures.append((page, reports.figure(page), ""))
            except reports.ReportFailed as error:
                figures.append((page, None, str(error)))
    return render_template(
        "home.html",
        pages=list(tool.pages.values()),
        board=board,
        headlines=headlines,
        figures=figures,
        drill=lambda address: (
            url_for("tables.listing", slug=board.page.slug, **address)
            if board is not None and address is not None
            else None
        ),
        failed=failed,
        live=board is not None,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


@bp.route("/pages/<slug>", methods=["GET", "POST"])
def show(slug: str) -> Any:
    page: ViewPage = find_page(slug, ViewPage)
    return page.function()
