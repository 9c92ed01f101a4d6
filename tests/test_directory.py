"""Log-ins against the organisation's directory (``deskwork.directory``): a real OpenLDAP
server (Debian's slapd) started by the tests, a served tool asking it."""

from __future__ import annotations

import html
import shutil
import sqlite3

import pytest
from directory_server import PEOPLE, PEOPLE_IN_IT, DirectoryServer, group_dn
from team_driving import ServedTool

from conftest import text
from deskwork.db import audit
from deskwork.served import Directory
from deskwork.testing import team_client
from fixture_tool import tool

USER = f"uid={{name}},{PEOPLE}"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory):
    server = DirectoryServer(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def settings_for(server: DirectoryServer) -> Directory:
    return Directory(server.url, USER, groups=(("admin", (group_dn("finance"),)),
                                               ("viewer", (group_dn("staff"),))))  # fmt: skip


def password(name: str) -> str:
    return PEOPLE_IN_IT[name][0]


def test_people_log_in_with_their_directory_password_and_their_groups_role(tmp_path, directory):
    client = team_client(tool, tmp_path / "team.sqlite3", directory=settings_for(directory))
    assert client.log_in("lena", "not lena's password").status_code == 401
    answer = client.log_in("lena", password("lena"))
    assert answer.status_code == 303
    assert "lena (admin)" in text(client.get("/"))
    storage = client.application.extensions["deskwork.storage"]
    with storage.open() as db:
        row = db.execute("SELECT role, password FROM _deskwork_users WHERE name = 'lena'")
        assert row.fetchone() == ("admin", None)  # no password of hers is kept here
        events = [(e.event, e.who, e.detail) for e in audit.recent(db)]
    assert ("person added", "the directory", "lena as admin, from the directory") in events
    assert ("failed log-in", None, "unknown name") in events  # before she had an account

    viewer = client.application.test_client()
    assert viewer.log_in("omar", password("omar")).status_code == 303
    assert "omar (viewer)" in text(viewer.get("/"))
    # IT puts him in finance: at his next log-in he is an admin, his old sessions ended
    directory.add_to_group("omar", "finance")
    again = client.application.test_client()
    assert again.log_in("omar", password("omar")).status_code == 303
    assert "omar (admin)" in text(again.get("/"))
    assert viewer.get("/").status_code == 303


def test_someone_in_no_group_or_a_made_up_name_is_refused(tmp_path, directory):
    client = team_client(tool, tmp_path / "team.sqlite3", directory=settings_for(directory))
    refused = client.log_in("ivy", password("ivy"))
    assert refused.status_code == 403
    assert "in none of the groups that may use Expenses" in text(refused)
    for name in ("*", "lena)(uid=*", f"lena,{PEOPLE}", "lena\\2a"):
        assert client.log_in(name, password("lena")).status_code == 401, name
    assert client.log_in("lena", "").status_code == 401  # never an anonymous bind
    with client.application.extensions["deskwork.storage"].open() as db:
        names = [row[0] for row in db.execute("SELECT name FROM _deskwork_users")]
    assert names == []


def test_a_directory_that_does_not_answer_is_said_so(tmp_path, directory):
    down = Directory("ldap://127.0.0.1:9", USER, groups=(("admin", (group_dn("finance"),)),))
    client = team_client(tool, tmp_path / "team.sqlite3", directory=down)
    answer = client.log_in("lena", password("lena"))
    assert answer.status_code == 503
    shown = html.unescape(text(answer))
    assert "The directory (ldap://127.0.0.1:9) can't be reached: try again" in shown


def test_deskwork_serve_logs_people_in_through_the_directory_its_settings_name(
    tmp_path, seeded_database, directory
):
    database = tmp_path / "team.sqlite3"
    shutil.copyfile(seeded_database, database)
    data = tmp_path / "data"
    data.mkdir()
    server = ServedTool(database, data, workers=2, ldap_url=directory.url, ldap_user=USER,
                        ldap_editors=group_dn("staff"))  # fmt: skip
    try:
        browser = server.browser()
        assert browser.log_in("omar", password("omar")).status == 303
        assert "omar (editor)" in browser.get("/").body
        assert browser.log_in("lena", "a wrong passphrase").status == 401
    finally:
        server.stop()
    assert password("omar") not in server.output() + server.errors()
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT role FROM _deskwork_users WHERE name = 'omar'").fetchone() == (
            "editor",
        )


def test_a_directory_setting_without_its_name_template_stops_the_server(tmp_path):
    from deskwork.desktop.settings import Settings
    from deskwork.errors import SettingError

    settings = Settings.load({"DESKWORK_LDAP_URL": "ldaps://dc.example.org"})
    with pytest.raises(SettingError, match="DESKWORK_LDAP_USER is not"):
        settings.served()
    wrong = Settings.load({"DESKWORK_LDAP_URL": "http://dc.example.org"})
    with pytest.raises(SettingError, match="is not an ldap:// or ldaps:// address"):
        wrong.served()


def test_a_directory_reached_without_tls_over_the_network_is_warned_of():
    from deskwork.desktop.team_server import _in_clear

    assert _in_clear("ldap://dc.corp.example") and _in_clear("LDAP://10.0.0.5:389")
    assert not _in_clear("ldaps://dc.corp.example")
    assert not _in_clear("ldap://127.0.0.1:3890") and not _in_clear("ldap://localhost")
