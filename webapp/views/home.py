"""The home page, and the plain Flask views a tool declares with ``@tool.page``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from deskwork.model import ViewPage
from deskwork.views import current_tool, find_page

bp = Blueprint("views", __name__)


@bp.get("/", endpoint="home")
def home() -> str:
    return render_template("home.html", pages=list(current_tool().pages.values()))


@bp.route("/pages/<slug>", methods=["GET", "POST"])
def show(slug: str) -> Any:
    page: ViewPage = find_page(slug, ViewPage)
    return page.function()
