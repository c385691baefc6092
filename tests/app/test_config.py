"""Central settings: system-wide file, per-user file, locked keys, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.app.config import Config, ConfigError, load_config


def test_user_file_overrides_system_file_except_locked_keys(tmp_path: Path) -> None:
    system = tmp_path / "system.toml"
    user = tmp_path / "user.toml"
    system.write_text(
        'server_url = "https://cad.force.example:8700"\n'
        'ca_bundle = "/etc/ssl/force-ca.pem"\n'
        "max_command_age_minutes = 15\n"
        '[locked]\nserver_url = "https://cad.force.example:8700"\n'
    )
    user.write_text('server_url = "http://my-laptop:8700"\ntheme = "high-contrast"\n')
    config = load_config(system, user)
    assert config.server_url == "https://cad.force.example:8700"  # locked by IT
    assert config.theme == "high-contrast"
    assert config.ca_bundle == "/etc/ssl/force-ca.pem"
    assert config.max_command_age_minutes == 15
    assert config.sources == (str(system), str(user))
    assert config.locked == frozenset({"server_url"})


def test_no_files_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "none.toml", tmp_path / "nothing.toml")
    assert config == Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('servr_url = "x"\n', "unknown setting 'servr_url'"),
        ('theme = "dark"\n', "theme must be"),
        ("max_command_age_minutes = 0\n", "whole number >= 1"),
        ("theme = \n", "user.toml"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "user.toml"
    user.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "none.toml", user)
