"""One-time form tokens, issued by the server and bound to their form and session.

Every form that saves (a new record, a function that may write) carries one. It is a
random part signed (HMAC) with the app's key, for this form and this browser session: a
token a client makes up, one taken from another form or another session, and a form sent
without one are refused, with the form given back as typed. A token is spent by the save
it comes with (``deskwork.db.records``), so the same form sent twice saves once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, g, session

SESSION_KEY = "_deskwork_forms"

REFUSED = (
    "This form was not sent from this tool's own page, or is from before the tool was "
    "restarted: nothing was saved. Check it and save again."
)


def issue(form: str) -> str:
    """A new token for ``form`` (such as ``"form:new-expense"``) in this session."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_sign(form, nonce, create=True)}"


def valid(token: str | None, form: str) -> bool:
    """Whether ``token`` was issued by this app for ``form`` in this session."""
    if not token or token.count(".") != 1 or len(token) > 200:
        return False
    nonce, signature = token.split(".")
    expected = _sign(form, nonce, create=False)
    return expected is not None and hmac.compare_digest(signature, expected)


def _sign(form: str, nonce: str, *, create: bool) -> str | None:
    # On a served tool, bound to the person's log-in session (``deskwork.team``).
    logged_in = g.get("deskwork_session")
    session_id = logged_in.key if logged_in is not None else session.get(SESSION_KEY)
    if session_id is None:
        if not create:
            return None
        session_id = session[SESSION_KEY] = secrets.token_urlsafe(12)
    key = current_app.secret_key
    key_bytes = key.encode() if isinstance(key, str) else bytes(key or b"")
    message = f"{session_id}|{form}|{nonce}".encode()
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()[:32]
