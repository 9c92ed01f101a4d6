"""A plain Flask app, as a developer writes one, for ``deskwork serve``'s tests: notes
kept in its own SQLite file in its instance folder, each with who wrote it
(``request.remote_user``, which deskwork sets for the person logged in)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask, redirect, request
from markupsafe import escape

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"  # a placeholder: deskwork replaces it


def db() -> sqlite3.Connection:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(Path(app.instance_path) / "notes.sqlite3", timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT, who TEXT)")
    return conn


@app.get("/")
def notes() -> str:
    with db() as conn:
        rows = conn.execute("SELECT text, who FROM notes ORDER BY rowid").fetchall()
    person = request.environ.get("deskwork.person") or {}
    items = "".join(f"<li>{escape(t)} ({escape(w)})</li>" for t, w in rows)
    return (
        f"<h1>Notes</h1><p>Hello {escape(request.remote_user or '')}, "
        f"{escape(person.get('role', ''))}. Cookies I see: "
        f"{escape(', '.join(sorted(request.cookies)))}. Authorization I see: "
        f"{escape(request.headers.get('Authorization', 'none'))}.</p><ul>{items}</ul>"
        '<form method="post" action="/notes"><label for="t">Note</label>'
        '<input id="t" name="text"><button>Add</button></form>'
    )


@app.post("/notes")
def add() -> object:
    with db() as conn:
        conn.execute("INSERT INTO notes VALUES (?, ?)", [request.form["text"], request.remote_user])
    return redirect("/", code=303)
