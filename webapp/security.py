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

The JSON API (``/api/``) is behind the same checks, and also lets in a program on the
same desk that sends the launch's API token (``Authorization: Bearer TOKEN``): the host
writes it to a file only the user can read, and a new one each launch. A wrong token is
401, never a fall back to the cookie. Cross-origin access to the API is for the origins
whoever installs the tool lists (``DESKWORK_API_ORIGINS``), and only with the token: the
cookie is SameSite=Strict, so another site's page never carries it.

A tool mounted in a host Flask app (``tool.init_app``, see ``deskwork.mount``) runs with
``DESKWORK_MOUNTED``: who gets in is the host's to decide, so there is no secret and no
Host check; unsafe methods from another origin are still refused and the headers still set.

A tool served to a team (``deskwork serve``) runs with ``DESKWORK_SERVED``: people log in,
and ``deskwork.team`` checks who they are, their role and CSRF on every request instead.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.wrappers import Request, Response

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
    """The cookie that carries the per-launch secret. Cookies do not isolate by port, so
    two tools open at once must not share one."""
    return f"deskwork_{port}"


def session_cookie_name(key: int | str) -> str:
    """A tool's session cookie: by port for a launched tool, by name for a mounted one."""
    return f"deskwork_session_{key}"


def _port() -> str:
    configured = current_app.config.get("DESKWORK_PORT")
    return str(configured or request.environ.get("SERVER_PORT", ""))


def _allowed_hosts(port: str) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


CROSS_ORIGIN_REFUSED = "Requests from other sites are refused."


def cross_origin(request: Request, own_origin: str) -> bool:
    """Whether ``request`` changes something (an unsafe method) from another origin's page."""
    if request.method in SAFE_METHODS:
        return False
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != own_origin


@dataclass(frozen=True)
class Admission:
    """What to do with a request: refuse it (``refused`` says why, for a ``status``), send
    it to a clean address (``redirect_to``, the cookie set), or serve it (setting the
    cookie with the response if ``new_cookie``)."""

    refused: str | None = None
    redirect_to: str | None = None
    new_cookie: bool = False
    status: int = 403


API_PREFIX = "/api/"
WRONG_TOKEN = (
    "The API token is wrong or out of date: read it again from the tool's API file (each "
    "launch writes a new one)."
)


NO_TOKEN = (
    "Send the API token (Authorization: Bearer TOKEN): it is in the tool's API file while "
    "the tool is open."
)


def is_api(request: Request) -> bool:
    return request.path.startswith(API_PREFIX)


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def allowed_origin(request: Request, origins: Iterable[str]) -> bool:
    """Whether ``request`` comes from a page of an origin the API is opened to."""
    origin = request.headers.get("Origin")
    return is_api(request) and origin is not None and origin in origins


def admit(
    request: Request, secret: str, port: str, *, api_token: str | None = None,
    api_origins: Iterable[str] = (),
) -> Admission:  # fmt: skip
    """The threat model's checks for one request: Host, origin, then the secret (or,
    for the API, the token)."""
    if request.host not in _allowed_hosts(port):
        return Admission(refused="This address is not this tool's.")

    opened = allowed_origin(request, api_origins)
    if not opened and cross_origin(request, f"http://{request.host}"):
        return Admission(refused=CROSS_ORIGIN_REFUSED)

    if is_api(request) and (opened or "Authorization" in request.headers):
        token = bearer(request)
        if api_token and token is not None and _same(token, api_token):
            return Admission()
        return Admission(refused=WRONG_TOKEN, status=401)

    for param in (TOKEN_PARAM, WINDOW_TOKEN_PARAM):
        token = request.args.get(param)
        if token is None or request.method != "GET":
            continue
        if not _same(token, secret):
            return Admission(refused="This link has expired: open the tool again.")
        if param == WINDOW_TOKEN_PARAM:
            return Admission(new_cookie=True)
        rest = {k: v for k, v in request.args.items(multi=True) if k != param}
        return Admission(redirect_to=request.path + (f"?{urlencode(rest)}" if rest else ""))

    if not _same(request.cookies.get(cookie_name(port)), secret):
        if is_api(request):
            return Admission(refused=NO_TOKEN, status=401)
        return Admission(
            refused="Open this tool from its own window or from the address it printed."
        )
    return Admission()


def set_secret_cookie(response: Response, port: str, secret: str) -> None:
    response.set_cookie(cookie_name(port), secret, httponly=True, samesite="Strict", path="/")


def check_request() -> Response | None:
    if current_app.config.get("DESKWORK_SERVED"):
        return None  # served to a team: people log in instead (``deskwork.team``)
    if current_app.config.get("DESKWORK_MOUNTED"):
        # The host app admits people (deskwork's Guard, its log-in, a proxy...); behind
        # a proxy the host needs ProxyFix for the scheme and Host to match the Origin.
        if cross_origin(request, f"{request.scheme}://{request.host}"):
            abort(403, CROSS_ORIGIN_REFUSED)
        return None
    port = _port()
    secret: str = current_app.config["DESKWORK_SECRET"]
    origins = current_app.config.get("DESKWORK_API_ORIGINS") or ()
    if request.method == "OPTIONS" and allowed_origin(request, origins):
        return _preflight()
    admission = admit(request, secret, port, api_origins=origins,
                      api_token=current_app.config.get("DESKWORK_API_TOKEN"))  # fmt: skip
    if admission.refused is not None:
        abort(admission.status, admission.refused)
    if admission.redirect_to is not None:
        response = redirect(admission.redirect_to, code=303)
        set_secret_cookie(response, port, secret)
        return response
    if admission.new_cookie:
        g.deskwork_new_cookie = port, secret
    return None


def _preflight() -> Response:
    """A configured origin's page asking whether it may call the API (CORS)."""
    response = current_app.make_response(("", 204))
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.pop("Access-Control-Allow-Origin", None)
    if allowed_origin(request, current_app.config.get("DESKWORK_API_ORIGINS") or ()):
        response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
        response.headers["Access-Control-Expose-Headers"] = "ETag, Location"
        response.vary.add("Origin")
    new_cookie = g.pop("deskwork_new_cookie", None)
    if new_cookie is not None:
        set_secret_cookie(response, *new_cookie)
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(add_headers)


#: What a plain app's responses get: framing by other sites and sniffing forbidden. No
#: Content-Security-Policy: the app's own inline scripts and styles keep working, and one
#: it sets itself is kept, as are its own values of these.
PLAIN_APP_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

FORBIDDEN_PAGE = "<!doctype html><title>Forbidden</title><h1>Forbidden</h1><p>{message}</p>"


class Guard:
    """The same protection around any WSGI app, such as a plain Flask app: WSGI middleware.

    Every request passes ``admit`` (Host, origin, the secret swapped for a cookie) before
    the app sees it, and the app never sees the secret: the cookie and the window's
    parameter are taken out of what it gets. Responses stream through untouched but for
    ``PLAIN_APP_HEADERS`` (the app's own values win) and a wildcard CORS header, dropped.
    """

    def __init__(self, app: WSGIApp, *, secret: str, port: int) -> None:
        self.app = app
        self.secret = secret
        self.port = str(port)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        admission = admit(Request(environ, populate_request=False), self.secret, self.port)
        if admission.refused is not None:
            page = FORBIDDEN_PAGE.format(message=html.escape(admission.refused))
            refusal = Response(page, status=403, mimetype="text/html")
            return self._harden(refusal)(environ, start_response)
        if admission.redirect_to is not None:
            response = redirect(admission.redirect_to, code=303)
            set_secret_cookie(response, self.port, self.secret)
            return self._harden(response)(environ, start_response)
        self._hide_secret(environ)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            have = {name.lower() for name, _ in headers}
            headers = [
                (n, v)
                for n, v in headers
                if not (n.lower() == "access-control-allow-origin" and v.strip() == "*")
            ]
            headers += [(n, v) for n, v in PLAIN_APP_HEADERS.items() if n.lower() not in have]
            if admission.new_cookie:
                cookie = Response()
                set_secret_cookie(cookie, self.port, self.secret)
                headers += [("Set-Cookie", v) for v in cookie.headers.getlist("Set-Cookie")]
            return start_response(status, headers, exc_info)  # fmt: skip

        return self.app(environ, start)

    def _hide_secret(self, environ: dict[str, Any]) -> None:
        own = cookie_name(self.port)
        cookies = [c for c in environ.get("HTTP_COOKIE", "").split(";")
                   if c.strip() and c.split("=", 1)[0].strip() != own]  # fmt: skip
        environ["HTTP_COOKIE"] = ";".join(cookies)
        if WINDOW_TOKEN_PARAM in environ.get("QUERY_STRING", ""):
            environ["QUERY_STRING"] = _without_token(environ["QUERY_STRING"])
            # The raw request line too (cheroot's REQUEST_URI, gunicorn's RAW_URI): an
            # app or its logging may show it.
            for key in ("REQUEST_URI", "RAW_URI"):
                path, mark, query = str(environ.get(key, "")).partition("?")
                if mark:
                    kept = _without_token(query)
                    environ[key] = f"{path}?{kept}" if kept else path

    @staticmethod
    def _harden(response: Response) -> Response:
        for name, value in PLAIN_APP_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Cache-Control"] = "no-store"
        return response


def _without_token(query: str) -> str:
    """``query`` without the window's ``window_token`` parameter."""
    kept = [part for part in query.split("&") if part.split("=", 1)[0] != WINDOW_TOKEN_PARAM]
    return "&".join(kept)
