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
    from deskwork.demo import tool
    from deskwork.testing import tool_client

    client = tool_client(tool, tmp_path / "x.sqlite3", locale="de_DE")
    assert client.application.config["DESKWORK_LOCALE"] == "de_DE"
