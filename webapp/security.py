"""The localhost threat model, enforced on every request.

A server on 127.0.0.1 is reachable by every local process and by any web page the user
has open, so each launch gets a fresh random secret. The address printed for a browser
carries it as ``?token=``; it is swapped at once for an HttpOnly, SameSite=Strict cookie and the
address is cleaned (a browser's history never keeps it). The native window, which shows
no address and keeps no history, gets ``?window_token=``: its first page is served at
once, with the same cookie. Besides that:

* a Host header other than ``127.0.0.1:PORT`` or ``localhost:PORT`` gets 403 (DNS rebinding);
* unsafe methods from another origin get 403 (cookies do not isolate by port);
* every response forbids framing and MIME sniffing, and none allows CORS.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.wrappers import Response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PARAM = "token"
# The native window's first address: it has no address bar and no history to keep the
# secret in, so the page is served at once (the cookie set with it) instead of after a
# redirect, which costs the window's first paint about 40 ms.
WINDOW_TOKEN_PARAM = "window_token"

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # "no-referrer" would make browsers send "Origin: null" on our own form posts.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
}


def cookie_name(port: int | str) -> str:
    # Cookies do not isolate by port, so two tools open at once must not share one.
    return f"deskwork_{port}"


def _port() -> str:
    configured = current_app.config.get("DESKWORK_PORT")
    return str(configured or request.environ.get("SERVER_PORT", ""))


def _allowed_hosts(port: str) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def check_request() -> Response | None:
    port = _port()
    if request.host not in _allowed_hosts(port):
        abort(403, "This address is not this tool's.")

    if request.method not in SAFE_METHODS:
        fetch_site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            abort(403, "Requests from other sites are refused.")
        if origin is not None and origin != f"http://{request.host}":
            abort(403, "Requests from other sites are refused.")

    secret: str = current_app.config["DESKWORK_SECRET"]
    token = request.args.get(TOKEN_PARAM)
    if token is not None and request.method == "GET":
        if not _same(token, secret):
            abort(403, "This link has expired: open the tool again.")
        rest = {k: v for k, v in request.args.items(multi=True) if k != TOKEN_PARAM}
        target = request.path + (f"?{urlencode(rest)}" if rest else "")
        response = redirect(target, code=303)
        response.set_cookie(cookie_name(port), secret, httponly=True, samesite="Strict", path="/")
        return response

    window_token = request.args.get(WINDOW_TOKEN_PARAM)
    if window_token is not None and request.method == "GET":
        if not _same(window_token, secret):
            abort(403, "This link has expired: open the tool again.")
        g.deskwork_new_cookie = cookie_name(port), secret
        return None

    if not _same(request.cookies.get(cookie_name(port)), secret):
        abort(403, "Open this tool from its own window or from the address it printed.")
    return None


def add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.pop("Access-Control-Allow-Origin", None)
    new_cookie = g.pop("deskwork_new_cookie", None)
    if new_cookie is not None:
        name, secret = new_cookie
        response.set_cookie(name, secret, httponly=True, samesite="Strict", path="/")
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(add_headers)
