"""Settings IT keeps: the machine's file and the user's own, their precedence and IT's
locks, bad files refused naming the file, the line and the key, a policy profile, and
what the settings do: read-only refusing every write, no restoring, the backup folder."""

from __future__ import annotations

import os
import plistlib
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import DESKWORK, TOOL_FILE, deskwork_env, expense_form, rows, text
from deskwork.db.storage import Storage
from deskwork.desktop.serving import ToolServing
from deskwork.desktop.settings import SettingError, Settings, read_profile
from deskwork.errors import NotAllowed
from deskwork.testing import tool_client
from fixture_tool import tool


def files(tmp_path: Path, machine: str = "", user: str = "") -> tuple[Path, Path]:
    (tmp_path / "machine").mkdir(exist_ok=True)
    (tmp_path / "user").mkdir(exist_ok=True)
    if machine:
        (tmp_path / "machine" / "expenses.toml").write_text(machine, encoding="utf-8")
    if user:
        (tmp_path / "user" / "expenses.toml").write_text(user, encoding="utf-8")
    return tmp_path / "machine", tmp_path / "user"


def load(tmp_path: Path, environ: dict[str, str] | None = None, **texts: str) -> Settings:
    machine, user = files(tmp_path, **texts)
    return Settings.load(environ or {}, name="expenses", machine=machine, user=user)


def origins(settings: Settings) -> dict[str, tuple[str, str]]:
    return {s.setting.name: (s.value, s.origin) for s in settings.explain(tool)}


def test_the_user_file_wins_over_the_machines_and_the_environment_over_both(tmp_path):
    machine = 'backups = 20\nlocale = "de_DE"\nread_only = true\n'
    user = "backups = 4\n"
    settings = load(tmp_path, machine=machine, user=user)
    assert (settings.backups, settings.locale, settings.read_only) == (4, "de_DE", True)
    shown = origins(settings)
    assert shown["backups"] == ("4", f"user file ({tmp_path / 'user' / 'expenses.toml'})")
    assert shown["locale"] == ("de_DE", f"machine file ({tmp_path / 'machine' / 'expenses.toml'})")
    settings = load(tmp_path, {"DESKWORK_BACKUPS": "7", "DESKWORK_READ_ONLY": "no"},
                    machine=machine, user=user)  # fmt: skip
    assert (settings.backups, settings.read_only) == (7, False)
    assert origins(settings)["backups"][1] == "environment (DESKWORK_BACKUPS)"


def test_what_it_locks_no_environment_or_user_file_changes(tmp_path):
    machine = 'read_only = true\nbackups = 30\nlocked = ["read_only", "backups", "restore"]\n'
    settings = load(tmp_path, {"DESKWORK_READ_ONLY": "no", "DESKWORK_RESTORE": "yes"},
                    machine=machine, user="backups = 2\nrestore = true\n")  # fmt: skip
    assert (settings.read_only, settings.backups) == (True, 30)
    place = tmp_path / "machine" / "expenses.toml"
    shown = origins(settings)
    assert shown["read_only"] == ("yes", f"machine file ({place}), locked")
    # locked at its default: "yes", whatever the user's file and the environment say
    assert shown["restore"] == ("yes", f"machine file ({place}), locked")
    assert settings.restore is True


@pytest.mark.parametrize("text,words", [
    ("backups = 20\nbackups_kept = 3\n", "line 2: there is no setting 'backups_kept'"),
    ("locale = 'de_DE'\nbackups = 0\n", "line 2: backups = '0' is not a whole number of 1"),
    ("read_only = maybe\n", "expenses.toml: Invalid value (at line 1, column 13)"),
    ('read_only = "perhaps"\n', "line 1: read_only = 'perhaps' is not yes or no"),
    ('locked = ["data_dir", "colour"]\n', "line 1: locked names 'colour', which is no setting"),
    ("backups = {kept = 3}\n", "line 1: backups is not text, a number"),
    ('launch_stamp = "1"\n', "line 1: there is no setting 'launch_stamp'"),
])  # fmt: skip
def test_a_bad_machine_file_is_refused_naming_the_file_the_line_and_the_key(
    tmp_path,
    text,
    words,
):
    with pytest.raises(SettingError) as refused:
        load(tmp_path, machine=text)
    assert str(tmp_path / "machine" / "expenses.toml") in str(refused.value)
    assert words in str(refused.value)


def test_a_managed_profile_locks_every_value_it_sets(tmp_path):
    profile = tmp_path / "com.deskwork.expenses.plist"
    profile.write_bytes(plistlib.dumps({"read_only": True, "backups": 12}))
    layer = read_profile(profile)
    assert layer is not None and layer.locked == {"read_only", "backups"}
    settings = Settings({"DESKWORK_BACKUPS": "3"}, (layer,))
    assert (settings.read_only, settings.backups) == (True, 12)
    profile.write_bytes(plistlib.dumps({"colour": "red"}))
    with pytest.raises(SettingError, match="there is no setting 'colour'"):
        read_profile(profile)


def test_read_only_refuses_every_write_saying_so_and_changes_nothing(tmp_path):
    client = tool_client(tool, tmp_path / "ro.sqlite3", seed=True, DESKWORK_READ_ONLY=True)
    before = rows(client)
    page = text(client.get("/tables/expenses"))
    assert "Read-only on this desk" in page
    first = before[0]["id"]
    writes = [
        ("/forms/new-expense", expense_form()),
        (f"/forms/new-expense/{first}", expense_form()),
        (f"/forms/new-expense/{first}/delete", {}),
        ("/tables/expenses/bulk", {"_all": "1", "_do": "delete"}),
        ("/tables/expenses/import", {}),
        ("/undo/1", {}),
    ]
    for address, form in writes:
        response = client.post(address, data=form)
        assert response.status_code == NotAllowed.status, address
        assert "read-only on this desk" in text(response), address
    token = client.application.config.get("DESKWORK_API_TOKEN")
    api = client.post("/api/tables/expenses", json={"date": "2026-01-01"},
                      headers={"Authorization": f"Bearer {token}"} if token else {})  # fmt: skip
    assert api.status_code == NotAllowed.status
    assert rows(client) == before
    assert client.get("/reports/category-totals").status_code == 200  # looking is fine
    assert client.get("/tables/expenses/export/csv").status_code == 200  # and exporting


def test_with_restoring_turned_off_the_window_has_no_restore_and_the_command_refuses(
    tmp_path,
    data_dir,
):
    menus = []
    for settings in (load(tmp_path, machine="restore = false\nlocked = ['restore']\n"),
                     Settings({})):  # fmt: skip
        serving = ToolServing(tool, tmp_path / "e.sqlite3", settings)
        menus.append([title for title, _ in serving.menu()])
        serving.sock.close()
    assert "Back up now" in menus[0] and "Restore…" not in menus[0]
    assert "Restore…" in menus[1]
    database = tmp_path / "e.sqlite3"
    Storage(database).prepare(tool)
    env = deskwork_env(data_dir, DESKWORK_RESTORE="no", DESKWORK_BACKUP_DIR=str(tmp_path / "bk"))
    command = [str(TOOL_FILE), "--db", str(database)]
    made = subprocess.run([str(DESKWORK), "backup", *command], env=env, capture_output=True,
                          encoding="utf-8", timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert [p.suffix for p in (tmp_path / "bk").iterdir()] == [".sqlite3"]  # its folder
    refused = subprocess.run([str(DESKWORK), "restore", *command, "1"], env=env,
                             capture_output=True, encoding="utf-8", timeout=120)  # fmt: skip
    assert refused.returncode == NotAllowed.exit_code
    assert "Restoring a backup of Expenses is turned off on this desk" in refused.stderr
    assert "environment (DESKWORK_RESTORE)" in refused.stderr


def test_deskwork_settings_shows_the_machine_file_its_locks_and_the_user_file(
    tmp_path,
    data_dir,
):
    # The machine's own place, as IT writes it (CI runs as root): a tool of its own name.
    name = f"settings-probe-{uuid.uuid4().hex[:8]}"
    tool_file = tmp_path / "probe.py"
    tool_file.write_text("from deskwork import Text, Tool\n"
                         f"tool = Tool('Probe', name={name!r})\ntool.table('notes', t=Text())\n",
                         encoding="utf-8")  # fmt: skip
    machine = Path("/etc/deskwork") / f"{name}.toml"
    config = tmp_path / "config"
    (config / "deskwork").mkdir(parents=True)
    (config / "deskwork" / f"{name}.toml").write_text("backups = 3\nimport_rows = 500\n",
                                                       encoding="utf-8")  # fmt: skip
    env = deskwork_env(data_dir, XDG_CONFIG_HOME=str(config), DESKWORK_IMPORT_ROWS="900")
    machine.parent.mkdir(exist_ok=True)
    machine.write_text("backups = 40\nread_only = true\nlocked = ['backups']\n",
                       encoding="utf-8")  # fmt: skip
    try:
        done = subprocess.run([str(DESKWORK), "settings", str(tool_file)], env=env,
                              capture_output=True, encoding="utf-8", timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        said = {line.split()[0]: line.split(None, 1)[1].strip()
                for line in done.stdout.splitlines()[1:]}  # fmt: skip
        assert said["DESKWORK_BACKUPS"] == f"40  (machine file ({machine}), locked)"
        assert said["DESKWORK_READ_ONLY"] == f"yes  (machine file ({machine}))"
        assert said["DESKWORK_IMPORT_ROWS"] == "900  (environment (DESKWORK_IMPORT_ROWS))"
        machine.write_text("backups = 40\nbackups = 41\n", encoding="utf-8")
        bad = subprocess.run([str(DESKWORK), "run", str(tool_file), "--browser"], env=env,
                             capture_output=True, encoding="utf-8", timeout=60)  # fmt: skip
        assert bad.returncode == SettingError.exit_code
        assert str(machine) in bad.stderr and "line 2" in bad.stderr
    finally:
        machine.unlink(missing_ok=True)
    assert os.access(machine.parent, os.W_OK)


def test_a_tools_version_is_numbers_and_dots_for_its_installers():
    from deskwork import Tool, ToolError

    assert Tool("Loans", version="2.1", description="Loans desk").version == "2.1"
    with pytest.raises(ToolError, match="version='v2': give numbers and dots"):
        Tool("Loans", version="v2")


def test_signing_says_plainly_what_is_unsigned_and_a_failing_command_stops_the_build(tmp_path):
    from deskwork.desktop import installers
    from deskwork.errors import BuildError

    package = tmp_path / "tool_1.0.0_amd64.deb"
    package.write_bytes(b"not really a package")
    said = installers.sign([package], None, "DESKWORK_SIGN_LINUX")
    assert said == ["Unsigned: tool_1.0.0_amd64.deb (no DESKWORK_SIGN_LINUX setting holds a "
                    "signing command)."]  # fmt: skip
    with pytest.raises(BuildError, match=r"Signing tool_1\.0\.0_amd64\.deb failed"):
        installers.sign([package], "false {file}", "DESKWORK_SIGN_LINUX")
    with pytest.raises(SettingError, match=r"has no \{file\}"):
        Settings.load({"DESKWORK_SIGN_LINUX": "gpg --detach-sign"}).signing("linux")
    copied = installers.sign([package], f"cp {{file}} {tmp_path / 'copy'}", "X")
    assert copied == ["Signed: tool_1.0.0_amd64.deb"] and (tmp_path / "copy").is_file()
