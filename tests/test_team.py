"""A tool served to a team (``deskwork.team``): log-in, sessions, roles, CSRF and the audit
trail, through the same assembly ``deskwork serve`` uses, with Flask's test client."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from conftest import expense_form, rows, text
from deskwork import permissions, team
from deskwork.accounts import Accounts
from deskwork.db import audit
from deskwork.testing import TEAM_ORIGIN, TeamClient, team_client
from fixture_tool import tool

GOOD = "correct horse battery"
PEOPLE = {"vic": "viewer", "ana": "editor", "ada": "admin"}


def people_client(path: Path, **served: object) -> TeamClient:
    client = team_client(tool, path, seed=True, **served)
    with client.application.extensions["deskwork.storage"].open() as db:
        for name, role in PEOPLE.items():
            Accounts(db).add(name, role, GOOD)
    return client


@pytest.fixture
def served(tmp_path: Path) -> TeamClient:
    return people_client(tmp_path / "team.sqlite3")


def second(client: TeamClient) -> TeamClient:
    """Another browser on the same server."""
    other = client.application.test_client()
    assert isinstance(other, TeamClient)
    return other


def trail(client: TeamClient) -> list[audit.Event]:
    with client.application.extensions["deskwork.storage"].open() as db:
        return audit.recent(db)


def csrf(client: TeamClient) -> str:
    found = re.search(r'name="deskwork-csrf" content="([^"]+)"', text(client.get("/")))
    assert found, "a logged-in page carries the session's CSRF secret"
    return found.group(1)


def test_whoever_is_not_logged_in_is_sent_to_log_in_and_then_back(served):
    answer = served.get("/tables/expenses?sort=amount")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/log-in?next=/tables/expenses?sort%3Damount"
    page = text(served.get(answer.headers["Location"]))
    assert 'label for="log-in-name">Name' in page and 'type="password"' in page
    assert 'aria-label="Pages"' not in page  # no pages for whoever is not logged in
    logged = served.post("/log-in", data={"name": "vic", "password": GOOD,
                                          "next": "/tables/expenses?sort=amount"})  # fmt: skip
    assert logged.status_code == 303
    assert logged.headers["Location"] == "/tables/expenses?sort=amount"
    assert "vic (viewer)" in text(served.get("/tables/expenses"))
    # never to another site after logging in
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example",
                      "/\nSet-Cookie: x=1"):  # fmt: skip
        again = second(served).post("/log-in", data={"name": "vic", "password": GOOD,
                                                     "next": elsewhere})  # fmt: skip
        assert again.headers["Location"] == "/", elsewhere
    # the API and a change say so instead of redirecting
    assert second(served).get("/api/tables/expenses").status_code == 401
    refused = second(served).post("/forms/new-expense", data=expense_form())
    assert refused.status_code == 401 and "Nothing was changed" in text(refused).replace(
        "nothing was changed", "Nothing was changed"
    )


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(served):
    before = len(rows(served))
    wrong = served.log_in("ana", "not the password at all")
    unknown = served.log_in("correct horse battery", GOOD)  # a password in the name's box
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "The name or the password is wrong." in text(answer)
        assert "Set-Cookie" not in answer.headers or "deskwork_expenses" not in str(
            answer.headers.getlist("Set-Cookie")
        )
    events = trail(served)
    assert [(e.event, e.who, e.detail) for e in events[:2]] == [
        ("failed log-in", None, "unknown name"),
        ("failed log-in", "ana", ""),
    ]
    assert all(GOOD not in repr(e) for e in events)  # nothing typed is kept
    assert len(rows(served)) == before


def test_log_ins_are_slowed_then_locked_and_a_password_reset_lifts_the_lock(served, monkeypatch):
    clock = [audit.now()]
    monkeypatch.setattr(audit, "now", lambda: clock[0])
    for _ in range(team.SLOW_AFTER):
        assert served.log_in("ana", "wrong wrong wrong").status_code == 401
    slowed = served.log_in("ana", GOOD)  # even the right password waits its turn
    assert slowed.status_code == 429 and "wait 1 second before" in text(slowed)
    clock[0] += dt.timedelta(seconds=1.5)
    assert served.log_in("ana", "wrong wrong wrong").status_code == 401
    assert "wait 2 seconds" in text(served.log_in("ana", GOOD))
    for _ in range(team.LOCK_AFTER - team.SLOW_AFTER - 1):
        clock[0] += dt.timedelta(seconds=team.LONGEST_WAIT_S + 1)
        assert served.log_in("ana", "wrong wrong wrong").status_code == 401
    clock[0] += dt.timedelta(seconds=team.LONGEST_WAIT_S + 1)
    locked = served.log_in("ana", GOOD)
    assert locked.status_code == 429
    assert f"locked after {team.LOCK_AFTER} failed log-ins" in text(locked)
    assert "refused log-in" in [e.event for e in trail(served)]
    # others are not locked out by it
    assert second(served).log_in("vic", GOOD).status_code == 303
    # an admin resets the password: the lock is lifted
    clock[0] += dt.timedelta(seconds=1)
    with served.application.extensions["deskwork.storage"].open() as db:
        Accounts(db).reset("ana", "a brand new passphrase")
    clock[0] += dt.timedelta(seconds=1)
    assert served.log_in("ana", "a brand new passphrase").status_code == 303
    # the lock also ends by itself after LOCK_MINUTES
    for _ in range(team.LOCK_AFTER):
        clock[0] += dt.timedelta(seconds=team.LONGEST_WAIT_S + 1)
        second(served).log_in("ada", "wrong wrong wrong")
    assert second(served).log_in("ada", GOOD).status_code == 429
    clock[0] += dt.timedelta(minutes=team.LOCK_MINUTES + 1)
    assert second(served).log_in("ada", GOOD).status_code == 303


def test_attempts_sent_all_at_once_count_each_other(served):
    """Many browsers try passwords for one name at the same moment (the threads and worker
    processes of a server): no more are checked than the lock allows, and the same
    person logging in from several places at once is not refused."""
    import threading

    answers: list[int] = []
    start = threading.Barrier(16)

    def attempt() -> None:
        client = second(served)
        start.wait()
        answers.append(client.log_in("ana", "wrong wrong wrong").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failed = [e.event for e in trail(served) if e.who == "ana"].count("failed log-in")
    assert 1 <= failed <= team.LOCK_AFTER and len(answers) == 16
    assert sorted(answers) == [401] * failed + [429] * (16 - failed)
    with served.application.extensions["deskwork.storage"].open() as db:
        assert db.execute("SELECT count(*) FROM _deskwork_attempts").fetchone() == (0,)
    # the right password, from eight places at once
    logged: list[int] = []
    start = threading.Barrier(8)

    def log_in() -> None:
        client = second(served)
        start.wait()
        logged.append(client.log_in("vic", GOOD).status_code)

    threads = [threading.Thread(target=log_in) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert logged == [303] * 8


def test_many_failures_from_one_address_lock_that_address(served, monkeypatch):
    monkeypatch.setattr(team, "ADDRESS_LOCK_AFTER", 6)
    for n in range(6):
        assert served.log_in(f"someone{n}", "wrong wrong wrong").status_code == 401
    refused = served.log_in("vic", GOOD)
    assert refused.status_code == 429 and "from your address" in text(refused)


def test_a_viewer_can_look_and_export_but_every_change_is_refused(served):
    served.log_in("vic", GOOD)
    for path in ("/", "/tables/expenses", "/forms/new-expense", "/forms/new-expense/1/history",
                 "/tables/expenses/export/csv", "/tables/expenses/summarise"):  # fmt: skip
        assert served.get(path).status_code == 200, path
    assert "you can look, search, summarise and export" in text(served.get("/tables/expenses"))
    before = rows(served)
    refused = served.submit("/forms/new-expense", expense_form())
    assert refused.status_code == 403
    assert "You are logged in as vic, a viewer: only an editor or an admin may change" in text(
        refused
    )
    token = csrf(served)
    api = served.post("/api/tables/expenses", json={"amount": 5}, headers={"X-CSRF-Token": token})
    assert api.status_code == 403
    assert served.get("/tables/expenses/import").status_code == 403
    assert rows(served) == before
    assert [e.event for e in trail(served)].count("refused") == 3
    assert "export" in [e.event for e in trail(served)]


def test_with_viewer_exports_off_only_editors_export_or_read_the_api(tmp_path):
    served = people_client(tmp_path / "no-exports.sqlite3", viewer_exports=False)
    served.log_in("vic", GOOD)
    table = text(served.get("/tables/expenses"))
    assert "Export CSV" not in table and "you can look, search and summarise" in table
    assert "Export CSV" not in text(served.get("/reports/category-totals"))
    for path in ("/tables/expenses/export/csv", "/reports/category-totals/export/csv",
                 "/api/tables/expenses"):  # fmt: skip
        refused = served.get(path)
        assert refused.status_code == 403, path
    assert "only an editor or an admin may export or use the JSON API" in text(
        served.get("/tables/expenses/export/csv")
    )
    assert served.get("/tables/expenses/summarise").status_code == 200  # looking still is
    assert "export" not in [e.event for e in trail(served)]
    editor = second(served)
    editor.log_in("ana", GOOD)
    assert "Export CSV" in text(editor.get("/tables/expenses"))
    exported = editor.get("/tables/expenses/export/csv")
    assert exported.status_code == 200 and exported.data.startswith(b"\xef\xbb\xbfID,")
    assert editor.get("/api/tables/expenses").status_code == 200


def test_an_admin_backs_up_and_restores_from_the_pages_and_people_stay_as_they_are(served):
    editor = second(served)
    editor.log_in("ana", GOOD)
    refused = editor.get("/backups")
    assert refused.status_code == 403 and "only an admin may back up or restore" in text(refused)
    assert "Backups</a>" not in text(editor.get("/"))
    served.log_in("ada", GOOD)
    assert 'href="/backups">Backups</a>' in text(served.get("/"))
    backups = served.application.extensions["deskwork.backups"]
    before_rows = rows(served)
    taken = served.post("/backups", data={"_csrf": csrf(served)})
    assert taken.status_code == 303
    (made,) = [b for b in backups.all() if b.why == "manual"]
    page = text(served.get(taken.headers["Location"]))
    assert f"Backed up: {made.path.name}" in page
    assert "backed up by hand" in page and "Back up now" in page
    # after the backup: a new expense, a new person, and a person gone
    assert editor.submit("/forms/new-expense", expense_form()).status_code == 303
    with served.application.extensions["deskwork.storage"].open() as db:
        Accounts(db).add("newcomer", "editor", GOOD)
        Accounts(db).remove("vic")
    assert len(rows(served)) == len(before_rows) + 1
    asked = text(served.get(f"/backups/{made.path.name}/restore"))
    assert "Restore the backup of" in asked and "stay as they are now" in asked
    done = served.post(f"/backups/{made.path.name}/restore", data={"_csrf": csrf(served)})
    assert done.status_code == 303
    assert "Restored from" in text(served.get(done.headers["Location"]))
    assert rows(served) == before_rows  # the data is what it was
    assert second(served).log_in("vic", GOOD).status_code == 401  # still gone
    newcomer = second(served)
    assert newcomer.log_in("newcomer", GOOD).status_code == 303  # still there
    assert editor.get("/tables/expenses").status_code == 200  # still logged in
    events = [(e.event, e.who) for e in trail(served)]
    assert ("backup", "ada") in events and ("restore", "ada") in events
    assert ("log-in", "ana") in events  # the trail since the backup is all there
    kept = [b for b in backups.all() if b.why == "before-restore"]
    assert len(kept) == 1
    # nothing sent is taken as a path
    assert served.get("/backups/..%2Fteam.sqlite3/restore").status_code == 404
    missing = served.post("/backups/nothing.sqlite3/restore", data={"_csrf": csrf(served)})
    assert missing.status_code == 404 and rows(served) == before_rows


def test_with_restoring_turned_off_admins_back_up_but_do_not_restore(tmp_path):
    served = people_client(tmp_path / "no-restore.sqlite3", restores=False)
    served.log_in("ada", GOOD)
    served.post("/backups", data={"_csrf": csrf(served)})
    (made,) = served.application.extensions["deskwork.backups"].all()
    page = text(served.get("/backups"))
    assert "IT has turned restoring off" in page and "/restore" not in page
    refused = served.post(f"/backups/{made.path.name}/restore", data={"_csrf": csrf(served)})
    assert refused.status_code == 403 and "Nothing was changed" in text(refused)
    assert [e.event for e in trail(served)].count("restore") == 0


def test_every_address_deskwork_serves_has_a_rule(served):
    own = {rule.endpoint for rule in served.application.url_map.iter_rules()}
    tools_own = {f"{bp.name}." for bp in tool.blueprints}
    listed = set(permissions.RULES) | permissions.PUBLIC
    assert {e for e in own if not e.startswith(tuple(tools_own))} - listed == set()
    assert listed - own == set()  # nothing listed that is gone


def _address(rule) -> str:
    values = {"slug": "expenses", "name": "expenses", "table": "expenses", "key": "csv",
              "column": "employee", "path": "x", "filename": "deskwork.css"}  # fmt: skip
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[a-z_]+:)?{name}>", str(values.get(name, 1)), path)
    if rule.endpoint.startswith("forms.") and "<" not in path and "slug" in rule.arguments:
        path = path.replace("/expenses", "/new-expense", 1)
    return path


def test_every_change_a_role_may_not_make_is_refused_before_anything_changes(served):
    """For each role, every address and method it may not use: 403, and the database's
    every table as it was."""
    app = served.application
    storage = app.extensions["deskwork.storage"]

    def everything() -> dict[str, list]:
        with storage.open() as db:
            return {t: list(db.table(t).rows) for t in db.table_names()
                    if t not in ("_deskwork_audit", "_deskwork_sessions")}  # fmt: skip

    before = everything()
    tried = 0
    for name, role in PEOPLE.items():
        client = second(served)
        client.log_in(name, GOOD)
        token = csrf(client)
        for rule in app.url_map.iter_rules():
            if rule.endpoint in permissions.PUBLIC:
                continue
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                if permissions.allows(role, permissions.needed(rule.endpoint, method)):
                    continue
                answer = client.open(_address(rule), method=method,
                                     data={"_csrf": token, "_do": "delete"},
                                     headers={"X-CSRF-Token": token})  # fmt: skip
                assert answer.status_code == 403, (name, method, rule.rule)
                tried += 1
    assert tried > 30
    assert everything() == before


def test_every_change_needs_the_sessions_secret_and_the_tools_own_origin(served):
    served.log_in("ana", GOOD)
    form = served.get("/forms/new-expense")
    hidden = dict(re.findall(r'name="(_[a-z]+)" value="([^"]*)"', text(form)))
    assert set(hidden) >= {"_csrf", "_once"}
    before = len(rows(served))
    without = {k: v for k, v in hidden.items() if k != "_csrf"}
    cases = [
        ({**without, **expense_form()}, {}),  # no secret
        ({**hidden, "_csrf": "made-up", **expense_form()}, {}),
        ({**hidden, **expense_form()}, {"Origin": "https://evil.example"}),
        ({**hidden, **expense_form()}, {"Origin": "https://tools.example:8443"}),
        ({**hidden, **expense_form()}, {"Sec-Fetch-Site": "cross-site"}),
        ({**hidden, **expense_form()}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for data, headers in cases:
        answer = served.post("/forms/new-expense", data=data, headers=headers)
        assert answer.status_code == 403, headers
        assert "nothing was changed" in text(answer)
    # a request that says nothing of where it comes from is refused too
    bare = FlaskClient.open(served, "/forms/new-expense", method="POST", base_url=TEAM_ORIGIN,
                            data={**hidden, **expense_form()})  # fmt: skip
    assert bare.status_code == 403
    assert len(rows(served)) == before
    # another person's secret is not this session's
    other = second(served)
    other.log_in("ada", GOOD)
    theirs = {**hidden, "_csrf": csrf(other), **expense_form()}
    assert served.post("/forms/new-expense", data=theirs).status_code == 403
    # sent as it came: saved once
    saved = served.post("/forms/new-expense", data={**hidden, **expense_form()})
    assert saved.status_code == 303 and len(rows(served)) == before + 1


def test_the_history_names_who_made_each_change(served):
    served.log_in("ana", GOOD)
    assert served.submit("/forms/new-expense", expense_form(note="Taxi")).status_code == 303
    [new] = [r for r in rows(served) if r["note"] == "Taxi"]
    admin = second(served)
    admin.log_in("ada", GOOD)
    path = f"/forms/new-expense/{new['id']}"
    assert admin.submit(path, expense_form(note="Taxi to the station")).status_code == 303
    page = text(admin.get(f"{path}/history"))
    assert '<th scope="col">Who</th>' in page
    assert re.search(r"<td>ada</td>\s*<td>Changed", page), page
    assert re.search(r"<td>ana</td>\s*<td>Created", page), page


def test_bulk_deletes_take_an_admin_and_an_editor_changes_few_rows_at_once(tmp_path):
    served = people_client(tmp_path / "bulk.sqlite3", bulk_limit=2)
    served.log_in("ana", GOOD)
    token = csrf(served)
    ids = [r["id"] for r in rows(served)][:3]
    ask = {"_csrf": token, "_view": "", "id": [str(i) for i in ids]}
    delete = served.post("/tables/expenses/bulk", data={**ask, "_do": "delete"})
    assert delete.status_code == 403 and "only an admin may delete rows in bulk" in text(delete)
    many = served.post("/tables/expenses/bulk", data={**ask, "_do": "set", "_field": "category"})
    assert many.status_code == 403 and "change more than 2 rows at once" in text(many)
    few = {**ask, "id": [str(i) for i in ids[:2]], "_do": "set", "_field": "category"}
    assert served.post("/tables/expenses/bulk", data=few).status_code == 200
    admin = second(served)
    admin.log_in("ada", GOOD)
    asked = admin.post("/tables/expenses/bulk", data={**ask, "_csrf": csrf(admin), "_do": "delete"})
    assert asked.status_code == 200 and "Delete 3" in text(asked)


def test_log_out_and_log_out_everywhere(served):
    here, there = served, second(served)
    for client in (here, there):
        client.log_in("ana", GOOD)
        assert client.get("/").status_code == 200
    out = here.post("/log-out", data={"_csrf": csrf(here)})
    assert out.status_code == 303 and out.headers["Location"] == "/log-in"
    assert here.get("/").status_code == 303
    assert there.get("/").status_code == 200  # only that browser
    here.log_in("ana", GOOD)
    everywhere = here.post("/log-out/everywhere", data={"_csrf": csrf(here)})
    assert everywhere.status_code == 303
    assert here.get("/").status_code == 303 and there.get("/").status_code == 303
    events = [e.event for e in trail(served)]
    assert "log-out" in events and "log-out everywhere" in events
    # a new role ends the sessions too
    here.log_in("ana", GOOD)
    with served.application.extensions["deskwork.storage"].open() as db:
        Accounts(db).set_role("ana", "viewer")
    assert here.get("/").status_code == 303
    here.log_in("ana", GOOD)
    assert "ana (viewer)" in text(here.get("/"))


def test_a_session_expires_after_its_hours(tmp_path, monkeypatch):
    served = people_client(tmp_path / "expiry.sqlite3", session_hours=2)
    answer = served.log_in("ana", GOOD)
    assert "Max-Age=7200" in answer.headers["Set-Cookie"]
    assert served.get("/").status_code == 200
    later = audit.now() + dt.timedelta(hours=2, seconds=1)
    monkeypatch.setattr("deskwork.db.sessions.now", lambda: later)
    assert served.get("/").status_code == 303


def test_admins_read_the_audit_trail(served):
    served.log_in("vic", GOOD)
    served.get("/tables/expenses/export/csv")
    assert served.get("/audit").status_code == 403
    admin = second(served)
    admin.log_in("nobody-at-all", "whatever it is")
    admin.log_in("ada", GOOD)
    page = text(admin.get("/audit"))
    for seen in ("<td>log-in</td><td>vic</td>", "<td>export</td><td>vic</td>",
                 "<td>refused</td><td>vic</td>", "<td>failed log-in</td><td></td>",
                 "<td>log-in</td><td>ada</td>"):  # fmt: skip
        assert seen in page, seen
    assert 'href="/audit"' in text(admin.get("/"))
    assert admin.get("/audit?before=99999999999999999999").status_code == 200
    assert 'href="/audit"' not in text(served.get("/"))


def test_over_https_cookies_are_secure_with_hsts_and_over_http_they_work_too(served):
    https = served.log_in("ana", GOOD)
    cookie = https.headers["Set-Cookie"]
    assert cookie.startswith("__Host-deskwork_expenses=") and "Secure" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert served.get("/").headers["Strict-Transport-Security"] == team.HSTS
    plain = second(served)
    answer = plain.post("/log-in", data={"name": "ana", "password": GOOD},
                        base_url="http://tools.example",
                        headers={"Origin": "http://tools.example"})  # fmt: skip
    assert answer.headers["Set-Cookie"].startswith("deskwork_expenses=")
    assert "Secure" not in answer.headers["Set-Cookie"]
    home = plain.get("/", base_url="http://tools.example")
    assert home.status_code == 200 and "Strict-Transport-Security" not in home.headers


@pytest.mark.parametrize("proxies", [0, 1])
def test_only_the_trusted_proxies_say_who_the_client_is(tmp_path, proxies):
    served = people_client(tmp_path / "proxy.sqlite3", proxies=proxies)
    forwarded = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "Origin": TEAM_ORIGIN}
    served.post("/log-in", data={"name": "ana", "password": GOOD}, headers=forwarded,
                environ_base={"REMOTE_ADDR": "10.0.0.2"})  # fmt: skip
    [logged] = [e for e in trail(served) if e.event == "log-in"]
    assert logged.address == ("198.51.100.7" if proxies else "10.0.0.2")


def test_the_health_page_answers_without_a_log_in(served):
    answer = served.get("/health")
    assert answer.status_code == 200 and answer.json == {"status": "ok"}


def test_a_served_admins_large_import_is_done_in_its_request_and_named(served):
    """Worker processes can't follow another's job: a served tool checks and saves a
    large file in the request itself, and the history and the audit name the admin."""
    from test_imports import large_csv

    storage = served.application.extensions["deskwork.storage"]
    with storage.open() as db:
        data, count = large_csv(db), db.execute("SELECT count(*) FROM expenses").fetchone()[0]
    editor = second(served)
    editor.log_in("ana", GOOD)
    token = csrf(editor)
    refused = editor.post("/tables/expenses/import", data={"_csrf": token, "file": (
        io.BytesIO(data), "lunches.csv")}, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 403
    served.log_in("ada", GOOD)
    sent = served.post("/tables/expenses/import", data={"_csrf": csrf(served), "file": (
        io.BytesIO(data), "lunches.csv")}, content_type="multipart/form-data")  # fmt: skip
    assert sent.status_code == 303
    page = text(served.get(sent.headers["Location"]))
    assert "<progress" not in page and "8,000 rows: 8,000 new" in page
    done = served.submit(sent.headers["Location"])
    assert done.status_code == 303 and done.headers["Location"] == "/tables/expenses"
    with storage.open() as db:
        assert db.execute("SELECT count(*) FROM expenses").fetchone()[0] == count + 8_000
        [(who,)] = db.execute(
            "SELECT who FROM _deskwork_actions WHERE label = 'Imported lunches.csv'"
        ).fetchall()
    assert who == "ada"
    [event] = [e for e in trail(served) if e.event == "import"]
    assert (event.who, event.detail) == ("ada", "lunches.csv into Expenses: 8,000 rows")


def test_a_script_calls_the_api_with_a_persons_token_and_their_role(served):
    from deskwork.db import sessions

    storage = served.application.extensions["deskwork.storage"]
    with storage.open() as db:
        ana_key = sessions.new_api_key(db, "ana", "nightly sync")
        vic_key = sessions.new_api_key(db, "vic", "report")
        [(stored,)] = db.execute(
            "SELECT key FROM _deskwork_api_keys WHERE label = 'nightly sync'"
        ).fetchall()
    assert ana_key.startswith("dw_") and stored != ana_key  # only its hash is kept
    script = second(served)

    def call(method: str, key: str, **kwargs: object):
        # a script: no cookie, no Origin, no CSRF secret
        return FlaskClient.open(script, "/api/tables/expenses", method=method,
                                base_url=TEAM_ORIGIN, headers={"Authorization": f"Bearer {key}"},
                                **kwargs)  # fmt: skip

    body = {"date": "2026-03-04", "amount": "12.00", "category": "Meals", "employee": 1}
    assert call("GET", vic_key).status_code == 200
    assert call("POST", vic_key, json=body).status_code == 403  # a viewer's token
    made = call("POST", ana_key, json=body)
    assert made.status_code == 201
    with storage.open() as db:
        [(who,)] = db.execute(
            "SELECT a.who FROM _deskwork_actions a JOIN _deskwork_history h "
            "ON h.action_id = a.id WHERE h.row_id = ? AND h.kind = 'create'",
            [made.json["id"]],
        ).fetchall()
    assert who == "ana"
    assert call("GET", "dw_made-up").status_code == 401
    assert call("GET", "not-even-a-token").status_code == 401
    # a token is not a way into the pages
    page = FlaskClient.open(script, "/tables/expenses", base_url=TEAM_ORIGIN,
                            headers={"Authorization": f"Bearer {ana_key}"})  # fmt: skip
    assert page.status_code == 303
    with storage.open() as db:
        assert sessions.revoke_api_keys(db, "ana") == 1
        Accounts(db).remove("vic")
    assert call("GET", ana_key).status_code == 401
    assert call("GET", vic_key).status_code == 401


def test_with_its_public_address_set_a_served_tool_answers_no_other_host(tmp_path):
    served = people_client(tmp_path / "pinned.sqlite3", public_host="tools.example")
    assert served.log_in("ana", GOOD).status_code == 303  # https://tools.example
    assert served.get("/").status_code == 200
    for other in ("http://evil.example", "http://127.0.0.1:8000"):
        rebound = served.get("/", base_url=other, headers={"Origin": other})
        assert rebound.status_code == 403, other
        refused = served.post("/log-in", data={"name": "ana", "password": GOOD},
                              base_url=other, headers={"Origin": other})  # fmt: skip
        assert refused.status_code == 403
    assert served.get("/health", base_url="http://127.0.0.1:8000").status_code == 200
