from importlib.resources import files

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .db import get_db

bp = Blueprint("board", __name__)


@bp.route("/")
def index():
    notices = (
        get_db()
        .execute(
            "SELECT n.id, title, body, created, likes, username"
            " FROM notice n JOIN user u ON n.author_id = u.id"
            " ORDER BY created DESC, n.id DESC"
        )
        .fetchall()
    )
    welcome = files("noticeboard").joinpath("data/welcome.txt").read_text(encoding="utf-8")
    return render_template("board/index.html", notices=notices, welcome=welcome.strip())


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    if request.method == "POST":
        title = request.form["title"].strip()
        body = request.form["body"].strip()

        if not title:
            flash("Title is required.")
        else:
            db = get_db()
            db.execute(
                "INSERT INTO notice (title, body, author_id) VALUES (?, ?, ?)",
                (title, body, current_user.id),
            )
            db.commit()
            flash("Notice posted.")
            return redirect(url_for("board.index"))

    return render_template("board/create.html")


@bp.post("/<int:id>/like")
@login_required
def like(id):
    db = get_db()
    if db.execute("UPDATE notice SET likes = likes + 1 WHERE id = ?", (id,)).rowcount == 0:
        abort(404, f"Notice id {id} doesn't exist.")
    db.commit()
    likes = db.execute("SELECT likes FROM notice WHERE id = ?", (id,)).fetchone()["likes"]
    return {"likes": likes}
