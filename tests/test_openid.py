"""Log-ins through the organisation's OpenID Connect provider (``deskwork.openid``): a
real provider on 127.0.0.1 (oidc-provider-mock, an Authlib-based OpenID provider for
tests: discovery, signed ID tokens, the authorization code flow), a served tool as its
client."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import text
from deskwork.db import audit
from deskwork.served import OpenID
from deskwork.testing import TeamClient, team_client
from fixture_tool import tool


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    import oidc_provider_mock  # its deprecation warnings are let pass (pyproject.toml)

    with oidc_provider_mock.run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        people = {
            "lena": {"preferred_username": "lena", "groups": ["finance"]},
            "ivy": {"preferred_username": "ivy", "groups": ["canteen"]},
            # the name lena, given by the provider to someone else after her
            "lena-2": {"preferred_username": "lena", "groups": ["finance"]},
            # claims the name of a local account of the tool's
            "mallory": {"preferred_username": "ada", "groups": ["finance"]},
            # an email the provider has not checked is no name
            "eve": {"email": "eve@example.org", "email_verified": False, "groups": ["finance"]},
        }
        for sub, claims in people.items():
            answer = requests.put(f"{issuer}/users/{sub}", json=claims, timeout=10)
            assert answer.status_code == 204
        yield issuer


def csrf_of(client: TeamClient) -> str:
    page = text(client.get("/"))
    return page.split('name="deskwork-csrf" content="', 1)[1].split('"', 1)[0]


def client_of(tmp_path, issuer: str) -> TeamClient:
    openid = OpenID(issuer, "expenses-tool", "the tool's client secret",
                    groups=(("admin", ("finance",)), ("viewer", ("staff",))))  # fmt: skip
    return team_client(tool, tmp_path / "team.sqlite3", openid=openid)


def through_the_provider(client: TeamClient, sub: str, next_page: str = "/") -> object:
    """Log in as a person does: the tool's button, the provider's page, and back."""
    page = text(client.get(f"/log-in?next={next_page}"))
    assert "Log in with your organisation's account" in page
    away = client.get(f"/log-in/openid?next={next_page}")
    assert away.status_code == 302
    asked = urlsplit(away.headers["Location"])
    query = parse_qs(asked.query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == ["https://tools.example/log-in/openid/back"]
    # the person says who they are at the provider's own page
    answer = requests.post(away.headers["Location"], data={"sub": sub}, allow_redirects=False,
                           timeout=10)  # fmt: skip
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/log-in/openid/back"
    return client.get(f"{back.path}?{back.query}")


def test_a_person_logs_in_through_the_provider_with_their_groups_role(tmp_path, provider):
    client = client_of(tmp_path, provider)
    done = through_the_provider(client, "lena", "/tables/expenses")
    assert done.status_code == 303 and done.headers["Location"] == "/tables/expenses"
    assert "lena (admin)" in text(client.get("/tables/expenses"))
    with client.application.extensions["deskwork.storage"].open() as db:
        assert db.execute(
            "SELECT role, password FROM _deskwork_users WHERE name = 'lena'"
        ).fetchone() == ("admin", None)
        events = [(e.event, e.who) for e in audit.recent(db)]
    assert ("person added", "OpenID Connect") in events and ("log-in", "lena") in events


def test_a_name_the_provider_gives_someone_else_later_logs_no_one_in(tmp_path, provider):
    client = client_of(tmp_path, provider)
    assert through_the_provider(client, "lena").status_code == 303
    with client.application.extensions["deskwork.storage"].open() as db:
        bound = db.execute("SELECT subject FROM _deskwork_users WHERE name = 'lena'").fetchone()
    assert bound == (f"{provider} lena",)  # the issuer and her subject, kept
    other = client.application.test_client()
    refused = through_the_provider(other, "lena-2")
    assert refused.status_code == 403 and "belongs to someone else here" in text(refused)
    assert other.get("/").status_code == 303  # not logged in
    again = client.application.test_client()
    assert through_the_provider(again, "lena").status_code == 303  # she still is


def test_someone_in_none_of_the_groups_is_refused(tmp_path, provider):
    client = client_of(tmp_path, provider)
    refused = through_the_provider(client, "ivy")
    assert refused.status_code == 403
    assert "in none of the groups that may use Expenses" in text(refused)
    assert client.get("/").status_code == 303  # not logged in


def test_a_forged_or_replayed_answer_logs_no_one_in(tmp_path, provider):
    client = client_of(tmp_path, provider)
    forged = client.get("/log-in/openid/back?code=made-up&state=made-up")
    assert forged.status_code == 400
    assert "did not complete" in text(forged)
    # an answer meant for another browser (its state is not this one's)
    other = client_of(tmp_path / "other", provider)
    other.get("/log-in/openid")
    away = client.get("/log-in/openid")
    answer = requests.post(away.headers["Location"], data={"sub": "lena"},
                           allow_redirects=False, timeout=10)  # fmt: skip
    back = urlsplit(answer.headers["Location"])
    assert other.get(f"{back.path}?{back.query}").status_code == 400
    assert other.get("/").status_code == 303  # not logged in
    # the right browser, but the code used once already: refused the second time
    assert client.get(f"{back.path}?{back.query}").status_code == 303
    client.post("/log-out", data={"_csrf": csrf_of(client)})
    assert client.get(f"{back.path}?{back.query}").status_code == 400


def test_the_openid_settings_are_checked_and_the_secret_never_printed():
    from deskwork.desktop.settings import Settings
    from deskwork.errors import SettingError

    given = {"DESKWORK_OPENID_ISSUER": "https://login.example.org/realms/staff",
             "DESKWORK_OPENID_CLIENT_ID": "expenses",
             "DESKWORK_OPENID_CLIENT_SECRET": "s3cr3t-value",
             "DESKWORK_OPENID_ADMINS": "finance; board"}  # fmt: skip
    openid = Settings.load(given).served().openid
    assert openid is not None and openid.groups == (("admin", ("finance", "board")),)
    assert "s3cr3t-value" not in repr(openid)
    shown = {s.setting.name: s.value for s in Settings.load(given).explain()}
    assert shown["openid_client_secret"] == "(set, not shown)"
    with pytest.raises(SettingError, match="not both DESKWORK_OPENID_CLIENT_ID"):
        Settings.load({"DESKWORK_OPENID_ISSUER": "https://login.example.org"}).served()
    with pytest.raises(SettingError, match="is not an https:// address"):
        Settings.load({"DESKWORK_OPENID_ISSUER": "http://login.example.org"}).served()


def test_a_provider_that_does_not_answer_is_said_so(tmp_path):
    client = client_of(tmp_path, "http://127.0.0.1:9")
    answer = client.get("/log-in/openid?next=/tables/expenses")
    assert answer.status_code == 503
    assert "Your organisation&#39;s log-in (http://127.0.0.1:9) can&#39;t be reached" in (
        text(answer)
    )


def test_a_claim_never_takes_over_a_local_account_nor_an_unchecked_email(tmp_path, provider):
    from deskwork.accounts import Accounts

    client = client_of(tmp_path, provider)
    with client.application.extensions["deskwork.storage"].open() as db:
        Accounts(db).add("ada", "viewer", "correct horse battery")
    taken = through_the_provider(client, "mallory")
    assert taken.status_code == 403 and "logs in with a password of this tool" in text(taken)
    assert client.get("/").status_code == 303
    unchecked = through_the_provider(client_of(tmp_path / "eve", provider), "eve")
    assert unchecked.status_code == 403 and "did not say who you are" in text(unchecked)


def test_two_first_log_ins_with_one_name_change_nothing_of_the_first(tmp_path):
    from deskwork.accounts import Accounts, SomeoneElse

    client = client_of(tmp_path, "http://localhost:1")
    with client.application.extensions["deskwork.storage"].open() as db:
        people = Accounts(db, by="OpenID Connect")
        first = people.from_directory("lena", "admin", "https://id.example lena-1")
        with pytest.raises(SomeoneElse):  # the second, a moment after, as a viewer
            people.from_directory("lena", "viewer", "https://id.example lena-2")
        kept = people.get("lena")
        assert kept is not None and kept.role == "admin"
        assert kept.sessions_from == first.sessions_from  # her sessions go on
        assert people.subject("lena") == "https://id.example lena-1"
