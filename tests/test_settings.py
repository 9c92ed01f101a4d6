"""Settings: declared once, read by the native host only, documented from the same list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import deskwork
from conftest import ROOT
from deskwork.desktop import paths
from deskwork.desktop.settings import SETTINGS, SettingError, Settings, markdown_table
from deskwork.desktop.window import gui_name


def test_the_readme_lists_exactly_the_declared_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme
    documented = set(re.findall(r"`\$?(DESKWORK_[A-Z_]+)", readme))
    assert documented == {s.variable for s in SETTINGS}


def test_the_flask_side_reads_no_environment_variable():
    offenders = []
    for path in Path(deskwork.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                if isinstance(node.value, ast.Name) and node.value.id == "os":
                    offenders.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                offenders += [f"{path.name}:{node.lineno}" for a in node.names
                              if a.name in ("environ", "getenv")]  # fmt: skip
    assert offenders == []


def test_settings_come_from_deskwork_variables_and_blank_means_unset(tmp_path):
    settings = Settings.load(
        {"DESKWORK_DATA_DIR": str(tmp_path), "DESKWORK_LOCALE": "", "LANG": "fr_FR.UTF-8",
         "HOME": "/elsewhere"}
    )  # fmt: skip
    assert settings.data_dir == tmp_path
    assert paths.default_database("notes", settings) == tmp_path / "notes" / "notes.sqlite3"
    assert paths.log_dir(settings) == tmp_path / "logs"
    assert settings.locale is None
    assert settings.user_locale == "fr_FR.UTF-8"
    assert "HOME" not in settings.environ


def test_without_a_data_dir_setting_data_goes_to_the_user_data_folder():
    folder = paths.data_dir(Settings.load({}))
    assert folder.name == "deskwork" and folder.is_absolute()


def test_a_mistyped_gui_backend_says_which_ones_exist():
    with pytest.raises(SettingError, match=r"DESKWORK_GUI='gkt' is not a pywebview backend.*gtk"):
        gui_name(Settings.load({"DESKWORK_GUI": "gkt"}))
    assert gui_name(Settings.load({"DESKWORK_GUI": "Qt"})) == "qt"


def test_a_bad_launch_stamp_only_loses_the_timing():
    assert Settings.load({"DESKWORK_LAUNCH_STAMP": "soon"}).launch_stamp is None
    assert Settings.load({"DESKWORK_LAUNCH_STAMP": "12.5"}).launch_stamp == 12.5


def test_the_locale_setting_wins_over_the_tools_and_the_users(tmp_path):
    from deskwork.testing import tool_client
    from fixture_tool import tool

    client = tool_client(tool, tmp_path / "x.sqlite3", locale="de_DE")
    assert client.application.config["DESKWORK_LOCALE"] == "de_DE"


def test_every_setting_is_read_through_its_one_declaration():
    # The environment's text, read by the setting's own kind, whatever property asks.
    settings = Settings.load({"DESKWORK_BACKUPS": " 4 ", "DESKWORK_BIN_DAYS": "7"})
    assert settings.backups == settings.value("backups") == 4
    assert settings.bin_days == 7
    assert Settings.load({}).backups == 10 and Settings.load({}).bin_days is None
    for name, bad in (("backups", "0"), ("bin_days", "many"), ("gui", "gkt")):
        setting = next(s for s in SETTINGS if s.name == name)
        with pytest.raises(SettingError, match=rf"^{setting.variable}={bad!r} .*leave it unset"):
            Settings.load({setting.variable: bad}).value(name)


def test_settings_say_where_each_value_came_from():
    tool = deskwork.Tool("Notes", locale="de_DE", bin_days=60)
    shown = {
        s.setting.name: (s.value, s.origin)
        for s in Settings.load({"DESKWORK_BACKUPS": "3", "LANG": "fr_FR.UTF-8"}).explain(tool)
    }
    assert shown["backups"] == ("3", "environment (DESKWORK_BACKUPS)")
    assert shown["locale"] == ("de_DE", "tool file (Tool(locale=...))")
    assert shown["bin_days"] == ("60", "tool file (Tool(bin_days=...))")
    assert shown["launch_stamp"] == ("unset", "default")
    plain = {s.setting.name: s for s in Settings.load({"LC_ALL": "nl_NL"}).explain(None)}
    assert (plain["locale"].value, plain["locale"].origin) == ("nl_NL", "user (LC_ALL)")
    assert (plain["bin_days"].value, plain["bin_days"].origin) == ("30", "default")
    assert [s.name for s in SETTINGS] == list(plain)


def test_deskwork_settings_prints_the_values_and_their_origins_and_refuses_a_bad_one(
    tmp_path, data_dir
):
    import subprocess

    from conftest import DESKWORK, deskwork_env

    tool_file = tmp_path / "notes.py"
    tool_file.write_text(
        "from deskwork import Text, Tool\ntool = Tool('Notes', bin_days=90)\n"
        "tool.table('notes', title=Text())\n",
        encoding="utf-8",
    )
    env = deskwork_env(data_dir, DESKWORK_BACKUPS="5", LANG="de_DE.UTF-8")
    env.pop("LC_ALL", None)
    env.pop("LC_NUMERIC", None)
    done = subprocess.run(
        [str(DESKWORK), "settings", str(tool_file)], env=env, capture_output=True,
        encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Settings of Notes:"
    said = {line.split()[0]: line.split(None, 1)[1].strip() for line in lines[1:]}
    assert said["DESKWORK_DATA_DIR"] == f"{data_dir}  (environment (DESKWORK_DATA_DIR))"
    assert said["DESKWORK_BACKUPS"] == "5  (environment (DESKWORK_BACKUPS))"
    assert said["DESKWORK_BIN_DAYS"] == "90  (tool file (Tool(bin_days=...)))"
    assert said["DESKWORK_LOCALE"] == "de_DE.UTF-8  (user (LANG))"
    assert set(said) == {s.variable for s in SETTINGS}
    env["DESKWORK_BIN_DAYS"] = "soon"
    refused = subprocess.run(
        [str(DESKWORK), "settings", str(tool_file)], env=env, capture_output=True,
        encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert refused.returncode == SettingError.exit_code
    assert "DESKWORK_BIN_DAYS='soon' is not a whole number of 1 or more" in refused.stderr
