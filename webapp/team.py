"""A tool served to a team (``deskwork serve``): log-in, sessions, roles and CSRF, in
place of a desk's per-launch secret.

Every request to a served tool passes ``admit_person`` before its view runs:

* **Who**: the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS, a ``__Host-``
  name there) names a live session (``deskwork.db.sessions``); without one a page sends
  the person to the log-in page (and back after), the API answers 401, and a change is
  refused saying that nothing was changed.
* **CSRF**: every change (any method but GET, HEAD, OPTIONS) comes from the tool's own
  origin (``Origin`` or ``Sec-Fetch-Site``, one of which every browser sends) and carries
  its session's secret (the ``_csrf`` field every form has, or the ``X-CSRF-Token``
  header deskwork.js sends). The one-time form tokens are bound to the session too.
* **Scripts** call the JSON API with a person's API token instead (``Authorization:
  Bearer``, made by ``deskwork users token``), with that person's role; no cookie, no CSRF.
* **Role**: ``deskwork.permissions`` says the least role for each address; a refusal is a
  clear page (or a 403 from the API) before anything is read or written. A role the tool
  declares (``Tool.role``) counts as the role it is ``like``, and its people change only
  the rows it allows (``history.LIMITS``, held in every change's transaction).
* **Log-in attempts** are slowed after ``SLOW_AFTER`` failures for a name (each attempt
  must wait twice as long as the one before), refused for ``LOCK_MINUTES`` after
  ``LOCK_AFTER``, and from one address after ``ADDRESS_LOCK_AFTER``; a password reset
  lifts an account's lock. Every attempt, log-out and refusal goes to the audit trail.
* Over HTTPS every response carries HSTS. ``/health`` answers the proxy without a log-in.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from contextvars import Token
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup, escape

from deskwork import openid, permissions
from deskwork.accounts import Account, Accounts, SomeoneElse, check_name
from deskwork.db import audit, history, sessions
from deskwork.db.connection import write_transaction
from deskwork.directory import DirectoryDown, role_of
from deskwork.errors import NotAllowed, ValidationError
from deskwork.model import FunctionPage
from deskwork.security import SAFE_METHODS, bearer, is_api
from deskwork.served import Served

bp = Blueprint("team", __name__)

#: Failed log-ins for one name before each further attempt must wait (1 s, 2 s, 4 s...).
SLOW_AFTER = 3
#: Failed log-ins for one name, within ``LOCK_MINUTES``, that lock it for that long.
LOCK_AFTER = 10
LOCK_MINUTES = 15
#: Failed log-ins from one address, within ``LOCK_MINUTES``, that lock that address.
ADDRESS_LOCK_AFTER = 50
#: The longest wait between two attempts while slowed, in seconds.
LONGEST_WAIT_S = 60

CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
HSTS = "max-age=31536000"

WRONG = "The name or the password is wrong."
SESSION_ENDED = (
    "Your session has ended (it expired, you logged out, or your password or role "
    "changed): nothing was changed. Log in again, then send it again."
)
NOT_OURS = (
    "This change did not come from this tool's own page (or the page is from an earlier "
    "session): nothing was changed. Reload the page and try again."
)


def served(app: Flask | None = None) -> Served | None:
    """How the app is served to a team; None on a desk."""
    found: Served | None = (app or current_app).extensions.get("deskwork.served")
    return found


def cookie_name() -> str:
    """The session cookie: ``__Host-`` prefixed over HTTPS (the browser then keeps it to
    this host, secure, for the whole site)."""
    name = f"deskwork_{current_app.extensions['deskwork.tool'].name}"
    return f"__Host-{name}" if request.is_secure else name


def cookie_names(app: Flask) -> frozenset[str]:
    """Every cookie of ``app``'s own: its session cookie (either name) and Flask's."""
    name = f"deskwork_{app.extensions['deskwork.tool'].name}"
    return frozenset({name, f"__Host-{name}", app.config["SESSION_COOKIE_NAME"]})


def person() -> sessions.Session | None:
    """Who sent this request, on a served tool."""
    found: sessions.Session | None = g.get("deskwork_session")
    return found


def may(endpoint: str, method: str = "GET") -> bool:
    """Whether the person may send ``method`` to ``endpoint`` (always, on a desk): for
    pages to offer only what their reader may do."""
    found, config = person(), served()
    if found is None or config is None:
        return True
    role = permissions.needed(endpoint, method, viewer_exports=config.viewer_exports)
    return permissions.allows(acting_role(found), role)


def acting_role(found: sessions.Session) -> str:
    """The deskwork role ``found`` acts with: their own, or the one their role, declared
    by the tool, is ``like``."""
    declared = current_app.extensions["deskwork.tool"].roles.get(found.role)
    return str(declared.like) if declared is not None else found.role


def csrf_field() -> Markup:
    """The hidden field every form that changes something carries (nothing on a desk)."""
    found = person()
    if found is None:
        return Markup("")
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(found.csrf)}">')


def require(role: str, doing: str) -> None:
    """Refuse unless the person's role is ``role`` or more (for a check that depends on
    what is sent, such as a bulk change's size); nothing on a desk."""
    found = person()
    if found is not None and not permissions.allows(acting_role(found), role):
        _refuse(found, role, doing)


def check_bulk(action: str, count: int) -> None:
    """A bulk delete takes an admin, and so does a bulk change of more rows than
    ``Served.bulk_limit``; nothing on a desk."""
    config = served()
    if config is None:
        return
    if action == "delete":
        require(permissions.ADMIN, "delete rows in bulk")
    elif count > config.bulk_limit:
        require(permissions.ADMIN, f"change more than {config.bulk_limit:,} rows at once")


def note(event: str, detail: str = "") -> None:
    """Put ``event`` in the audit trail, on a served tool (an export, an import)."""
    found = person()
    if found is not None:
        audit.record(_db(), event, found.name, address=request.remote_addr, detail=detail)


def _db() -> Any:
    from deskwork.views import get_db

    return get_db()


def _refuse(found: sessions.Session, role: str, doing: str) -> None:
    audit.record(_db(), "refused", found.name, address=request.remote_addr,
                 detail=f"{request.method} {request.path}")  # fmt: skip
    raise NotAllowed(
        f"You are logged in as {found.name}, a {found.role}: only an {role} may {doing}. "
        "Nothing was changed. Ask an admin if you need to."
        if role == permissions.ADMIN
        else f"You are logged in as {found.name}, a {found.role}: only an {role} or an "
        f"admin may {doing}. Nothing was changed. Ask an admin if you need to."
    )


def _from_elsewhere() -> bool:
    """Whether a change comes from anything but this tool's own pages: a browser always
    says where a change comes from (``Sec-Fetch-Site`` or ``Origin``)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or origin != request.host_url.rstrip("/")


def admit_person() -> Any:
    """The checks of the module's docstring, before every view of a served tool."""
    config = served()
    if config is None:
        return None
    endpoint = request.endpoint
    changing = request.method not in SAFE_METHODS
    if endpoint != "team.health":
        _check_host(config)
    if endpoint in permissions.PUBLIC:
        if changing and _from_elsewhere():
            abort(403, NOT_OURS)
        return None
    token = bearer(request) if is_api(request) else None
    if token is not None:  # a script, with a person's API token: no cookie, no CSRF
        return _admit(_token_person(token), endpoint)
    found = sessions.find(_db(), request.cookies.get(cookie_name()))
    if found is None:
        if is_api(request):
            abort(401, "Log in first: this API answers people who are logged in.")
        if changing:
            abort(401, SESSION_ENDED)
        return redirect(url_for("team.log_in", next=_asked()), code=303)
    if changing and (_from_elsewhere() or not _csrf_matches(found)):
        abort(403, NOT_OURS)
    return _admit(found, endpoint)


def admit_plain() -> Any:
    """``admit_person`` for a request of a plain app behind ``deskwork.team_door``: its
    forms carry no CSRF secret, so a change must come from the app's own origin (with the
    SameSite session cookie); an API token is taken on any address."""
    config = served()
    assert config is not None
    changing = request.method not in SAFE_METHODS
    _check_host(config)
    token = bearer(request)
    if token is not None and token.startswith(sessions.API_PREFIX):  # a script's: no cookie
        return _admit(_token_person(token), None)
    found = sessions.find(_db(), request.cookies.get(cookie_name()))
    if found is None:
        if changing:
            abort(401, SESSION_ENDED)
        return redirect(url_for("team.log_in", next=_asked(plain=True)), code=303)
    if changing and _from_elsewhere():
        abort(403, NOT_OURS)
    return _admit(found, None)


def _check_host(config: Served) -> None:
    """Refuse a Host other than the tool's public one, when set (DNS rebinding)."""
    pinned = config.public_host
    if pinned and request.host.lower() != pinned.lower():
        abort(403, "This address is not this tool's.")


def _token_person(token: str) -> sessions.Session:
    """Whose API token ``token`` is; 401 for none."""
    found = sessions.find_api_key(_db(), token)
    if found is None:
        abort(401, "The API token is wrong, revoked, or its person removed.")
    return found


def _asked(*, plain: bool = False) -> str:
    """The address asked for, to come back to after logging in: below wherever the tool
    is mounted (for a plain app, the door's own ``SCRIPT_NAME``)."""
    root = request.environ.get("deskwork.door_root", "") if plain else request.script_root
    return root + request.full_path.rstrip("?")


def _admit(found: sessions.Session, endpoint: str | None) -> None:
    """Let ``found`` in, as who acts, if their role may do what the request asks."""
    g.deskwork_session = found
    g.deskwork_acting = history.ACTING.set(found.name)
    declared = current_app.extensions["deskwork.tool"].roles.get(found.role)
    if declared is not None and declared.changes:
        g.deskwork_limits = history.LIMITS.set(history.Limits(declared, found.name))
        if request.method not in permissions.LOOKING and not _within_limits(endpoint):
            audit.record(_db(), "refused", found.name, address=request.remote_addr,
                         detail=f"{request.method} {request.path}")  # fmt: skip
            which = declared.rows or "some rows"
            raise NotAllowed(
                f"You are logged in as {found.name}, a {declared.name}, who may change only "
                f"{which}: this page could change other things. Nothing was changed."
            )
    config = served()
    exports = config is None or config.viewer_exports
    role = permissions.needed(endpoint, request.method, viewer_exports=exports)
    if not permissions.allows(acting_role(found), role):
        _refuse(found, role, permissions.doing(endpoint, request.method))
    return None


def _within_limits(endpoint: str | None) -> bool:
    """Whether a change sent to ``endpoint`` is one ``deskwork.db.history`` holds to a
    limited role's rows (``permissions.LIMITED_CHANGES``)."""
    if endpoint not in permissions.LIMITED_CHANGES:
        return False
    if endpoint == "functions.run":  # only a function that can't write
        slug = (request.view_args or {}).get("slug")
        page = current_app.extensions["deskwork.tool"].pages.get(slug)
        return isinstance(page, FunctionPage) and not page.wants_db
    return True


def _csrf_matches(found: sessions.Session) -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return hmac.compare_digest(sent.encode(), found.csrf.encode())


def _forget_person(_error: BaseException | None) -> None:
    token: Token[str | None] | None = g.pop("deskwork_acting", None)
    if token is not None:
        history.ACTING.reset(token)
    limits: Token[history.Limits | None] | None = g.pop("deskwork_limits", None)
    if limits is not None:
        history.LIMITS.reset(limits)


def _headers(response: Response) -> Response:
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.vary.add("Cookie")
    return response


class _Cookies(SecureCookieSessionInterface):
    """Flask's own session cookie (messages shown once, the forms' one-time tokens):
    Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure) or super().get_cookie_secure(app)


# -- log-in ---------------------------------------------------------------------------------


def _back_to(target: str | None) -> str:
    """Where to go after logging in: a path of this tool only (never another site)."""
    parts = urlsplit(target or "")
    home: str = current_app.extensions.get("deskwork.home") or url_for("views.home")
    if not target or parts.scheme or parts.netloc or not target.startswith("/"):
        return home
    if (
        target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return home
    return target


def _throttled(db: Any, name: str, address: str) -> str | None:
    """Why this attempt is refused before its password is even checked; None if it may
    go on."""
    at = audit.now()
    window = at - dt.timedelta(minutes=LOCK_MINUTES)
    from_there, _ = audit.failures(db, since=window, address=address)
    if from_there >= ADDRESS_LOCK_AFTER:
        return (
            f"Too many failed log-ins came from your address: try again in {LOCK_MINUTES} minutes."
        )
    account = Accounts(db).get(name)
    if account is None:
        return None
    since = max(window, dt.datetime.fromisoformat(account.changed))
    failed, last = audit.failures(db, since=since, who=account.name)
    if last is not None and failed >= LOCK_AFTER:
        left = (last + dt.timedelta(minutes=LOCK_MINUTES) - at).total_seconds()
        minutes = max(1, math.ceil(left / 60))
        return (
            f"This account is locked after {failed} failed log-ins: try again in {minutes} "
            "minutes, or ask an admin to reset the password."
        )
    if failed + audit.pending(db, account.name) >= LOCK_AFTER:  # sent at once: each may fail
        return (
            f"Other log-ins as {account.name} are being checked at this moment: try again in "
            "a minute."
        )
    if failed < SLOW_AFTER or last is None:
        return None
    wait = min(2 ** (failed - SLOW_AFTER), LONGEST_WAIT_S)
    left = (last + dt.timedelta(seconds=wait) - at).total_seconds()
    if left > 0:
        seconds = math.ceil(left)
        return (
            f"After {failed} failed log-ins, wait {seconds} second{'s' if seconds > 1 else ''} "
            "before trying again."
        )
    return None


@bp.route("/log-in", methods=["GET", "POST"], endpoint="log_in")
def log_in() -> Any:
    """The log-in page, and logging in."""
    config = served()
    assert config is not None  # the blueprint is a served tool's only
    target = _back_to(request.values.get("next"))
    if request.method == "GET":
        if sessions.find(_db(), request.cookies.get(cookie_name())) is not None:
            return redirect(target, code=303)
        return render_template("log_in.html", target=target, name="")
    db = _db()
    name = str(request.form.get("name", "")).strip()[:64]
    address = request.remote_addr or ""
    try:
        account = _who_logs_in(db, config, name, str(request.form.get("password", "")), address)
    except _Refused as refused:
        page = render_template("log_in.html", target=target, name=name, error=str(refused))
        return page, refused.status
    return _logged_in(db, config, account, target, address)


def _logged_in(db: Any, config: Served, account: Account, target: str, address: str) -> Any:
    """A new session for ``account``: its cookie, and on to ``target``."""
    cookie, _session = sessions.open_session(
        db, account.name, address=address, hours=config.session_hours
    )
    audit.record(db, "log-in", account.name, address=address)
    response = redirect(target, code=303)
    response.set_cookie(
        cookie_name(), cookie, max_age=int(config.session_hours * 3600), httponly=True,
        secure=request.is_secure, samesite="Lax", path="/",
    )  # fmt: skip
    return response


NEXT = "deskwork_next"


@bp.get("/log-in/openid", endpoint="openid_start")
def openid_start() -> Any:
    """Off to the organisation's OpenID Connect provider to log in."""
    config = served()
    if config is None or config.openid is None:
        abort(404)
    session[NEXT] = _back_to(request.args.get("next"))
    try:
        return openid.start(config.openid, url_for("team.openid_back", _external=True))
    except openid.ProviderDown as down:
        page = render_template("log_in.html", target=session[NEXT], name="", error=str(down))
        return page, 503


@bp.get("/log-in/openid/back", endpoint="openid_back")
def openid_back() -> Any:
    """Back from the provider: the person it vouches for is logged in, with the role of
    their groups."""
    config = served()
    if config is None or config.openid is None:
        abort(404)
    db, address = _db(), request.remote_addr or ""
    target = _back_to(session.pop(NEXT, None))

    def refused(message: str, status: int) -> Any:
        return render_template("log_in.html", target=target, name="", error=message), status

    try:
        name, role, subject = openid.finish(config.openid)
    except openid.ProviderDown as down:
        return refused(str(down), 503)
    except Exception:  # the provider's answer was no valid one: said, and logged
        current_app.logger.warning("An OpenID Connect log-in did not complete", exc_info=True)
        return refused("The log-in at your organisation did not complete: try again.", 400)
    try:
        check_name(name)
    except ValidationError:
        return refused("Your organisation's log-in did not say who you are (a user name or "
                       "an email address): ask IT.", 403)  # fmt: skip
    if Accounts(db).has_password(name):  # a local account is never taken over by a claim
        audit.record(db, "failed log-in", name, address=address, detail="a local account")
        return refused(f"{name} logs in with a password of this tool's, not through your "
                       "organisation: use the form above.", 403)  # fmt: skip
    someone_else = (f"The name {name} belongs to someone else here: ask IT (your "
                    "organisation's log-in gave it to you after them).")  # fmt: skip
    bound = Accounts(db).subject(name)
    if bound is not None and bound != subject:  # the name went to someone else since
        audit.record(db, "failed log-in", name, address=address, detail="another person")
        return refused(someone_else, 403)
    if not role:
        return refused(_in_no_group(db, name, address, "known to your organisation"), 403)
    try:
        account = Accounts(db, by="OpenID Connect").from_directory(name, role, subject)
    except SomeoneElse:  # another first log-in with the name, a moment before
        audit.record(db, "failed log-in", name, address=address, detail="another person")
        return refused(someone_else, 403)
    return _logged_in(db, config, account, target, address)


class _Refused(Exception):
    """A log-in refused: the message for the page, with its status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _who_logs_in(db: Any, config: Served, name: str, password: str, address: str) -> Account:
    """The account ``name`` and ``password`` log in to (a local password first, then the
    directory's, for anyone without one here), or ``_Refused``; every attempt audited."""
    known = Accounts(db).get(name) if name else None
    shown = known.name if known else None
    # The throttle's look and this attempt's mark in one transaction: attempts sent at
    # once count each other (``audit.begin_attempt``).
    with write_transaction(db) as conn:
        refusal = _throttled(db, name, address) if name else None
        attempt = None if refusal else audit.begin_attempt(conn, shown, address)
    if refusal is not None or attempt is None:
        audit.record(db, "refused log-in", shown, address=address, detail=str(refusal))
        raise _Refused(str(refusal), 429)
    try:
        account = Accounts(db).log_in(name, password) if name and password else None
        local = known is not None and Accounts(db).has_password(known.name)
        if account is None and config.directory is not None and not local:
            account = _through_directory(db, config, name, password, address)
    except BaseException:
        with write_transaction(db) as conn:
            audit.end_attempt(conn, attempt)
        raise
    with write_transaction(db) as conn:
        audit.end_attempt(conn, attempt)
        if account is None:
            # An unknown name is not written down: it may be a password typed in the
            # wrong box.
            audit.record(conn, "failed log-in", shown, address=address,
                         detail="" if known else "unknown name")  # fmt: skip
    if account is None:
        raise _Refused(WRONG, 401)
    return account


def _through_directory(
    db: Any, config: Served, name: str, password: str, address: str
) -> Account | None:
    """The person the directory lets in (their account here made, or its role brought up
    to date); None for a wrong password; ``_Refused`` for someone in none of the groups,
    or when the directory does not answer."""
    assert config.directory is not None
    try:
        check_name(name)
    except ValidationError:
        return None
    try:
        role = role_of(config.directory, name, password)
    except DirectoryDown as down:
        raise _Refused(str(down), 503) from down
    if role is None:
        return None
    if not role:
        raise _Refused(_in_no_group(db, name, address, "in the directory"), 403)
    return Accounts(db, by="the directory").from_directory(name, role)


def _in_no_group(db: Any, name: str, address: str, vouched: str) -> str:
    """Someone the directory or the provider vouches for, in none of the groups IT named:
    put in the audit trail; what they are told."""
    audit.record(db, "failed log-in", name, address=address, detail="in no group")
    title = current_app.extensions["deskwork.tool"].title
    return (
        f"You are {vouched}, but in none of the groups that may use {title}: ask IT to add "
        "you to one."
    )


@bp.post("/log-out", endpoint="log_out")
def log_out() -> Any:
    """End this session."""
    found = person()
    db = _db()
    sessions.close(db, request.cookies.get(cookie_name()))
    if found is not None:
        audit.record(db, "log-out", found.name, address=request.remote_addr)
    return _logged_out("You are logged out.")


@bp.post("/log-out/everywhere", endpoint="log_out_everywhere")
def log_out_everywhere() -> Any:
    """End every session of this person, on every computer."""
    found = person()
    db = _db()
    if found is not None:
        Accounts(db).end_sessions(found.name)
        ended = sessions.close_all(db, found.name)
        audit.record(db, "log-out everywhere", found.name, address=request.remote_addr,
                     detail=f"{ended} session{'s' if ended != 1 else ''}")  # fmt: skip
    return _logged_out("You are logged out everywhere: on every computer and browser.")


def _logged_out(message: str) -> Any:
    flash(message)
    response = redirect(url_for("team.log_in"), code=303)
    response.delete_cookie(cookie_name(), path="/", secure=request.is_secure, httponly=True,
                           samesite="Lax")  # fmt: skip
    return response


@bp.get("/health", endpoint="health")
def health() -> Any:
    """For the proxy and the monitoring: the database answers."""
    try:
        _db().execute("SELECT count(*) FROM sqlite_master").fetchone()
    except Exception:
        current_app.logger.exception("The health check could not read the database")
        return jsonify(status="failing", reason="the database can't be read"), 503
    return jsonify(status="ok")


@bp.get("/audit", endpoint="audit")
def audit_page() -> Any:
    """The audit trail, newest first, for admins."""
    before = request.args.get("before", type=int)
    before = None if before is None else max(0, min(before, 2**62))
    events = audit.recent(_db(), before=before, limit=200)
    older = events[-1].id if len(events) == 200 else None
    return render_template("audit.html", events=events, older=older, nav_current=None)


def init_app(app: Flask, config: Served | None) -> None:
    """Serve the log-in pages and check every request (a served tool); on a desk, only
    the templates' ``csrf_field`` (which is then empty)."""
    app.add_template_global(csrf_field)
    app.add_template_global(person)
    app.add_template_global(may)
    if config is None:
        return
    app.extensions["deskwork.served"] = config
    if config.openid is not None:
        openid.init_app(app, config.openid)
    app.jinja_env.globals["openid_offered"] = config.openid is not None
    app.session_interface = _Cookies()
    app.register_blueprint(bp)
    from deskwork.views import backups

    app.register_blueprint(backups.bp)
    app.before_request(admit_person)
    app.teardown_request(_forget_person)
    app.after_request(_headers)
